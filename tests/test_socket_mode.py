"""Socket Mode: the real `baton serve` with SLACK_APP_TOKEN, over a real WebSocket on loopback.

The fake Slack answers `apps.connections.open` with its WebSocket server's URL and delivers
envelopes there (tests/fake_socket_mode.py); the acks Baton sends back are what Slack would
act on.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text

from bot.slack.intake.listeners import HELP
from tests.conftest import AGENT, MIM
from tests.flows import (
    STEP1,
    STEP2,
    STEP3,
    buttons,
    card_message,
    click,
    hand_over,
    open_checklist,
    submit,
    wait_until,
)
from tests.prometheus import scrape, value
from tests.slack_user import SocketSender, ack_reply

pytestmark = pytest.mark.both_databases


@pytest.fixture
def start_socket_baton(baton_process, fake_slack):
    """Starts `baton serve` replicas in Socket Mode; returns what the flows need."""

    def start(count: int = 1) -> SimpleNamespace:
        processes = baton_process.together(
            count, SLACK_APP_TOKEN="xapp-1-A0000BATON-1-test", SLACK_SIGNING_SECRET=""
        )
        fake_slack.socket_mode.wait_connected(count)
        fake_slack.socket_mode.wait_open(count)  # one connection each
        sender = SocketSender(fake_slack.socket_mode, fake_slack.response_url)
        return SimpleNamespace(slack=sender, fake=fake_slack, processes=processes)

    return start


def count(db_url: str, sql: str) -> int:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        found = conn.execute(text(sql)).scalar_one()
    engine.dispose()
    return found


def test_the_slash_command_is_acked_and_opens_the_modal(start_socket_baton, fake_slack):
    baton = start_socket_baton()
    assert fake_slack.calls_to("apps.connections.open")
    reply = baton.slack.command(AGENT, "E-mail down for everyone")
    assert reply.status == 200 and reply.body == ""  # an ack without payload
    view = fake_slack.wait_for("views.open")[0].args["view"]
    assert view["title"]["text"] == "Major incident 1/4"
    # An immediate answer travels in the ack's payload.
    assert baton.slack.command(AGENT, "help").text == HELP
    # Counted as over HTTP, and served on the health probe's port.
    url = baton.processes[0].url
    # An envelope is counted just after its ack has gone.
    wait_until(lambda: value(scrape(url), "baton_requests_in_flight") == 0)
    m = scrape(url)
    assert value(m, "baton_requests_total", kind="command", status="200") == 2
    assert value(m, "baton_ack_seconds_count", kind="command") == 2


def test_a_whole_handover_and_its_acceptance_over_the_socket(start_socket_baton, fake_slack):
    baton = start_socket_baton()
    # Each step's ack carries the next view (response_action), as HTTP replies do.
    card = hand_over(baton)
    assert "Accept" in buttons(card)
    reply = click(baton.slack, MIM, card, "incident_accept")
    assert reply.status == 200 and reply.body == ""
    fake_slack.wait_for("chat.postMessage", where=lambda a: "accepted *MI-" in a.get("text", ""))


def test_a_redelivered_envelope_has_no_second_effect(start_socket_baton, fake_slack, db_url):
    """Slack redelivers (retry_attempt 1) on another connection: the other replica."""
    baton = start_socket_baton(count=2)
    socket_mode = fake_slack.socket_mode
    assert socket_mode.opened == 2  # so connection 0 and the newest are the two replicas

    def redeliver() -> dict:
        first = socket_mode.acks[baton.slack.last_envelope]
        again = socket_mode.redeliver(baton.slack.last_envelope, connection=0)
        assert socket_mode.sent[again]["retry_attempt"] == 1
        repeated = socket_mode.wait_ack(again)
        assert repeated.get("payload") == first.get("payload")  # acked as the first was
        return repeated

    view = open_checklist(baton)
    redeliver()
    view = submit(baton, view, STEP1)["view"]
    view = submit(baton, view, STEP2)["view"]
    review = submit(baton, view, STEP3)["view"]
    done = submit(baton, review, {})
    assert ack_reply(redeliver()).json() == done  # the same confirmation view
    card = card_message(fake_slack)
    click(baton.slack, MIM, card, "incident_accept")
    fake_slack.wait_for("chat.postMessage", where=lambda a: "accepted *MI-" in a.get("text", ""))
    redeliver()

    # The checklist's form and the one Accept opens: the redeliveries opened none.
    assert len(fake_slack.calls_to("views.open")) == 2
    assert count(db_url, "SELECT count(*) FROM drafts") == 1
    assert count(db_url, "SELECT count(*) FROM incidents") == 1
    assert count(db_url, "SELECT count(*) FROM events WHERE kind = 'accepted'") == 1
    assert fake_slack.responses == []  # nobody was told "already owned"
    cards = [
        c
        for c in fake_slack.calls_to("chat.postMessage")
        if "blocks" in c.args and not c.args.get("thread_ts")
    ]
    assert len(cards) == 1


@pytest.mark.parametrize("how", ["drop", "refresh"])
def test_a_lost_connection_is_reopened_and_the_handover_goes_on(
    start_socket_baton, fake_slack, db_url, how
):
    baton = start_socket_baton()
    socket_mode = fake_slack.socket_mode
    view = open_checklist(baton)
    view = submit(baton, view, STEP1)["view"]
    urls_asked = len(fake_slack.calls_to("apps.connections.open"))
    opened = socket_mode.opened
    # Slack ends the connection (or asks the app to move to a new one) mid-handover.
    getattr(socket_mode, how)()
    # Usually within a second; a refresh can take up to 10 s
    # (see bot/slack/transport/socket_mode.py).
    socket_mode.wait_connected(opened + 1, timeout=20)
    assert len(fake_slack.calls_to("apps.connections.open")) > urls_asked  # a new URL
    view = submit(baton, view, STEP2)["view"]
    review = submit(baton, view, STEP3)["view"]
    assert submit(baton, review, {})["response_action"] == "update"
    card_message(fake_slack)
    assert count(db_url, "SELECT count(*) FROM incidents") == 1
    # One new connection took the old one's place.
    socket_mode.wait_open(1)
    assert socket_mode.opened == opened + 1


def test_over_http_only_the_health_probe_and_metrics_are_served(start_socket_baton, fake_slack):
    """Socket Mode checks no signatures, so /slack/events must not exist over HTTP; /healthz
    says whether the WebSocket to Slack is open."""
    baton = start_socket_baton()
    url = baton.processes[0].url
    request = urllib.request.Request(
        f"{url}/slack/events", data=b"command=%2Fmajor-incident&user_id=U1", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 404
    assert fake_slack.calls_to("views.open") == []

    fake_slack.socket_mode.stop()  # Slack is unreachable: no connection can be made

    def health() -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    deadline = time.monotonic() + 10
    while health()[0] == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert health() == (503, {"status": "not connected to Slack"})
