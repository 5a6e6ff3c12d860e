"""The card's controls: accept, engage resolver groups, hand on, stand down, resolve, close,
fill a gap. Listeners ack first, then work; refusals are ephemeral and say who can do it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack.deps import Deps
from bot.slack.ids import ACTION, ENGAGE_GROUPS, Action, Callback
from bot.slack.intake.modal import block_id, read_state
from bot.slack.metadata import Metadata
from bot.slack.opening import open_form
from bot.slack.ownership import forms
from bot.slack.responses import answer, ephemeral, finish, refusal_text, value_of
from handover.checklist.definition import FIELDS, Step
from handover.models import Incident
from handover.ownership.controls import Control
from handover.settings import USER_ID, Settings

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


def register(app: App, deps: Deps) -> None:
    incidents, policy, failures = deps.incidents, deps.policy, deps.failures

    @app.action(Action.ACCEPT)
    @failures.after_ack
    def accept(ack: Ack, body: dict, respond: Respond, client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        if not policy.allows(user, client):
            incidents.not_allowed(value_of(body), user, Control.ACCEPT)
            ephemeral(respond, f"Only {policy.who()} can accept major incidents here.")
            return
        answer(respond, incidents.accept(value_of(body), user), "accept it")

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
        control, words, form = FORMS[Action(body["actions"][0]["action_id"])]
        allowed = incidents.check_owner(value_of(body), body["user"]["id"], control)
        if not allowed.ok:
            ephemeral(respond, refusal_text(allowed, words))
            return
        channel = body.get("channel", {}).get("id", "")
        view = form(allowed.incident, channel, deps.settings)
        open_form(client, failures, body, view, respond)

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
