"""Bad input at the real endpoint: arbitrary text, Unicode, very long answers and malformed
payloads, signed as Slack signs them. Never a 500, never a stack trace in an answer, never a
payload over Slack's limits (SlackSender and the fake Slack check every answer and message).

Hypothesis runs derandomized (the same examples on every run, so CI is deterministic), with
modest example counts so each test takes seconds.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handover.models import Draft, Incident, Outbox
from tests.conftest import AGENT, MIM, MIM2, MIM_CHANNEL
from tests.fake_slack import dm
from tests.flows import (
    STEP1,
    STEP2,
    STEP3,
    card_message,
    click,
    controls,
    hand_over,
    incident,
    open_checklist,
    open_modal,
    submit_modal,
    wait_until,
)
from tests.slack_user import Reply, fill, view_payload

# PostgreSQL too: it refuses some text SQLite takes (a NUL character).
pytestmark = pytest.mark.both_databases

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Text as people paste it: anything Unicode, Slack markup, and answers of 3,000+ characters
# (made of characters that grow when escaped, like & and <).
MARKUP = "&<>*_~`@!#|:\n "
any_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=MARKUP, max_size=300),
    st.builds(
        lambda unit, n: (unit * n)[:n],
        st.text(alphabet=st.sampled_from([*MARKUP, "é", "😀", "ß", "a"]), min_size=1, max_size=6),
        st.integers(2900, 6000),
    ),
)


def sane(reply: Reply) -> Reply:
    """Slack got an answer it can use: no server error, no stack trace."""
    assert reply.status < 500, (reply.status, reply.body[:300])
    assert "Traceback" not in reply.body and 'File "' not in reply.body, reply.body[:300]
    return reply


def drain_outbox(baton, timeout: float = 20) -> None:
    """Wait until the outbox has delivered (or given up on) everything queued."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with baton.db.session() as s:
            if not s.query(Outbox).filter(Outbox.status.in_(("pending", "sending"))).count():
                return
        time.sleep(0.05)
    raise AssertionError("the outbox did not drain")


def test_any_slash_command_text_is_answered(baton):
    @settings(FUZZ, max_examples=40)
    @given(text=any_text)
    def check(text: str) -> None:
        sane(baton.slack.command(AGENT, text))

    check()
    # Long headlines opened the form too, cut to what the field can hold.
    assert baton.fake.calls_to("views.open")
    drain_outbox(baton)


def answer_or_fix(baton, view: dict, answers: dict, fallback: dict) -> dict:
    """Submit `answers`; where Baton says a field is wrong, use the fallback and go on."""
    reply = sane(baton.slack.submit_view(AGENT, view, fill(view, answers))).json()
    if reply["response_action"] == "errors":
        wrong = reply["errors"]
        # A field's companions (`f:workaround:detail`) go with it (`f:workaround`).
        fixed = {k: v for k, v in fallback.items() if ":".join(k.split(":")[:2]) in wrong}
        assert set(wrong) <= set(fixed), wrong
        reply = sane(baton.slack.submit_view(AGENT, view, fill(view, {**answers, **fixed}))).json()
    assert reply["response_action"] == "update", reply
    return reply["view"]


def test_any_text_in_every_answer_reaches_the_card_within_slack_limits(baton):
    fields = {
        "f:headline": any_text,
        "f:symptoms": any_text,
        "f:business_impact": any_text,
        "f:vip:detail": any_text,
        "f:actions_taken": any_text,
        "f:recent_changes:detail": any_text,
        "f:workaround:detail": any_text,
        "f:security:detail": any_text,
        "f:related_refs": any_text,
        "f:contact_phone": any_text,
    }

    @settings(FUZZ, max_examples=12)
    @given(typed=st.fixed_dictionaries(fields))
    def check(typed: dict[str, str]) -> None:
        view = open_checklist(baton)
        pick = lambda *ids: {i: typed[i] for i in ids}  # noqa: E731
        view = answer_or_fix(baton, view, {**STEP1, **pick("f:headline", "f:symptoms")}, STEP1)
        step2 = {**STEP2, "f:vip": "yes", **pick("f:business_impact", "f:vip:detail")}
        view = answer_or_fix(baton, view, step2, {**STEP2, "f:vip:detail": "The CEO"})
        step3 = {
            **STEP3,
            "f:recent_changes": "yes",
            "f:security": "yes",
            **pick(
                "f:actions_taken",
                "f:recent_changes:detail",
                "f:workaround:detail",
                "f:security:detail",
                "f:related_refs",
            ),
        }
        fallback3 = {**STEP3, "f:related_refs": "none", "f:security:detail": "Odd logins"}
        fallback3["f:recent_changes:detail"] = "CHG0042"
        view = answer_or_fix(baton, view, step3, fallback3)
        done = answer_or_fix(
            baton, view, pick("f:contact_phone"), {"f:contact_phone": "+44 20 7946 0000"}
        )
        assert done["title"]["text"] == "Handed over"

    check()
    drain_outbox(baton)
    with baton.db.session() as s:
        incidents = s.query(Incident).all()
        failed = s.query(Outbox).filter_by(status="failed").all()
    assert len(incidents) == 12
    assert [(row.what, row.error) for row in failed] == []


