"""The checklist modal, built from the one checklist definition (handover/checklist/definition.py).

Block ids are `f:<field>` for a field's main input and `f:<field>:<part>` for its companions
(a time's flags, a yes-answer's detail, a priority's reason); every action id is `v`.

A choice with more than Slack's 100 options (a large service catalogue) is a type-ahead menu
(external_select) whose options Baton answers with `suggestions` (a block_suggestion request).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    DateTimePickerElement,
    DividerBlock,
    ExternalDataMultiSelectElement,
    ExternalDataSelectElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.slack.blocks import BAND_DOT
from bot.slack.ids import ACTION, ENGAGE_GROUPS, Callback
from bot.slack.metadata import Metadata
from bot.slack.mrkdwn import (
    ERROR_LIMIT,
    OPTION_TEXT_LIMIT,
    OPTIONS_LIMIT,
    SLACK,
    escape,
    truncate,
)
from handover.checklist.definition import (
    FIELDS,
    STEP_IDS,
    STEPS,
    UNKNOWN,
    Field,
    Kind,
    Step,
    display,
    in_sentence,
    options_for,
    step,
)
from handover.checklist.definition import Option as ChecklistOption
from handover.checklist.quality import field_value
from handover.handovers import Handovers, Review
from handover.models import Draft
from handover.settings import OrgConfig
from handover.times import parse_time

DATETIME_FLAGS = {"approximate": "Approximate", UNKNOWN: "Not known", "none": ""}
FLAGS_LABEL = "About the time"  # the checkboxes under a date picker (Approximate, Not known)
TRISTATE = (("yes", "Yes"), ("no", "No"), (UNKNOWN, "Unknown"))
DETAIL_LENGTH = 500  # a yes-answer's detail, a priority's reason
REFS_LENGTH = 1000
# The companions of a field's main input, by kind: the parts of its block ids (see block_id).
PARTS: dict[Kind, tuple[str, ...]] = {
    Kind.DATETIME: ("flags",),
    Kind.TRISTATE: ("detail",),
    Kind.PRIORITY: ("reason",),
}
# Choices Slack's type-ahead always offers first, where the field has them.
ALWAYS_OFFERED = ("all", UNKNOWN)


def block_id(field_id: str, part: str = "") -> str:
    return f"f:{field_id}:{part}" if part else f"f:{field_id}"


def _option(option_id: str, label: str) -> Option:
    return Option(value=option_id, label=label[:OPTION_TEXT_LIMIT])


def _prefill(text: Any, max_length: int) -> str | None:
    """A saved answer as an input's initial value. Slack refuses the whole view when it is
    longer than the input allows; only a forged request can have saved such text (Slack's
    client stops at max_length), and the draft keeps it in full."""
    return str(text)[:max_length] if text else None


def _datetime_flag_options(f: Field) -> list[Option]:
    flags = []
    if f.approximate:
        flags.append(_option("approximate", "Approximate"))
    if f.none_label:
        flags.append(_option("none", f.none_label))
    if f.allow_unknown:
        flags.append(_option(UNKNOWN, "Not known"))
    return flags


def field_blocks(f: Field, value: Any, org: OrgConfig) -> list[dict]:
    """The input block(s) for one field, pre-filled with its saved value.

    slack_sdk's models validate every object as they serialise, which was half of the CPU
    of a checklist step: the blocks are built once per field, value and choices, kept as JSON,
    and each view gets its own copy (json.loads copies faster than copy.deepcopy).
    """
    key = json.dumps(value, sort_keys=True, default=str)
    return json.loads(_field_blocks(f, key, options_for(f, org)))


@functools.lru_cache(maxsize=1024)
def _field_blocks(f: Field, value_json: str, choices: tuple[ChecklistOption, ...]) -> str:
    models = _field_models(f, json.loads(value_json), choices)
    return json.dumps([block.to_dict() for block in models])


def _main_input(f: Field, element: Any) -> InputBlock:
    """A field's main input with its hint, optional unless the field is required."""
    return InputBlock(
        block_id=block_id(f.id),
        label=f.label,
        element=element,
        hint=f.hint or None,
        optional=not f.required,
    )


