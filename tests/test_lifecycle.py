"""Ownership and the phase clock, through signed requests, the fake Slack and the real scheduler.

Durations are short (a first phase of a few seconds) so the whole life of an incident runs in a
test; the clock is the real APScheduler over the real database rows.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from handover.models import Deadline, Event
from handover.vocabulary import UPDATE_DEADLINES
from tests.conftest import AGENT, MIM, MIM2, STAKEHOLDER_CHANNEL
from tests.fake_slack import dm
from tests.flows import (
    buttons,
    card_message,
    click,
    controls,
    draft_message,
    hand_over,
    incident,
    open_modal,
    submit_modal,
    wait_until,
)

pytestmark = pytest.mark.both_databases


@pytest.fixture
def config(tmp_path, monkeypatch):
    """BATON_CONFIG with short escalation; tests add keys before starting `baton`."""
    path = tmp_path / "baton.toml"
    path.write_text('escalation_after = "1s"\nescalate_to = "S0BACKUP01"\n')
    monkeypatch.setenv("BATON_CONFIG", str(path))
    return path


@pytest.fixture
def short(env, config, monkeypatch):
    monkeypatch.setenv("BATON_INITIAL_PHASE", "3s")
    monkeypatch.setenv("BATON_UPDATE_INTERVAL", "2s")


@pytest.fixture
def roomy(env, config, monkeypatch):
    """A first phase long enough for a manager's three objectives on a busy machine."""
    monkeypatch.setenv("BATON_INITIAL_PHASE", "8s")
    monkeypatch.setenv("BATON_UPDATE_INTERVAL", "2s")


def thread_lines(baton, card: dict, count: int = 0, timeout: float = 10) -> list[str]:
    if count:
        baton.fake.wait_for(
            "chat.postMessage",
            count=count,
            timeout=timeout,
            where=lambda a: a.get("thread_ts") == card["ts"],
        )
    return baton.fake.thread(card["ts"])


