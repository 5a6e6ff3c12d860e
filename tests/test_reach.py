"""When Slack refuses: every message someone must act on reaches a person, or someone is told
that it did not (docs/architecture.md, "When Slack refuses"). Through signed requests, the
fake Slack, a real database and the real outbox sender."""

from __future__ import annotations

import time

import pytest
from slack_sdk import WebClient

from handover.models import Event, Incident, Notice, Outbox
from handover.store import outbox
from handover.times import utcnow
from handover.vocabulary import Target
from tests.conftest import AGENT, MIM, MIM_CHANNEL, STAKEHOLDER_CHANNEL
from tests.fake_slack import Failure, dm
from tests.flows import card_message, click, draft_message, submit, wait_until, walk_to_review
from tests.prometheus import scrape, value
from tests.test_cli import baton as baton_cli

pytestmark = pytest.mark.both_databases
BACKUP = "U0BACKUP01"


def refused(error: str) -> Failure:
    return Failure(200, {"ok": False, "error": error})


@pytest.fixture
def config(env, tmp_path, monkeypatch):
    path = tmp_path / "baton.toml"
    path.write_text(f'escalate_to = "{BACKUP}"\ncard_retry_for = "2s"\nretry_for = "2s"\n')
    monkeypatch.setenv("BATON_CONFIG", str(path))
    return path


def submit_handover(baton) -> dict:
    """The agent hands over; returns the modal Baton answered with."""
    return submit(baton, walk_to_review(baton), {})


def dms_to(fake, user: str) -> list[str]:
    return [
        c.args["text"] for c in fake.calls_to("chat.postMessage") if c.args["channel"] == dm(user)
    ]


def card_posts(fake, ok: bool) -> list:
    return [
        c
        for c in fake.calls_to("chat.postMessage")
        if c.args["channel"] == MIM_CHANNEL and not c.args.get("thread_ts") and c.result["ok"] == ok
    ]


def events(baton, kind: str) -> list[Event]:
    with baton.db.session() as s:
        return s.query(Event).filter_by(kind=kind).all()


def outbox_rows(baton, **where) -> list[Outbox]:
    with baton.db.session() as s:
        return s.query(Outbox).filter_by(**where).all()


def status_of(baton, **where) -> str | None:
    """The status of the one matching row, None while it is not written yet (work after the ack)."""
    rows = outbox_rows(baton, **where)
    return rows[0].status if rows else None


@pytest.mark.usefixtures("config")
def test_a_refused_card_is_told_to_the_agent_and_escalate_to_at_once(baton):
    # The managers' channel is private and Baton was never invited: Slack says it is not found.
    baton.fake.add_channel(MIM_CHANNEL, "major-incidents", private=True, member=False)
    answer = submit_handover(baton)
    shown = str(answer["view"])
    assert "have it now" not in shown  # the modal never claims the managers have it
    assert "posting it to the incident managers" in shown
    started = time.time()
    told = baton.fake.wait_for(
        "chat.postMessage",
        where=lambda a: a["channel"] == dm(AGENT) and "NOT received" in a["text"],
        timeout=5,
    )[0]
    assert time.time() - started < 5
    ref = baton.handovers.find("MI-2026-0001").reference
    text = told.args["text"]
    assert f"*The incident managers have NOT received {ref}*" in text
    assert "/invite @Baton" in text and f"<#{MIM_CHANNEL}>" in text
    assert "*Call the incident managers now*" in text and f"<@{BACKUP}> has been told" in text
    alert = baton.fake.wait_for(
        "chat.postMessage", where=lambda a: a["channel"] == dm(BACKUP), timeout=5
    )[0].args["text"]
    assert f"{ref} (P" in alert and "did not reach the incident managers" in alert
    assert "E-mail down" in alert and f"<@{AGENT}>" in alert  # the essentials, to act on
    # The refusal is on the timeline; what waits for the card is held, not retried each second.
    assert [e.detail["error"] for e in events(baton, "card_undelivered")] == ["channel_not_found"]
    wait_until(lambda: status_of(baton, what="handed_over") == "held")
    assert {r.status for r in outbox_rows(baton, what="notice_post")} == {"held"}
    time.sleep(1.5)
    # Never the success confirmation, and no second card attempt.
    assert not any("You handed over" in t for t in dms_to(baton.fake, AGENT))
    card_posts = [
        c for c in baton.fake.calls_to("chat.postMessage") if c.args["channel"] == MIM_CHANNEL
    ]
    assert len(card_posts) == 1 and card_posts[0].result["error"] == "channel_not_found"
    timeline = baton.slack.command(MIM, f"timeline {ref}").text
    assert "could not post the card: the managers did not get it (channel_not_found)" in timeline


