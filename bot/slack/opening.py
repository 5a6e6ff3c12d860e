"""Opening a modal from a button or the command (views.open), for every listener that does.

A trigger_id lives 3 seconds and Slack sometimes fails: then no form opens, and without a word
the person who pressed the button would see nothing at all. They are told instead, privately
and in plain words, and the failure is counted in `baton_slack_api_errors_total`.
"""

from __future__ import annotations

import logging
import urllib.error
from collections.abc import Callable

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.errors import Failures

log = logging.getLogger(__name__)

TOO_SLOW = "Slack took too long to open the form; press the button again."
COULD_NOT = "Slack could not open the form just now; press the button again."


def press_again(error: str) -> str:
    """What to tell someone whose form did not open, by Slack's error."""
    return TOO_SLOW if error == "expired_trigger_id" else COULD_NOT


def open_form(
    client: WebClient,
    failures: Failures,
    body: dict,
    view: dict,
    respond: Respond | None,
    *,
    words: Callable[[str], str] = press_again,
    elsewhere: Callable[[str], None] | None = None,
) -> bool:
    """Open `view` with the trigger_id of `body` (a click or a command). When Slack does not
    open it, say so to the person through the request's response_url, ephemerally; a request
    without one (a button on the App Home tab) is answered by `elsewhere`. False when no form
    opened."""
    try:
        client.views_open(trigger_id=body["trigger_id"], view=view)
        return True
    except SlackApiError as exc:
        error = str(exc.response.get("error") or exc.response.status_code)
        failure: Exception = exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        error, failure = type(exc).__name__, exc
    failures.metrics.slack_errors.labels(error).inc()
    log.warning("views.open failed: %s", error, exc_info=failure)
    text = words(error)
    if respond is not None and (body.get("response_url") or body.get("response_urls")):
        respond(text=text, response_type="ephemeral", replace_original=False)
    elif elsewhere is not None:
        elsewhere(text)
    return False
