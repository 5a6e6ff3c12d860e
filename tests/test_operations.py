"""Operations: GET /metrics, and a clean stop on SIGTERM."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine, create_engine, text

from handover.models import Deadline
from tests.conftest import AGENT, MIM, MIM_CHANNEL, SECRET
from tests.fake_slack import Failure
from tests.flows import STEP1, hand_over, incident, open_checklist, wait_until
from tests.prometheus import scrape, value
from tests.slack_user import SlackSender, fill, view_payload


@pytest.fixture
def quick_escalation(env, tmp_path, monkeypatch):
    path = tmp_path / "baton.toml"
    path.write_text('escalation_after = "1s"\n')
    monkeypatch.setenv("BATON_CONFIG", str(path))


def fired(baton) -> int:
    with baton.db.session() as s:
        return s.query(Deadline).filter_by(status="fired").count()


@pytest.mark.usefixtures("quick_escalation")
def test_metrics_after_a_handover(baton):
    # Slack fails the card once: the outbox reschedules it.
    baton.fake.fail("chat.postMessage", Failure(500))
    card = hand_over(baton)
    wait_until(lambda: fired(baton) == 1)  # the escalation, a second after handover
    baton.slack.click(MIM, card, "incident_accept", MIM_CHANNEL)
    wait_until(lambda: incident(baton).owner_id == MIM)

    m = scrape(baton.url)
    requests = {
        kind: value(m, "baton_requests_total", kind=kind, status="200")
        for kind in ("command", "view_submission", "block_actions")
    }
    assert requests == {"command": 1, "view_submission": 4, "block_actions": 1}
    assert value(m, "baton_ack_seconds_count", kind="view_submission") == 4
    assert value(m, "baton_ack_seconds_bucket", kind="block_actions", le="+Inf") == 1
    assert value(m, "baton_requests_in_flight") == 0
    assert value(m, "baton_listener_errors_total", kind="command") is None
    assert value(m, "baton_database_up") == 1
    assert value(m, "baton_deadlines_pending") == 2  # the first phase's reminder and end
    assert value(m, "baton_deadlines_fired_total") == 1
    assert value(m, "baton_deadlines_fired_late_total") == 0
    assert value(m, "baton_incidents", status="accepted", phase="initial") == 1
    assert value(m, "baton_slack_api_errors_total", error="fatal") == 1
    assert value(m, "baton_slack_retries_total") == 1


def test_metrics_answer_when_the_database_does_not(baton, tmp_path):
    baton.db.engine.dispose()
    (tmp_path / "baton.db").unlink()
    (tmp_path / "baton.db").mkdir()  # a folder where the file was: SQLite cannot open it
    m = scrape(baton.url)
    assert value(m, "baton_database_up") == 0
    assert value(m, "baton_deadlines_pending") is None


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        return True


def read_by_server(conn: http.client.HTTPConnection) -> bool:
    """The server has read everything sent on `conn` (Linux: its socket's receive queue, in
    /proc/net/tcp, is empty), so the request is in its hands."""
    local, server = conn.sock.getsockname()[1], conn.sock.getpeername()[1]
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        ports = (int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16))
        if ports == (server, local):
            return int(fields[4].split(":")[1], 16) == 0  # rx_queue
    return False


def drafts_in(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(text("SELECT step FROM drafts ORDER BY id")).scalars().all()


def test_sigterm_finishes_what_is_in_flight_and_leaves_deadlines_pending(
    baton_process, fake_slack, tmp_path
):
    process = baton_process()
    as_slack = SimpleNamespace(
        slack=SlackSender(process.url, SECRET, fake_slack.response_url), fake=fake_slack
    )
    hand_over(as_slack)
    view = open_checklist(as_slack)
    forms = len(fake_slack.calls_to("views.open"))
    engine = create_engine(f"sqlite:///{tmp_path / 'baton.db'}")
    with engine.connect() as conn:
        pending = conn.execute(text("SELECT id FROM deadlines WHERE status='pending'")).all()
    assert len(pending) == 3
    # Slack keeps connections open between requests: an idle one must not hold the stop up.
    idle = http.client.HTTPConnection("127.0.0.1", process.port, timeout=10)
    idle.request("GET", "/healthz")
    assert idle.getresponse().read()

    # A command is answered at once, its work (opening the form) waiting for Slack …
    slack_is_slow = fake_slack.hold("views.open")
    assert as_slack.slack.command(AGENT, "Payroll is down").status == 200
    wait_until(lambda: len(drafts_in(engine)) == 3)  # the new draft is saved
    # … and the database is slow for a moment (the test holds its write lock) while a step
    # of the checklist is sent, which waits for the database before its answer.
    lock = sqlite3.connect(tmp_path / "baton.db", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    body = urlencode({"payload": json.dumps(view_payload(AGENT, view, fill(view, STEP1)))})
    in_flight = http.client.HTTPConnection("127.0.0.1", process.port, timeout=20)
    in_flight.request("POST", "/slack/events", body, as_slack.slack.signed_headers(body))
    wait_until(lambda: read_by_server(in_flight))

    process.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: refuses_connections(process.port))  # no new requests from here on
    lock.execute("ROLLBACK")  # the database answers again
    lock.close()
    slack_is_slow.set()  # and so does Slack

    answer = in_flight.getresponse()
    assert answer.status == 200
    assert json.loads(answer.read())["view"]["title"]["text"] == "Major incident 2/4"
    assert process.proc.wait(20) == 0
    # The command's work was finished, not cut short: its form opened.
    assert len(fake_slack.calls_to("views.open")) == forms + 1
    with engine.connect() as conn:
        still = conn.execute(text("SELECT id FROM deadlines WHERE status='pending'")).all()
    assert still == pending
    assert drafts_in(engine) == ["review", "who", "what"]  # handed over; step 1 saved; the new one
    assert "Baton stopped" in process.log.read_text()