def _companion_text(f: Field, part: str, label: str, value: Any) -> InputBlock:
    """The optional text beside a field's main input: a yes-answer's detail, a priority's
    reason; `part` is both the block id's part and the key of the saved value."""
    return InputBlock(
        block_id=block_id(f.id, part),
        label=label,
        optional=True,
        element=PlainTextInputElement(
            action_id=ACTION,
            max_length=DETAIL_LENGTH,
            initial_value=_prefill((value or {}).get(part), DETAIL_LENGTH),
        ),
    )


def _text_models(f: Field, value: Any, choices: tuple[ChecklistOption, ...]) -> list:
    element = PlainTextInputElement(
        action_id=ACTION,
        multiline=f.kind == Kind.LONG_TEXT,
        initial_value=_prefill(value, f.max_length),
        max_length=f.max_length,
        placeholder='Type "unknown" if not known' if f.allow_unknown else None,
    )
    return [_main_input(f, element)]


def _choice_models(f: Field, value: Any, choices: tuple[ChecklistOption, ...]) -> list:
    opts = [_option(o.id, o.label) for o in choices]
    by_id = {o.value: o for o in opts}
    initial = by_id.get(value) if value else None
    element: Any
    if len(opts) > OPTIONS_LIMIT:  # Slack refuses a static menu of more: type-ahead instead
        element = ExternalDataSelectElement(
            action_id=ACTION,
            placeholder="Type to search",
            min_query_length=0,
            initial_option=initial,
        )
    else:
        element = StaticSelectElement(
            action_id=ACTION, options=opts, placeholder="Choose", initial_option=initial
        )
    return [_main_input(f, element)]


def _multi_models(f: Field, value: Any, choices: tuple[ChecklistOption, ...]) -> list:
    opts = [_option(o.id, o.label) for o in choices]
    by_id = {o.value: o for o in opts}
    # The saved choices are shown as chosen, so a resumed draft keeps them (type-ahead too).
    initial = [by_id[v] for v in (value or []) if v in by_id] or None
    element: Any
    if len(opts) > OPTIONS_LIMIT:  # Slack refuses a static menu of more: type-ahead instead
        element = ExternalDataMultiSelectElement(
            action_id=ACTION,
            placeholder="Type to search",
            min_query_length=0,
            initial_options=initial,
        )
    else:
        element = StaticMultiSelectElement(
            action_id=ACTION,
            options=opts,
            placeholder="Choose one or more",
            initial_options=initial,
        )
    return [_main_input(f, element)]


def suggestions(block: Any, query: Any, org: OrgConfig) -> list[dict]:
    """The options of a type-ahead menu (a block_suggestion request for block `f:<field>`):
    "All" and "Unknown" first where the field offers them, then the entries whose words
    contain what was typed, in any case; at most Slack's 100."""
    typed = str(query or "").strip().casefold()
    if block == ENGAGE_GROUPS:  # the Engage form: resolver groups, nothing else
        groups = [g for g in org.resolver_groups if typed in g.casefold()]
        return [_option(g, g).to_dict() for g in groups[:OPTIONS_LIMIT]]
    field_id = block[2:] if isinstance(block, str) and block.startswith("f:") else ""
    f = FIELDS.get(field_id)
    if f is None or f.kind not in (Kind.CHOICE, Kind.MULTI):
        return []
    choices = options_for(f, org)
    always = [o for o in choices if o.id in ALWAYS_OFFERED]
    matching = [o for o in choices if o.id not in ALWAYS_OFFERED and typed in o.label.casefold()]
    return [_option(o.id, o.label).to_dict() for o in [*always, *matching][:OPTIONS_LIMIT]]


