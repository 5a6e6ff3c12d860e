"""The card that decides, and the first 15 minutes in two clicks: what the card says and
pings, its buttons and "more" menu by state, Accept opening Engage & send for the winner.
Signed requests into the real app, the fake Slack, the real database and scheduler; the
card's layout itself is checked against a snapshot a person has read (tests/snapshots)."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from bot.slack.ownership.card import card
from handover.checklist.card_content import why
from handover.models import Event, Incident, Notice
from handover.settings import load_settings
from tests.conftest import AGENT, MIM, MIM2, MIM_CHANNEL, STAKEHOLDER_CHANNEL
from tests.conftest import RESTRICTED_CHANNEL as RESTRICTED
from tests.flows import (
    STEP1,
    STEP2,
    STEP3,
    buttons,
    card_message,
    click,
    controls,
    draft_message,
    hand_over,
    incident,
    menu,
    open_checklist,
    open_modal,
    submit,
    submit_modal,
    texts,
    wait_until,
)
from tests.test_comms import AT, payroll_incident

SNAPSHOTS = Path(__file__).parent / "snapshots"


def hand_over_with(baton, step1=None, step2=None, step3=None) -> dict:
    view = open_checklist(baton)
    view = submit(baton, view, {**STEP1, **(step1 or {})})["view"]
    view = submit(baton, view, {**STEP2, **(step2 or {})})["view"]
    view = submit(baton, view, {**STEP3, **(step3 or {})})["view"]
    submit(baton, view, {})
    return card_message(baton.fake)


def block(card: dict, block_id: str) -> dict:
    return next(b for b in card["blocks"] if b.get("block_id") == block_id)


def published(baton, channel: str = STAKEHOLDER_CHANNEL) -> list[dict]:
    return [
        c.args
        for c in baton.fake.calls_to("chat.postMessage")
        if c.args["channel"] == channel and c.result.get("ok")
    ]


def accept_and_open(baton, card: dict, user: str = MIM) -> dict:
    """Accept the card: the winner's Engage & send form, as Slack opened it."""
    view = open_modal(baton, user, card, "incident_accept")
    return json.loads(view) if isinstance(view, str) else view


def sent_notices(baton) -> list[Notice]:
    with baton.db.session() as s:
        return s.query(Notice).filter_by(status="sent").all()


def forms_opened(baton) -> list[str]:
    """The callback ids of the forms opened from the card (not the checklist's)."""
    opened = [c.args["view"] for c in baton.fake.calls_to("views.open")]
    return [v["callback_id"] for v in opened if v["callback_id"] != "handover_step"]


def latest_card(baton, contains: str) -> dict:
    wait_until(lambda: contains in texts(card_message(baton.fake)["blocks"]))
    return card_message(baton.fake)


# What the card says ------------------------------------------------------------------------


def test_the_card_says_why_it_is_p1_and_groups_what_is_known(baton):
    card = hand_over(baton)
    assert card["blocks"][0]["text"]["text"] == "P1 · E-mail down for all staff at head office"
    why = block(card, "why")["text"]["text"]
    assert why == "*Why P1: impact high, urgency medium (over 1,000 users; worsening)*"
    sections = {
        b["text"]["text"]: [f["text"] for f in b["fields"]]
        for b in card["blocks"]
        if b["type"] == "section" and b.get("fields")
    }
    assert sections["*What*"] == ["*Services*\nE-mail", "*Impact*\nFull outage"]
    who = sections["*Who and where*"]
    assert "*Users affected (estimate)*\nOver 1,000" in who
    assert "*User types*\nStaff" in who and "*Sites*\nHead office" in who
    assert "*Deadline at risk*\nno deadline" in who
    since = sections["*Since when*"]
    assert since[0].startswith("*Started*\nabout <!date^")
    assert "*How detected*\nSpike in similar tickets" in since and "*Trend*\nWorsening" in since
    known = sections["*What is known*"]
    assert "*Recent change*\nyes: CHG0042 mail relay patch last night" in known
    assert "*Workaround*\nyes: Outlook on the web works" in known
    assert "*Related tickets*\nINC0012345, INC0012346" in known
    body = texts(card["blocks"])
    assert "*Actions already taken*\\nRestarted Outlook on three PCs" in body
    # Everything was answered: nothing "not known", no breach banner, no "_unknown_".
    assert "Not known yet" not in body and "breach" not in body and "_unknown_" not in body


