"""A fake Slack Web API on 127.0.0.1: records every call and answers as strictly as Slack does.

The real `slack_sdk` WebClient talks HTTP to it (SLACK_API_URL). Failures can be scripted per
method (`fail`), to prove retries and idempotent delivery. `apps.connections.open` points to a
Socket Mode WebSocket server on loopback (tests/fake_socket_mode.py).

Leniency here hides bugs that only show in a real workspace, so the fake refuses what Slack
refuses, with Slack's error names (from Slack's method reference):

- Channels are a model (`add_channel`, `archive`, `remove_bot`, `invite_bot`). Posting to an
  unknown channel, or to a private one Baton is not in, is `channel_not_found` (Slack cannot
  tell them apart); to a public one Baton is not in, `not_in_channel` unless the app has
  `chat:write.public`; to an archived one, `is_archived`. DMs (`D…`, or a user id as the
  channel) always work. Reading a channel Baton is not in is `not_in_channel`.
- `chat.update` of a ts never posted in that channel is `message_not_found`.
- `conversations.history` and `.replies` page with `limit` and `cursor` (`has_more`,
  `response_metadata.next_cursor`) and honour `oldest`, `latest` and `inclusive`.
- Every method needs its scope (`missing_scope`, with `needed` and `provided`); the scopes are
  `scopes` (by default those manifest.yml asks for) and go back in the `x-oauth-scopes` header.
  `revoke_token()` / `set_token_error()` make every method answer `token_revoked`,
  `invalid_auth` or `account_inactive`.
- A trigger_id (tests/slack_user.py encodes when it was issued) opens one view within 3 s:
  `expired_trigger_id` after that, `exchanged_trigger_id` the second time.
- The incident channel's methods: `conversations.create` (Slack's name rules:
  `invalid_name_required`, `invalid_name_maxlength`, `invalid_name_specials`, `name_taken`,
  even by an archived channel; the creator is Baton, a member), `conversations.list`,
  `.invite` (one error refuses the whole call, with `errors`; `already_in_channel`,
  `cant_invite_self`, `user_not_found`, the users in `refuse_invite`), `.setTopic` (250
  characters: `too_long`), `.archive` (`already_archived`), `pins.add` (`message_not_found`,
  `already_pinned`), `bookmarks.add`, `.list` and `users.info` (names from `user_names`). Managing a
  channel Baton is not in is `not_in_channel`.
- Block Kit payloads are checked against tests/slack_limits.py: what Slack refuses is refused
  (`invalid_blocks`); everything found is listed in `limit_problems`, which fails the test.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import yaml

from tests.fake_socket_mode import SocketModeEnd
from tests.slack_limits import message_problems, message_warnings, view_problems

BOT_USER = "UBATON0001"
BOT_ID = "B0000BOT1"
TEAM = "T0000TEAM1"

# Slack's channel names: lowercase letters, digits, "-" and "_", at most 80 characters.
CHANNEL_NAME_LIMIT = 80
CHANNEL_NAME = re.compile(r"^[a-z0-9_-]+$")
TOPIC_LIMIT = 250
USER = re.compile(r"^[UW][A-Z0-9]{2,}$")

# How long a trigger_id can be exchanged for a view (Slack: 3 seconds).
TRIGGER_LIFETIME = 3.0
# conversations.history: "Maximum of 999", default 100; conversations.replies: default 1000.
HISTORY_LIMIT = (100, 999)
REPLIES_LIMIT = (1000, 1000)
TOKEN_ERRORS = ("token_revoked", "invalid_auth", "account_inactive", "not_authed")

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"


def manifest_scopes() -> list[str]:
    """The bot scopes manifest.yml asks for: what an app installed from it has."""
    return list(yaml.safe_load(MANIFEST.read_text())["oauth_config"]["scopes"]["bot"])


def dm(user: str) -> str:
    """The direct-message channel Slack opens with `user` (conversations.open)."""
    return "D" + user[1:]


@dataclass
class Channel:
    id: str
    name: str
    private: bool = False
    member: bool = True  # Baton is in it
    archived: bool = False
    creator: str = "U0ADMIN001"
    users: list[str] = field(default_factory=list)  # the members besides Baton
    topic: str = ""
    pins: list[str] = field(default_factory=list)  # the ts of pinned messages
    bookmarks: list[dict[str, Any]] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        """The conversation object of conversations.info. Private channels created before
        March 2021 have G ids and `is_group`; since then they are C ids with `is_channel`."""
        legacy_group = self.id.startswith("G")
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not legacy_group,
            "is_group": legacy_group,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.private,
            "is_archived": self.archived,
            "is_general": False,
            "is_member": self.member,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "context_team_id": TEAM,
            "created": 1654868334,
            "creator": self.creator,
            "topic": {"value": self.topic, "creator": "", "last_set": 0},
            "num_members": len(self.users) + int(self.member),
        }


# The channels the tests (and bench/) configure, with Baton invited to each: the managers'
# channel, the stakeholders', the restricted one for breaches, the service desk's.
WORKSPACE = (
    Channel("C0MIMS0001", "major-incidents"),
    Channel("C0STAKE001", "it-status"),
    Channel("C0RESTRIC1", "breach-comms", private=True),
    Channel("C0AGENTS01", "service-desk"),
)


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.time)
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class Failure:
    status: int = 500
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Carried out first (the message is posted), then answered with this failure: an answer
    # lost on the way back, or one so slow that the caller gave up waiting.
    carried_out: bool = False


class Refused(Exception):
    """Slack's `{"ok": false, "error": …}` answer, with any extra fields."""

    def __init__(self, error: str, **extra: Any):
        super().__init__(error)
        self.body = {"ok": False, "error": error, **extra}