@pytest.mark.usefixtures("short")
def test_two_managers_click_accept_at_once_and_exactly_one_owns_it(baton):
    card = hand_over(baton)
    assert buttons(card) == ["Accept"]
    barrier = threading.Barrier(2)
    replies = {}

    def press(user):
        barrier.wait()
        replies[user] = click(baton.slack, user, card, "incident_accept")

    threads = [threading.Thread(target=press, args=(u,)) for u in (MIM, MIM2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status for r in replies.values()} == {200}

    # The ack comes before the work: wait for the winner to be recorded.
    wait_until(lambda: incident(baton).owner_id is not None)
    owner = incident(baton).owner_id
    loser = MIM2 if owner == MIM else MIM
    assert owner in (MIM, MIM2)
    wait_until(lambda: baton.fake.responses)
    told = baton.fake.responses[0].args
    assert told["response_type"] == "ephemeral"
    assert told["text"].startswith(f"*{incident(baton).reference}* is already owned by <@{owner}>")
    wait_until(lambda: any("accepted *MI-" in line for line in baton.fake.thread(card["ts"])))
    accepted = [line for line in thread_lines(baton, card) if "accepted *MI-" in line]
    assert len(accepted) == 1 and accepted[0].startswith(f":raised_hand: <@{owner}> accepted")
    with baton.db.session() as s:
        kinds = [e.kind for e in s.query(Event).order_by(Event.id)]
    assert kinds.count("accepted") == 1
    assert loser not in json.dumps(card_message(baton.fake)["blocks"])

    wait_until(lambda: "Owner:" in json.dumps(card_message(baton.fake)["blocks"]))
    card = card_message(baton.fake)
    assert f"*Owner:* <@{owner}>" in json.dumps(card["blocks"])
    assert "Accept" not in buttons(card)
    assert "Resolve" in buttons(card)
    # The agent hears who owns it.
    direct = baton.fake.wait_for(
        "chat.postMessage", where=lambda a: a["channel"] == dm(AGENT) and "accepted" in a["text"]
    )
    assert f"<@{owner}> accepted" in direct[0].args["text"]


@pytest.mark.usefixtures("short")
def test_unaccepted_incident_escalates_to_the_backup_group_once(baton):
    card = hand_over(baton)
    wait_until(lambda: any("not been accepted" in x for x in baton.fake.thread(card["ts"])))
    escalation = next(x for x in thread_lines(baton, card) if "not been accepted" in x)
    assert escalation.startswith(":rotating_light: <!subteam^S0BACKUP01> *MI-")
    assert "has not been accepted 1 s after handover" in escalation
    time.sleep(3.5)  # through the phase end
    lines = thread_lines(baton, card)
    assert sum("not been accepted" in line for line in lines) == 1


@pytest.mark.usefixtures("short")
def test_first_phase_missed_names_what_was_missing(baton):
    card = hand_over(baton)
    click(baton.slack, MIM, card, "incident_accept")
    verdict_seen = lambda: any("missed" in line for line in baton.fake.thread(card["ts"]))  # noqa: E731
    wait_until(verdict_seen)
    lines = thread_lines(baton, card)
    reminder = next(line for line in lines if line.startswith(":hourglass"))
    assert "Still open: resolver groups not engaged, initial comms not sent." in reminder
    verdict = next(line for line in lines if "missed" in line)
    assert verdict.startswith(f":x: <@{MIM}> First 3 s *missed* for *MI-")
    assert (
        "*missed* for *MI-2026-0001*: resolver groups not engaged, initial comms not sent."
        in verdict
    )
    assert "Done: accepted after" in verdict
    assert not any("escalat" in line or "not been accepted" in line for line in lines)
    assert incident(baton).phase == "post_initial"


@pytest.mark.usefixtures("short")
def test_the_timeline_shows_the_phase_verdict_and_the_clock_events(baton):
    card = hand_over(baton)
    wait_until(lambda: any("missed" in line for line in baton.fake.thread(card["ts"])))
    reply = baton.slack.command(MIM, f"timeline {incident(baton).reference}")
    lines = reply.text.splitlines()
    assert any(line.endswith("· Baton escalated: not accepted yet") for line in lines)
    assert any(line.endswith("· Baton first phase missed") for line in lines)


@pytest.mark.usefixtures("roomy")
def test_first_phase_met_when_every_objective_is_done(baton, monkeypatch):
    card = hand_over(baton)
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: "Engage & send" in buttons(card_message(baton.fake)))
    card = card_message(baton.fake)
    view = open_modal(baton, MIM, card, "incident_engage")  # Accept's form was left closed
    assert view["callback_id"] == "incident_engage_and_send"
    groups = next(b for b in view["blocks"] if b.get("block_id") == "groups")
    # Pre-filled with the groups the agent suspected.
    assert [o["value"] for o in groups["element"]["initial_options"]] == ["Servers and cloud"]
    reply = submit_modal(baton, MIM, view, {"groups": ["Servers and cloud", "Network"]})
    assert reply.status == 200 and reply.body == ""
    wait_until(lambda: any("met" in line for line in baton.fake.thread(card["ts"])), 20)
    lines = thread_lines(baton, card)
    verdict = next(line for line in lines if "*met*" in line)
    assert verdict.startswith(f":white_check_mark: <@{MIM}> First 8 s *met* for *MI-")
    assert "accepted after" in verdict and "resolver groups engaged after" in verdict
    assert not any(line.startswith(":hourglass") for line in lines)  # nothing was open
    assert incident(baton).trgs == ["Servers and cloud", "Network"]


@pytest.mark.usefixtures("short")
def test_update_cadence_reminds_then_flags_overdue_and_an_update_resets_it(baton):
    card = hand_over(baton)
    click(baton.slack, MIM, card, "incident_accept")
    click(baton.slack, MIM, draft_message(baton.fake, card["ts"]), "notice_send")
    # Interval 2 s: reminder 0.4 s before due, then overdue at due.
    wait_until(lambda: any("*overdue*" in line for line in baton.fake.thread(card["ts"])))
    lines = thread_lines(baton, card)
    reminder = [line for line in lines if line.startswith(":bell:")]
    overdue = [line for line in lines if "*overdue*" in line]
    assert len(reminder) == 1 and "is due <!date^" in reminder[0]
    assert len(overdue) == 1
    wait_until(lambda: ":warning: *overdue*" in json.dumps(card_message(baton.fake)["blocks"]))

    # The update was drafted when the reminder fired: check and send it.
    update = draft_message(baton.fake, card["ts"], "update")
    click(baton.slack, MIM, update, "notice_send")
    wait_until(lambda: any(":mega: Update sent" in line for line in baton.fake.thread(card["ts"])))
    sent = next(line for line in thread_lines(baton, card) if ":mega: Update sent" in line)
    assert "(late: it was due <!date^" in sent
    with baton.db.session() as s:
        on_time = [e.detail["on_time"] for e in s.query(Event).filter_by(kind="update_sent")]
    assert on_time == [False]
    # A new cycle: exactly one more reminder and one more overdue notice.
    wait_until(lambda: sum("*overdue*" in line for line in baton.fake.thread(card["ts"])) == 2)


