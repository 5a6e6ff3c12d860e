"""The bolt App: built by a function from settings and services, so tests build the same one."""

from __future__ import annotations

import contextlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from slack_bolt import Ack, App, BoltRequest, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.metrics import Metrics
from bot.slack.comms.listeners import register_notice_actions, summary_text
from bot.slack.errors import Failures, notice_view
from bot.slack.home import register_home
from bot.slack.ids import COMMAND, Callback
from bot.slack.intake import modal
from bot.slack.mrkdwn import escape
from bot.slack.ownership import card
from bot.slack.ownership.listeners import register_gap_actions, register_incident_actions
from bot.slack.ownership.timeline_text import timeline_text
from bot.slack.permissions import AcceptPolicy
from handover.checklist.definition import Step, step
from handover.clock.timeline import timeline
from handover.comms.notices import Notices
from handover.handovers import Handovers, NotFound
from handover.ownership.incidents import Incidents
from handover.settings import Settings
from handover.times import humanize, utcnow

log = logging.getLogger(__name__)

READ_ONLY = ("help", "status", "summary", "timeline")  # safe to answer again on Slack's retry
HELP = f"""*{COMMAND}*: hand a major incident over to the incident managers.
• `{COMMAND}` or `{COMMAND} <headline>`: start the handover checklist (a few short steps).
• `{COMMAND} resume`: reopen your unfinished handover where you left it.
• `{COMMAND} status MI-2026-0001`: see where an incident stands.
• `{COMMAND} summary MI-2026-0001`: an executive summary, for your eyes only.
• `{COMMAND} timeline MI-2026-0001`: every event of an incident, in order.
• `{COMMAND} help`: this message.
Only what is broken and what users see are required. "Unknown" is always a fine answer: \
hand over fast, the incident manager fills the gaps."""
RETRIED = (
    "Slack sent this command again after a delay, so Baton started nothing new. If no form "
    f"opened, `{COMMAND} resume` brings your handover back."
)
# bolt runs every listener in this pool, its ack and the work after it. After the ack, a
# listener mostly waits for Slack (views.open, response_url: 100 ms to seconds), and the next
# request's ack needs a free thread: with bolt's default 5, acks queued behind Slack's answers.
# Threads start only when needed; 100 lets as many listeners wait on Slack at once.
LISTENER_THREADS = 100


@dataclass
class Services:
    handovers: Handovers
    incidents: Incidents
    notices: Notices


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
    register_command(app, settings, services, failures)
    register_checklist(app, settings, services, failures)
    policy = AcceptPolicy(settings)
    register_incident_actions(app, settings, services.incidents, policy, failures)
    register_gap_actions(app, settings, services.incidents)
    register_home(app, settings, services.handovers, services.incidents)
    register_notice_actions(app, settings, services.notices, services.incidents, policy)
    return app


