"""Signed webhooks for real: signed Slack requests into the real app, the fake Slack, and a
receiver on 127.0.0.1 over real HTTP that records every request and can be told to fail. Each
delivery is checked with the README's receiver (docs/webhook_receiver.py), imported and run."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import select
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.webhooks import signature
from handover.models import Event, Incident, Outbox
from handover.settings import load_settings
from tests.conftest import MIM
from tests.flows import (
    card_message,
    click,
    open_checklist,
    open_modal,
    submit,
    submit_modal,
    wait_until,
)
from tests.test_card import accept_and_open, hand_over, latest_card
from tests.test_cli import baton as baton_cli
from tests.test_paging import problems_with

ROOT = Path(__file__).resolve().parent.parent
RECEIVER_FILE = ROOT / "docs" / "webhook_receiver.py"
SECRET = "whsec-test-0123456789abcdef"


def readme_receiver() -> Any:
    """docs/webhook_receiver.py, the code the README shows, as a module."""
    spec = importlib.util.spec_from_file_location("webhook_receiver", RECEIVER_FILE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RECEIVER = readme_receiver()


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]
    status: int
    at: float

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class FakeReceiver:
    """Records every POST; answers 200, or the statuses it was told to, in order."""

    requests: list[Received] = field(default_factory=list)
    # Events of these types are answered this status, every time (a receiver broken for one).
    failing: dict[str, int] = field(default_factory=dict)
    _answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/baton"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, *statuses: int, retry_after: int | None = None) -> None:
        extra = {"Retry-After": str(retry_after)} if retry_after else {}
        with self._lock:
            self._answers.extend((status, extra) for status in statuses)

    def delivered(self) -> list[dict]:
        """The events taken (2xx), in the order they arrived."""
        return [r.event for r in self.requests if r.status < 300]

    def types(self) -> list[str]:
        return [e["type"] for e in self.delivered()]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with fake._lock:
                    status, extra = fake._answers.pop(0) if fake._answers else (200, {})
                kind = json.loads(body or b"{}").get("type", "")
                status = fake.failing.get(kind, status)
                headers = {k.lower(): v for k, v in self.headers.items()}
                fake.requests.append(Received(body, headers, status, time.time()))
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def receiver():
    fake = FakeReceiver()
    fake.start()
    yield fake
    fake.stop()


def configure(tmp_path, monkeypatch, *hooks: str) -> None:
    path = tmp_path / "baton.toml"
    path.write_text("\n".join(hooks))
    monkeypatch.setenv("BATON_CONFIG", str(path))


def hook(url: str, secret: str = SECRET, events: list[str] | None = None) -> str:
    lines = ["[[webhooks]]", f'url = "{url}"', f'secret = "{secret}"']
    if events is not None:
        lines.append(f"events = {json.dumps(events)}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def webhook(env, tmp_path, monkeypatch, receiver):
    configure(tmp_path, monkeypatch, hook(receiver.url))


def hand_over_weak(baton) -> dict:
    """A red handover (services unknown): its closure files an exception report."""
    view = open_checklist(baton)
    answers = {
        "f:headline": "Something is badly wrong with the VPN",
        "f:services": ["unknown"],
        "f:symptoms": "Cannot connect",
    }
    view = submit(baton, view, answers)["view"]
    for _ in range(3):
        view = submit(baton, view, {}).get("view")
    return card_message(baton.fake)


def accept_and_engage(baton, card: dict) -> dict:
    """Accept, then Engage & send (groups engaged, the initial notice published)."""
    form = accept_and_open(baton, card)
    assert submit_modal(baton, MIM, form, {"groups": ["Network"]}).status == 200
    return latest_card(baton, "initial comms sent (")


def change_priority(baton, card: dict, priority: str) -> None:
    view = open_modal(baton, MIM, card, "incident_change_priority")
    answers = {"priority": priority, "reason": "Spread to the warehouse"}
    assert submit_modal(baton, MIM, view, answers).status == 200


def resolve_and_close(baton) -> None:
    view = open_modal(baton, MIM, card_message(baton.fake), "incident_resolve")
    assert submit_modal(baton, MIM, view, {}).status == 200
    card = latest_card(baton, "Close incident")
    click(baton.slack, MIM, card, "incident_close")


def the_incident(baton) -> Incident:
    with baton.db.session() as s:
        return s.query(Incident).one()


def verified(request: Received, secret: str = SECRET) -> bool:
    return RECEIVER.verify(secret, request.headers["baton-signature"], request.body)


EVERY_EVENT = [
    "incident.handed_over",
    "incident.accepted",
    "incident.engaged",
    "notice.published",
    "incident.priority_changed",
    "incident.resolved",
    "incident.closed",
    "incident.exception_report",
]


@pytest.mark.usefixtures("webhook")
def test_every_event_arrives_once_in_order_and_signed(baton, receiver):
    card = hand_over_weak(baton)
    card = accept_and_engage(baton, card)
    change_priority(baton, card, "P1" if the_incident(baton).priority != "P1" else "P2")
    wait_until(lambda: "incident.priority_changed" in receiver.types())
    resolve_and_close(baton)
    wait_until(lambda: len(receiver.delivered()) == len(EVERY_EVENT), timeout=15)
    time.sleep(0.5)
    assert receiver.types() == EVERY_EVENT  # each once, in the order they happened
    assert all(r.status == 200 for r in receiver.requests)
    assert all(verified(r) for r in receiver.requests)
    reference = the_incident(baton).reference
    events = receiver.delivered()
    assert len({e["id"] for e in events}) == len(events)
    assert all(e["id"].startswith(f"evt_{reference}_") for e in events)
    for request in receiver.requests:
        assert request.headers["baton-event-id"] == request.event["id"]
        assert request.headers["content-type"] == "application/json"
    handed, accepted = events[0], events[1]
    assert handed["incident"]["reference"] == reference
    assert handed["incident"]["status"] == "handed_over" and handed["incident"]["owner"] is None
    assert handed["incident"]["headline"] == "Something is badly wrong with the VPN"
    assert accepted["incident"]["owner"] == MIM and accepted["data"]["actor"] == MIM
    assert accepted["incident"]["card_link"].startswith("https://")
    assert events[2]["data"]["groups"] == ["Network"]
    notice = events[3]["data"]
    assert notice["kind"] == "initial" and notice["subject"] and notice["text"]
    assert notice["channel"] == baton.settings.stakeholder_channel
    assert "*" not in notice["subject"]  # plain text, as for e-mail
    priority = events[4]["data"]
    assert priority["to"] == events[4]["incident"]["priority"] and priority["reason"]
    assert events[5]["incident"]["status"] == "resolved"
    assert events[6]["incident"]["status"] == "closed"
    assert events[7]["data"]["band"] in ("amber", "red") and events[7]["data"]["gaps"]
    # The time of the event, as ISO-8601.
    assert all("T" in e["created_at"] for e in events)


OTHER_SECRET = "another-secret-0123456789"


@pytest.fixture
def other():
    fake = FakeReceiver()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def filtered(env, tmp_path, monkeypatch, receiver, other):
    configure(
        tmp_path,
        monkeypatch,
        hook(receiver.url, events=["incident.accepted", "notice.published"]),
        hook(other.url, secret=OTHER_SECRET, events=["*"]),
    )


@pytest.mark.usefixtures("filtered")
def test_events_filters_what_a_webhook_receives(baton, receiver, other):
    accept_and_engage(baton, hand_over(baton))
    wait_until(lambda: "notice.published" in other.types())
    wait_until(lambda: "notice.published" in receiver.types())
    time.sleep(0.5)
    assert receiver.types() == ["incident.accepted", "notice.published"]
    assert other.types() == [
        "incident.handed_over",
        "incident.accepted",
        "incident.engaged",
        "notice.published",
    ]
    assert all(verified(r, OTHER_SECRET) for r in other.requests)
    assert not any(verified(r) for r in other.requests)  # each webhook its own secret


def queued_at(baton, event_type: str) -> float | None:
    """When the outbox row of the (first) event of this type was queued."""
    with baton.db.session() as s:
        rows = s.query(Outbox).filter_by(target="webhook").order_by(Outbox.id).all()
    found = [r.created_at.timestamp() for r in rows if r.params["type"] == event_type]
    return found[0] if found else None


@pytest.mark.both_databases  # the order is kept by outbox.due's query: on both
@pytest.mark.usefixtures("webhook")
def test_a_server_error_is_sent_again_and_the_next_event_waits_for_it(baton, receiver):
    receiver.answer(500, 500)  # tried again after 1 s, then 2 s
    hand_over(baton)
    form = accept_and_open(baton, card_message(baton.fake))
    wait_until(lambda: queued_at(baton, "incident.accepted") is not None)
    accepted_at = queued_at(baton, "incident.accepted")
    wait_until(lambda: "incident.accepted" in receiver.types())
    first = receiver.requests[:3]
    assert [r.status for r in first] == [500, 500, 200]
    assert accepted_at < first[2].at  # the acceptance was queued while the handover failed…
    assert [r.event["type"] for r in receiver.requests[:4]] == [
        "incident.handed_over",
        "incident.handed_over",
        "incident.handed_over",
        "incident.accepted",  # … and went only once the handover was delivered
    ]
    assert len({r.event["id"] for r in first}) == 1  # the same event, for the receiver to dedupe
    assert len({r.headers["baton-signature"] for r in first}) == 3  # signed at each sending
    assert all(verified(r) for r in receiver.requests)
    assert submit_modal(baton, MIM, form, {"groups": ["Network"]}).status == 200
    wait_until(lambda: "notice.published" in receiver.types())


@pytest.fixture
def two_webhooks(env, tmp_path, monkeypatch, receiver, other):
    configure(
        tmp_path,
        monkeypatch,
        'retry_for = "2s"\n',
        hook(receiver.url),
        hook(other.url, secret=OTHER_SECRET),
    )


@pytest.mark.usefixtures("two_webhooks")
def test_a_failing_webhook_holds_back_only_its_own_events_and_gives_up_after_retry_for(
    baton, receiver, other
):
    receiver.failing["incident.handed_over"] = 503
    card = hand_over(baton)
    accept_and_open(baton, card)
    # The other webhook does not wait for this one's retries.
    wait_until(lambda: other.types() == ["incident.handed_over", "incident.accepted"])
    assert receiver.types() == []
    # Past retry_for, the failing one gives up on the handover, says so once, and goes on.
    wait_until(lambda: "incident.accepted" in receiver.types(), timeout=15)
    failed = [r for r in receiver.requests if r.status == 503]
    assert len(failed) >= 2 and {r.event["type"] for r in failed} == {"incident.handed_over"}
    assert failed[-1].at - failed[0].at >= 2  # tried for retry_for, then given up
    said = [t for t in baton.fake.thread(card["ts"]) if "webhook" in t]
    assert len(said) == 1 and "503" in said[0]
    with baton.db.session() as s:
        [refused] = s.query(Event).filter_by(kind="webhook_refused").all()
    assert refused.detail["event"] == "incident.handed_over"


@pytest.mark.usefixtures("webhook")
def test_a_rate_limit_waits_retry_after(baton, receiver):
    receiver.answer(429, retry_after=2)
    hand_over(baton)
    wait_until(lambda: receiver.types()[:1] == ["incident.handed_over"], timeout=10)
    assert [r.status for r in receiver.requests[:2]] == [429, 200]
    assert receiver.requests[1].at - receiver.requests[0].at >= 2


def outbox_listing(baton) -> str:
    listed = baton_cli("outbox", env={"DATABASE_URL": baton.settings.database_url})
    assert listed.returncode == 0, listed.stderr
    return listed.stdout


@pytest.mark.usefixtures("webhook")
def test_a_410_is_a_refusal_for_good_said_once_per_webhook(baton, receiver, caplog):
    receiver.answer(410, 410, 410)
    card = hand_over(baton)
    # Before anyone owns it: said in the thread, pinging nobody.
    wait_until(lambda: any("webhook" in t for t in baton.fake.thread(card["ts"])))
    accept_and_engage(baton, card)
    wait_until(lambda: "notice.published" in receiver.types())
    # Refused for good: not sent again; the events after it still go, in order.
    assert [r.status for r in receiver.requests[:4]] == [410, 410, 410, 200]
    assert [r.event["type"] for r in receiver.requests[:3]] == [
        "incident.handed_over",
        "incident.accepted",
        "incident.engaged",
    ]
    wait_until(lambda: any("webhook" in t for t in baton.fake.thread(card["ts"])))
    time.sleep(1)
    said = [t for t in baton.fake.thread(card["ts"]) if "webhook" in t]
    assert len(said) == 1  # three refusals, one line
    host = receiver.url.split("/")[2]
    assert said[0].startswith(f":warning: The webhook {host} did not get `incident.handed_over`")
    assert SECRET not in said[0]
    with baton.db.session() as s:
        refusals = s.query(Event).filter_by(kind="webhook_refused").all()
        failed = s.query(Outbox).filter_by(target="webhook", status="failed").count()
    assert [e.detail["event"] for e in refusals] == [
        "incident.handed_over",
        "incident.accepted",
        "incident.engaged",
    ]
    assert all(e.detail["error"].startswith("410") for e in refusals) and failed == 3
    timeline = baton.slack.command(MIM, f"timeline {the_incident(baton).reference}").text
    assert "gave up on a webhook" in timeline
    # `baton outbox` lists them readably, and never the secret.
    listing = outbox_listing(baton)
    assert f"to the webhook at {host} (incident.accepted)" in listing
    assert "410" in listing and SECRET not in listing
    assert "given up: 410" in caplog.text and SECRET not in caplog.text


@pytest.mark.usefixtures("webhook")
def test_once_owned_the_refusal_mentions_the_owner(baton, receiver):
    card = hand_over(baton)
    wait_until(lambda: receiver.types() == ["incident.handed_over"])
    receiver.answer(404)
    accept_and_open(baton, card)
    wait_until(lambda: any("webhook" in t for t in baton.fake.thread(card["ts"])))
    said = [t for t in baton.fake.thread(card["ts"]) if "webhook" in t]
    assert said[0].startswith(f":warning: <@{MIM}> The webhook")


@pytest.fixture
def readme_receivers(env, tmp_path, monkeypatch):
    good = _run_receiver(SECRET)
    wrong = _run_receiver("not-the-secret-at-all-0123")
    configure(
        tmp_path,
        monkeypatch,
        hook(f"http://127.0.0.1:{good.port}/"),
        hook(f"http://127.0.0.1:{wrong.port}/", secret="yet-another-secret-000"),
    )
    yield good, wrong
    for running in (good, wrong):
        running.process.kill()
        running.process.wait()


def test_the_readme_receiver_takes_ours_and_refuses_a_wrong_secret(readme_receivers, baton):
    """docs/webhook_receiver.py, run as the README says: our deliveries pass, and with a
    secret other than Baton's every delivery is refused (401, a refusal for good)."""
    good, wrong = readme_receivers
    card = hand_over(baton)
    reference = the_incident(baton).reference
    ready, _, _ = select.select([good.process.stdout], [], [], 10)
    assert ready, "the README's receiver printed nothing"
    assert good.process.stdout.readline().strip() == f"incident.handed_over {reference}"
    wait_until(lambda: any("webhook" in t for t in baton.fake.thread(card["ts"])))
    said = next(t for t in baton.fake.thread(card["ts"]) if "webhook" in t)
    assert f"127.0.0.1:{wrong.port}" in said and "401" in said
    assert f"127.0.0.1:{good.port}" not in said