def _datetime_models(f: Field, value: Any, choices: tuple[ChecklistOption, ...]) -> list:
    at = value.get("at") if isinstance(value, dict) else None
    picker = DateTimePickerElement(
        action_id=ACTION,
        initial_date_time=int(parse_time(at).timestamp()) if at else None,
    )
    flag_opts = _datetime_flag_options(f)
    chosen = []
    if isinstance(value, dict) and value.get("approximate"):
        chosen.append("approximate")
    elif value in (UNKNOWN, "none"):
        chosen.append(value)
    initial = [o for o in flag_opts if o.value in chosen]
    return [
        InputBlock(
            block_id=block_id(f.id),
            label=f.label,
            element=picker,
            optional=True,
            hint=f.hint or None,
        ),
        InputBlock(
            block_id=block_id(f.id, "flags"),
            # Slack shows every input's label: a blank one reads as a stray gap in the form.
            label=FLAGS_LABEL,
            optional=True,
            element=CheckboxesElement(
                action_id=ACTION, options=flag_opts, initial_options=initial or None
            ),
        ),
    ]


def _tristate_models(f: Field, value: Any, choices: tuple[ChecklistOption, ...]) -> list:
    opts = [_option(i, label) for i, label in TRISTATE]
    answer = value.get("answer") if isinstance(value, dict) else None
    return [
        InputBlock(
            block_id=block_id(f.id),
            label=f.label,
            optional=not f.required,
            element=RadioButtonsElement(
                action_id=ACTION,
                options=opts,
                initial_option=next((o for o in opts if o.value == answer), None),
            ),
        ),
        _companion_text(f, "detail", f"If yes: {f.detail_label}", value),
    ]


def _refs_models(f: Field, value: Any, choices: tuple[ChecklistOption, ...]) -> list:
    raw = value.get("raw") if isinstance(value, dict) else None
    return [
        InputBlock(
            block_id=block_id(f.id),
            label=f.label,
            optional=True,
            hint=f.hint or None,
            element=PlainTextInputElement(
                action_id=ACTION,
                initial_value=_prefill(raw, REFS_LENGTH),
                max_length=REFS_LENGTH,
            ),
        )
    ]


def _priority_models(f: Field, value: Any, choices: tuple[ChecklistOption, ...]) -> list:
    opts = [_option(o.id, o.label) for o in f.options]
    chosen = value["value"] if isinstance(value, dict) else None
    return [
        InputBlock(
            block_id=block_id(f.id),
            label=f.label,
            element=StaticSelectElement(
                action_id=ACTION,
                options=opts,
                initial_option=next((o for o in opts if o.value == chosen), None),
            ),
        ),
        _companion_text(f, "reason", "Reason, if you change it", value),
    ]


_MODELS: dict[Kind, Callable[[Field, Any, tuple[ChecklistOption, ...]], list]] = {
    Kind.TEXT: _text_models,
    Kind.LONG_TEXT: _text_models,
    Kind.CHOICE: _choice_models,
    Kind.MULTI: _multi_models,
    Kind.DATETIME: _datetime_models,
    Kind.TRISTATE: _tristate_models,
    Kind.REFS: _refs_models,
    Kind.PRIORITY: _priority_models,
}


def _field_models(f: Field, value: Any, choices: tuple[ChecklistOption, ...]) -> list:
    """The slack_sdk blocks for one field (uncached: see field_blocks)."""
    return _MODELS[f.kind](f, value, choices)


ANSWER_SHOWN = 150  # characters of one answer in the review's summary (the record keeps all)
# Each step is answered in a view that replaces the one before (response_action "update"), so
# the modal has no way back, and `resume` reopens the step the draft reached: the review.
# What can still be corrected is corrected by the manager, who can change any answer.
NO_WAY_BACK = (
    "Earlier steps cannot be reopened from here. If an answer is wrong, hand over anyway "
    "and tell the incident manager: they can correct any answer on the card."
)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text), verbatim=True))


def _shown(f: Field, value: Any, org: OrgConfig) -> str:
    """One answer in words, escaped, cut short enough for a summary line."""
    text = display(f, value, org, SLACK)
    if len(text) <= ANSWER_SHOWN:
        return text
    # Not in the middle of an entity (&amp;): cut before it, or the line shows "&am".
    return re.sub(r"&[#\w]*$", "", text[:ANSWER_SHOWN]) + "…"


