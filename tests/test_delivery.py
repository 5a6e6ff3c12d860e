"""Delivering the outbox to Slack: in order, once, through failures and crashes."""

from __future__ import annotations

import signal
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest

from bot.slack.app import make_client
from bot.slack.delivery import METADATA_EVENT, Deliverer
from handover.models import Incident, Outbox
from handover.settings import load_settings
from handover.store import outbox
from handover.store.db import Database, migrate
from handover.times import utcnow
from handover.vocabulary import Target
from tests.conftest import MIM_CHANNEL, SECRET
from tests.fake_slack import Failure, dm
from tests.flows import card_message, submit, wait_until, walk_to_review
from tests.slack_user import SlackSender

pytestmark = pytest.mark.both_databases


@pytest.fixture
def deliverer(env, fake_slack):
    settings = load_settings(require_slack=True, env_file=None)
    migrate(settings.database_url)
    db = Database(settings.database_url)
    yield Deliverer(db, make_client(settings, retry=False), settings)
    db.dispose()


def queue_dm(db: Database, key: str = "dm:1", text_user: str = "U0AGENT001") -> int:
    with db.session() as s:
        incident = Incident(
            reference="MI-2026-0001",
            year=2026,
            seq=1,
            headline="Mail down",
            answers={},
            handed_over_answers={},
            priority="P1",
            proposed_priority="P1",
            quality_score=50,
            quality_band="red",
            reporter_id=text_user,
            mim_channel="C0MIMS0001",
            card_ts="1700000000.000001",  # the agent's confirmation waits for the card
        )
        s.add(incident)
        s.flush()
        outbox.enqueue(
            s,
            key,
            "handed_over",
            Target.DM,
            incident_id=incident.id,
            params={"user": text_user},
            now=utcnow(),
        )
        return s.query(Outbox).filter_by(key=key).one().id


def row(db: Database, row_id: int) -> Outbox:
    with db.session() as s:
        return s.get(Outbox, row_id)


def test_the_same_intent_is_one_message(deliverer, fake_slack):
    row_id = queue_dm(deliverer.db)
    with deliverer.db.session() as s:
        outbox.enqueue(
            s, "dm:1", "handed_over", Target.DM, params={"user": "U0AGENT001"}, now=utcnow()
        )
        assert s.query(Outbox).count() == 1
    deliverer.deliver_due()
    deliverer.deliver_due()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert row(deliverer.db, row_id).status == "sent"


def test_rate_limited_waits_for_retry_after_then_sends_once(deliverer, fake_slack):
    fake_slack.fail(
        "chat.postMessage",
        Failure(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}),
    )
    row_id = queue_dm(deliverer.db)
    deliverer.deliver_due()
    waiting = row(deliverer.db, row_id)
    assert waiting.status == "pending" and waiting.error == "ratelimited"
    wait = waiting.next_attempt_at - utcnow()
    assert timedelta(seconds=5) < wait <= timedelta(seconds=7)
    assert deliverer.deliver_due() == 0  # not before Retry-After
    with deliverer.db.session() as s:
        s.get(Outbox, row_id).next_attempt_at = utcnow()
    deliverer.deliver_due()
    assert row(deliverer.db, row_id).status == "sent"
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_server_errors_back_off_and_permanent_errors_stop(deliverer, fake_slack):
    fake_slack.fail("chat.postMessage", Failure(500))
    row_id = queue_dm(deliverer.db)
    deliverer.deliver_due()
    backing_off = row(deliverer.db, row_id)
    assert backing_off.status == "pending" and backing_off.next_attempt_at > utcnow()
    assert len(fake_slack.calls_to("chat.postMessage!failed")) == 1

    fake_slack.fail("chat.postMessage", Failure(200, {"ok": False, "error": "channel_not_found"}))
    with deliverer.db.session() as s:
        s.get(Outbox, row_id).next_attempt_at = utcnow()
    deliverer.deliver_due()
    assert row(deliverer.db, row_id).status == "failed"
    assert row(deliverer.db, row_id).error == "channel_not_found"


