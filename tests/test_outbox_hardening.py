"""The outbox under strain (docs/architecture.md, "When Slack refuses"): what waits for a
refused card is held, a retry never says something no longer true, a sender whose lease ran
out cannot undo the one that took the row over, and a user group is reached member by member.
Through signed requests, the fake Slack, a real database and the real sender; the claim's
fence at the store, where two senders can be made to overlap."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from handover.models import Event, Outbox
from handover.reach import Reach
from handover.settings import load_settings
from handover.store import outbox
from handover.store.db import Database, migrate
from handover.times import utcnow
from handover.vocabulary import OutboxKind, Target
from tests.conftest import AGENT, MIM, MIM_CHANNEL, STAKEHOLDER_CHANNEL
from tests.fake_slack import Failure, dm
from tests.flows import card_message, click, draft_message, wait_until
from tests.prometheus import scrape, value
from tests.test_cli import baton as baton_cli
from tests.test_delivery import queue_dm
from tests.test_reach import (
    card_posts,
    dms_to,
    events,
    outbox_rows,
    refused,
    status_of,
    submit_handover,
)

pytestmark = pytest.mark.both_databases
BACKUP = "U0BACKUP01"
GROUP = "S0BACKUP01"
MEMBERS = ("U0BACKUP01", "U0BACKUP02", "U0BACKUP03")
# A scripted answer that is Slack's own: the call goes through as usual (it lets a test refuse
# the second call of a method and not the first).
AS_USUAL = Failure(200, carried_out=True)


def configure(tmp_path, monkeypatch, toml: str) -> None:
    path = tmp_path / "baton.toml"
    path.write_text(toml)
    monkeypatch.setenv("BATON_CONFIG", str(path))


@pytest.fixture
def config(env, tmp_path, monkeypatch):
    configure(
        tmp_path,
        monkeypatch,
        f'escalate_to = "{BACKUP}"\nescalation_after = "2s"\n'
        'card_retry_for = "2s"\nretry_for = "2s"\n',
    )


@pytest.fixture
def group_config(env, tmp_path, monkeypatch, fake_slack):
    configure(tmp_path, monkeypatch, f'escalate_to = "{GROUP}"\nretry_for = "5s"\n')
    fake_slack.usergroups[GROUP] = list(MEMBERS)


@pytest.fixture
def db(env):
    """The database alone, no sender running: the test is the sender."""
    settings = load_settings(require_slack=True, env_file=None)
    migrate(settings.database_url)
    database = Database(settings.database_url)
    yield database
    database.dispose()


def cli_env(database_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url}


def row(database: Database, row_id: int) -> Outbox:
    with database.session() as s:
        return s.get_one(Outbox, row_id)


def refuse_the_card(baton) -> None:
    # The managers' channel is private and Baton was never invited.
    baton.fake.add_channel(MIM_CHANNEL, "major-incidents", private=True, member=False)


# 1. What is queued for the thread after the card was refused is held, not leased again. ------


def test_a_thread_line_queued_after_the_card_was_refused_is_held(config, baton):
    refuse_the_card(baton)
    submit_handover(baton)
    wait_until(lambda: status_of(baton, what="handed_over") == "held")
    # Nobody accepts (nobody can: no card): the escalation's line is queued for the thread.
    wait_until(lambda: outbox_rows(baton, what="escalation"), timeout=10)
    wait_until(lambda: status_of(baton, what="escalation") == "held", timeout=5)
    time.sleep(1.5)
    (line,) = outbox_rows(baton, what="escalation")
    assert (line.status, line.attempts) == ("held", 1)  # claimed once, then parked
    # The card's retry releases it with the rest, after the card.
    baton.fake.invite_bot(MIM_CHANNEL)
    retried = baton_cli("outbox", "retry", "--all", env=cli_env(baton.settings.database_url))
    assert retried.returncode == 0, retried.stderr
    wait_until(lambda: card_posts(baton.fake, ok=True))
    card = card_message(baton.fake)
    wait_until(lambda: any("has not been accepted" in t for t in baton.fake.thread(card["ts"])))


# 2. A retry does not tell anyone the card is missing once it is not. --------------------------


@pytest.mark.parametrize("card_first", [True, False], ids=["card-retried-first", "all-at-once"])
def test_retry_all_drops_the_card_refused_messages_once_the_card_is_on_its_way(
    config, baton, card_first
):
    refuse_the_card(baton)
    # The messages saying so are refused too (the agent's, then the backup's).
    baton.fake.fail("conversations.open", refused("user_not_found"), refused("user_not_found"))
    submit_handover(baton)
    told = (OutboxKind.CARD_UNDELIVERED_DM, OutboxKind.CARD_UNDELIVERED_ALERT)
    wait_until(lambda: all(outbox_rows(baton, what=w, status="failed") for w in told))
    stale = sorted(r.id for w in told for r in outbox_rows(baton, what=w))
    env = cli_env(baton.settings.database_url)
    baton.fake.invite_bot(MIM_CHANNEL)
    if card_first:
        (card_row,) = outbox_rows(baton, what="card_post")
        assert baton_cli("outbox", "retry", str(card_row.id), env=env).returncode == 0
        wait_until(lambda: card_posts(baton.fake, ok=True))
    retried = baton_cli("outbox", "retry", "--all", env=env)
    assert retried.returncode == 0, retried.stderr
    assert f"Dropped 2 obsolete message(s): {stale[0]}, {stale[1]}" in retried.stdout
    baton.fake.wait_for(
        "chat.postMessage",
        where=lambda a: a["channel"] == dm(AGENT) and "You handed over" in a["text"],
    )
    time.sleep(1.5)  # anything re-queued would be out by now
    assert not any("NOT received" in t for t in dms_to(baton.fake, AGENT))
    assert dms_to(baton.fake, BACKUP) == []
    for row_id in stale:
        dropped = row(baton.db, row_id)
        assert dropped.status == "sent" and dropped.sent_at is None
        assert dropped.error.startswith("obsolete")
    assert baton_cli("outbox", env=env).stdout.startswith("Every message was delivered")


def test_retry_still_sends_the_card_refused_message_while_the_card_is_refused(config, baton):
    refuse_the_card(baton)
    baton.fake.fail("conversations.open", refused("user_not_found"))  # the agent's
    submit_handover(baton)
    wait_until(lambda: outbox_rows(baton, what="card_undelivered_dm", status="failed"))
    (told,) = outbox_rows(baton, what="card_undelivered_dm")
    retried = baton_cli("outbox", "retry", str(told.id), env=cli_env(baton.settings.database_url))
    assert retried.returncode == 0, retried.stderr
    assert f"Re-queued 1 message(s): {told.id}." in retried.stdout
    wait_until(lambda: any("NOT received" in t for t in dms_to(baton.fake, AGENT)))


# 3. Marks are fenced by the claim. ----------------------------------------------------------


def claimed_twice(database: Database) -> tuple[int, int, int]:
    """A row claimed by a sender that then overran its lease, and claimed again by another;
    returns the row's id and each claim (the attempts it set)."""
    row_id = queue_dm(database)
    start = utcnow()
    first = row(database, row_id)
    with database.session() as s:
        assert outbox.claim(s, first, start)
    later = start + outbox.LEASE + timedelta(seconds=1)
    with database.session() as s:
        (again,) = outbox.due(s, later)  # the lease ran out: due again
    with database.session() as s:
        assert outbox.claim(s, again, later)
    return row_id, first.attempts + 1, again.attempts + 1


