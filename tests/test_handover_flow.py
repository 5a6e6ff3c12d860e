"""The walking skeleton, end to end: signed slash command → checklist modal → handover card."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from handover.models import Incident
from tests.conftest import AGENT, MIM_CHANNEL
from tests.fake_slack import Failure, dm
from tests.flows import (
    NOW,
    STEP1,
    STEP2,
    STEP3,
    not_known,
    open_checklist,
    submit,
    texts,
    walk_to_review,
)
from tests.prometheus import scrape, value
from tests.slack_user import fill

pytestmark = pytest.mark.both_databases


def test_slash_command_opens_step_one_with_the_typed_headline(baton):
    started = time.monotonic()
    reply = baton.slack.command(AGENT, "E-mail down for everyone")
    assert reply.status == 200
    assert time.monotonic() - started < 3  # Slack gives up after 3 seconds
    call = baton.fake.wait_for("views.open")[0]
    view = call.args["view"]
    assert call.args["trigger_id"] == baton.slack.last_trigger
    assert view["title"]["text"] == "Major incident 1/4"
    headline = next(b for b in view["blocks"] if b.get("block_id") == "f:headline")
    assert headline["element"]["initial_value"] == "E-mail down for everyone"
    services = next(b for b in view["blocks"] if b.get("block_id") == "f:services")
    values = [o["value"] for o in services["element"]["options"]]
    assert "E-mail" in values and values[-1] == "unknown"


def test_whole_handover_reaches_the_managers_channel(baton):
    review = walk_to_review(baton)
    assert review["title"]["text"] == "Major incident 4/4"
    assert review["submit"]["text"] == "Hand over"
    summary = texts(review["blocks"])
    # over 1,000 users → high impact; worsening → urgency medium (workaround exists): P1.
    assert "Proposed priority: P1" in summary
    assert "Handover quality" in summary

    done = submit(baton, review, {})
    assert done["response_action"] == "update"
    year = datetime.now(UTC).year
    assert f"Handing over as MI-{year}-0001" in texts(done["view"]["blocks"])

    card = baton.fake.wait_for("chat.postMessage", where=lambda a: a["channel"] == MIM_CHANNEL)[0]
    blocks = card.args["blocks"]
    body = texts(blocks)
    assert blocks[0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "P1 · E-mail down for all staff at head office",
            "emoji": True,
        },
    }
    assert f"*MI-{year}-0001* · reported by <@{AGENT}>" in body
    for expected in (
        "E-mail down for all staff at head office",
        "E-mail",
        "Full outage",
        "Over 1,000",
        "Restarted Outlook on three PCs",
        "Servers and cloud",
        f"<@{AGENT}>",
        "<!date^",
    ):
        assert expected in body, expected
    accept = next(el for b in blocks if b["type"] == "actions" for el in b["elements"])
    assert accept["text"]["text"].startswith("Accept")
    assert accept["style"] == "primary"
    # The post pings card_mention ("here" by default), in the notification and on the card.
    assert card.args["text"].startswith(f"<!here> MI-{year}-0001 (P1, handed over): E-mail down")
    assert "<!here> *Waiting for a manager to accept*" in body

    direct = baton.fake.wait_for("chat.postMessage", where=lambda a: a["channel"] == dm(AGENT))[0]
    assert f"MI-{year}-0001" in direct.args["text"]

    with baton.db.session() as s:
        incident = s.query(Incident).one()
        assert incident.reference == f"MI-{year}-0001"
        assert incident.card_ts is not None and incident.mim_channel == MIM_CHANNEL
        assert incident.answers["related_refs"]["refs"] == ["INC0012345", "INC0012346"]
        assert incident.answers["started_at"]["approximate"] is True
        assert incident.priority == "P1"


def test_references_are_sequential_and_unique(baton):
    for _ in range(2):
        baton.fake.reset()
        review = walk_to_review(baton)
        submit(baton, review, {})
    year = datetime.now(UTC).year
    with baton.db.session() as s:
        refs = sorted(i.reference for i in s.query(Incident))
    assert refs == [f"MI-{year}-0001", f"MI-{year}-0002"]


def test_a_second_submission_of_the_same_handover_creates_nothing_new(baton):
    review = walk_to_review(baton)
    submit(baton, review, {})
    again = submit(baton, review, {})  # Slack retry or double click
    assert "Handing over as" in texts(again["view"]["blocks"])
    # One card, one message to the agent, one draft of the initial notice in the thread…
    baton.fake.wait_for("chat.postMessage", count=3)
    time.sleep(0.5)  # …and nothing more after them
    with baton.db.session() as s:
        assert s.query(Incident).count() == 1
    assert len(baton.fake.calls_to("chat.postMessage")) == 3


def test_simultaneous_submissions_of_one_handover_make_one_incident(baton):
    """A double click that reaches two replicas (or two threads) at the same moment."""
    review = walk_to_review(baton)
    barrier = threading.Barrier(3)
    replies = []

    def hand_over_now():
        barrier.wait()
        replies.append(submit(baton, review, {}))

    threads = [threading.Thread(target=hand_over_now) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({texts(r["view"]["blocks"]) for r in replies}) == 1  # all see the same one
    time.sleep(0.5)
    with baton.db.session() as s:
        assert s.query(Incident).count() == 1
    # One card, one message to the agent, one draft of the initial notice in the thread.
    assert len(baton.fake.calls_to("chat.postMessage")) == 3


def test_invalid_answers_are_shown_inline(baton):
    view = open_checklist(baton)
    answers = {
        **STEP1,
        "f:headline": "Down",
        "f:started_at": NOW + timedelta(hours=2),
        "f:first_reported_at": NOW - timedelta(minutes=5),
    }
    reply = submit(baton, view, answers)
    assert reply["response_action"] == "errors"
    assert reply["errors"]["f:headline"] == "Please write at least 10 characters (you wrote 4)."
    assert reply["errors"]["f:started_at"] == "This cannot be in the future."

    answers.update(
        {
            "f:headline": "Payroll system is down",
            "f:started_at": NOW - timedelta(minutes=5),
            "f:first_reported_at": NOW - timedelta(minutes=20),
        }
    )
    reply = submit(baton, view, answers)
    assert reply["errors"] == {
        "f:first_reported_at": "It cannot have been reported before it started."
    }

    view = submit(baton, view, STEP1)["view"]
    view = submit(baton, view, STEP2)["view"]
    reply = submit(baton, view, {**STEP3, "f:related_refs": "INC001, hello world"})
    assert reply["errors"]["f:related_refs"].startswith("Not a ticket reference: hello, world")
    reply = submit(baton, view, {**STEP3, "f:workaround:detail": ""})
    assert reply["errors"] == {"f:workaround": "You answered yes: please add the workaround."}


def test_unknown_never_blocks_the_handover_it_lowers_the_score(baton):
    view = open_checklist(baton)
    view = submit(
        baton,
        view,
        {
            "f:headline": "Something is badly wrong with the VPN",
            "f:services": ["unknown"],
            "f:symptoms": "Cannot connect",
            "f:started_at:flags": ["unknown"],
        },
    )["view"]
    view = submit(baton, view, {})["view"]
    review = submit(baton, view, {})["view"]
    summary = texts(review["blocks"])
    assert "🔴" in summary and "(red)" in summary
    assert "services affected (unknown)" in summary
    done = submit(baton, review, {})
    assert "Handing over as" in texts(done["view"]["blocks"])
    card = baton.fake.wait_for("chat.postMessage", where=lambda a: a["channel"] == MIM_CHANNEL)
    assert "services affected" in not_known(card[0].args["blocks"])


def test_changing_the_priority_needs_a_reason(baton):
    review = walk_to_review(baton)
    reply = submit(baton, review, {"f:priority": "P2"})
    assert reply["errors"] == {
        "f:priority": "You changed the proposed P1 to P2: please give a reason."
    }
    done = submit(baton, review, {"f:priority": "P2", "f:priority:reason": "Only one site"})
    assert done["response_action"] == "update"
    card = baton.fake.wait_for("chat.postMessage", where=lambda a: a["channel"] == MIM_CHANNEL)
    assert "*Why P2: the agent chose it: Only one site; proposed P1, impact high" in (
        texts(card[0].args["blocks"])
    )


def test_closing_after_step_two_and_resuming_restores_the_answers(baton):
    view = open_checklist(baton)
    view = submit(baton, view, STEP1)["view"]
    view = submit(baton, view, STEP2)["view"]
    # Step 3 is on screen, half filled, when the agent closes the modal.
    baton.slack.close_view(AGENT, view, fill(view, {"f:trend": "stable"}))
    baton.fake.reset()

    reply = baton.slack.command(AGENT, "resume")
    assert reply.status == 200
    resumed = baton.fake.wait_for("views.open")[0].args["view"]
    assert resumed["title"]["text"] == "Major incident 3/4"
    trend = next(b for b in resumed["blocks"] if b.get("block_id") == "f:trend")
    assert trend["element"]["initial_option"]["value"] == "stable"

    draft = baton.handovers.latest_open_draft(AGENT)
    assert draft.answers["headline"] == STEP1["f:headline"]
    assert draft.answers["users_affected"] == "over-1000"
    assert draft.answers["deadline"] == "none"

    # Going on from the resumed modal hands over with all three steps' answers.
    review = submit(baton, resumed, STEP3)["view"]
    submit(baton, review, {})
    with baton.db.session() as s:
        incident = s.query(Incident).one()
    assert incident.answers["symptoms"] == STEP1["f:symptoms"]
    assert incident.answers["business_impact"] == STEP2["f:business_impact"]


def test_resume_without_a_draft_says_so(baton):
    reply = baton.slack.command(AGENT, "resume")
    assert reply.status == 200
    assert "no unfinished handover" in reply.text
    assert baton.fake.calls_to("views.open") == []


@pytest.mark.usefixtures("no_ping")
def test_typed_mentions_and_links_never_ping_or_link(baton):
    view = open_checklist(baton)
    view = submit(
        baton,
        view,
        {
            **STEP1,
            "f:headline": "<!channel> mail down <@U0BOSS0001>",
            "f:symptoms": "see <https://evil.example|this> & <!here>",
        },
    )["view"]
    view = submit(baton, view, STEP2)["view"]
    review = submit(baton, view, STEP3)["view"]
    submit(baton, review, {})
    posted = baton.fake.wait_for("chat.postMessage", count=2)
    for call in posted:
        everything = call.args["text"] + texts(call.args.get("blocks", []))
        for raw in ("<!channel>", "<@U0BOSS0001>", "<https://evil", "<!here>"):
            assert raw not in everything
    card = posted[0].args
    assert "&lt;!channel&gt; mail down &lt;@U0BOSS0001&gt;" in card["text"]
    assert card["blocks"][0]["text"]["text"] == "P1 · ‹!channel› mail down ‹@U0BOSS0001›"
    sections = [b for b in card["blocks"] if b["type"] == "section" and "text" in b]
    assert all(b["text"]["verbatim"] for b in sections)
    assert card["unfurl_links"] is False


def test_help_and_status(baton):
    reply = baton.slack.command(AGENT, "help")
    assert "/major-incident resume" in reply.text

    review = walk_to_review(baton)
    submit(baton, review, {})
    year = datetime.now(UTC).year
    reply = baton.slack.command(AGENT, f"status mi-{year}-0001")
    status = reply.text
    assert f"*MI-{year}-0001* · P1" in status
    assert "Waiting for a manager to accept" in status and "Handed over" in status

    reply = baton.slack.command(AGENT, "status MI-1999-0042")
    assert "No incident MI-1999-0042 was found" in reply.text
    reply = baton.slack.command(AGENT, "status")
    assert "Which incident?" in reply.text


def test_when_slack_cannot_open_the_modal_the_agent_is_told_how_to_resume(baton):
    baton.fake.fail("views.open", Failure(200, {"ok": False, "error": "expired_trigger_id"}))
    reply = baton.slack.command(AGENT, "Payroll is down for the whole company")
    assert reply.status == 200
    deadline = time.time() + 10
    while not baton.fake.responses and time.time() < deadline:
        time.sleep(0.05)
    answer = baton.fake.responses[0].args
    assert answer["response_type"] == "ephemeral"
    assert "type `/major-incident resume` to carry on" in answer["text"]
    assert value(scrape(baton.url), "baton_slack_api_errors_total", error="expired_trigger_id") == 1
    # And resume does bring it back, headline and all.
    baton.slack.command(AGENT, "resume")
    view = baton.fake.wait_for("views.open")[0].args["view"]
    headline = next(b for b in view["blocks"] if b.get("block_id") == "f:headline")
    assert headline["element"]["initial_value"] == "Payroll is down for the whole company"
