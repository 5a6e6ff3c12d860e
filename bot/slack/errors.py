"""When a listener fails: counted, logged (never the payload: it holds what people typed), and
Slack always gets a clear answer, never a 500 or a stack trace."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.error import BoltUnhandledRequestError
from slack_sdk.errors import SlackApiError

from bot.metrics import Metrics, kind_of
from bot.slack.ids import COMMAND

log = logging.getLogger(__name__)

SORRY = (
    "Sorry, Baton could not handle that. Nothing saved before is lost: "
    f"`{COMMAND} resume` reopens an unfinished handover, and the card's buttons still work."
)


def notice_view(text: str) -> dict:
    """A modal that only says something."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Baton"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


class Failures:
    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def record(self, error: Exception, body: dict) -> str:
        kind = kind_of(body)
        self.metrics.listener_errors.labels(kind).inc()
        if isinstance(error, SlackApiError):
            self.metrics.slack_errors.labels(str(error.response.get("error", "unknown"))).inc()
        log.error("listener failed: %s (%s)", type(error).__name__, kind, exc_info=error)
        return kind

    def on_error(self, error: Exception, body: dict, response: BoltResponse | None) -> Any:
        """bolt's global error handler: a listener or middleware failed before the ack, or
        no listener wanted the request."""
        if isinstance(error, BoltUnhandledRequestError):
            # An event Baton does not subscribe to, a button of an old card: acknowledged, so
            # that Slack neither shows an error nor retries (nor disables event delivery).
            log.info("ignored a request no listener handles (%s)", kind_of(body))
            return BoltResponse(status=200, body="")
        kind = self.record(error, body)
        if response is None:  # acknowledged already: Slack has had its answer
            return None
        if kind == "command":
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": SORRY})
        if kind == "view_submission":
            return BoltResponse(
                status=200, body={"response_action": "update", "view": notice_view(SORRY)}
            )
        return BoltResponse(status=200, body="")

    def after_ack(self, listener: Callable) -> Callable:
        """Decorates a listener whose work goes on after its ack (views.open, saving).

        bolt resets the answer of a listener that raises after acking, so Slack would get a
        404 three seconds later instead of the ack already given. Such a failure is recorded
        here instead; one before the ack still reaches `on_error`, which answers Slack.
        """

        @functools.wraps(listener)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return listener(*args, **kwargs)
            except Exception as error:
                if kwargs["ack"].response is None:
                    raise
                self.record(error, kwargs.get("body") or kwargs.get("command") or {})
                return None

        return run