def test_a_sender_that_died_after_slack_answered_does_not_post_twice(deliverer, fake_slack):
    row_id = queue_dm(deliverer.db)
    # An earlier process posted it, then died before recording it: the row is left "sending".
    client = deliverer.client
    client.chat_postMessage(
        channel=dm("U0AGENT001"),
        text="You handed over…",
        metadata={"event_type": METADATA_EVENT, "event_payload": {"outbox_id": row_id}},
    )
    with deliverer.db.session() as s:
        left = s.get(Outbox, row_id)
        left.status, left.attempts = "sending", 1
        left.lease_until = utcnow() - timedelta(seconds=1)  # its lease ran out
    deliverer.deliver_due()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # only the first one
    assert fake_slack.calls_to("conversations.history")
    done = row(deliverer.db, row_id)
    assert done.status == "sent"
    assert done.result_ts == fake_slack.calls_to("chat.postMessage")[0].result["ts"]


@pytest.mark.parametrize(
    "lost",
    [
        Failure(500, carried_out=True),  # posted, but Slack answered with an error
        Failure(200, carried_out=True, delay=1.5),  # posted, but answered after the timeout
    ],
    ids=["error-after-posting", "answer-too-slow"],
)
def test_a_post_that_reached_slack_but_whose_answer_was_lost_is_not_posted_twice(
    deliverer, fake_slack, lost
):
    deliverer.client.timeout = 0.5
    fake_slack.fail("chat.postMessage", lost)
    row_id = queue_dm(deliverer.db)
    deliverer.deliver_due()
    assert row(deliverer.db, row_id).status == "pending"  # it will be tried again
    with deliverer.db.session() as s:
        s.get(Outbox, row_id).next_attempt_at = utcnow()
    deliverer.deliver_due()
    posted = fake_slack.calls_to("chat.postMessage")
    assert len(posted) == 1  # the retry found it in the conversation instead
    done = row(deliverer.db, row_id)
    assert done.status == "sent" and done.result_ts == posted[0].result["ts"]


def test_a_row_still_leased_by_a_live_sender_is_left_alone(deliverer, fake_slack):
    row_id = queue_dm(deliverer.db)
    with deliverer.db.session() as s:
        busy = s.get(Outbox, row_id)
        busy.status, busy.attempts = "sending", 1
        busy.lease_until = utcnow() + timedelta(seconds=10)
    assert deliverer.deliver_due() == 0
    assert fake_slack.calls_to("chat.postMessage") == []


def test_a_rate_limited_message_survives_a_crash_and_arrives_once(
    baton_process, fake_slack, db_url
):
    """Slack answers the handover card with 429 and Retry-After; Baton is killed before the
    retry; the next `baton serve` on the same database posts it, once."""
    first = baton_process()
    fake_slack.fail(
        "chat.postMessage",
        Failure(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "2"}),
    )
    as_slack = SimpleNamespace(
        slack=SlackSender(first.url, SECRET, fake_slack.response_url), fake=fake_slack
    )
    submit(as_slack, walk_to_review(as_slack), {})
    db = Database(db_url)

    def rescheduled() -> bool:
        with db.session() as s:
            return s.query(Outbox).filter_by(status="pending", error="ratelimited").count() == 1

    wait_until(rescheduled)  # the card, refused for now and due again in 2 s
    db.dispose()
    first.stop(signal.SIGKILL)

    baton_process()
    card = card_message(fake_slack)
    cards = [
        c
        for c in fake_slack.calls_to("chat.postMessage")
        if c.args["channel"] == MIM_CHANNEL and not c.args.get("thread_ts")
    ]
    assert [c.result["ts"] for c in cards] == [card["ts"]]
    time.sleep(1)  # anything doubled would have been sent by now
    posts = [(c.args["channel"], c.args["text"]) for c in fake_slack.calls_to("chat.postMessage")]
    assert len(posts) == len(set(posts))
