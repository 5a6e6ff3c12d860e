"""Delivers the outbox to Slack: in order, once per row, retried with back-off when Slack fails.

Runs in every replica; a row is claimed atomically before it is sent, so only one sends it.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.mail.sender import Mailer
from bot.mail.smtp import MailRefused, MailSettled
from bot.metrics import Metrics
from bot.pagers.http import ReceiverRefused
from bot.pagers.sender import Pagers
from bot.review import review_markdown
from bot.slack import outbox_text
from bot.slack.comms import views
from bot.slack.incident_channel import ChannelSender
from bot.slack.mrkdwn import MESSAGE_TEXT_LIMIT, SLACK
from bot.slack.ownership import card
from bot.slack.sending import NotReady, Undeliverable, retryable, slack_error
from bot.webhooks import Webhooks
from handover.comms.mail import Mailing
from handover.comms.notices import Notices
from handover.models import Incident, Outbox
from handover.ownership.paging import Paging
from handover.reach import Reach
from handover.reporting.review import gather
from handover.settings import Settings
from handover.store import outbox
from handover.store.db import Database
from handover.times import utcnow
from handover.vocabulary import OutboxKind, Target

log = logging.getLogger(__name__)
# Slack's answers when the workspace does not take Baton's files: the review goes as text.
FILES_REFUSED = {"missing_scope", "file_uploads_disabled", "restricted_action", "not_allowed"}

METADATA_EVENT = "baton_message"
# Looking for a message Baton may have posted already: errors that mean "cannot read here".
UNREADABLE = {"not_in_channel", "missing_scope", "channel_not_found"}
LOOKUP_PAGES = 10  # of 200 messages each


class Deliverer:
    def __init__(
        self,
        db: Database,
        client: WebClient,
        settings: Settings,
        metrics: Metrics | None = None,
        poll: timedelta = timedelta(seconds=1),
    ):
        self.db = db
        self.notices = Notices(db, settings)
        self.reach = Reach(db, settings)
        self.paging = Paging(db, settings)
        self.pagers = Pagers(settings)
        self.webhooks = Webhooks(settings)
        self.mail = Mailer(settings, Mailing(db, settings))
        self.client = client
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.poll = poll.total_seconds()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="baton-delivery", daemon=True)
        self.channels = ChannelSender(self)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Finish the message in flight, then stop; what is left stays in the outbox."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def on_commit(self, info: dict) -> None:
        """Database.after_commit listener: deliver at once what a unit of work queued."""
        if info.get("outbox"):
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while self.deliver_due() and not self._stop.is_set():
                    pass
            except Exception:  # the database is away: try again at the next tick
                log.exception("outbox delivery failed; retrying")
            self._wake.wait(self.poll)
            self._wake.clear()

    def deliver_due(self) -> int:
        """Send what is due now; return how many rows were handled."""
        with self.db.session() as s:
            rows = outbox.due(s, utcnow())
        handled = 0
        for row in rows:
            if self._stop.is_set():
                break
            with self.db.session() as s:
                if not outbox.claim(s, row, utcnow()):
                    continue
            handled += 1
            self._deliver(row)
        return handled

    def _deliver(self, row: Outbox) -> None:
        try:
            ts = self._send(row)
        except NotReady:
            # Its card is not posted yet: it is on its way (try again in a second), or Slack
            # refused it (then this waits, held, for the card's retry).
            if row.incident_id is None or not self.reach.hold(
                row.id, row.incident_id, claimed=row.attempts + 1
            ):
                with self.db.session() as s:
                    outbox.defer(
                        s, row.id, utcnow(), timedelta(seconds=1), claimed=row.attempts + 1
                    )
            return
        except SlackApiError as exc:
            error = slack_error(exc)
            after = exc.response.headers.get("Retry-After") if exc.response.headers else None
            log.warning(
                "Slack refused outbox row %s (%s, %s): %s", row.id, row.what, row.target, error
            )
            self.metrics.slack_errors.labels(error).inc()
            if retryable(exc):
                wait = timedelta(seconds=int(after)) if after and after.isdigit() else None
                self._retry(row, error, wait)
            else:
                self._give_up(row, error)
            return
        except Undeliverable as exc:
            self._give_up(row, exc.error)
            return
        except ReceiverRefused as exc:
            log.warning("the receiver refused outbox row %s (%s): %s", row.id, row.what, exc.error)
            if exc.retryable:
                wait = timedelta(seconds=exc.retry_after) if exc.retry_after else None
                self._retry(row, exc.error, wait)
            else:
                self._give_up(row, exc.error)
            return
        except MailSettled:  # marked already, with what the mail server said
            return
        except MailRefused as exc:
            log.warning("the mail server refused outbox row %s: %s", row.id, exc.error)
            if exc.retryable:
                self._retry(row, exc.error)
            else:
                self._give_up(row, exc.error)
            return
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            error = type(exc).__name__
            log.warning("Slack unreachable for outbox row %s: %s", row.id, error)
            self.metrics.slack_errors.labels(error).inc()
            self._retry(row, error)
            return
        except SQLAlchemyError:
            # The database, not the message: the row stays claimed and is tried again when its
            # lease runs out (looking first for what may have been posted).
            raise
        except Exception as exc:  # rendering it failed: trying again would fail the same way
            log.exception("outbox row %s (%s) could not be sent", row.id, row.what)
            self._give_up(row, f"{type(exc).__name__}: {exc}"[:200])
            return
        with self.db.session() as s:
            outbox.sent(s, row.id, ts, utcnow(), claimed=row.attempts + 1)

    def _retry(self, row: Outbox, error: str, wait: timedelta | None = None) -> None:
        """Later, with back-off; past the row's limit, give up and say so."""
        now = utcnow()
        if row.failing_since and now - row.failing_since > self.reach.give_up_after(row.what):
            self._give_up(row, error)
            return
        with self.db.session() as s:
            outbox.retry(s, row.id, row.attempts + 1, error, now, wait)
        self.metrics.slack_retries.inc()

    def _give_up(self, row: Outbox, error: str) -> None:
        log.error("outbox row %s (%s to %s) given up: %s", row.id, row.what, row.target, error)
        self.metrics.undelivered.labels(row.what).inc()
        self.reach.give_up(row.id, error, claimed=row.attempts + 1)

    def _send(self, row: Outbox) -> str | None:
        with self.db.session() as s:
            incident = s.get(Incident, row.incident_id) if row.incident_id else None
        if row.target == Target.INCIDENT_CHANNEL:
            return self.channels.send(row, incident)
        if row.target == Target.CARD:
            return self._send_card(row, incident)
        if row.what == OutboxKind.REVIEW:
            return self._upload_review(row, incident)
        if row.target == Target.WEBHOOK:
            self.webhooks.send(row, self.permalink(incident) if incident.card_ts else "")
            return None
        if row.target == Target.MAIL:
            self.mail.send(row, claimed=row.attempts + 1)  # raises: it marks the row itself
        if row.target == Target.PAGER:
            if self.paging.waits(row):
                raise NotReady  # its trigger first
            # The card's link for the responder, when the card is there (it is, once accepted).
            link = self.permalink(incident) if incident.card_ts else ""
            self.pagers.send(row, incident, link)
            self.paging.delivered(row.id)
            return None
        if row.what in (OutboxKind.NOTICE_POST, OutboxKind.NOTICE):
            return self._send_draft(row, incident)
        if row.target == Target.STAKEHOLDERS:
            return self._publish(row)
        if row.target == Target.DM:
            card_link = ""
            if row.what == OutboxKind.HANDED_OVER_DM:
                if not incident.card_ts:
                    raise NotReady  # "the managers have it" only once they do
                card_link = self.permalink(incident)
            text = outbox_text.text_for(row.what, incident, row.params, self.settings, card_link)
            return self._direct(row, row.params["user"], text)
        text = outbox_text.text_for(row.what, incident, row.params, self.settings)
        message: dict = {"text": text}
        thread_ts = None
        if row.target == Target.THREAD:
            if not incident.card_ts:
                raise NotReady
            channel, thread_ts = incident.mim_channel, incident.card_ts
            blocks = outbox_text.blocks_for(row.what, incident, row.params, text)
            if blocks:
                message["blocks"] = blocks
            if row.what == OutboxKind.ESCALATION:
                message["reply_broadcast"] = True  # in the channel too: nobody has taken it
        else:
            channel = row.params["channel"]
        return self.post_once(row, channel, thread_ts, **message)

    def renew(self, row: Outbox) -> bool:
        """A long send (one member at a time) keeps its lease; False: another sender has it."""
        with self.db.session() as s:
            return outbox.renew(s, row.id, row.attempts + 1, utcnow())

    def permalink(self, incident: Incident) -> str:
        """The card's link for the agent; without it, the message names the channel only."""
        try:
            response = self.client.chat_getPermalink(
                channel=incident.mim_channel, message_ts=incident.card_ts
            )
        except SlackApiError as exc:
            log.info(
                "no permalink for the card of %s: %s", incident.reference, exc.response.get("error")
            )
            return ""
        except (urllib.error.URLError, OSError) as exc:
            # Slack away must not hold a page or a webhook back: it goes without the link.
            log.info("no permalink for the card of %s: %s", incident.reference, exc)
            return ""
        return str(response.get("permalink") or "")

    def _direct(self, row: Outbox, to: str, text: str) -> str:
        """A direct message to a user, or to each member of a user group (S…)."""
        if not to.startswith("S"):
            return self._dm(row, to, text)
        users = self.client.usergroups_users_list(usergroup=to)["users"] or []
        if not users:
            raise Undeliverable("usergroup_empty")
        # A member Slack refuses for good (deactivated, gone) must not keep the others from
        # hearing it: skipped and recorded; given up only when no member got it.
        reached, refused = "", {}
        for user in users:
            # Member by member can outlast the lease: renew it, and stop if another sender
            # has taken the row over (it sends to all, looking first for who got it).
            if not self.renew(row):
                return reached
            try:
                reached = self._dm(row, user, text)
            except SlackApiError as exc:
                error = slack_error(exc)
                if retryable(exc):
                    raise  # the whole row again: who got it already is found, not told twice
                log.warning("outbox row %s: Slack refused the DM to %s: %s", row.id, user, error)
                self.metrics.slack_errors.labels(error).inc()
                refused[user] = error
        if not reached:
            raise Undeliverable(next(iter(refused.values())))
        if refused:
            self.metrics.undelivered.labels(row.what).inc(len(refused))
            self.reach.undelivered_to(row.id, refused)
        return reached

    def _dm(self, row: Outbox, user: str, text: str) -> str:
        channel = self.client.conversations_open(users=user)["channel"]["id"]
        return self.post_once(row, channel, None, text=text)

    def _send_card(self, row: Outbox, incident: Incident) -> str | None:
        if incident.card_ts:  # updating twice is harmless: no need to look first
            text, blocks = card.card(incident, self.settings, utcnow())
            self.client.chat_update(
                channel=incident.mim_channel, ts=incident.card_ts, text=text, blocks=blocks
            )
            return incident.card_ts
        if row.what != OutboxKind.CARD_POST:
            raise NotReady
        # Posted after Slack refused it: late, and the card says so from its first version.
        incident.card_late_by_s = self.reach.late_by(incident.id)
        text, blocks = card.card(incident, self.settings, utcnow(), ping=True)
        ts = self.post_once(row, incident.mim_channel, None, text=text, blocks=blocks)
        self.reach.card_posted(incident.id, ts, incident.card_late_by_s)
        return ts

    def _upload_review(self, row: Outbox, incident: Incident) -> str | None:
        """The post-incident review as a Markdown file in the card's thread; as text there when
        the workspace does not allow Baton's files (no files:write, uploads switched off)."""
        if not incident.card_ts:
            raise NotReady
        with self.db.session() as s:
            facts = gather(s, s.get_one(Incident, incident.id), self.settings.initial_phase)
            text = review_markdown(facts, self.settings)
        name = f"{incident.reference}-review.md"
        comment = (
            f":memo: *Post-incident review draft* for {incident.reference}: fill in the root "
            f"cause and the follow-up actions, then share it (also `baton review "
            f"{incident.reference}`)."
        )
        if row.attempts and self._file_in_thread(row, incident, name):
            return None  # uploaded before a crash: once is enough
        try:
            self.client.files_upload_v2(
                channel=incident.mim_channel,
                thread_ts=incident.card_ts,
                content=text,
                filename=name,
                title=f"Post-incident review: {incident.reference}",
                initial_comment=comment,
            )
        except SlackApiError as exc:
            if exc.response.get("error") not in FILES_REFUSED:
                raise
            log.info(
                "no file upload for %s (%s): the review as text",
                incident.reference,
                exc.response.get("error"),
            )
            whole = f"The whole review: `baton review {incident.reference}`."
            room = MESSAGE_TEXT_LIMIT - len(comment) - len(whole) - 20
            shown = text if len(text) <= room else text[:room].rsplit("\n", 1)[0] + "\n…"
            as_text = f"{comment}\n```\n{shown}\n```\n{whole}"
            return self.post_once(row, incident.mim_channel, incident.card_ts, text=as_text)
        return None

    def _file_in_thread(self, row: Outbox, incident: Incident, name: str) -> bool:
        """Did an earlier attempt upload it? Looked for since the row was queued, page by page
        (the review comes last in what may be a long thread)."""
        oldest, cursor = str(row.created_at.timestamp() - 60), None
        for _ in range(LOOKUP_PAGES):
            try:
                replies = self.client.conversations_replies(
                    channel=incident.mim_channel,
                    ts=incident.card_ts,
                    oldest=oldest,
                    limit=200,
                    cursor=cursor,
                )
            except SlackApiError as exc:
                if slack_error(exc) in UNREADABLE:  # cannot look: upload rather than lose it
                    return False
                raise
            messages = replies.get("messages") or []
            if any(f.get("name") == name for m in messages for f in m.get("files") or []):
                return True
            cursor = (replies.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return False
        return False

    def _send_draft(self, row: Outbox, incident: Incident) -> str | None:
        """A notice's draft in the card's thread: posted once, then updated as it changes."""
        if not incident.card_ts:
            raise NotReady
        notice, incident = self.notices.render(row.params["notice_id"], SLACK)
        text, blocks = views.draft_message(notice, incident, self.settings)
        if notice.draft_ts:
            self.client.chat_update(
                channel=incident.mim_channel, ts=notice.draft_ts, text=text, blocks=blocks
            )
            return notice.draft_ts
        if row.what != OutboxKind.NOTICE_POST:
            raise NotReady
        ts = self.post_once(row, incident.mim_channel, incident.card_ts, text=text, blocks=blocks)
        self.notices.record_draft_ts(notice.id, ts)
        return ts

    def _publish(self, row: Outbox) -> str | None:
        """A notice to its audience; a later edit changes the same message in place."""
        notice, _ = self.notices.get(row.params["notice_id"])
        text, blocks = views.published_message(notice)
        if row.what == OutboxKind.NOTICE_REPUBLISH:
            if not notice.sent_ts:
                raise NotReady
            self.client.chat_update(
                channel=notice.channel, ts=notice.sent_ts, text=text, blocks=blocks
            )
            return notice.sent_ts
        ts = self.post_once(row, notice.channel or "", None, text=text, blocks=blocks)
        self.notices.published(notice.id, ts)
        return ts

    def post_once(self, row: Outbox, channel: str, thread_ts: str | None, **message) -> str:
        """Post the row's message unless an earlier attempt already did.

        A sender that died between Slack's answer and recording it leaves the row to be tried
        again: the message carries the row's id as metadata, so the retry finds it instead of
        posting it twice.
        """
        if row.attempts > 0:  # an earlier attempt may have reached Slack
            found = self._find_posted(row.id, channel, thread_ts, row.created_at.timestamp())
            if found:
                return found
        response = self.client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"outbox_id": row.id}},
            **message,
        )
        return response["ts"]

    def _find_posted(
        self, row_id: int, channel: str, thread_ts: str | None, since: float
    ) -> str | None:
        try:
            return self._search(row_id, channel, thread_ts, since)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error not in UNREADABLE:
                raise
            # Baton may post where it cannot read (a public channel it is not in, with
            # chat:write.public): not being able to look is no reason to lose the message.
            log.info("cannot look for outbox row %s in %s (%s): posting", row_id, channel, error)
            return None

    def _search(self, row_id: int, channel: str, thread_ts: str | None, since: float) -> str | None:
        """Page through what was posted since the row was queued (a minute's margin for
        clocks), a bounded number of pages: a long thread's first page is not the whole."""
        oldest, cursor = str(since - 60), None
        for _ in range(LOOKUP_PAGES):
            if thread_ts:
                response = self.client.conversations_replies(
                    channel=channel,
                    ts=thread_ts,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            else:
                response = self.client.conversations_history(
                    channel=channel,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            for message in response.get("messages", []):
                metadata = message.get("metadata") or {}
                if (
                    metadata.get("event_type") == METADATA_EVENT
                    and metadata.get("event_payload", {}).get("outbox_id") == row_id
                ):
                    return message["ts"]
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        log.warning(
            "outbox row %s: not found in %s pages of %s; posting", row_id, LOOKUP_PAGES, channel
        )
        return None
