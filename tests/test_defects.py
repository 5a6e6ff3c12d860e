"""Defects of issue #13, each pinned by a test: through Slack where Slack shows it, and on the
domain's pure functions where the defect is theirs."""

from __future__ import annotations

import json
import re

import pytest

from bot.slack.mrkdwn import SLACK
from handover.checklist import answers
from handover.checklist.definition import FIELDS, Field, Kind, Rendering, display
from handover.checklist.priority import DECLARED, propose
from handover.checklist.typed_answers import hint
from handover.comms.templates import KINDS, PLAIN, Details, render
from handover.models import Incident
from handover.settings import OrgConfig
from handover.times import plain_time, utcnow
from tests.conftest import AGENT, MIM, MIM_CHANNEL, STAKEHOLDER_CHANNEL
from tests.flows import (
    STEP1,
    STEP2,
    STEP3,
    card_message,
    click,
    draft_message,
    hand_over,
    incident,
    not_known,
    open_checklist,
    open_modal,
    submit,
    submit_modal,
    texts,
    wait_until,
    walk_to_review,
)
from tests.slack_user import fill
from tests.test_comms import details_for, payroll_incident

ORG = OrgConfig()


def published(fake) -> list[dict]:
    return [
        c.args
        for c in fake.calls_to("chat.postMessage")
        if c.args["channel"] == STAKEHOLDER_CHANNEL
    ]


def section_text(message: dict) -> str:
    return "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")


def accepted(baton) -> dict:
    card = hand_over(baton)
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: "Resolve" in json.dumps(card_message(baton.fake)["blocks"]))
    return card_message(baton.fake)


def send_initial(baton, card: dict) -> None:
    click(baton.slack, MIM, draft_message(baton.fake, card["ts"]), "notice_send")
    wait_until(lambda: published(baton.fake))

    def sent() -> bool:
        with baton.db.session() as s:
            return s.query(Incident).one().initial_comms_at is not None

    wait_until(sent)


# 1. The phone number's label ----------------------------------------------------------------


def test_the_phone_field_says_optional_once(baton):
    review = walk_to_review(baton)
    phone = next(b for b in review["blocks"] if b.get("block_id") == "f:contact_phone")
    # Slack itself writes "(optional)" after the label of every optional input.
    assert phone["optional"] is True
    assert phone["label"]["text"] == "Your phone number"
    assert "optional" not in phone["label"]["text"].lower()


# 2. No blank labels -------------------------------------------------------------------------


def labels(view: dict) -> list[str]:
    return [b["label"]["text"] for b in view["blocks"] if "label" in b]


def test_no_block_of_the_checklist_has_a_blank_label(baton):
    view = open_checklist(baton, "E-mail down")
    seen = labels(view)
    flags = next(b for b in view["blocks"] if b.get("block_id") == "f:started_at:flags")
    assert flags["label"]["text"] == "About the time"
    for answers_of_step in (STEP1, STEP2, STEP3):
        view = submit(baton, view, answers_of_step)["view"]
        seen += labels(view)
    assert "Deadline at risk" in seen and "Your phone number" in seen  # every step was seen
    assert [label for label in seen if not label.strip()] == []


# 3. The review shows the answers and promises no way back -----------------------------------


def test_the_review_shows_every_answer_and_promises_no_way_back(baton):
    view = open_checklist(baton, "E-mail down")
    step2 = submit(baton, view, STEP1)
    assert step2["response_action"] == "update"  # the step replaces the view: no back arrow
    step3 = submit(baton, step2["view"], {**STEP2, "f:vip": "unknown"})["view"]
    review = submit(baton, step3, {**STEP3, "f:trend": "unknown", "f:related_refs": ""})["view"]
    shown = texts(review["blocks"])
    sections = "\n".join(b["text"]["text"] for b in review["blocks"] if b["type"] == "section")
    for expected in (
        "*What is happening*\nHeadline: E-mail down for all staff at head office",
        "Services affected: E-mail",
        "Impact: Full outage",
        "Started at: about <!date^",
        "*Who is affected*\nUsers affected now (estimate): Over 1,000",
        "Deadline at risk: no deadline",
        "Not known yet: VIP or critical business process affected",
        "Workaround: yes: Outlook on the web works",
        "Suspected resolver groups: Servers and cloud",
        "Not known yet: trend",
    ):
        assert expected in sections, expected
    assert "Related ticket references" not in sections  # blank: among the gaps, not answers
    assert "go back" not in shown
    assert "Earlier steps cannot be reopened from here" in shown

    # The wording is right: resume brings back the step the draft reached, not an earlier one.
    baton.slack.close_view(AGENT, review, fill(review, {}))
    baton.fake.reset()
    baton.slack.command(AGENT, "resume")
    resumed = baton.fake.wait_for("views.open")[0].args["view"]
    assert resumed["title"]["text"] == "Major incident 4/4"
    assert "Not known yet: VIP or critical" in texts(resumed["blocks"])


