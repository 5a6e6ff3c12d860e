"""What every listener module's `register(app, deps)` is given: the settings, the domain's
services, who may accept, and the failure handling."""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack.errors import Failures
from bot.slack.permissions import AcceptPolicy
from handover.comms.notices import Notices
from handover.handovers import Handovers
from handover.ownership.incidents import Incidents
from handover.settings import Settings


@dataclass
class Services:
    handovers: Handovers
    incidents: Incidents
    notices: Notices


@dataclass(frozen=True)
class Deps:
    settings: Settings
    services: Services
    policy: AcceptPolicy
    failures: Failures

    @property
    def handovers(self) -> Handovers:
        return self.services.handovers

    @property
    def incidents(self) -> Incidents:
        return self.services.incidents

    @property
    def notices(self) -> Notices:
        return self.services.notices
