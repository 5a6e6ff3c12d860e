"""Acting as Slack towards Baton: requests signed exactly as Slack signs them, and a person
filling in modals (the view state Slack would send, built from the view Baton showed)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from tests.slack_limits import answer_problems

_triggers = itertools.count(1)


def new_trigger_id(issued: float | None = None) -> str:
    """A trigger_id as Slack issues one with an interaction (`12345.98765.abcd2358fdea`),
    its middle part the time of issue in milliseconds: the fake Slack exchanges it for one
    view within 3 seconds of that time, as Slack does."""
    at = time.time() if issued is None else issued
    return f"{next(_triggers)}.{int(at * 1000)}.{secrets.token_hex(6)}"


@dataclass
class Reply:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def text(self) -> str:
        """A slash command's immediate answer: bolt sends plain text, or JSON with blocks."""
        return self.json()["text"] if self.body.startswith("{") else self.body


def sign(secret: str, timestamp: str, body: str | bytes) -> str:
    raw = body.encode() if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackUser:
    """What Slack sends Baton when a person acts: commands, modal submissions, clicks.
    Subclasses carry the payloads, over HTTP (SlackSender) or Socket Mode (SocketSender)."""

    response_url = ""
    last_trigger = ""  # the trigger_id of the latest command or click

    def send_command(self, fields: dict[str, str], **kw) -> Reply:
        raise NotImplementedError

    def interaction(self, payload: dict, **kw) -> Reply:
        raise NotImplementedError

    def command(self, user: str, text: str = "", channel: str = "C0AGENTS01", **kw) -> Reply:
        return self.send_command(self.command_fields(user, text, channel), **kw)

    def command_fields(self, user: str, text: str = "", channel: str = "C0AGENTS01") -> dict:
        self.last_trigger = new_trigger_id()
        return {
            "token": "legacy-unused",
            "team_id": "T0000TEAM1",
            "team_domain": "example",
            "channel_id": channel,
            "channel_name": "service-desk",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/major-incident",
            "text": text,
            "api_app_id": "A0000BATON",
            "response_url": self.response_url,
            "trigger_id": self.last_trigger,
        }

    def submit_view(self, user: str, view: dict, state: dict, **kw) -> Reply:
        return self.interaction(view_payload(user, view, state), **kw)

    def close_view(self, user: str, view: dict, state: dict) -> Reply:
        return self.interaction(view_payload(user, view, state, "view_closed"))

    def click(self, user: str, message: dict, action_id: str, channel: str, **kw) -> Reply:
        return self.interaction(self.click_payload(user, message, action_id, channel), **kw)

    def click_payload(self, user: str, message: dict, action_id: str, channel: str) -> dict:
        """A click on the button `action_id`, or, when it sits in a "more" menu (an overflow),
        the choice of its option: what Slack sends for each."""
        button = _find_element(message["blocks"], action_id)
        self.last_trigger = new_trigger_id()
        if button["type"] == "overflow":
            chosen = next(o for o in button["options"] if o["value"].startswith(f"{action_id}:"))
            action = {
                "type": "overflow",
                "action_id": button["action_id"],
                "block_id": button["_block_id"],
                "selected_option": _opt(chosen),
                "action_ts": str(time.time()),
            }
        else:
            action = {
                "type": "button",
                "action_id": action_id,
                "block_id": button.get("_block_id", ""),
                "value": button.get("value"),
                "action_ts": str(time.time()),
            }
        return {
            "type": "block_actions",
            "team": {"id": "T0000TEAM1"},
            "user": {"id": user},
            "api_app_id": "A0000BATON",
            "trigger_id": self.last_trigger,
            "channel": {"id": channel},
            "container": {"type": "message", "message_ts": message.get("ts")},
            "message": message,
            "response_url": self.response_url,
            "actions": [action],
        }


def view_payload(user: str, view: dict, state: dict, kind: str = "view_submission") -> dict:
    """What Slack sends when `user` submits (or closes) `view` filled with `state`."""
    payload = {
        "type": kind,
        "team": {"id": "T0000TEAM1"},
        "user": {"id": user},
        "api_app_id": "A0000BATON",
        "view": {**view, "state": {"values": state}},
    }
    if kind == "view_submission":
        payload["trigger_id"] = new_trigger_id()
    else:
        payload["is_cleared"] = False
    return payload


