"""What every sender of outbox rows shares (bot/slack/delivery.py, incident_channel.py): which
Slack errors are worth trying again, and the two ways a row is not sent now."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

# Slack errors worth trying again; anything else will not get better by retrying.
RETRYABLE = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
}


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code, or the HTTP status when the answer had none."""
    return str(exc.response.get("error") or exc.response.status_code)


def retryable(exc: SlackApiError) -> bool:
    return slack_error(exc) in RETRYABLE or exc.response.status_code >= 500


class NotReady(Exception):
    """The message is about something not in Slack yet (a card, an incident channel)."""


class Undeliverable(Exception):
    """Nobody to deliver it to (a user group with no members): trying again changes nothing."""

    def __init__(self, error: str):
        super().__init__(error)
        self.error = error
