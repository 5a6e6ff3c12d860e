"""Slack mrkdwn craft: escaping user text, and times every reader sees in their own zone."""

from datetime import datetime
from typing import Any

from handover.checklist import Rendering


def escape(text: str) -> str:
    """Neutralise what a user typed: `<!channel>`, `<@U…>` and `<http://…|…>` must never ping
    or link. Slack's own escaping rule: &, < and > become entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_time(at: Any) -> str:
    """A time shown in each reader's own time zone, with a UTC fallback for old clients."""
    assert isinstance(at, datetime)
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


SLACK = Rendering(time=slack_time, escape=escape, unknown="_unknown_", blank="_not given_")


def mrkdwn(text: str) -> dict:
    """A mrkdwn text object that Slack will not auto-link or auto-mention (verbatim)."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}
