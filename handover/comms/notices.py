"""Stakeholder notices: drafted by Baton, checked, edited and sent by the incident manager.

A draft is a row; the front end renders it once (templates.render, in its own target and in plain
text) when it first shows it, so what the manager checked is exactly what is published. Sending
records who sent what and when, and drives the clock: the initial notice completes the first
phase's objective, and every notice's "next update" time becomes the update deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from handover.checklist.definition import Rendering
from handover.clock.deadlines import cancel, late_by, plan_update_cycle, since_t0
from handover.clock.timeline import (
    InitialCommsSent,
    NoticeEdited,
    NoticeSent,
    NoticeUndelivered,
    ResolutionSent,
    StateChanged,
    UpdateSent,
    record_denial,
    record_event,
    tell,
)
from handover.comms import mail, templates
from handover.intents import InitialNoticeDm, NoticeUndeliveredLine
from handover.models import Incident, Notice
from handover.outcomes import AlreadyDone, Outcome, Refusal, Refused, answers_refusals, invalid
from handover.settings import Settings
from handover.store import outbox
from handover.store.db import Database
from handover.times import to_iso, utcnow
from handover.vocabulary import (
    ACTIVE,
    DeadlineKind,
    NoticeKind,
    NoticeStatus,
    OutboxKind,
    Target,
)

# A draft whose "next update" time is this close (or past; a quarter of the cadence for short
# ones) is re-drafted before sending, so no notice promises a time already gone.
FRESH_FOR = timedelta(minutes=1)


def security_suspected(incident: Incident) -> bool:
    return mail.incident_breach(incident)


def destination(incident: Incident, settings: Settings, broad: bool) -> str:
    """Where a notice goes: the restricted channel while a breach is suspected (when there is
    one), unless the sender chose everyone; otherwise the stakeholders' channel."""
    restricted = settings.org.restricted_channel
    if security_suspected(incident) and restricted and not broad:
        return restricted
    return settings.stakeholder_channel


def _last_sent(s: Session, incident_id: int) -> Notice | None:
    return s.scalars(
        select(Notice)
        .where(Notice.incident_id == incident_id, Notice.status == NoticeStatus.SENT)
        .order_by(Notice.sent_at.desc(), Notice.id.desc())
        .limit(1)
    ).first()


def unsent_kinds(s: Session, incident_id: int) -> list[str]:
    """The kinds of notice with a draft waiting to be sent."""
    return list(
        s.scalars(
            select(Notice.kind)
            .where(Notice.incident_id == incident_id, Notice.status == NoticeStatus.DRAFT)
            .distinct()
        )
    )


def draft(
    s: Session,
    incident: Incident,
    kind: str,
    settings: Settings,
    now: datetime,
    actor: str = "baton",
    doing: str | None = None,
    eta: str = "",
) -> Notice:
    """Queue a draft of `kind` for the managers (in the card's thread). Unsent drafts of the
    same kind are superseded: only the newest can be sent."""
    s.execute(
        update(Notice)
        .where(
            Notice.incident_id == incident.id,
            Notice.kind == kind,
            Notice.status == NoticeStatus.DRAFT,
        )
        .values(status=NoticeStatus.SUPERSEDED)
    )
    previous = _last_sent(s, incident.id)
    next_update = None
    if kind != NoticeKind.RESOLUTION:
        next_update = now + settings.update_interval_for(incident.priority)
    current = templates.snapshot(incident)
    changes = templates.diff_since(previous.snapshot, current) if previous else []
    notice = Notice(
        incident_id=incident.id,
        kind=kind,
        status=NoticeStatus.DRAFT,
        # The manager's "what we are doing" line carries over until they change it.
        doing=doing if doing is not None else (previous.doing if previous else ""),
        eta=eta,
        next_update_at=next_update,
        snapshot=current,
        changes=[vars(c) for c in changes],
        created_at=now,
        created_by=actor,
    )
    s.add(notice)
    s.flush()
    _queue(s, notice, "post", OutboxKind.NOTICE_POST, Target.THREAD, now)
    return notice


def refresh_drafts(s: Session, incident_id: int, now: datetime) -> None:
    """Show every notice message in the thread as it is now (the incident ended: their
    buttons go)."""
    posted = s.scalars(
        select(Notice).where(Notice.incident_id == incident_id, Notice.draft_ts.is_not(None))
    )
    for notice in posted:
        _queue(s, notice, f"refresh:{now.timestamp()}", OutboxKind.NOTICE, Target.THREAD, now)


