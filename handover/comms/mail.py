"""Notices by e-mail (README, "E-mail"): the same message as in Slack, to the configured lists.

Here is who gets which notice, the Message-ID each e-mail carries and which earlier ones it
answers (so an incident's notices thread in a mail client), and what the mail server's answers
mean for the incident: a refusal is said to the owner in the card's thread, like a refused page.
Building and sending the e-mail is the bot's (bot/mail/).

Never twice: the Message-ID is made when the row is queued, and the sender records that it is
about to hand over the text (`Email.handing_over`) before SMTP's DATA, then "sent" right
after the server's 250. A later attempt that finds the first mark without the second does not
send again: it says the e-mail may or may not have gone out (`uncertain`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from handover.clock.timeline import EmailRefused, EmailUncertain, NoticeEmailed, record_event
from handover.models import Event, Incident, Notice, Outbox
from handover.payload import Payload
from handover.settings import Settings
from handover.store import outbox
from handover.store.db import Database, changed
from handover.times import utcnow
from handover.vocabulary import EventKind, OutboxKind, OutboxStatus, Target


@dataclass(frozen=True, kw_only=True)
class Email(Payload):
    """An outbox row's params: one notice's e-mail."""

    notice_id: int
    message_id: str  # <…@domain>, made when queued: the same on every attempt
    references: list[str] = field(default_factory=list)  # the incident's earlier e-mails
    to: list[str] = field(default_factory=list)
    # Set (fenced on the claim) just before the text is handed to the server: an attempt that
    # finds it set and the row not sent cannot know whether the server took the e-mail.
    handing_over: bool = False


def recipients(incident: Incident, settings: Settings, *, broad: bool) -> list[str]:
    """Who gets a notice: everyone's list and its priority's, when it goes `broad` (no breach
    suspected, or the owner confirmed the send to all); otherwise the restricted list only,
    as the restricted channel. A broad send during a breach reaches the restricted list too.
    Each address once."""
    org = settings.org
    everyone = [*org.stakeholder_emails, *org.priority_emails.get(incident.priority, [])]
    addresses = list(org.restricted_emails) if incident_breach(incident) else []
    if broad:
        addresses += everyone
    seen: dict[str, str] = {}
    for address in addresses:
        seen.setdefault(address.lower(), address)  # the same mailbox, however it is written
    return list(seen.values())


def incident_breach(incident: Incident) -> bool:
    """A breach is suspected (handover/comms/notices.py: security_suspected, not imported:
    notices imports this module)."""
    return (incident.answers.get("security") or {}).get("answer") == "yes"


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "baton.invalid"


def message_id(incident: Incident, notice: Notice, mail_from: str) -> str:
    """Unique (a random part: two databases restored or reset never collide), and short
    enough that the header is never folded (some clients match folded ids badly)."""
    return f"<{incident.reference}.{notice.id}.{secrets.token_hex(6)}@{_domain(mail_from)}>"


def _earlier(s: Session, incident_id: int) -> list[str]:
    """The Message-IDs of the incident's e-mails queued so far, oldest first."""
    rows = s.scalars(
        select(Outbox)
        .where(Outbox.incident_id == incident_id, Outbox.what == OutboxKind.NOTICE_EMAIL)
        .order_by(Outbox.id)
    )
    return [Email.from_json(row.params).message_id for row in rows]


def queue(
    s: Session,
    incident: Incident,
    notice: Notice,
    settings: Settings,
    now: datetime,
    *,
    broad: bool,
) -> None:
    """E-mail the notice that has just gone out (once per notice; nothing without SMTP or
    without anyone to tell). `broad`: it went to the stakeholders' channel."""
    if settings.smtp is None:
        return
    to = recipients(incident, settings, broad=broad)
    if not to:
        return
    email = Email(
        notice_id=notice.id,
        message_id=message_id(incident, notice, settings.mail_from),
        references=_earlier(s, incident.id),
        to=to,
    )
    outbox.enqueue(
        s,
        f"notice:{notice.id}:email",
        OutboxKind.NOTICE_EMAIL,
        Target.MAIL,
        incident_id=incident.id,
        params=email.to_json(),
        now=now,
    )


