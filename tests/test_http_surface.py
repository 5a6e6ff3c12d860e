"""The HTTP surface: signatures checked on every request, health, and the real `baton serve`."""

from __future__ import annotations

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest

from bot.slack.transport.replays import RecentSignatures
from bot.slack.transport.server import HTTP_THREADS
from handover.models import Event
from tests.conftest import AGENT, MIM, MIM_CHANNEL
from tests.flows import hand_over, incident, wait_until


def test_wrong_signature_is_refused_without_side_effects(baton):
    reply = baton.slack.command(AGENT, "E-mail down everywhere", secret="not-the-secret")
    assert reply.status == 401
    time.sleep(0.3)
    assert baton.fake.calls_to("views.open") == []
    assert baton.handovers.latest_open_draft(AGENT) is None


def test_stale_timestamp_is_refused(baton):
    reply = baton.slack.command(
        AGENT, "E-mail down everywhere", timestamp=int(time.time()) - 10 * 60
    )
    assert reply.status == 401
    time.sleep(0.3)
    assert baton.fake.calls_to("views.open") == []


def test_unsigned_request_is_refused(baton):
    request = urllib.request.Request(
        f"{baton.url}/slack/events", data=b"command=%2Fmajor-incident", method="POST"
    )
    try:
        urllib.request.urlopen(request, timeout=5)
        raise AssertionError("an unsigned request was accepted")
    except urllib.error.HTTPError as err:
        assert err.code == 401


def test_healthz_answers_when_the_database_does(baton):
    with urllib.request.urlopen(f"{baton.url}/healthz", timeout=5) as resp:
        assert resp.status == 200
        assert b'"ok"' in resp.read()


def test_healthz_is_503_when_the_database_is_gone(baton, tmp_path):
    baton.db.engine.dispose()
    (tmp_path / "baton.db").unlink()
    (tmp_path / "baton.db").mkdir()  # a folder where the file was: SQLite cannot open it
    try:
        urllib.request.urlopen(f"{baton.url}/healthz", timeout=5)
        raise AssertionError("healthz said ok without a database")
    except urllib.error.HTTPError as err:
        assert err.code == 503


def test_baton_serve_process_migrates_and_serves(baton_process, fake_slack):
    process = baton_process()
    from tests.conftest import SECRET
    from tests.slack_user import SlackSender

    sender = SlackSender(process.url, SECRET, fake_slack.response_url)
    reply = sender.command(AGENT, "Payroll is down for the whole company")
    assert reply.status == 200
    view = fake_slack.wait_for("views.open")[0].args["view"]
    assert view["callback_id"] == "handover_step"


def test_acks_never_wait_for_slack_to_answer(baton):
    """Slack is slow to open forms while more people than Baton has HTTP threads type the
    command at once: every listener gets to run and acknowledge while the earlier ones still
    wait for views.open, and every form opens once Slack answers."""
    people = 3 * HTTP_THREADS
    agents = [f"U0AGENT{n:03d}" for n in range(people)]
    gate = baton.fake.hold("views.open")
    try:
        with ThreadPoolExecutor(people) as pool:
            replies = list(
                pool.map(lambda agent: baton.slack.command(agent, "Payroll down"), agents)
            )
        assert [r.status for r in replies] == [200] * people
        # All of them ran past their ack and saved their draft, none answered by Slack yet.
        wait_until(lambda: all(baton.handovers.open_drafts(agent) for agent in agents))
        assert baton.fake.calls_to("views.open") == []
    finally:
        gate.set()
    opened = baton.fake.wait_for("views.open", count=people)
    assert len({call.args["trigger_id"] for call in opened}) == people


@pytest.mark.both_databases  # kept in memory with SQLite, in the database with PostgreSQL
def test_a_replayed_request_is_refused_without_side_effects(baton):
    """Someone who captured a signed request sends it again within bolt's five minutes."""
    body = urlencode(baton.slack.command_fields(AGENT, "E-mail down everywhere"))
    stamp = int(time.time())
    assert baton.slack.post(body, timestamp=stamp).status == 200
    baton.fake.wait_for("views.open")
    replay = baton.slack.post(body, timestamp=stamp)
    assert replay.status == 401
    time.sleep(0.3)
    assert len(baton.handovers.open_drafts(AGENT)) == 1
    assert len(baton.fake.calls_to("views.open")) == 1
    # Slack's own retry of it is no replay: answered, and it starts nothing new either.
    retry = baton.slack.post(body, timestamp=stamp, headers={"X-Slack-Retry-Num": "1"})
    assert retry.status == 200
    assert "started nothing new" in retry.text
    assert len(baton.handovers.open_drafts(AGENT)) == 1


def test_a_wrongly_signed_click_is_refused(baton):
    card = hand_over(baton)
    reply = baton.slack.click(MIM, card, "incident_accept", MIM_CHANNEL, secret="not-the-secret")
    assert reply.status == 401
    time.sleep(0.3)
    assert incident(baton).owner_id is None


@pytest.mark.both_databases
def test_a_replayed_click_is_refused_whatever_retry_header_it_carries(baton):
    """Slack never retries a click: a copy claiming to be a retry is a replay all the same."""
    card = hand_over(baton)
    payload = baton.slack.click_payload(MIM, card, "incident_accept", MIM_CHANNEL)
    body = urlencode({"payload": json.dumps(payload)})
    stamp = int(time.time())
    assert baton.slack.post(body, timestamp=stamp).status == 200
    wait_until(lambda: incident(baton).owner_id == MIM)
    for retry in ("1", "2", "9"):
        replay = baton.slack.post(body, timestamp=stamp, headers={"X-Slack-Retry-Num": retry})
        assert replay.status == 401
    with baton.db.session() as s:
        assert s.query(Event).filter_by(kind="accepted").count() == 1


def test_signatures_are_remembered_as_long_as_they_could_be_replayed():
    seen = RecentSignatures(keep=0.2)
    assert seen.claim("a") and seen.claim("b")
    assert not seen.claim("a")
    time.sleep(0.3)  # long gone: bolt would refuse its timestamp before this guard sees it
    assert seen.claim("a")
    assert len(seen) == 1  # "b" forgotten too: memory stays bounded
