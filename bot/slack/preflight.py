"""Preflight: can Baton use Slack as it is configured?

`baton check` and `baton serve` (at start, then every few minutes) ask Slack: `auth.test`
(is the token accepted; which scopes has it, from the `x-oauth-scopes` header) and
`conversations.info` for every configured channel (does it exist, is it archived, is Baton in
it). Each problem is one line saying what to do, for the admin who reads it; `check` exits
non-zero on any, `serve` logs them as warnings and says "degraded" on `/healthz` until they are
fixed, live. `handover/` knows nothing of this: it is Slack's side of the configuration.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.metrics import Metrics
from bot.slack.manifest import BOT_SCOPES, manifest, needed_scopes
from handover.settings import CHANNEL_ID, Settings

log = logging.getLogger(__name__)

# Each call's own limit: a slow Slack delays the start of `serve` by seconds, not minutes.
CALL_TIMEOUT = 5

BOT_NAME = manifest(None)["features"]["bot_user"]["display_name"]
COPY_TOKEN = (
    "copy the Bot User OAuth Token (xoxb-…) from your Slack app's 'OAuth & Permissions' page "
    "into SLACK_BOT_TOKEN"
)
REINSTALL = f"reinstall the app to the workspace, then {COPY_TOKEN}"
# Slack's answers that mean the token itself is refused, whatever the method: nothing works.
TOKEN_REFUSED = {
    "token_revoked": ("the app was uninstalled or its token revoked", REINSTALL),
    "invalid_auth": ("not a valid token here: mistyped, or from another workspace", COPY_TOKEN),
    "account_inactive": (
        "the workspace or the app's bot user was deleted or deactivated",
        REINSTALL,
    ),
    "token_expired": ("the token has expired", REINSTALL),
    "not_authed": ("no token reached Slack", COPY_TOKEN),
}


@dataclass(frozen=True)
class Configured:
    """A channel Baton is configured to use, and the setting that names it."""

    setting: str  # the metric's label: BATON_MIM_CHANNEL, restricted_channel …
    channel: str

    @property
    def where(self) -> str:
        """Where the admin finds it: an environment variable, or a key of BATON_CONFIG."""
        return self.setting if self.setting.startswith("BATON_") else f"BATON_CONFIG {self.setting}"


@dataclass(frozen=True)
class ChannelState:
    configured: Configured
    ok: bool


@dataclass
class Findings:
    """One run of the preflight: `problems`, one line each, and what was found fine."""

    problems: list[str] = field(default_factory=list)
    channels: list[ChannelState] = field(default_factory=list)
    fine: list[str] = field(default_factory=list)
    token_refused: bool = False
    unreachable: bool = False  # no answer at all: the network, a proxy, SLACK_API_URL


def configured_channels(settings: Settings) -> list[Configured]:
    """The channels of the configuration: the managers' and the stakeholders', and from
    BATON_CONFIG the restricted channel and the service desk lead when that is a channel (a
    user gets a DM, which always works)."""
    found = [
        Configured("BATON_MIM_CHANNEL", settings.mim_channel),
        Configured("BATON_STAKEHOLDER_CHANNEL", settings.stakeholder_channel),
    ]
    org = settings.org
    if org.restricted_channel:
        found.append(Configured("restricted_channel", org.restricted_channel))
    if org.service_desk_lead and CHANNEL_ID.match(org.service_desk_lead):
        found.append(Configured("service_desk_lead", org.service_desk_lead))
    return [c for c in found if c.channel]


def client_for(settings: Settings) -> WebClient:
    """A client of its own: no retries (the next run is the retry) and a short timeout."""
    return WebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=CALL_TIMEOUT
    )


def check(client: WebClient, settings: Settings) -> Findings:
    """Ask Slack; never raises (a Slack that cannot be reached is a finding too)."""
    findings = Findings()
    configured = configured_channels(settings)
    try:
        identity = client.auth_test()
    except SlackApiError as exc:
        error = _error(exc)
        if error in TOKEN_REFUSED:
            findings.token_refused = True
            findings.problems.append(_token_line(error))
        else:
            findings.problems.append(f"Slack did not answer auth.test ({error}); try again")
        findings.channels = [ChannelState(c, False) for c in configured]
        return findings
    except (urllib.error.URLError, OSError) as exc:
        findings.unreachable = True
        findings.problems.append(_unreachable(settings, exc))
        findings.channels = [ChannelState(c, False) for c in configured]
        return findings
    findings.fine.append(f"token accepted: @{identity.get('user')} in {identity.get('team')}")

    missing = _missing_scopes(identity.headers, needed_scopes(settings.org.incident_channel))
    if missing:
        findings.problems.append(
            f"the Slack app lacks the scope{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} that Baton needs: add "
            f"{'them' if len(missing) > 1 else 'it'} under 'OAuth & Permissions', Bot Token "
            "Scopes (or paste manifest.yml again under 'App Manifest'), then reinstall the app "
            "to the workspace"
        )
    elif _missing_scopes(identity.headers, BOT_SCOPES):
        findings.fine.append("scopes: all Baton needs (not the incident channel's: it is off)")
    elif missing is not None:
        findings.fine.append("scopes: all that manifest.yml asks for")

    answers: dict[str, Answer] = {}
    for item in configured:
        if item.channel not in answers:
            answers[item.channel] = _channel(client, settings, item.channel, missing or [])
        answer = answers[item.channel]
        findings.channels.append(ChannelState(item, answer.ok))
        if answer.refused:
            findings.token_refused = True  # revoked between the calls
            if answer.refused not in findings.problems:
                findings.problems.insert(0, answer.refused)  # the cause of all the rest
        elif answer.problem:
            findings.problems.append(f"{item.where} {item.channel}{answer.problem}")
        elif answer.ok:
            findings.fine.append(f"{item.where} {item.channel} (#{answer.name}): Baton is in it")
    return findings


@dataclass(frozen=True)
class Answer:
    """What conversations.info said of one channel."""

    ok: bool
    name: str = ""
    problem: str = ""  # what follows the setting and the channel id in its line
    refused: str = ""  # the token's line, when Slack refused the token itself


def _token_line(error: str) -> str:
    reason, remedy = TOKEN_REFUSED[error]
    return f"Slack refused SLACK_BOT_TOKEN ({error}: {reason}): {remedy}"


def _channel(client: WebClient, settings: Settings, channel: str, missing: list[str]) -> Answer:
    invite = f"in that channel type /invite @{BOT_NAME}"
    try:
        info = client.conversations_info(channel=channel)["channel"]
    except SlackApiError as exc:
        error = _error(exc)
        if error == "channel_not_found":
            return Answer(
                False,
                problem=": no such channel, or it is private and Baton was not invited (Slack "
                "does not tell these apart): check the ID (channel details, bottom of the About "
                f"tab), or {invite}",
            )
        if error in TOKEN_REFUSED:
            return Answer(False, refused=_token_line(error))
        needed = str(exc.response.get("needed") or "")
        if error == "missing_scope" and needed in missing:
            return Answer(False)  # the scopes' own line says what to do
        detail = f"{error}, needs {needed}" if needed else error
        return Answer(False, problem=f": could not be checked ({detail})")
    except (urllib.error.URLError, OSError) as exc:
        return Answer(False, problem=f": could not be checked ({_unreachable(settings, exc)})")
    name = str(info.get("name") or "")
    if info.get("is_archived"):
        return Answer(
            False,
            name,
            f" (#{name}): the channel is archived; unarchive it (channel settings), or "
            "configure a channel in use",
        )
    if not info.get("is_member"):
        return Answer(False, name, f" (#{name}): Baton is not a member; {invite}")
    return Answer(True, name)


def _missing_scopes(headers: dict, needed: list[str]) -> list[str] | None:
    """The `needed` scopes the token lacks; None when Slack did not say."""
    granted = next((v for k, v in (headers or {}).items() if k.lower() == "x-oauth-scopes"), None)
    if granted is None:
        return None
    if isinstance(granted, list):  # a client that keeps every value of a header
        granted = ",".join(granted)
    have = {scope.strip() for scope in str(granted).split(",")}
    return [scope for scope in needed if scope not in have]


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or f"HTTP {exc.response.status_code}")


def _unreachable(settings: Settings, exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    return (
        f"cannot reach Slack at {settings.slack_api_url} ({type(exc).__name__}: {reason}); "
        "check the network, a proxy, or SLACK_API_URL"
    )


class Monitor:
    """The preflight's latest findings for `serve`: logged when they change, shown by
    `/healthz` (`reasons`) and `/metrics` (`baton_channel_ok`), checked again every
    `interval` in a thread of its own. Serving never waits for it, nor fails with it."""

    def __init__(
        self,
        run: Callable[[], Findings],
        metrics: Metrics | None = None,
        interval: timedelta = timedelta(minutes=5),  # settings.preflight_interval
    ):
        self.run = run
        self.metrics = metrics
        self.interval = interval.total_seconds()
        self._reasons: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="baton-preflight", daemon=True)

    def reasons(self) -> list[str]:
        """Why Slack is not fully usable now (empty when it is)."""
        with self._lock:
            return list(self._reasons)

    def publish(self, findings: Findings) -> None:
        with self._lock:
            before, self._reasons = self._reasons, list(findings.problems)
        for problem in findings.problems:
            if problem not in before:
                log.warning("%s", problem)
        for problem in before:
            if problem not in findings.problems:
                log.info("fixed: %s", problem)
        if self.metrics is not None:
            for state in findings.channels:
                gauge = self.metrics.channel_ok.labels(
                    channel=state.configured.channel, setting=state.configured.setting
                )
                gauge.set(1 if state.ok else 0)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """No next run; one in flight is not waited for long (a daemon thread, it cannot
        keep the process alive): SIGTERM stops Baton as quickly as before."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(1)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.publish(self.run())
            except Exception:  # never the end of serving: the next run tries again
                log.exception("the Slack preflight failed; trying again in %ss", self.interval)
