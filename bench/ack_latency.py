"""Ack latency: how long Slack waits for Baton's answer, for the slash command, a modal step
submission and Accept, at 1, 10 and 50 concurrent requests, next to a bare bolt app (listeners
that only ack) on the same server stack, measured in the same run.

Baton is the real `baton serve` (waitress + bolt + SQLite) in its own process, the bare app
another; both call the tests' fake Slack Web API on loopback, in a third. Each concurrent
client keeps one connection open, as Slack does, and times a request from sending it to
reading the answer.
Two shapes of load: a closed loop (each client sends its next request as soon as it has an
answer, so N are always in flight) and bursts (N sent at the same instant, then a pause).

    .venv/bin/python -m bench.ack_latency [--requests 400] [--concurrency 1 10 50]
        [--kinds command step accept] [--slack-latency 0] [--burst-gap 0.3]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import multiprocessing
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

from slack_sdk import WebClient
from sqlalchemy import insert, select

from bench.seed import seed_incidents
from bot.slack.intake.modal import step_view
from handover.checklist.definition import step
from handover.models import Draft
from handover.settings import OrgConfig
from handover.store.db import Database, migrate
from handover.times import utcnow
from tests.conftest import free_port
from tests.fake_slack import FakeSlack
from tests.flows import STEP1
from tests.slack_user import fill, sign, view_payload

SECRET = "bench-signing-secret"
AGENT, MIM = "U0AGENT001", "U0MIM00001"
WARM_UP = 20
KINDS = {"command": "slash command", "step": "step submission", "accept": "Accept"}

Bodies = Callable[[int], str]


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


def post(
    conn: http.client.HTTPConnection, body: str, ready: Callable[[], object] | None = None
) -> float:
    """Seconds from sending a signed request (once `ready` returns) to reading its answer."""
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(SECRET, stamp, body),
    }
    if ready is not None:
        ready()
    started = time.perf_counter()
    conn.request("POST", "/slack/events", body, headers)
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}")
    return elapsed


def run_clients(count: int, client: Callable[[int], None]) -> None:
    """client(0) … client(count - 1), each in its own thread; the first failure is raised."""
    failures: list[BaseException] = []

    def run(n: int) -> None:
        try:
            client(n)
        except BaseException as exc:  # reported once all clients are done
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]


def closed_loop(port: int, bodies: Bodies, concurrency: int, first: int, total: int) -> list[float]:
    """Seconds per request: bodies(first) … bodies(first + total - 1), `concurrency` clients
    each sending its next request as soon as it has an answer."""
    numbers = itertools.count(first)
    lock = threading.Lock()
    times: list[float] = []

    def client(_: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while (n := next(numbers)) < first + total:
            elapsed = post(conn, bodies(n))
            with lock:
                times.append(elapsed)
        conn.close()

    run_clients(concurrency, client)
    return times


def bursts(port: int, bodies: Bodies, size: int, first: int, total: int, gap: float) -> list[float]:
    """Seconds per request: the same requests in bursts of `size` sent at the same instant,
    `gap` seconds apart."""
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(size)]
    times: list[float] = []
    for start_at in range(first, first + total, size):
        numbers = range(start_at, min(start_at + size, first + total))
        barrier = threading.Barrier(len(numbers))

        def client(k: int, numbers: range = numbers, barrier: threading.Barrier = barrier) -> None:
            times.append(post(conns[k], bodies(numbers[k]), barrier.wait))

        run_clients(len(numbers), client)
        time.sleep(gap)
    for conn in conns:
        conn.close()
    return times


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class FakeSlackProcess:
    """The tests' fake Slack in a process of its own: its work (parsing and checking every
    message) must not slow down the clients that time the answers."""

    def __init__(self) -> None:
        self._latency = multiprocessing.Value("d", 0.0)
        self._calls = multiprocessing.Value("q", 0)
        ours, theirs = multiprocessing.Pipe()
        self._process = multiprocessing.Process(
            target=self._serve, args=(theirs, self._latency, self._calls), daemon=True
        )
        self._process.start()
        self.url, self.response_url = ours.recv()

    @staticmethod
    def _serve(pipe, latency, calls) -> None:
        fake = FakeSlack().start()
        pipe.send((fake.url, fake.response_url))
        while True:
            fake.latency = latency.value
            calls.value = len(fake.calls)
            time.sleep(0.05)

    @property
    def latency(self) -> float:
        return self._latency.value

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._latency.value = seconds
        time.sleep(0.1)  # the fake takes it up within 50 ms

    def calls(self) -> int:
        """Web API calls answered so far (up to 50 ms ago)."""
        return self._calls.value

    def stop(self) -> None:
        self._process.terminate()
        self._process.join(10)


def web_api_call_cpu(fake: FakeSlackProcess, calls: int = 300) -> float:
    """CPU seconds one slack_sdk Web API call costs its caller (a card-sized message)."""
    client = WebClient(token="xoxb-bench", base_url=fake.url)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "An incident line. " * 10}}]
    for _ in range(20):
        client.chat_postMessage(channel="C0MIMS0001", text="warm-up", blocks=blocks)
    before = time.thread_time()
    for _ in range(calls):
        client.chat_postMessage(channel="C0MIMS0001", text="A card", blocks=blocks)
    return (time.thread_time() - before) / calls


def percentiles(times: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(times, n=100, method="inclusive")
    return q[49] * 1000, q[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="measured, per kind and level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument(
        "--slack-latency",
        type=float,
        default=0.0,
        help="seconds the fake Slack takes to answer each Web API call (Slack's own: 0.1-0.5)",
    )
    parser.add_argument(
        "--burst-gap", type=float, default=0.3, help="seconds between bursts (0: no bursts)"
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="baton-bench-"))
    fake = FakeSlackProcess()
    call_cpu = web_api_call_cpu(fake)
    fake.latency = args.slack_latency
    db_url = f"sqlite:///{folder / 'baton.db'}"
    migrate(db_url)
    db = Database(db_url)

    # What the requests act on: a draft per step submission, an incident per Accept.
    levels = [("closed loop", c) for c in args.concurrency]
    if args.burst_gap > 0:
        levels += [("bursts", c) for c in args.concurrency if c > 1]
    per_kind = (args.requests + WARM_UP) * len(levels)
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

    def settle() -> None:
        """Until Slack has heard nothing for 200 ms: the work after the acks is done."""
        seen = -1
        while fake.calls() != seen:
            seen = fake.calls()
            time.sleep(0.2)

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
    bodies_of = {"command": command_body, "step": step_body, "accept": accept_body}
    # CPU per request counts the work after the ack too, so it waits for that work to end:
    # with a slow fake Slack, that would take minutes, and it is not measured.
    count_cpu = args.slack_latency == 0
    print(
        f"{os.cpu_count()} CPUs; {args.requests} requests per row (after {WARM_UP} to warm up);"
        f" the fake Slack answers in {args.slack_latency * 1000:.0f} ms"
    )
    print(f"one Web API call costs its caller {call_cpu * 1000:.2f} ms of CPU")
    print(
        f"{'load':<11} {'request':<16} {'conc.':>5}  {'Baton p50':>9} {'p99':>8}  "
        f"{'bare p50':>8} {'p99':>8}  {'p99 ratio':>9}  {'CPU/request Baton':>17} {'bare':>7}"
    )
    try:
        for level, (load, concurrency) in enumerate(levels):
            # Each request to Baton acts on a draft or an incident of its own.
            first = level * (WARM_UP + args.requests)
            for kind in args.kinds:
                bodies = bodies_of[kind]
                figures, cpu = {}, {}
                for name in ("bare", "baton"):
                    port, pid = ports[name], servers[name].pid
                    closed_loop(port, bodies, min(concurrency, WARM_UP), first, WARM_UP)
                    if count_cpu:
                        settle()
                    used = cpu_seconds(pid)
                    if load == "bursts":
                        gap = args.burst_gap
                        times = bursts(
                            port, bodies, concurrency, first + WARM_UP, args.requests, gap
                        )
                    else:
                        times = closed_loop(
                            port, bodies, concurrency, first + WARM_UP, args.requests
                        )
                    if count_cpu:
                        settle()
                        cpu[name] = f"{(cpu_seconds(pid) - used) / args.requests * 1000:.2f}ms"
                    figures[name] = percentiles(times)
                (b50, b99), (r50, r99) = figures["baton"], figures["bare"]
                print(
                    f"{load:<11} {KINDS[kind]:<16} {concurrency:>5}  {b50:>7.1f}ms {b99:>6.1f}ms"
                    f"  {r50:>6.1f}ms {r99:>6.1f}ms  {b99 / r99:>8.2f}×"
                    f"  {cpu.get('baton', '-'):>17} {cpu.get('bare', '-'):>7}",
                    flush=True,
                )
    finally:
        for proc in servers.values():
            proc.terminate()
            proc.wait(20)
        fake.stop()


if __name__ == "__main__":
    main()
