"""Slack mrkdwn craft: escaping user text, and times every reader sees in their own zone."""

from datetime import datetime
from typing import Any

from handover.checklist.definition import Rendering

# Slack's limits on text (Block Kit reference). Text a user typed can be any length: it is cut
# to fit where it is shown, and the full text stays in the record.
SECTION_LIMIT = 3000  # a section's text, a context element
FIELD_LIMIT = 2000  # each of a section's fields
ERROR_LIMIT = 2000  # an inline error message in a modal
MESSAGE_TEXT_LIMIT = 3000  # a message's plain `text` (Slack cuts at 4,000)
OPTIONS_LIMIT = 100  # the options of a static menu, or of one answer to a type-ahead menu
OPTION_TEXT_LIMIT = 75  # an option's text (`baton check` refuses longer catalogue entries)


def escape(text: str) -> str:
    """Neutralise what a user typed: `<!channel>`, `<@U…>` and `<http://…|…>` must never ping
    or link. Slack's own escaping rule: &, < and > become entities.

    The one escaping function: every piece of user text in mrkdwn (a message, a mrkdwn text
    object in a view) goes through it, directly or as `SLACK.escape`. Plain-text objects (an
    input's initial value, a label, an option) are shown as typed and are not escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str) -> str:
    """Typed text for a plain-text object (a header): `<` and `>` become look-alikes, so that no
    `<!channel>` a user typed ever reaches Slack as a token, even where none is parsed."""
    return text.replace("<", "‹").replace(">", "›")


def truncate(text: str, limit: int = SECTION_LIMIT) -> str:
    """Keep a message within Slack's limits; the full text stays in the record."""
    if len(text) <= limit:
        return text
    note = "… _(cut here; the full text is in the record)_"
    return text[: limit - len(note)] + note


def slack_time(at: Any) -> str:
    """A time shown in each reader's own time zone, with a UTC fallback for old clients."""
    assert isinstance(at, datetime)
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


SLACK = Rendering(
    time=slack_time,
    escape=escape,
    unknown="_unknown_",
    blank="_not given_",
    heading=lambda text: f"*{text}*",
)


def mrkdwn(text: str) -> dict:
    """A mrkdwn text object that Slack will not auto-link or auto-mention (verbatim)."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def mention(who: str) -> str:
    """Who to notify, as Slack mrkdwn: a user group S…, a user U…/W…, "here", or "none" ("")."""
    if who == "none" or not who:
        return ""
    if who == "here":
        return "<!here>"
    if who.startswith("S"):
        return f"<!subteam^{who}>"
    return f"<@{who}>"
