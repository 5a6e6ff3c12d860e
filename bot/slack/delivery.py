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

from bot.metrics import Metrics
from bot.slack import outbox_text
from bot.slack.comms import views
from bot.slack.mrkdwn import SLACK
from bot.slack.ownership import card
from handover.comms.notices import Notices
from handover.models import Incident, Outbox
from handover.settings import Settings
from handover.store import outbox
from handover.store.db import Database
from handover.times import utcnow
from handover.vocabulary import OutboxKind, Target

log = logging.getLogger(__name__)

# Slack errors worth trying again; anything else will not get better by retrying.
RETRYABLE = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
}


METADATA_EVENT = "baton_message"


class NotReady(Exception):
    """The message is about a card (its thread, an update of it) not posted yet."""


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
        self.client = client
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.poll = poll.total_seconds()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="baton-delivery", daemon=True)

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
        attempts = row.attempts + 1
        try:
            ts = self._send(row)
        except NotReady:
            with self.db.session() as s:
                outbox.defer(s, row.id, utcnow(), timedelta(seconds=1))
            return
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            retryable = error in RETRYABLE or exc.response.status_code >= 500
            after = exc.response.headers.get("Retry-After") if exc.response.headers else None
            log.warning(
                "Slack refused outbox row %s (%s, %s): %s", row.id, row.what, row.target, error
            )
            self.metrics.slack_errors.labels(error).inc()
            with self.db.session() as s:
                if retryable:
                    wait = timedelta(seconds=int(after)) if after and after.isdigit() else None
                    outbox.retry(s, row.id, attempts, error, utcnow(), wait)
                    self.metrics.slack_retries.inc()
                else:
                    outbox.failed(s, row.id, error)
            return
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            error = type(exc).__name__
            log.warning("Slack unreachable for outbox row %s: %s", row.id, error)
            self.metrics.slack_errors.labels(error).inc()
            with self.db.session() as s:
                outbox.retry(s, row.id, attempts, error, utcnow())
            self.metrics.slack_retries.inc()
            return
        with self.db.session() as s:
            outbox.sent(s, row.id, ts, utcnow())

    def _send(self, row: Outbox) -> str | None:
        with self.db.session() as s:
            incident = s.get(Incident, row.incident_id) if row.incident_id else None
        if row.target == Target.CARD:
            return self._send_card(row, incident)
        if row.what in (OutboxKind.NOTICE_POST, OutboxKind.NOTICE):
            return self._send_draft(row, incident)
        if row.target == Target.STAKEHOLDERS:
            return self._publish(row)
        text = outbox_text.text_for(row.what, incident, row.params)
        thread_ts = None
        if row.target == Target.THREAD:
            if not incident.card_ts:
                raise NotReady
            channel, thread_ts = incident.mim_channel, incident.card_ts
        elif row.target == Target.CHANNEL:
            channel = row.params["channel"]
        else:
            channel = self.client.conversations_open(users=row.params["user"])["channel"]["id"]
        return self._post_once(row, channel, thread_ts, text=text)

    def _send_card(self, row: Outbox, incident: Incident) -> str | None:
        text, blocks = card.card(incident, self.settings, utcnow())
        if incident.card_ts:  # updating twice is harmless: no need to look first
            self.client.chat_update(
                channel=incident.mim_channel, ts=incident.card_ts, text=text, blocks=blocks
            )
            return incident.card_ts
        if row.what != OutboxKind.CARD_POST:
            raise NotReady
        ts = self._post_once(row, incident.mim_channel, None, text=text, blocks=blocks)
        with self.db.session() as s:
            s.get(Incident, incident.id).card_ts = ts
        return ts

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
        ts = self._post_once(row, incident.mim_channel, incident.card_ts, text=text, blocks=blocks)
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
        ts = self._post_once(row, notice.channel, None, text=text, blocks=blocks)
        self.notices.record_sent_ts(notice.id, notice.channel, ts)
        return ts

    def _post_once(self, row: Outbox, channel: str, thread_ts: str | None, **message) -> str:
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
        if thread_ts:
            response = self.client.conversations_replies(
                channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
            )
        else:
            response = self.client.conversations_history(
                channel=channel, oldest=str(since - 60), include_all_metadata=True, limit=200
            )
        for message in response.get("messages", []):
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == METADATA_EVENT
                and metadata.get("event_payload", {}).get("outbox_id") == row_id
            ):
                return message["ts"]
        return None