@pytest.mark.usefixtures("short")
def test_resolve_and_close_cancel_what_is_pending_and_show_key_durations(baton):
    card = hand_over(baton)
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: "Resolve" in buttons(card_message(baton.fake)))
    view = open_modal(baton, MIM, card_message(baton.fake), "incident_resolve")
    assert submit_modal(baton, MIM, view, {}).status == 200
    wait_until(lambda: incident(baton).status == "resolved")
    with baton.db.session() as s:
        pending = s.query(Deadline).filter_by(status="pending").count()
        cancelled = s.query(Deadline).filter_by(status="cancelled").count()
    assert pending == 0 and cancelled >= 2  # the phase reminder and end, at least
    wait_until(lambda: buttons(card_message(baton.fake)) == ["Close incident", "Fill a gap"])
    click(baton.slack, MIM, card_message(baton.fake), "incident_close")
    wait_until(lambda: "Key durations" in json.dumps(card_message(baton.fake)["blocks"]))
    final = card_message(baton.fake)
    body = json.dumps(final["blocks"], ensure_ascii=False)
    assert ":checkered_flag: *Closed*" in body
    assert "handover → accepted" in body and "→ resolved" in body
    assert "→ first comms not reached" in body
    assert controls(final) == []
    time.sleep(3.5)  # past the first phase: nothing more may be said
    lines = thread_lines(baton, card)
    assert not any("missed" in line or "*met*" in line or ":hourglass" in line for line in lines)
    assert any(line.startswith(":checkered_flag:") for line in lines)


@pytest.mark.usefixtures("short")
def test_stand_down_needs_a_reason_and_tells_the_agent_why(baton):
    card = hand_over(baton)
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: "Stand down" in controls(card_message(baton.fake)))
    view = open_modal(baton, MIM, card_message(baton.fake), "incident_stand_down")
    reply = submit_modal(baton, MIM, view, {"reason": "no"})
    assert reply.json() == {
        "response_action": "errors",
        "errors": {"reason": "Please say why it is not a major incident (a few words)."},
    }
    reply = submit_modal(baton, MIM, view, {"reason": "Only one user <!channel> affected"})
    assert reply.status == 200 and reply.body == ""
    direct = baton.fake.wait_for(
        "chat.postMessage",
        where=lambda a: a["channel"] == dm(AGENT) and "not a major incident" in a["text"],
    )[0].args["text"]
    assert "Only one user &lt;!channel&gt; affected" in direct
    assert "not a rejection of your handover" in direct
    assert incident(baton).status == "stood_down"
    with baton.db.session() as s:
        assert s.query(Deadline).filter_by(status="pending").count() == 0


@pytest.mark.usefixtures("short")
def test_hand_on_moves_ownership_and_only_the_owner_may_act(baton):
    card = hand_over(baton)
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: "Hand on" in controls(card_message(baton.fake)))
    card = card_message(baton.fake)

    # Someone else cannot resolve it.
    click(baton.slack, MIM2, card, "incident_resolve")
    wait_until(lambda: baton.fake.responses)
    assert (
        baton.fake.responses[-1]
        .args["text"]
        .startswith(f"Only the owner of *{incident(baton).reference}*, <@{MIM}>, can resolve it.")
    )
    with baton.db.session() as s:
        denied = s.query(Event).filter_by(kind="denied").all()
    assert [e.actor for e in denied] == [MIM2]

    view = open_modal(baton, MIM, card, "incident_hand_on")
    reply = submit_modal(baton, MIM, view, {})
    assert reply.json()["errors"] == {"owner": "Choose who takes it over."}
    assert submit_modal(baton, MIM, view, {"owner": MIM}).json()["errors"] == {
        "owner": "You own it already: choose someone else to hand it on to."
    }
    assert submit_modal(baton, MIM, view, {"owner": MIM2}).body == ""
    wait_until(lambda: incident(baton).owner_id == MIM2)
    baton.fake.wait_for("chat.postMessage", where=lambda a: a["channel"] == dm(MIM2))
    line = next(x for x in thread_lines(baton, card, 2) if "handed" in x)
    assert f"<@{MIM}> handed *MI-" in line and f"on to <@{MIM2}>" in line