def publish_refused(s: Session, notice_id: int, error: str, now: datetime) -> None:
    """Slack refused the notice for good: it is a draft again (not sent, not counted), Send
    works again once the cause is fixed, and whoever pressed it is told in the thread."""
    notice = s.get_one(Notice, notice_id)
    incident = s.get_one(Incident, notice.incident_id, with_for_update=True)
    channel, sender = notice.channel or "", notice.sent_by or incident.owner_id or ""
    notice.status, notice.publish_error = NoticeStatus.DRAFT, error
    notice.sent_by = notice.channel = None
    record_event(
        s,
        incident,
        "baton",
        NoticeUndelivered(notice=notice.id, channel=channel, error=error),
        now,
        card=False,
    )
    line = NoticeUndeliveredLine(user=sender, notice_kind=notice.kind, channel=channel, error=error)
    key = f"notice:{notice.id}:refused:{now.timestamp()}"
    outbox.enqueue(
        s,
        key,
        OutboxKind.NOTICE_UNDELIVERED_LINE,
        Target.THREAD,
        incident_id=incident.id,
        params=line.to_json(),
        now=now,
    )
    _queue(s, notice, f"refresh:{now.timestamp()}", OutboxKind.NOTICE, Target.THREAD, now)


def _tell_agent(s: Session, incident: Incident, notice: Notice, now: datetime) -> None:
    """The agent reads the initial notice out to callers: they get it as published."""
    dm = InitialNoticeDm(
        user=incident.reporter_id,
        channel=notice.channel or "",
        subject=notice.subject,
        body=notice.body_mrkdwn,
    )
    tell(s, incident, f"notice:{notice.id}:agent", OutboxKind.INITIAL_NOTICE_DM, dm, now)


def _queue(
    s: Session, notice: Notice, key: str, what: OutboxKind, target: Target, now: datetime
) -> None:
    """One message about a notice (its draft in the thread, its publication), once per key."""
    outbox.enqueue(
        s,
        f"notice:{notice.id}:{key}",
        what,
        target,
        incident_id=notice.incident_id,
        params={"notice_id": notice.id},
        now=now,
    )


