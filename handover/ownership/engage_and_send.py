"""Engage & send: two of the first phase's objectives in one submission (docs/domain.md, "The
first 15 minutes"): the resolver groups engaged, and the initial notice, as the owner edited
it, published. Accept, then this: all three objectives in two clicks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from handover.checklist.definition import Rendering
from handover.comms.notices import Notices, destination, security_suspected
from handover.outcomes import Outcome, Refusal
from handover.ownership.controls import Control
from handover.ownership.incidents import Incidents
from handover.vocabulary import NoticeKind


class Part(StrEnum):
    """Which part of the submission an answer is about (where the form shows a refusal)."""

    GROUPS = "groups"
    NOTICE = "notice"
    CONFIRM = "confirm"


@dataclass(frozen=True)
class NoticeAsEdited:
    subject: str  # plain text, as the owner left it in the form
    body: str
    edited: bool  # not what the form showed
    broad_confirmed: bool  # "send to all stakeholders" although a breach is suspected


@dataclass(frozen=True)
class EngageAndSend:
    incidents: Incidents
    notices: Notices

    def __call__(
        self,
        incident_id: int,
        user: str,
        groups: list[str],
        notice: NoticeAsEdited,
        *,
        escape: Callable[[str], str],
        target: Rendering,
    ) -> tuple[Outcome, Part]:
        """Publish the initial notice (the current draft, with the owner's edits), then
        engage `groups`. Whatever can refuse is asked first, so a refusal leaves nothing half
        done and the form, with its answers kept, can be submitted again."""
        allowed = self.incidents.check_owner(incident_id, user, Control.ENGAGE)
        if not allowed.ok or allowed.incident is None:
            return allowed, Part.GROUPS
        incident = allowed.incident
        settings = self.notices.settings
        if not incident.trgs and not set(groups) & set(settings.org.resolver_groups):
            return self.incidents.engage(incident_id, user, []), Part.GROUPS  # says why
        channel = destination(incident, settings, notice.broad_confirmed)
        broad = channel == settings.stakeholder_channel
        if security_suspected(incident) and broad and not notice.broad_confirmed:
            return Outcome(False, incident, Refusal.NEEDS_CONFIRMATION), Part.CONFIRM
        # A newer draft (the priority changed meanwhile) is the one to send; none is left
        # when the notice went out from the thread meanwhile.
        draft = self.notices.current_draft(incident_id, NoticeKind.INITIAL)
        if draft is not None:
            if notice.edited:
                edited = self.notices.edit(draft.id, user, notice.subject, notice.body, escape)
                if not edited.ok:
                    return edited, Part.NOTICE
            sent = self.notices.send(
                draft.id, user, channel, confirmed=notice.broad_confirmed, target=target
            )
            if not sent.ok:
                return sent, Part.NOTICE
        # All engaged already is a repeat, not a refusal: the outcome says done.
        return self.incidents.engage(incident_id, user, groups), Part.GROUPS