@pytest.mark.usefixtures("short")
def test_only_configured_managers_may_accept(baton_factory):
    baton = baton_factory('accept_users = ["U0MIM00001"]\n')
    card = hand_over(baton)
    click(baton.slack, MIM2, card, "incident_accept")
    wait_until(lambda: baton.fake.responses)
    assert baton.fake.responses[0].args["text"] == (
        "Only <@U0MIM00001> can accept major incidents here."
    )
    assert incident(baton).owner_id is None
    with baton.db.session() as s:  # the refusal is on the timeline, like the owner's ones
        refusals = [(e.actor, e.detail["action"]) for e in s.query(Event).filter_by(kind="denied")]
    assert refusals == [(MIM2, "accept")]
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: incident(baton).owner_id == MIM)


def test_only_configured_managers_may_send_or_edit_comms_nobody_owns(baton_factory):
    baton = baton_factory('accept_users = ["U0MIM00001"]\n')
    card = hand_over(baton)
    draft = draft_message(baton.fake, card["ts"])
    for action in ("notice_send", "notice_edit"):
        assert click(baton.slack, MIM2, draft, action).status == 200
    wait_until(lambda: len(baton.fake.responses) == 2)
    answers = sorted(r.args["text"] for r in baton.fake.responses)
    assert answers == [
        f"Only <@U0MIM00001> can edit the comms of *{incident(baton).reference}*.",
        "Only <@U0MIM00001> can send comms for an incident nobody owns yet.",
    ]
    assert len(baton.fake.calls_to("views.open")) == 1  # the checklist's: no edit form
    with baton.db.session() as s:  # both refusals are on the timeline
        refusals = {(e.actor, e.detail["action"]) for e in s.query(Event).filter_by(kind="denied")}
    assert refusals == {(MIM2, "send"), (MIM2, "edit")}


@pytest.fixture
def baton_factory(env, config, request):
    def make(extra_toml: str):
        config.write_text(config.read_text() + extra_toml)
        return request.getfixturevalue("baton")

    return make


@pytest.mark.usefixtures("short")
def test_deadlines_fire_within_a_second_of_their_due_time(baton):
    hand_over(baton)
    wait_until(lambda: incident(baton).phase == "post_initial")
    with baton.db.session() as s:
        fired = s.query(Deadline).filter_by(status="fired").all()
    assert {d.kind for d in fired} >= {"escalation", "phase_reminder", "phase_end"}
    for d in fired:
        assert 0 <= (d.fired_at - d.due_at).total_seconds() < 1, d.kind
        assert d.late is False


@pytest.mark.usefixtures("short")
def test_a_double_click_sends_the_initial_notice_once(baton):
    """Four clicks at once (two replicas, or two of bolt's threads) must not all pass the "not
    yet sent" check: one publishes it and plans one update cycle; the others do nothing."""
    card = hand_over(baton)
    draft = draft_message(baton.fake, card["ts"])
    barrier = threading.Barrier(4)

    def press():
        barrier.wait()
        click(baton.slack, MIM, draft, "notice_send")

    threads = [threading.Thread(target=press) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    def recorded() -> int:
        with baton.db.session() as s:
            return s.query(Event).filter_by(kind="initial_comms_sent").count()

    wait_until(lambda: recorded() == 1)
    baton.fake.wait_for("chat.postMessage", where=lambda a: a["channel"] == STAKEHOLDER_CHANNEL)
    time.sleep(1)  # the other clicks have had their chance
    assert recorded() == 1
    published = [
        c
        for c in baton.fake.calls_to("chat.postMessage")
        if c.args["channel"] == STAKEHOLDER_CHANNEL
    ]
    assert len(published) == 1
    assert baton.fake.responses == []  # a double click is no error
    with baton.db.session() as s:
        planned = s.query(Deadline).filter(Deadline.kind.in_(UPDATE_DEADLINES)).count()
    assert planned == 2  # one reminder and one due time
