"""Ack latency: how long Slack waits for Baton's answer, for the slash command, a modal step
submission and Accept, at 1, 10 and 50 concurrent requests, next to a bare bolt app (listeners
that only ack) on the same server stack, measured in the same run.

Baton is the real `baton serve` (waitress + bolt + SQLite) in its own process, the bare app
another; both call a fake Slack Web API on loopback. Each concurrent client keeps one
connection open, as Slack does, and times a request from sending it to reading the answer.

    .venv/bin/python -m bench.ack_latency [--requests 400] [--concurrency 1 10 50]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import insert, select

from bench.seed import seed_incidents
from bot.checklist_modal import step_view
from handover.checklist import step
from handover.db import Database, migrate
from handover.models import Draft
from handover.settings import OrgConfig
from handover.times import utcnow
from tests.conftest import free_port
from tests.fake_slack import FakeSlack
from tests.flows import STEP1
from tests.slack_user import fill, sign, view_payload

SECRET = "bench-signing-secret"
AGENT, MIM = "U0AGENT001", "U0MIM00001"
WARM_UP = 20


def start(args: list[str], env: dict[str, str], url: str, log: Path) -> subprocess.Popen:
    """A server process, once it answers."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=out, stderr=out)
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"{args} exited:\n{log.read_text()}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return proc
        except urllib.error.HTTPError:  # answering, if only with 404
            return proc
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{args} did not come up:\n{log.read_text()}")


def measure(
    port: int, bodies: Callable[[int], str], concurrency: int, first: int, total: int
) -> list[float]:
    """Seconds per request: bodies(first) … bodies(first + total - 1), sent by `concurrency`
    clients at once."""
    numbers = itertools.count(first)
    lock = threading.Lock()
    times: list[float] = []
    failures: list[BaseException] = []

    def client() -> None:
        try:
            send()
        except BaseException as exc:  # reported once all clients are done
            failures.append(exc)

    def send() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                n = next(numbers)
            if n >= first + total:
                break
            body = bodies(n)
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": sign(SECRET, stamp, body),
            }
            started = time.perf_counter()
            conn.request("POST", "/slack/events", body, headers)
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                raise RuntimeError(f"request {n}: HTTP {response.status}")
            with lock:
                times.append(elapsed)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]
    return times


def percentiles(times: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(times, n=100, method="inclusive")
    return q[49] * 1000, q[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="measured, per kind and level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="baton-bench-"))
    fake = FakeSlack().start()
    db_url = f"sqlite:///{folder / 'baton.db'}"
    migrate(db_url)
    db = Database(db_url)

    # What the requests act on: a draft per step submission, an incident per Accept.
    per_kind = (args.requests + WARM_UP) * len(args.concurrency)
    now = utcnow()
    with db.session() as s:
        s.execute(
            insert(Draft),
            [{"user_id": AGENT, "answers": {}, "step": "what"} for _ in range(per_kind)],
        )
        drafts = list(s.scalars(select(Draft.id).order_by(Draft.id)))
    incidents = seed_incidents(db, per_kind, now)
    db.dispose()

    org = OrgConfig()
    views = {}

    def step_body(n: int) -> str:
        draft = drafts[n]
        if draft not in views:
            views[draft] = step_view(step("what"), draft, {}, org)
        view = views[draft]
        return urlencode({"payload": json.dumps(view_payload(AGENT, view, fill(view, STEP1)))})

    def accept_body(n: int) -> str:
        payload = {
            "type": "block_actions",
            "team": {"id": "T0000TEAM1"},
            "user": {"id": MIM},
            "api_app_id": "A0000BATON",
            "trigger_id": f"{n}.1234.abcdef",
            "channel": {"id": "C0MIMS0001"},
            "container": {"type": "message", "message_ts": "1700000000.000100"},
            "response_url": fake.response_url,
            "actions": [
                {
                    "type": "button",
                    "action_id": "incident_accept",
                    "block_id": "incident_actions",
                    "value": str(incidents[n]),
                    "action_ts": str(time.time()),
                }
            ],
        }
        return urlencode({"payload": json.dumps(payload)})

    def command_body(n: int) -> str:
        return urlencode(
            {
                "team_id": "T0000TEAM1",
                "channel_id": "C0AGENTS01",
                "user_id": AGENT,
                "command": "/major-incident",
                "text": "Payroll is down for everyone",
                "api_app_id": "A0000BATON",
                "response_url": fake.response_url,
                "trigger_id": f"{n}.1234.abcdef",
            }
        )

    baton_port, bare_port = free_port(), free_port()
    env = {
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.url,
        "DATABASE_URL": db_url,
        "BATON_MIM_CHANNEL": "C0MIMS0001",
        "BATON_STAKEHOLDER_CHANNEL": "C0STAKE001",
        "BATON_LOG_LEVEL": "WARNING",
        "PORT": str(baton_port),
    }
    python = sys.executable
    servers = {
        "baton": start(
            [python, "-m", "bot.cli", "serve"],
            env,
            f"http://127.0.0.1:{baton_port}/healthz",
            folder / "baton.log",
        ),
        "bare": start(
            [python, "-m", "bench.bare_app", str(bare_port), fake.url, SECRET],
            {},
            f"http://127.0.0.1:{bare_port}/",
            folder / "bare.log",
        ),
    }
    ports = {"baton": baton_port, "bare": bare_port}
    kinds = {"slash command": command_body, "step submission": step_body, "Accept": accept_body}
    print(f"{os.cpu_count()} CPUs; {args.requests} requests per row (after {WARM_UP} to warm up)")
    print(
        f"{'request':<16} {'conc.':>5}  {'Baton p50':>9} {'p99':>7}  {'bare p50':>8} {'p99':>7}"
        f"  {'p99 ratio':>9}"
    )
    try:
        for level, concurrency in enumerate(args.concurrency):
            # Each request to Baton acts on a draft or an incident of its own.
            first = level * (WARM_UP + args.requests)
            for kind, bodies in kinds.items():
                figures = {}
                for name in ("bare", "baton"):
                    port = ports[name]
                    measure(port, bodies, min(concurrency, WARM_UP), first, WARM_UP)
                    times = measure(port, bodies, concurrency, first + WARM_UP, args.requests)
                    figures[name] = percentiles(times)
                (b50, b99), (r50, r99) = figures["baton"], figures["bare"]
                print(
                    f"{kind:<16} {concurrency:>5}  {b50:>7.1f}ms {b99:>5.1f}ms  {r50:>6.1f}ms "
                    f"{r99:>5.1f}ms  {b99 / r99:>8.2f}×",
                    flush=True,
                )
    finally:
        for proc in servers.values():
            proc.terminate()
            proc.wait(20)
        fake.stop()


if __name__ == "__main__":
    main()