def test_a_signature_is_good_only_with_its_secret_its_body_and_a_recent_time():
    body = b'{"id":"evt_1"}'
    now = int(time.time())
    header = signature(SECRET, now, body)
    assert RECEIVER.verify(SECRET, header, body)
    assert not RECEIVER.verify("wrong-secret", header, body)
    assert not RECEIVER.verify(SECRET, header, body + b" ")
    assert not RECEIVER.verify(SECRET, signature(SECRET, now - 301, body), body)
    assert not RECEIVER.verify(SECRET, "v1=" + header.split("v1=")[1], body)  # no time


def test_the_readme_shows_the_receiver_the_tests_run():
    readme = (ROOT / "README.md").read_text()
    code = RECEIVER_FILE.read_text()
    shown = code[code.index("def verify") : code.index("\n\nif __name__")].rstrip()
    assert f"```python\n{shown}\n```" in readme


@dataclass
class RunningReceiver:
    process: subprocess.Popen
    port: int


def _run_receiver(secret: str) -> RunningReceiver:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, str(RECEIVER_FILE), str(port)],
        env={**os.environ, "BATON_WEBHOOK_SECRET": secret},
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 10
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return RunningReceiver(process, port)
        time.sleep(0.05)
    process.kill()
    raise AssertionError("the README's receiver did not start")


