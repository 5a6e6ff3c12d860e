"""Shared flows: an agent walking the checklist, a manager clicking the card."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from handover.models import Incident
from tests.conftest import AGENT, MIM_CHANNEL
from tests.fake_slack import FakeSlack
from tests.slack_user import SlackSender, fill

NOW = datetime.now(UTC).replace(second=0, microsecond=0)

STEP1 = {
    "f:headline": "E-mail down for all staff at head office",
    "f:services": ["E-mail"],
    "f:symptoms": 'Outlook says "Cannot connect to server" (0x800CCC0E)',
    "f:impact_degree": "full_outage",
    "f:started_at": NOW - timedelta(minutes=40),
    "f:started_at:flags": ["approximate"],
    "f:first_reported_at": NOW - timedelta(minutes=30),
    "f:detection": "ticket_spike",
}
STEP2 = {
    "f:users_affected": "over-1000",
    "f:user_types": ["staff"],
    "f:locations": ["Head office"],
    "f:vip": "no",
    "f:business_impact": "Nobody can e-mail customers; order confirmations are stuck.",
    "f:deadline:flags": ["none"],
}
STEP3 = {
    "f:trend": "worsening",
    "f:recent_changes": "yes",
    "f:recent_changes:detail": "CHG0042 mail relay patch last night",
    "f:actions_taken": "Restarted Outlook on three PCs; no change.",
    "f:workaround": "yes",
    "f:workaround:detail": "Outlook on the web works",
    "f:resolver_groups": ["Servers and cloud"],
    "f:security": "no",
    "f:related_refs": "INC0012345, INC0012346 INC0012345",
}


def open_checklist(baton, text: str = "") -> dict:
    count = len(baton.fake.calls_to("views.open"))
    reply = baton.slack.command(AGENT, text)
    assert reply.status == 200
    opened = baton.fake.wait_for("views.open", count=count + 1)[-1]
    view = opened.args["view"]
    return json.loads(view) if isinstance(view, str) else view


def submit(baton, view: dict, answers: dict) -> dict:
    reply = baton.slack.submit_view(AGENT, view, fill(view, answers))
    assert reply.status == 200, reply.body
    return reply.json()


def walk_to_review(baton) -> dict:
    view = open_checklist(baton, "E-mail down")
    view = submit(baton, view, STEP1)["view"]
    view = submit(baton, view, STEP2)["view"]
    return submit(baton, view, STEP3)["view"]


def texts(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def not_known(blocks: list[dict]) -> str:
    """The card's "Not known yet" line ("" when everything is known)."""
    found = [b["elements"][0]["text"] for b in blocks if b.get("block_id") == "not_known"]
    return found[0] if found else ""


def hand_over(baton) -> dict:
    """A whole handover through Slack; returns the card as the managers' channel has it."""
    review = walk_to_review(baton)
    done = submit(baton, review, {})
    assert done["response_action"] == "update"
    return card_message(baton.fake)


def card_message(fake: FakeSlack, timeout: float = 10) -> dict:
    """The card's latest version: its ts and blocks (after any chat.update)."""
    post = fake.wait_for(
        "chat.postMessage",
        timeout=timeout,
        where=lambda a: a["channel"] == MIM_CHANNEL and "blocks" in a and not a.get("thread_ts"),
    )[-1]
    ts = post.result["ts"]
    updates = [c for c in fake.calls_to("chat.update") if c.args["ts"] == ts]
    latest = updates[-1].args if updates else post.args
    return {"ts": ts, "blocks": latest["blocks"], "text": latest["text"]}


def click(sender: SlackSender, user: str, card: dict, action_id: str):
    return sender.click(user, card, action_id, MIM_CHANNEL)


def buttons(card: dict) -> list[str]:
    """The labels of the message's buttons (not of its "more" menu)."""
    return [
        el["text"]["text"]
        for b in card["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
        if el["type"] == "button"
    ]


def menu(card: dict) -> list[str]:
    """The labels of the options in the message's "more" menu."""
    return [
        o["text"]["text"]
        for b in card["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
        if el["type"] == "overflow"
        for o in el["options"]
    ]


def controls(card: dict) -> list[str]:
    """Every control the message offers: its buttons, then its menu."""
    return buttons(card) + menu(card)


def draft_message(
    fake: FakeSlack, card_ts: str, kind: str = "initial notice", count: int = 1, timeout: float = 10
) -> dict:
    """The `count`-th draft of `kind` posted in the card's thread: its ts and blocks."""
    posts = fake.wait_for(
        "chat.postMessage",
        count=count,
        timeout=timeout,
        where=lambda a: (
            a.get("thread_ts") == card_ts and a["text"].startswith(f":memo: *Draft {kind}*")
        ),
    )
    post = posts[count - 1]
    return {"ts": post.result["ts"], "blocks": post.args["blocks"], "text": post.args["text"]}


def incident(baton) -> Incident:
    with baton.db.session() as s:
        return s.query(Incident).one()


def open_modal(baton, user: str, card: dict, action: str) -> dict:
    """The form this click opened (found by its trigger_id: a form an earlier click opens may
    arrive later, such as Accept's)."""
    assert click(baton.slack, user, card, action).status == 200
    trigger = baton.slack.last_trigger
    opened = baton.fake.wait_for("views.open", where=lambda a: a.get("trigger_id") == trigger)
    return opened[-1].args["view"]


def submit_modal(baton, user: str, view: dict, answers: dict, **kw):
    return baton.slack.submit_view(user, view, fill(view, answers), **kw)


def wait_until(predicate, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")
