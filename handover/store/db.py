"""The database: engine, sessions, and migrating to head through Alembic."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Executable

from handover.outcomes import Answered


def _wal(cursor: sqlite3.Cursor) -> None:
    """Switch a new database file to WAL. Two processes starting together on a new file both
    try it, and SQLite answers the loser "locked" at once, without waiting for the lock as it
    does for writes: so wait here, as long as a write would (30 s)."""
    for attempt in range(300):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 299:
                raise
            time.sleep(0.1)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # Several threads (bolt's listener pool, the scheduler) and processes share the file:
        # wait for locks instead of failing, and let readers run beside the writer.
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            dbapi_conn.isolation_level = None  # let the "begin" hook below start transactions
            cursor = dbapi_conn.cursor()
            _wal(cursor)
            # In WAL mode, NORMAL still keeps every commit when the process is killed; only
            # a power cut can lose the last ones. FULL's fsync at every commit cost ~1 ms a
            # write, and writes queue behind each other.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn) -> None:
            # Take the write lock up front: a transaction that read first and writes later
            # would otherwise fail to upgrade when another process wrote in between (WAL).
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    cfg = Config()
    import migrations

    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def changed(s: Session, statement: Executable) -> int:
    """How many rows an UPDATE changed (a claim won, deadlines cancelled)."""
    return cast(CursorResult, s.execute(statement)).rowcount


def migrate(url: str) -> None:
    """Bring the schema to head (idempotent)."""
    command.upgrade(alembic_config(url), "head")


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite lets one writer in at a time, and every unit of work here writes (BEGIN
        # IMMEDIATE): threads of this process queue on a lock instead of on SQLite's busy
        # handler, which sleeps in steps of up to 100 ms and made the slowest answers slow.
        self._one_writer = (
            threading.RLock() if self.engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )
        # Called with a unit of work's `info` once it is committed: new deadlines to schedule,
        # outbox rows to deliver. Only after commit, so nobody acts on a rolled-back change.
        self.after_commit: list[Callable[[dict], None]] = []
        # What every unit of work may read in its `info` without being handed it: the
        # configured webhooks, which `record_event` queues an event for (handover/webhooks.py).
        self.context: dict[str, Any] = {}

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: committed on success, rolled back on error. A refusal is an
        answer, not an error (handover/outcomes.py): it commits what was recorded (the
        refused attempt, on the timeline), then goes on to the service's edge."""
        answered: Answered | None = None
        with self._sessions() as s:
            s.info.update(self.context)
            with self._one_writer, s.begin():
                try:
                    yield s
                except Answered as exc:
                    answered = exc
            for listener in self.after_commit:
                listener(s.info)
        if answered is not None:
            raise answered

    def healthy(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