@pytest.mark.usefixtures("webhook")
def test_the_secret_never_reaches_logs_or_the_outbox(capsys, receiver, baton_logging):
    settings = baton_logging(load_settings(env_file=None))
    logging.getLogger("baton").warning("signing with %s", SECRET)
    assert "signing with [redacted]" in capsys.readouterr().err
    assert SECRET not in repr(settings)
    [configured] = settings.org.webhooks
    assert configured.url == receiver.url and SECRET in settings.secrets


# Configuration --------------------------------------------------------------------------


def test_bad_webhooks_are_one_clear_line_each_and_secrets_are_never_echoed(
    env, tmp_path, monkeypatch
):
    found = problems_with(
        tmp_path,
        monkeypatch,
        """
[[webhooks]]
url = "status.example.com/hook"
secret = "short"
events = ["incident.accepted", "incident.exploded"]
retries = 3
[[webhooks]]
url = "https://ok.example.com/hook"
""",
    )
    where = f"BATON_CONFIG ({tmp_path / 'baton.toml'}): webhooks"
    assert found == [
        f"{where} #1: unknown setting 'retries' (known: events, secret, url)",
        f"{where} #1: 'url' 'status.example.com/hook' is not an http(s) URL "
        "(like https://meet.example.com/mi)",
        f"{where} #1: 'secret' is missing or too short: give at least 16 characters that the "
        "receiver also knows (it signs every delivery)",
        f"{where} #1: unknown event 'incident.exploded' (known: "
        + ", ".join(EVERY_EVENT)
        + ', or "*" for all)',
        f"{where} #2: 'secret' is missing or too short: give at least 16 characters that the "
        "receiver also knows (it signs every delivery)",
    ]
    assert not any("short" in p.split(":")[-1] and "secret = " in p for p in found)


def test_baton_check_lists_webhooks_without_their_secret(tmp_path, fake_slack):
    config = tmp_path / "baton.toml"
    config.write_text(
        hook("https://status.example.com/baton", events=["incident.resolved"])
        + hook("https://warehouse.example.com/in")
    )
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
        "SLACK_API_URL": fake_slack.url,
        "BATON_MIM_CHANNEL": "C0MIMS0001",
        "BATON_STAKEHOLDER_CHANNEL": "C0STAKE001",
        "BATON_CONFIG": str(config),
    }
    result = baton_cli("check", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "webhook: https://status.example.com/baton (incident.resolved)" in result.stdout
    assert "webhook: https://warehouse.example.com/in (all events)" in result.stdout
    assert SECRET not in result.stdout + result.stderr
    config.write_text('[[webhooks]]\nurl = "ftp://x.example.com"\nsecret = "s3cr3t"\n')
    result = baton_cli("check", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "webhooks #1: 'url' 'ftp://x.example.com' is not an http(s) URL" in result.stderr
    assert "s3cr3t" not in result.stderr
