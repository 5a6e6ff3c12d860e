"""Slack's own retries and people's double clicks: never a second incident, acceptance or notice.

Slack retries a request it got no answer to in time, with the same body and
`X-Slack-Retry-Num`; a double click is a second request with a new trigger_id and action_ts.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from urllib.parse import urlencode

import pytest

from handover.models import Draft, Event, Incident
from tests.conftest import AGENT, MIM, MIM_CHANNEL
from tests.fake_slack import dm
from tests.flows import (
    buttons,
    card_message,
    draft_message,
    hand_over,
    incident,
    open_modal,
    submit,
    submit_modal,
    wait_until,
    walk_to_review,
)
from tests.slack_user import Reply

pytestmark = pytest.mark.both_databases

RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


def twice_at_once(send) -> list[Reply]:
    """Two requests as close together as two clicks can be."""
    barrier = threading.Barrier(2)
    replies: list[Reply] = []

    def go() -> None:
        barrier.wait()
        replies.append(send())

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return replies


def event_kinds(baton) -> Counter:
    with baton.db.session() as s:
        return Counter(e.kind for e in s.query(Event))


def settle(baton) -> None:
    """Let anything a request set off reach Slack, so a second effect would be seen."""
    time.sleep(0.5)
    wait_until(lambda: not baton.runtime.deliverer.deliver_due())


def thread_count(baton, card: dict, marker: str) -> int:
    return sum(marker in line for line in baton.fake.thread(card["ts"]))


def accepted(baton) -> dict:
    card = hand_over(baton)
    assert baton.slack.click(MIM, card, "incident_accept", MIM_CHANNEL).status == 200
    wait_until(lambda: "Resolve" in buttons(card_message(baton.fake)))
    return card_message(baton.fake)


def test_a_retried_slash_command_starts_no_second_handover(baton):
    fields = baton.slack.command_fields(AGENT, "E-mail down for everyone")
    first = baton.slack.post(urlencode(fields))
    assert first.status == 200
    baton.fake.wait_for("views.open")
    retry = baton.slack.post(urlencode(fields), headers=RETRY)
    assert retry.status == 200
    assert "started nothing new" in retry.text and "/major-incident resume" in retry.text
    settle(baton)
    with baton.db.session() as s:
        assert s.query(Draft).count() == 1
    assert len(baton.fake.calls_to("views.open")) == 1
    # Answers without side effects are given again.
    fields["text"] = "help"
    assert "/major-incident resume" in baton.slack.post(urlencode(fields), headers=RETRY).text


def test_a_retried_handover_submission_hands_over_once(baton):
    review = walk_to_review(baton)
    first = submit(baton, review, {})
    retried = baton.slack.submit_view(AGENT, review, {}, headers=RETRY)
    assert "Handing over as" in str(first["view"]) and "Handing over as" in str(retried.json())
    settle(baton)
    with baton.db.session() as s:
        assert s.query(Incident).count() == 1
    cards = [
        c
        for c in baton.fake.calls_to("chat.postMessage")
        if "blocks" in c.args and not c.args.get("thread_ts")
    ]
    dms = [c for c in baton.fake.calls_to("chat.postMessage") if c.args["channel"] == dm(AGENT)]
    assert len(cards) == 1 and len(dms) == 1


def test_a_retried_accept_is_one_acceptance_and_tells_the_owner_nothing_odd(baton):
    card = hand_over(baton)
    click = baton.slack.click_payload(MIM, card, "incident_accept", MIM_CHANNEL)
    stamp = int(time.time())
    assert baton.slack.interaction(click, timestamp=stamp).status == 200
    # The very same signed request again is a replay; signed anew (a copy that came round
    # again), it is answered, without a second acceptance.
    assert baton.slack.interaction(click, timestamp=stamp, headers=RETRY).status == 401
    assert baton.slack.interaction(click, timestamp=stamp + 1, headers=RETRY).status == 200
    settle(baton)
    assert incident(baton).owner_id == MIM
    assert event_kinds(baton)["accepted"] == 1
    assert thread_count(baton, card, "accepted *MI-") == 1
    accepted_dms = [
        c
        for c in baton.fake.calls_to("chat.postMessage")
        if c.args["channel"] == dm(AGENT) and "accepted" in c.args["text"]
    ]
    assert len(accepted_dms) == 1
    assert baton.fake.responses == []  # no "already owned by you"


def test_double_clicking_accept_is_one_acceptance(baton):
    card = hand_over(baton)
    replies = twice_at_once(lambda: baton.slack.click(MIM, card, "incident_accept", MIM_CHANNEL))
    assert [r.status for r in replies] == [200, 200]
    settle(baton)
    assert event_kinds(baton)["accepted"] == 1
    assert thread_count(baton, card, "accepted *MI-") == 1
    assert baton.fake.responses == []


def test_submitting_resolve_twice_resolves_once(baton):
    card = accepted(baton)
    view = open_modal(baton, MIM, card, "incident_resolve")
    replies = twice_at_once(lambda: submit_modal(baton, MIM, view, {}))
    assert [(r.status, r.body) for r in replies] == [(200, ""), (200, "")]  # both modals close
    settle(baton)
    assert incident(baton).status == "resolved"
    assert event_kinds(baton)["resolved"] == 1
    assert thread_count(baton, card, "resolved <!date^") == 1


def test_double_clicking_close_closes_once_without_a_misleading_answer(baton):
    card = accepted(baton)
    view = open_modal(baton, MIM, card, "incident_resolve")
    submit_modal(baton, MIM, view, {})
    wait_until(lambda: buttons(card_message(baton.fake)) == ["Close incident", "Fill a gap"])
    card = card_message(baton.fake)
    twice_at_once(lambda: baton.slack.click(MIM, card, "incident_close", MIM_CHANNEL))
    settle(baton)
    assert incident(baton).status == "closed"
    assert event_kinds(baton)["closed"] == 1
    assert thread_count(baton, card, ":checkered_flag:") == 1
    assert baton.fake.responses == []  # not "must be resolved before it can be closed"


def test_double_clicking_send_on_an_update_sends_one_update(baton):
    card = accepted(baton)
    baton.slack.click(MIM, draft_message(baton.fake, card["ts"]), "notice_send", MIM_CHANNEL)
    wait_until(lambda: event_kinds(baton).get("initial_comms_sent") == 1)
    view = open_modal(baton, MIM, card, "incident_draft_update")
    submit_modal(baton, MIM, view, {})
    update = draft_message(baton.fake, card["ts"], "update")
    twice_at_once(lambda: baton.slack.click(MIM, update, "notice_send", MIM_CHANNEL))
    settle(baton)
    assert event_kinds(baton)["update_sent"] == 1
    assert thread_count(baton, card, ":mega: Update sent") == 1
    assert baton.fake.responses == []  # a double click is no error


def test_engaging_the_same_groups_again_says_nothing_new(baton):
    card = accepted(baton)
    view = open_modal(baton, MIM, card, "incident_engage")
    for _ in range(2):
        reply = submit_modal(baton, MIM, view, {"groups": ["Network"]}, headers=RETRY)
        assert (reply.status, reply.body) == (200, "")
    settle(baton)
    assert event_kinds(baton)["trgs_engaged"] == 1
    assert thread_count(baton, card, "engaged resolver groups") == 1