CUT = "… _(cut here; the full text is in the record)_"
LONG = ("Users see <!channel> & errors " * 110)[:3000]  # the most Slack lets anyone type


def test_long_answers_are_cut_on_the_card_with_a_note_and_kept_whole(baton):
    view = open_checklist(baton)
    view = answer_or_fix(baton, view, {**STEP1, "f:symptoms": LONG}, {})
    view = answer_or_fix(baton, view, STEP2, {})
    view = answer_or_fix(baton, view, {**STEP3, "f:actions_taken": LONG}, {})
    answer_or_fix(baton, view, {}, {})
    card = card_message(baton.fake)
    symptoms = next(
        b for b in card["blocks"] if b.get("text", {}).get("text", "").startswith("*Symptoms")
    )
    assert symptoms["text"]["text"].endswith(CUT)
    assert "&lt;!channel&gt; &amp; errors" in symptoms["text"]["text"]  # escaped, then cut
    actions = next(
        b["text"]["text"]
        for b in card["blocks"]
        if b.get("text", {}).get("text", "").startswith("*Actions already taken*")
    )
    assert actions.endswith(CUT) and len(actions) == 3000
    with baton.db.session() as s:
        incident = s.query(Incident).one()
    assert incident.answers["symptoms"] == LONG.strip()
    assert incident.answers["actions_taken"] == LONG.strip()


def test_a_forged_over_long_answer_is_kept_and_shown_cut_to_fit_the_field(baton):
    forged = LONG + "and more that no Slack client would let through"
    view = open_checklist(baton)
    reply = baton.slack.submit_view(AGENT, view, fill(view, {**STEP1, "f:symptoms": forged}))
    assert reply.json()["errors"] == {
        "f:symptoms": f"Please keep it to 3000 characters (you wrote {len(forged)})."
    }
    with baton.db.session() as s:
        assert s.query(Draft).one().answers["symptoms"] == forged
    baton.slack.command(AGENT, "resume")
    resumed = baton.fake.wait_for("views.open", count=2)[-1].args["view"]
    symptoms = next(b for b in resumed["blocks"] if b.get("block_id") == "f:symptoms")
    assert symptoms["element"]["initial_value"] == forged[:3000]


def accepted_card(baton) -> dict:
    card = hand_over(baton)
    click(baton.slack, MIM, card, "incident_accept")
    wait_until(lambda: "Stand down" in controls(card_message(baton.fake)))
    return card_message(baton.fake)


def test_a_long_stand_down_reason_is_cut_in_messages_and_kept_whole(baton):
    card = accepted_card(baton)
    view = open_modal(baton, MIM, card, "incident_stand_down")
    reason = "Only one printer, & it is out of paper <!here>. " * 120  # a forged 5,880
    assert submit_modal(baton, MIM, view, {"reason": reason}).body == ""
    told = baton.fake.wait_for(
        "chat.postMessage", where=lambda a: a["channel"] == dm(AGENT) and "not a major" in a["text"]
    )[0].args["text"]
    line = next(t for t in thread_texts(baton, card, "stood *MI-"))
    for text in (told, line):
        assert text.endswith(CUT) and len(text) == 3000
        assert "<!here>" not in text
    assert incident(baton).stood_down_reason == reason.strip()


def thread_texts(baton, card: dict, marker: str) -> list[str]:
    wait_until(lambda: any(marker in t for t in baton.fake.thread(card["ts"])))
    return [t for t in baton.fake.thread(card["ts"]) if marker in t]


DELETE = object()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


def paths(value: Any, at: tuple = ()) -> list[tuple]:
    """Every place in a JSON document, the whole document first."""
    found = [at]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*at, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += paths(inner, (*at, i))
    return found


def mutated(document: Any, path: tuple, new: Any) -> Any:
    """`document` with the value at `path` replaced by `new`, or removed (DELETE)."""
    if not path:
        return None if new is DELETE else new
    copy = json.loads(json.dumps(document))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    if new is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return copy


