"""Every action and callback id Baton puts on a Slack surface, in one place: a listener and
the view that carries its button or modal cannot disagree on a spelling.

The values are part of every card and draft already posted: changing one orphans the buttons
on old messages (Baton then acknowledges their clicks and does nothing)."""

from enum import StrEnum

# Every input's action id: a view's state is read by block id, one element per block.
ACTION = "v"
COMMAND = "/major-incident"
# The Engage form's menu: a type-ahead one over 100 groups asks for options by this block id.
ENGAGE_GROUPS = "groups"


class Callback(StrEnum):
    """Modals (view_submission / view_closed)."""

    HANDOVER_STEP = "handover_step"
    ENGAGE = "incident_engage"
    HAND_ON = "incident_hand_on"
    STAND_DOWN = "incident_stand_down"
    RESOLVE = "incident_resolve"
    GAP_PICK = "incident_gap_pick"
    GAP_FILL = "incident_gap_fill"
    NOTICE_EDIT = "notice_edit_modal"
    DRAFT_UPDATE = "incident_draft_update_modal"
    CHANGE_PRIORITY = "incident_change_priority"
    ENGAGE_AND_SEND = "incident_engage_and_send"


class Action(StrEnum):
    """Buttons (block_actions)."""

    ACCEPT = "incident_accept"
    ENGAGE = "incident_engage"
    DRAFT_UPDATE = "incident_draft_update"
    SUMMARY = "incident_summary"
    FILL_GAP = "incident_fill_gap"
    HAND_ON = "incident_hand_on"
    STAND_DOWN = "incident_stand_down"
    RESOLVE = "incident_resolve"
    CLOSE = "incident_close"
    CHANGE_PRIORITY = "incident_change_priority"
    MORE = "incident_more"  # the card's overflow menu (bot/slack/overflow.py)
    NOTICE_SEND = "notice_send"
    SEND_INITIAL = "incident_send_initial"  # the current initial draft, from a chasing line
    NOTICE_SEND_BROAD = "notice_send_broad"  # only behind a confirmation dialog
    NOTICE_EDIT = "notice_edit"
    HOME_RESUME = "home_resume"
