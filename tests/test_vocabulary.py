"""Every kind Baton can record or say has its words: a new event or message kind without them
fails here, not in front of a manager at 3 a.m."""

import dataclasses
import json

import pytest

from bot.slack.outbox_text import EVENT_LINES, MESSAGES
from bot.slack.ownership.timeline_text import EVENT_WORDS
from handover.clock.timeline import (
    DETAILS,
    HandedOn,
    InitialCommsSent,
    StateChanged,
    detail_of,
)
from handover.intents import INTENTS, HandedOnDm, intent_of
from handover.vocabulary import EventKind, OutboxKind

# Posted or updated from their own rows (the card, a notice), not from words in outbox_text.
RENDERED_ELSEWHERE = {
    OutboxKind.CARD_POST,
    OutboxKind.CARD,
    OutboxKind.NOTICE_POST,
    OutboxKind.NOTICE,
    OutboxKind.NOTICE_PUBLISH,
    OutboxKind.NOTICE_REPUBLISH,
    OutboxKind.REVIEW,  # a file: the Markdown review (bot/review.py)
    OutboxKind.PAGE,  # not Slack's: the pager's request (bot/pagers/events.py)
    OutboxKind.WEBHOOK,  # not Slack's: a signed JSON POST (bot/webhooks.py)
    # The incident channel's steps: Slack calls, not words (bot/slack/incident_channel.py).
    OutboxKind.CHANNEL_CREATE,
    OutboxKind.CHANNEL_INVITE,
    OutboxKind.CHANNEL_RECORD,
    OutboxKind.CHANNEL_TOPIC,
    OutboxKind.CHANNEL_BOOKMARK,
    OutboxKind.CHANNEL_ARCHIVE,
    OutboxKind.NOTICE_EMAIL,  # not Slack's: the notice's e-mail (bot/mail/message.py)
}


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_event_kind_has_a_detail_and_timeline_words(kind):
    assert kind in DETAILS, f"{kind} has no detail class in handover/clock/timeline.py"
    assert EVENT_WORDS.get(kind), f"{kind} has no words in the timeline"


@pytest.mark.parametrize("kind", [k for k, cls in DETAILS.items() if cls.in_thread])
def test_every_event_said_in_the_thread_has_its_line(kind):
    assert kind in EVENT_LINES, f"{kind} is said in the thread but has no line in outbox_text"


def test_only_events_said_in_the_thread_have_a_line():
    assert all(DETAILS[kind].in_thread for kind in EVENT_LINES)


@pytest.mark.parametrize("kind", sorted(set(OutboxKind) - RENDERED_ELSEWHERE))
def test_every_outbox_message_kind_is_typed_and_worded(kind):
    assert kind in INTENTS, f"{kind} has no typed params in handover/intents.py"
    assert kind in MESSAGES, f"{kind} has no words in bot/slack/outbox_text.py"


def test_rows_written_before_the_types_read_back():
    """The JSON keys stayed as they were ("from", "to"), so old rows and queued messages load."""
    assert detail_of("handed_on", {"from": "U1", "to": "U2"}) == HandedOn(previous="U1", new="U2")
    changed = detail_of("state_changed", {"from": "investigating", "to": "identified"})
    assert changed == StateChanged(before="investigating", after="identified")
    line = intent_of("handed_on_dm", {"user": "U2", "from": "U1"})
    assert line == HandedOnDm(user="U2", previous="U1")
    assert HandedOn(previous="U1", new="U2").to_json() == {"from": "U1", "to": "U2"}
    # Written before notices were rows (migration 0003): no notice, no channel.
    old = detail_of("initial_comms_sent", {"after_s": 300, "next_update_at": None})
    assert old == InitialCommsSent(after_s=300)
    # An optional value left at None is left out, as before the types.
    assert "late_by_s" not in InitialCommsSent(notice=1, channel="C1", after_s=5).to_json()


SAMPLES = {
    "int": 7,
    "int | None": 8,
    "str": "x",
    "str | None": "y",
    "bool": True,
    "list[str]": ["a", "b"],
    "list[tuple[str, int]]": [["accepted", 60]],  # as JSON gives it back
    "dict[str, int | None]": {"→ resolved": 600, "→ first comms": None},
    "dict[str, str]": {"cio@example.com": "550 no such user"},
}


@pytest.mark.parametrize("cls", sorted(set(DETAILS.values()), key=lambda c: c.__name__))
def test_every_detail_survives_the_database(cls):
    """Stored as JSON and read back, every detail is what was recorded."""
    detail = cls(**{f.name: SAMPLES[f.type] for f in dataclasses.fields(cls)})
    assert cls.from_json(json.loads(json.dumps(detail.to_json()))) == detail
