"""The fake Slack answers as Slack does, through the real `slack_sdk` WebClient: the other
tests can trust it only while it refuses what Slack refuses (tests/fake_slack.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.manifest import BOT_SCOPES
from tests.fake_slack import FakeSlack, dm
from tests.slack_user import new_trigger_id

MIM = "C0MIMS0001"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A fake of its own: these tests send what Slack refuses on purpose, so its
    `limit_problems` are theirs to read, not a failure of the test."""
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test-token", base_url=fake.url, timeout=5)


def refused(call, *args, **kwargs) -> dict:
    """Slack's answer to a call it refuses (slack_sdk raises SlackApiError for it)."""
    with pytest.raises(SlackApiError) as caught:
        call(*args, **kwargs)
    return caught.value.response.data


def error(call, *args, **kwargs) -> str:
    return refused(call, *args, **kwargs)["error"]


def test_posting_depends_on_the_channel_as_in_slack(fake, client):
    fake.add_channel("C0PUBLIC01", "general-chat", member=False)
    fake.add_channel("C0SECRET01", "hr-private", private=True, member=False)
    fake.add_channel("C0OLD00001", "old-incidents", archived=True)
    post = client.chat_postMessage
    assert error(post, channel="C0UNKNOWN1", text="hi") == "channel_not_found"
    # Private and not invited: Slack cannot tell it from a channel that does not exist.
    assert error(post, channel="C0SECRET01", text="hi") == "channel_not_found"
    assert error(post, channel="C0OLD00001", text="hi") == "is_archived"
    # Public and not a member: chat:write.public (in the manifest) lets Baton post anyway …
    assert post(channel="C0PUBLIC01", text="hi")["ok"]
    # … and without it, Slack says so.
    fake.scopes.remove("chat:write.public")
    assert error(post, channel="C0PUBLIC01", text="hi") == "not_in_channel"
    assert error(client.chat_update, channel="C0PUBLIC01", ts="1.1", text="x") == ("not_in_channel")
    # DMs always work; a user id as the channel is their DM.
    assert post(channel="D0AGENT001", text="hi")["channel"] == "D0AGENT001"
    assert post(channel="U0AGENT001", text="hi")["channel"] == dm("U0AGENT001")
    fake.scopes.remove("chat:write")
    answer = refused(post, channel=MIM, text="hi")
    assert answer["error"] == "missing_scope" and answer["needed"] == "chat:write"


def test_membership_changes_take_effect_at_once(fake, client):
    fake.remove_bot(MIM)
    fake.scopes.remove("chat:write.public")
    assert error(client.chat_postMessage, channel=MIM, text="hi") == "not_in_channel"
    fake.invite_bot(MIM)
    assert client.chat_postMessage(channel=MIM, text="hi")["ok"]
    fake.archive(MIM)
    assert error(client.chat_postMessage, channel=MIM, text="hi") == "is_archived"


def test_an_update_needs_a_message_posted_in_that_channel(client):
    posted = client.chat_postMessage(channel=MIM, text="the card")["ts"]
    assert error(client.chat_update, channel=MIM, ts="1700000000.000001", text="x") == (
        "message_not_found"
    )
    other = "C0STAKE001"
    assert error(client.chat_update, channel=other, ts=posted, text="x") == "message_not_found"
    updated = client.chat_update(channel=MIM, ts=posted, text="the card, updated")
    assert updated["ts"] == posted and updated["message"]["text"] == "the card, updated"


def test_reading_a_channel_baton_is_not_in(fake, client):
    fake.add_channel("C0PUBLIC01", "general-chat", member=False)
    fake.add_channel("C0SECRET01", "hr-private", private=True, member=False)
    history = client.conversations_history
    assert error(history, channel="C0PUBLIC01") == "not_in_channel"
    assert error(history, channel="C0SECRET01") == "channel_not_found"
    assert error(history, channel="C0UNKNOWN1") == "channel_not_found"
    assert error(client.conversations_replies, channel="C0PUBLIC01", ts="1.1") == ("not_in_channel")
    assert error(client.conversations_replies, channel=MIM, ts="1.000001") == "thread_not_found"


