"""Planning the clock: deadlines as rows, the first phase's objectives, the update cadence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from handover.models import Deadline, Incident
from handover.settings import Settings
from handover.store.db import changed
from handover.vocabulary import UPDATE_DEADLINES, DeadlineKind, DeadlineStatus


@dataclass(frozen=True)
class Objective:
    id: str
    label: str
    missed: str  # the objective still open, in words: "initial comms not sent"
    done_at: datetime | None


def objectives(incident: Incident) -> list[Objective]:
    """The first phase's objectives (docs/domain.md), in the order a manager works them."""
    return [
        Objective("accepted", "accepted", "not accepted", incident.accepted_at),
        Objective(
            "trgs_engaged",
            "resolver groups engaged",
            "resolver groups not engaged",
            incident.trgs_engaged_at,
        ),
        Objective(
            "initial_comms",
            "initial comms sent",
            "initial comms not sent",
            incident.initial_comms_at,
        ),
    ]


def since_t0(incident: Incident, at: datetime) -> int:
    """Seconds from the handover (T0) to `at`."""
    return int((at - incident.handed_over_at).total_seconds())


def late_by(incident: Incident, now: datetime) -> int | None:
    """Seconds past the first phase's end, for an objective met late; None when in time."""
    if incident.phase_ends_at and now > incident.phase_ends_at:
        return int((now - incident.phase_ends_at).total_seconds())
    return None


def open_objectives(incident: Incident) -> list[str]:
    """The objectives still open, in words ("initial comms not sent")."""
    return [o.missed for o in objectives(incident) if o.done_at is None]


def reminder_lead(interval: timedelta) -> timedelta:
    """How long before an update is due to remind: 5 min, less for short cadences."""
    return min(timedelta(minutes=5), interval / 5)


def add_deadline(s: Session, incident_id: int, kind: DeadlineKind, due_at: datetime) -> Deadline:
    deadline = Deadline(
        incident_id=incident_id, kind=kind, due_at=due_at, status=DeadlineStatus.PENDING
    )
    s.add(deadline)
    s.flush()
    # Scheduled in-process once the unit of work commits (Database.after_commit).
    s.info.setdefault("deadlines", []).append((deadline.id, due_at))
    return deadline


def cancel(s: Session, incident_id: int, kinds: tuple[DeadlineKind, ...] | None = None) -> int:
    query = update(Deadline).where(
        Deadline.incident_id == incident_id, Deadline.status == DeadlineStatus.PENDING
    )
    if kinds:
        query = query.where(Deadline.kind.in_(kinds))
    return changed(s, query.values(status=DeadlineStatus.CANCELLED))


def plan_first_phase(s: Session, incident: Incident, settings: Settings, t0: datetime) -> None:
    """T0 is the moment the card is handed to the managers: the first phase starts then."""
    phase = settings.initial_phase
    incident.phase_ends_at = t0 + phase
    add_deadline(s, incident.id, DeadlineKind.ESCALATION, t0 + settings.org.escalation_after)
    add_deadline(s, incident.id, DeadlineKind.PHASE_REMINDER, t0 + phase * 2 / 3)
    add_deadline(s, incident.id, DeadlineKind.PHASE_END, t0 + phase)


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
    cancel(s, incident.id, UPDATE_DEADLINES)
    interval = settings.update_interval_for(incident.priority)
    if due is None:
        if base is None:
            raise ValueError("plan_update_cycle needs `due` or `base`")
        due = base + interval
    incident.next_update_due_at = due
    add_deadline(s, incident.id, DeadlineKind.UPDATE_REMINDER, due - reminder_lead(interval))
    add_deadline(s, incident.id, DeadlineKind.UPDATE_DUE, due)