@pytest.mark.usefixtures("config")
def test_the_agent_is_told_the_managers_have_it_only_once_the_card_is_posted(baton):
    gate = baton.fake.hold("chat.postMessage")
    submit_handover(baton)
    time.sleep(1.0)  # the card is held at Slack: nothing may claim it arrived
    assert baton.fake.calls_to("chat.postMessage") == []
    gate.set()
    card = card_message(baton.fake)
    confirmation = baton.fake.wait_for(
        "chat.postMessage", where=lambda a: a["channel"] == dm(AGENT), timeout=10
    )[0]
    assert "You handed over *MI-2026-0001*" in confirmation.args["text"]
    card_call = next(
        c for c in baton.fake.calls_to("chat.postMessage") if c.result["ts"] == card["ts"]
    )
    assert card_call.at <= confirmation.at


@pytest.mark.usefixtures("config")
def test_a_card_failing_too_long_gives_up_and_says_so(baton):
    # Slack keeps answering 503 (retryable) for longer than card_retry_for (2 s here).
    baton.fake.fail(
        "chat.postMessage", *[Failure(503, {"ok": False, "error": "service_unavailable"})] * 6
    )
    submit_handover(baton)
    told = baton.fake.wait_for(
        "chat.postMessage",
        where=lambda a: a["channel"] == dm(AGENT) and "NOT received" in a["text"],
        timeout=15,
    )[0]
    assert "Slack answered `service_unavailable`" in told.args["text"]
    assert status_of(baton, what="card_post") == "failed"


