"""The outbox: what Baton has to say, stored with the change that caused it.

A front end (bot/slack/delivery.py for Slack) delivers the rows: claimed atomically, so
replicas never send one row twice; retried with back-off when Slack fails, so nothing is lost.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from handover.models import Event, Notice, Outbox
from handover.store.db import changed
from handover.vocabulary import EventKind, NoticeStatus, OutboxKind, OutboxStatus, Target

log = logging.getLogger(__name__)

# Longer than one send can take (the Web API client times out after 10 s): a row still
# "sending" after this was left by a sender that died, and is tried again. A sender that
# needs longer (a user group's members, one by one) renews it as it goes.
LEASE = timedelta(seconds=20)
MAX_BACKOFF = timedelta(minutes=5)


def enqueue(
    s: Session,
    key: str,
    what: str,
    target: Target,
    *,
    incident_id: int | None = None,
    params: dict[str, Any] | None = None,
    now: datetime,
) -> None:
    """Queue one message; a second intent with the same key is the same message. `what` is an
    OutboxKind, or the EventKind of an event said in the thread (handover/intents.py)."""
    if s.scalar(select(Outbox.id).where(Outbox.key == key)) is not None:
        return
    s.add(
        Outbox(
            key=key,
            what=what,
            target=target,
            incident_id=incident_id,
            params=params or {},
            next_attempt_at=now,
            created_at=now,
        )
    )
    s.info["outbox"] = True


def due(s: Session, now: datetime, limit: int = 50) -> list[Outbox]:
    """Rows ready to send, oldest first: pending ones, and ones whose sender died mid-send.
    A webhook's delivery waits for the earlier ones of its incident to the same webhook."""
    return list(
        s.scalars(
            select(Outbox)
            .where(
                or_(
                    (Outbox.status == OutboxStatus.PENDING) & (Outbox.next_attempt_at <= now),
                    (Outbox.status == OutboxStatus.SENDING) & (Outbox.lease_until < now),
                ),
                ~_webhook_waits(),
            )
            .order_by(Outbox.id)
            .limit(limit)
        )
    )


def _webhook_waits() -> ColumnElement[bool]:
    """Is the row a webhook delivery with an earlier one for the same incident and webhook
    still to go (pending, or being sent)? Receivers get an incident's events in order: a
    retried event holds back the next; one given up (failed) lets the next go. Decided here,
    in the query, so that a waiting row costs nothing and never takes a place in `limit`."""
    earlier = aliased(Outbox)
    return (Outbox.target == Target.WEBHOOK) & exists().where(
        earlier.target == Target.WEBHOOK,
        earlier.incident_id == Outbox.incident_id,
        earlier.id < Outbox.id,
        earlier.params["webhook"].as_string() == Outbox.params["webhook"].as_string(),
        earlier.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
    )


def claim(s: Session, row: Outbox, now: datetime) -> bool:
    """Take the row for sending; False when another sender (replica) has it. The claim is the
    row's attempts after it (`row.attempts + 1`): the sender's marks are fenced on it."""
    claimed = (
        update(Outbox)
        .where(Outbox.id == row.id, Outbox.status == row.status, Outbox.attempts == row.attempts)
        .values(status=OutboxStatus.SENDING, lease_until=now + LEASE, attempts=row.attempts + 1)
    )
    return changed(s, claimed) == 1


def _still_claimed(row_id: int, claimed: int | None) -> ColumnElement[bool]:
    """The row as its sender left it: still "sending" and, given the claim, not claimed again
    since by a sender that found the lease run out (without it: by anyone)."""
    fence = (Outbox.id == row_id) & (Outbox.status == OutboxStatus.SENDING)
    return fence if claimed is None else fence & (Outbox.attempts == claimed)