class SlackSender(SlackUser):
    """Posts to Baton's `/slack/events` the way Slack does."""

    def __init__(self, base_url: str, secret: str, response_url: str = ""):
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.response_url = response_url

    def post(
        self,
        body: str | bytes,
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        all_headers = {**self.signed_headers(body, secret, timestamp), **(headers or {})}
        request = urllib.request.Request(
            f"{self.base_url}/slack/events",
            data=body.encode() if isinstance(body, str) else body,
            headers=all_headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as resp:
                reply = Reply(resp.status, resp.read().decode())
        except urllib.error.HTTPError as err:
            return Reply(err.code, err.read().decode())
        # Every answer Slack would show must be within its limits, in every test.
        problems = answer_problems(reply.body) if reply.body else []
        assert not problems, f"Baton's answer is over Slack's limits: {problems}"
        return reply

    def signed_headers(
        self, body: str | bytes, secret: str | None = None, timestamp: int | None = None
    ) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        return {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(secret or self.secret, ts, body),
        }

    def send_command(self, fields: dict[str, str], **kw) -> Reply:
        return self.post(urlencode(fields), **kw)

    def interaction(self, payload: dict, **kw) -> Reply:
        return self.post(urlencode({"payload": json.dumps(payload)}), **kw)


class SocketSender(SlackUser):
    """Delivers the same payloads as Socket Mode envelopes (tests/fake_socket_mode.py); the
    reply is the app's ack. `last_envelope` is the id of the latest, to redeliver it."""

    def __init__(self, socket_mode, response_url: str = ""):
        self.socket_mode = socket_mode
        self.response_url = response_url
        self.last_envelope = ""

    def _deliver(self, kind: str, payload: dict) -> Reply:
        self.last_envelope = self.socket_mode.deliver(kind, payload)
        return ack_reply(self.socket_mode.wait_ack(self.last_envelope))

    def send_command(self, fields: dict[str, str]) -> Reply:
        return self._deliver("slash_commands", fields)

    def interaction(self, payload: dict) -> Reply:
        return self._deliver("interactive", payload)


def ack_reply(ack: dict) -> Reply:
    """An ack read as the HTTP reply it stands for: its payload is the body."""
    payload = ack.get("payload")
    return Reply(200, json.dumps(payload) if payload else "")


def _find_element(blocks: list[dict], action_id: str) -> dict:
    """The element `action_id`, or the overflow menu holding an option for it."""
    for block in blocks:
        for el in block.get("elements", []) or []:
            if not isinstance(el, dict):
                continue
            in_menu = el.get("type") == "overflow" and any(
                o["value"].startswith(f"{action_id}:") for o in el.get("options", [])
            )
            if el.get("action_id") == action_id or in_menu:
                return {**el, "_block_id": block.get("block_id", "")}
    raise AssertionError(f"no element {action_id} in the message")


def _opt(option: dict) -> dict:
    return {"text": option["text"], "value": option["value"]}


def fill(view: dict, answers: dict[str, Any]) -> dict:
    """The `state.values` Slack sends for `view`: initial values, overridden by `answers`.

    Keys of `answers` are block ids; values are what a person picks: a string for a text
    input, an option value (or list of them) for selects, checkboxes and radio buttons,
    a datetime for a date-time picker, None to clear.
    """
    state: dict[str, dict] = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        el = block["element"]
        bid, kind = block["block_id"], el["type"]
        options = {o["value"]: o for o in el.get("options", [])}
        given = answers.get(bid, ...)
        if kind == "plain_text_input":
            value = el.get("initial_value") if given is ... else given
            entry = {"type": kind, "value": value}
        elif kind in ("static_select", "radio_buttons"):
            initial = el.get("initial_option")
            chosen = (
                (_opt(initial) if initial else None)
                if given is ...
                else (_opt(options[given]) if given else None)
            )
            entry = {"type": kind, "selected_option": chosen}
        elif kind in ("multi_static_select", "checkboxes"):
            if given is ...:
                chosen = [_opt(o) for o in el.get("initial_options") or []]
            else:
                chosen = [_opt(options[v]) for v in (given or [])]
            entry = {"type": kind, "selected_options": chosen}
        elif kind == "datetimepicker":
            if given is ...:
                stamp = el.get("initial_date_time")
            else:
                stamp = int(given.timestamp()) if isinstance(given, datetime) else given
            entry = {"type": kind, "selected_date_time": stamp}
        elif kind == "users_select":
            user = el.get("initial_user") if given is ... else given
            entry = {"type": kind, "selected_user": user}
        else:
            raise AssertionError(f"fill() does not know {kind}")
        state[bid] = {el["action_id"]: entry}
    unknown = set(answers) - set(state)
    if unknown:
        raise AssertionError(f"no input blocks {sorted(unknown)} in the view")
    return state
