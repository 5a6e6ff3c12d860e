"""The clock across real processes: SIGKILL and restart, and two replicas on one database."""

from __future__ import annotations

import itertools
import signal
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import MIM, SECRET
from tests.flows import card_message, click, hand_over
from tests.slack_user import SlackSender

pytestmark = pytest.mark.both_databases

KINDS = {
    "escalation": ":rotating_light:",
    "reminder": ":hourglass_flowing_sand:",
    "verdict": "First 4 s *missed*",
}


@pytest.fixture
def clock_env(tmp_path, monkeypatch, env):
    config = tmp_path / "baton.toml"
    config.write_text('escalation_after = "2s"\ninitial_notice_nudge = "1h"\n')
    monkeypatch.setenv("BATON_CONFIG", str(config))
    monkeypatch.setenv("BATON_INITIAL_PHASE", "4s")


def as_slack(process, fake) -> SimpleNamespace:
    return SimpleNamespace(slack=SlackSender(process.url, SECRET, fake.response_url), fake=fake)


def counts(fake, card_ts: str) -> dict[str, int]:
    lines = fake.thread(card_ts)
    return {kind: sum(marker in line for line in lines) for kind, marker in KINDS.items()}


def wait_for_counts(fake, card_ts: str, expected: dict[str, int], timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and counts(fake, card_ts) != expected:
        time.sleep(0.1)
    assert counts(fake, card_ts) == expected


@pytest.mark.usefixtures("clock_env")
def test_sigkill_with_deadlines_pending_then_restart_fires_each_once_marked_late(
    baton_process, fake_slack, db_url
):
    first = baton_process()
    card = hand_over(as_slack(first, fake_slack))
    first.stop(signal.SIGKILL)
    assert first.proc.returncode == -signal.SIGKILL
    assert counts(fake_slack, card["ts"]) == {"escalation": 0, "reminder": 0, "verdict": 0}

    time.sleep(6)  # every first-phase deadline falls due while Baton is down
    engine = create_engine(db_url)
    with engine.connect() as conn:
        pending = conn.execute(text("SELECT count(*) FROM deadlines WHERE status='pending'"))
        assert pending.scalar() == 3
    baton_process()
    # The card was posted just before the kill: it is not posted again, and the notices
    # arrive in its thread once each.
    wait_for_counts(
        fake_slack, card["ts"], {"escalation": 1, "reminder": 1, "verdict": 1}, timeout=30
    )
    cards = [
        c
        for c in fake_slack.calls_to("chat.postMessage")
        if "blocks" in c.args and not c.args.get("thread_ts")
    ]
    assert len(cards) == 1
    for line in fake_slack.thread(card["ts"]):
        if any(marker in line for marker in KINDS.values()):
            assert "_(late: this was due <!date^" in line
    time.sleep(2)  # and nothing fires twice
    assert counts(fake_slack, card["ts"]) == {"escalation": 1, "reminder": 1, "verdict": 1}
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT status, late FROM deadlines ORDER BY id")).all()
    assert [tuple(r) for r in rows[:3]] == [("fired", True)] * 3


class LoadBalancer:
    """Sends each request to the next replica in turn, as a round-robin load balancer does."""

    def __init__(self, processes, fake):
        self._senders = itertools.cycle(
            SlackSender(p.url, SECRET, fake.response_url) for p in processes
        )

    def __getattr__(self, name: str):  # baton.slack.command(...) → the next replica's
        return getattr(next(self._senders), name)


def rows(db_url: str, sql: str) -> list[tuple]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        found = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return found


@pytest.mark.usefixtures("clock_env")
def test_two_replicas_on_one_database_send_each_notice_once(baton_process, fake_slack, db_url):
    one, two = baton_process.together(2)
    # Every step of the checklist goes to the other replica than the one before.
    card = hand_over(SimpleNamespace(slack=LoadBalancer([one, two], fake_slack), fake=fake_slack))
    # The manager's click reaches the other replica.
    click(as_slack(two, fake_slack).slack, MIM, card, "incident_accept")
    expected = {"escalation": 0, "reminder": 1, "verdict": 1}
    wait_for_counts(fake_slack, card["ts"], expected)
    time.sleep(2)
    assert counts(fake_slack, card["ts"]) == expected
    lines = fake_slack.thread(card["ts"])
    assert sum("accepted *MI-" in line for line in lines) == 1
    cards = [
        c
        for c in fake_slack.calls_to("chat.postMessage")
        if "blocks" in c.args and not c.args.get("thread_ts")
    ]
    assert len(cards) == 1
    assert "*Owner:* <@U0MIM00001>" in str(card_message(fake_slack)["blocks"])
    # The records: one incident, each event once, each deadline settled once, and every
    # message claimed once (one attempt) and seen in Slack once.
    assert rows(db_url, "SELECT owner_id FROM incidents") == [(MIM,)]
    assert rows(db_url, "SELECT kind FROM events ORDER BY id") == [
        ("handed_over",),
        ("accepted",),
        ("phase_missed",),
    ]
    deadlines = rows(db_url, "SELECT kind, status FROM deadlines ORDER BY id")
    assert deadlines[:3] == [
        ("escalation", "cancelled"),
        ("phase_reminder", "fired"),
        ("phase_end", "fired"),
    ]
    # No notice went out, so no update is due: the initial notice is chased instead.
    assert deadlines[3:] == [("initial_notice_nudge", "pending")]
    outbox = rows(db_url, "SELECT target, status, attempts FROM outbox")
    assert {(status, attempts) for _, status, attempts in outbox} == {("sent", 1)}
    posts = [t for t, _, _ in outbox if t != "card"] + ["card"]  # the card is posted once…
    assert len(fake_slack.calls_to("chat.postMessage")) == len(posts)
    assert len(fake_slack.calls_to("chat.update")) == len(outbox) - len(posts)  # …then updated
