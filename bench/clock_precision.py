"""Clock precision at scale: 1,000 active incidents with 10,000 pending deadlines due over the
next minute, created directly in the database; then the real Alarm (APScheduler) and Clock over
SQLite, as `baton serve` runs them. Prints how long Alarm.start() takes to rebuild the schedule
from the rows, and how late the deadlines fire (fired_at - due_at).

    .venv/bin/python -m bench.clock_precision [--incidents 1000] [--per-incident 10]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from bench.seed import seed_incidents
from handover.clock.alarm import Alarm
from handover.clock.phase_clock import Clock
from handover.models import Deadline
from handover.settings import load_settings
from handover.store.db import Database, migrate
from handover.times import utcnow
from handover.vocabulary import DeadlineKind

# Kinds whose firing never cancels another deadline, so that every one of them fires.
KINDS = (
    DeadlineKind.ESCALATION,
    DeadlineKind.PHASE_REMINDER,
    DeadlineKind.UPDATE_REMINDER,
    DeadlineKind.UPDATE_DUE,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--per-incident", type=int, default=10)
    parser.add_argument("--spread", type=float, default=60, help="seconds the deadlines span")
    parser.add_argument("--lead", type=float, default=5, help="seconds before the first is due")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="baton-bench-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.db'}"
    settings = load_settings(env_file=None)
    migrate(settings.database_url)
    db = Database(settings.database_url)

    now = utcnow()
    # Half are accepted (their escalation is a no-op), half still wait for a manager.
    half = args.incidents // 2
    ids = seed_incidents(db, half, now, "accepted", owner="U0MIM00001")
    ids += seed_incidents(db, args.incidents - half, now)
    rng = random.Random(6)
    deadlines = [
        {
            "incident_id": incident_id,
            "kind": KINDS[n % len(KINDS)],
            "due_at": now + timedelta(seconds=args.lead + rng.random() * args.spread),
            "status": "pending",
            "late": False,
            "created_at": now,
        }
        for incident_id in ids
        for n in range(args.per_incident)
    ]
    with db.session() as s:
        s.execute(insert(Deadline), deadlines)
    last_due = max(d["due_at"] for d in deadlines)
    print(f"{len(ids)} incidents, {len(deadlines)} pending deadlines over {args.spread:.0f} s")

    alarm = Alarm(Clock(db, settings))
    db.after_commit.append(alarm.on_commit)
    started = time.perf_counter()
    scheduled = alarm.start()
    start_s = time.perf_counter() - started
    print(f"Alarm.start(): {scheduled} deadlines scheduled in {start_s:.2f} s")

    deadline = time.time() + args.lead + args.spread + 60
    while time.time() < deadline:
        with db.session() as s:
            left = s.scalar(
                select(func.count())
                .select_from(Deadline)
                .where(Deadline.status == "pending", Deadline.due_at <= last_due)
            )
        if not left:
            break
        time.sleep(1)
    alarm.shutdown()

    with db.session() as s:
        fired = s.execute(
            select(Deadline.due_at, Deadline.fired_at).where(Deadline.status == "fired")
        ).all()
    late = sorted((f - d).total_seconds() for d, f in fired)
    q = statistics.quantiles(late, n=100)
    print(f"fired {len(late)} of {len(deadlines)}; still pending: {left}")
    print(
        f"lateness (fired_at - due_at): p50 {q[49] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms, "
        f"max {late[-1] * 1000:.0f} ms"
    )
    db.dispose()


if __name__ == "__main__":
    main()
