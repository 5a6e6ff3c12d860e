"""Stakeholder comms through Slack: drafted in the card's thread, edited, sent by the manager."""

from __future__ import annotations

import copy
import json

import pytest

from handover.models import Event, Incident, Notice
from tests.conftest import MIM, MIM2, STAKEHOLDER_CHANNEL
from tests.flows import (
    STEP1,
    STEP2,
    STEP3,
    buttons,
    card_message,
    click,
    draft_message,
    hand_over,
    open_checklist,
    open_modal,
    submit,
    submit_modal,
    wait_until,
)


def published(fake, channel: str = STAKEHOLDER_CHANNEL) -> list[dict]:
    return [c.args for c in fake.calls_to("chat.postMessage") if c.args["channel"] == channel]


def everything(message: dict) -> str:
    return message["text"] + json.dumps(message.get("blocks", []), ensure_ascii=False)


def accepted(baton) -> dict:
    card = hand_over(baton)
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: "Resolve" in json.dumps(card_message(baton.fake)["blocks"]))
    return card_message(baton.fake)


def test_initial_draft_appears_in_the_thread_and_send_publishes_it(baton):
    card = hand_over(baton)
    draft = draft_message(baton.fake, card["ts"])
    labels = buttons(draft)
    assert labels == ["Send to stakeholders", "Edit"]
    body = everything(draft)
    assert "[MI-" in body and "E-mail down for all staff at head office" in body

    # Before anyone accepts, a manager allowed to accept may send it (default: anyone here).
    click(baton.slack, MIM, draft, "notice_send")
    wait_until(lambda: published(baton.fake))
    [notice] = published(baton.fake)
    text = everything(notice)
    for expected in (
        "E-mail down for all staff at head office",
        "Services affected: E-mail",
        "Impact: Full outage",
        "Users affected: Over 1,000 (an estimate)",
        "Next update by <!date^",
    ):
        assert expected in text, expected

    def recorded() -> bool:  # Slack has it; Baton records it as sent right after
        with baton.db.session() as s:
            return s.query(Notice).filter_by(kind="initial").one().status == "sent"

    wait_until(recorded)
    with baton.db.session() as s:
        sent = s.query(Notice).filter_by(kind="initial").one()
        assert (sent.status, sent.sent_by, sent.channel) == ("sent", MIM, STAKEHOLDER_CHANNEL)
        incident = s.query(Incident).one()
        assert incident.initial_comms_at == sent.sent_at
        # The promised time is the update deadline.
        assert incident.next_update_due_at == sent.next_update_at
        assert s.query(Event).filter_by(kind="initial_comms_sent").count() == 1
    # The draft in the thread now says who sent it, and offers only an edit.
    wait_until(
        lambda: any(
            ":white_check_mark: *Initial notice sent* by" in c.args["text"]
            for c in baton.fake.calls_to("chat.update")
        )
    )
    # A second click sends nothing more.
    click(baton.slack, MIM, draft, "notice_send")
    assert len(published(baton.fake)) == 1


def test_edit_before_send_changes_what_is_published(baton):
    card = hand_over(baton)
    draft = draft_message(baton.fake, card["ts"])
    view = open_modal(baton, MIM, draft, "notice_edit")
    body = next(b for b in view["blocks"] if b["block_id"] == "body")
    assert "What is happening" in body["element"]["initial_value"]
    reply = submit_modal(
        baton,
        MIM,
        view,
        {
            "subject": "E-mail is down <!channel>",
            "body": "We know. Teams are on it.\nNext update by 10:30 <@U0BOSS0001>.",
        },
    )
    assert reply.status == 200 and reply.body == ""
    click(baton.slack, MIM, draft, "notice_send")
    wait_until(lambda: published(baton.fake))
    [notice] = published(baton.fake)
    text = everything(notice)
    assert "We know. Teams are on it." in text
    assert "E-mail is down &lt;!channel&gt;" in text
    assert "<!channel>" not in text and "<@U0BOSS0001>" not in text
    with baton.db.session() as s:
        edits = s.query(Notice).one().edits
    assert len(edits) == 1 and edits[0]["by"] == MIM