def test_the_review_summary_stays_within_slack_limits_with_long_answers(baton):
    long = "Error & more <detail> " * 140  # 3,000 characters, with entities to cut around
    view = open_checklist(baton, "E-mail down")
    view = submit(baton, view, {**STEP1, "f:symptoms": long[:3000]})["view"]
    view = submit(baton, view, {**STEP2, "f:business_impact": long[:3000]})["view"]
    review = submit(baton, view, {**STEP3, "f:actions_taken": long[:3000]})["view"]
    # SlackSender and the fake Slack check every limit; the summary is short on its own.
    sections = [b["text"]["text"] for b in review["blocks"] if b["type"] == "section"]
    assert all(len(text) <= 1500 for text in sections)
    symptoms = next(line for s in sections for line in s.split("\n") if line.startswith("Sym"))
    assert symptoms.endswith("…") and not re.search(r"&[a-z]*…$", symptoms)


# 4. The ETA typed in Draft update ----------------------------------------------------------


def draft_update(baton, card: dict, **answers_given: str) -> dict:
    count = sum(
        1
        for c in baton.fake.calls_to("chat.postMessage")
        if c.args.get("thread_ts") == card["ts"]
        and c.args["text"].startswith(":memo: *Draft update*")
    )
    view = open_modal(baton, MIM, card, "incident_draft_update")
    assert submit_modal(baton, MIM, view, answers_given).body == ""
    return draft_message(baton.fake, card["ts"], "update", count=count + 1)


def test_the_eta_typed_in_draft_update_is_in_the_update(baton):
    card = accepted(baton)
    send_initial(baton, card)
    update = draft_update(baton, card, eta="about 2 hours")
    assert "Expected time to resolve:" in section_text(update)
    assert "about 2 hours" in section_text(update)
    # None given: the update says so, never inventing one.
    assert "not yet known" in section_text(draft_update(baton, card))


def test_the_executive_summary_shows_the_eta_of_the_latest_update(baton):
    card = accepted(baton)
    send_initial(baton, card)
    draft_update(baton, card, eta="about 2 hours")
    reply = baton.slack.command(MIM, f"summary {incident(baton).reference}")
    assert "about 2 hours" in reply.text
    assert "not yet known" not in reply.text


# 5. Labels keep their acronyms in sentences ------------------------------------------------


def test_gap_lists_keep_vip_in_capitals(baton):
    view = open_checklist(baton, "E-mail down")
    view = submit(baton, view, STEP1)["view"]
    view = submit(baton, view, {**STEP2, "f:vip": "unknown"})["view"]
    review = submit(baton, view, STEP3)["view"]
    assert "Gaps: VIP or critical business process affected (unknown)" in texts(review["blocks"])
    submit(baton, review, {})
    card = baton.fake.wait_for("chat.postMessage", where=lambda a: a["channel"] == MIM_CHANNEL)
    assert "VIP or critical business process affected" in not_known(card[0].args["blocks"])
    assert "vip or critical" not in texts(card[0].args["blocks"])


def test_labels_in_messages_and_hints_keep_their_acronyms():
    f = Field("owner", "Owner", Kind.TRISTATE, detail_label="VIP name")
    value = answers.parse(f, {"answer": "yes", "detail": ""})
    assert answers.validate_field(f, value, ORG, utcnow()) == (
        "You answered yes: please add VIP name."
    )
    assert '"yes: VIP name"' in hint(f)
    deadline = Field("sla", "SLA at risk", Kind.DATETIME, none_label="No SLA")
    assert display(deadline, "none", ORG, Rendering(time=plain_time)) == "no SLA"
    assert '"none" (no SLA)' in hint(deadline)
    # The checklist's own: unchanged words.
    vip = FIELDS["vip"]
    assert answers.validate_field(vip, {"answer": "yes", "detail": ""}, ORG, utcnow()) == (
        "You answered yes: please add who or which process."
    )