@pytest.mark.usefixtures("config")
def test_outbox_lists_the_refused_card_and_retry_posts_it_once_marked_late(baton):
    baton.fake.add_channel(MIM_CHANNEL, "major-incidents", private=True, member=False)
    submit_handover(baton)
    wait_until(lambda: status_of(baton, what="handed_over") == "held")
    env = {"DATABASE_URL": baton.settings.database_url}
    listed = baton_cli("outbox", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "MI-2026-0001" in listed.stdout and "card_post" in listed.stdout
    assert f"to {MIM_CHANNEL} (the card)" in listed.stdout
    assert f"why: channel_not_found: Slack cannot find {MIM_CHANNEL}" in listed.stdout
    assert "waits for its card, which Slack refused" in listed.stdout
    # The admin invites Baton, then retries; the running process delivers.
    baton.fake.invite_bot(MIM_CHANNEL)
    retried = baton_cli("outbox", "retry", "--all", env=env)
    assert retried.returncode == 0, retried.stderr
    assert "Re-queued" in retried.stdout
    wait_until(lambda: card_posts(baton.fake, ok=True))
    card = card_message(baton.fake)
    posts = [
        c
        for c in baton.fake.calls_to("chat.postMessage")
        if c.args["channel"] == MIM_CHANNEL and not c.args.get("thread_ts") and c.result["ok"]
    ]
    assert len(posts) == 1  # exactly one card
    assert "*Posted late:*" in str(card["blocks"]) and "Slack refused it first" in str(
        card["blocks"]
    )
    # What waited for the card follows it: the agent's confirmation, the notice's draft.
    baton.fake.wait_for(
        "chat.postMessage",
        where=lambda a: a["channel"] == dm(AGENT) and "You handed over" in a["text"],
    )
    draft_message(baton.fake, card["ts"])
    wait_until(lambda: baton_cli("outbox", env=env).stdout.startswith("Every message"))
    assert events(baton, "card_late")


def test_outbox_retry_needs_ids_or_all_and_names_unknown_ids(baton):
    env = {"DATABASE_URL": baton.settings.database_url}
    neither = baton_cli("outbox", "retry", env=env)
    assert neither.returncode == 2
    assert neither.stderr.strip() == "baton: give the ids to retry (see `baton outbox`), or --all"
    unknown = baton_cli("outbox", "retry", "999", env=env)
    assert unknown.returncode == 2
    assert "not failed, held or stuck: 999" in unknown.stderr


def send_initial_notice(baton) -> dict:
    submit_handover(baton)
    card = card_message(baton.fake)
    click(baton.slack, MIM, card, "incident_accept")
    draft = draft_message(baton.fake, card["ts"])
    assert click(baton.slack, MIM, draft, "notice_send").status == 200
    return card


@pytest.mark.usefixtures("config")
def test_a_notice_to_an_archived_channel_is_not_sent_and_the_owner_is_told(baton):
    submit_handover(baton)
    card = card_message(baton.fake)
    click(baton.slack, MIM, card, "incident_accept")
    draft = draft_message(baton.fake, card["ts"])
    baton.fake.archive(STAKEHOLDER_CHANNEL)
    assert click(baton.slack, MIM, draft, "notice_send").status == 200
    line = baton.fake.wait_for(
        "chat.postMessage",
        where=lambda a: (
            a.get("thread_ts") == card["ts"] and "could *not* be published" in a["text"]
        ),
    )[0].args["text"]
    assert line.startswith(f":x: <@{MIM}> The initial notice could *not* be published")
    assert f"<#{STAKEHOLDER_CHANNEL}> is archived" in line
    assert "press *Send* on the draft again" in line
    with baton.db.session() as s:
        notice = s.query(Notice).filter_by(kind="initial").one()
        assert notice.status == "draft" and notice.sent_at is None
        assert s.query(Incident).one().initial_comms_at is None  # not counted as sent
    assert not any("Initial notice sent" in t for t in baton.fake.thread(card["ts"]))
    wait_until(
        lambda: (
            "NOT sent"
            in str(
                [c.args for c in baton.fake.calls_to("chat.update") if c.args["ts"] == draft["ts"]][
                    -1:
                ]
            )
        )
    )
    updated = [c.args for c in baton.fake.calls_to("chat.update") if c.args["ts"] == draft["ts"]][
        -1
    ]
    assert ":white_check_mark:" not in updated["text"]
    assert any(b.get("block_id") == "notice_actions" for b in updated["blocks"])  # Send is back
    # The cause fixed, Send again: published once, counted now.
    baton.fake.unarchive(STAKEHOLDER_CHANNEL)
    assert click(baton.slack, MIM, draft, "notice_send").status == 200
    baton.fake.wait_for(
        "chat.postMessage",
        where=lambda a: a.get("thread_ts") == card["ts"] and "Initial notice sent" in a["text"],
    )
    published = [
        c
        for c in baton.fake.calls_to("chat.postMessage")
        if c.args["channel"] == STAKEHOLDER_CHANNEL and c.result["ok"]
    ]
    assert len(published) == 1
    with baton.db.session() as s:
        assert s.query(Incident).one().initial_comms_at is not None
    assert [e.detail["error"] for e in events(baton, "notice_undelivered")] == ["is_archived"]


@pytest.mark.usefixtures("config")
def test_a_direct_message_refused_for_good_is_recorded_and_counted(baton):
    submit_handover(baton)
    card = card_message(baton.fake)
    baton.fake.wait_for("chat.postMessage", where=lambda a: a["channel"] == dm(AGENT))
    baton.fake.fail("conversations.open", refused("user_not_found"))
    click(baton.slack, MIM, card, "incident_accept")  # its DM to the agent is refused
    wait_until(lambda: events(baton, "message_undelivered"))
    (event,) = events(baton, "message_undelivered")
    assert event.detail == {"what": "accepted_dm", "target": "dm", "error": "user_not_found"}
    assert value(scrape(baton.url), "baton_messages_undelivered_total", what="accepted_dm") == 1


def accepted(baton) -> dict:
    """Handed over and accepted, with everything it said delivered; returns the card."""
    submit_handover(baton)
    card = card_message(baton.fake)
    draft_message(baton.fake, card["ts"])
    baton.fake.wait_for("chat.postMessage", where=lambda a: a["channel"] == dm(AGENT))
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: any("accepted" in t for t in baton.fake.thread(card["ts"])))
    baton.fake.wait_for("chat.postMessage", where=lambda a: a["channel"] == dm(AGENT), count=2)
    return card


