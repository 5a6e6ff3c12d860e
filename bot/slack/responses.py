"""Answers to a person in Slack: ephemeral replies, inline modal errors, refusals in words."""

from __future__ import annotations

from slack_bolt import Ack, Respond

from handover.outcomes import Outcome, Refusal
from handover.vocabulary import IncidentStatus


def value_of(body: dict) -> int:
    """The id a button carries (an incident's or a notice's)."""
    return int(body["actions"][0]["value"])


def ephemeral(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def answer(respond: Respond, outcome: Outcome, action: str) -> None:
    """Say nothing when it worked (the card and thread show it); say why when refused."""
    if not outcome.ok:
        ephemeral(respond, refusal_text(outcome, action))


def refusal_text(outcome: Outcome, action: str) -> str:
    incident = outcome.incident
    ref = incident.reference if incident else "This incident"
    if outcome.refusal == Refusal.NOT_FOUND:
        return "That incident no longer exists."
    if outcome.refusal == Refusal.ALREADY_OWNED:
        return (
            f"*{ref}* is already owned by <@{incident.owner_id}>. Ask them to hand it on "
            "if you should take it."
        )
    if outcome.refusal == Refusal.NOT_OWNER:
        if incident.owner_id is None:
            return f"Only the owner can {action}, and *{ref}* has none yet: accept it first."
        return (
            f"Only the owner of *{ref}*, <@{incident.owner_id}>, can {action}. Ask them to "
            "hand it on to you if you should take over."
        )
    if outcome.refusal == Refusal.NOT_ACTIVE:
        return f"*{ref}* is {IncidentStatus(incident.status).words}: nothing more to {action}."
    if outcome.refusal == Refusal.NOT_RESOLVED:
        return f"*{ref}* must be resolved before it can be closed."
    if outcome.refusal == Refusal.NEEDS_CONFIRMATION:
        return (
            f"A security or data breach is suspected in *{ref}*: broad comms are held back. "
            "Use *Send to all stakeholders…* and confirm, if you are sure."
        )
    if outcome.refusal == Refusal.SUPERSEDED:
        return "A newer draft of this notice exists in the thread: check and send that one."
    if outcome.refusal == Refusal.STALE:
        return (
            "The next-update time in this edited draft has passed: edit it again or draft "
            "a new one."
        )
    return outcome.message


def finish(ack: Ack, outcome: Outcome, block: str, action: str) -> None:
    """Close the modal when done; otherwise say why, inline, and keep what was typed."""
    if outcome.ok:
        ack()
    else:
        ack(response_action="errors", errors={block: refusal_text(outcome, action)[:2000]})
