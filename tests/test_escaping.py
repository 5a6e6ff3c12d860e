"""What people type never pings, mentions or links in Slack: every free-text field of the
checklist and every field a manager types, through the whole life of two incidents, and every
mrkdwn text Baton gives Slack (chat.*, views.*, response_url, its own answers) checked.

Only mrkdwn is checked: plain-text objects (an input's initial value, a label, an option) are
shown as typed, so the edit form rightly shows the notice's plain text, markers and all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from handover.checklist.definition import STEPS, Field, Kind, Step
from handover.models import Incident, Outbox
from tests.conftest import AGENT, MIM, MIM_CHANNEL, STAKEHOLDER_CHANNEL
from tests.fake_slack import dm
from tests.flows import (
    STEP1,
    STEP2,
    STEP3,
    card_message,
    click,
    draft_message,
    incident,
    open_checklist,
    open_modal,
    wait_until,
)
from tests.slack_user import Reply, fill, view_payload

MARKERS = (
    "<!channel>",
    "<!here>",
    "<@U0MIM00001>",
    "<https://evil.example|click>",
    "<#C0MIMS0001>",
)
# Every typed marker follows this tag: Baton's own mentions of the manager (<@U0MIM00001>) and
# the managers' channel (<#C0MIMS0001>) are right, the same text typed by someone is not.
TAG = "zq"
RAW = f"{TAG}<"
ESCAPED = f"{TAG}&lt;"
BASE = {"what": STEP1, "who": STEP2, "known": STEP3, "review": {}}
LEAD = "U0LEAD0001"


def typed(words: str, limit: int = 3000) -> str:
    """`words`, then as many of the markers as fit in `limit` characters."""
    text = words
    for marker in MARKERS:
        if len(text) + len(TAG) + len(marker) + 1 > limit:
            break
        text += f" {TAG}{marker}"
    return text


def element(view: dict, block: str) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == block)["element"]


def text_blocks(f: Field) -> dict[str, Any]:
    """The blocks where `f` takes typed text, with what else must be chosen for them to count
    (a yes for a yes-answer's detail). Read from the definition: a new field is covered."""
    block = f"f:{f.id}"
    if f.kind in (Kind.TEXT, Kind.LONG_TEXT, Kind.REFS):
        return {block: None}
    if f.kind == Kind.TRISTATE:
        return {block: "yes", f"{block}:detail": None}
    if f.kind == Kind.PRIORITY:
        return {f"{block}:reason": None}  # shown once the proposal is changed (see below)
    assert f.kind in (Kind.CHOICE, Kind.MULTI, Kind.DATETIME), f"does a {f.kind} take text?"
    return {}


def typed_answers(view: dict, the_step: Step) -> dict[str, Any]:
    """Markers in every free-text input of this step, each as long as its input allows."""
    answers: dict[str, Any] = {}
    for f in the_step.fields:
        for block, choice in text_blocks(f).items():
            if choice is not None:
                answers[block] = choice
            else:
                limit = element(view, block).get("max_length") or 3000
                answers[block] = typed(f"{f.id} says", limit)
    return answers


def refs_blocks(the_step: Step) -> list[str]:
    return [f"f:{f.id}" for f in the_step.fields if f.kind == Kind.REFS]


# What Slack shows as mrkdwn ----------------------------------------------------------------


def _decoded(node: Any) -> Any:
    if isinstance(node, str) and node[:1] in ("[", "{"):
        try:
            return json.loads(node)
        except ValueError:
            return node
    return node


def mrkdwn_texts(node: Any) -> Iterator[str]:
    """Every mrkdwn text object's text in a payload (blocks, views, JSON-encoded or not)."""
    node = _decoded(node)
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            yield str(node.get("text", ""))
        for value in node.values():
            yield from mrkdwn_texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from mrkdwn_texts(value)


def message_texts(args: dict) -> list[str]:
    """A message's (or an ephemeral answer's) mrkdwn: its `text` and its blocks."""
    top = [str(args["text"])] if args.get("text") and args.get("mrkdwn") is not False else []
    return top + list(mrkdwn_texts(args.get("blocks")))


def reply_texts(reply: Reply) -> list[str]:
    """Baton's own answer to a request: a command's text, or a modal's next view."""
    if not reply.body:
        return []
    if not reply.body.startswith("{"):
        return [reply.body]
    answer = reply.json()
    if "view" in answer:
        return list(mrkdwn_texts(answer["view"]))
    if "errors" in answer:  # inline errors are plain text: shown as typed
        return []
    return message_texts(answer)


class Said:
    """Everything Baton gave Slack in mrkdwn, by where it went."""

    def __init__(self, baton, replies: list[Reply]):
        self.by_place: list[tuple[str, str]] = []
        for call in baton.fake.calls:
            if call.method.startswith("chat."):
                where = f"{call.method} {call.args.get('channel')}"
                self.by_place += [(where, t) for t in message_texts(call.args)]
            elif call.method.startswith("views."):
                self.by_place += [(call.method, t) for t in mrkdwn_texts(call.args.get("view"))]
        for call in baton.fake.responses:
            self.by_place += [("response_url", t) for t in message_texts(call.args)]
        for reply in replies:
            self.by_place += [("answer", t) for t in reply_texts(reply)]

    def unescaped(self) -> list[tuple[str, str]]:
        return [(where, text[:200]) for where, text in self.by_place if RAW in text]

    def escaped_in(self, place: str, *words: str) -> bool:
        """Typed text reached `place` (escaped), in a text containing all `words`."""
        return any(
            where.startswith(place) and ESCAPED in text and all(w in text for w in words)
            for where, text in self.by_place
        )


# The flows ---------------------------------------------------------------------------------


@pytest.fixture
def lead(env, tmp_path, monkeypatch):
    path = tmp_path / "baton.toml"
    path.write_text(f'service_desk_lead = "{LEAD}"\n')
    monkeypatch.setenv("BATON_CONFIG", str(path))


def drain_outbox(baton, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with baton.db.session() as s:
            if not s.query(Outbox).filter(Outbox.status.in_(("pending", "sending"))).count():
                return
        time.sleep(0.05)
    raise AssertionError("the outbox did not drain")


class Session:
    """A person's requests to Baton, every answer kept for the check."""

    def __init__(self, baton):
        self.baton = baton
        self.replies: list[Reply] = []

    def keep(self, reply: Reply) -> Reply:
        assert reply.status == 200, reply.body
        self.replies.append(reply)
        return reply

    def submit(self, view: dict, answers: dict, user: str = AGENT) -> dict:
        reply = self.keep(self.baton.slack.submit_view(user, view, fill(view, answers)))
        return reply.json() if reply.body else {}

    def command(self, user: str, text: str) -> Reply:
        return self.keep(self.baton.slack.command(user, text))

    def click(self, user: str, message: dict, action: str) -> None:
        self.keep(click(self.baton.slack, user, message, action))

    def form(self, message: dict, action: str) -> dict:
        return open_modal(self.baton, MIM, message, action)

    def send(self, draft: dict) -> None:
        """Send a draft; with a breach suspected, the confirmed broad send."""
        actions = [
            el["action_id"]
            for b in draft["blocks"]
            if b["type"] == "actions"
            for el in b["elements"]
        ]
        self.click(
            MIM, draft, "notice_send_broad" if "notice_send_broad" in actions else "notice_send"
        )

    def home(self, user: str) -> None:
        body = json.dumps(
            {
                "token": "x",
                "team_id": "T0000TEAM1",
                "api_app_id": "A0000BATON",
                "type": "event_callback",
                "event_id": f"Ev{user}{time.time_ns()}",
                "event_time": 1,
                "event": {"type": "app_home_opened", "user": user, "tab": "home"},
            }
        )
        headers = {"Content-Type": "application/json"}
        self.keep(self.baton.slack.post(body, headers=headers))


def published(baton) -> list[dict]:
    return [
        c.args
        for c in baton.fake.calls_to("chat.postMessage")
        if c.args["channel"] == STAKEHOLDER_CHANNEL
    ]


def hand_over_typed(me: Session) -> None:
    """The whole checklist with markers in every free-text input. Ticket references must be
    references: typed ones are refused first (inline errors are plain text), then a step left
    with them sends the agent back to it with a notice quoting them, in mrkdwn."""
    baton = me.baton
    view = open_checklist(baton)
    left: tuple[dict, dict] | None = None  # a step's view, and the bad references typed in it
    for the_step in STEPS:
        typed_in = {**BASE[the_step.id], **typed_answers(view, the_step)}
        refs = {b: BASE[the_step.id].get(b, "none") for b in refs_blocks(the_step)}
        if refs:
            refused = me.submit(view, typed_in)
            assert refused["response_action"] == "errors" and set(refused["errors"]) == set(refs)
            left = (view, typed_in)
        answers = {**typed_in, **refs}
        if the_step.id == "review":
            proposed = element(view, "f:priority")["initial_option"]["value"]
            answers["f:priority"] = next(p for p in ("P1", "P2") if p != proposed)
            assert left is not None
            # That step's modal, still open in another window, closed with the bad references.
            baton.slack.close_view(AGENT, left[0], fill(left[0], left[1]))
            wait_until(lambda: _refs_saved(baton))
            back = me.submit(view, answers)
            assert back["response_action"] == "update"
            notice = back["view"]["blocks"][1]["text"]["text"]
            assert notice.startswith(":warning: Please check this step") and ESCAPED in notice
            all_refs = {b: BASE["known"].get(b, "none") for st in STEPS for b in refs_blocks(st)}
            view = me.submit(back["view"], all_refs)["view"]
        answer = me.submit(view, answers)
        assert answer["response_action"] == "update", answer
        view = answer["view"]


def _refs_saved(baton) -> bool:
    draft = baton.handovers.latest_open_draft(AGENT)
    return draft is not None and RAW in json.dumps(draft.answers.get("related_refs"))


@pytest.mark.usefixtures("lead")
def test_typed_markers_reach_slack_only_escaped(baton):
    me = Session(baton)
    fake = baton.fake

    # The agent's handover, everything typed full of markers.
    hand_over_typed(me)
    card = card_message(fake)
    ref = incident(baton).reference
    me.click(MIM, card, "incident_accept")
    wait_until(lambda: "incident_resolve" in json.dumps(card_message(fake)["blocks"]))
    card = card_message(fake)
    engage = me.form(card, "incident_engage")  # Engage & send: a breach is suspected
    assert me.submit(engage, {"groups": ["Network"], "broad": ["broad"]}, MIM) == {}
    wait_until(lambda: len(published(baton)) == 1)

    # The manager fills gaps: a workaround (which the next update lists as changed) and text.
    for field, answers in (
        ("workaround", {"f:workaround": "yes", "f:workaround:detail": typed("Gap: use OWA", 500)}),
        ("business_impact", {"f:business_impact": typed("Gap: orders stuck")}),
    ):
        pick = me.form(card, "incident_fill_gap")
        gap = me.submit(pick, {"field": field}, MIM)["view"]
        assert me.submit(gap, answers, MIM) == {}

    # An update with what we are doing and an ETA, sent, then edited after sending.
    update_form = me.form(card, "incident_draft_update")
    doing, eta = typed("We are restarting", 1000), typed("Two hours", 100)
    assert me.submit(update_form, {"doing": doing, "eta": eta}, MIM) == {}
    update = draft_message(fake, card["ts"], "update")
    me.send(update)
    wait_until(lambda: len(published(baton)) == 2)
    edit = me.form(update, "notice_edit")
    edited = {"subject": typed("Edited subject", 150), "body": typed("Edited body")}
    assert me.submit(edit, edited, MIM) == {}
    fake.wait_for("chat.update", where=lambda a: a["channel"] == STAKEHOLDER_CHANNEL)

    # What anyone can ask for: the summary, the status, the timeline, App Home.
    me.click(MIM, card, "incident_summary")
    wait_until(lambda: fake.responses)
    for word in ("summary", "status", "timeline"):
        me.command(MIM, f"{word} {ref}")
    for user in (MIM, AGENT):
        me.home(user)
    fake.wait_for("views.publish", count=2)

    # Not a major incident after all: stood down, with a reason the agent is told.
    stand_down = me.form(card, "incident_stand_down")
    assert me.submit(stand_down, {"reason": typed("Stand-down: one user only", 1000)}, MIM) == {}
    fake.wait_for(
        "chat.postMessage", where=lambda a: a["channel"] == dm(AGENT) and "not a major" in a["text"]
    )
    me.command(MIM, f"timeline {ref}")

    # A second, red handover: resolved, its resolution notice sent, closed, reported on.
    view = open_checklist(baton)
    core = {
        "f:headline": typed("Second headline", 120),
        "f:services": ["unknown"],
        "f:symptoms": typed("Second symptoms"),
    }
    for answers in (core, {}, {}, {}):
        view = me.submit(view, answers).get("view", view)
    wait_until(lambda: card_message(fake)["ts"] != card["ts"])
    second = card_message(fake)
    me.click(MIM, second, "incident_accept")
    wait_until(lambda: "incident_resolve" in json.dumps(card_message(fake)["blocks"]))
    assert me.submit(me.form(card_message(fake), "incident_resolve"), {}, MIM) == {}
    me.send(draft_message(fake, second["ts"], "resolution notice"))
    wait_until(lambda: len(published(baton)) == 3)
    wait_until(lambda: "incident_close" in json.dumps(card_message(fake)["blocks"]))
    me.click(MIM, card_message(fake), "incident_close")
    fake.wait_for("chat.postMessage", where=lambda a: a["channel"] == dm(LEAD))
    with baton.db.session() as s:
        second_ref = s.query(Incident).order_by(Incident.id.desc()).first().reference
    me.command(MIM, f"timeline {second_ref}")
    drain_outbox(baton)

    said = Said(baton, me.replies)
    assert said.unescaped() == []
    # And the typed text did reach every place that shows it, escaped.
    for place, words in (
        (f"chat.postMessage {MIM_CHANNEL}", ("*Symptoms*",)),  # the card
        (f"chat.update {MIM_CHANNEL}", ("*Business impact*",)),  # the card, gap filled
        (f"chat.postMessage {MIM_CHANNEL}", ("stood *MI-",)),  # a thread line
        (f"chat.postMessage {MIM_CHANNEL}", ("Changed since the last notice",)),  # update draft
        (f"chat.postMessage {dm(AGENT)}", ("not a major incident",)),  # a DM
        (f"chat.postMessage {STAKEHOLDER_CHANNEL}", ("What we are doing",)),  # a notice
        (f"chat.update {STAKEHOLDER_CHANNEL}", ("Edited body",)),  # the edited notice
        (f"chat.postMessage {dm(LEAD)}", ("Handover review",)),  # the exception report
        ("response_url", ("Actions in progress",)),  # the executive summary
        ("answer", ("*Timeline of",)),
        ("answer", ("Please check this step",)),  # the checklist's review summary notice
        ("views.publish", ("headline says",)),  # App Home
    ):
        assert said.escaped_in(place, *words), (place, words)


def test_a_changed_workaround_is_escaped_in_the_update_draft(baton):
    """The update draft's "Changed since the last notice" line quotes the record's words."""
    me = Session(baton)
    fake = baton.fake
    view = open_checklist(baton)
    for answers in (STEP1, STEP2, STEP3, {}):
        view = me.submit(view, answers)["view"]
    card = card_message(fake)
    me.click(MIM, card, "incident_accept")
    wait_until(lambda: "incident_fill_gap" in json.dumps(card_message(fake)["blocks"]))
    card = card_message(fake)
    me.send(draft_message(fake, card["ts"]))
    wait_until(lambda: len(published(baton)) == 1)
    pick = me.form(card, "incident_fill_gap")
    gap = me.submit(pick, {"field": "workaround"}, MIM)["view"]
    me.submit(gap, {"f:workaround": "yes", "f:workaround:detail": f"Use OWA {TAG}<!channel>"}, MIM)
    me.submit(me.form(card, "incident_draft_update"), {}, MIM)
    update = draft_message(fake, card["ts"], "update")
    [changed] = [t for t in message_texts(update) if t.startswith("Changed since the last notice")]
    assert f"→ yes: Use OWA {TAG}&lt;!channel&gt;" in changed
    assert RAW not in changed


def test_an_unfinished_handover_is_escaped_on_app_home(baton):
    """A draft saved on close shows on its author's Home tab: its headline escaped."""
    view = open_checklist(baton)
    state = fill(view, {**STEP1, "f:headline": typed("Closed with", 120)})
    assert baton.slack.interaction(view_payload(AGENT, view, state, "view_closed")).status == 200
    wait_until(lambda: baton.handovers.latest_open_draft(AGENT).answers.get("headline"))
    baton.slack.post(
        json.dumps(
            {
                "token": "x",
                "team_id": "T0000TEAM1",
                "api_app_id": "A0000BATON",
                "type": "event_callback",
                "event_id": "EvHOME",
                "event_time": 1,
                "event": {"type": "app_home_opened", "user": AGENT, "tab": "home"},
            }
        ),
        headers={"Content-Type": "application/json"},
    )
    home = baton.fake.wait_for("views.publish")[0].args["view"]
    texts = list(mrkdwn_texts(home))
    assert any(ESCAPED in t for t in texts) and not any(RAW in t for t in texts)
