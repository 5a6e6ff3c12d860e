"""The incident channel (`incident_channel = true`): made on Accept under a name from the
reference and the headline, the owner, the agent and the engaged groups' members invited, the
record pinned, the topic set, the bridge bookmarked, the card linking it; groups engaged later
invited; the end said there, and archived on close when asked. Every step through the outbox:
a refusal is said to the owner in the card's thread, a retry never makes a second channel.
Signed requests into the real app, the fake Slack (as strict as Slack), the real database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from handover.models import Event, Outbox
from handover.ownership.incident_channel import channel_name, channel_names
from handover.reach import Reach
from handover.settings import load_org_config
from handover.vocabulary import OutboxKind, OutboxStatus
from tests.conftest import AGENT, MIM, MIM2
from tests.fake_slack import BOT_USER, Failure
from tests.flows import (
    card_message,
    click,
    hand_over,
    incident,
    open_modal,
    submit_modal,
    texts,
    wait_until,
)
from tests.test_card import accept_and_open, latest_card

SERVERS = "S0SERVERS1"
NETWORK = "S0NET0001"
SERVERS_TEAM = ["U0SRV00001", "U0SRV00002"]
NETWORK_TEAM = ["U0NET00001"]
BRIDGE = "https://meet.example.com/mi-bridge"
HEADLINE_SLUG = "e-mail-down-for-all-staff-at-head-office"
FIRST = f"mi-{datetime.now(UTC).year}-0001"  # the first incident's reference, as a name

CONFIG = f"""
card_mention = "none"
incident_channel = true
bridge_url = "{BRIDGE}"

[resolver_groups."Servers and cloud"]
usergroup = "{SERVERS}"

[resolver_groups.Network]
usergroup = "{NETWORK}"