def test_history_pages_by_limit_and_cursor(client):
    posted = [client.chat_postMessage(channel=MIM, text=f"line {n}")["ts"] for n in range(250)]
    assert len(set(posted)) == 250 and posted == sorted(posted, key=float)

    first = client.conversations_history(channel=MIM)  # Slack's default limit: 100
    assert len(first["messages"]) == 100 and first["has_more"] is True
    assert first["messages"][0]["ts"] == posted[-1]  # the most recent first
    seen, cursor, pages = [], None, 0
    while True:
        page = client.conversations_history(channel=MIM, limit=100, cursor=cursor)
        pages += 1
        seen += [m["ts"] for m in page["messages"]]
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not page["has_more"]:
            assert not cursor  # the last page: no cursor to follow
            break
        assert cursor
    assert pages == 3 and seen == posted[::-1]
    # slack_sdk's own paging follows the same cursors.
    pages_of_99 = client.conversations_history(channel=MIM, limit=99)
    assert [len(p["messages"]) for p in pages_of_99] == [99, 99, 52]  # (one object, refilled)
    # Time bounds, exclusive unless `inclusive`.
    middle = client.conversations_history(channel=MIM, oldest=posted[10], latest=posted[20])
    assert [m["ts"] for m in middle["messages"]] == posted[11:20][::-1]
    both = client.conversations_history(
        channel=MIM, oldest=posted[10], latest=posted[20], inclusive=True
    )
    assert len(both["messages"]) == 11
    assert error(client.conversations_history, channel=MIM, cursor="bm9wZQ==") == ("invalid_cursor")


def test_replies_page_from_the_parent(client):
    parent = client.chat_postMessage(channel=MIM, text="the card")["ts"]
    replies = [
        client.chat_postMessage(channel=MIM, text=f"reply {n}", thread_ts=parent)["ts"]
        for n in range(25)
    ]
    pages = [
        (page["has_more"], [m["ts"] for m in page["messages"]], page["messages"][0])
        for page in client.conversations_replies(channel=MIM, ts=parent, limit=10)
    ]
    assert [(more, len(ts)) for more, ts, _ in pages] == [(True, 10), (True, 10), (False, 6)]
    thread = [ts for _, page, _ in pages for ts in page]
    assert thread == [parent, *replies]  # the parent first, then the oldest reply first
    assert pages[0][2]["reply_count"] == 25
    # Asked by one of its replies, Slack gives the whole thread too.
    by_reply = client.conversations_replies(channel=MIM, ts=replies[3])
    assert [m["ts"] for m in by_reply["messages"]] == [parent, *replies]
    # Replies stay out of the channel's history.
    history = client.conversations_history(channel=MIM)
    assert [m["ts"] for m in history["messages"]] == [parent]


def test_conversations_info_answers_as_slack_does(fake, client):
    fake.add_channel("C0PRIV0001", "breach-room", private=True)
    fake.add_channel("G0LEGACY01", "old-private", private=True)
    fake.add_channel("C0PUBLIC01", "general-chat", member=False)
    fake.add_channel("C0SECRET01", "hr-private", private=True, member=False)
    fake.archive(MIM)

    channel = client.conversations_info(channel=MIM)["channel"]
    assert channel["id"] == MIM and channel["name"] == "major-incidents"
    assert channel["is_channel"] is True and channel["is_group"] is False
    assert channel["is_private"] is False and channel["is_archived"] is True
    assert channel["is_member"] is True
    private = client.conversations_info(channel="C0PRIV0001")["channel"]
    assert (private["is_channel"], private["is_group"], private["is_private"]) == (
        True,
        False,
        True,
    )
    legacy = client.conversations_info(channel="G0LEGACY01")["channel"]  # before March 2021
    assert (legacy["is_channel"], legacy["is_group"]) == (False, True)
    assert client.conversations_info(channel="C0PUBLIC01")["channel"]["is_member"] is False
    assert error(client.conversations_info, channel="C0SECRET01") == "channel_not_found"
    assert error(client.conversations_info, channel="C0UNKNOWN1") == "channel_not_found"
    fake.scopes.remove("groups:read")
    answer = refused(client.conversations_info, channel="C0PRIV0001")
    assert (answer["error"], answer["needed"]) == ("missing_scope", "groups:read")


def test_auth_test_names_the_scopes_in_a_header(fake, client):
    answer = client.auth_test()
    assert answer["user_id"] and answer["team_id"]
    assert answer.headers["x-oauth-scopes"] == ",".join(BOT_SCOPES)  # manifest.yml's
    fake.scopes = ["commands", "chat:write"]
    assert client.auth_test().headers["x-oauth-scopes"] == "commands,chat:write"


def test_a_refused_token_is_refused_by_every_method(fake, client):
    fake.revoke_token()
    for call, kwargs in (
        (client.auth_test, {}),
        (client.chat_postMessage, {"channel": MIM, "text": "hi"}),
        (client.conversations_info, {"channel": MIM}),
        (client.views_open, {"trigger_id": new_trigger_id(), "view": {"type": "modal"}}),
    ):
        assert error(call, **kwargs) == "token_revoked"
    for reason in ("invalid_auth", "account_inactive"):
        fake.set_token_error(reason)
        assert error(client.auth_test) == reason
    fake.set_token_error(None)
    assert client.auth_test()["ok"]
    assert error(WebClient(token="garbage", base_url=fake.url).auth_test) == "invalid_auth"
    assert error(WebClient(base_url=fake.url).auth_test) == "not_authed"


