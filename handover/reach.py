"""Whether what Baton says reaches people (docs/architecture.md, "When Slack refuses").

A message Slack refuses for good is an event, not a log line: it lands on the incident's
timeline and is said to someone who can act. The card refused: the agent is told at once that
the managers do NOT have it, and `escalate_to` gets the essentials; what waits for the card is
held. A notice refused: it is not counted as sent, and whoever pressed Send is told. Anything
else: recorded and counted. `baton outbox retry` sends it all again once the cause is fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from handover.clock.timeline import (
    CardLate,
    CardUndelivered,
    MessageUndelivered,
    WebhookRefused,
    record_event,
    tell,
)
from handover.comms import mail, notices
from handover.intents import (
    CardUndeliveredAlert,
    CardUndeliveredDm,
    ChannelRefusedLine,
    WebhookRefusedLine,
)
from handover.models import Incident, Outbox
from handover.ownership import paging
from handover.settings import Settings
from handover.store import outbox
from handover.store.db import Database
from handover.times import utcnow
from handover.vocabulary import OutboxKind, OutboxStatus, Target
from handover.webhooks import Delivery


@dataclass(frozen=True)
class Retried:
    requeued: list[int]
    # Rows whose remedy is in Slack, not here: a refused notice is sent again with its Send.
    # Or not needed: a row left mid-send is tried again by itself.
    left: dict[int, str]
    # Rows that would say what is no longer true: never sent (outbox.drop).
    dropped: list[int] = field(default_factory=list)


# What says the card did not reach the managers: true only while the card stays refused.
CARD_MISSING = (OutboxKind.CARD_UNDELIVERED_DM, OutboxKind.CARD_UNDELIVERED_ALERT)


class Reach:
    def __init__(self, db: Database, settings: Settings, now: Callable[[], datetime] = utcnow):
        self.db = db
        self.settings = settings
        self.now = now

    def give_up_after(self, what: str) -> timedelta:
        """How long a message may keep failing (retryably) before someone must be told."""
        org = self.settings.org
        return org.card_retry_for if what == OutboxKind.CARD_POST else org.retry_for

    def late_by(self, incident_id: int) -> int | None:
        """Seconds since the handover, for a card Slack refused before; None for one on time."""
        with self.db.session() as s:
            if not outbox.card_refused(s, incident_id, since=True):
                return None
            incident = s.get_one(Incident, incident_id)
            return int((self.now() - incident.handed_over_at).total_seconds())

    def card_posted(self, incident_id: int, ts: str, late_by: int | None) -> None:
        """The card is in the managers' channel (late by `late_by` seconds, after a refusal)."""
        with self.db.session() as s:
            incident = s.get_one(Incident, incident_id)
            incident.card_ts, incident.card_late_by_s = ts, late_by
            if late_by is not None:
                detail = CardLate(late_by_s=late_by)
                record_event(s, incident, "baton", detail, self.now(), card=False)

    def give_up(self, row_id: int, error: str, *, claimed: int | None = None) -> bool:
        """The row will not be delivered: mark it failed and tell who must know. False, and
        nobody told, when the sender lost its claim (`outbox.claim`) to another, which will
        tell if it must."""
        with self.db.session() as s:
            row = s.get_one(Outbox, row_id)
            if not outbox.failed(s, row.id, error, claimed=claimed):
                return False
            incident = s.get(Incident, row.incident_id) if row.incident_id else None
            if incident is None:
                return True
            now = self.now()
            if row.what == OutboxKind.CARD_POST:
                self._card_refused(s, incident, error, now)
            elif row.what == OutboxKind.NOTICE_PUBLISH:
                notices.publish_refused(s, row.params["notice_id"], error, now)
            elif row.what == OutboxKind.PAGE:
                paging.refused(s, incident, row, error, now)
            elif row.what == OutboxKind.WEBHOOK:
                _webhook_refused(s, incident, row, error, now)
            elif row.what == OutboxKind.NOTICE_EMAIL:
                mail.refused(s, incident, row, error, now)
            else:
                detail = MessageUndelivered(what=row.what, target=row.target, error=error)
                record_event(s, incident, "baton", detail, now, card=False)
            if row.target == Target.INCIDENT_CHANNEL:
                if row.what == OutboxKind.CHANNEL_CREATE:
                    outbox.hold_for_channel(s, incident.id)
                refused = ChannelRefusedLine(
                    user=incident.owner_id or "", step=row.what, error=error
                )
                _say_refused(s, incident, row, refused, now)
            return True

    def not_invited(self, row_id: int, refused: dict[str, str]) -> None:
        """Slack would not put these people (user or user group → error) in the incident
        channel; the others are in. On the timeline, and said to the owner in the thread."""
        with self.db.session() as s:
            row = s.get_one(Outbox, row_id)
            incident = s.get(Incident, row.incident_id) if row.incident_id else None
            if incident is None:
                return
            now = self.now()
            for who, error in refused.items():
                detail = MessageUndelivered(
                    what=row.what, target=row.target, error=f"{error} ({who})"
                )
                record_event(s, incident, "baton", detail, now, card=False)
            line = ChannelRefusedLine(user=incident.owner_id or "", step=row.what, refused=refused)
            _say_refused(s, incident, row, line, now)

    def undelivered_to(self, row_id: int, refused: dict[str, str]) -> None:
        """A message to a user group reached some members, and Slack refused it for good to
        these (user → error): each is on the timeline, as a message given up would be."""
        with self.db.session() as s:
            row = s.get_one(Outbox, row_id)
            incident = s.get(Incident, row.incident_id) if row.incident_id else None
            if incident is None:
                return
            for user, error in refused.items():
                detail = MessageUndelivered(
                    what=row.what, target=row.target, error=f"{error} ({user})"
                )
                record_event(s, incident, "baton", detail, self.now(), card=False)

    def hold(self, row_id: int, incident_id: int, *, claimed: int | None = None) -> bool:
        """Park the (claimed) row if it waits for a card (or an incident channel) Slack
        refused; False when it may still come (it is on its way)."""
        with self.db.session() as s:
            if s.get_one(Outbox, row_id).target == Target.INCIDENT_CHANNEL:
                if not outbox.channel_refused(s, incident_id):
                    return False
                outbox.hold_for_channel(s, incident_id, row_id, claimed=claimed)
                return True
            if not outbox.card_refused(s, incident_id):
                return False
            outbox.hold_for_card(s, incident_id, row_id, claimed=claimed)
            return True

    def _card_refused(self, s: Session, incident: Incident, error: str, now: datetime) -> None:
        channel = incident.mim_channel
        record_event(
            s, incident, "baton", CardUndelivered(channel=channel, error=error), now, card=False
        )
        outbox.hold_for_card(s, incident.id)
        escalate_to = self.settings.org.escalate_to
        stamp = now.timestamp()  # refused again after a retry: they are told again
        told = CardUndeliveredDm(
            user=incident.reporter_id, channel=channel, error=error, escalated_to=escalate_to
        )
        _tell(s, incident, f"dm:{incident.id}:card_undelivered:{stamp}", told, now)
        if escalate_to:
            alert = CardUndeliveredAlert(user=escalate_to, channel=channel, error=error)
            _tell(s, incident, f"dm:{incident.id}:card_alert:{stamp}", alert, now)

    # `baton outbox` ---------------------------------------------------------------------

    def troubled(self) -> list[tuple[Outbox, Incident | None]]:
        with self.db.session() as s:
            rows = outbox.troubled(s, self.now())
            return [
                (row, s.get(Incident, row.incident_id) if row.incident_id else None) for row in rows
            ]

    def retry(self, row_ids: list[int] | None) -> Retried:
        """Queue the rows again (None: every troubled row). A card's retry releases what was
        held for it."""
        with self.db.session() as s:
            now = self.now()
            rows = outbox.troubled(s, now)
            if row_ids is not None:
                wanted = set(row_ids)
                rows = [row for row in rows if row.id in wanted]
            cards = {row.incident_id for row in rows if row.what == OutboxKind.CARD_POST}
            # Making an incident channel again releases what waited for it.
            channels = {row.incident_id for row in rows if row.what == OutboxKind.CHANNEL_CREATE}
            left: dict[int, str] = {}
            dropped: list[int] = []
            for row in rows:
                if row.what == OutboxKind.NOTICE_PUBLISH and row.status == OutboxStatus.FAILED:
                    left[row.id] = "a refused stakeholder notice: press Send on its draft again"
                elif row.what == OutboxKind.NOTICE_EMAIL and row.params.get("handing_over"):
                    left[row.id] = "an e-mail that may have gone out: never sent twice"
                elif row.status == OutboxStatus.SENDING:
                    left[row.id] = "left mid-send by a stopped process: it is tried again anyway"
                elif _out_of_date(s, row, cards):
                    dropped.append(row.id)
            ids = [row.id for row in rows if row.id not in left and row.id not in dropped]
            requeued = set(outbox.requeue(s, ids, now))
            if cards:
                held = s.scalars(
                    update(Outbox)
                    .where(Outbox.incident_id.in_(cards), Outbox.status == OutboxStatus.HELD)
                    .values(status=OutboxStatus.PENDING, next_attempt_at=now)
                    .returning(Outbox.id)
                )
                requeued.update(held)
            if channels:
                waited = s.scalars(
                    update(Outbox)
                    .where(
                        Outbox.incident_id.in_(channels),
                        Outbox.target == Target.INCIDENT_CHANNEL,
                        Outbox.status == OutboxStatus.HELD,
                    )
                    .values(status=OutboxStatus.PENDING, next_attempt_at=now)
                    .returning(Outbox.id)
                )
                requeued.update(waited)
            outbox.drop(s, dropped, "obsolete: the card was posted or retried since")
            s.info["outbox"] = True  # wake the sender of this process, if it is one
            return Retried(sorted(requeued), left, sorted(dropped))