# 6. Naming the same teams again is no change ------------------------------------------------


def test_engaging_the_teams_the_initial_notice_named_is_no_change(baton):
    card = accepted(baton)
    initial = draft_message(baton.fake, card["ts"])
    assert "We are engaging these teams: Servers and cloud." in section_text(initial)
    send_initial(baton, card)
    # The manager engages the suspected group: the form offers it already chosen.
    view = open_modal(baton, MIM, card, "incident_engage")
    submit_modal(baton, MIM, view, {})
    wait_until(lambda: incident(baton).trgs == ["Servers and cloud"])
    update = draft_update(baton, card, doing="Servers team is restarting the relay.")
    body = section_text(update)
    assert "Teams engaged" not in body
    assert "Nothing new since the last notice" in body


# 7. Bold headings in Slack, none in plain text ----------------------------------------------

HEADINGS = {
    "initial": ("What is happening", "Who is affected", "What we are doing", "Workaround"),
    "update": ("Status:", "What has changed since the last notice", "Who is affected now"),
    "resolution": ("What happened", "What you need to do"),
    "summary": ("Current state:", "Actions in progress", "Expected time to resolve:"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_notice_headings_are_bold_in_slack_only(kind):
    incident_ = payroll_incident()
    details: Details = details_for(kind, incident_)
    slack = render(kind, incident_, ORG, SLACK, details).body
    plain = render(kind, incident_, ORG, PLAIN, details).body
    for heading in HEADINGS[kind]:
        assert re.search(rf"^\*{re.escape(heading)}\*", slack, re.MULTILINE), heading
        assert re.search(rf"^{re.escape(heading)}", plain, re.MULTILINE), heading
    if kind != "resolution":
        assert re.search(r"^\*Next update by <!date\^\d+\^[^>]*>\.\*$", slack, re.MULTILINE)
    assert "*" not in plain


# 8. A declared major incident is proposed at least P2 ---------------------------------------


def test_a_declared_major_incident_is_never_proposed_below_p2():
    nothing = propose({})
    assert (nothing.priority, nothing.impact, nothing.urgency) == ("P2", "low", "medium")
    assert nothing.explanation == f"impact low, urgency medium ({DECLARED})"
    outage = propose(
        {
            "impact_degree": "full_outage",
            "workaround": {"answer": "yes", "detail": "x"},
            "trend": "stable",
        }
    )
    assert (outage.priority, outage.impact, outage.urgency) == ("P2", "medium", "low")
    assert outage.reasons == ("full outage", DECLARED)
    # Where the matrix already says P1 or P2, the floor says nothing.
    high = propose({"users_affected": "everyone", "workaround": {"answer": "no", "detail": ""}})
    assert high.priority == "P1" and DECLARED not in high.reasons


def test_a_blank_handover_is_proposed_p2_and_lowered_only_with_a_reason(baton):
    view = open_checklist(baton)
    core = {
        "f:headline": "Something is wrong with the VPN",
        "f:services": ["unknown"],
        "f:symptoms": "Cannot connect",
    }
    view = submit(baton, view, core)["view"]
    view = submit(baton, view, {})["view"]
    review = submit(baton, view, {})["view"]
    assert "Proposed priority: P2*: impact low, urgency medium (declared a major incident" in (
        texts(review["blocks"])
    )
    priority = next(b for b in review["blocks"] if b.get("block_id") == "f:priority")
    assert priority["element"]["initial_option"]["value"] == "P2"
    refused = submit(baton, review, {"f:priority": "P4"})
    assert refused["errors"] == {
        "f:priority": "You changed the proposed P2 to P4: please give a reason."
    }
    submit(baton, review, {"f:priority": "P4", "f:priority:reason": "One user, a test VPN"})
    card = baton.fake.wait_for("chat.postMessage", where=lambda a: a["channel"] == MIM_CHANNEL)
    assert "*Why P4: the agent chose it: One user, a test VPN; proposed P2, impact low" in (
        texts(card[0].args["blocks"])
    )
    assert (incident(baton).priority, incident(baton).proposed_priority) == ("P4", "P2")