class Notices:
    def __init__(self, db: Database, settings: Settings, now: Callable[[], datetime] = utcnow):
        self.db = db
        self.settings = settings
        self.now = now

    def get(self, notice_id: int) -> tuple[Notice, Incident] | None:
        with self.db.session() as s:
            notice = s.get(Notice, notice_id)
            return (notice, s.get_one(Incident, notice.incident_id)) if notice else None

    def render(self, notice_id: int, target: Rendering) -> tuple[Notice, Incident]:
        """Render the draft once (for `target` and in plain text) and keep the text."""
        with self.db.session() as s:
            notice = s.get_one(Notice, notice_id)
            incident = s.get_one(Incident, notice.incident_id)
            if not notice.rendered:
                self._render_into(notice, incident, target)
            return notice, incident

    def _render_into(self, notice: Notice, incident: Incident, target: Rendering) -> None:
        details = templates.Details(
            next_update_at=notice.next_update_at,
            eta=notice.eta or None,
            doing=notice.doing,
            changes=tuple(templates.Change(**c) for c in notice.changes),
        )
        rich = templates.render(notice.kind, incident, self.settings.org, target, details)
        plain = templates.render(notice.kind, incident, self.settings.org, templates.PLAIN, details)
        notice.subject, notice.body_mrkdwn, notice.body_plain = rich.subject, rich.body, plain.body
        notice.rendered = True

    def last_doing(self, incident_id: int) -> str:
        """The manager's latest "what we are doing" line (kept from notice to notice)."""
        with self.db.session() as s:
            latest = s.scalars(
                select(Notice)
                .where(Notice.incident_id == incident_id)
                .order_by(Notice.id.desc())
                .limit(1)
            ).first()
            return latest.doing if latest else ""

    def last_eta(self, incident_id: int) -> str:
        """The ETA of the latest update only: an older one would be stale, so never reused."""
        with self.db.session() as s:
            latest = s.scalars(
                select(Notice)
                .where(Notice.incident_id == incident_id, Notice.kind == NoticeKind.UPDATE)
                .order_by(Notice.id.desc())
                .limit(1)
            ).first()
            return latest.eta if latest else ""

    def summary(self, incident: Incident, target: Rendering) -> templates.Notice:
        """The executive summary, on demand: current state, impact, actions, time remaining."""
        next_update = incident.next_update_due_at or self.now() + (
            self.settings.update_interval_for(incident.priority)
        )
        details = templates.Details(
            next_update_at=next_update,
            doing=self.last_doing(incident.id),
            eta=self.last_eta(incident.id) or None,
        )
        return templates.render(NoticeKind.SUMMARY, incident, self.settings.org, target, details)

    def current_draft(self, incident_id: int, kind: NoticeKind) -> Notice | None:
        """The draft of `kind` that Send would publish now (older ones are superseded)."""
        with self.db.session() as s:
            return s.scalars(
                select(Notice)
                .where(
                    Notice.incident_id == incident_id,
                    Notice.kind == kind,
                    Notice.status == NoticeStatus.DRAFT,
                )
                .order_by(Notice.id.desc())
                .limit(1)
            ).first()

    def record_draft_ts(self, notice_id: int, ts: str) -> None:
        with self.db.session() as s:
            s.get_one(Notice, notice_id).draft_ts = ts

    @answers_refusals
    def request(
        self,
        incident_id: int,
        user: str,
        kind: NoticeKind,
        *,
        doing: str | None = None,
        state: str | None = None,
        eta: str = "",
    ) -> Outcome:
        """A manager asks for a fresh draft (an update with what they are doing, say)."""
        with self.db.session() as s:
            incident = s.get(Incident, incident_id, with_for_update=True)
            if incident is None:
                raise Refused(Refusal.NOT_FOUND)
            self._check(s, incident, user, f"draft_{kind}")
            now = self.now()
            if state and state != incident.stakeholder_state:
                change = StateChanged(before=incident.stakeholder_state, after=state)
                incident.stakeholder_state = state
                # The update draft that follows says it in the thread.
                record_event(s, incident, user, change, now)
            draft(s, incident, kind, self.settings, now, actor=user, doing=doing, eta=eta)
            return Outcome(True, incident)

    @answers_refusals
    def edit(
        self, notice_id: int, user: str, subject: str, body: str, escape: Callable[[str], str]
    ) -> Outcome:
        """Replace the text (a draft, or a notice already sent: then the published message is
        edited in place, not posted again). Every edit is kept."""
        subject, body = " ".join(subject.split()), body.strip()
        if not subject or not body:
            raise invalid("A notice needs a subject and a body.")
        with self.db.session() as s:
            notice, incident = self._locked(s, notice_id)
            self._check(s, incident, user, "edit_notice", allow_closed=True)
            if notice.status == NoticeStatus.SUPERSEDED:
                raise Refused(Refusal.SUPERSEDED, incident)
            if notice.status == NoticeStatus.PUBLISHING:
                raise invalid("It is being published right now: edit it in a moment.", incident)
            now = self.now()
            notice.edits = [
                *notice.edits,
                {
                    "at": to_iso(now),
                    "by": user,
                    "subject": notice.subject,
                    "body": notice.body_plain,
                },
            ]
            notice.subject, notice.body_plain = escape(subject), body
            notice.body_mrkdwn = escape(body)
            notice.rendered = True
            sent = notice.status == NoticeStatus.SENT
            edited = NoticeEdited(notice=notice.id, notice_kind=notice.kind, sent=sent)
            record_event(s, incident, user, edited, now, card=False)
            self._refresh_draft(s, notice, now)
            if sent:
                key = f"republish:{len(notice.edits)}"
                _queue(s, notice, key, OutboxKind.NOTICE_REPUBLISH, Target.STAKEHOLDERS, now)
            return Outcome(True, incident)

    @answers_refusals
    def send(
        self,
        notice_id: int,
        user: str,
        channel: str,
        *,
        confirmed: bool = False,
        target: Rendering | None = None,
    ) -> Outcome:
        """Publish the draft to `channel`. For a suspected breach the broad stakeholder
        channel needs `confirmed` (docs/domain.md: broad comms are held back)."""
        with self.db.session() as s:
            notice, incident = self._locked(s, notice_id)
            self._check(
                s,
                incident,
                user,
                "send_notice",
                allow_closed=notice.kind == NoticeKind.RESOLUTION,
            )
            if notice.status == NoticeStatus.SUPERSEDED:
                raise Refused(Refusal.SUPERSEDED, incident)
            if notice.status in (NoticeStatus.PUBLISHING, NoticeStatus.SENT):
                raise AlreadyDone(incident)  # a double click: sent once already
            if (
                security_suspected(incident)
                and channel == self.settings.stakeholder_channel
                and not confirmed
            ):
                raise Refused(Refusal.NEEDS_CONFIRMATION, incident)
            now = self.now()
            interval = self.settings.update_interval_for(incident.priority)
            if notice.next_update_at and notice.next_update_at - now < min(FRESH_FOR, interval / 4):
                if notice.edits:
                    raise Refused(Refusal.STALE, incident)
                notice.next_update_at = now + interval
                if target is not None:
                    self._render_into(notice, incident, target)
            # Counted as sent once Slack has it (`published`): a refused notice never was.
            notice.status, notice.sent_by, notice.channel = NoticeStatus.PUBLISHING, user, channel
            key = f"publish:{now.timestamp()}"  # pressed again after a refusal: a new message
            _queue(s, notice, key, OutboxKind.NOTICE_PUBLISH, Target.STAKEHOLDERS, now)
            self._refresh_draft(s, notice, now)
            return Outcome(True, incident)

    def published(self, notice_id: int, ts: str) -> None:
        """Slack has the notice: now it is sent, with all that follows (objectives, the next
        update's deadline, the thread line)."""
        with self.db.session() as s:
            notice, incident = self._locked(s, notice_id)
            if notice.status == NoticeStatus.SENT:  # found again after a crash: once is enough
                return
            now = self.now()
            notice.status, notice.sent_at, notice.sent_ts = NoticeStatus.SENT, now, ts
            notice.publish_error = ""
            self._went_out(s, incident, notice, notice.sent_by or "baton", now)
            self._refresh_draft(s, notice, now)
            # E-mailed once Slack has it, not when Send is pressed: a notice Slack refuses is
            # not sent (a draft again, Send works again), so no stakeholder may have it yet.
            broad = notice.channel == self.settings.stakeholder_channel
            mail.queue(s, incident, notice, self.settings, now, broad=broad)

    # Helpers ------------------------------------------------------------------------------

    @staticmethod
    def _locked(s: Session, notice_id: int) -> tuple[Notice, Incident]:
        """The notice and its incident, the incident locked for the unit of work (the same
        order as every other change to an incident: two clicks on Send cannot both send)."""
        notice = s.get(Notice, notice_id)
        if notice is None:
            raise Refused(Refusal.NOT_FOUND)
        incident = s.get_one(Incident, notice.incident_id, with_for_update=True)
        s.refresh(notice)  # as it is now that we hold the lock
        return notice, incident

    def _check(
        self,
        s: Session,
        incident: Incident,
        user: str,
        action: str,
        allow_closed: bool = False,
    ) -> None:
        """The owner acts on notices; before anyone owns it, those allowed to accept may
        (the front end checks who may accept before calling)."""
        if incident.owner_id is not None and incident.owner_id != user:
            record_denial(s, incident, user, action, self.now())
            raise Refused(Refusal.NOT_OWNER, incident)
        if incident.status not in ACTIVE and not allow_closed:
            raise Refused(Refusal.NOT_ACTIVE, incident)

    def _refresh_draft(self, s: Session, notice: Notice, now: datetime) -> None:
        _queue(s, notice, f"refresh:{now.timestamp()}", OutboxKind.NOTICE, Target.THREAD, now)

    def _went_out(
        self, s: Session, incident: Incident, notice: Notice, user: str, now: datetime
    ) -> None:
        """The clock's side: objectives met, the update deadline set from what was promised."""
        notice_id, channel = notice.id, notice.channel or ""
        after_s = since_t0(incident, now)
        next_at = to_iso(notice.next_update_at) if notice.next_update_at else None
        detail: NoticeSent
        if notice.kind == NoticeKind.RESOLUTION:
            detail = ResolutionSent(notice=notice_id, channel=channel, after_s=after_s)
        elif incident.initial_comms_at is None:
            incident.initial_comms_at = now
            cancel(s, incident.id, (DeadlineKind.INITIAL_NOTICE_NUDGE,))
            _tell_agent(s, incident, notice, now)
            detail = InitialCommsSent(
                notice=notice_id,
                channel=channel,
                after_s=after_s,
                next_update_at=next_at,
                late_by_s=late_by(incident, now),
            )
        else:
            was_due = incident.next_update_due_at
            detail = UpdateSent(
                notice=notice_id,
                channel=channel,
                after_s=after_s,
                next_update_at=next_at,
                was_due_at=to_iso(was_due) if was_due else None,
                on_time=was_due is None or now <= was_due,
            )
            incident.last_update_at = now
        if notice.next_update_at:
            plan_update_cycle(s, incident, self.settings, due=notice.next_update_at)
        record_event(s, incident, user, detail, now)
