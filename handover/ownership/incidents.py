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
from handover.checklist.definition import FIELDS, PRIORITIES, STEPS, Kind
from handover.clock.deadlines import (
    cancel,
    late_by,
    plan_first_phase,
    plan_update_cycle,
    since_t0,
)
from handover.clock.timeline import (
    Accepted,
    Closed,
    GapFilled,
    HandedOn,
    PriorityChanged,
    Resolved,
    StoodDown,
    TrgsEngaged,
    record_denial,
    record_event,
    say_in_thread,
    tell,
)
from handover.comms import notices
from handover.intents import AcceptedDm, HandedOnDm, HandedOverDm, ResolvedDm, StoodDownDm
from handover.models import Incident, Reask
from handover.outcomes import (
    AlreadyDone,
    Outcome,
    Refusal,
    Refused,
    answers_refusals,
    invalid,
)
from handover.ownership import incident_channel, paging
from handover.ownership.controls import Control, statuses_for
from handover.reporting import exception_reports
from handover.settings import Settings
from handover.store import outbox
from handover.store.db import Database, changed
from handover.times import to_iso, utcnow
from handover.vocabulary import (
    ACTIVE,
    DeadlineKind,
    IncidentStatus,
    NoticeKind,
    OutboxKind,
    Phase,
    StakeholderState,
    Target,
)


