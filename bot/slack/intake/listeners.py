"""Taking a handover in Slack: `/major-incident` and its words, and the checklist modal's
steps (saved at each one; closing the modal loses nothing)."""

from __future__ import annotations

import contextlib

from slack_bolt import Ack, App, BoltRequest, Respond
from slack_sdk import WebClient

from bot.slack.comms.listeners import summary_text
from bot.slack.deps import Deps, Services
from bot.slack.errors import notice_view
from bot.slack.ids import ACTION, COMMAND, Callback
from bot.slack.intake import modal
from bot.slack.metadata import Metadata
from bot.slack.mrkdwn import escape
from bot.slack.opening import open_form
from bot.slack.ownership import card
from bot.slack.ownership.timeline_text import timeline_text
from handover.checklist.definition import Step, step
from handover.clock.timeline import timeline
from handover.handovers import Handovers, NotFound
from handover.settings import Settings
from handover.times import humanize, utcnow

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
NOT_OPENED = (
    "Slack could not open the checklist just now. Your handover is saved: "
    f"type `{COMMAND} resume` to carry on."
)
RETRIED = (
    "Slack sent this command again after a delay, so Baton started nothing new. If no form "
    f"opened, `{COMMAND} resume` brings your handover back."
)


def register(app: App, deps: Deps) -> None:
    register_command(app, deps)
    register_checklist(app, deps)


def register_command(app: App, deps: Deps) -> None:
    settings, services, handovers = deps.settings, deps.services, deps.handovers
    failures = deps.failures

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
        view = modal.draft_view(draft, settings.org)
        open_form(client, failures, command, view, respond, words=lambda error: NOT_OPENED)


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


def register_checklist(app: App, deps: Deps) -> None:
    settings, handovers, failures = deps.settings, deps.handovers, deps.failures
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

    @app.options(ACTION)
    def suggest(ack: Ack, body: dict) -> None:
        """A type-ahead menu (a catalogue of more than 100 entries) asks for its options: in
        the checklist and in Fill a gap alike, by the field's block id."""
        ack(options=modal.suggestions(body.get("block_id"), body.get("value"), org))

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
        meta = Metadata.of(view)
        return meta.draft_id(), step(meta.step or "what")
    except (ValueError, KeyError):
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
