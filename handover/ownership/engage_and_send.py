"""Engage & send: two of the first phase's objectives in one submission (docs/domain.md, "The
first 15 minutes"): the resolver groups engaged, and the initial notice, as the owner edited
it, published. Accept, then this: all three objectives in two clicks."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from handover.checklist.definition import Rendering
from handover.comms.notices import Notices, destination, security_suspected
from handover.outcomes import Outcome, Refusal
from handover.ownership.controls import Control
from handover.ownership.incidents import Incidents


class Part(StrEnum):
    """Which part of the submission an answer is about (where the form shows a refusal)."""

    GROUPS = "groups"
    NOTICE = "notice"
    CONFIRM = "confirm"


@dataclass(frozen=True)
class NoticeAsEdited:
    notice_id: int
    subject: str  # plain text, as the owner left it in the form
    body: str
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
        notice: NoticeAsEdited | None,
        *,
        escape: Callable[[str], str],
        target: Rendering,
    ) -> tuple[Outcome, Part]:
        """Engage `groups` (those not engaged yet), save the notice's edits, publish it. A
        breach held back is refused before anything is done, so the form can keep its answers
        and nothing is left half done."""
        allowed = self.incidents.check_owner(incident_id, user, Control.ENGAGE)
        if not allowed.ok or allowed.incident is None:
            return allowed, Part.GROUPS
        incident = allowed.incident
        channel = ""
        if notice is not None:
            channel = destination(incident, self.notices.settings, notice.broad_confirmed)
            broad = channel == self.notices.settings.stakeholder_channel
            if security_suspected(incident) and broad and not notice.broad_confirmed:
                return Outcome(False, incident, Refusal.NEEDS_CONFIRMATION), Part.CONFIRM
        if set(groups) - set(incident.trgs) or not incident.trgs:
            engaged = self.incidents.engage(incident_id, user, groups)
            if not engaged.ok:
                return engaged, Part.GROUPS
        if notice is None:
            return allowed, Part.GROUPS
        return self._send(notice, user, channel, escape, target), Part.NOTICE

    def _send(
        self,
        notice: NoticeAsEdited,
        user: str,
        channel: str,
        escape: Callable[[str], str],
        target: Rendering,
    ) -> Outcome:
        found = self.notices.get(notice.notice_id)
        if found is None:
            return Outcome(False, refusal=Refusal.NOT_FOUND)
        current, _ = found
        as_drafted = (html.unescape(current.subject), current.body_plain.strip())
        if (" ".join(notice.subject.split()), notice.body.strip()) != as_drafted:
            edited = self.notices.edit(current.id, user, notice.subject, notice.body, escape)
            if not edited.ok:
                return edited
        return self.notices.send(
            current.id, user, channel, confirmed=notice.broad_confirmed, target=target
        )
