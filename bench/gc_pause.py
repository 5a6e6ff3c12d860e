"""Garbage collector pauses: how long a full collection stops `baton serve`, with the objects
built at start-up (modules, SQLAlchemy's mappers, bolt, the cached checklist blocks) and once
they are frozen out of the collector's sight, as `baton serve` does after start-up.

    .venv/bin/python -m bench.gc_pause [--rounds 20]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time
from pathlib import Path

from bot.runtime import build_runtime
from bot.slack.intake.modal import step_view
from handover.checklist.definition import STEP_IDS, step
from handover.settings import load_settings
from handover.store.db import migrate
from tests.fake_slack import FakeSlack


def full_collections(rounds: int) -> list[float]:
    """Milliseconds per full collection, each after a request's worth of new objects."""
    pauses = []
    for _ in range(rounds):
        garbage = [{"blocks": [{"n": n, "text": str(n)} for n in range(200)]}]
        garbage.append(garbage)  # a cycle: only the collector frees it
        del garbage
        started = time.perf_counter()
        gc.collect()
        pauses.append((time.perf_counter() - started) * 1000)
    return pauses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    fake = FakeSlack().start()
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='baton-gc-')) / 'baton.db'}"
    os.environ.update(
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET="bench-signing-secret",
        SLACK_API_URL=fake.url,
        DATABASE_URL=url,
        BATON_MIM_CHANNEL="C0MIMS0001",
        BATON_STAKEHOLDER_CHANNEL="C0STAKE001",
    )
    settings = load_settings(require_slack=True, env_file=None)
    migrate(url)
    runtime = build_runtime(settings)  # what `baton serve` builds before serving
    for step_id in STEP_IDS:  # and the checklist blocks it caches as people use it
        step_view(step(step_id), 1, {}, settings.org)
    try:
        print(f"objects the collector tracks after start-up: {len(gc.get_objects()):,}")
        before = full_collections(args.rounds)
        gc.freeze()
        after = full_collections(args.rounds)
        tracked, frozen = statistics.median(before), statistics.median(after)
        print(f"full collection, start-up objects tracked: median {tracked:.2f} ms")
        print(f"full collection, start-up objects frozen:  median {frozen:.2f} ms")
        print(f"{tracked / frozen:.0f}× shorter")
    finally:
        runtime.db.dispose()
        fake.stop()


if __name__ == "__main__":
    main()