def test_a_sender_whose_lease_ran_out_cannot_mark_over_the_one_that_claimed_it_since(db):
    row_id, mine, theirs = claimed_twice(db)
    now = utcnow()
    with db.session() as s:
        assert not outbox.renew(s, row_id, mine, now)
        assert not outbox.sent(s, row_id, "1700000001.000001", now, claimed=mine)
        assert not outbox.failed(s, row_id, "channel_not_found", claimed=mine)
        assert not outbox.retry(s, row_id, mine, "ratelimited", now)
        assert not outbox.defer(s, row_id, now, timedelta(seconds=1), claimed=mine)
    taken = row(db, row_id)
    assert (taken.status, taken.attempts, taken.error, taken.result_ts) == (
        "sending",
        theirs,
        "",
        None,
    )
    with db.session() as s:
        assert outbox.renew(s, row_id, theirs, now)
        assert outbox.sent(s, row_id, "1700000001.000002", now, claimed=theirs)
    # Sent: a late mark of either sender, even one that does not say its claim, is a no-op.
    with db.session() as s:
        assert not outbox.failed(s, row_id, "channel_not_found")
        assert not outbox.retry(s, row_id, theirs, "ratelimited", now)
    done = row(db, row_id)
    assert (done.status, done.result_ts, done.error) == ("sent", "1700000001.000002", "")


def test_giving_up_on_a_lost_claim_marks_nothing_and_tells_nobody(db):
    row_id, mine, theirs = claimed_twice(db)
    reach = Reach(db, load_settings(require_slack=True, env_file=None))
    assert not reach.give_up(row_id, "user_not_found", claimed=mine)
    with db.session() as s:
        assert s.query(Event).count() == 0
    assert row(db, row_id).status == "sending"
    assert reach.give_up(row_id, "user_not_found", claimed=theirs)
    with db.session() as s:
        assert [e.kind for e in s.query(Event)] == ["message_undelivered"]
    assert row(db, row_id).status == "failed"


# 4. A user group is reached member by member. -------------------------------------------------


