"""Only the owner may act on an incident (accepting is governed by BATON_CONFIG): everyone else
gets an ephemeral answer saying who can, and every refused attempt is on the timeline."""

from __future__ import annotations

import pytest

from handover.models import Event
from tests.conftest import MIM, MIM2, MIM_CHANNEL
from tests.flows import (
    buttons,
    card_message,
    hand_over,
    incident,
    open_modal,
    submit_modal,
    wait_until,
)

pytestmark = pytest.mark.both_databases


def refused(baton, action: str) -> str:
    """MIM2 clicks `action` on the card; the ephemeral answer they get."""
    before = len(baton.fake.responses)
    assert baton.slack.click(MIM2, card_message(baton.fake), action, MIM_CHANNEL).status == 200
    wait_until(lambda: len(baton.fake.responses) > before)
    answer = baton.fake.responses[-1].args
    assert answer["response_type"] == "ephemeral"
    return answer["text"]


def denied(baton) -> list[tuple[str, str, str]]:
    with baton.db.session() as s:
        events = s.query(Event).filter_by(kind="denied").order_by(Event.id)
        return [(e.actor, e.detail["action"], e.detail["owner"]) for e in events]


def test_only_the_owner_may_act_and_every_refusal_is_recorded(baton):
    hand_over(baton)
    baton.slack.click(MIM, card_message(baton.fake), "incident_accept", MIM_CHANNEL)
    wait_until(lambda: "Resolve" in buttons(card_message(baton.fake)))
    ref = incident(baton).reference
    only = f"Only the owner of *{ref}*, <@{MIM}>, can {{}}. Ask them to hand it on to you if"

    for action, words in [
        ("incident_engage", "engage resolver groups"),
        ("incident_draft_update", "draft an update"),
        ("incident_fill_gap", "fill a gap"),
        ("incident_hand_on", "hand it on"),
        ("incident_stand_down", "stand it down"),
        ("incident_resolve", "resolve it"),
    ]:
        assert refused(baton, action).startswith(only.format(words)), action

    # A form the owner opened, submitted by someone else: refused inline, recorded too.
    view = open_modal(baton, MIM, card_message(baton.fake), "incident_resolve")
    reply = submit_modal(baton, MIM2, view, {})
    assert reply.json()["errors"]["resolved_at"].startswith(only.format("resolve it"))
    assert incident(baton).status == "accepted"

    submit_modal(baton, MIM, view, {})
    wait_until(lambda: buttons(card_message(baton.fake)) == ["Close incident", "Fill a gap"])
    assert refused(baton, "incident_close").startswith(only.format("close it"))
    assert incident(baton).status == "resolved"

    actions = ["engage", "draft_update", "fill_gap", "hand_on", "stand_down", "resolve"]
    assert denied(baton) == [(MIM2, a, MIM) for a in [*actions, "resolve", "close"]]
