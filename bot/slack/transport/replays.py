"""Replayed requests are refused: a signed request from Slack is taken once.

bolt checks the signature and that the timestamp is within five minutes of now; inside that
window, whoever captured a request could send it again and start a second handover. The
signature is unique to its timestamp and body, so it is claimed, and a second request bearing
it is refused. Slack retries only slash commands and events (X-Slack-Retry-Num 1 to 3), which
Baton answers without a second effect; that header is not signed, so it lets a copy through
only for those kinds, and it never makes a new claim.

Where the signatures are kept depends on the database. With PostgreSQL (replicas behind a
load balancer) they are rows, so that a copy sent to another replica is refused too. With
SQLite (one process) they are kept in memory: a row would make every ack wait for SQLite's
single writer, behind the listeners' work, which tripled the slowest acks when 50 requests
came at once (bench/README.md).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from slack_sdk.signature import SignatureVerifier

from handover.store.db import Database
from handover.store.receipts import Receipts

# A signature is accepted while its timestamp is within 5 minutes of now, either side: it can
# come back up to 10 minutes after it was first seen (and a minute for the clocks).
KEEP_SECONDS = 11 * 60


class RecentSignatures:
    """The keys claimed in this process in the last KEEP_SECONDS."""

    def __init__(self, keep: float = KEEP_SECONDS):
        self.keep = keep
        self._keys: set[str] = set()
        self._order: deque[tuple[float, str]] = deque()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def claim(self, key: str) -> bool:
        """Take `key`; False when it was taken before."""
        now = time.monotonic()
        with self._lock:
            while self._order and self._order[0][0] < now - self.keep:
                self._keys.discard(self._order.popleft()[1])
            if key in self._keys:
                return False
            self._keys.add(key)
            self._order.append((now, key))
            return True


# What Slack retries; interactions (clicks, forms) it never sends twice.
RETRIED_KINDS = ("command", "event")


class ReplayGuard:
    def __init__(self, signing_secret: str, claim: Callable[[str], bool]):
        if not signing_secret:  # anything signed with an empty key would pass
            raise ValueError("a signing secret is needed to tell a replay")
        self.verifier = SignatureVerifier(signing_secret)
        self.claim = claim

    @classmethod
    def for_database(cls, signing_secret: str, db: Database) -> ReplayGuard:
        shared = db.engine.dialect.name != "sqlite"
        return cls(signing_secret, Receipts(db).claim if shared else RecentSignatures().claim)

    def replayed(self, body: str, headers: dict[str, str], kind: str) -> bool:
        """True when this correctly signed request was received before and is not Slack
        retrying a command or an event."""
        signature = headers.get("x-slack-signature", "")
        timestamp = headers.get("x-slack-request-timestamp", "")
        if not timestamp.isdigit() or not self.verifier.is_valid(body, timestamp, signature):
            return False  # not Slack's: bolt refuses it, and it claims nothing
        if self.claim(f"signed:{signature}"):
            return False
        retry = headers.get("x-slack-retry-num", "")
        return not (retry in ("1", "2", "3") and kind in RETRIED_KINDS)