def _mark(s: Session, row_id: int, claimed: int | None, mark: str, **values: Any) -> bool:
    """Mark the claimed row; a sender that lost its claim changes nothing (the other sender
    tells, gives up or retries), which is worth a line in the log."""
    if changed(s, update(Outbox).where(_still_claimed(row_id, claimed)).values(**values)) == 1:
        return True
    log.warning("outbox row %s not marked %s: its claim %s was lost", row_id, mark, claimed)
    return False


def renew(s: Session, row_id: int, claimed: int, now: datetime) -> bool:
    """Extend a long send's lease; False when another sender has claimed the row since."""
    return _mark(s, row_id, claimed, "renewed", lease_until=now + LEASE)


def sent(
    s: Session, row_id: int, ts: str | None, now: datetime, *, claimed: int | None = None
) -> bool:
    return _mark(
        s,
        row_id,
        claimed,
        OutboxStatus.SENT,
        status=OutboxStatus.SENT,
        result_ts=ts,
        sent_at=now,
        error="",
        failing_since=None,
    )


def retry(
    s: Session,
    row_id: int,
    attempts: int,
    error: str,
    now: datetime,
    after: timedelta | None = None,
) -> bool:
    """Back off (1 s, 2 s, 4 s … 5 min), or exactly `after` when Slack said Retry-After.
    `attempts` counts the claim's try: it is the claim."""
    wait = after if after is not None else min(MAX_BACKOFF, timedelta(seconds=2 ** (attempts - 1)))
    return _mark(
        s,
        row_id,
        attempts,
        "for a retry",
        status=OutboxStatus.PENDING,
        next_attempt_at=now + wait,
        error=error[:500],
        failing_since=func.coalesce(Outbox.failing_since, now),
    )


def defer(
    s: Session, row_id: int, now: datetime, wait: timedelta, *, claimed: int | None = None
) -> bool:
    """Not yet sendable (its card is not posted yet): try again soon without counting a try."""
    return _mark(
        s,
        row_id,
        claimed,
        "deferred",
        status=OutboxStatus.PENDING,
        next_attempt_at=now + wait,
        attempts=Outbox.attempts - 1,
    )


def failed(s: Session, row_id: int, error: str, *, claimed: int | None = None) -> bool:
    return _mark(
        s, row_id, claimed, OutboxStatus.FAILED, status=OutboxStatus.FAILED, error=error[:500]
    )


# Rows about the card (its updates, its thread) wait for it to be posted.
NEEDS_CARD = (Target.CARD, Target.THREAD)


def card_refused(s: Session, incident_id: int, *, since: bool = False) -> bool:
    """Has Slack refused the incident's card for good (so far; with `since`, at any time,
    even if it was posted after a retry)?"""
    query = select(Event.id).where(
        Event.incident_id == incident_id, Event.kind == EventKind.CARD_UNDELIVERED
    )
    if not since:
        query = select(Outbox.id).where(
            Outbox.incident_id == incident_id,
            Outbox.what == OutboxKind.CARD_POST,
            Outbox.status == OutboxStatus.FAILED,
        )
    return s.scalar(query.limit(1)) is not None


def hold_for_card(
    s: Session, incident_id: int, row_id: int | None = None, *, claimed: int | None = None
) -> int:
    """Park what waits for a refused card (its updates, its thread, the agent's confirmation):
    retrying those every second would change nothing. `row_id`: the row a sender claimed and
    found waiting for the card, parked with them (left "sending", it would be leased again
    and again)."""
    waiting = (Outbox.target.in_(NEEDS_CARD)) | (Outbox.what == OutboxKind.HANDED_OVER_DM)
    return _hold(s, incident_id, waiting, row_id, claimed)


def channel_refused(s: Session, incident_id: int) -> bool:
    """Has Slack refused for good to make the incident's channel (so far)?"""
    query = select(Outbox.id).where(
        Outbox.incident_id == incident_id,
        Outbox.what == OutboxKind.CHANNEL_CREATE,
        Outbox.status == OutboxStatus.FAILED,
    )
    return s.scalar(query.limit(1)) is not None