def test_edit_sent_notice_updates_the_published_message_in_place(baton):
    card = hand_over(baton)
    draft = draft_message(baton.fake, card["ts"])
    click(baton.slack, MIM, draft, "notice_send")
    wait_until(lambda: published(baton.fake))
    sent_ts = next(
        c.result["ts"]
        for c in baton.fake.calls_to("chat.postMessage")
        if c.args["channel"] == STAKEHOLDER_CHANNEL
    )
    wait_until(
        lambda: any(
            "Edit sent notice" in json.dumps(c.args.get("blocks", []))
            for c in baton.fake.calls_to("chat.update")
        )
    )
    view = open_modal(baton, MIM, draft, "notice_edit")
    assert view["title"]["text"] == "Edit sent notice"
    submit_modal(baton, MIM, view, {"body": "Corrected: only head office is affected."})
    edit = baton.fake.wait_for("chat.update", where=lambda a: a["channel"] == STAKEHOLDER_CHANNEL)
    assert edit[0].args["ts"] == sent_ts
    assert "Corrected: only head office is affected." in everything(edit[0].args)
    assert len(published(baton.fake)) == 1  # edited, not posted again
    with baton.db.session() as s:
        assert s.query(Event).filter_by(kind="notice_edited").one().detail["sent"] is True


def test_an_update_draft_lists_exactly_what_changed(baton):
    card = accepted(baton)
    click(baton.slack, MIM, draft_message(baton.fake, card["ts"]), "notice_send")
    wait_until(lambda: published(baton.fake))
    view = open_modal(baton, MIM, card, "incident_engage")
    submit_modal(baton, MIM, view, {"groups": ["Network"]})
    view = open_modal(baton, MIM, card, "incident_draft_update")
    reply = submit_modal(
        baton, MIM, view, {"state": "identified", "doing": "Network team is replacing a switch."}
    )
    assert reply.body == ""
    update = draft_message(baton.fake, card["ts"], "update")
    body = "\n".join(b["text"]["text"] for b in update["blocks"] if b["type"] == "section")
    changed = body.split("What has changed since the last notice")[1].lstrip("*\n")
    # Exactly these two: nothing else in the record moved since the initial notice, which
    # named the suspected resolver group.
    assert changed.split("\n\n")[0].splitlines() == [
        "• Status: Investigating → Cause identified",
        "• Teams engaged: Servers and cloud → Network",
    ]
    assert "Network team is replacing a switch." in body
    click(baton.slack, MIM, update, "notice_send")
    wait_until(lambda: len(published(baton.fake)) == 2)
    # The next draft keeps the manager's "what we are doing" line.
    view = open_modal(baton, MIM, card, "incident_draft_update")
    doing = next(b for b in view["blocks"] if b["block_id"] == "doing")
    assert doing["element"]["initial_value"] == "Network team is replacing a switch."


def test_only_the_owner_sends_once_someone_owns_it(baton):
    card = accepted(baton)
    draft = draft_message(baton.fake, card["ts"])
    click(baton.slack, MIM2, draft, "notice_send")
    wait_until(lambda: baton.fake.responses)
    assert baton.fake.responses[-1].args["text"].startswith("Only the owner of *MI-")
    assert published(baton.fake) == []


def hand_over_breach(baton) -> dict:
    view = open_checklist(baton)
    view = submit(baton, view, STEP1)["view"]
    view = submit(baton, view, STEP2)["view"]
    view = submit(
        baton,
        view,
        {**STEP3, "f:security": "yes", "f:security:detail": "Mailbox rules created by an outsider"},
    )["view"]
    submit(baton, view, {})
    return card_message(baton.fake)


