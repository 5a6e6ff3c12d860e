"""The phase clock: deadlines as rows, fired exactly once (docs/architecture.md, "The clock").

Firing claims the row (pending → fired) in the same transaction as everything the deadline
causes (outbox messages, phase changes, the next deadlines). Either all of it happens once, or,
when the process dies first, none of it and the row is still pending for the next start.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from handover.clock.deadlines import (
    add_deadline,
    objectives,
    open_objectives,
    plan_update_cycle,
    since_t0,
)
from handover.clock.timeline import (
    Escalated,
    PhaseVerdict,
    UpdateOverdue,
    record_event,
    refresh_card,
    say_in_thread,
    tell,
)
from handover.comms import notices
from handover.intents import InitialNoticeNudge, PhaseMissedDm, PhaseReminder, UpdateReminder
from handover.models import Deadline, Incident
from handover.ownership import incident_channel
from handover.payload import Payload
from handover.settings import Settings
from handover.store.db import Database, changed
from handover.times import to_iso, utcnow
from handover.vocabulary import (
    ACTIVE,
    DeadlineKind,
    DeadlineStatus,
    NoticeKind,
    OutboxKind,
    Phase,
)

# A deadline fired later than this after its due time says so (e.g. Baton was down).
LATE_AFTER = timedelta(seconds=2)


class Clock:
    """Fires deadlines. `fire` is safe to call from any replica, any number of times."""

    def __init__(self, db: Database, settings: Settings, now: Callable[[], datetime] = utcnow):
        self.db = db
        self.settings = settings
        self.now = now

    def pending(self, until: datetime | None = None) -> list[tuple[int, datetime]]:
        """Pending deadlines (due before `until`, when given), soonest first."""
        query = select(Deadline.id, Deadline.due_at).where(
            Deadline.status == DeadlineStatus.PENDING
        )
        if until is not None:
            query = query.where(Deadline.due_at <= until)
        with self.db.session() as s:
            return [(row.id, row.due_at) for row in s.execute(query.order_by(Deadline.due_at))]

    def fire(self, deadline_id: int) -> bool:
        """Fire one deadline if it is still pending; True when this call fired it."""
        for attempt in range(3):
            try:
                return self._fire_once(deadline_id)
            except OperationalError:  # a lock held too long by another replica: try again
                if attempt == 2:
                    raise
        return False

    def _fire_once(self, deadline_id: int) -> bool:
        with self.db.session() as s:
            now = self.now()
            deadline = s.get(Deadline, deadline_id)
            if deadline is None or deadline.status != DeadlineStatus.PENDING:
                return False
            # Lock the incident before claiming: what a deadline says depends on the incident
            # (objectives met, next update planned), and a user's action on it takes the same
            # lock first, then its deadlines. One order for both, so they never deadlock.
            incident = s.get_one(Incident, deadline.incident_id, with_for_update=True)
            late = now - deadline.due_at > LATE_AFTER
            claimed = changed(
                s,
                update(Deadline)
                .where(Deadline.id == deadline_id, Deadline.status == DeadlineStatus.PENDING)
                .values(status=DeadlineStatus.FIRED, fired_at=now, late=late),
            )
            if claimed != 1:
                return False
            if incident.status in ACTIVE:
                HANDLERS[DeadlineKind(deadline.kind)](self, s, incident, deadline, now, late)
            return True

    # What each deadline says ------------------------------------------------------------

    @staticmethod
    def _line(s, incident, deadline, what: OutboxKind, intent: Payload, now: datetime) -> None:
        """The clock's line in the card's thread, once per deadline."""
        say_in_thread(s, incident, f"deadline:{deadline.id}", what, intent.to_json(), now)

    def _escalation(self, s, incident, deadline, now, late) -> None:
        if incident.owner_id is not None:
            return
        escalated = Escalated(
            due_at=to_iso(deadline.due_at),
            late=late,
            waited_s=since_t0(incident, now),
            escalate_to=self.settings.org.escalate_to,
        )
        record_event(s, incident, "baton", escalated, now, card=False)
        self._line(s, incident, deadline, OutboxKind.ESCALATION, escalated, now)

    def _phase_reminder(self, s, incident, deadline, now, late) -> None:
        still_open = open_objectives(incident)
        if not still_open:
            return
        reminder = PhaseReminder(
            due_at=to_iso(deadline.due_at),
            late=late,
            open=still_open,
            ends_at=to_iso(incident.phase_ends_at),
            notice_out=incident.initial_comms_at is not None,
        )
        self._line(s, incident, deadline, OutboxKind.PHASE_REMINDER, reminder, now)

    def _phase_end(self, s, incident, deadline, now, late) -> None:
        t0 = incident.handed_over_at
        done = [
            (o.label, int((o.done_at - t0).total_seconds()))
            for o in objectives(incident)
            if o.done_at is not None
        ]
        missing = open_objectives(incident)
        verdict = PhaseVerdict(
            due_at=to_iso(deadline.due_at),
            late=late,
            met=not missing,
            done=done,
            missing=missing,
            phase_s=int(self.settings.initial_phase.total_seconds()),
        )
        incident.phase = Phase.POST_INITIAL
        if incident.initial_comms_at is None:
            # No notice has gone out, so no update is due after one: chase the first instead.
            add_deadline(
                s,
                incident.id,
                DeadlineKind.INITIAL_NOTICE_NUDGE,
                now + self.settings.org.initial_notice_nudge,
            )
        elif incident.next_update_due_at is None:
            plan_update_cycle(s, incident, self.settings, base=now)
        event = record_event(s, incident, "baton", verdict, now, card=False)
        incident_channel.retopic(s, incident, event, now)  # "after the first 15 min"
        self._line(s, incident, deadline, OutboxKind.PHASE_VERDICT, verdict, now)
        if missing and incident.owner_id:
            dm = PhaseMissedDm(user=incident.owner_id, missing=missing)
            key = f"deadline:{deadline.id}:dm"
            tell(s, incident, key, OutboxKind.PHASE_MISSED_DM, dm, now)
        refresh_card(s, incident, f"deadline:{deadline.id}", now)

    def _initial_notice_nudge(self, s, incident, deadline, now, late) -> None:
        if incident.initial_comms_at is not None:
            return
        nudge = InitialNoticeNudge(since_s=since_t0(incident, now))
        self._line(s, incident, deadline, OutboxKind.INITIAL_NOTICE_NUDGE, nudge, now)
        add_deadline(
            s,
            incident.id,
            DeadlineKind.INITIAL_NOTICE_NUDGE,
            now + self.settings.org.initial_notice_nudge,
        )

    def _update_reminder(self, s, incident, deadline, now, late) -> None:
        reminder = UpdateReminder(
            due_at=to_iso(deadline.due_at),
            late=late,
            update_due_at=to_iso(incident.next_update_due_at or deadline.due_at),
        )
        self._line(s, incident, deadline, OutboxKind.UPDATE_REMINDER, reminder, now)
        # Offer the update ready to check and send: it is due even when there is no news.
        notices.draft(s, incident, NoticeKind.UPDATE, self.settings, now)

    def _update_due(self, s, incident, deadline, now, late) -> None:
        overdue = UpdateOverdue(due_at=to_iso(deadline.due_at), late=late)
        record_event(s, incident, "baton", overdue, now, card=False)
        self._line(s, incident, deadline, OutboxKind.UPDATE_OVERDUE, overdue, now)
        refresh_card(s, incident, f"deadline:{deadline.id}", now)


HANDLERS = {
    DeadlineKind.ESCALATION: Clock._escalation,
    DeadlineKind.PHASE_REMINDER: Clock._phase_reminder,
    DeadlineKind.PHASE_END: Clock._phase_end,
    DeadlineKind.UPDATE_REMINDER: Clock._update_reminder,
    DeadlineKind.UPDATE_DUE: Clock._update_due,
    DeadlineKind.INITIAL_NOTICE_NUDGE: Clock._initial_notice_nudge,
}