class FakeSlack:
    def __init__(self, channels: tuple[Channel, ...] = WORKSPACE) -> None:
        self.calls: list[Call] = []
        self.responses: list[Call] = []  # posts to response_url
        self._failures: dict[str, list[Failure]] = {}
        self.latency = 0.0  # seconds before every Web API answer, as Slack takes its time
        self._holds: dict[str, threading.Event] = {}
        self._lock = threading.Condition()
        self._last_ts = 0  # microseconds: every ts is unique and later than the one before
        self._views = itertools.count(1)
        self.messages: dict[str, list[dict]] = {}  # channel → posted messages, oldest first
        # Files: id → {"name", "length", "content" (once uploaded), "shared" (once completed)}.
        self.files: dict[str, dict] = {}
        # User groups (S…) → their members; tests add theirs.
        self.usergroups: dict[str, list[str]] = {}
        # Users Slack will not invite to a channel (a guest: user_is_restricted), by error.
        self.refuse_invite: dict[str, str] = {}
        self.user_names: dict[str, str] = {}  # display names; others are their id, lowercase
        self._made = itertools.count(1)
        self.channels: dict[str, Channel] = {}
        for channel in channels:
            self.add_channel(
                channel.id,
                channel.name,
                private=channel.private,
                member=channel.member,
                archived=channel.archived,
            )
        self.scopes: list[str] = manifest_scopes()
        self._token_error: str | None = None
        self._exchanged: set[str] = set()
        self._socket_mode: SocketModeEnd | None = None
        # Payloads over Slack's Block Kit limits: refused as Slack would, and listed here.
        self.limit_problems: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # Lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        for gate in self._holds.values():
            gate.set()
        self.server.shutdown()
        self.server.server_close()
        if self._socket_mode is not None:
            self._socket_mode.stop()

    @property
    def socket_mode(self) -> SocketModeEnd:
        """The Socket Mode WebSocket server, started when first needed."""
        with self._lock:
            if self._socket_mode is None:
                self._socket_mode = SocketModeEnd()
            return self._socket_mode

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/api/"

    @property
    def response_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/response/1"

    # The workspace -----------------------------------------------------------------------

    def add_channel(
        self,
        id: str,
        name: str,
        *,
        private: bool = False,
        member: bool = True,
        archived: bool = False,
    ) -> Channel:
        with self._lock:
            channel = self.channels[id] = Channel(id, name, private, member, archived)
            return channel

    def archive(self, channel: str) -> None:
        with self._lock:
            self.channels[channel].archived = True

    def unarchive(self, channel: str) -> None:
        with self._lock:
            self.channels[channel].archived = False

    def remove_bot(self, channel: str) -> None:
        """Baton is removed from the channel (or was never invited)."""
        with self._lock:
            self.channels[channel].member = False

    def invite_bot(self, channel: str) -> None:
        """Someone typed `/invite @Baton` in the channel."""
        with self._lock:
            self.channels[channel].member = True

    def revoke_token(self) -> None:
        """The app is uninstalled or its token revoked: every method answers token_revoked."""
        self.set_token_error("token_revoked")

    def set_token_error(self, error: str | None) -> None:
        """Every method answers `error` (token_revoked, invalid_auth, account_inactive);
        None restores the token."""
        assert error is None or error in TOKEN_ERRORS, error
        with self._lock:
            self._token_error = error

    # Scripting and inspection ------------------------------------------------------------

    def fail(self, method: str, *failures: Failure) -> None:
        """The next calls of `method` get these answers, in order, before normal service."""
        with self._lock:
            self._failures.setdefault(method, []).extend(failures)

    def hold(self, method: str) -> threading.Event:
        """Answers to `method` wait until the returned event is set: Slack at its slowest."""
        gate = self._holds[method] = threading.Event()
        return gate

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 10.0, where=None
    ) -> list[Call]:
        """Wait until `count` calls of `method` (matching `where`) arrived; return them."""
        deadline = time.time() + timeout
        with self._lock:
            while True:
                found = [
                    c for c in self.calls if c.method == method and (where is None or where(c.args))
                ]
                if len(found) >= count:
                    return found
                remaining = deadline - time.time()
                if remaining <= 0:
                    seen = [c.method for c in self.calls]
                    raise AssertionError(f"{count} call(s) of {method} expected; saw {seen}")
                self._lock.wait(remaining)

    def thread(self, ts: str) -> list[str]:
        """The texts posted in the thread of message `ts`, in order."""
        return [
            c.args["text"]
            for c in self.calls_to("chat.postMessage")
            if c.args.get("thread_ts") == ts
        ]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.responses.clear()

    # Answers ---------------------------------------------------------------------------

    def answer(
        self,
        method: str,
        args: dict[str, Any],
        *,
        token: str = "xoxb-fake",
        received: float | None = None,
    ) -> dict[str, Any]:
        """Slack's answer to `method` with `args`, called with `token`, `received` at that
        time (a trigger_id's age is counted to when Slack got the call, not answered it)."""
        try:
            return self._answer(method, args, token, time.time() if received is None else received)
        except Refused as refused:
            return refused.body

    def scopes_header(self, token: str) -> dict[str, str]:
        """What Slack says of a valid token on every answer: the scopes it was granted."""
        if self._token_error or not token:
            return {}
        if token.startswith("xapp-"):
            return {"x-oauth-scopes": "connections:write"}
        return {"x-oauth-scopes": ",".join(self.scopes)}

    def _answer(self, method: str, args: dict[str, Any], token: str, received: float) -> dict:
        if not token:
            raise Refused("not_authed")
        if self._token_error:
            raise Refused(self._token_error)
        if not token.startswith(("xoxb-", "xapp-")):
            raise Refused("invalid_auth")
        problems: list[str] = []
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            problems = message_problems(args)
        elif method.startswith("views."):
            problems = view_problems(args.get("view"))
        if problems:
            self.limit_problems.extend(f"{method}: {p}" for p in problems)
            raise Refused("invalid_blocks")
        if method in ("chat.postMessage", "chat.update"):
            # Slack posts a message without a fallback, but notifications and screen readers
            # show nothing: Baton always gives one (docs/architecture.md, runtime contract).
            self.limit_problems.extend(f"{method}: {p}" for p in message_warnings(args))
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            raise Refused("unknown_method")
        return handler(args, received)

    def _needs(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Refused("missing_scope", needed=scope, provided=",".join(self.scopes))

    def _kind_scope(self, channel: str, kind: str) -> str:
        """`channels:<kind>`, `groups:<kind>` or `im:<kind>`, by the channel's type."""
        if channel.startswith(("D", "U", "W")):
            return f"im:{kind}"
        known = self.channels.get(channel)
        private = known.private if known else channel.startswith("G")
        return f"{'groups' if private else 'channels'}:{kind}"

    def _visible(self, channel: str) -> Channel:
        """The channel as Baton can see it: unknown and private-without-Baton look alike."""
        known = self.channels.get(channel)
        if known is None or (known.private and not known.member):
            raise Refused("channel_not_found")
        return known

    def _may_post(self, channel: str) -> str:
        """Where a post to `channel` goes (a user id means their DM), or Slack's refusal."""
        if channel.startswith(("U", "W")):
            return dm(channel)
        if channel.startswith("D"):
            return channel
        known = self._visible(channel)
        if known.archived:
            raise Refused("is_archived")
        if not known.member and "chat:write.public" not in self.scopes:
            raise Refused("not_in_channel")
        return channel

    def _may_read(self, channel: str) -> str:
        self._needs(self._kind_scope(channel, "history"))
        if channel.startswith("D"):
            return channel
        if not self._visible(channel).member:
            raise Refused("not_in_channel")
        return channel

    def _next_ts(self) -> str:
        self._last_ts = max(int(time.time() * 1_000_000), self._last_ts + 1)
        return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    def _auth_test(self, args: dict, received: float) -> dict:
        return {
            "ok": True,
            "url": "https://example.slack.com/",
            "team": "Example",
            "user": "baton",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _views_open(self, args: dict, received: float) -> dict:
        self._exchange(args.get("trigger_id"), received)
        return self._view(args)

    def _views_push(self, args: dict, received: float) -> dict:
        self._exchange(args.get("trigger_id"), received)
        return self._view(args)

    def _views_update(self, args: dict, received: float) -> dict:
        return self._view(args)

    def _views_publish(self, args: dict, received: float) -> dict:
        return self._view(args)

    def _exchange(self, trigger_id: str | None, received: float) -> None:
        """A trigger_id opens one view, within 3 seconds of the interaction."""
        parts = str(trigger_id or "").split(".")
        if len(parts) != 3 or not all(parts) or not parts[1].isdigit():
            raise Refused("invalid_trigger_id")
        if trigger_id in self._exchanged:
            raise Refused("exchanged_trigger_id")
        if received - int(parts[1]) / 1000 > TRIGGER_LIFETIME:
            raise Refused("expired_trigger_id")
        self._exchanged.add(str(trigger_id))

    def _view(self, args: dict) -> dict:
        view = args.get("view")
        view = json.loads(view) if isinstance(view, str) else dict(view or {})
        view.setdefault("id", args.get("view_id") or f"V{next(self._views):09d}")
        view.setdefault("team_id", TEAM)
        return {"ok": True, "view": view}

    def _chat_postMessage(self, args: dict, received: float) -> dict:
        self._needs("chat:write")
        channel = self._may_post(str(args.get("channel") or ""))
        metadata = args.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        message = {
            "ts": self._next_ts(),
            "text": args.get("text"),
            "blocks": _decoded(args.get("blocks")),
            "thread_ts": args.get("thread_ts") or None,
            "metadata": metadata,
            # Slack: a thread reply also shown in the channel, only when it is a reply.
            "reply_broadcast": bool(args.get("thread_ts")) and _truthy(args.get("reply_broadcast")),
        }
        self.messages.setdefault(channel, []).append(message)
        return {
            "ok": True,
            "channel": channel,
            "ts": message["ts"],
            "message": _shown(message, with_metadata=True),
        }

    def _files_getUploadURLExternal(self, args: dict, received: float) -> dict:
        """Step 1 of an upload: where to send the bytes (this server's /upload/<id>)."""
        self._needs("files:write")
        name, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not name:
            raise Refused("invalid_arguments", detail="filename is required")
        if not length.isdigit() or int(length) <= 0:
            raise Refused("invalid_arguments", detail="length must be a positive integer")
        file_id = f"F{len(self.files) + 1:09d}"
        self.files[file_id] = {"name": name, "length": int(length), "content": None}
        base = f"http://127.0.0.1:{self.server.server_port}"
        return {"ok": True, "upload_url": f"{base}/upload/{file_id}", "file_id": file_id}

    def upload(self, file_id: str, content: bytes) -> int:
        """Step 2: the bytes, at the URL step 1 gave (Slack checks the length it was told)."""
        with self._lock:
            known = self.files.get(file_id)
            if known is None or len(content) != known["length"]:
                return 400
            known["content"] = content
            return 200

    def _files_completeUploadExternal(self, args: dict, received: float) -> dict:
        """Step 3: share the uploaded files, in a channel (and a thread) Baton may post in."""
        self._needs("files:write")
        files = _decoded(args.get("files")) or []
        if not files:
            raise Refused("invalid_arguments", detail="files is required")
        shared = []
        for entry in files:
            known = self.files.get(str(entry.get("id")))
            if known is None or known["content"] is None:
                raise Refused("file_not_found")
            shared.append({"id": entry["id"], "name": known["name"], "title": entry.get("title")})
        channel = self._may_post(str(args.get("channel_id") or ""))
        thread_ts = args.get("thread_ts") or None
        if thread_ts and not any(m["ts"] == thread_ts for m in self.messages.get(channel, [])):
            raise Refused("invalid_thread_ts")
        message = {
            "ts": self._next_ts(),
            "text": args.get("initial_comment") or "",
            "blocks": None,
            "thread_ts": thread_ts,
            "metadata": None,
            "reply_broadcast": False,
            "files": shared,
        }
        self.messages.setdefault(channel, []).append(message)
        return {"ok": True, "files": shared}

    def _chat_getPermalink(self, args: dict, received: float) -> dict:
        """Slack links only a message that exists, in a channel Baton can see."""
        channel = str(args.get("channel") or "")
        if not channel.startswith("D"):
            self._visible(channel)
        ts = str(args.get("message_ts") or "")
        if not any(m["ts"] == ts for m in self.messages.get(channel, [])):
            raise Refused("message_not_found")
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }

    def _chat_update(self, args: dict, received: float) -> dict:
        self._needs("chat:write")
        channel = self._may_post(str(args.get("channel") or ""))
        ts = str(args.get("ts") or "")
        message = next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)
        if message is None:
            raise Refused("message_not_found")
        message["text"] = args.get("text")
        if "blocks" in args:
            message["blocks"] = _decoded(args.get("blocks"))
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": _shown(message, with_metadata=False),
        }

    def _chat_postEphemeral(self, args: dict, received: float) -> dict:
        self._needs("chat:write")
        self._may_post(str(args.get("channel") or ""))
        return {"ok": True, "message_ts": self._next_ts()}

    def _conversations_info(self, args: dict, received: float) -> dict:
        channel = str(args.get("channel") or "")
        self._needs(self._kind_scope(channel, "read"))
        if channel.startswith("D"):
            return {
                "ok": True,
                "channel": {"id": channel, "is_im": True, "user": "U" + channel[1:]},
            }
        return {"ok": True, "channel": self._visible(channel).info()}

    def _conversations_history(self, args: dict, received: float) -> dict:
        channel = self._may_read(str(args.get("channel") or ""))
        posted = self.messages.get(channel, [])
        top = [m for m in posted if m["thread_ts"] in (None, m["ts"])]
        found = _between(top, args)[::-1]  # the most recent first
        return self._page(found, args, HISTORY_LIMIT, newest_first=True, posted=posted)

    def _conversations_replies(self, args: dict, received: float) -> dict:
        channel = self._may_read(str(args.get("channel") or ""))
        posted = self.messages.get(channel, [])
        asked = next((m for m in posted if m["ts"] == args.get("ts")), None)
        if asked is None:
            raise Refused("thread_not_found")
        root = asked["thread_ts"] or asked["ts"]
        thread = [m for m in posted if root in (m["ts"], m["thread_ts"])]  # parent first
        found = _between(thread, args)
        return self._page(found, args, REPLIES_LIMIT, newest_first=False, posted=posted)

    def _page(
        self,
        found: list[dict],
        args: dict,
        limits: tuple[int, int],
        *,
        newest_first: bool,
        posted: list[dict],
    ) -> dict:
        """One page of `found` (already in Slack's order), as Slack pages: up to `limit`
        messages from the `cursor` on; `has_more`, and a `next_cursor` when it is true."""
        default, most = limits
        try:
            limit = int(args.get("limit") or default)
        except ValueError:
            raise Refused("invalid_limit") from None
        limit = min(limit if limit > 0 else default, most)
        start = 0
        if args.get("cursor"):
            at = _cursor_ts(str(args["cursor"]))
            start = next(
                (
                    i
                    for i, m in enumerate(found)
                    if (float(m["ts"]) <= at if newest_first else float(m["ts"]) >= at)
                ),
                len(found),
            )
        page, rest = found[start : start + limit], found[start + limit :]
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        answer: dict[str, Any] = {
            "ok": True,
            "messages": [_shown(m, with_metadata, posted) for m in page],
            "has_more": bool(rest),
            "pin_count": 0,
        }
        if rest:
            cursor = base64.b64encode(f"next_ts:{rest[0]['ts'].replace('.', '')}".encode())
            answer["response_metadata"] = {"next_cursor": cursor.decode()}
        return answer

    def _conversations_open(self, args: dict, received: float) -> dict:
        self._needs("im:write")
        return {"ok": True, "channel": {"id": dm(str(args.get("users", "UX")))}}

    def _apps_connections_open(self, args: dict, received: float) -> dict:
        return {"ok": True, "url": self.socket_mode.new_url()}

    # The incident channel ------------------------------------------------------------

    def _manage_scope(self, channel: Channel | None, private: bool = False) -> str:
        return "groups:write" if (channel.private if channel else private) else "channels:manage"

    def _managed(self, args: dict, key: str = "channel") -> Channel:
        """A channel Baton may manage: it can see it, it is in it, and it is not archived."""
        channel = self._visible(str(args.get(key) or ""))
        self._needs(self._manage_scope(channel))
        if channel.archived:
            raise Refused("is_archived")
        if not channel.member:
            raise Refused("not_in_channel")
        return channel

    def _conversations_create(self, args: dict, received: float) -> dict:
        private = _truthy(args.get("is_private"))
        self._needs(self._manage_scope(None, private))
        name = str(args.get("name") or "")
        if not name:
            raise Refused("invalid_name_required")
        if len(name) > CHANNEL_NAME_LIMIT:
            raise Refused("invalid_name_maxlength")
        if not CHANNEL_NAME.match(name):
            raise Refused("invalid_name_specials")
        if name.strip("-_") == "":
            raise Refused("invalid_name_punctuation")
        if any(c.name == name for c in self.channels.values()):
            raise Refused("name_taken")
        channel = self.add_channel(f"C0NEW{next(self._made):05d}", name, private=private)
        channel.creator = BOT_USER
        return {"ok": True, "channel": channel.info()}

    def _conversations_list(self, args: dict, received: float) -> dict:
        types = str(args.get("types") or "public_channel").split(",")
        for kind in types:
            self._needs("groups:read" if kind == "private_channel" else "channels:read")
        exclude_archived = _truthy(args.get("exclude_archived"))
        listed = [
            c
            for c in self.channels.values()
            if ("private_channel" if c.private else "public_channel") in types
            and (not c.private or c.member)
            and not (exclude_archived and c.archived)
        ]
        try:
            limit = min(int(args.get("limit") or 100), 1000)
        except ValueError:
            raise Refused("invalid_limit") from None
        start = int(base64.b64decode(args["cursor"]).decode()) if args.get("cursor") else 0
        page, rest = listed[start : start + limit], listed[start + limit :]
        cursor = base64.b64encode(str(start + limit).encode()).decode() if rest else ""
        return {
            "ok": True,
            "channels": [c.info() for c in page],
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_invite(self, args: dict, received: float) -> dict:
        channel = self._managed(args)
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            raise Refused("no_user")
        errors = [
            {"user": user, "ok": False, "error": error}
            for user in users
            if (error := self._invite_error(channel, user))
        ]
        if errors:  # without `force`, one refusal refuses them all
            raise Refused(errors[0]["error"], errors=errors)
        channel.users.extend(users)
        return {"ok": True, "channel": channel.info()}

    def _invite_error(self, channel: Channel, user: str) -> str | None:
        if not USER.match(user):
            return "user_not_found"
        if user == BOT_USER:
            return "cant_invite_self"
        if user in channel.users:
            return "already_in_channel"
        return self.refuse_invite.get(user)

    def _conversations_setTopic(self, args: dict, received: float) -> dict:
        channel = self._managed(args)
        topic = str(args.get("topic") or "")
        if len(topic) > TOPIC_LIMIT:
            raise Refused("too_long")
        channel.topic = topic
        return {"ok": True, "channel": channel.info()}

    def _conversations_archive(self, args: dict, received: float) -> dict:
        channel = self._visible(str(args.get("channel") or ""))
        self._needs(self._manage_scope(channel))
        if channel.archived:
            raise Refused("already_archived")
        if not channel.member:
            raise Refused("not_in_channel")
        channel.archived = True
        return {"ok": True}

    def _pins_add(self, args: dict, received: float) -> dict:
        self._needs("pins:write")
        channel = self._visible(str(args.get("channel") or ""))
        if not channel.member:
            raise Refused("not_in_channel")
        ts = str(args.get("timestamp") or "")
        if not ts:
            raise Refused("no_item_specified")
        if not any(m["ts"] == ts for m in self.messages.get(channel.id, [])):
            raise Refused("message_not_found")
        if ts in channel.pins:
            raise Refused("already_pinned")
        channel.pins.append(ts)
        return {"ok": True}

    def _bookmarks_add(self, args: dict, received: float) -> dict:
        self._needs("bookmarks:write")
        channel = self._managed(args, key="channel_id")
        if args.get("type") != "link":
            raise Refused("invalid_bookmark_type")
        link = str(args.get("link") or "")
        if not link.startswith(("http://", "https://")):
            raise Refused("invalid_link")
        if not args.get("title"):
            raise Refused("invalid_title")
        bookmark = {
            "id": f"Bk{len(channel.bookmarks) + 1:09d}",
            "channel_id": channel.id,
            "title": args["title"],
            "link": link,
            "type": "link",
        }
        channel.bookmarks.append(bookmark)
        return {"ok": True, "bookmark": bookmark}

    def _bookmarks_list(self, args: dict, received: float) -> dict:
        self._needs("bookmarks:read")
        channel = self._visible(str(args.get("channel_id") or ""))
        if not channel.member:
            raise Refused("not_in_channel")
        return {"ok": True, "bookmarks": list(channel.bookmarks)}

    def _users_info(self, args: dict, received: float) -> dict:
        self._needs("users:read")
        user = str(args.get("user") or "")
        if not USER.match(user):
            raise Refused("user_not_found")
        name = self.user_names.get(user, user.lower())
        profile = {"display_name": name, "real_name": name}
        return {"ok": True, "user": {"id": user, "name": user.lower(), "profile": profile}}

    def _usergroups_users_list(self, args: dict, received: float) -> dict:
        self._needs("usergroups:read")
        group = str(args.get("usergroup", ""))
        if group not in self.usergroups:
            raise Refused("no_such_subteam")
        return {"ok": True, "users": list(self.usergroups[group])}

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                self.path = path
                self._handle({k: v[0] for k, v in parse_qs(query).items()})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if self.path.startswith("/upload/"):  # a file's bytes, not an API call
                    status = fake.upload(
                        self.path.removeprefix("/upload/"), self.rfile.read(length)
                    )
                    self._send(status, {"ok": status == 200})
                    return
                raw = self.rfile.read(length).decode("utf-8")
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    args = json.loads(raw or "{}")
                else:
                    args = {k: v[0] for k, v in parse_qs(raw).items()}
                self._handle(args)

            def _handle(self, args: dict) -> None:
                received = time.time()
                if self.path.startswith("/response/"):
                    with fake._lock:
                        fake.limit_problems.extend(
                            f"response_url: {p}" for p in message_problems(args)
                        )
                        fake.responses.append(Call("response_url", args))
                        fake._lock.notify_all()
                    self._send(200, {"ok": True})
                    return
                method = self.path.removeprefix("/api/")
                auth = self.headers.get("Authorization", "")
                token = auth.removeprefix("Bearer ").strip() or str(args.pop("token", ""))
                time.sleep(fake.latency)
                gate = fake._holds.get(method)
                if gate is not None:
                    gate.wait(30)
                with fake._lock:
                    pending = fake._failures.get(method)
                    failure = pending.pop(0) if pending else None
                if failure is not None and not failure.carried_out:
                    time.sleep(failure.delay)
                    with fake._lock:
                        fake.calls.append(Call(f"{method}!failed", args))
                        fake._lock.notify_all()
                    self._send(
                        failure.status,
                        failure.body or {"ok": False, "error": "fatal"},
                        failure.headers,
                    )
                    return
                with fake._lock:
                    body = fake.answer(method, args, token=token, received=received)
                    headers = fake.scopes_header(token)
                    fake.calls.append(Call(method, args, result=body))
                    fake._lock.notify_all()
                if failure is not None:
                    time.sleep(failure.delay)
                    self._send(failure.status, failure.body or body, failure.headers)
                    return
                self._send(200, body, headers)

            def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                # The caller may have given up waiting (a timeout): nobody to answer.
                with contextlib.suppress(ConnectionError):
                    self.end_headers()
                    self.wfile.write(data)

        return Handler


def _truthy(value: Any) -> bool:
    """A form-encoded boolean ("true", "1") or a JSON one."""
    return value is True or str(value).lower() in ("true", "1")


def _decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _between(messages: list[dict], args: dict) -> list[dict]:
    """The messages after `oldest` and before `latest` (both included with `inclusive`)."""
    inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
    bounds = []
    for name in ("oldest", "latest"):
        raw = args.get(name)
        try:
            bounds.append(float(raw) if raw not in (None, "") else None)
        except ValueError:
            raise Refused(f"invalid_ts_{name}") from None
    oldest, latest = bounds

    def inside(ts: float) -> bool:
        if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
            return False
        return latest is None or ts < latest or (ts == latest and inclusive)

    return [m for m in messages if inside(float(m["ts"]))]


def _cursor_ts(cursor: str) -> float:
    """Where a cursor from `_page` points (Slack's look: base64 of `next_ts:<digits>`)."""
    try:
        decoded = base64.b64decode(cursor, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Refused("invalid_cursor") from None
    kind, _, digits = decoded.partition(":")
    if kind != "next_ts" or not digits.isdigit() or len(digits) <= 6:
        raise Refused("invalid_cursor")
    return float(f"{digits[:-6]}.{digits[-6:]}")


def _shown(message: dict, with_metadata: bool, channel: list[dict] | None = None) -> dict:
    """A stored message as Slack shows it: posted by Baton's bot user; a thread's parent
    carries its `thread_ts` and `reply_count`; metadata only when asked for."""
    shown: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER,
        "bot_id": BOT_ID,
        "text": message["text"],
        "ts": message["ts"],
    }
    if message.get("blocks"):
        shown["blocks"] = message["blocks"]
    if message.get("files"):
        shown["files"] = message["files"]
    if message["thread_ts"]:
        shown["thread_ts"] = message["thread_ts"]
    elif channel is not None:
        replies = sum(1 for m in channel if m["thread_ts"] == message["ts"])
        if replies:
            shown["thread_ts"], shown["reply_count"] = message["ts"], replies
    if with_metadata and message.get("metadata"):
        shown["metadata"] = message["metadata"]
    return shown
