"""The first phase as the manager and the agent live it: who each line pings, the initial
notice chased until it is out, the agent kept in the loop, and a priority change moving the
update cadence. Signed requests, the fake Slack, the real database and the real scheduler,
with a first phase of a few seconds."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from bot.slack.home import recent_line
from handover.comms.templates import sample_incident
from handover.models import Deadline, Outbox
from handover.times import utcnow
from handover.vocabulary import DeadlineKind, DeadlineStatus, OutboxKind
from tests.conftest import AGENT, MIM, MIM_CHANNEL, STAKEHOLDER_CHANNEL
from tests.fake_slack import dm
from tests.flows import (
    card_message,
    click,
    hand_over,
    incident,
    open_modal,
    submit_modal,
    wait_until,
)

GROUP = "S0MIMS0001"


@pytest.fixture
def config(env, tmp_path, monkeypatch):
    """A first phase of 3 s (reminder at 2 s), escalation after 1 s, the initial notice chased
    every second, no `escalate_to`."""
    path = tmp_path / "baton.toml"
    path.write_text(
        f'escalation_after = "1s"\ninitial_notice_nudge = "1s"\ncard_mention = "{GROUP}"\n'
    )
    monkeypatch.setenv("BATON_CONFIG", str(path))
    monkeypatch.setenv("BATON_INITIAL_PHASE", "3s")
    monkeypatch.setenv("BATON_UPDATE_INTERVAL", "30m")
    return path


def line(baton, card: dict, starts: str, timeout: float = 10) -> dict:
    """The first message in the card's thread whose text starts with `starts`."""
    post = baton.fake.wait_for(
        "chat.postMessage",
        timeout=timeout,
        where=lambda a: a.get("thread_ts") == card["ts"] and a["text"].startswith(starts),
    )[0]
    return {"ts": post.result["ts"], "blocks": post.args.get("blocks") or [], **post.args}


def lines(baton, card: dict, starts: str) -> list[str]:
    return [t for t in baton.fake.thread(card["ts"]) if t.startswith(starts)]


def direct(baton, user: str, contains: str, timeout: float = 10) -> str:
    return baton.fake.wait_for(
        "chat.postMessage",
        timeout=timeout,
        where=lambda a: a["channel"] == dm(user) and contains in a["text"],
    )[0].args["text"]


def pending(baton, kind: DeadlineKind) -> int:
    with baton.db.session() as s:
        return (
            s.query(Deadline)
            .filter(Deadline.kind == kind, Deadline.status == DeadlineStatus.PENDING)
            .count()
        )


@pytest.mark.usefixtures("config")
def test_before_acceptance_the_lines_ping_card_mention_and_escalation_is_broadcast(baton):
    card = hand_over(baton)

    escalation = line(baton, card, ":rotating_light:")
    # No escalate_to: the escalation falls back to card_mention, in the channel as well.
    assert escalation["text"].startswith(f":rotating_light: <!subteam^{GROUP}> *MI-")
    assert "press *Accept* on the card" in escalation["text"]
    assert escalation["reply_broadcast"] is True
    shown = [m for m in baton.fake.messages[MIM_CHANNEL] if m["ts"] == escalation["ts"]]
    assert shown[0]["reply_broadcast"] is True

    reminder = line(baton, card, ":hourglass")
    assert reminder["text"].startswith(f":hourglass_flowing_sand: <!subteam^{GROUP}> ")
    verdict = line(baton, card, ":x:")
    assert verdict["text"].startswith(f":x: <!subteam^{GROUP}> First 3 s *missed*")
    assert "not accepted" in verdict["text"]
    # Only the agent's messages went to a DM: nobody owns it, so no owner was DM'd.
    assert not [c for c in baton.fake.calls_to("conversations.open") if c.args["users"] != AGENT]