def test_what_is_not_known_is_one_line_and_a_suspected_breach_is_the_first_thing_said(baton):
    card = hand_over_with(
        baton,
        step1={"f:detection": "unknown", "f:services": ["unknown"]},
        step2={"f:business_impact": ""},
        step3={
            "f:trend": "unknown",
            "f:security": "yes",
            "f:security:detail": "Mailbox rules created by an outsider",
        },
    )
    ids = [b.get("block_id") for b in card["blocks"]]
    assert ids.index("breach") == 2  # right after the headline and the reference
    assert block(card, "breach")["text"]["text"] == (
        ":lock: *Security or data breach suspected*: Mailbox rules created by an outsider. "
        "Keep it need-to-know: broad comms are held back."
    )
    not_known = block(card, "not_known")["elements"][0]["text"]
    assert not_known == (
        ":grey_question: *Not known yet:* services affected, how detected, trend, business impact"
    )
    # Nor in the notification's text.
    assert "Services: not known yet." in card["text"] and "_unknown_" not in card["text"]
    body = texts(card["blocks"])
    assert "Trend*" not in body and "How detected*" not in body and "_unknown_" not in body
    # A breach makes the impact high whatever else is known.
    assert "data may be at risk" in block(card, "why")["text"]["text"]


def test_the_post_pings_card_mention_and_later_versions_do_not(baton):
    card = hand_over(baton)
    post = baton.fake.calls_to("chat.postMessage")[0].args
    assert post["channel"] == MIM_CHANNEL and post["text"].startswith("<!here> MI-")
    assert block(card, "status")["text"]["text"].startswith("<!here> *Waiting for a manager")
    assert click(baton.slack, MIM, card, "incident_accept").status == 200
    after = latest_card(baton, f"*Owner:* <@{MIM}>")
    assert "<!here>" not in after["text"] and "<!here>" not in texts(after["blocks"])


@pytest.fixture
def user_group(env, tmp_path, monkeypatch):
    path = tmp_path / "baton.toml"
    path.write_text('card_mention = "S0MIMS0001"\n')
    monkeypatch.setenv("BATON_CONFIG", str(path))


@pytest.mark.usefixtures("user_group")
def test_the_card_pings_the_configured_user_group(baton):
    card = hand_over(baton)
    assert card["text"].startswith("<!subteam^S0MIMS0001> MI-")
    assert block(card, "status")["text"]["text"].startswith("<!subteam^S0MIMS0001> *Waiting")


@pytest.mark.usefixtures("no_ping")
def test_card_mention_none_pings_nobody(baton):
    card = hand_over(baton)
    assert card["text"].startswith("MI-")
    assert block(card, "status")["text"]["text"].startswith("*Waiting for a manager")


# Buttons and the "more" menu ---------------------------------------------------------------


