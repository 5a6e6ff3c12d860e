"""The card's controls: accept, engage resolver groups, comms, hand on, stand down, resolve,
close. Listeners ack first, then work; refusals are ephemeral and say who can do it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.models.blocks import (
    DateTimePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.slack.errors import Failures
from bot.slack.ids import ACTION, Action, Callback
from bot.slack.intake.modal import block_id, field_blocks, read_state
from bot.slack.permissions import AcceptPolicy
from bot.slack.responses import answer, ephemeral, finish, refusal_text, value_of
from handover.checklist.definition import FIELDS, STEPS, Kind, Step
from handover.checklist.quality import assess
from handover.ownership.controls import Control
from handover.ownership.incidents import Incidents
from handover.settings import Settings


def _modal(
    callback_id: str, title: str, submit: str, incident_id: int, blocks: list, channel: str
) -> dict:
    return View(
        type="modal",
        callback_id=callback_id,
        title=title,
        submit=submit,
        close="Cancel",
        blocks=blocks,
        private_metadata=json.dumps({"incident": incident_id, "channel": channel}),
    ).to_dict()


def _value(view: dict, block: str) -> dict:
    return view["state"]["values"].get(block, {}).get(ACTION, {})


def register_incident_actions(
    app: App, settings: Settings, incidents: Incidents, policy: AcceptPolicy, failures: Failures
) -> None:

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

    def open_for_owner(
        body: dict, client: WebClient, respond: Respond, action: str, words: str, build
    ) -> None:
        """Open the form `build` makes, if the clicker owns the incident; `action` is the
        domain's name for what they want to do (recorded when refused), `words` the user's."""
        allowed = incidents.check_owner(value_of(body), body["user"]["id"], action)
        if not allowed.ok:
            ephemeral(respond, refusal_text(allowed, words))
            return
        channel = body.get("channel", {}).get("id", "")
        client.views_open(trigger_id=body["trigger_id"], view=build(allowed.incident, channel))

    @app.action(Action.ENGAGE)
    @failures.after_ack
    def engage_clicked(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()

        def build(incident, channel):
            groups = settings.org.resolver_groups
            options = [Option(value=g, label=g[:75]) for g in groups]
            chosen = incident.trgs or [
                g for g in incident.answers.get("resolver_groups") or [] if g in groups
            ]
            initial = [o for o in options if o.value in chosen]
            element = StaticMultiSelectElement(
                action_id=ACTION, options=options, initial_options=initial or None
            )
            return _modal(
                Callback.ENGAGE,
                "Engage resolver groups",
                "Record",
                incident.id,
                [InputBlock(block_id="groups", label="Groups engaged", element=element)],
                channel,
            )

        open_for_owner(body, client, respond, Control.ENGAGE, "engage resolver groups", build)

    @app.view_submission(Callback.ENGAGE)
    def engage_submitted(ack: Ack, body: dict, view: dict) -> None:
        meta = json.loads(view["private_metadata"])
        groups = [o["value"] for o in _value(view, "groups").get("selected_options") or []]
        finish(
            ack,
            incidents.engage(meta["incident"], body["user"]["id"], groups),
            "groups",
            "engage resolver groups",
        )

    @app.action(Action.HAND_ON)
    @failures.after_ack
    def hand_on_clicked(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()

        def build(incident, channel):
            return _modal(
                Callback.HAND_ON,
                "Hand on",
                "Hand on",
                incident.id,
                [
                    InputBlock(
                        block_id="owner",
                        label="New owner",
                        element=UserSelectElement(action_id=ACTION, placeholder="Choose a manager"),
                    )
                ],
                channel,
            )

        open_for_owner(body, client, respond, Control.HAND_ON, "hand it on", build)

    @app.view_submission(Callback.HAND_ON)
    def hand_on_submitted(ack: Ack, body: dict, view: dict) -> None:
        meta = json.loads(view["private_metadata"])
        new_owner = _value(view, "owner").get("selected_user") or ""
        if not new_owner:
            ack(response_action="errors", errors={"owner": "Choose who takes it over."})
            return
        finish(
            ack,
            incidents.hand_on(meta["incident"], body["user"]["id"], new_owner),
            "owner",
            "hand it on",
        )

    @app.action(Action.STAND_DOWN)
    @failures.after_ack
    def stand_down_clicked(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()

        def build(incident, channel):
            return _modal(
                Callback.STAND_DOWN,
                "Not a major incident",
                "Stand down",
                incident.id,
                [
                    InputBlock(
                        block_id="reason",
                        label="Why is it not a major incident?",
                        hint="The agent who raised it is told this reason.",
                        element=PlainTextInputElement(
                            action_id=ACTION, multiline=True, max_length=1000
                        ),
                    )
                ],
                channel,
            )

        open_for_owner(body, client, respond, Control.STAND_DOWN, "stand it down", build)

    @app.view_submission(Callback.STAND_DOWN)
    def stand_down_submitted(ack: Ack, body: dict, view: dict) -> None:
        meta = json.loads(view["private_metadata"])
        reason = _value(view, "reason").get("value") or ""
        finish(
            ack,
            incidents.stand_down(meta["incident"], body["user"]["id"], reason),
            "reason",
            "stand it down",
        )

    @app.action(Action.RESOLVE)
    @failures.after_ack
    def resolve_clicked(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()

        def build(incident, channel):
            return _modal(
                Callback.RESOLVE,
                "Resolve",
                "Resolved",
                incident.id,
                [
                    InputBlock(
                        block_id="resolved_at",
                        label="Resolved at",
                        hint="When service was restored for users.",
                        element=DateTimePickerElement(
                            action_id=ACTION, initial_date_time=int(time.time())
                        ),
                    )
                ],
                channel,
            )

        open_for_owner(body, client, respond, Control.RESOLVE, "resolve it", build)

    @app.view_submission(Callback.RESOLVE)
    def resolve_submitted(ack: Ack, body: dict, view: dict) -> None:
        meta = json.loads(view["private_metadata"])
        stamp = _value(view, "resolved_at").get("selected_date_time")
        at = datetime.fromtimestamp(int(stamp), UTC) if stamp else None
        finish(
            ack,
            incidents.resolve(meta["incident"], body["user"]["id"], at),
            "resolved_at",
            "resolve it",
        )


def gap_pick_modal(incident, channel: str) -> dict:
    """Step one of "Fill a gap": which field. Gaps come first, marked as such."""
    current = assess(incident.answers)
    gap_ids = [g.field_id for g in current.gaps]
    fields = [f for st in STEPS for f in st.fields if f.kind != Kind.PRIORITY]
    fields.sort(key=lambda f: f.id not in gap_ids)
    answers_now = {g.field_id: g.answer for g in current.gaps}
    options = [
        Option(
            value=f.id,
            label=(f"{f.label} ({answers_now[f.id]})" if f.id in answers_now else f.label)[:75],
        )
        for f in fields
    ]
    return _modal(
        Callback.GAP_PICK,
        "Fill a gap",
        "Next",
        incident.id,
        [
            InputBlock(
                block_id="field",
                label="Which part of the record?",
                hint="The handover's score stays as handed over; what you fill in is recorded.",
                element=StaticSelectElement(action_id=ACTION, options=options),
            )
        ],
        channel,
    )


def gap_fill_modal(incident, field_id: str, settings: Settings) -> dict:
    f = FIELDS[field_id]
    blocks = field_blocks(f, incident.answers.get(field_id), settings.org)
    view = _modal(Callback.GAP_FILL, "Fill a gap", "Save", incident.id, blocks, "")
    view["private_metadata"] = json.dumps({"incident": incident.id, "field": field_id})
    return view


def register_gap_actions(app: App, settings: Settings, incidents: Incidents) -> None:
    @app.action(Action.FILL_GAP)
    def fill_gap_clicked(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        allowed = incidents.check_owner(value_of(body), body["user"]["id"], Control.FILL_GAP)
        if not allowed.ok:
            ephemeral(respond, refusal_text(allowed, "fill a gap"))
            return
        channel = body.get("channel", {}).get("id", "")
        view = gap_pick_modal(allowed.incident, channel)
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view_submission(Callback.GAP_PICK)
    def gap_picked(ack: Ack, view: dict) -> None:
        meta = json.loads(view["private_metadata"])
        field_id = (_value(view, "field").get("selected_option") or {}).get("value")
        incident = incidents.get(meta["incident"])
        if field_id not in FIELDS or incident is None:
            ack(response_action="errors", errors={"field": "Choose a part of the record."})
            return
        ack(response_action="update", view=gap_fill_modal(incident, field_id, settings))

    @app.view_submission(Callback.GAP_FILL)
    def gap_filled(ack: Ack, body: dict, view: dict) -> None:
        meta = json.loads(view["private_metadata"])
        f = FIELDS[meta["field"]]
        raw = read_state(Step("gap", "", (f,)), view["state"]["values"])
        outcome = incidents.fill_gap(meta["incident"], body["user"]["id"], f.id, raw.get(f.id))
        finish(ack, outcome, block_id(f.id), "fill a gap")