@pytest.mark.usefixtures("config")
def test_a_retried_post_to_a_public_channel_baton_cannot_read_still_goes_out(baton):
    # Public, Baton not in it: chat:write.public lets it post, but it cannot read history.
    baton.fake.add_channel(STAKEHOLDER_CHANNEL, "stakeholders", private=False, member=False)
    card = accepted(baton)
    baton.fake.fail("chat.postMessage", Failure(500))  # the first publish attempt
    assert (
        click(baton.slack, MIM, draft_message(baton.fake, card["ts"]), "notice_send").status == 200
    )
    baton.fake.wait_for(
        "chat.postMessage",
        where=lambda a: a.get("thread_ts") == card["ts"] and "Initial notice sent" in a["text"],
    )
    looked = baton.fake.calls_to("conversations.history")
    assert looked and looked[-1].result["error"] == "not_in_channel"
    published = [
        c
        for c in baton.fake.calls_to("chat.postMessage")
        if c.args["channel"] == STAKEHOLDER_CHANNEL and c.result["ok"]
    ]
    assert len(published) == 1


@pytest.mark.usefixtures("config")
def test_a_retried_line_in_a_long_thread_is_found_not_posted_twice(baton):
    submit_handover(baton)
    card = card_message(baton.fake)
    draft_message(baton.fake, card["ts"])
    baton.fake.wait_for("chat.postMessage", where=lambda a: a["channel"] == dm(AGENT))
    people = WebClient(token="xoxb-people", base_url=baton.fake.url)
    for n in range(250):  # a busy incident: people talk in the card's thread
        people.chat_postMessage(channel=MIM_CHANNEL, thread_ts=card["ts"], text=f"update {n}")
    # Slack posts the "accepted" line, but its answer is lost: Baton must look before retrying.
    baton.fake.fail("chat.postMessage", Failure(500, carried_out=True))
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: status_of(baton, what="accepted") == "sent", timeout=15)
    lines = [t for t in baton.fake.thread(card["ts"]) if "accepted *MI-" in t]
    assert len(lines) == 1
    pages = [c for c in baton.fake.calls_to("conversations.replies")]
    assert len(pages) >= 2  # the line was past the first page of 200


def test_a_row_that_cannot_be_rendered_fails_once_with_its_error(baton):
    submit_handover(baton)
    card = card_message(baton.fake)
    with baton.db.session() as s:
        incident_id = s.query(Incident).one().id
        outbox.enqueue(  # an "accepted" line whose params lack what its words need
            s, "broken", "accepted", Target.THREAD, incident_id=incident_id, params={}, now=utcnow()
        )
    wait_until(lambda: status_of(baton, key="broken") == "failed")
    (row,) = outbox_rows(baton, key="broken")
    assert row.attempts == 1 and row.error.startswith("TypeError: Accepted")
    (event,) = events(baton, "message_undelivered")
    assert event.detail["what"] == "accepted"
    time.sleep(1.5)
    assert outbox_rows(baton, key="broken")[0].attempts == 1  # not picked again
    assert card["ts"]


def test_a_refused_card_alerts_every_member_of_an_escalation_group(
    env, tmp_path, monkeypatch, request
):
    path = tmp_path / "baton.toml"
    path.write_text('escalate_to = "S0BACKUP01"\n')
    monkeypatch.setenv("BATON_CONFIG", str(path))
    fake = request.getfixturevalue("fake_slack")
    fake.usergroups["S0BACKUP01"] = ["U0BACKUP01", "U0BACKUP02"]
    fake.add_channel(MIM_CHANNEL, "major-incidents", private=True, member=False)
    baton = request.getfixturevalue("baton")
    submit_handover(baton)
    for member in ("U0BACKUP01", "U0BACKUP02"):
        alert = fake.wait_for("chat.postMessage", where=lambda a, m=member: a["channel"] == dm(m))
        assert "did not reach the incident managers" in alert[0].args["text"]
    told = fake.wait_for("chat.postMessage", where=lambda a: a["channel"] == dm(AGENT))[0]
    assert "<!subteam^S0BACKUP01> has been told as well" in told.args["text"]
