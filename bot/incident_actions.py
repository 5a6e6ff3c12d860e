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
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot import cards
from bot.failures import Failures
from bot.mrkdwn import ERROR_LIMIT, truncate
from handover.incidents import (
    ALREADY_OWNED,
    NOT_ACTIVE,
    NOT_FOUND,
    NOT_OWNER,
    NOT_RESOLVED,
    Incidents,
    Outcome,
)
from handover.settings import Settings
from handover.times import parse_time

ACTION = "v"
USERGROUP_CACHE_SECONDS = 60


class AcceptPolicy:
    """Who may accept (BATON_CONFIG accept_users / accept_usergroup; default: anyone in the
    managers' channel, which is where the card and its button are)."""

    def __init__(self, settings: Settings):
        self.users = set(settings.org.accept_users)
        self.group = settings.org.accept_usergroup
        self._members: set[str] = set()
        self._fetched = 0.0

    @property
    def restricted(self) -> bool:
        return bool(self.users or self.group)

    def allows(self, user: str, client: WebClient) -> bool:
        if not self.restricted or user in self.users:
            return True
        if not self.group:
            return False
        if time.monotonic() - self._fetched > USERGROUP_CACHE_SECONDS:
            response = client.usergroups_users_list(usergroup=self.group)
            self._members = set(response.get("users", []))
            self._fetched = time.monotonic()
        return user in self._members

    def who(self) -> str:
        names = [f"<@{u}>" for u in sorted(self.users)]
        if self.group:
            names.append(f"<!subteam^{self.group}>")
        return ", ".join(names)


def refusal_text(outcome: Outcome, action: str) -> str:
    incident = outcome.incident
    ref = incident.reference if incident else "This incident"
    if outcome.refusal == NOT_FOUND:
        return "That incident no longer exists."
    if outcome.refusal == ALREADY_OWNED:
        return (
            f"*{ref}* is already owned by <@{incident.owner_id}>. Ask them to hand it on "
            "if you should take it."
        )
    if outcome.refusal == NOT_OWNER:
        if incident.owner_id is None:
            return f"Only the owner can {action}, and *{ref}* has none yet: accept it first."
        return (
            f"Only the owner of *{ref}*, <@{incident.owner_id}>, can {action}. Ask them to "
            "hand it on to you if you should take over."
        )
    if outcome.refusal == NOT_ACTIVE:
        return f"*{ref}* is {incident.status.replace('_', ' ')}: nothing more to {action}."
    if outcome.refusal == NOT_RESOLVED:
        return f"*{ref}* must be resolved before it can be closed."
    return outcome.message


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


def finish(ack: Ack, outcome: Outcome, block: str, action: str) -> None:
    """Close the modal when done; otherwise say why, inline, and keep what was typed."""
    if outcome.ok:
        ack()
    else:
        ack(
            response_action="errors",
            errors={block: truncate(refusal_text(outcome, action), ERROR_LIMIT)},
        )


def register_incident_actions(
    app: App, settings: Settings, incidents: Incidents, failures: Failures
) -> None:
    policy = AcceptPolicy(settings)

    def ephemeral(respond: Respond, text: str) -> None:
        respond(text=text, response_type="ephemeral", replace_original=False)

    def incident_id_of(body: dict) -> int:
        return int(body["actions"][0]["value"].partition("|")[0])

    def seen_on_card(body: dict) -> datetime | None:
        """The time a button carries (cards._button): what the card showed when clicked."""
        seen = body["actions"][0]["value"].partition("|")[2]
        return parse_time(seen) if seen else None

    def answer(respond: Respond, outcome: Outcome, action: str) -> None:
        if not outcome.ok:
            ephemeral(respond, refusal_text(outcome, action))

    @app.action(cards.ACCEPT)
    @failures.after_ack
    def accept(ack: Ack, body: dict, respond: Respond, client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        if not policy.allows(user, client):
            incidents.not_allowed(incident_id_of(body), user, "accept")
            ephemeral(respond, f"Only {policy.who()} can accept major incidents here.")
            return
        answer(respond, incidents.accept(incident_id_of(body), user), "accept it")

    @app.action(cards.INITIAL_COMMS)
    @failures.after_ack
    def initial_comms(ack: Ack, body: dict, respond: Respond) -> None:
        ack()
        outcome = incidents.initial_comms_sent(incident_id_of(body), body["user"]["id"])
        answer(respond, outcome, "record the initial comms")

    @app.action(cards.UPDATE)
    @failures.after_ack
    def update_sent(ack: Ack, body: dict, respond: Respond) -> None:
        ack()
        outcome = incidents.update_sent(
            incident_id_of(body), body["user"]["id"], seen_on_card(body)
        )
        answer(respond, outcome, "record an update")

    @app.action(cards.CLOSE)
    @failures.after_ack
    def close(ack: Ack, body: dict, respond: Respond) -> None:
        ack()
        answer(respond, incidents.close(incident_id_of(body), body["user"]["id"]), "close it")

    # Controls that ask for something first open a small modal, for the owner only.

    def open_for_owner(
        body: dict, client: WebClient, respond: Respond, action: str, words: str, build
    ) -> None:
        """Open the form `build` makes, if the clicker owns the incident; `action` is the
        domain's name for what they want to do (recorded when refused), `words` the user's."""
        allowed = incidents.check_owner(incident_id_of(body), body["user"]["id"], action)
        if not allowed.ok:
            ephemeral(respond, refusal_text(allowed, words))
            return
        channel = body.get("channel", {}).get("id", "")
        client.views_open(trigger_id=body["trigger_id"], view=build(allowed.incident, channel))

    @app.action(cards.ENGAGE)
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
                cards.ENGAGE,
                "Engage resolver groups",
                "Record",
                incident.id,
                [InputBlock(block_id="groups", label="Groups engaged", element=element)],
                channel,
            )

        open_for_owner(body, client, respond, "engage", "engage resolver groups", build)

    @app.view_submission(cards.ENGAGE)
    def engage_submitted(ack: Ack, body: dict, view: dict) -> None:
        meta = json.loads(view["private_metadata"])
        groups = [o["value"] for o in _value(view, "groups").get("selected_options") or []]
        finish(
            ack,
            incidents.engage(meta["incident"], body["user"]["id"], groups),
            "groups",
            "engage resolver groups",
        )

    @app.action(cards.HAND_ON)
    @failures.after_ack
    def hand_on_clicked(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()

        def build(incident, channel):
            return _modal(
                cards.HAND_ON,
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

        open_for_owner(body, client, respond, "hand_on", "hand it on", build)

    @app.view_submission(cards.HAND_ON)
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

    @app.action(cards.STAND_DOWN)
    @failures.after_ack
    def stand_down_clicked(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()

        def build(incident, channel):
            return _modal(
                cards.STAND_DOWN,
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

        open_for_owner(body, client, respond, "stand_down", "stand it down", build)

    @app.view_submission(cards.STAND_DOWN)
    def stand_down_submitted(ack: Ack, body: dict, view: dict) -> None:
        meta = json.loads(view["private_metadata"])
        reason = _value(view, "reason").get("value") or ""
        finish(
            ack,
            incidents.stand_down(meta["incident"], body["user"]["id"], reason),
            "reason",
            "stand it down",
        )

    @app.action(cards.RESOLVE)
    @failures.after_ack
    def resolve_clicked(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()

        def build(incident, channel):
            return _modal(
                cards.RESOLVE,
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

        open_for_owner(body, client, respond, "resolve", "resolve it", build)

    @app.view_submission(cards.RESOLVE)
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