def _blank(f: Field, value: Any) -> bool:
    """Nothing given: a ticket references box left empty is stored as no refs, not "none"."""
    if f.kind == Kind.REFS and isinstance(value, dict):
        return not value.get("refs") and not str(value.get("raw", "")).strip()
    return value in (None, "", [])


def _answers_summary(the_step: Step, values: dict[str, Any], org: OrgConfig) -> str:
    """A step's answers, one line each: "Label: value"; those answered "unknown" on one line
    ("Not known yet: …"); blank ones are left out (they are in the gaps above)."""
    lines, unknown = [f"*{escape(the_step.title)}*"], []
    for f in the_step.fields:
        value = values.get(f.id)
        if field_value(f, value) == 0.5:  # "unknown", said on purpose
            unknown.append(in_sentence(f.label))
        elif not _blank(f, value):
            lines.append(f"{escape(f.label)}: {_shown(f, value, org)}")
    if unknown:
        lines.append(f"Not known yet: {escape(', '.join(unknown))}")
    if len(lines) == 1:
        lines.append("_Nothing given yet._")
    return "\n".join(lines)


def _review_summary(review: Review, values: dict[str, Any], org: OrgConfig) -> list:
    q, p = review.quality, review.proposal
    dot = BAND_DOT[q.band]
    lines = [
        f"*Proposed priority: {p.priority}*: {escape(p.explanation)}.",
        f"*Handover quality: {dot} {q.score} %* ({q.band}).",
    ]
    if q.gaps:
        names = ", ".join(f"{in_sentence(g.label)} ({g.answer})" for g in q.gaps[:12])
        more = f" and {len(q.gaps) - 12} more" if len(q.gaps) > 12 else ""
        lines.append(f"Gaps: {escape(names)}{more}.")
        lines.append(
            "Hand over now: the incident manager fills the rest. Nothing is sent back to you."
        )
    answered = [s for s in STEPS if s.id != "review"]
    return [
        _section("\n".join(lines)),
        DividerBlock(),
        _section(f"*Your answers.* {NO_WAY_BACK}"),
        *(_section(_answers_summary(s, values, org)) for s in answered),
        DividerBlock(),
    ]


def step_view(
    the_step: Step,
    draft_id: int,
    values: dict[str, Any],
    org: OrgConfig,
    review: Review | None = None,
    notice: str = "",
) -> dict:
    """The modal for one checklist step, filled with the draft's values."""
    number = STEP_IDS.index(the_step.id) + 1
    last = number == len(STEP_IDS)
    header = (
        f"*Step {number} of {len(STEP_IDS)}: {the_step.title}.* "
        "Saved at every step: close this and `/major-incident resume` brings it back."
    )
    blocks: list = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": header, "verbatim": True}]}
    ]
    if notice:  # plain words, which may quote what was typed (a bad ticket reference)
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=truncate(f":warning: {escape(notice)}"), verbatim=True)
            )
        )
    if review is not None:
        blocks.extend(_review_summary(review, values, org))
    for f in the_step.fields:
        value = values.get(f.id)
        if f.kind == Kind.PRIORITY and value is None and review is not None:
            value = {"value": review.proposal.priority, "reason": ""}
        blocks.extend(field_blocks(f, value, org))
    # Put together as a dict: View(...) would parse and validate the field blocks again.
    return {
        "type": "modal",
        "callback_id": Callback.HANDOVER_STEP,
        "title": _plain(f"Major incident {number}/{len(STEP_IDS)}"),
        "submit": _plain("Hand over" if last else "Next"),
        "close": _plain("Save and close"),
        "notify_on_close": True,
        "private_metadata": Metadata(draft=draft_id, step=the_step.id).dumps(),
        "blocks": [b if isinstance(b, dict) else b.to_dict() for b in blocks],
    }


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text, "emoji": True}


def draft_view(draft: Draft, org: OrgConfig) -> dict:
    """The modal at the step where the draft was left (the review shows the score and gaps)."""
    review = Handovers.review(draft.answers) if draft.step == "review" else None
    return step_view(step(draft.step), draft.id, draft.answers, org, review=review)


