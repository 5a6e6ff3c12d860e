"""After the handover: gaps the manager fills (re-asks), exception reports, the timeline, and
App Home — through signed requests and the fake Slack."""

from __future__ import annotations

import json

import pytest

from handover.models import Event, ExceptionReport, Incident, Reask
from tests.conftest import AGENT, MIM
from tests.fake_slack import dm
from tests.flows import (
    card_message,
    click,
    hand_over,
    open_checklist,
    open_modal,
    submit,
    submit_modal,
    wait_until,
)


def hand_over_sparse(baton) -> dict:
    """A red handover: only the required core, services unknown."""
    view = open_checklist(baton)
    view = submit(
        baton,
        view,
        {
            "f:headline": "Something is badly wrong with the VPN",
            "f:services": ["unknown"],
            "f:symptoms": "Cannot connect",
        },
    )["view"]
    view = submit(baton, view, {})["view"]
    view = submit(baton, view, {})["view"]
    submit(baton, view, {})
    card = card_message(baton.fake)
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: "Fill a gap" in json.dumps(card_message(baton.fake)["blocks"]))
    return card_message(baton.fake)


def incident(baton) -> Incident:
    with baton.db.session() as s:
        return s.query(Incident).one()


def fill_gap(baton, card: dict, field_id: str, answers: dict):
    pick = open_modal(baton, MIM, card, "incident_fill_gap")
    reply = submit_modal(baton, MIM, pick, {"field": field_id})
    assert reply.json()["response_action"] == "update"
    view = reply.json()["view"]
    return view, submit_modal(baton, MIM, view, answers)


def test_filling_a_gap_records_a_reask_and_keeps_the_score_as_handed_over(baton):
    card = hand_over_sparse(baton)
    before = incident(baton)
    pick = open_modal(baton, MIM, card, "incident_fill_gap")
    options = next(b for b in pick["blocks"] if b["block_id"] == "field")["element"]["options"]
    # The gaps come first, marked with what the agent answered.
    assert options[0]["text"]["text"] == "Services affected (unknown)"

    _, reply = fill_gap(baton, card, "services", {"f:services": ["E-mail"]})
    assert reply.status == 200 and reply.body == ""
    after = incident(baton)
    assert after.answers["services"] == ["E-mail"]
    assert after.handed_over_answers["services"] == ["unknown"]
    assert (after.quality_score, after.quality_band) == (before.quality_score, "red")
    with baton.db.session() as s:
        [reask] = s.query(Reask).all()
        assert (reask.field_id, reask.old_value, reask.new_value, reask.by) == (
            "services",
            ["unknown"],
            ["E-mail"],
            MIM,
        )
        assert s.query(Event).filter_by(kind="gap_filled").count() == 1
    # The card shows the record as it is now, and both scores.
    wait_until(lambda: "% now" in json.dumps(card_message(baton.fake)["blocks"]))
    blocks = json.dumps(card_message(baton.fake)["blocks"], ensure_ascii=False)
    assert f"{before.quality_score} % as handed over" in blocks
    assert "*Services*\\nE-mail" in blocks
    # Future comms read the record as corrected.
    view = open_modal(baton, MIM, card, "incident_draft_update")
    submit_modal(baton, MIM, view, {})
    drafts = baton.fake.wait_for(
        "chat.postMessage", where=lambda a: a["text"].startswith(":memo: *Draft update*")
    )
    assert "Services affected: E-mail" in json.dumps(drafts[0].args["blocks"])


def test_a_gap_is_validated_like_the_checklist(baton):
    card = hand_over_sparse(baton)
    _, reply = fill_gap(baton, card, "headline", {"f:headline": "VPN"})
    assert reply.json() == {
        "response_action": "errors",
        "errors": {"f:headline": "Please write at least 10 characters (you wrote 3)."},
    }
    with baton.db.session() as s:
        assert s.query(Reask).count() == 0


@pytest.fixture
def lead(env, tmp_path, monkeypatch):
    path = tmp_path / "baton.toml"
    path.write_text('service_desk_lead = "U0LEAD0001"\n')
    monkeypatch.setenv("BATON_CONFIG", str(path))


def close(baton, card: dict) -> None:
    view = open_modal(baton, MIM, card, "incident_resolve")
    submit_modal(baton, MIM, view, {})
    wait_until(lambda: "Close incident" in json.dumps(card_message(baton.fake)["blocks"]))
    click(baton.slack, MIM, card_message(baton.fake), "incident_close")
    wait_until(lambda: incident(baton).status == "closed")


