"""Requests taken once: a redelivered request is answered as the first was, and runs nothing.

Kept in the database, not in memory, because a redelivery may reach another connection, and so
another replica. The first delivery claims its key (a unique row) before it runs; a later one
finds the row and waits briefly for the first one's answer.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from handover.models import Receipt
from handover.store.db import Database
from handover.times import utcnow

# Slack redelivers within minutes; a receipt kept an hour is long past any retry.
KEEP = timedelta(hours=1)
PRUNE_EVERY = 300.0  # seconds


class Receipts:
    def __init__(self, db: Database, keep: timedelta = KEEP):
        self.db = db
        self.keep = keep
        self._pruned_at = float("-inf")

    def claim(self, key: str) -> bool:
        """Take `key`; False when it was taken before (this is a redelivery)."""
        try:
            with self.db.session() as s:
                s.add(Receipt(key=key, received_at=utcnow()))
                s.flush()
                if time.monotonic() - self._pruned_at > PRUNE_EVERY:
                    self._pruned_at = time.monotonic()
                    s.execute(delete(Receipt).where(Receipt.received_at < utcnow() - self.keep))
        except IntegrityError:
            return False
        return True

    def answered(self, key: str, answer: dict[str, Any]) -> None:
        """Record what the first delivery was answered (`{}`: nothing but the ack)."""
        with self.db.session() as s:
            s.execute(update(Receipt).where(Receipt.key == key).values(answer=answer))

    def release(self, key: str) -> None:
        """The first delivery failed before it was answered: let a redelivery run it."""
        with self.db.session() as s:
            s.execute(delete(Receipt).where(Receipt.key == key))

    def answer_of(self, key: str, wait: float = 2.0) -> dict[str, Any]:
        """The first delivery's answer, waiting up to `wait` seconds while it is still being
        handled; `{}` when it does not come in time (the ack must not be late)."""
        deadline = time.monotonic() + wait
        while True:
            with self.db.session() as s:
                answer = s.scalar(select(Receipt.answer).where(Receipt.key == key))
            if answer is not None or time.monotonic() >= deadline:
                return answer or {}
            time.sleep(0.05)