def _out_of_date(s: Session, row: Outbox, cards: set[int | None]) -> bool:
    """Does the row say the managers have NOT received the card, when it was posted since, is
    on its way, or is retried now (refused again, they are told again)?"""
    if row.what not in CARD_MISSING or row.incident_id is None:
        return False
    return row.incident_id in cards or not outbox.card_refused(s, row.incident_id)


def _webhook_refused(
    s: Session, incident: Incident, row: Outbox, error: str, now: datetime
) -> None:
    """Each event a webhook did not get is on the timeline; the thread hears it once per
    webhook and incident (its key), as a receiver that is down refuses every event and the
    thread is the managers' working space, not a log."""
    delivery = Delivery.from_json(row.params)
    detail = WebhookRefused(url=delivery.url, event=delivery.type, error=error)
    record_event(s, incident, "baton", detail, now, card=False)
    line = WebhookRefusedLine(
        user=incident.owner_id or "", url=delivery.url, event=delivery.type, error=error
    )
    outbox.enqueue(
        s,
        f"webhook:{delivery.webhook}:{incident.id}:refused",
        OutboxKind.WEBHOOK_REFUSED_LINE,
        Target.THREAD,
        incident_id=incident.id,
        params=line.to_json(),
        now=now,
    )


def _say_refused(
    s: Session, incident: Incident, row: Outbox, line: ChannelRefusedLine, now: datetime
) -> None:
    """A failure is an event a person hears about: the owner, in the card's thread."""
    outbox.enqueue(
        s,
        f"ichan:{incident.id}:refused:{row.id}:{now.timestamp()}",
        OutboxKind.CHANNEL_REFUSED_LINE,
        Target.THREAD,
        incident_id=incident.id,
        params=line.to_json(),
        now=now,
    )


def _tell(
    s: Session,
    incident: Incident,
    key: str,
    dm: CardUndeliveredDm | CardUndeliveredAlert,
    now: datetime,
) -> None:
    what = (
        OutboxKind.CARD_UNDELIVERED_DM
        if isinstance(dm, CardUndeliveredDm)
        else OutboxKind.CARD_UNDELIVERED_ALERT
    )
    tell(s, incident, key, what, dm, now)
