"""What a service call on an incident comes back with: done, or refused and why.

Inside the domain a refusal is raised (`Refused`), where it is decided; the service's public
methods turn it into an `Outcome` (`answers_refusals`), which is what front ends read. The unit
of work commits on a refusal (handover/store/db.py): the refused attempt it recorded is kept.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Concatenate, ParamSpec, TypeVar

from handover.models import Incident


class Refusal(StrEnum):
    """Why an action was refused; the front end words it."""

    NOT_FOUND = "not_found"
    NOT_OWNER = "not_owner"
    NOT_ACTIVE = "not_active"
    ALREADY_OWNED = "already_owned"
    NOT_RESOLVED = "not_resolved"
    NOT_ALLOWED = "not_allowed"  # by configuration (who may accept)
    INVALID = "invalid"  # the message says what is wrong
    NEEDS_CONFIRMATION = "needs_confirmation"  # broad comms while a breach is suspected
    SUPERSEDED = "superseded"  # a newer draft of the notice exists
    STALE = "stale"  # an edited draft promises a next update already past


@dataclass
class Outcome:
    ok: bool
    incident: Incident | None = None
    refusal: Refusal | None = None
    message: str = ""  # for INVALID: what is wrong, in words
    again: bool = False  # done before (a double click, Slack's retry): nothing happened now


class Answered(Exception):
    """The action ends here with this outcome (raised deep, answered at the service's edge)."""

    def __init__(self, outcome: Outcome):
        super().__init__(outcome.refusal or "done")
        self.outcome = outcome


class Refused(Answered):
    def __init__(self, refusal: Refusal, incident: Incident | None = None, message: str = ""):
        super().__init__(Outcome(False, incident, refusal, message))


class AlreadyDone(Answered):
    """The action happened before (a double click, Slack's retry): a success, no second effect."""

    def __init__(self, incident: Incident):
        super().__init__(Outcome(True, incident, again=True))


def invalid(message: str, incident: Incident | None = None) -> Refused:
    return Refused(Refusal.INVALID, incident, message)


P = ParamSpec("P")
S = TypeVar("S")


def answers_refusals(
    method: Callable[Concatenate[S, P], Outcome],
) -> Callable[Concatenate[S, P], Outcome]:
    """A service method's edge: a refusal raised inside it becomes its Outcome."""

    @functools.wraps(method)
    def run(self: S, *args: P.args, **kwargs: P.kwargs) -> Outcome:
        try:
            return method(self, *args, **kwargs)
        except Answered as answered:
            return answered.outcome

    return run
