"""App Home: what is going on, for everyone; your incidents first; your drafts to resume."""

from __future__ import annotations

from datetime import datetime

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.models.blocks import (
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.slack.blocks import BAND_DOT, button, md
from bot.slack.deps import Deps
from bot.slack.ids import Action
from bot.slack.intake import modal
from bot.slack.mrkdwn import escape, slack_time
from bot.slack.opening import open_form, press_again
from bot.slack.ownership.card import status_line
from handover.checklist.definition import step
from handover.models import Draft, Incident
from handover.settings import Settings
from handover.times import utcnow
from handover.vocabulary import ENDED, IncidentStatus

MAX_LISTED = 15  # a Home tab holds 100 blocks: keep every list short


def _incident(incident: Incident, settings: Settings, now: datetime) -> SectionBlock:
    return SectionBlock(
        text=md(
            f"*{incident.reference}* · {incident.priority} · {escape(incident.headline)}\n"
            f"{status_line(incident, settings, now)}"
        )
    )


def _draft(draft: Draft) -> list:
    headline = draft.answers.get("headline") or "(no headline yet)"
    return [
        SectionBlock(
            text=md(
                f"{escape(str(headline))}\nLast saved {slack_time(draft.updated_at)}"
                f" · at step: {step(draft.step).title.lower()}"
            ),
            accessory=button("Resume", Action.HOME_RESUME, draft.id),
        ),
    ]


def recent_line(incident: Incident) -> str:
    """One of the agent's own handovers. Its score is for training, after the incident: shown
    once it is over, never while the managers are still working it (docs/domain.md)."""
    line = f"*{incident.reference}* · {escape(incident.headline)} · "
    if incident.status in ENDED:
        line += f"handover quality {BAND_DOT[incident.quality_band]} {incident.quality_score} % · "
    return line + IncidentStatus(incident.status).words


def home_view(
    user: str,
    active: list[Incident],
    drafts: list[Draft],
    recent: list[Incident],
    settings: Settings,
    now: datetime,
    notice: str = "",
) -> dict:
    """The Home tab; `notice` (plain words) on top, when something did not work."""
    mine = [i for i in active if i.owner_id == user]
    others = [i for i in active if i.owner_id != user]
    blocks: list = [HeaderBlock(text="Major incidents")]
    if notice:
        blocks.append(SectionBlock(text=md(f":warning: {escape(notice)}")))
    if mine:
        blocks.append(SectionBlock(text=md("*Yours*")))
        blocks += [_incident(i, settings, now) for i in mine[:MAX_LISTED]]
    blocks.append(SectionBlock(text=md("*Active now*" if not mine else "*Others active now*")))
    if others:
        blocks += [_incident(i, settings, now) for i in others[:MAX_LISTED]]
    else:
        blocks.append(SectionBlock(text=md("None. Type `/major-incident` to hand one over.")))
    if drafts:
        blocks += [DividerBlock(), SectionBlock(text=md("*Your unfinished handovers*"))]
        for draft in drafts[:5]:
            blocks += _draft(draft)
    if recent:
        blocks += [DividerBlock(), SectionBlock(text=md("*Your recent handovers*"))]
        blocks += [SectionBlock(text=md(recent_line(incident))) for incident in recent]
    blocks.append(ContextBlock(elements=[md(f"Updated {slack_time(now)}")]))
    return View(type="home", blocks=blocks).to_dict()


def register(app: App, deps: Deps) -> None:
    settings, handovers, incidents = deps.settings, deps.handovers, deps.incidents

    def publish(client: WebClient, user: str, notice: str = "") -> None:
        view = home_view(
            user,
            incidents.active(),
            handovers.open_drafts(user),
            handovers.recent(user),
            settings,
            utcnow(),
            notice,
        )
        client.views_publish(user_id=user, view=view)

    @app.event("app_home_opened")
    def home_opened(event: dict, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        publish(client, event["user"])

    @app.action(Action.HOME_RESUME)
    @deps.failures.after_ack
    def resume_clicked(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        user = body["user"]["id"]
        draft = next(
            (d for d in handovers.open_drafts(user) if str(d.id) == body["actions"][0]["value"]),
            None,
        )
        if draft is None:  # handed over or gone since the Home tab was drawn
            return
        view = modal.draft_view(draft, settings.org)
        # A button on the Home tab has no response_url: a form that did not open is said
        # on the tab itself.
        open_form(
            client,
            deps.failures,
            body,
            view,
            respond,
            words=lambda error: press_again(error).replace("the button", "*Resume*"),
            elsewhere=lambda text: publish(client, user, text),
        )