@pytest.mark.usefixtures("config")
def test_after_acceptance_the_lines_ping_the_owner_who_is_told_of_a_missed_phase(baton):
    card = hand_over(baton)
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: incident(baton).owner_id == MIM)

    reminder = line(baton, card, ":hourglass")
    assert reminder["text"].startswith(f":hourglass_flowing_sand: <@{MIM}> ")
    verdict = line(baton, card, ":x:")
    assert verdict["text"].startswith(f":x: <@{MIM}> First 3 s *missed*")
    assert GROUP not in reminder["text"] + verdict["text"]
    told = direct(baton, MIM, "first phase")
    assert "was missed: resolver groups not engaged, initial comms not sent" in told


@pytest.mark.usefixtures("config")
def test_a_missed_initial_notice_is_chased_until_it_is_sent(baton):
    card = hand_over(baton)
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: incident(baton).owner_id == MIM)

    reminder = line(baton, card, ":hourglass")
    # Said first, with the button that sends the draft as it is.
    assert f"<@{MIM}> *The initial notice has not gone out yet*: send it now." in reminder["text"]
    assert _actions(reminder) == ["incident_send_initial"]

    verdict = line(baton, card, ":x:")
    assert "initial comms not sent" in verdict["text"]
    assert "send the initial notice now" in verdict["text"]
    # No update is announced or due after a notice that never went out.
    assert "Next stakeholder update" not in verdict["text"]
    wait_until(lambda: pending(baton, DeadlineKind.INITIAL_NOTICE_NUDGE) == 1)
    assert pending(baton, DeadlineKind.UPDATE_DUE) == 0

    nudge = line(baton, card, ":loudspeaker:")
    assert nudge["text"].startswith(f":loudspeaker: <@{MIM}> The initial notice for *MI-")
    wait_until(lambda: len(lines(baton, card, ":loudspeaker:")) >= 2)  # and again

    assert click(baton.slack, MIM, nudge, "incident_send_initial").status == 200
    published = baton.fake.wait_for(
        "chat.postMessage", where=lambda a: a["channel"] == STAKEHOLDER_CHANNEL
    )[0]
    wait_until(lambda: incident(baton).initial_comms_at is not None)
    assert pending(baton, DeadlineKind.INITIAL_NOTICE_NUDGE) == 0
    assert pending(baton, DeadlineKind.UPDATE_DUE) == 1
    nudges = len(lines(baton, card, ":loudspeaker:"))
    time.sleep(2)  # two nudge intervals: none comes
    assert len(lines(baton, card, ":loudspeaker:")) == nudges

    # The agent can read to callers what stakeholders were told.
    quoted = direct(baton, AGENT, "read it to callers")
    subject = published.args["blocks"][0]["text"]["text"]
    assert f"> {subject}" in quoted

    # A second press on an old chasing line sends nothing twice.
    click(baton.slack, MIM, reminder, "incident_send_initial")
    wait_until(lambda: any("gone out already" in r.args["text"] for r in baton.fake.responses))
    time.sleep(0.5)
    assert len(baton.fake.messages[STAKEHOLDER_CHANNEL]) == 1


@pytest.mark.usefixtures("config")
def test_the_agent_gets_the_card_link_and_hears_of_the_resolution(baton):
    card = hand_over(baton)
    confirmation = direct(baton, AGENT, "You handed over")
    link = f"https://example.slack.com/archives/{MIM_CHANNEL}/p{card['ts'].replace('.', '')}"
    assert f"<{link}|the card>" in confirmation
    assert "%" not in confirmation  # the score is for training, after the incident

    baton.incidents.accept(incident(baton).id, MIM)
    assert baton.incidents.resolve(incident(baton).id, MIM).ok
    resolved = direct(baton, AGENT, "is resolved")
    assert resolved.startswith(":white_check_mark: *MI-")
    assert baton.incidents.resolve(incident(baton).id, MIM).ok  # Slack's retry: told once
    with baton.db.session() as s:
        told = s.query(Outbox).filter(Outbox.what == OutboxKind.RESOLVED_DM).count()
    assert told == 1


