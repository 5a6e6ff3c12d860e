"""Ownership and the life of an incident after handover: accept, engage resolver groups, comms,
updates, hand on, stand down, resolve, close. Every change lands in the timeline (events) and
says what it has to say through the outbox, in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from handover.checklist import answers
from handover.checklist.definition import FIELDS, STEPS, Kind
from handover.clock.deadlines import (
    ACTIVE,
    ESCALATION,
    cancel,
    plan_first_phase,
    record_event,
)
from handover.comms import notices
from handover.models import Incident, Reask
from handover.outcomes import (
    ALREADY_OWNED,
    INVALID,
    NOT_ACTIVE,
    NOT_ALLOWED,
    NOT_FOUND,
    NOT_OWNER,
    NOT_RESOLVED,
    Outcome,
    denial,
)
from handover.reporting import exception_reports
from handover.settings import Settings
from handover.store import outbox
from handover.store.db import Database
from handover.times import to_iso, utcnow


def on_handover(s: Session, incident: Incident, settings: Settings, now: datetime) -> None:
    """The card goes to the managers (T0), the clock starts, the agent is told."""
    outbox.enqueue(
        s,
        f"card:{incident.id}:post",
        outbox.CARD_POST,
        outbox.CARD,
        incident_id=incident.id,
        now=now,
    )
    outbox.enqueue(
        s,
        f"dm:{incident.id}:handed_over",
        "handed_over",
        outbox.DM,
        incident_id=incident.id,
        params={"user": incident.reporter_id},
        now=now,
    )
    plan_first_phase(s, incident, settings, now)
    # The manager should never write the first comms from a blank page (docs/domain.md).
    notices.draft(s, incident, "initial", settings, now)


def key_durations(incident: Incident) -> list[tuple[str, timedelta | None]]:
    """From handover to each milestone (None: not reached)."""
    t0 = incident.handed_over_at

    def since(at: datetime | None) -> timedelta | None:
        return at - t0 if at else None

    return [
        ("handover → accepted", since(incident.accepted_at)),
        ("→ resolver groups engaged", since(incident.trgs_engaged_at)),
        ("→ first comms", since(incident.initial_comms_at)),
        ("→ resolved", since(incident.resolved_at)),
    ]


# A record can still be completed after resolution, until it is closed.
FILLABLE = ("accepted", "resolved")


class Incidents:
    def __init__(self, db: Database, settings: Settings, now: Callable[[], datetime] = utcnow):
        self.db = db
        self.settings = settings
        self.now = now

    def active(self, limit: int = 50) -> list[Incident]:
        """Incidents still being worked (resolved ones until they are closed), newest first."""
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(Incident)
                    .where(Incident.status.in_((*ACTIVE, "resolved")), Incident.is_drill.is_(False))
                    .order_by(Incident.handed_over_at.desc())
                    .limit(limit)
                )
            )

    def get(self, incident_id: int) -> Incident | None:
        with self.db.session() as s:
            return s.get(Incident, incident_id)

    # Helpers --------------------------------------------------------------------------------

    def _late_by(self, incident: Incident, now: datetime) -> int | None:
        """Seconds past the first phase's end, for an objective met late; None when in time."""
        if incident.phase_ends_at and now > incident.phase_ends_at:
            return int((now - incident.phase_ends_at).total_seconds())
        return None

    def _owned(
        self,
        s: Session,
        incident_id: int,
        user: str,
        action: str,
        statuses: tuple[str, ...] = ("accepted",),
        done: tuple[str, ...] = (),
    ) -> tuple[Incident | None, Outcome | None]:
        """The incident if `user` owns it and it is in one of `statuses`; else the answer.

        In one of the `done` statuses, the owner's action already happened: a double click
        or Slack's retry. That is a success with no second effect.

        The row stays locked until the unit of work ends, so a check ("not yet recorded") and
        the change it guards cannot interleave with another request's (PostgreSQL; SQLite
        already serialises every writer)."""
        incident = s.get(Incident, incident_id, with_for_update=True)
        if incident is None:
            return None, Outcome(False, refusal=NOT_FOUND)
        if incident.owner_id != user:
            s.add(denial(incident, user, action, self.now()))
            return None, Outcome(False, incident, NOT_OWNER)
        if incident.status in done:
            return None, Outcome(True, incident)
        if incident.status not in statuses:
            refusal = NOT_RESOLVED if statuses == ("resolved",) else NOT_ACTIVE
            return None, Outcome(False, incident, refusal)
        return incident, None

    def not_allowed(self, incident_id: int, user: str, action: str) -> Outcome:
        """A refusal decided by configuration (who may accept), recorded like the others."""
        with self.db.session() as s:
            incident = s.get(Incident, incident_id)
            if incident is None:
                return Outcome(False, refusal=NOT_FOUND)
            s.add(denial(incident, user, action, self.now()))
            return Outcome(False, incident, NOT_ALLOWED)

    def check_owner(
        self, incident_id: int, user: str, action: str, statuses: tuple[str, ...] = ("accepted",)
    ) -> Outcome:
        """May `user` act on the incident as its owner? A refusal is recorded."""
        with self.db.session() as s:
            incident, refused = self._owned(s, incident_id, user, action, statuses)
            return refused or Outcome(True, incident)

    # Actions --------------------------------------------------------------------------------

    def accept(self, incident_id: int, user: str) -> Outcome:
        """Claim ownership atomically: of two managers clicking at once, exactly one wins."""
        with self.db.session() as s:
            now = self.now()
            incident = s.get(Incident, incident_id)
            if incident is None:
                return Outcome(False, refusal=NOT_FOUND)
            if incident.status not in ACTIVE:
                return Outcome(False, incident, NOT_ACTIVE)
            won = s.execute(
                update(Incident)
                .where(Incident.id == incident_id, Incident.owner_id.is_(None))
                .values(owner_id=user, accepted_at=now, status="accepted")
            ).rowcount
            s.refresh(incident)
            if won != 1:
                # Their own double click, or Slack's retry, is not a second acceptance.
                mine = incident.owner_id == user
                return Outcome(True, incident) if mine else Outcome(False, incident, ALREADY_OWNED)
            cancel(s, incident.id, (ESCALATION,))
            waited = int((now - incident.handed_over_at).total_seconds())
            record_event(
                s,
                incident,
                user,
                "accepted",
                now,
                {"after_s": waited, "late_by_s": self._late_by(incident, now)},
            )
            outbox.enqueue(
                s,
                f"dm:{incident.id}:accepted",
                "accepted_dm",
                outbox.DM,
                incident_id=incident.id,
                params={"user": incident.reporter_id, "owner": user},
                now=now,
            )
            return Outcome(True, incident)

    def engage(self, incident_id: int, user: str, groups: list[str]) -> Outcome:
        groups = [g for g in dict.fromkeys(groups) if g in self.settings.org.resolver_groups]
        if not groups:
            return Outcome(False, refusal=INVALID, message="Choose at least one resolver group.")
        with self.db.session() as s:
            incident, refused = self._owned(s, incident_id, user, "engage")
            if refused:
                return refused
            groups = [g for g in groups if g not in incident.trgs]
            if not groups:  # all engaged already: a repeat says nothing new
                return Outcome(True, incident)
            now = self.now()
            first = incident.trgs_engaged_at is None
            incident.trgs = list(dict.fromkeys([*incident.trgs, *groups]))
            if first:
                incident.trgs_engaged_at = now
            record_event(
                s,
                incident,
                user,
                "trgs_engaged",
                now,
                {
                    "groups": groups,
                    "after_s": int((now - incident.handed_over_at).total_seconds()),
                    "late_by_s": self._late_by(incident, now) if first else None,
                },
            )
            return Outcome(True, incident)

    def fill_gap(self, incident_id: int, user: str, field_id: str, raw: Any) -> Outcome:
        """The owner completes or corrects a checklist field. The record (and so the card and
        future comms) changes; the score as handed over does not; the re-ask is recorded."""
        f = FIELDS.get(field_id)
        if f is None or f.kind == Kind.PRIORITY:
            return Outcome(False, refusal=INVALID, message="That is not a checklist field.")
        with self.db.session() as s:
            incident, refused = self._owned(s, incident_id, user, "fill_gap", FILLABLE)
            if refused:
                return refused
            value = answers.parse(f, raw)
            candidate = {**incident.answers, field_id: value}
            step = next(st for st in STEPS if f in st.fields)
            problem = answers.validate(step, candidate, self.settings.org, self.now()).get(field_id)
            if problem:
                return Outcome(False, incident, INVALID, problem)
            old = incident.answers.get(field_id)
            if old == value:
                return Outcome(False, incident, INVALID, "That is what the record says already.")
            now = self.now()
            incident.answers = candidate
            if field_id == "headline":
                incident.headline = value
            s.add(
                Reask(
                    incident_id=incident.id,
                    field_id=field_id,
                    old_value=old,
                    new_value=value,
                    by=user,
                    at=now,
                )
            )
            record_event(
                s,
                incident,
                user,
                "gap_filled",
                now,
                {"field": field_id, "label": f.label, "was_blank": old in (None, "", [])},
            )
            return Outcome(True, incident)

    def hand_on(self, incident_id: int, user: str, new_owner: str) -> Outcome:
        if new_owner == user:
            return Outcome(
                False,
                refusal=INVALID,
                message="You own it already: choose someone else to hand it on to.",
            )
        with self.db.session() as s:
            incident, refused = self._owned(s, incident_id, user, "hand_on")
            if refused:
                return refused
            now = self.now()
            incident.owner_id = new_owner
            record_event(s, incident, user, "handed_on", now, {"from": user, "to": new_owner})
            outbox.enqueue(
                s,
                f"dm:{incident.id}:handed_on:{now.timestamp()}",
                "handed_on_dm",
                outbox.DM,
                incident_id=incident.id,
                params={"user": new_owner, "from": user},
                now=now,
            )
            return Outcome(True, incident)

    def stand_down(self, incident_id: int, user: str, reason: str) -> Outcome:
        """Not a major incident: closes the process (not a kick-back) and tells the agent why."""
        reason = reason.strip()
        if len(reason) < 5:
            return Outcome(
                False,
                refusal=INVALID,
                message="Please say why it is not a major incident (a few words).",
            )
        with self.db.session() as s:
            incident, refused = self._owned(
                s, incident_id, user, "stand_down", done=("stood_down",)
            )
            if refused:
                return refused
            now = self.now()
            incident.status, incident.phase = "stood_down", "closed"
            incident.stood_down_reason, incident.closed_at = reason, now
            cancel(s, incident.id)
            record_event(s, incident, user, "stood_down", now, {"reason": reason})
            outbox.enqueue(
                s,
                f"dm:{incident.id}:stood_down",
                "stood_down_dm",
                outbox.DM,
                incident_id=incident.id,
                params={"user": incident.reporter_id, "owner": user, "reason": reason},
                now=now,
            )
            return Outcome(True, incident)

    def resolve(self, incident_id: int, user: str, resolved_at: datetime | None = None) -> Outcome:
        with self.db.session() as s:
            incident, refused = self._owned(
                s, incident_id, user, "resolve", done=("resolved", "closed")
            )
            if refused:
                return refused
            now = self.now()
            resolved_at = resolved_at or now
            if resolved_at > now + timedelta(minutes=2):
                return Outcome(
                    False, incident, INVALID, "The resolution time cannot be in the future."
                )
            if resolved_at < incident.handed_over_at - timedelta(days=1):
                return Outcome(
                    False,
                    incident,
                    INVALID,
                    "That is long before the handover: please check the date.",
                )
            incident.status, incident.phase = "resolved", "resolution"
            incident.resolved_at, incident.stakeholder_state = resolved_at, "resolved"
            incident.next_update_due_at = None
            cancel(s, incident.id)
            notices.draft(s, incident, "resolution", self.settings, now, actor=user)
            record_event(
                s,
                incident,
                user,
                "resolved",
                now,
                {
                    "resolved_at": to_iso(resolved_at),
                    "after_s": int((resolved_at - incident.handed_over_at).total_seconds()),
                },
            )
            return Outcome(True, incident)

    def close(self, incident_id: int, user: str) -> Outcome:
        with self.db.session() as s:
            incident, refused = self._owned(
                s, incident_id, user, "close", ("resolved",), ("closed",)
            )
            if refused:
                return refused
            now = self.now()
            incident.status, incident.phase, incident.closed_at = "closed", "closed", now
            cancel(s, incident.id)
            durations = {
                label: int(d.total_seconds()) if d else None for label, d in key_durations(incident)
            }
            record_event(s, incident, user, "closed", now, {"durations": durations})
            exception_reports.file_exception_report(s, incident, self.settings, now)
            return Outcome(True, incident)
