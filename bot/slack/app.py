"""The bolt App: built by a function from settings and services, so tests build the same one.
Each concept's listeners are wired by its own `register(app, deps)`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.metrics import Metrics
from bot.slack import home
from bot.slack.comms import listeners as comms
from bot.slack.deps import Deps, Services
from bot.slack.errors import Failures
from bot.slack.intake import listeners as intake
from bot.slack.overflow import unfold
from bot.slack.ownership import listeners as ownership
from bot.slack.permissions import AcceptPolicy
from handover.settings import Settings

__all__ = ["LISTENER_THREADS", "Services", "build_app", "make_client"]

# bolt runs every listener in this pool, its ack and the work after it. After the ack, a
# listener mostly waits for Slack (views.open, response_url: 100 ms to seconds), and the next
# request's ack needs a free thread: with bolt's default 5, acks queued behind Slack's answers.
# Threads start only when needed; 100 lets as many listeners wait on Slack at once.
LISTENER_THREADS = 100


def make_client(settings: Settings, *, retry: bool = True) -> WebClient:
    """The Web API client. With `retry`, dropped connections and Slack's 5xx are tried again
    at once, briefly: right for the listeners' calls (views.open), which have seconds to live.
    The outbox's sender has none: a post that reached Slack before the error would be posted
    twice, so it tries again later, after checking what Slack already has (its other calls,
    safe to repeat, wait for that later attempt too: one rule for all it sends). Rate limits are
    never waited out inside a call: the outbox reschedules by Retry-After."""
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10)
    if retry:
        client.retry_handlers.extend(
            [
                ServerErrorRetryHandler(max_retry_count=2),
                ConnectionErrorRetryHandler(max_retry_count=2),
            ]
        )
    return client


def build_app(
    settings: Settings,
    services: Services,
    client: WebClient | None = None,
    metrics: Metrics | None = None,
) -> App:
    app = App(
        client=client or make_client(settings),
        signing_secret=settings.slack_signing_secret or None,
        # Socket Mode has no signatures to check; HTTP mode always checks them.
        request_verification_enabled=not settings.socket_mode,
        token_verification_enabled=True,
        raise_error_for_unhandled_request=True,  # so that Failures.on_error acknowledges it
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="listener"),
    )
    failures = Failures(metrics or Metrics())
    app.error(failures.on_error)
    app.middleware(unfold)
    deps = Deps(settings, services, AcceptPolicy(settings), failures)
    for concept in (intake, ownership, comms, home):
        concept.register(app, deps)
    return app