MODAL = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "A form"},
    "blocks": [
        {
            "type": "input",
            "block_id": "b",
            "label": {"type": "plain_text", "text": "Name"},
            "element": {"type": "plain_text_input", "action_id": "a"},
        }
    ],
}


def test_a_trigger_id_opens_one_view_within_three_seconds(client):
    trigger = new_trigger_id()
    assert client.views_open(trigger_id=trigger, view=MODAL)["ok"]
    assert error(client.views_open, trigger_id=trigger, view=MODAL) == "exchanged_trigger_id"
    stale = new_trigger_id(issued=time.time() - 3.5)
    assert error(client.views_open, trigger_id=stale, view=MODAL) == "expired_trigger_id"
    assert error(client.views_push, trigger_id=stale, view=MODAL) == "expired_trigger_id"
    assert error(client.views_open, trigger_id="nonsense", view=MODAL) == "invalid_trigger_id"
    assert client.views_push(trigger_id=new_trigger_id(), view=MODAL)["ok"]


def header(text_type: str) -> dict:
    return {"type": "header", "text": {"type": text_type, "text": "MI-2026-0001"}}


def select(option_type: str, kind: str = "static_select", **extra) -> dict:
    options = [
        {"text": {"type": option_type, "text": name}, "value": name.lower()}
        for name in ("Red", "Green")
    ]
    return {"type": kind, "action_id": "pick", "options": options, **extra}


def actions(*elements: dict, block_id: str = "controls") -> dict:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def test_block_kit_rules_refused_as_slack_refuses_them(fake, client):
    def message(*blocks: dict) -> str:
        fake.limit_problems.clear()
        try:
            client.chat_postMessage(channel=MIM, text="fallback", blocks=list(blocks))
        except SlackApiError as exc:
            assert exc.response["error"] == "invalid_blocks"
            return " / ".join(fake.limit_problems)
        assert fake.limit_problems == []
        return ""

    assert message(header("plain_text")) == ""
    assert "must be a plain_text object" in message(header("mrkdwn"))
    mrkdwn_button = {
        "type": "button",
        "action_id": "go",
        "text": {"type": "mrkdwn", "text": "*Go*"},
    }
    assert "button text: must be a plain_text object" in message(actions(mrkdwn_button))
    assert "option text: must be a plain_text object" in message(actions(select("mrkdwn")))
    assert message(actions(select("mrkdwn", "checkboxes"))) == ""  # checkboxes may use mrkdwn
    red = {"text": {"type": "plain_text", "text": "Red"}, "value": "red"}
    blue = {"text": {"type": "plain_text", "text": "Blue"}, "value": "blue"}
    assert message(actions(select("plain_text", initial_option=red))) == ""
    assert "initial option 'blue' is not one of its options" in message(
        actions(select("plain_text", initial_option=blue))
    )
    assert "initial option 'blue'" in message(
        actions(select("plain_text", "multi_static_select", initial_options=[red, blue]))
    )
    twice = message(actions(select("plain_text")), actions(select("plain_text")))
    assert "block_id 'controls' is used twice" in twice
    button = {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "Go"}}
    assert "action_id 'go' is used twice" in message(actions(button, button))

    # Blocks without a fallback text: Slack posts them, screen readers say nothing.
    fake.limit_problems.clear()
    with pytest.warns(UserWarning, match="`text` argument is missing"):  # slack_sdk's own
        assert client.chat_postMessage(channel=MIM, blocks=[header("plain_text")])["ok"]
    assert fake.limit_problems == ["chat.postMessage: blocks without a text fallback"]

    # Modals: title, buttons and input labels are plain text.
    fake.limit_problems.clear()
    bad = json.loads(json.dumps(MODAL))
    bad["title"]["type"] = "mrkdwn"
    bad["blocks"][0]["label"]["type"] = "mrkdwn"
    bad["submit"] = {"type": "mrkdwn", "text": "Save"}
    assert error(client.views_open, trigger_id=new_trigger_id(), view=bad) == "invalid_blocks"
    assert any("modal title: must be a plain_text object" in p for p in fake.limit_problems)
    assert any("modal submit: must be a plain_text object" in p for p in fake.limit_problems)
    assert any("label: must be a plain_text object" in p for p in fake.limit_problems)
    fake.limit_problems.clear()