def test_a_suspected_breach_is_not_sent_broadly_without_confirmation(baton):
    card = hand_over_breach(baton)
    draft = draft_message(baton.fake, card["ts"])
    assert "Security or data breach suspected" in everything(draft)
    [send] = [
        el
        for b in draft["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
        if el["action_id"].startswith("notice_send")
    ]
    assert send["action_id"] == "notice_send_broad"
    assert send["confirm"]["title"]["text"] == "Send to all stakeholders?"
    # A plain send (as if someone crafted the click without the dialog) is refused.
    crafted = copy.deepcopy(draft)
    crafted["blocks"][-1]["elements"][0]["action_id"] = "notice_send"
    click(baton.slack, MIM, crafted, "notice_send")
    wait_until(lambda: baton.fake.responses)
    assert "broad comms are held back" in baton.fake.responses[-1].args["text"]
    assert published(baton.fake) == []
    with baton.db.session() as s:
        assert s.query(Notice).one().status == "draft"
    # Confirmed: it goes.
    click(baton.slack, MIM, draft_message(baton.fake, card["ts"]), "notice_send_broad")
    wait_until(lambda: published(baton.fake))


@pytest.mark.usefixtures("restricted")
def test_a_suspected_breach_goes_to_the_restricted_channel(baton):
    card = hand_over_breach(baton)
    draft = draft_message(baton.fake, card["ts"])
    labels = buttons(draft)
    assert labels == ["Send to restricted channel", "Send to all stakeholders…", "Edit"]
    click(baton.slack, MIM, draft, "notice_send")
    wait_until(lambda: published(baton.fake, "C0RESTRIC1"))
    assert published(baton.fake) == []


@pytest.mark.usefixtures("no_ping")
def test_typed_mentions_never_reach_a_published_message_unescaped(baton):
    view = open_checklist(baton)
    view = submit(
        baton,
        view,
        {
            **STEP1,
            "f:headline": "<!channel> mail down <@U0BOSS0001>",
            "f:symptoms": "<!here> see <https://evil.example|this>",
        },
    )["view"]
    view = submit(baton, view, {**STEP2, "f:business_impact": "<!everyone> cannot work"})["view"]
    view = submit(
        baton,
        view,
        {
            **STEP3,
            "f:workaround:detail": "<@U0BOSS0001> says use OWA",
            "f:actions_taken": "<!subteam^S0ALL> paged",
        },
    )["view"]
    submit(baton, view, {})
    card = card_message(baton.fake)
    draft = draft_message(baton.fake, card["ts"])
    click(baton.slack, MIM, draft, "notice_send")
    wait_until(lambda: published(baton.fake))
    messages = [
        *published(baton.fake),
        draft,
        *(c.args for c in baton.fake.calls_to("chat.postMessage")),
    ]
    for message in messages:
        text = everything(message)
        for raw in (
            "<!channel>",
            "<@U0BOSS0001>",
            "<!here>",
            "<!everyone>",
            "<https://evil",
            "<!subteam^S0ALL>",
        ):
            assert raw not in text, (raw, message["text"][:80])
    assert "&lt;!channel&gt; mail down" in everything(published(baton.fake)[0])


def test_resolution_notice_is_drafted_when_resolved(baton):
    card = accepted(baton)
    view = open_modal(baton, MIM, card, "incident_resolve")
    submit_modal(baton, MIM, view, {})
    resolution = draft_message(baton.fake, card["ts"], "resolution notice")
    assert "Resolved" in everything(resolution) or "resolved" in everything(resolution)
    click(baton.slack, MIM, resolution, "notice_send")
    wait_until(lambda: published(baton.fake))
    with baton.db.session() as s:
        assert s.query(Event).filter_by(kind="resolution_sent").count() == 1


def test_executive_summary_on_demand_to_the_asker_only(baton):
    card = accepted(baton)
    year_ref = json.dumps(card["blocks"]).split("MI-")[1][:9]
    reply = baton.slack.command(MIM, f"summary MI-{year_ref}")
    assert reply.status == 200
    assert "not yet known" in reply.text  # no invented ETA
    assert "Investigating" in reply.text
    click(baton.slack, MIM, card, "incident_summary")
    wait_until(lambda: baton.fake.responses)
    assert baton.fake.responses[-1].args["response_type"] == "ephemeral"
    assert "not yet known" in baton.fake.responses[-1].args["text"]
    assert published(baton.fake) == []
