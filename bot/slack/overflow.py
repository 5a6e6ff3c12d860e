"""The "more" menu (an overflow) beside a message's buttons: each option stands for a button.

Slack sends one action id for the whole menu and the chosen option's value. The option's value
carries the button's action id and the id it acts on, and `unfold` (a global middleware) turns
the choice back into that button's click before any listener sees it: every control has one
listener, however it is shown.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk.models.blocks import OverflowMenuElement
from slack_sdk.models.blocks.basic_components import Option

from bot.slack.ids import Action

SEPARATOR = ":"
# What the menu may stand for: the card's controls that need no confirmation dialog (a menu has
# one for all its options, and a forged choice must not skip a button's confirmation).
IN_MENU = frozenset(
    {
        Action.ENGAGE,
        Action.DRAFT_UPDATE,
        Action.SUMMARY,
        Action.FILL_GAP,
        Action.CHANGE_PRIORITY,
        Action.HAND_ON,
        Action.STAND_DOWN,
        Action.RESOLVE,
    }
)


def overflow(choices: list[tuple[str, Action]], row_id: int) -> OverflowMenuElement:
    """A menu of (label, action) choices, each acting on `row_id` as its button would."""
    if not {action for _, action in choices} <= IN_MENU:
        raise ValueError("only controls without a confirmation dialog go in the menu")
    return OverflowMenuElement(
        action_id=Action.MORE,
        options=[
            Option(label=label, value=f"{action}{SEPARATOR}{row_id}") for label, action in choices
        ],
    )


def unfold(body: dict, next: Callable[[], None]) -> None:
    """A choice from the menu reaches the listeners as a click on its button."""
    actions = body.get("actions") or []
    chosen = actions[0] if body.get("type") == "block_actions" and actions else {}
    if chosen.get("action_id") == Action.MORE:
        value = (chosen.get("selected_option") or {}).get("value") or ""
        action, _, row_id = value.partition(SEPARATOR)
        if action in IN_MENU and row_id.isdigit():
            actions[0] = {**chosen, "type": "button", "action_id": action, "value": row_id}
    next()