@pytest.fixture
def cadences(config):
    config.write_text(config.read_text() + '[update_intervals]\nP1 = "10m"\nP2 = "60m"\n')


@pytest.mark.usefixtures("cadences")
def test_a_priority_change_moves_the_update_cadence_from_the_next_update_on(baton):
    card = hand_over(baton)
    incident_id = incident(baton).id
    assert incident(baton).priority == "P1"
    baton.incidents.accept(incident_id, MIM)
    notices = baton.runtime.services.notices

    lowered = baton.incidents.change_priority(incident_id, MIM, "P2", "Only the web client hit")
    assert lowered.ok and incident(baton).priority == "P2"
    said = line(baton, card, ":arrows_clockwise:")["text"]
    assert said.startswith(f":arrows_clockwise: <@{MIM}> changed *MI-")
    assert "from P1 to *P2*: Only the web client hit" in said
    # The unsent initial draft was written for P1: drafted again, promising the P2 cadence.
    draft = notices.current_draft(incident_id, "initial")
    assert draft.next_update_at - draft.created_at == timedelta(minutes=60)
    assert notices.send(draft.id, MIM, STAKEHOLDER_CHANNEL).ok
    wait_until(lambda: incident(baton).initial_comms_at is not None)
    promised = incident(baton).next_update_due_at

    raised = baton.incidents.change_priority(incident_id, MIM, "P1", "Payments now failing too")
    assert raised.ok
    due = incident(baton).next_update_due_at
    assert due < promised and due - utcnow() <= timedelta(minutes=10)
    with baton.db.session() as s:
        [update_due] = s.query(Deadline).filter(
            Deadline.kind == DeadlineKind.UPDATE_DUE, Deadline.status == DeadlineStatus.PENDING
        )
    assert update_due.due_at == due
    wait_until(lambda: len(lines(baton, card, ":arrows_clockwise:")) == 2)
    moved = lines(baton, card, ":arrows_clockwise:")[1]
    assert "from P2 to *P1*" in moved and "Next stakeholder update now due" in moved

    same = baton.incidents.change_priority(incident_id, MIM, "P1", "no change really")
    assert not same.ok and "already" in same.message
    unreasoned = baton.incidents.change_priority(incident_id, MIM, "P3", "")
    assert not unreasoned.ok and "why" in unreasoned.message
    not_owner = baton.incidents.change_priority(incident_id, AGENT, "P3", "I think it is minor")
    assert not not_owner.ok
    assert incident(baton).priority == "P1"


def _actions(message: dict) -> list[str]:
    return [
        el["action_id"] for b in message["blocks"] if b["type"] == "actions" for el in b["elements"]
    ]


def test_the_agent_sees_their_score_on_app_home_only_once_the_incident_is_over():
    handed_over = sample_incident()
    handed_over.quality_score, handed_over.quality_band = 52, "red"
    for status in ("handed_over", "accepted", "resolved"):
        handed_over.status = status
        assert "quality" not in recent_line(handed_over)
    for status in ("closed", "stood_down"):
        handed_over.status = status
        assert "handover quality 🔴 52 %" in recent_line(handed_over)


@pytest.mark.usefixtures("cadences")
def test_the_owner_changes_the_priority_from_the_card_with_a_reason(baton):
    hand_over(baton)
    baton.incidents.accept(incident(baton).id, MIM)
    wait_until(lambda: "Change priority" in str(card_message(baton.fake)["blocks"]))
    card = card_message(baton.fake)
    view = open_modal(baton, MIM, card, "incident_change_priority")
    empty = submit_modal(baton, MIM, view, {"priority": "P2", "reason": ""})
    assert empty.json()["errors"]["reason"] == "Please say why the priority changes (a few words)."
    reply = submit_modal(baton, MIM, view, {"priority": "P2", "reason": "Only the web client"})
    assert reply.status == 200 and reply.body == ""
    assert incident(baton).priority == "P2"
    wait_until(lambda: "P2" in card_message(baton.fake)["text"])