def register_command(app: App, settings: Settings, services: Services, failures: Failures) -> None:
    handovers = services.handovers

    @app.command(COMMAND)
    @failures.after_ack
    def major_incident(
        ack: Ack, command: dict, client: WebClient, request: BoltRequest, respond: Respond
    ) -> None:
        text = (command.get("text") or "").strip()
        word, _, rest = text.partition(" ")
        word = word.lower()
        user = command["user_id"]
        retry = (request.headers.get("x-slack-retry-num") or ["0"])[0]
        if retry not in ("", "0") and word not in READ_ONLY:
            # Slack retries only when the first delivery was not answered in time, and by then
            # the trigger_id that could open a form has expired: a second draft would help
            # nobody, and the first delivery may well have started one.
            ack(text=RETRIED)
            return
        if word == "help":
            ack(text=HELP)
            return
        if word in ("status", "summary", "timeline"):
            ack(text=_about(word, rest, services, settings))
            return
        if word == "resume":
            draft = handovers.latest_open_draft(user)
            if draft is None:
                ack(text=f"You have no unfinished handover. Start one with `{COMMAND}`.")
                return
            ack()
        else:
            ack()
            draft = handovers.start_draft(
                user, command.get("team_id", ""), command.get("channel_id", ""), headline=text
            )
        # views.open first: the trigger_id lives for 3 seconds.
        try:
            client.views_open(
                trigger_id=command["trigger_id"],
                view=modal.draft_view(draft, settings.org),
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            failures.metrics.slack_errors.labels(error).inc()
            log.warning("views.open failed: %s", error, exc_info=exc)
            respond(
                text=f"Slack could not open the checklist just now. Your handover is saved: "
                f"type `{COMMAND} resume` to carry on.",
                response_type="ephemeral",
            )


def _about(word: str, reference: str, services: Services, settings: Settings) -> str:
    """What `status`, `summary` and `timeline` say about one incident, to the asker only."""
    reference = reference.strip()
    if not reference:
        return f"Which incident? For example: `{COMMAND} {word} MI-2026-0001`."
    incident = services.handovers.find(reference)
    if incident is None:
        # Echo only the start of what was typed: it may be any length.
        shown = escape(reference[:40])
        return f"No incident {shown} was found. References look like MI-2026-0001."
    if word == "summary":
        return summary_text(services.notices, incident)
    if word == "timeline":
        entries = timeline(incident, services.handovers.events(incident.id))
        return card.truncate(timeline_text(incident, entries), 3900)
    return card.status_text(incident, settings, utcnow())


def register_checklist(
    app: App, settings: Settings, services: Services, failures: Failures
) -> None:
    handovers = services.handovers
    org = settings.org

    @app.view_submission(Callback.HANDOVER_STEP)
    def step_submitted(ack: Ack, body: dict, view: dict) -> None:
        meta = _draft_and_step(view)
        if meta is None:
            ack(response_action="update", view=_gone_view())
            return
        draft_id, the_step = meta
        user = body["user"]["id"]
        raw = modal.read_state(the_step, view.get("state", {}).get("values", {}))
        try:
            if the_step.id == "review":
                _submit(ack, handovers, settings, draft_id, user, raw)
                return
            outcome = handovers.save_step(draft_id, user, the_step.id, raw)
        except NotFound:
            ack(response_action="update", view=_gone_view())
            return
        if outcome.errors:
            ack(response_action="errors", errors=modal.error_blocks(outcome.errors))
            return
        nxt = step(outcome.next_step)
        review = handovers.review(outcome.draft.answers) if nxt.id == "review" else None
        ack(
            response_action="update",
            view=modal.step_view(nxt, outcome.draft.id, outcome.draft.answers, org, review=review),
        )

    @app.view_closed(Callback.HANDOVER_STEP)
    @failures.after_ack
    def modal_closed(ack: Ack, body: dict, view: dict) -> None:
        ack()
        meta = _draft_and_step(view)
        if meta is None:
            return
        draft_id, the_step = meta
        raw = modal.read_state(the_step, view.get("state", {}).get("values", {}))
        # Keep what was typed in the open step too: closing loses nothing.
        with contextlib.suppress(NotFound):
            handovers.save_step(draft_id, body["user"]["id"], the_step.id, raw, advance=False)


def _draft_and_step(view: dict) -> tuple[int, Step] | None:
    """The draft and step a checklist modal is about; None when its metadata is not ours."""
    try:
        meta = json.loads(view.get("private_metadata") or "")
        return int(meta["draft"]), step(meta.get("step", "what"))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _gone_view() -> dict:
    return notice_view(f"This handover is no longer available. Start a new one with `{COMMAND}`.")


def _submit(
    ack: Ack, handovers: Handovers, settings: Settings, draft_id: int, user: str, raw: dict
) -> None:
    outcome = handovers.submit(draft_id, user, raw)
    if outcome.invalid_step:
        draft = handovers.draft(draft_id, user)
        problems = "; ".join(outcome.errors.values())
        ack(
            response_action="update",
            view=modal.step_view(
                step(outcome.invalid_step),
                draft_id,
                draft.answers,
                settings.org,
                notice=f"Please check this step before handing over: {problems}",
            ),
        )
        return
    if outcome.errors:
        ack(response_action="errors", errors=modal.error_blocks(outcome.errors))
        return
    incident = outcome.incident
    # The card and the agent's message went into the outbox with the incident itself.
    ack(
        response_action="update",
        view=modal.confirmation_view(
            incident.reference, incident.mim_channel, humanize(settings.initial_phase)
        ),
    )
