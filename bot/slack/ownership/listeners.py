"""The card's controls: accept (then engage & send), engage resolver groups, change the priority,
hand on, stand down, resolve, close, fill a gap. Listeners ack first, then work; refusals are
ephemeral and say who can do it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack.comms.views import shown
from bot.slack.deps import Deps
from bot.slack.ids import ACTION, ENGAGE_GROUPS, Action, Callback
from bot.slack.intake.modal import block_id, read_state
from bot.slack.metadata import Metadata
from bot.slack.mrkdwn import SLACK, escape
from bot.slack.opening import open_form
from bot.slack.ownership import forms
from bot.slack.responses import answer, ephemeral, finish, refusal_text, value_of
from handover.checklist.definition import FIELDS, Step
from handover.models import Incident
from handover.ownership.controls import Control
from handover.ownership.engage_and_send import EngageAndSend, NoticeAsEdited, Part
from handover.settings import USER_ID, Settings
from handover.vocabulary import NoticeKind

Form = Callable[[Incident, str, Settings], dict]
# What the clicker wanted to do, in their words (for a refusal), and the form it opens.
FORMS: dict[Action, tuple[Control, str, Form]] = {
    Action.ENGAGE: (Control.ENGAGE, "engage resolver groups", forms.engage_form),
    Action.CHANGE_PRIORITY: (
        Control.CHANGE_PRIORITY,
        "change the priority",
        forms.change_priority_form,
    ),
    Action.HAND_ON: (Control.HAND_ON, "hand it on", forms.hand_on_form),
    Action.STAND_DOWN: (Control.STAND_DOWN, "stand it down", forms.stand_down_form),
    Action.RESOLVE: (Control.RESOLVE, "resolve it", forms.resolve_form),
    Action.FILL_GAP: (Control.FILL_GAP, "fill a gap", forms.gap_pick_form),
}


def _value(view: dict, block: str) -> dict:
    return view["state"]["values"].get(block, {}).get(ACTION, {})


def _blocks(view: dict) -> set[str]:
    return {b.get("block_id", "") for b in view.get("blocks") or []}


BROAD_UNCONFIRMED = (
    "A breach is suspected and there is no restricted channel: tick 'Send to all stakeholders "
    "anyway' to send it to everyone, or choose Accept only (or Cancel) and send it later."
)


def accepted_but(error: str) -> str:
    """The acceptance stands when its form does not open: say so, and where to go on."""
    name = forms.ENGAGE_AND_SEND
    return f"You own it now, but Slack could not open the {name} form: use *{name}* on the card."


def channel_of(body: dict) -> str:
    """Where the button was pressed."""
    return body.get("channel", {}).get("id", "")


def register(app: App, deps: Deps) -> None:
    incidents, policy, failures = deps.incidents, deps.policy, deps.failures
    first_moves = EngageAndSend(incidents, deps.notices)

    @app.action(Action.ACCEPT)
    @failures.after_ack
    def accept(ack: Ack, body: dict, respond: Respond, client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        if not policy.allows(user, client):
            incidents.not_allowed(value_of(body), user, Control.ACCEPT)
            ephemeral(respond, f"Only {policy.who()} can accept major incidents here.")
            return
        outcome = incidents.accept(value_of(body), user)
        if not outcome.ok or outcome.incident is None or outcome.again:
            answer(respond, outcome, "accept it")
            return
        # The winner goes straight on to the next two objectives, in one form.
        view = engage_and_send(outcome.incident, body, accepting=True)
        if view is not None:
            open_form(client, failures, body, view, respond, words=accepted_but)

    @app.action(Action.CLOSE)
    @failures.after_ack
    def close(ack: Ack, body: dict, respond: Respond) -> None:
        ack()
        answer(respond, incidents.close(value_of(body), body["user"]["id"]), "close it")

    # Controls that ask for something first open a small modal, for the owner only.
    @app.action(Action.ENGAGE)
    @app.action(Action.CHANGE_PRIORITY)
    @app.action(Action.HAND_ON)
    @app.action(Action.STAND_DOWN)
    @app.action(Action.RESOLVE)
    @app.action(Action.FILL_GAP)
    @failures.after_ack
    def open_for_owner(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        action = Action(body["actions"][0]["action_id"])
        control, words, form = FORMS[action]
        allowed = incidents.check_owner(value_of(body), body["user"]["id"], control)
        if not allowed.ok or allowed.incident is None:
            ephemeral(respond, refusal_text(allowed, words))
            return
        view = engage_and_send(allowed.incident, body) if action is Action.ENGAGE else None
        if view is None:
            view = form(allowed.incident, channel_of(body), deps.settings)
        open_form(client, failures, body, view, respond)

    def engage_and_send(incident: Incident, body: dict, accepting: bool = False) -> dict | None:
        """The Engage & send form while the initial notice waits to go out; None once it is
        out (then engaging is all there is left)."""
        draft = deps.notices.current_draft(incident.id, NoticeKind.INITIAL)
        if incident.initial_comms_at is not None or draft is None:
            return None
        notice, _ = deps.notices.render(draft.id, SLACK)
        return forms.engage_and_send_form(
            incident, notice, channel_of(body), deps.settings, accepting=accepting
        )

    @app.view_submission(Callback.ENGAGE_AND_SEND)
    def engage_and_send_submitted(ack: Ack, body: dict, view: dict) -> None:
        meta = Metadata.of(view)
        groups = [o["value"] for o in _value(view, ENGAGE_GROUPS).get("selected_options") or []]
        subject = _value(view, "subject").get("value") or ""
        text = _value(view, "body").get("value") or ""
        found = deps.notices.get(meta.notice_id())
        as_shown = shown(found[0]) if found else ("", "")
        notice = NoticeAsEdited(
            subject=subject,
            body=text,
            edited=(" ".join(subject.split()), text.strip()) != (as_shown[0], as_shown[1].strip()),
            broad_confirmed=bool(_value(view, forms.BROAD_CONFIRMED).get("selected_options")),
        )
        outcome, part = first_moves(
            meta.incident_id(), body["user"]["id"], groups, notice, escape=escape, target=SLACK
        )
        if part is Part.CONFIRM and forms.BROAD_CONFIRMED in _blocks(view):
            ack(response_action="errors", errors={forms.BROAD_CONFIRMED: BROAD_UNCONFIRMED})
            return
        block = ENGAGE_GROUPS if part is Part.GROUPS else "body"
        finish(ack, outcome, block, "engage and send")

    @app.view_submission(Callback.ENGAGE)
    def engage_submitted(ack: Ack, body: dict, view: dict) -> None:
        groups = [o["value"] for o in _value(view, ENGAGE_GROUPS).get("selected_options") or []]
        incident_id = Metadata.of(view).incident_id()
        outcome = incidents.engage(incident_id, body["user"]["id"], groups)
        finish(ack, outcome, ENGAGE_GROUPS, "engage resolver groups")

    @app.view_submission(Callback.CHANGE_PRIORITY)
    def change_priority_submitted(ack: Ack, body: dict, view: dict) -> None:
        priority = (_value(view, "priority").get("selected_option") or {}).get("value") or ""
        reason = _value(view, "reason").get("value") or ""
        incident_id = Metadata.of(view).incident_id()
        outcome = incidents.change_priority(incident_id, body["user"]["id"], priority, reason)
        finish(ack, outcome, "reason", "change the priority")

    @app.view_submission(Callback.HAND_ON)
    def hand_on_submitted(ack: Ack, body: dict, view: dict) -> None:
        new_owner = _value(view, "owner").get("selected_user") or ""
        if not isinstance(new_owner, str) or not USER_ID.match(new_owner):
            # Slack's user menu sends a user ID, which the thread and the DM mention.
            ack(response_action="errors", errors={"owner": "Choose who takes it over."})
            return
        incident_id = Metadata.of(view).incident_id()
        outcome = incidents.hand_on(incident_id, body["user"]["id"], new_owner)
        finish(ack, outcome, "owner", "hand it on")

    @app.view_submission(Callback.STAND_DOWN)
    def stand_down_submitted(ack: Ack, body: dict, view: dict) -> None:
        reason = _value(view, "reason").get("value") or ""
        incident_id = Metadata.of(view).incident_id()
        outcome = incidents.stand_down(incident_id, body["user"]["id"], reason)
        finish(ack, outcome, "reason", "stand it down")

    @app.view_submission(Callback.RESOLVE)
    def resolve_submitted(ack: Ack, body: dict, view: dict) -> None:
        stamp = _value(view, "resolved_at").get("selected_date_time")
        at = datetime.fromtimestamp(int(stamp), UTC) if stamp else None
        incident_id = Metadata.of(view).incident_id()
        outcome = incidents.resolve(incident_id, body["user"]["id"], at)
        finish(ack, outcome, "resolved_at", "resolve it")

    @app.view_submission(Callback.GAP_PICK)
    def gap_picked(ack: Ack, view: dict) -> None:
        field_id = (_value(view, "field").get("selected_option") or {}).get("value")
        incident = incidents.get(Metadata.of(view).incident_id())
        if field_id not in FIELDS or incident is None:
            ack(response_action="errors", errors={"field": "Choose a part of the record."})
            return
        ack(response_action="update", view=forms.gap_fill_form(incident, field_id, deps.settings))

    @app.view_submission(Callback.GAP_FILL)
    def gap_filled(ack: Ack, body: dict, view: dict) -> None:
        meta = Metadata.of(view)
        f = FIELDS[meta.field or ""]
        raw = read_state(Step("gap", "", (f,)), view["state"]["values"])
        if f.id not in raw:  # Slack always sends the field's input: only a forged view lacks it
            ack(response_action="errors", errors={block_id(f.id): "Please fill this in."})
            return
        outcome = incidents.fill_gap(meta.incident_id(), body["user"]["id"], f.id, raw[f.id])
        finish(ack, outcome, block_id(f.id), "fill a gap")