# The incident channel's methods --------------------------------------------------------------


def test_conversations_create_keeps_slacks_name_rules(fake, client):
    create = client.conversations_create
    assert error(create, name="") == "invalid_name_required"
    assert error(create, name="x" * 81) == "invalid_name_maxlength"
    assert error(create, name="MI-2026-0001") == "invalid_name_specials"  # lowercase only
    assert error(create, name="mi 2026") == "invalid_name_specials"
    assert error(create, name="major-incidents") == "name_taken"  # the managers' channel
    fake.add_channel("C0OLD00001", "old-incident", archived=True)
    assert error(create, name="old-incident") == "name_taken"  # archived names stay taken
    made = create(name="mi-2026-0001_" + "x" * 67)["channel"]
    assert made["creator"] == "UBATON0001" and made["is_member"] and not made["is_private"]
    fake.scopes.remove("channels:manage")
    answer = refused(create, name="mi-2026-0002")
    assert answer["error"] == "missing_scope" and answer["needed"] == "channels:manage"


def test_conversations_list_pages_and_shows_who_made_each(fake, client):
    made = client.conversations_create(name="mi-2026-0001")["channel"]["id"]
    first = client.conversations_list(types="public_channel", limit=2)
    assert len(first["channels"]) == 2 and first["response_metadata"]["next_cursor"]
    rest = client.conversations_list(
        types="public_channel", limit=100, cursor=first["response_metadata"]["next_cursor"]
    )
    listed = {c["id"]: c for c in [*first["channels"], *rest["channels"]]}
    assert "C0RESTRIC1" not in listed  # private: not asked for
    assert listed[made]["creator"] == "UBATON0001"
    assert rest["response_metadata"]["next_cursor"] == ""


def test_conversations_invite_as_slack_invites(fake, client):
    channel = client.conversations_create(name="mi-2026-0001")["channel"]["id"]
    invite = client.conversations_invite
    assert invite(channel=channel, users="U0MIM00001,U0AGENT001")["ok"]
    assert error(invite, channel=channel, users="U0MIM00001") == "already_in_channel"
    assert error(invite, channel=channel, users="UBATON0001") == "cant_invite_self"
    assert error(invite, channel=channel, users="nobody") == "user_not_found"
    assert error(invite, channel="C0UNKNOWN1", users="U0MIM00002") == "channel_not_found"
    fake.refuse_invite["U0GUEST001"] = "user_is_restricted"
    # One refusal refuses the whole call, naming each.
    answer = refused(invite, channel=channel, users="U0MIM00002,U0GUEST001")
    assert answer["error"] == "user_is_restricted"
    assert answer["errors"] == [{"user": "U0GUEST001", "ok": False, "error": "user_is_restricted"}]
    assert fake.channels[channel].users == ["U0MIM00001", "U0AGENT001"]
    fake.add_channel("C0NOTIN001", "someone-elses", member=False)
    assert error(invite, channel="C0NOTIN001", users="U0MIM00002") == "not_in_channel"


def test_topic_pins_bookmarks_and_archive_as_slack_does(fake, client):
    channel = client.conversations_create(name="mi-2026-0001")["channel"]["id"]
    assert error(client.conversations_setTopic, channel=channel, topic="x" * 251) == "too_long"
    assert client.conversations_setTopic(channel=channel, topic="P1 · first 15 min")["ok"]
    assert fake.channels[channel].topic == "P1 · first 15 min"

    ts = client.chat_postMessage(channel=channel, text="the record")["ts"]
    assert error(client.pins_add, channel=channel, timestamp="1.000001") == "message_not_found"
    assert client.pins_add(channel=channel, timestamp=ts)["ok"]
    assert error(client.pins_add, channel=channel, timestamp=ts) == "already_pinned"

    add = client.bookmarks_add
    assert error(add, channel_id=channel, title="Bridge", type="link", link="ftp://x") == (
        "invalid_link"
    )
    link = "https://meet.example.com/mi"
    assert add(channel_id=channel, title="Bridge", type="link", link=link)["bookmark"]["link"]
    assert [b["link"] for b in client.bookmarks_list(channel_id=channel)["bookmarks"]] == [link]
    fake.scopes.remove("bookmarks:write")
    assert error(add, channel_id=channel, title="Bridge", type="link", link=link) == (
        "missing_scope"
    )

    assert client.conversations_archive(channel=channel)["ok"]
    assert error(client.conversations_archive, channel=channel) == "already_archived"
    assert error(client.conversations_setTopic, channel=channel, topic="late") == "is_archived"
