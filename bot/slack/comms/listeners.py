"""Stakeholder notices in Slack: send, edit (before or after sending), draft an update on
demand, and the executive summary. Listeners ack first; refusals say who can do it."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack.comms import views
from bot.slack.deps import Deps
from bot.slack.ids import ACTION, Action, Callback
from bot.slack.metadata import Metadata
from bot.slack.mrkdwn import SLACK, escape
from bot.slack.opening import open_form
from bot.slack.ownership import card
from bot.slack.responses import answer, ephemeral, finish, refusal_text, value_of
from handover.comms.notices import Notices, destination
from handover.comms.templates import STATES
from handover.outcomes import Outcome, Refusal
from handover.ownership.controls import Control
from handover.vocabulary import NoticeKind, StakeholderState

# Where things stand, as the Draft update form offers it (the words a timeline line shows).
UPDATE_STATES = tuple(state for state in STATES if state != StakeholderState.RESOLVED)


def summary_text(notices: Notices, incident) -> str:
    notice = notices.summary(incident, SLACK)
    return card.truncate(f"*{notice.subject}*\n{notice.body}", 3000)


def register(app: App, deps: Deps) -> None:
    settings, notices, incidents = deps.settings, deps.notices, deps.incidents
    policy, failures = deps.policy, deps.failures

    def may_act_unowned(incident, user: str, client: WebClient) -> bool:
        """Before anyone owns the incident, those allowed to accept may send its comms."""
        return incident.owner_id is not None or policy.allows(user, client)

    def send(
        body: dict, respond: Respond, client: WebClient, broad: bool, notice_id: int | None = None
    ) -> None:
        user = body["user"]["id"]
        found = notices.get(value_of(body) if notice_id is None else notice_id)
        if found is None:
            ephemeral(respond, refusal_text(Outcome(False, refusal=Refusal.NOT_FOUND), "send it"))
            return
        notice, incident = found
        if not may_act_unowned(incident, user, client):
            incidents.not_allowed(incident.id, user, "send")
            ephemeral(
                respond, f"Only {policy.who()} can send comms for an incident nobody owns yet."
            )
            return
        channel = destination(incident, settings, broad)
        outcome = notices.send(notice.id, user, channel, confirmed=broad, target=SLACK)
        answer(respond, outcome, "send comms")

    @app.action(Action.NOTICE_SEND)
    @failures.after_ack
    def send_clicked(ack: Ack, body: dict, respond: Respond, client: WebClient) -> None:
        ack()
        send(body, respond, client, broad=False)

    @app.action(Action.NOTICE_SEND_BROAD)
    @failures.after_ack
    def send_broad_clicked(ack: Ack, body: dict, respond: Respond, client: WebClient) -> None:
        ack()  # this button sits behind a confirmation dialog: the click is the confirmation
        send(body, respond, client, broad=True)

    @app.action(Action.SEND_INITIAL)
    @failures.after_ack
    def send_initial_clicked(ack: Ack, body: dict, respond: Respond, client: WebClient) -> None:
        ack()  # from a line chasing the initial notice: whichever draft is current now
        incident = incidents.get(value_of(body))
        draft = notices.current_draft(incident.id, NoticeKind.INITIAL) if incident else None
        if incident is None or draft is None:
            sent = incident is not None and incident.initial_comms_at is not None
            ephemeral(
                respond,
                "The initial notice has gone out already."
                if sent
                else "There is no initial notice to send: it may have been stood down or closed.",
            )
            return
        send(body, respond, client, broad=False, notice_id=draft.id)

    @app.action(Action.NOTICE_EDIT)
    @failures.after_ack
    def edit_clicked(ack: Ack, body: dict, respond: Respond, client: WebClient) -> None:
        ack()
        found = notices.get(value_of(body))
        user = body["user"]["id"]
        if found is None:
            ephemeral(respond, refusal_text(Outcome(False, refusal=Refusal.NOT_FOUND), "edit it"))
            return
        notice, incident = found
        if incident.owner_id not in (None, user) or not may_act_unowned(incident, user, client):
            incidents.not_allowed(incident.id, user, "edit")
            owner = f"<@{incident.owner_id}>" if incident.owner_id else policy.who()
            ephemeral(respond, f"Only {owner} can edit the comms of *{incident.reference}*.")
            return
        open_form(client, failures, body, views.edit_modal(notice), respond)

    @app.view_submission(Callback.NOTICE_EDIT)
    def edit_submitted(ack: Ack, body: dict, view: dict) -> None:
        values = view["state"]["values"]
        subject = values["subject"][ACTION].get("value") or ""
        text = values["body"][ACTION].get("value") or ""
        notice_id = Metadata.of(view).notice_id()
        outcome = notices.edit(notice_id, body["user"]["id"], subject, text, escape)
        finish(ack, outcome, "body", "edit the comms")

    @app.action(Action.DRAFT_UPDATE)
    @failures.after_ack
    def draft_update_clicked(ack: Ack, body: dict, respond: Respond, client: WebClient) -> None:
        ack()
        allowed = incidents.check_owner(value_of(body), body["user"]["id"], Control.DRAFT_UPDATE)
        if not allowed.ok:
            ephemeral(respond, refusal_text(allowed, "draft an update"))
            return
        incident = allowed.incident
        view = views.draft_update_modal(incident, notices.last_doing(incident.id))
        open_form(client, failures, body, view, respond)

    @app.view_submission(Callback.DRAFT_UPDATE)
    def draft_update_submitted(ack: Ack, body: dict, view: dict) -> None:
        values = view["state"]["values"]
        state = (values["state"][ACTION].get("selected_option") or {}).get("value")
        if state is not None and state not in UPDATE_STATES:  # only a forged view sends one
            ack(response_action="errors", errors={"state": "Choose where things stand."})
            return
        outcome = notices.request(
            Metadata.of(view).incident_id(),
            body["user"]["id"],
            NoticeKind.UPDATE,
            state=state,
            doing=values["doing"][ACTION].get("value") or "",
            eta=values["eta"][ACTION].get("value") or "",
        )
        finish(ack, outcome, "doing", "draft an update")

    @app.action(Action.SUMMARY)
    @failures.after_ack
    def summary_clicked(ack: Ack, body: dict, respond: Respond) -> None:
        ack()
        incident = incidents.get(value_of(body))
        if incident is None:
            ephemeral(respond, refusal_text(Outcome(False, refusal=Refusal.NOT_FOUND), "see it"))
            return
        ephemeral(respond, summary_text(notices, incident))
