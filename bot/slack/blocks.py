"""Block Kit pieces every view uses: mrkdwn text cut to fit, buttons that carry a row's id,
the quality band's dot."""

from __future__ import annotations

from slack_sdk.models.blocks import ButtonElement, ConfirmObject, MarkdownTextObject

from bot.slack.mrkdwn import SECTION_LIMIT, truncate

BAND_DOT = {"green": "🟢", "amber": "🟠", "red": "🔴"}


def md(text: str, limit: int = SECTION_LIMIT) -> MarkdownTextObject:
    """Mrkdwn exactly as given (verbatim: Slack links nothing itself), within `limit`."""
    return MarkdownTextObject(text=truncate(text, limit), verbatim=True)


def button(
    text: str,
    action_id: str,
    row_id: int,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    """A button whose value is the id of what it acts on (an incident, a notice, a draft)."""
    return ButtonElement(
        text=text, action_id=action_id, value=str(row_id), style=style, confirm=confirm
    )