def primary(card: dict) -> list[str]:
    return [
        el["text"]["text"]
        for b in card["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
        if el.get("style") == "primary"
    ]


def test_the_primary_button_is_the_next_objective_and_the_rest_wait_in_the_menu(baton):
    card = hand_over(baton)
    assert buttons(card) == ["Accept"] and primary(card) == ["Accept"] and menu(card) == []

    form = accept_and_open(baton, card)
    card = latest_card(baton, f"*Owner:* <@{MIM}>")
    assert buttons(card) == ["Engage & send", "Fill a gap", "Resolve"]
    assert primary(card) == ["Engage & send"]  # never Resolve in the first phase
    assert menu(card) == [
        "Draft update",
        "Executive summary",
        "Change priority",
        "Hand on",
        "Stand down",
    ]

    submit_modal(baton, MIM, form, {})
    card = latest_card(baton, "initial comms sent (")
    assert buttons(card) == ["Draft update", "Fill a gap", "Resolve"]
    assert primary(card) == ["Draft update"]
    assert "Engage resolver groups" in menu(card)

    view = open_modal(baton, MIM, card, "incident_resolve")
    submit_modal(baton, MIM, view, {})
    card = latest_card(baton, "*Resolved*")
    assert buttons(card) == ["Close incident", "Fill a gap"] and menu(card) == []
    assert primary(card) == ["Close incident"]

    click(baton.slack, MIM, card, "incident_close")
    card = latest_card(baton, "*Closed*")
    assert controls(card) == []


def test_a_choice_from_the_menu_does_what_its_button_did(baton):
    card = hand_over(baton)
    accept_and_open(baton, card)  # "Accept only": the form is left closed
    card = latest_card(baton, f"*Owner:* <@{MIM}>")
    assert click(baton.slack, MIM, card, "incident_summary").status == 200
    wait_until(lambda: baton.fake.responses)
    said = baton.fake.responses[-1].args
    assert said["response_type"] == "ephemeral" and "] Summary: E-mail down" in said["text"]
    # The payload was the menu's, not a button's.
    chosen = baton.slack.click_payload(MIM, card, "incident_stand_down", MIM_CHANNEL)
    assert chosen["actions"][0]["type"] == "overflow"
    view = open_modal(baton, MIM, card, "incident_stand_down")
    assert view["callback_id"] == "incident_stand_down"


def test_a_forged_menu_choice_is_acknowledged_and_does_nothing(baton):
    card = hand_over(baton)
    accept_and_open(baton, card)
    card = latest_card(baton, f"*Owner:* <@{MIM}>")
    payload = baton.slack.click_payload(MIM, card, "incident_stand_down", MIM_CHANNEL)
    for value in ("incident_nonsense:1", "incident_stand_down:x", ""):
        payload["actions"][0]["selected_option"]["value"] = value
        assert baton.slack.interaction(payload).status == 200
    assert forms_opened(baton) == ["incident_engage_and_send"]  # Accept's, nothing more
    assert incident(baton).status == "accepted"


def test_a_stood_down_incident_keeps_no_live_buttons_on_its_card_or_drafts(baton):
    card = hand_over(baton)
    draft = draft_message(baton.fake, card["ts"])
    assert buttons(draft)  # Send and Edit while it is live
    accept_and_open(baton, card)
    card = latest_card(baton, f"*Owner:* <@{MIM}>")
    view = open_modal(baton, MIM, card, "incident_stand_down")
    submit_modal(baton, MIM, view, {"reason": "A single user's laptop, not a major incident"})
    card = latest_card(baton, "*Stood down*")
    assert controls(card) == []

    def draft_now() -> dict:
        updates = [
            c.args for c in baton.fake.calls_to("chat.update") if c.args["ts"] == draft["ts"]
        ]
        return updates[-1] if updates else draft

    wait_until(lambda: "not sent" in draft_now()["text"])
    assert controls(draft_now()) == []
    assert draft_now()["text"].startswith(":no_entry_sign: *Draft initial notice not sent*")


# Accept, then Engage & send: all three objectives in two clicks ----------------------------


def test_accept_then_engage_and_send_meets_all_three_objectives_in_two_clicks(baton):
    card = hand_over(baton)
    form = accept_and_open(baton, card)
    assert form["callback_id"] == "incident_engage_and_send"
    assert form["submit"]["text"] == "Engage & send" and form["close"]["text"] == "Accept only"
    inputs = {b["block_id"]: b["element"] for b in form["blocks"] if b["type"] == "input"}
    assert [o["value"] for o in inputs["groups"]["initial_options"]] == ["Servers and cloud"]
    assert inputs["subject"]["initial_value"].startswith("[MI-")
    assert "E-mail down for all staff at head office" in inputs["body"]["initial_value"]

    answer = submit_modal(baton, MIM, form, {})  # click 2: as pre-filled
    assert answer.status == 200 and answer.body == ""  # the form closes
    wait_until(lambda: published(baton))
    [notice] = published(baton)
    assert "E-mail down for all staff at head office" in notice["text"]
    card = latest_card(baton, "initial comms sent (")
    objectives = texts(card["blocks"])
    for met in ("accepted (", "resolver groups engaged (", "initial comms sent ("):
        assert f":white_check_mark: {met}" in objectives, met
    with baton.db.session() as s:
        i = s.query(Incident).one()
        assert i.trgs == ["Servers and cloud"] and i.initial_comms_at is not None
        kinds = [e.kind for e in s.query(Event).order_by(Event.id)]
    assert kinds.index("trgs_engaged") < kinds.index("initial_comms_sent")


def test_the_notice_is_sent_as_the_owner_edited_it_in_the_form(baton):
    card = hand_over(baton)
    form = accept_and_open(baton, card)
    answers = {
        "groups": ["Servers and cloud", "Network"],
        "subject": "E-mail is down at head office",
        "body": "E-mail is down. Use Outlook on the web meanwhile.",
    }
    submit_modal(baton, MIM, form, answers)
    wait_until(lambda: published(baton))
    [notice] = published(baton)
    assert "E-mail is down at head office" in notice["text"]
    assert "Use Outlook on the web meanwhile." in notice["text"]
    wait_until(lambda: sent_notices(baton))  # Slack has it: now it is recorded as sent
    [sent] = sent_notices(baton)
    assert len(sent.edits) == 1  # the drafted text is kept as the edit's "before"
    assert incident(baton).trgs == ["Servers and cloud", "Network"]


def test_only_the_winner_of_accept_gets_the_form(baton):
    card = hand_over(baton)
    accept_and_open(baton, card, MIM)
    assert click(baton.slack, MIM2, card, "incident_accept").status == 200
    wait_until(lambda: baton.fake.responses)
    assert "already owned by" in baton.fake.responses[-1].args["text"]
    assert forms_opened(baton) == ["incident_engage_and_send"]


def test_accept_only_leaves_engage_and_send_on_the_card(baton):
    card = hand_over(baton)
    accept_and_open(baton, card)  # closed: "Accept only"
    card = latest_card(baton, f"*Owner:* <@{MIM}>")
    form = open_modal(baton, MIM, card, "incident_engage")
    assert form["callback_id"] == "incident_engage_and_send"
    assert form["close"]["text"] == "Cancel"
    assert published(baton) == []
    with baton.db.session() as s:
        assert s.query(Incident).one().trgs == []


def test_no_groups_chosen_is_said_on_the_groups_and_nothing_is_sent(baton):
    card = hand_over(baton)
    form = accept_and_open(baton, card)
    reply = submit_modal(baton, MIM, form, {"groups": []})
    assert reply.json()["errors"] == {"groups": "Choose at least one resolver group."}
    assert published(baton) == []


def test_a_suspected_breach_without_a_restricted_channel_needs_the_box_ticked(baton):
    card = hand_over_with(
        baton, step3={"f:security": "yes", "f:security:detail": "Mailbox rules by an outsider"}
    )
    form = accept_and_open(baton, card)
    reply = submit_modal(baton, MIM, form, {})
    error = reply.json()["errors"]["broad"]
    assert "tick 'Send to all stakeholders anyway'" in error
    with baton.db.session() as s:
        assert s.query(Incident).one().trgs == []  # nothing half done
    assert published(baton) == []
    assert submit_modal(baton, MIM, form, {"broad": ["broad"]}).status == 200
    wait_until(lambda: published(baton))


@pytest.mark.usefixtures("restricted")
def test_a_suspected_breach_goes_to_the_restricted_channel_from_the_form(baton):
    baton.fake.add_channel(RESTRICTED, "mi-restricted")
    card = hand_over_with(
        baton, step3={"f:security": "yes", "f:security:detail": "Mailbox rules by an outsider"}
    )
    assert f"comms go to <#{RESTRICTED}>" in block(card, "breach")["text"]["text"]
    form = accept_and_open(baton, card)
    assert f"the notice goes to <#{RESTRICTED}> only" in texts(form["blocks"])
    assert "broad" not in [b.get("block_id") for b in form["blocks"]]
    submit_modal(baton, MIM, form, {})
    wait_until(lambda: published(baton, RESTRICTED))
    assert published(baton) == []


# After the first phase, and the agent's view -----------------------------------------------


@pytest.fixture
def short_phase(env, monkeypatch):
    monkeypatch.setenv("BATON_INITIAL_PHASE", "2s")


@pytest.mark.usefixtures("short_phase")
def test_a_missed_objective_stays_on_the_card_after_the_phase(baton):
    card = hand_over(baton)
    accept_and_open(baton, card)
    card = latest_card(baton, "missed: initial comms not sent")
    objectives = texts(card["blocks"])
    assert ":white_check_mark: accepted (" in objectives
    assert ":x: missed: resolver groups not engaged" in objectives


def test_the_agents_status_shows_no_score_until_the_incident_ends(baton):
    card = hand_over(baton)
    reference = incident(baton).reference
    status = baton.slack.command(AGENT, f"status {reference}").text
    assert f"*{reference}*" in status and "quality" not in status
    accept_and_open(baton, card)
    card = latest_card(baton, f"*Owner:* <@{MIM}>")
    view = open_modal(baton, MIM, card, "incident_stand_down")
    submit_modal(baton, MIM, view, {"reason": "A single user's laptop, not a major incident"})
    wait_until(lambda: incident(baton).status == "stood_down")
    assert "handover quality" in baton.slack.command(AGENT, f"status {reference}").text


# The layout, as a person reviewed it ------------------------------------------------------


def outline(blocks: list[dict]) -> str:
    """The card's blocks as lines a person can read over: one per block, fields and buttons
    separated by " | ", the menu's options after "⋯"."""
    out = []
    for b in blocks:
        name = b["type"] + (f" #{b['block_id']}" if b.get("block_id") else "")
        parts = []
        if b.get("text"):
            parts.append(b["text"]["text"])
        parts += [f["text"] for f in b.get("fields") or []]
        for el in b.get("elements") or []:
            if el["type"] == "button":
                style = f" ({el['style']})" if el.get("style") else ""
                parts.append(el["text"]["text"] + style)
            elif el["type"] == "overflow":
                parts.append("⋯ " + ", ".join(o["text"]["text"] for o in el["options"]))
            else:
                parts.append(el["text"])
        out.append(f"[{name}] " + " | ".join(p.replace("\n", " / ") for p in parts))
    return "\n".join(out) + "\n"


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("BATON_UPDATE_SNAPSHOTS"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from the snapshot"


STATES = {
    "handed_over": {},
    "accepted": {"status": "accepted", "owner_id": MIM, "accepted_at": AT + timedelta(minutes=3)},
    "breach": {
        "priority": "P1",
        "proposed_priority": "P1",
        "answers": {
            **payroll_incident().answers,
            "security": {"answer": "yes", "detail": "Payslips of others shown"},
            "trend": "unknown",
        },
    },
}


@pytest.mark.parametrize("state", STATES)
def test_the_card_matches_its_reviewed_layout(state):
    fixed = {
        "id": 42,
        "status": "handed_over",
        "phase": "initial",
        "reporter_id": AGENT,
        "mim_channel": MIM_CHANNEL,
        "phase_ends_at": AT + timedelta(minutes=15),
        "trgs_engaged_at": None,
        "trgs": [],
        "next_update_due_at": None,
    }
    i = payroll_incident(**(fixed | STATES[state]))
    posted = state != "accepted"  # the first post pings; a later version does not
    _, blocks = card(i, load_settings(env_file=None), AT + timedelta(minutes=5), ping=posted)
    check_snapshot(f"card_{state}.txt", outline(blocks))


def test_why_says_whose_choice_a_priority_is():
    handed_over = payroll_incident()  # P2, as proposed
    assert why(handed_over).startswith("Why P2: impact medium, urgency medium")
    # Filled in since: everyone is affected now, which the proposal makes P1.
    grown = payroll_incident(answers={**handed_over.answers, "users_affected": "everyone"})
    assert why(grown).startswith("Why P2: proposed at handover; the answers now suggest P1, ")
    chosen = payroll_incident(
        priority="P3",
        answers={**handed_over.answers, "priority": {"value": "P3", "reason": "One team only"}},
    )
    assert why(chosen).startswith("Why P3: the agent chose it: One team only; proposed P2, ")
    changed = payroll_incident(priority="P1")
    assert why(changed).startswith("Why P1: the owner changed it (the reason is in the thread)")


def test_the_form_sends_the_newest_draft_when_the_priority_changed_meanwhile(baton):
    card = hand_over(baton)
    form = accept_and_open(baton, card)
    card = latest_card(baton, f"*Owner:* <@{MIM}>")
    change = open_modal(baton, MIM, card, "incident_change_priority")
    answers = {"priority": "P2", "reason": "One site only, after all"}
    assert submit_modal(baton, MIM, change, answers).body == ""
    draft_message(baton.fake, card["ts"], count=2)  # the initial notice, drafted again for P2
    assert submit_modal(baton, MIM, form, {}).body == ""  # the form opened before the change
    wait_until(lambda: sent_notices(baton))
    with baton.db.session() as s:
        initial = s.query(Notice).filter_by(kind="initial").order_by(Notice.id).all()
    assert [n.status for n in initial] == ["superseded", "sent"]  # the new draft went out
    assert initial[1].edits == []  # as drafted: the form's text was left as shown
