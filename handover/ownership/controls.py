"""Which controls an incident offers in which state: decided here, once. The card shows these
and nothing else, and the service refuses an owner's action outside them (incidents.py)."""

from enum import StrEnum

from handover.models import Incident
from handover.vocabulary import IncidentStatus


class Control(StrEnum):
    """What someone can do to an incident from its card (a notice's Send and Edit are the
    notice's own, handover/comms/notices.py)."""

    ACCEPT = "accept"
    ENGAGE = "engage"
    DRAFT_UPDATE = "draft_update"
    SUMMARY = "summary"
    FILL_GAP = "fill_gap"
    HAND_ON = "hand_on"
    STAND_DOWN = "stand_down"
    RESOLVE = "resolve"
    CLOSE = "close"
    CHANGE_PRIORITY = "change_priority"


# In the order the card shows them. There is no "send back to the agent", by design
# (docs/domain.md: never kick a handover back).
OFFERED: dict[IncidentStatus, tuple[Control, ...]] = {
    IncidentStatus.HANDED_OVER: (Control.ACCEPT,),
    IncidentStatus.ACCEPTED: (
        Control.ENGAGE,
        Control.DRAFT_UPDATE,
        Control.SUMMARY,
        Control.FILL_GAP,
        Control.CHANGE_PRIORITY,
        Control.HAND_ON,
        Control.STAND_DOWN,
        Control.RESOLVE,
    ),
    IncidentStatus.RESOLVED: (Control.FILL_GAP, Control.CLOSE),
}


def offered(status: str) -> tuple[Control, ...]:
    return OFFERED.get(IncidentStatus(status), ())


def statuses_for(control: Control) -> tuple[IncidentStatus, ...]:
    """The states in which `control` is on offer."""
    return tuple(status for status, controls in OFFERED.items() if control in controls)


def next_control(incident: Incident) -> Control | None:
    """The control that meets the next open objective (the card's primary button): accept,
    then engage and send the initial notice, then keep the updates coming; once resolved,
    close. Resolve is never it in the first phase: the objectives come first."""
    status = IncidentStatus(incident.status)
    if status == IncidentStatus.HANDED_OVER:
        return Control.ACCEPT
    if status == IncidentStatus.ACCEPTED:
        if incident.trgs_engaged_at is None or incident.initial_comms_at is None:
            return Control.ENGAGE
        return Control.DRAFT_UPDATE
    if status == IncidentStatus.RESOLVED:
        return Control.CLOSE
    return None