def _element(state_values: dict[str, Any], bid: str) -> dict:
    return (state_values.get(bid) or {}).get(ACTION) or {}


def _selected(el: dict) -> list[str]:
    return [o.get("value") for o in el.get("selected_options") or []]


def _selected_one(el: dict) -> Any:
    return (el.get("selected_option") or {}).get("value")


def _read_text(f: Field, state_values: dict[str, Any]) -> Any:
    return _element(state_values, block_id(f.id)).get("value") or ""


def _read_choice(f: Field, state_values: dict[str, Any]) -> Any:
    return _selected_one(_element(state_values, block_id(f.id)))


def _read_multi(f: Field, state_values: dict[str, Any]) -> Any:
    return _selected(_element(state_values, block_id(f.id)))


def _read_datetime(f: Field, state_values: dict[str, Any]) -> Any:
    stamp = _element(state_values, block_id(f.id)).get("selected_date_time")
    return {
        "at": datetime.fromtimestamp(int(stamp), UTC) if stamp else None,
        "flags": _selected(_element(state_values, block_id(f.id, "flags"))),
    }


def _read_tristate(f: Field, state_values: dict[str, Any]) -> Any:
    return {
        "answer": _selected_one(_element(state_values, block_id(f.id))),
        "detail": _element(state_values, block_id(f.id, "detail")).get("value") or "",
    }


def _read_priority(f: Field, state_values: dict[str, Any]) -> Any:
    return {
        "value": _selected_one(_element(state_values, block_id(f.id))),
        "reason": _element(state_values, block_id(f.id, "reason")).get("value") or "",
    }


_READERS: dict[Kind, Callable[[Field, dict[str, Any]], Any]] = {
    Kind.TEXT: _read_text,
    Kind.LONG_TEXT: _read_text,
    Kind.REFS: _read_text,
    Kind.CHOICE: _read_choice,
    Kind.MULTI: _read_multi,
    Kind.DATETIME: _read_datetime,
    Kind.TRISTATE: _read_tristate,
    Kind.PRIORITY: _read_priority,
}


def _sent(f: Field, state_values: dict[str, Any]) -> bool:
    """Whether the view's state has any block of `f` at all."""
    parts = ("", *PARTS.get(f.kind, ()))
    return any(block_id(f.id, part) in state_values for part in parts)


def read_state(the_step: Step, state_values: Any) -> dict[str, Any]:
    """The raw answers of one step from a view's `state.values` (see answers.parse).

    Only the fields whose blocks are in the state: an absent block means "not sent", never
    "cleared". Slack sends every input block on submission (empty ones with a null value),
    but a view_closed may come with no state at all: nothing saved may be wiped by it.
    """
    if not isinstance(state_values, dict):
        return {}
    return {
        f.id: _READERS[f.kind](f, state_values) for f in the_step.fields if _sent(f, state_values)
    }


def error_blocks(errors: dict[str, str]) -> dict[str, str]:
    """`response_action: errors` keyed by the block that shows each field. A message may
    quote what was typed (a bad ticket reference), so it is cut to Slack's limit."""
    return {block_id(f): truncate(message, ERROR_LIMIT) for f, message in errors.items()}


def confirmation_view(reference: str, channel: str, first_phase: str) -> dict:
    # Not "the managers have it": the card is on its way, and Slack may refuse it. The agent
    # is told by direct message the moment it is posted, or what to do if it cannot be.
    text = (
        f"*Handing over as {reference}.* Baton is posting it to the incident managers in "
        f"<#{channel}> now, and the {first_phase} clock of the first phase has started.\n\n"
        "You will get a direct message the moment they have it (or, if Slack refuses, what "
        "to do instead), and another when a manager accepts it. They may call you if a "
        "phone number was given. Keep taking calls and note anything new in the ticket."
    )
    return View(
        type="modal",
        title="Handed over",
        close="Done",
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    ).to_dict()