def hold_for_channel(
    s: Session, incident_id: int, row_id: int | None = None, *, claimed: int | None = None
) -> int:
    """Park what waits for an incident channel Slack refused to make (`hold_for_card`'s
    twin): released when the channel's creation is retried (`baton outbox retry`)."""
    waiting = (Outbox.target == Target.INCIDENT_CHANNEL) & (
        Outbox.what != OutboxKind.CHANNEL_CREATE
    )
    return _hold(s, incident_id, waiting, row_id, claimed)


def _hold(
    s: Session,
    incident_id: int,
    waiting: ColumnElement[bool],
    row_id: int | None,
    claimed: int | None,
) -> int:
    """Park the incident's pending rows that match `waiting`, and the claimed row with them."""
    parked = (Outbox.status == OutboxStatus.PENDING) & waiting
    if row_id is not None:
        parked = parked | _still_claimed(row_id, claimed)
    return changed(
        s,
        update(Outbox)
        .where(Outbox.incident_id == incident_id, parked)
        .values(status=OutboxStatus.HELD),
    )


def earlier_unsent(s: Session, row: Outbox) -> bool:
    """Is a row queued before `row` for the same incident channel still to go (archiving
    waits for the last words said there)?"""
    query = select(Outbox.id).where(
        Outbox.incident_id == row.incident_id,
        Outbox.target == Target.INCIDENT_CHANNEL,
        Outbox.id < row.id,
        Outbox.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
    )
    return s.scalar(query.limit(1)) is not None


TROUBLED = (OutboxStatus.FAILED, OutboxStatus.HELD)


def troubled(s: Session, now: datetime) -> list[Outbox]:
    """Rows someone should look at: given up, held for a refused card, still failing, or left
    "sending" by a sender that died. Oldest first."""
    rows = s.scalars(
        select(Outbox)
        .where(
            or_(
                Outbox.status.in_(TROUBLED),
                (Outbox.status == OutboxStatus.PENDING) & Outbox.failing_since.is_not(None),
                (Outbox.status == OutboxStatus.SENDING) & (Outbox.lease_until < now),
            )
        )
        .order_by(Outbox.id)
    )
    return [row for row in rows if not _notice_settled(s, row)]


def _notice_settled(s: Session, row: Outbox) -> bool:
    """A refused publication whose notice went out since (Send pressed again: a new row) or
    was replaced by a newer draft: nothing is left to do about it."""
    if row.what != OutboxKind.NOTICE_PUBLISH or row.status != OutboxStatus.FAILED:
        return False
    notice = s.get(Notice, row.params["notice_id"])
    return notice is None or notice.status in (NoticeStatus.SENT, NoticeStatus.SUPERSEDED)


def requeue(s: Session, row_ids: list[int], now: datetime) -> list[int]:
    """Try these rows again now, from a clean slate of failures (not of attempts: an earlier
    attempt may have reached Slack, and the sender looks for it before posting again).
    Returns the rows re-queued."""
    return list(
        s.scalars(
            update(Outbox)
            .where(
                Outbox.id.in_(row_ids),
                Outbox.status.in_(TROUBLED)
                | ((Outbox.status == OutboxStatus.PENDING) & Outbox.failing_since.is_not(None)),
            )
            .values(status=OutboxStatus.PENDING, next_attempt_at=now, failing_since=None, error="")
            .returning(Outbox.id)
        )
    )


def drop(s: Session, row_ids: list[int], why: str) -> None:
    """Never send these: what they say is no longer true. Marked sent with nothing sent (no
    ts, no time), `why` as the error: a record of the skip, and out of `baton outbox`."""
    s.execute(
        update(Outbox)
        .where(Outbox.id.in_(row_ids), Outbox.status != OutboxStatus.SENDING)
        .values(
            status=OutboxStatus.SENT, result_ts=None, sent_at=None, error=why, failing_since=None
        )
    )