def alerts_to(fake, user: str) -> list[str]:
    return [t for t in dms_to(fake, user) if "did not reach the incident managers" in t]


def test_a_group_alert_skips_a_member_slack_refuses_and_reaches_the_others(group_config, baton):
    refuse_the_card(baton)
    # The agent is told first; then the group's first member, deactivated, cannot be DMed.
    baton.fake.fail("conversations.open", AS_USUAL, refused("user_disabled"))
    submit_handover(baton)
    wait_until(lambda: outbox_rows(baton, what="card_undelivered_alert", status="sent"))
    assert alerts_to(baton.fake, MEMBERS[0]) == []
    for member in MEMBERS[1:]:
        assert len(alerts_to(baton.fake, member)) == 1
    (event,) = events(baton, "message_undelivered")
    assert event.detail == {
        "what": "card_undelivered_alert",
        "target": "dm",
        "error": f"user_disabled ({MEMBERS[0]})",
    }
    samples = scrape(baton.url)
    assert value(samples, "baton_messages_undelivered_total", what="card_undelivered_alert") == 1


def test_a_group_alert_no_member_received_is_given_up(group_config, baton):
    refuse_the_card(baton)
    baton.fake.fail(
        "conversations.open",
        AS_USUAL,
        refused("user_disabled"),
        refused("user_not_found"),
        refused("user_disabled"),
    )
    submit_handover(baton)
    wait_until(lambda: outbox_rows(baton, what="card_undelivered_alert", status="failed"))
    (alert,) = outbox_rows(baton, what="card_undelivered_alert")
    assert alert.error == "user_disabled"
    assert [e.detail["error"] for e in events(baton, "message_undelivered")] == ["user_disabled"]
    assert all(alerts_to(baton.fake, member) == [] for member in MEMBERS)


def test_a_group_alert_slack_fails_midway_is_retried_without_repeating_anyone(group_config, baton):
    refuse_the_card(baton)
    busy = Failure(503, {"ok": False, "error": "service_unavailable"})
    baton.fake.fail("conversations.open", AS_USUAL, AS_USUAL, busy)  # the second member's
    submit_handover(baton)
    wait_until(lambda: outbox_rows(baton, what="card_undelivered_alert", status="sent"))
    assert [len(alerts_to(baton.fake, member)) for member in MEMBERS] == [1, 1, 1]
    assert events(baton, "message_undelivered") == []


# 7. `baton outbox` lists what is still to do, and retry says what it did. ---------------------


def test_a_refused_notice_sent_again_leaves_the_outbox_listing(config, baton):
    submit_handover(baton)
    card = card_message(baton.fake)
    click(baton.slack, MIM, card, "incident_accept")
    draft = draft_message(baton.fake, card["ts"])
    baton.fake.archive(STAKEHOLDER_CHANNEL)
    assert click(baton.slack, MIM, draft, "notice_send").status == 200
    wait_until(lambda: outbox_rows(baton, what="notice_publish", status="failed"))
    env = cli_env(baton.settings.database_url)
    assert "notice_publish" in baton_cli("outbox", env=env).stdout
    baton.fake.unarchive(STAKEHOLDER_CHANNEL)
    assert click(baton.slack, MIM, draft, "notice_send").status == 200
    baton.fake.wait_for(
        "chat.postMessage",
        where=lambda a: a.get("thread_ts") == card["ts"] and "Initial notice sent" in a["text"],
    )
    listed = baton_cli("outbox", env=env)
    assert listed.stdout.startswith("Every message was delivered"), listed.stdout
    retried = baton_cli("outbox", "retry", "--all", env=env)
    assert "press Send" not in retried.stderr
    assert retried.stdout.startswith("Nothing to retry")


def test_retry_does_not_count_a_row_left_mid_send_as_re_queued(db, env):
    stuck = queue_dm(db)
    with db.session() as s:
        left = s.get_one(Outbox, stuck)
        left.status, left.attempts = "sending", 1
        left.lease_until = utcnow() - timedelta(seconds=1)  # its sender died
        outbox.enqueue(
            s,
            "dm:2",
            "handed_over",
            Target.DM,
            incident_id=left.incident_id,
            params={"user": AGENT},
            now=utcnow(),
        )
        refused_dm = s.query(Outbox).filter_by(key="dm:2").one()
        refused_dm.status, refused_dm.error = "failed", "user_not_found"
        failed_id = refused_dm.id
    retried = baton_cli("outbox", "retry", "--all", env=cli_env(env["DATABASE_URL"]))
    assert retried.returncode == 0, retried.stderr
    assert f"Re-queued 1 message(s): {failed_id}." in retried.stdout
    assert f"baton: {stuck} not re-queued: left mid-send" in retried.stderr
    assert row(db, stuck).status == "sending"
    assert row(db, failed_id).status == "pending"