@pytest.mark.usefixtures("lead")
def test_a_red_handover_gets_an_exception_report_to_the_lead_on_close(baton):
    card = hand_over_sparse(baton)
    fill_gap(baton, card, "services", {"f:services": ["Network and VPN"]})
    close(baton, card)
    report = baton.fake.wait_for(
        "chat.postMessage", where=lambda a: a["channel"] == dm("U0LEAD0001")
    )[0].args["text"]
    ref = incident(baton).reference
    assert report.startswith(f":clipboard: *Handover review: {ref}*")
    assert "This is for training" in report
    assert "• Services affected: unknown (critical). Ask the caller which service" in report
    assert "*What the incident manager had to fill in or correct:* services affected." in report
    assert "handover → accepted:" in report
    with baton.db.session() as s:
        stored = s.query(ExceptionReport).one()
    assert stored.sent_to == "U0LEAD0001" and stored.content["band"] == "red"


@pytest.mark.usefixtures("lead")
def test_a_green_handover_gets_no_exception_report(baton):
    card = hand_over(baton)
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: "Resolve" in json.dumps(card_message(baton.fake)["blocks"]))
    close(baton, card_message(baton.fake))
    with baton.db.session() as s:
        assert s.query(ExceptionReport).count() == 0
    assert not any(
        c.args["channel"] == dm("U0LEAD0001") for c in baton.fake.calls_to("chat.postMessage")
    )


def test_without_a_lead_the_report_is_stored_and_not_sent(baton):
    card = hand_over_sparse(baton)
    close(baton, card)
    with baton.db.session() as s:
        report = s.query(ExceptionReport).one()
    assert report.sent_to == "" and report.content["gaps"]
    texts = [c.args["text"] for c in baton.fake.calls_to("chat.postMessage")]
    assert not any("Handover review" in t for t in texts)


def test_timeline_lists_every_event_in_order_with_elapsed_times(baton):
    card = hand_over_sparse(baton)
    fill_gap(baton, card, "services", {"f:services": ["Network and VPN"]})
    ref = incident(baton).reference
    reply = baton.slack.command(MIM, f"timeline {ref}")
    lines = reply.text.splitlines()
    assert lines[0].startswith(f"*Timeline of {ref}*")
    assert f"(T0) · <@{AGENT}> handed over" in lines[1]
    assert f"· <@{MIM}> accepted ownership" in lines[2]
    assert f"· <@{MIM}> filled in a gap: services affected" in lines[3]
    for line in lines[1:]:
        assert line.startswith("• <!date^")
        assert "(T0" in line


def test_app_home_shows_managers_their_incidents_and_agents_their_drafts(baton):
    hand_over_sparse(baton)
    baton.slack.command(AGENT, "Printer on floor 3 is jammed again")  # a draft left open
    for user in (MIM, AGENT):
        body = json.dumps(
            {
                "token": "x",
                "team_id": "T0000TEAM1",
                "api_app_id": "A0000BATON",
                "type": "event_callback",
                "event_id": f"Ev{user}",
                "event_time": 1,
                "event": {
                    "type": "app_home_opened",
                    "user": user,
                    "channel": "D0HOME",
                    "tab": "home",
                },
            }
        )
        assert baton.slack.post(body, headers={"Content-Type": "application/json"}).status == 200
    published = {
        c.args["user_id"]: c.args["view"] for c in baton.fake.wait_for("views.publish", count=2)
    }
    manager = json.dumps(published[MIM], ensure_ascii=False)
    agent = json.dumps(published[AGENT], ensure_ascii=False)
    ref = incident(baton).reference
    assert manager.index("*Yours*") < manager.index(ref)
    assert "*Owner:* <@U0MIM00001>" in manager
    assert "*Your unfinished handovers*" not in manager
    assert "*Active now*" in agent and ref in agent
    assert "*Your unfinished handovers*" in agent and "Printer on floor 3" in agent
    assert "*Your recent handovers*" in agent
    assert "handover quality" not in agent  # for training, after: not while it is worked
    resume = next(
        b["accessory"]
        for b in published[AGENT]["blocks"]
        if b.get("accessory", {}).get("action_id") == "home_resume"
    )
    click(
        baton.slack, AGENT, {"blocks": [{"type": "actions", "elements": [resume]}]}, "home_resume"
    )
    opened = baton.fake.wait_for("views.open", count=2)[-1].args["view"]
    assert "Printer on floor 3 is jammed again" in json.dumps(opened)
