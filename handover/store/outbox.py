"""The outbox: what Baton has to say, stored with the change that caused it.

A front end (bot/slack/delivery.py for Slack) delivers the rows: claimed atomically, so
replicas never send one row twice; retried with back-off when Slack fails, so nothing is lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from handover.models import Event, Outbox
from handover.store.db import changed
from handover.vocabulary import EventKind, OutboxKind, OutboxStatus, Target

# Longer than one send can take (the Web API client times out after 10 s): a row still
# "sending" after this was left by a sender that died, and is tried again.
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
    """Rows ready to send, oldest first: pending ones, and ones whose sender died mid-send."""
    return list(
        s.scalars(
            select(Outbox)
            .where(
                or_(
                    (Outbox.status == OutboxStatus.PENDING) & (Outbox.next_attempt_at <= now),
                    (Outbox.status == OutboxStatus.SENDING) & (Outbox.lease_until < now),
                )
            )
            .order_by(Outbox.id)
            .limit(limit)
        )
    )


def claim(s: Session, row: Outbox, now: datetime) -> bool:
    """Take the row for sending; False when another sender (replica) has it."""
    claimed = (
        update(Outbox)
        .where(Outbox.id == row.id, Outbox.status == row.status, Outbox.attempts == row.attempts)
        .values(status=OutboxStatus.SENDING, lease_until=now + LEASE, attempts=row.attempts + 1)
    )
    return changed(s, claimed) == 1


def sent(s: Session, row_id: int, ts: str | None, now: datetime) -> None:
    s.execute(
        update(Outbox)
        .where(Outbox.id == row_id)
        .values(status=OutboxStatus.SENT, result_ts=ts, sent_at=now, error="", failing_since=None)
    )


def retry(
    s: Session,
    row_id: int,
    attempts: int,
    error: str,
    now: datetime,
    after: timedelta | None = None,
) -> None:
    """Back off (1 s, 2 s, 4 s … 5 min), or exactly `after` when Slack said Retry-After."""
    wait = after if after is not None else min(MAX_BACKOFF, timedelta(seconds=2 ** (attempts - 1)))
    s.execute(
        update(Outbox)
        .where(Outbox.id == row_id)
        .values(
            status=OutboxStatus.PENDING,
            next_attempt_at=now + wait,
            error=error[:500],
            failing_since=func.coalesce(Outbox.failing_since, now),
        )
    )


def defer(s: Session, row_id: int, now: datetime, wait: timedelta) -> None:
    """Not yet sendable (its card is not posted yet): try again soon without counting a try."""
    s.execute(
        update(Outbox)
        .where(Outbox.id == row_id)
        .values(
            status=OutboxStatus.PENDING, next_attempt_at=now + wait, attempts=Outbox.attempts - 1
        )
    )


def failed(s: Session, row_id: int, error: str) -> None:
    s.execute(
        update(Outbox)
        .where(Outbox.id == row_id)
        .values(status=OutboxStatus.FAILED, error=error[:500])
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


def hold_for_card(s: Session, incident_id: int, *also: int) -> int:
    """Park what waits for a refused card (its updates, its thread, the agent's confirmation):
    retrying those every second would change nothing. `also`: rows to park with them."""
    waiting = (Outbox.target.in_(NEEDS_CARD)) | (Outbox.what == OutboxKind.HANDED_OVER_DM)
    return changed(
        s,
        update(Outbox)
        .where(
            Outbox.incident_id == incident_id,
            Outbox.status == OutboxStatus.PENDING,
            waiting | Outbox.id.in_(also),
        )
        .values(status=OutboxStatus.HELD),
    )


TROUBLED = (OutboxStatus.FAILED, OutboxStatus.HELD)


def troubled(s: Session, now: datetime) -> list[Outbox]:
    """Rows someone should look at: given up, held for a refused card, still failing, or left
    "sending" by a sender that died. Oldest first."""
    return list(
        s.scalars(
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
    )


def requeue(s: Session, row_ids: list[int], now: datetime) -> int:
    """Try these rows again now, from a clean slate of failures (not of attempts: an earlier
    attempt may have reached Slack, and the sender looks for it before posting again)."""
    return changed(
        s,
        update(Outbox)
        .where(
            Outbox.id.in_(row_ids),
            Outbox.status.in_(TROUBLED)
            | ((Outbox.status == OutboxStatus.PENDING) & Outbox.failing_since.is_not(None)),
        )
        .values(status=OutboxStatus.PENDING, next_attempt_at=now, failing_since=None, error=""),
    )
