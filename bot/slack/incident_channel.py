"""Delivers the incident channel's rows (handover/ownership/incident_channel.py) to Slack: make
the channel once, invite people one by one, post and pin the record, set the topic, bookmark
the bridge, say the end, archive. Retries and refusals are the Deliverer's (delivery.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot.slack import outbox_text
from bot.slack.sending import NotReady, Undeliverable, retryable, slack_error
from handover.intents import ChannelBookmark, ChannelCreate, ChannelInvite
from handover.models import Incident, Outbox
from handover.ownership import incident_channel
from handover.store import outbox
from handover.times import utcnow
from handover.vocabulary import OutboxKind

if TYPE_CHECKING:
    from bot.slack.delivery import Deliverer

log = logging.getLogger(__name__)

LIST_PAGES = 10  # of conversations.list, 1,000 channels each, when looking for our own
TOPIC_LIMIT = 250  # Slack's, in characters
BRIDGE_TITLE = "Bridge"
# About the channel, not the person: inviting the next one would be refused the same way.
CHANNEL_REFUSED = {"channel_not_found", "not_in_channel", "is_archived"}
# Not a failure: the person (or the pin) is there already, which is what was wanted.
ALREADY = {"already_in_channel", "already_pinned", "already_archived"}


class ChannelSender:
    def __init__(self, deliverer: Deliverer):
        self.d = deliverer
        self._bot_user = ""

    @property
    def client(self):
        return self.d.client

    def send(self, row: Outbox, incident: Incident) -> str | None:
        if row.what == OutboxKind.CHANNEL_CREATE:
            return self._create(row, incident)
        channel = incident.incident_channel
        if not channel:
            raise NotReady  # made by the row before it, or refused (then this is held)
        steps: dict[str, Callable[[Outbox, Incident, str], str | None]] = {
            OutboxKind.CHANNEL_INVITE: self._invite,
            OutboxKind.CHANNEL_RECORD: self._record,
            OutboxKind.CHANNEL_TOPIC: self._topic,
            OutboxKind.CHANNEL_BOOKMARK: self._bookmark,
            OutboxKind.CHANNEL_OUTCOME: self._outcome,
            OutboxKind.CHANNEL_ARCHIVE: self._archive,
        }
        return steps[row.what](row, incident, channel)

    # Making it, once -------------------------------------------------------------------

    def _create(self, row: Outbox, incident: Incident) -> str:
        """The first free name of name, name-2 … A name taken by a channel Baton made is the
        one an earlier attempt made (its answer lost, or the sender died before recording
        it): found, not made twice."""
        if incident.incident_channel:
            return incident.incident_channel
        for name in ChannelCreate.from_json(row.params).names:
            if not self.d.renew(row):
                raise NotReady  # another sender took the row over: it carries on
            channel = self._make(name)
            if channel:
                with self.d.db.session() as s:
                    found = s.get_one(Incident, incident.id)
                    incident_channel.made(s, found, channel, utcnow())
                return channel
        raise Undeliverable("name_taken")

    def _make(self, name: str) -> str | None:
        """The new channel's id; an earlier attempt's when the name is ours; None: taken by
        someone else."""
        try:
            return str(
                self.client.conversations_create(name=name, is_private=False)["channel"]["id"]
            )
        except SlackApiError as exc:
            if slack_error(exc) != "name_taken":
                raise
        return self._ours(name)

    def _ours(self, name: str) -> str | None:
        """A channel called `name` that Baton made, by looking through the public ones."""
        cursor = None
        for _ in range(LIST_PAGES):
            response = self.client.conversations_list(
                types="public_channel", exclude_archived=False, limit=1000, cursor=cursor
            )
            for channel in response.get("channels") or []:
                if channel.get("name") == name:
                    return str(channel["id"]) if channel.get("creator") == self._me() else None
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    def _me(self) -> str:
        if not self._bot_user:
            self._bot_user = str(self.client.auth_test()["user_id"])
        return self._bot_user

    # Its people ------------------------------------------------------------------------

    def _invite(self, row: Outbox, incident: Incident, channel: str) -> None:
        """One by one: a person Slack refuses (a guest, a deactivated account) must not keep
        the others out. Who was refused is said to the owner; the others are in."""
        wanted = ChannelInvite.from_json(row.params)
        refused: dict[str, str] = {}
        users = list(wanted.users)
        for group in wanted.usergroups:
            try:
                users += self.client.usergroups_users_list(usergroup=group)["users"] or []
            except SlackApiError as exc:
                if retryable(exc):
                    raise
                refused[group] = slack_error(exc)
        for user in dict.fromkeys(users):
            if user == self._me():
                continue  # it made the channel: it is in it
            if not self.d.renew(row):
                raise NotReady
            try:
                self.client.conversations_invite(channel=channel, users=user)
            except SlackApiError as exc:
                error = slack_error(exc)
                if retryable(exc) or error in CHANNEL_REFUSED:
                    raise  # the channel, not the person: the row is retried or given up
                if error not in ALREADY:
                    log.warning("outbox row %s: Slack would not invite %s: %s", row.id, user, error)
                    self.d.metrics.slack_errors.labels(error).inc()
                    refused[user] = error
        if refused:
            self.d.metrics.undelivered.labels(row.what).inc(len(refused))
            self.d.reach.not_invited(row.id, refused)
        return None

    # What it shows -----------------------------------------------------------------------

    def _record(self, row: Outbox, incident: Incident, channel: str) -> str:
        """The handover record, posted once (found again on a retry) and pinned."""
        link = self.d.permalink(incident) if incident.card_ts else ""
        text = outbox_text.channel_record(incident, self.d.settings, link)
        ts = self.d.post_once(row, channel, None, text=text)
        try:
            self.client.pins_add(channel=channel, timestamp=ts)
        except SlackApiError as exc:
            if slack_error(exc) not in ALREADY:
                raise
        return ts

    def _topic(self, row: Outbox, incident: Incident, channel: str) -> None:
        owner = self._name(incident.owner_id) if incident.owner_id else ""
        topic = outbox_text.channel_topic(incident, self.d.settings, owner)
        self.client.conversations_setTopic(channel=channel, topic=topic[:TOPIC_LIMIT])
        return None

    def _name(self, user: str) -> str:
        """How people see `user` (a topic shows no mentions); the id when Slack will not say."""
        try:
            profile = self.client.users_info(user=user)["user"]
        except SlackApiError as exc:
            if retryable(exc):
                raise
            return user
        shown = profile.get("profile") or {}
        return str(
            shown.get("display_name") or shown.get("real_name") or profile.get("name") or user
        )

    def _bookmark(self, row: Outbox, incident: Incident, channel: str) -> None:
        url = ChannelBookmark.from_json(row.params).url
        if row.attempts > 0 and self._bookmarked(channel, url):
            return None  # an earlier attempt added it, its answer lost
        self.client.bookmarks_add(channel_id=channel, title=BRIDGE_TITLE, type="link", link=url)
        return None

    def _bookmarked(self, channel: str, url: str) -> bool:
        bookmarks = self.client.bookmarks_list(channel_id=channel).get("bookmarks") or []
        return any(b.get("link") == url for b in bookmarks)

    def _outcome(self, row: Outbox, incident: Incident, channel: str) -> str:
        text = outbox_text.text_for(row.what, incident, row.params, self.d.settings)
        return self.d.post_once(row, channel, None, text=text)

    def _archive(self, row: Outbox, incident: Incident, channel: str) -> None:
        with self.d.db.session() as s:
            if outbox.earlier_unsent(s, row):
                raise NotReady  # an archived channel takes no more words: theirs first
        try:
            self.client.conversations_archive(channel=channel)
        except SlackApiError as exc:
            if slack_error(exc) not in ALREADY:
                raise
        return None