def on_handover(s: Session, incident: Incident, settings: Settings, now: datetime) -> None:
    """The card goes to the managers (T0), the clock starts, the agent is told."""
    outbox.enqueue(
        s,
        f"card:{incident.id}:post",
        OutboxKind.CARD_POST,
        Target.CARD,
        incident_id=incident.id,
        now=now,
    )
    dm = HandedOverDm(user=incident.reporter_id)
    tell(s, incident, f"dm:{incident.id}:handed_over", OutboxKind.HANDED_OVER_DM, dm, now)
    plan_first_phase(s, incident, settings, now)
    # The manager should never write the first comms from a blank page (docs/domain.md).
    notices.draft(s, incident, NoticeKind.INITIAL, settings, now)


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
                    .where(
                        Incident.status.in_((*ACTIVE, IncidentStatus.RESOLVED)),
                        Incident.is_drill.is_(False),
                    )
                    .order_by(Incident.handed_over_at.desc())
                    .limit(limit)
                )
            )

    def get(self, incident_id: int) -> Incident | None:
        with self.db.session() as s:
            return s.get(Incident, incident_id)

    # Helpers --------------------------------------------------------------------------------

    def _owned(
        self,
        s: Session,
        incident_id: int,
        user: str,
        control: Control,
        done: tuple[IncidentStatus, ...] = (),
    ) -> Incident:
        """The incident, if `user` owns it and `control` is on offer in its state; otherwise
        refused (a refusal by someone else than the owner is recorded).

        In one of the `done` statuses, the owner's action already happened: a double click
        or Slack's retry. That is a success with no second effect.

        The row stays locked until the unit of work ends, so a check ("not yet recorded") and
        the change it guards cannot interleave with another request's (PostgreSQL; SQLite
        already serialises every writer)."""
        incident = s.get(Incident, incident_id, with_for_update=True)
        if incident is None:
            raise Refused(Refusal.NOT_FOUND)
        if incident.owner_id != user:
            record_denial(s, incident, user, control, self.now())
            raise Refused(Refusal.NOT_OWNER, incident)
        if incident.status in done:
            raise AlreadyDone(incident)
        statuses = statuses_for(control)
        if incident.status not in statuses:
            closing = statuses == (IncidentStatus.RESOLVED,)
            raise Refused(Refusal.NOT_RESOLVED if closing else Refusal.NOT_ACTIVE, incident)
        return incident

    @answers_refusals
    def not_allowed(self, incident_id: int, user: str, action: str) -> Outcome:
        """A refusal decided by configuration (who may accept), recorded like the others."""
        with self.db.session() as s:
            incident = s.get(Incident, incident_id)
            if incident is None:
                raise Refused(Refusal.NOT_FOUND)
            record_denial(s, incident, user, action, self.now())
            raise Refused(Refusal.NOT_ALLOWED, incident)

    @answers_refusals
    def check_owner(self, incident_id: int, user: str, control: Control) -> Outcome:
        """May `user` use `control` on the incident, as its owner? A refusal is recorded."""
        with self.db.session() as s:
            return Outcome(True, self._owned(s, incident_id, user, control))

    # Actions --------------------------------------------------------------------------------

    @answers_refusals
    def accept(self, incident_id: int, user: str) -> Outcome:
        """Claim ownership atomically: of two managers clicking at once, exactly one wins."""
        with self.db.session() as s:
            now = self.now()
            incident = s.get(Incident, incident_id)
            if incident is None:
                raise Refused(Refusal.NOT_FOUND)
            if incident.status not in ACTIVE:
                raise Refused(Refusal.NOT_ACTIVE, incident)
            won = changed(
                s,
                update(Incident)
                .where(Incident.id == incident_id, Incident.owner_id.is_(None))
                .values(owner_id=user, accepted_at=now, status=IncidentStatus.ACCEPTED),
            )
            s.refresh(incident)
            if won != 1:
                # Their own double click, or Slack's retry, is not a second acceptance.
                if incident.owner_id == user:
                    raise AlreadyDone(incident)
                raise Refused(Refusal.ALREADY_OWNED, incident)
            cancel(s, incident.id, (DeadlineKind.ESCALATION,))
            accepted = Accepted(after_s=since_t0(incident, now), late_by_s=late_by(incident, now))
            record_event(s, incident, user, accepted, now)
            dm = AcceptedDm(user=incident.reporter_id, owner=user)
            tell(s, incident, f"dm:{incident.id}:accepted", OutboxKind.ACCEPTED_DM, dm, now)
            incident_channel.open_on_accept(s, incident, self.settings, now)
            return Outcome(True, incident)

    @answers_refusals
    def engage(self, incident_id: int, user: str, groups: list[str]) -> Outcome:
        groups = [g for g in dict.fromkeys(groups) if g in self.settings.org.resolver_groups]
        if not groups:
            raise invalid("Choose at least one resolver group.")
        with self.db.session() as s:
            incident = self._owned(s, incident_id, user, Control.ENGAGE)
            groups = [g for g in groups if g not in incident.trgs]
            if not groups:  # all engaged already: a repeat says nothing new
                raise AlreadyDone(incident)
            now = self.now()
            first = incident.trgs_engaged_at is None
            incident.trgs = list(dict.fromkeys([*incident.trgs, *groups]))
            if first:
                incident.trgs_engaged_at = now
            engaged = TrgsEngaged(
                groups=groups,
                after_s=since_t0(incident, now),
                late_by_s=late_by(incident, now) if first else None,
            )
            event = record_event(s, incident, user, engaged, now)
            paging.page_groups(s, incident, groups, self.settings, now)
            incident_channel.invite(s, incident, event, self.settings, now, groups=groups)
            return Outcome(True, incident)

    @answers_refusals
    def fill_gap(self, incident_id: int, user: str, field_id: str, raw: Any) -> Outcome:
        """The owner completes or corrects a checklist field. The record (and so the card and
        future comms) changes; the score as handed over does not; the re-ask is recorded."""
        f = FIELDS.get(field_id)
        if f is None or f.kind == Kind.PRIORITY:
            raise invalid("That is not a checklist field.")
        with self.db.session() as s:
            incident = self._owned(s, incident_id, user, Control.FILL_GAP)
            value = answers.parse(f, raw)
            candidate = {**incident.answers, field_id: value}
            step = next(st for st in STEPS if f in st.fields)
            problem = answers.validate(step, candidate, self.settings.org, self.now()).get(field_id)
            if problem:
                raise invalid(problem, incident)
            old = incident.answers.get(field_id)
            if old == value:
                raise invalid("That is what the record says already.", incident)
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
            filled = GapFilled(field=field_id, label=f.label, was_blank=old in (None, "", []))
            record_event(s, incident, user, filled, now)
            return Outcome(True, incident)

    @answers_refusals
    def change_priority(self, incident_id: int, user: str, priority: str, reason: str) -> Outcome:
        """The owner raises or lowers the priority, with a reason. Updates follow the new
        cadence from the next one on: a raise brings the next update forward when the new
        cadence is shorter; a lowering keeps the time already promised to stakeholders."""
        reason = " ".join(reason.split())
        if priority not in (o.id for o in PRIORITIES):
            raise invalid("Choose P1, P2, P3 or P4.")
        if len(reason) < 5:
            raise invalid("Please say why the priority changes (a few words).")
        with self.db.session() as s:
            incident = self._owned(s, incident_id, user, Control.CHANGE_PRIORITY)
            before = incident.priority
            if priority == before:
                raise invalid(f"It is {before} already.", incident)
            now = self.now()
            incident.priority = priority
            due = incident.next_update_due_at
            sooner = now + self.settings.update_interval_for(priority)
            moved = None
            if due is not None and sooner < due:
                plan_update_cycle(s, incident, self.settings, due=sooner)
                moved = to_iso(sooner)
            changed_to = PriorityChanged(
                before=before, after=priority, reason=reason, next_update_at=moved
            )
            event = record_event(s, incident, user, changed_to, now)
            incident_channel.retopic(s, incident, event, now)
            # An unsent draft was written for the old priority and its cadence: draft it again.
            for kind in notices.unsent_kinds(s, incident.id):
                if kind != NoticeKind.RESOLUTION:
                    notices.draft(s, incident, kind, self.settings, now, actor=user)
            return Outcome(True, incident)

    @answers_refusals
    def hand_on(self, incident_id: int, user: str, new_owner: str) -> Outcome:
        if new_owner == user:
            raise invalid("You own it already: choose someone else to hand it on to.")
        with self.db.session() as s:
            incident = self._owned(s, incident_id, user, Control.HAND_ON)
            now = self.now()
            incident.owner_id = new_owner
            event = record_event(s, incident, user, HandedOn(previous=user, new=new_owner), now)
            incident_channel.invite(s, incident, event, self.settings, now, users=[new_owner])
            incident_channel.retopic(s, incident, event, now)
            tell(
                s,
                incident,
                f"dm:{incident.id}:handed_on:{now.timestamp()}",
                OutboxKind.HANDED_ON_DM,
                HandedOnDm(user=new_owner, previous=user),
                now,
            )
            return Outcome(True, incident)

    @answers_refusals
    def stand_down(self, incident_id: int, user: str, reason: str) -> Outcome:
        """Not a major incident: closes the process (not a kick-back) and tells the agent why."""
        reason = reason.strip()
        if len(reason) < 5:
            raise invalid("Please say why it is not a major incident (a few words).")
        with self.db.session() as s:
            incident = self._owned(
                s, incident_id, user, Control.STAND_DOWN, done=(IncidentStatus.STOOD_DOWN,)
            )
            now = self.now()
            incident.status, incident.phase = IncidentStatus.STOOD_DOWN, Phase.CLOSED
            incident.stood_down_reason, incident.closed_at = reason, now
            cancel(s, incident.id)
            paging.resolve_pages(s, incident, now)  # on call stops escalating: it is not one
            event = record_event(s, incident, user, StoodDown(reason=reason), now)
            incident_channel.say_end(s, incident, event, self.settings)
            notices.refresh_drafts(s, incident.id, now)
            dm = StoodDownDm(user=incident.reporter_id, owner=user, reason=reason)
            tell(s, incident, f"dm:{incident.id}:stood_down", OutboxKind.STOOD_DOWN_DM, dm, now)
            return Outcome(True, incident)

    @answers_refusals
    def resolve(self, incident_id: int, user: str, resolved_at: datetime | None = None) -> Outcome:
        with self.db.session() as s:
            incident = self._owned(
                s,
                incident_id,
                user,
                Control.RESOLVE,
                done=(IncidentStatus.RESOLVED, IncidentStatus.CLOSED),
            )
            now = self.now()
            resolved_at = resolved_at or now
            if resolved_at > now + timedelta(minutes=2):
                raise invalid("The resolution time cannot be in the future.", incident)
            if resolved_at < incident.handed_over_at - timedelta(days=1):
                raise invalid("That is long before the handover: please check the date.", incident)
            incident.status, incident.phase = IncidentStatus.RESOLVED, Phase.RESOLUTION
            incident.resolved_at = resolved_at
            incident.stakeholder_state = StakeholderState.RESOLVED
            incident.next_update_due_at = None
            cancel(s, incident.id)
            notices.draft(s, incident, NoticeKind.RESOLUTION, self.settings, now, actor=user)
            paging.resolve_pages(s, incident, now)
            resolved = Resolved(
                resolved_at=to_iso(resolved_at), after_s=since_t0(incident, resolved_at)
            )
            event = record_event(s, incident, user, resolved, now)
            incident_channel.say_end(s, incident, event, self.settings)
            incident_channel.retopic(s, incident, event, now)
            dm = ResolvedDm(user=incident.reporter_id, resolved_at=to_iso(resolved_at))
            tell(s, incident, f"dm:{incident.id}:resolved", OutboxKind.RESOLVED_DM, dm, now)
            return Outcome(True, incident)

    @answers_refusals
    def close(self, incident_id: int, user: str) -> Outcome:
        with self.db.session() as s:
            incident = self._owned(
                s, incident_id, user, Control.CLOSE, done=(IncidentStatus.CLOSED,)
            )
            now = self.now()
            incident.status, incident.phase = IncidentStatus.CLOSED, Phase.CLOSED
            incident.closed_at = now
            cancel(s, incident.id)
            durations = {
                label: int(d.total_seconds()) if d else None for label, d in key_durations(incident)
            }
            event = record_event(s, incident, user, Closed(durations=durations), now)
            incident_channel.say_end(s, incident, event, self.settings)
            notices.refresh_drafts(s, incident.id, now)
            exception_reports.file_exception_report(s, incident, self.settings, now)
            # The review's draft, in the thread: the team completes it (bot/review.py).
            say_in_thread(s, incident, f"review:{incident.id}", OutboxKind.REVIEW, {}, now)
            return Outcome(True, incident)
