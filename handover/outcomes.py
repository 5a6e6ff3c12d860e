"""What a service call on an incident comes back with: done, or refused and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handover.models import Event, Incident

# Why an action was refused; the front end words it.
NOT_FOUND = "not_found"
NOT_OWNER = "not_owner"
NOT_ACTIVE = "not_active"
ALREADY_OWNED = "already_owned"
NOT_RESOLVED = "not_resolved"
NOT_ALLOWED = "not_allowed"  # by configuration (who may accept)
INVALID = "invalid"


@dataclass
class Outcome:
    ok: bool
    incident: Incident | None = None
    refusal: str | None = None
    message: str = ""  # for INVALID: what is wrong, in words


def denial(incident: Incident, user: str, action: str, now: datetime) -> Event:
    """A refused attempt, kept in the timeline: who tried what, and who owned it."""
    return Event(
        incident_id=incident.id,
        at=now,
        actor=user,
        kind="denied",
        detail={"action": action, "owner": incident.owner_id},
    )
