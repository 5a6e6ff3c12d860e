"""Planning the clock: deadlines as rows, the first phase's objectives, the update cadence,
and the small helpers every state change uses to speak (thread lines, card refreshes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from handover.models import Deadline, Event, Incident
from handover.settings import Settings
from handover.store import outbox
from handover.times import to_iso

ESCALATION = "escalation"
PHASE_REMINDER = "phase_reminder"
PHASE_END = "phase_end"
UPDATE_REMINDER = "update_reminder"
UPDATE_DUE = "update_due"
UPDATE_KINDS = (UPDATE_REMINDER, UPDATE_DUE)

ACTIVE = ("handed_over", "accepted")


@dataclass(frozen=True)
class Objective:
    id: str
    label: str
    done_at: datetime | None


def objectives(incident: Incident) -> list[Objective]:
    """The first phase's objectives (docs/domain.md), in the order a manager works them."""
    return [
        Objective("accepted", "accepted", incident.accepted_at),
        Objective("trgs_engaged", "resolver groups engaged", incident.trgs_engaged_at),
        Objective("initial_comms", "initial comms sent", incident.initial_comms_at),
    ]


def open_objectives(incident: Incident) -> list[str]:
    return [o.label for o in objectives(incident) if o.done_at is None]


def reminder_lead(interval: timedelta) -> timedelta:
    """How long before an update is due to remind: 5 min, less for short cadences."""
    return min(timedelta(minutes=5), interval / 5)


def add_deadline(s: Session, incident_id: int, kind: str, due_at: datetime) -> Deadline:
    deadline = Deadline(incident_id=incident_id, kind=kind, due_at=due_at, status="pending")
    s.add(deadline)
    s.flush()
    # Scheduled in-process once the unit of work commits (Database.after_commit).
    s.info.setdefault("deadlines", []).append((deadline.id, due_at))
    return deadline


def cancel(s: Session, incident_id: int, kinds: tuple[str, ...] | None = None) -> int:
    query = update(Deadline).where(
        Deadline.incident_id == incident_id, Deadline.status == "pending"
    )
    if kinds:
        query = query.where(Deadline.kind.in_(kinds))
    return s.execute(query.values(status="cancelled")).rowcount


def plan_first_phase(s: Session, incident: Incident, settings: Settings, t0: datetime) -> None:
    """T0 is the moment the card is handed to the managers: the first phase starts then."""
    phase = settings.initial_phase
    incident.phase_ends_at = t0 + phase
    add_deadline(s, incident.id, ESCALATION, t0 + settings.org.escalation_after)
    add_deadline(s, incident.id, PHASE_REMINDER, t0 + phase * 2 / 3)
    add_deadline(s, incident.id, PHASE_END, t0 + phase)


def plan_update_cycle(
    s: Session,
    incident: Incident,
    settings: Settings,
    *,
    base: datetime | None = None,
    due: datetime | None = None,
) -> None:
    """The next stakeholder update is due at `due` (the time a notice promised), or one
    cadence interval after `base`."""
    cancel(s, incident.id, UPDATE_KINDS)
    interval = settings.update_interval_for(incident.priority)
    due = due or base + interval
    incident.next_update_due_at = due
    add_deadline(s, incident.id, UPDATE_REMINDER, due - reminder_lead(interval))
    add_deadline(s, incident.id, UPDATE_DUE, due)


def say_in_thread(
    s: Session, incident: Incident, key: str, what: str, params: dict, now: datetime
) -> None:
    outbox.enqueue(s, key, what, outbox.THREAD, incident_id=incident.id, params=params, now=now)


def refresh_card(s: Session, incident: Incident, key: str, now: datetime) -> None:
    outbox.enqueue(
        s, f"card:{incident.id}:{key}", "card", outbox.CARD, incident_id=incident.id, now=now
    )


def record_event(
    s: Session,
    incident: Incident,
    actor: str,
    kind: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
    *,
    thread: bool = True,
) -> Event:
    """The event on the timeline, a line in the card's thread saying so, the card refreshed."""
    detail = detail or {}
    event = Event(incident_id=incident.id, at=now, actor=actor, kind=kind, detail=detail)
    s.add(event)
    s.flush()
    if thread:
        params = {**detail, "actor": actor, "at": to_iso(now)}
        say_in_thread(s, incident, f"event:{event.id}", kind, params, now)
    refresh_card(s, incident, f"event:{event.id}", now)
    return event
