"""Slack's Block Kit limits, checked on everything Baton sends (the fake Slack and SlackSender
call these for every message, view and modal answer, in every test).

Slack rejects a payload over these limits (invalid_blocks), so a message over them is lost.
Figures and rules from Slack's Block Kit reference: the lengths below; the text objects that
must be `plain_text` (headers, buttons, input labels and hints, placeholders, the options of
select menus and overflows, modal titles and buttons, confirmation dialogs); an
`initial_option(s)` that is one of the element's `options`; `block_id`s unique in a message or
view, `action_id`s unique in a block.
"""

from __future__ import annotations

import json
from typing import Any

MESSAGE_BLOCKS = 50
MODAL_BLOCKS = 100
MESSAGE_TEXT = 4000  # a message's top-level `text` (Slack cuts longer ones)
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
MODAL_TITLE = 24
MODAL_BUTTON = 24
PRIVATE_METADATA = 3000
INLINE_ERROR = 2000
INPUT_LABEL = 2000
HINT = 2000
PLACEHOLDER = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTIONS = 100
OVERFLOW_OPTIONS = (2, 5)  # an overflow menu holds two to five options
INPUT_MAX_LENGTH = 3000
BLOCK_ID = 255


def _text(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else str(obj or "")


def _over(problems: list[str], where: str, value: str, limit: int) -> None:
    if len(value) > limit:
        problems.append(f"{where}: {len(value)} characters (limit {limit})")


# Elements whose options Slack shows as plain text only (checkboxes and radio buttons may
# use mrkdwn).
PLAIN_OPTIONS = ("static_select", "multi_static_select", "overflow")
SINGLE_CHOICE = ("static_select", "radio_buttons")
MULTIPLE_CHOICE = ("multi_static_select", "checkboxes")


def _plain(problems: list[str], where: str, obj: Any) -> None:
    """`obj`, when given, must be a `plain_text` text object: Slack refuses anything else."""
    if obj is None:
        return
    kind = obj.get("type") if isinstance(obj, dict) else type(obj).__name__
    if kind != "plain_text":
        problems.append(f"{where}: must be a plain_text object (is {kind})")


def _same_option(a: Any, b: Any) -> bool:
    return (
        isinstance(a, dict)
        and isinstance(b, dict)
        and a.get("value") == b.get("value")
        and _text(a.get("text")) == _text(b.get("text"))
    )


def _confirm(confirm: Any, where: str, problems: list[str]) -> None:
    if isinstance(confirm, dict):
        for part in ("title", "confirm", "deny"):
            _plain(problems, f"{where} confirm {part}", confirm.get(part))


def _element(el: dict, where: str, problems: list[str]) -> None:
    kind = el.get("type")
    if kind == "button":
        _over(problems, f"{where} button text", _text(el.get("text")), BUTTON_TEXT)
        _plain(problems, f"{where} button text", el.get("text"))
        _over(problems, f"{where} button value", el.get("value") or "", BUTTON_VALUE)
    if "placeholder" in el:
        _over(problems, f"{where} placeholder", _text(el["placeholder"]), PLACEHOLDER)
        _plain(problems, f"{where} placeholder", el["placeholder"])
    _confirm(el.get("confirm"), where, problems)
    options = list(el.get("options") or [])
    for group in el.get("option_groups") or []:
        _plain(problems, f"{where} option group label", group.get("label"))
        options += group.get("options") or []
    if len(options) > OPTIONS:
        problems.append(f"{where}: {len(options)} options (limit {OPTIONS})")
    low, high = OVERFLOW_OPTIONS
    if kind == "overflow" and not low <= len(options) <= high:
        problems.append(f"{where}: overflow of {len(options)} options ({low} to {high})")
    for option in options:
        _over(problems, f"{where} option text", _text(option.get("text")), OPTION_TEXT)
        _over(problems, f"{where} option value", option.get("value", ""), OPTION_VALUE)
        if kind in PLAIN_OPTIONS:
            _plain(problems, f"{where} option text", option.get("text"))
    initial = []
    if kind in SINGLE_CHOICE and el.get("initial_option") is not None:
        initial = [el["initial_option"]]
    elif kind in MULTIPLE_CHOICE:
        initial = list(el.get("initial_options") or [])
    for chosen in initial:
        if not any(_same_option(chosen, option) for option in options):
            shown = chosen.get("value") if isinstance(chosen, dict) else chosen
            problems.append(f"{where}: initial option {shown!r} is not one of its options")
    if kind == "plain_text_input":
        limit = min(el.get("max_length") or INPUT_MAX_LENGTH, INPUT_MAX_LENGTH)
        _over(problems, f"{where} initial_value", el.get("initial_value") or "", limit)


def blocks_problems(blocks: list[dict], limit: int, where: str) -> list[str]:
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"{where}: {len(blocks)} blocks (limit {limit})")
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        at = f"{where} block {i} ({block.get('type')})"
        block_id = block.get("block_id") or ""
        _over(problems, f"{at} block_id", block_id, BLOCK_ID)
        if block_id and block_id in seen:
            problems.append(f"{at}: block_id {block_id!r} is used twice")
        seen.add(block_id)
        elements = [block.get("accessory"), block.get("element"), *(block.get("elements") or [])]
        action_ids = [el.get("action_id") for el in elements if isinstance(el, dict)]
        for action_id in {a for a in action_ids if a and action_ids.count(a) > 1}:
            problems.append(f"{at}: action_id {action_id!r} is used twice in the block")
        kind = block.get("type")
        if kind == "section":
            if block.get("text"):
                _over(problems, f"{at} text", _text(block["text"]), SECTION_TEXT)
            fields = block.get("fields") or []
            if len(fields) > SECTION_FIELDS:
                problems.append(f"{at}: {len(fields)} fields (limit {SECTION_FIELDS})")
            for field in fields:
                _over(problems, f"{at} field", _text(field), FIELD_TEXT)
            if block.get("accessory"):
                _element(block["accessory"], at, problems)
        elif kind == "header":
            _over(problems, f"{at} text", _text(block.get("text")), HEADER_TEXT)
            _plain(problems, f"{at} text", block.get("text"))
        elif kind == "context":
            elements = block.get("elements") or []
            if len(elements) > CONTEXT_ELEMENTS:
                problems.append(f"{at}: {len(elements)} elements (limit {CONTEXT_ELEMENTS})")
            for el in elements:
                _over(problems, f"{at} element", _text(el), SECTION_TEXT)
        elif kind == "actions":
            elements = block.get("elements") or []
            if len(elements) > ACTIONS_ELEMENTS:
                problems.append(f"{at}: {len(elements)} elements (limit {ACTIONS_ELEMENTS})")
            for el in elements:
                _element(el, at, problems)
        elif kind == "input":
            _over(problems, f"{at} label", _text(block.get("label")), INPUT_LABEL)
            _plain(problems, f"{at} label", block.get("label"))
            _over(problems, f"{at} hint", _text(block.get("hint")), HINT)
            _plain(problems, f"{at} hint", block.get("hint"))
            _element(block.get("element") or {}, at, problems)
    return problems