def refused(s: Session, incident: Incident, row: Outbox, error: str, now: datetime) -> None:
    """Given up (Reach.give_up): refused for good, or failing for too long. The owner hears
    it; as "may or may not have gone out" when the last attempt had handed the text over."""
    email = Email.from_json(row.params)
    notice = s.get_one(Notice, email.notice_id)
    detail: EmailRefused | EmailUncertain = EmailRefused(
        notice=notice.id, notice_kind=notice.kind, error=error, owner=incident.owner_id
    )
    if email.handing_over:
        detail = EmailUncertain(
            notice=notice.id, notice_kind=notice.kind, to=email.to, owner=incident.owner_id
        )
    record_event(s, incident, "baton", detail, now, card=False)


def _claimed(row_id: int, claimed: int) -> ColumnElement[bool]:
    """The row as this sender claimed it (outbox.claim): a mark by a sender that lost the row
    changes nothing."""
    return (
        (Outbox.id == row_id)
        & (Outbox.status == OutboxStatus.SENDING)
        & (Outbox.attempts == claimed)
    )


class Mailing:
    """What the mail server said, recorded on the incident (once each)."""

    def __init__(self, db: Database, settings: Settings, now: Callable[[], datetime] = utcnow):
        self.db = db
        self.settings = settings
        self.now = now

    def email(self, row_id: int) -> tuple[Email, Notice]:
        with self.db.session() as s:
            email = Email.from_json(s.get_one(Outbox, row_id).params)
            return email, s.get_one(Notice, email.notice_id)

    def handing_over(self, row: Outbox, claimed: int) -> bool:
        """Record, before DATA, that the text is about to go; False when the claim was lost
        (another sender has the row: this one must not send)."""
        params = {**row.params, "handing_over": True}
        with self.db.session() as s:
            # A fresh lease too: the session so far may have taken a while.
            lease = self.now() + outbox.LEASE
            marked = update(Outbox).where(_claimed(row.id, claimed))
            return changed(s, marked.values(params=params, lease_until=lease)) == 1

    def not_handed_over(self, row: Outbox, claimed: int) -> None:
        """The server answered DATA with a refusal: it does not have the e-mail, so a retry may
        send it (the mark is cleared)."""
        params = {**row.params, "handing_over": False}
        with self.db.session() as s:
            s.execute(update(Outbox).where(_claimed(row.id, claimed)).values(params=params))

    def delivered(
        self, row_id: int, claimed: int, accepted: list[str], refused: dict[str, str]
    ) -> None:
        """The server took the e-mail for `accepted` (the row is sent, in the same unit of
        work as the event: nothing between them can make it look unsent); `refused` (address →
        its answer) will not get it, and the owner is told."""
        with self.db.session() as s:
            row = s.get_one(Outbox, row_id)
            email = Email.from_json(row.params)
            incident = s.get_one(Incident, row.incident_id, with_for_update=True)
            now = self.now()
            outbox.sent(s, row_id, None, now, claimed=claimed)
            if self._said(s, incident.id, EventKind.NOTICE_EMAILED, email.notice_id):
                return
            notice = s.get_one(Notice, email.notice_id)
            sent = NoticeEmailed(notice=notice.id, notice_kind=notice.kind, to=accepted)
            record_event(s, incident, "baton", sent, now, card=False)
            if refused:
                detail = EmailRefused(
                    notice=notice.id,
                    notice_kind=notice.kind,
                    refused=refused,
                    owner=incident.owner_id,
                )
                record_event(s, incident, "baton", detail, now, card=False)

    def uncertain(self, row: Outbox, claimed: int) -> bool:
        """An earlier attempt handed the text over and never heard back (it died): not sent
        again, the row is settled (failed, with why) and the owner told that it may or may not
        have gone out. False when the claim was lost."""
        email = Email.from_json(row.params)
        with self.db.session() as s:
            why = "may or may not have been sent: an attempt stopped after handing it over"
            if not outbox.failed(s, row.id, why, claimed=claimed):
                return False
            incident = s.get_one(Incident, row.incident_id, with_for_update=True)
            notice = s.get_one(Notice, email.notice_id)
            detail = EmailUncertain(
                notice=notice.id, notice_kind=notice.kind, to=email.to, owner=incident.owner_id
            )
            record_event(s, incident, "baton", detail, self.now(), card=False)
            return True

    @staticmethod
    def _said(s: Session, incident_id: int, kind: EventKind, notice_id: int) -> bool:
        events = s.scalars(
            select(Event.detail).where(Event.incident_id == incident_id, Event.kind == kind)
        )
        return any(detail.get("notice") == notice_id for detail in events)
