"""A button whose form Slack does not open (the trigger_id expired, Slack failed) tells the
person who pressed it to press again, privately, and counts the failure: never silence."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import AGENT, MIM
from tests.fake_slack import TEAM, Failure
from tests.flows import card_message, click, draft_message, hand_over, wait_until
from tests.prometheus import scrape, value

EXPIRED = Failure(200, {"ok": False, "error": "expired_trigger_id"})
# The listeners' Web API client tries a 5xx twice more at once (bot/slack/app.py: make_client):
# Slack failing three times in a row is a form that did not open.
BROKEN = (Failure(500), Failure(500), Failure(500))
FAILURES = {"expired_trigger_id": ((EXPIRED,), "took too long"), "fatal": (BROKEN, "could not")}

# Every card button that opens a form, and the owner's draft Edit button.
CARD_BUTTONS = (
    "incident_engage",
    "incident_hand_on",
    "incident_stand_down",
    "incident_resolve",
    "incident_fill_gap",
    "incident_draft_update",
)


def accepted_card(baton) -> dict:
    card = hand_over(baton)
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: "incident_resolve" in json.dumps(card_message(baton.fake)["blocks"]))
    return card_message(baton.fake)


def press_and_hear(baton, message: dict, action: str) -> str:
    """Press `action` on `message`; the private answer the presser gets."""
    heard = len(baton.fake.responses)
    assert click(baton.slack, MIM, message, action).status == 200
    wait_until(lambda: len(baton.fake.responses) > heard)
    answer = baton.fake.responses[-1].args
    assert answer["response_type"] == "ephemeral"
    assert answer.get("replace_original") in (False, "false", None)
    return answer["text"]


@pytest.mark.parametrize("error", FAILURES)
def test_every_form_button_says_press_again_when_slack_does_not_open_the_form(baton, error):
    failures, words = FAILURES[error]
    card = accepted_card(baton)
    draft = draft_message(baton.fake, card["ts"])
    pressed = [(card, action) for action in CARD_BUTTONS] + [(draft, "notice_edit")]
    opened = len(baton.fake.calls_to("views.open"))  # the checklist's
    for count, (message, action) in enumerate(pressed, start=1):
        baton.fake.fail("views.open", *failures)
        text = press_and_hear(baton, message, action)
        assert words in text and "press the button again" in text, (action, text)
        assert value(scrape(baton.url), "baton_slack_api_errors_total", error=error) == count
    assert len(baton.fake.calls_to("views.open")) == opened  # none of them opened
    # Pressed again, with Slack answering, the form opens.
    click(baton.slack, MIM, card, "incident_stand_down")
    form = baton.fake.wait_for("views.open", count=opened + 1)[-1].args["view"]
    assert form["callback_id"] == "incident_stand_down"


def home_event(user: str) -> str:
    return json.dumps(
        {
            "token": "x",
            "team_id": TEAM,
            "api_app_id": "A0000BATON",
            "type": "event_callback",
            "event_id": f"Ev{user}{time.time_ns()}",
            "event_time": 1,
            "event": {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"},
        }
    )


def resume_from_home(baton, home: dict) -> dict:
    """Resume pressed on the Home tab, as Slack sends it: from a view, with no response_url."""
    [block] = [
        b for b in home["blocks"] if b.get("accessory", {}).get("action_id") == "home_resume"
    ]
    button = block["accessory"]
    return {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": AGENT},
        "api_app_id": "A0000BATON",
        "trigger_id": f"{time.time_ns()}.1234.abcdef",
        "container": {"type": "view", "view_id": "V0HOME0001"},
        "view": {**home, "id": "V0HOME0001"},
        "actions": [
            {
                "type": "button",
                "action_id": "home_resume",
                "block_id": block.get("block_id", ""),
                "value": button["value"],
                "action_ts": str(time.time()),
            }
        ],
    }


@pytest.mark.parametrize("error", FAILURES)
def test_resume_on_the_home_tab_says_press_again_on_the_tab(baton, error):
    failures, words = FAILURES[error]
    baton.slack.command(AGENT, "Printer on floor 3 is jammed again")  # a draft left open
    baton.fake.wait_for("views.open")
    assert baton.slack.post(home_event(AGENT), headers=JSON).status == 200
    home = baton.fake.wait_for("views.publish")[0].args["view"]

    baton.fake.fail("views.open", *failures)
    assert baton.slack.interaction(resume_from_home(baton, home)).status == 200
    published = baton.fake.wait_for("views.publish", count=2)[-1].args
    assert published["user_id"] == AGENT
    said = json.dumps(published["view"], ensure_ascii=False)
    assert words in said and "press *Resume* again" in said
    assert value(scrape(baton.url), "baton_slack_api_errors_total", error=error) == 1
    assert baton.fake.responses == []  # a Home tab has no response_url to answer

    # Pressed again, the draft opens where it was left.
    assert baton.slack.interaction(resume_from_home(baton, home)).status == 200
    opened = baton.fake.wait_for("views.open", count=2)[-1].args["view"]
    assert "Printer on floor 3 is jammed again" in json.dumps(opened)


JSON = {"Content-Type": "application/json"}