def _decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def message_problems(args: dict) -> list[str]:
    """chat.postMessage / chat.update / chat.postEphemeral / a response_url post."""
    problems: list[str] = []
    _over(problems, "message text", str(args.get("text") or ""), MESSAGE_TEXT)
    blocks = _decoded(args.get("blocks")) or []
    return problems + blocks_problems(blocks, MESSAGE_BLOCKS, "message")


def message_warnings(args: dict) -> list[str]:
    """What Slack accepts but should not get: blocks without a `text` fallback, so that
    notifications and screen readers show nothing (chat.postMessage, chat.update)."""
    if _decoded(args.get("blocks")) and not str(args.get("text") or "").strip():
        return ["blocks without a text fallback"]
    return []


def view_problems(view: Any) -> list[str]:
    """views.open / push / update / publish, and a `response_action: update|push` view."""
    view = _decoded(view) or {}
    problems: list[str] = []
    if view.get("type") == "home":  # App Home: no title or buttons, 100 blocks
        return blocks_problems(view.get("blocks") or [], MODAL_BLOCKS, "home tab")
    title = _text(view.get("title"))
    if not 1 <= len(title) <= MODAL_TITLE:
        problems.append(f"modal title: {len(title)} characters (1 to {MODAL_TITLE})")
    _plain(problems, "modal title", view.get("title"))
    for button in ("submit", "close"):
        _over(problems, f"modal {button}", _text(view.get(button)), MODAL_BUTTON)
        _plain(problems, f"modal {button}", view.get(button))
    _over(problems, "private_metadata", view.get("private_metadata") or "", PRIVATE_METADATA)
    return problems + blocks_problems(view.get("blocks") or [], MODAL_BLOCKS, "modal")


def answer_problems(body: str) -> list[str]:
    """The HTTP answer to a request from Slack: an ack's text, a modal's response_action."""
    if not body.startswith("{"):
        return message_problems({"text": body})
    answer = json.loads(body)
    action = answer.get("response_action")
    if action in ("update", "push"):
        return view_problems(answer.get("view"))
    if action == "errors":
        problems: list[str] = []
        for block, message in (answer.get("errors") or {}).items():
            _over(problems, f"inline error on {block}", message, INLINE_ERROR)
        return problems
    return message_problems(answer)