[resolver_groups.Database]
"""


def configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    path = tmp_path / "baton.toml"
    path.write_text(text)
    monkeypatch.setenv("BATON_CONFIG", str(path))


@pytest.fixture
def channel_config(env, fake_slack, tmp_path, monkeypatch):
    """Incident channels on, with a bridge; two groups with their Slack user groups."""
    configure(tmp_path, monkeypatch, CONFIG)
    fake_slack.usergroups = {SERVERS: list(SERVERS_TEAM), NETWORK: list(NETWORK_TEAM)}


@pytest.fixture
def archiving(env, fake_slack, tmp_path, monkeypatch):
    """The same, and closing archives the channel."""
    on = "incident_channel = true"
    configure(tmp_path, monkeypatch, CONFIG.replace(on, f"{on}\narchive_incident_channel = true"))
    fake_slack.usergroups = {SERVERS: list(SERVERS_TEAM), NETWORK: list(NETWORK_TEAM)}


def made(fake) -> list:
    """The channels Slack made (not the refused attempts)."""
    return [c for c in fake.calls_to("conversations.create") if c.result.get("ok")]


def the_channel(baton):
    """The incident channel as the fake workspace has it, once Baton has recorded it."""
    wait_until(lambda: incident(baton).incident_channel)
    return baton.fake.channels[incident(baton).incident_channel]


def accept(baton) -> dict:
    """Accept (closing the Engage & send form unsent); the card, owned."""
    card = hand_over(baton)
    accept_and_open(baton, card)
    return latest_card(baton, f"*Owner:* <@{MIM}>")


def said_in_thread(baton, card: dict, words: str) -> str:
    wait_until(lambda: any(words in t for t in baton.fake.thread(card["ts"])))
    return next(t for t in baton.fake.thread(card["ts"]) if words in t)


# The name ---------------------------------------------------------------------------------


def test_the_name_is_the_reference_then_the_headline_in_slacks_alphabet():
    assert channel_name("MI-2026-0001", "E-mail down for ALL staff @ head office!") == (
        "mi-2026-0001-e-mail-down-for-all-staff-head-office"
    )
    assert channel_name("MI-2026-0001", "Café — paiement  refusé") == (
        "mi-2026-0001-cafe-paiement-refuse"
    )
    assert channel_name("MI-2026-0001", "!!!") == "mi-2026-0001"
    long = "Payroll export to the bank fails for every employee in every region since the upgrade"
    name = channel_name("MI-2026-0001", long)
    assert len(name) <= 80 and name.startswith("mi-2026-0001-payroll-export")
    assert long.lower().replace(" ", "-").startswith(name.removeprefix("mi-2026-0001-"))
    assert not name.endswith("-")  # cut at a word boundary
    names = channel_names("MI-2026-0001", long)
    assert names[1].endswith("-2") and all(len(n) <= 80 for n in names)
    assert len(set(names)) == 5


def test_the_settings_are_checked_one_line_each(tmp_path):
    path = tmp_path / "baton.toml"
    path.write_text(
        'incident_channel = "yes"\narchive_incident_channel = 1\nbridge_url = "ftp://bridge"\n'
    )
    problems: list[str] = []
    org = load_org_config(path, problems)
    assert not org.incident_channel and not org.archive_incident_channel and not org.bridge_url
    assert len(problems) == 3
    assert "'incident_channel' must be true or false (without quotes), not 'yes'" in problems[0]
    assert "'archive_incident_channel' must be true or false" in problems[1]
    assert "'bridge_url' 'ftp://bridge' is not an http(s) URL" in problems[2]
    path.write_text(f'incident_channel = true\nbridge_url = "{BRIDGE}"\n')
    problems = []
    org = load_org_config(path, problems)
    assert problems == [] and org.incident_channel and org.bridge_url == BRIDGE
    assert not org.archive_incident_channel  # off by default


# On accept --------------------------------------------------------------------------------


def test_accept_makes_the_channel_with_its_people_record_topic_and_bridge(channel_config, baton):
    card = accept(baton)
    channel = the_channel(baton)
    reference = incident(baton).reference
    assert channel.name == f"{reference.lower()}-{HEADLINE_SLUG}"
    assert not channel.private and channel.creator == BOT_USER
    wait_until(lambda: MIM in channel.users and AGENT in channel.users)

    wait_until(lambda: channel.pins)
    [record] = [m for m in baton.fake.messages[channel.id] if m["ts"] == channel.pins[0]]
    assert f"*{reference}* · P1 · *E-mail down for all staff at head office*" in record["text"]
    assert (
        f"https://example.slack.com/archives/C0MIMS0001/p{card['ts'].replace('.', '')}"
        in (record["text"])
    )
    assert "*Services:* E-mail" in record["text"] and f"Owner <@{MIM}>" in record["text"]

    wait_until(lambda: channel.topic)
    assert channel.topic == f"P1 · first 15 min · owner @{MIM.lower()}"
    wait_until(lambda: channel.bookmarks)
    assert channel.bookmarks[0]["link"] == BRIDGE and channel.bookmarks[0]["type"] == "link"

    card = latest_card(baton, f"<#{channel.id}>")
    assert f"worked in <#{channel.id}>" in card["blocks"][1]["elements"][0]["text"]
    assert len(made(baton.fake)) == 1


def test_a_taken_name_gets_the_next_number(channel_config, fake_slack, baton):
    taken = f"{FIRST}-{HEADLINE_SLUG}"
    fake_slack.add_channel("C0TAKEN001", taken)
    accept(baton)
    channel = the_channel(baton)
    assert channel.name == f"{taken}-2"
    refused = [c for c in fake_slack.calls_to("conversations.create") if not c.result.get("ok")]
    assert [c.result["error"] for c in refused] == ["name_taken"]


def test_the_engaged_groups_members_are_invited_and_later_ones_too(channel_config, baton):
    card = hand_over(baton)
    form = accept_and_open(baton, card)
    submit_modal(baton, MIM, form, {})  # Engage & send: "Servers and cloud", as suggested
    channel = the_channel(baton)
    wait_until(lambda: all(u in channel.users for u in [MIM, AGENT, *SERVERS_TEAM]))
    assert NETWORK_TEAM[0] not in channel.users

    card = latest_card(baton, "initial comms sent (")
    view = open_modal(baton, MIM, card, "incident_engage")
    submit_modal(baton, MIM, view, {"groups": ["Network"]})
    wait_until(lambda: NETWORK_TEAM[0] in channel.users)
    invited = [c.args["users"] for c in baton.fake.calls_to("conversations.invite")]
    assert len(invited) == len(set(invited))  # one by one, nobody twice


def test_a_person_slack_refuses_does_not_keep_the_others_out(channel_config, fake_slack, baton):
    fake_slack.refuse_invite[SERVERS_TEAM[0]] = "user_is_restricted"
    card = hand_over(baton)
    form = accept_and_open(baton, card)
    submit_modal(baton, MIM, form, {})
    channel = the_channel(baton)
    wait_until(lambda: SERVERS_TEAM[1] in channel.users)
    assert SERVERS_TEAM[0] not in channel.users and MIM in channel.users
    line = said_in_thread(baton, card, "would not add these")
    assert f"<@{MIM}>" in line and f"<@{SERVERS_TEAM[0]}> (a guest account" in line
    with baton.db.session() as s:
        kinds = [
            e.detail.get("error", "") for e in s.query(Event).filter_by(kind="message_undelivered")
        ]
    assert kinds == [f"user_is_restricted ({SERVERS_TEAM[0]})"]


def test_slack_busy_is_waited_out_and_nothing_is_done_twice(channel_config, fake_slack, baton):
    limited = Failure(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "1"})
    fake_slack.fail("conversations.invite", limited)
    fake_slack.fail("conversations.setTopic", Failure(503))
    # Slack adds the bookmark, but its answer is lost: the retry finds it.
    fake_slack.fail("bookmarks.add", Failure(500, carried_out=True))
    accept(baton)
    channel = the_channel(baton)
    wait_until(lambda: MIM in channel.users and AGENT in channel.users)
    wait_until(lambda: channel.topic and len(fake_slack.calls_to("bookmarks.list")) == 1)
    assert len(channel.bookmarks) == 1
    assert fake_slack.calls_to("conversations.invite!failed")  # it was refused once


@pytest.fixture
def short_phase(env, monkeypatch):
    monkeypatch.setenv("BATON_INITIAL_PHASE", "3s")


def test_the_topic_follows_the_phase_and_the_priority(channel_config, short_phase, baton):
    card = accept(baton)
    channel = the_channel(baton)
    owner = f"owner @{MIM.lower()}"
    wait_until(lambda: channel.topic == f"P1 · after the first 3 s · {owner}", timeout=15)
    view = open_modal(baton, MIM, card, "incident_change_priority")
    submit_modal(baton, MIM, view, {"priority": "P2", "reason": "Only head office is hit"})
    wait_until(lambda: channel.topic == f"P2 · after the first 3 s · {owner}")


def test_a_user_group_slack_does_not_know_is_said_and_the_rest_are_in(
    channel_config, fake_slack, baton
):
    del fake_slack.usergroups[SERVERS]  # deleted in Slack since it was configured
    card = hand_over(baton)
    submit_modal(baton, MIM, accept_and_open(baton, card), {})
    channel = the_channel(baton)
    line = said_in_thread(baton, card, "would not add these")
    assert f"the user group `{SERVERS}` (that user group does not exist" in line
    assert "<!subteam^" not in line  # a refusal pings nobody but the owner
    assert MIM in channel.users and AGENT in channel.users


# The end ----------------------------------------------------------------------------------


def test_resolve_and_close_are_said_in_the_channel_and_close_archives_it(archiving, baton):
    card = accept(baton)
    channel = the_channel(baton)
    wait_until(lambda: channel.pins)
    view = open_modal(baton, MIM, card, "incident_resolve")
    submit_modal(baton, MIM, view, {})
    card = latest_card(baton, "*Resolved*")
    wait_until(lambda: any("resolved" in m["text"] for m in baton.fake.messages[channel.id]))
    wait_until(lambda: channel.topic.startswith("P1 · resolved"))
    click(baton.slack, MIM, card, "incident_close")
    wait_until(lambda: channel.archived)
    said = [m["text"] for m in baton.fake.messages[channel.id]]
    assert any(":white_check_mark:" in t and "resolved" in t for t in said)
    assert any(":checkered_flag:" in t and "closed by" in t for t in said)


def test_the_channel_is_archived_only_after_its_last_words(archiving, fake_slack, baton):
    card = accept(baton)
    channel = the_channel(baton)
    view = open_modal(baton, MIM, card, "incident_resolve")
    submit_modal(baton, MIM, view, {})
    card = latest_card(baton, "*Resolved*")
    wait_until(lambda: any("resolved" in m["text"] for m in fake_slack.messages[channel.id]))
    # Slack is busy when the closing words go out: the archive waits for them.
    busy = Failure(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "1"})
    fake_slack.fail("chat.postMessage", busy, busy)
    click(baton.slack, MIM, card, "incident_close")
    wait_until(lambda: channel.archived)
    wait_until(lambda: fake_slack.calls_to("chat.postMessage!failed"))
    wait_until(lambda: any("closed by" in m["text"] for m in fake_slack.messages[channel.id]))
    calls = list(fake_slack.calls)
    said = [
        i
        for i, c in enumerate(calls)
        if c.method == "chat.postMessage"
        and c.args.get("channel") == channel.id
        and "closed by" in c.args["text"]
    ]
    archived = [i for i, c in enumerate(calls) if c.method == "conversations.archive"]
    assert len(said) == 1 and len(archived) == 1 and said[0] < archived[0]


def test_standing_down_is_said_there_and_ends_the_channel_too(archiving, fake_slack, baton):
    card = accept(baton)
    channel = the_channel(baton)
    wait_until(lambda: channel.pins)
    view = open_modal(baton, MIM, card, "incident_stand_down")
    submit_modal(baton, MIM, view, {"reason": "A single user's laptop, not a major incident"})
    wait_until(lambda: channel.archived)
    said = [m["text"] for m in fake_slack.messages[channel.id]]
    assert any("not a major incident" in t and ":octagonal_sign:" in t for t in said)


def test_close_keeps_the_channel_unless_asked_to_archive(channel_config, baton):
    card = accept(baton)
    channel = the_channel(baton)
    view = open_modal(baton, MIM, card, "incident_resolve")
    submit_modal(baton, MIM, view, {})
    card = latest_card(baton, "*Resolved*")
    click(baton.slack, MIM, card, "incident_close")
    wait_until(lambda: any("closed by" in m["text"] for m in baton.fake.messages[channel.id]))
    assert not channel.archived and baton.fake.calls_to("conversations.archive") == []


# When Slack refuses or fails --------------------------------------------------------------


def test_a_refused_create_is_said_to_the_owner_in_the_thread(channel_config, fake_slack, baton):
    fake_slack.scopes = [s for s in fake_slack.scopes if s != "channels:manage"]
    card = accept(baton)
    line = said_in_thread(baton, card, "could *not* make the incident channel")
    assert f"<@{MIM}>" in line and "missing_scope" in line
    with baton.db.session() as s:
        rows = {r.what: r.status for r in s.query(Outbox).filter(Outbox.what.like("channel_%"))}
    assert rows[OutboxKind.CHANNEL_CREATE] == OutboxStatus.FAILED
    # What waits for the channel is held for `baton outbox retry`, not tried every second.
    assert rows[OutboxKind.CHANNEL_INVITE] == OutboxStatus.HELD
    assert rows[OutboxKind.CHANNEL_RECORD] == OutboxStatus.HELD
    assert incident(baton).incident_channel is None

    # Fixed (the scope granted), then retried: the channel is made and the rest follows.
    fake_slack.scopes.append("channels:manage")
    Reach(baton.db, baton.settings).retry(None)
    channel = the_channel(baton)
    wait_until(lambda: MIM in channel.users and channel.pins and channel.topic)


def test_a_restricted_action_is_said_in_words(channel_config, fake_slack, baton):
    fake_slack.fail(
        "conversations.create", Failure(200, {"ok": False, "error": "restricted_action"})
    )
    card = accept(baton)
    line = said_in_thread(baton, card, "could *not* make the incident channel")
    assert "ask a Slack admin to allow Baton" in line


def test_a_retry_after_the_channel_was_made_finds_it_instead_of_making_another(
    channel_config, fake_slack, baton
):
    # Slack makes the channel, but its answer is lost (a 500): the row is tried again.
    fake_slack.fail("conversations.create", Failure(500, carried_out=True))
    accept(baton)
    channel = the_channel(baton)
    assert channel.name.endswith(HEADLINE_SLUG)  # not -2: the first one was found
    wait_until(lambda: MIM in channel.users and channel.pins)
    creates = fake_slack.calls_to("conversations.create")
    assert len(made(fake_slack)) == 1 and creates[1].result["error"] == "name_taken"
    mine = [c for c in fake_slack.channels.values() if c.creator == BOT_USER]
    assert mine == [channel]


def test_a_new_owner_is_invited_and_the_topic_names_them(channel_config, fake_slack, baton):
    fake_slack.user_names[MIM2] = "Sam Second"
    card = accept(baton)
    channel = the_channel(baton)
    wait_until(lambda: channel.topic.endswith(f"owner @{MIM.lower()}"))
    view = open_modal(baton, MIM, card, "incident_hand_on")
    submit_modal(baton, MIM, view, {"owner": MIM2})
    wait_until(lambda: MIM2 in channel.users)
    wait_until(lambda: channel.topic == "P1 · first 15 min · owner @Sam Second")


# Off --------------------------------------------------------------------------------------


def test_with_incident_channel_off_nothing_of_this_happens(baton):
    card = hand_over(baton)
    form = accept_and_open(baton, card)
    submit_modal(baton, MIM, form, {})
    card = latest_card(baton, "initial comms sent (")
    view = open_modal(baton, MIM, card, "incident_hand_on")
    submit_modal(baton, MIM, view, {"owner": MIM2})
    card = latest_card(baton, f"*Owner:* <@{MIM2}>")
    for method in ("conversations.create", "conversations.invite", "pins.add", "bookmarks.add"):
        assert baton.fake.calls_to(method) == [], method
    with baton.db.session() as s:
        assert s.query(Outbox).filter(Outbox.what.like("channel_%")).count() == 0
    assert incident(baton).incident_channel is None
    assert "worked in" not in texts(card_message(baton.fake)["blocks"])