def test_malformed_interactions_are_answered_without_a_500(baton):
    """Real payloads of each kind, each with one value removed or replaced by any JSON
    (missing keys, wrong types, unknown callback and action ids, metadata that is not JSON
    or names someone else's draft), and the whole payload replaced by any JSON."""
    card = accepted_card(baton)
    step = open_checklist(baton)
    stand_down = open_modal(baton, MIM, card, "incident_stand_down")
    valid = [
        baton.slack.click_payload(MIM2, card, "incident_resolve", MIM_CHANNEL),
        view_payload(AGENT, step, fill(step, STEP1)),
        view_payload(AGENT, step, fill(step, STEP1), "view_closed"),
        view_payload(MIM2, stand_down, fill(stand_down, {"reason": "Only one user affected"})),
    ]

    @settings(FUZZ, max_examples=150)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        payload = data.draw(st.sampled_from(valid))
        path = data.draw(st.sampled_from(paths(payload)))
        new = data.draw(st.one_of(st.just(DELETE), json_values, any_text))
        sane(baton.slack.interaction(mutated(payload, path, new)))

    check()


def test_malformed_commands_and_bodies_are_answered_without_a_500(baton):
    command = baton.slack.command_fields(AGENT, "E-mail down")
    bodies = st.one_of(
        st.binary(max_size=300),
        any_text.map(lambda text: "payload=" + quote(text)),
        json_values.map(lambda value: "payload=" + quote(json.dumps(value))),
        st.builds(
            lambda key, value: urlencode({**command, key: value}),
            st.sampled_from(sorted(command)),
            any_text,
        ),
        st.sampled_from(sorted(command)).map(
            lambda key: urlencode({k: v for k, v in command.items() if k != key})
        ),
    )

    @settings(FUZZ, max_examples=100)
    @given(body=bodies)
    def check(body: str | bytes) -> None:
        sane(baton.slack.post(body))

    check()


def test_a_payload_that_is_not_json_is_a_400_and_changes_nothing(baton):
    calls = len(baton.fake.calls)  # auth.test at start
    reply = baton.slack.post("payload=" + quote("{not json"))
    assert (reply.status, reply.body) == (400, "")
    assert baton.slack.post(b"\xff\xfe not utf-8").status == 400
    assert len(baton.fake.calls) == calls


def test_a_checklist_submission_not_for_a_draft_of_ones_own_says_it_is_gone(baton):
    view = open_checklist(baton)
    answers = fill(view, STEP1)
    theirs = json.loads(view["private_metadata"])
    for metadata in ("not json", json.dumps({"step": "what"}), json.dumps({**theirs, "step": "x"})):
        reply = baton.slack.submit_view(AGENT, {**view, "private_metadata": metadata}, answers)
        assert "no longer available" in json.dumps(reply.json()["view"])
    # Someone else submitting the agent's draft: refused the same way, and nothing is saved.
    reply = baton.slack.submit_view(MIM, view, answers)
    assert "no longer available" in json.dumps(reply.json()["view"])
    with baton.db.session() as s:
        assert s.query(Draft).one().answers.get("symptoms") is None


def test_unknown_callback_and_action_ids_are_acknowledged_without_effect(baton):
    card = accepted_card(baton)
    click_unknown = baton.slack.click_payload(MIM, card, "incident_resolve", MIM_CHANNEL)
    click_unknown["actions"][0]["action_id"] = "incident_teleport"
    view = open_checklist(baton)
    unknown_view = view_payload(AGENT, {**view, "callback_id": "handover_step_v0"}, {})
    drain_outbox(baton)
    calls = len(baton.fake.calls)
    for payload in (click_unknown, unknown_view):
        reply = baton.slack.interaction(payload)
        assert (reply.status, reply.body) == (200, "")
    time.sleep(0.3)  # nothing is sent later either
    assert len(baton.fake.calls) == calls and baton.fake.responses == []


def test_a_listener_failing_before_its_ack_gets_a_clear_answer(baton):
    view = open_checklist(baton)
    state = fill(view, STEP1)
    state["f:started_at"]["v"]["selected_date_time"] = "soon"  # a time that is not one
    reply = baton.slack.submit_view(AGENT, view, state)
    assert reply.json()["response_action"] == "update"
    assert "Baton could not handle that" in json.dumps(reply.json()["view"])
    fields = baton.slack.command_fields(AGENT, "E-mail down")
    del fields["user_id"]
    reply = baton.slack.post(urlencode(fields))
    assert reply.status == 200 and "Baton could not handle that" in reply.text
