"""Runtime configuration: the environment variables (README, docs/architecture.md) and the
optional TOML file.

Problems are collected, not raised one at a time, so that `baton serve` and `baton check` can
print one clear line per problem and the operator fixes them all in one go.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from handover.times import parse_duration
from handover.vocabulary import WebhookEvent

CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")
USER_GROUP_ID = re.compile(r"^S[A-Z0-9]{6,}$")
HOST = re.compile(r"^[A-Za-z0-9.:-]{1,253}$")  # an IPv4 or IPv6 address, or a host name
# `card_mention` may also be one of these words: the channel's active members, or nobody.
CARD_MENTION_WORDS = ("here", "none")

DEFAULT_SERVICES = [
    "E-mail",
    "Telephony",
    "Network and VPN",
    "Identity and single sign-on",
    "Payroll",
    "Customer website",
    "ERP",
    "File storage",
]
DEFAULT_RESOLVER_GROUPS = [
    "Service desk",
    "Network",
    "Servers and cloud",
    "Database",
    "Identity and access",
    "Application support",
    "Security operations",
    "Third-party supplier",
]
DEFAULT_SITES = ["Head office", "Remote workers", "Data centre"]
DEFAULT_TICKET_PATTERN = r"[A-Z][A-Z0-9]{1,9}-?\d{1,12}"


class ConfigError(Exception):
    """Configuration that cannot be used; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


# The vendors' public endpoints (docs/architecture.md, "Paging"); tests and regional accounts
# (Opsgenie's EU instance is https://api.eu.opsgenie.com) set their own.
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
OPSGENIE_API_URL = "https://api.opsgenie.com"
# A PagerDuty Events API v2 integration (routing) key: 32 letters and digits.
ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")
OPSGENIE_TEAM = re.compile(r"^[\w .-]{1,100}$")


@dataclass(frozen=True)
class ResolverGroup:
    """How a resolver group is reached when it is engaged (`[resolver_groups.NAME]`)."""

    name: str
    usergroup: str = ""  # a Slack user group S…: mentioned, and invited to the incident channel
    pagerduty_routing_key: str = field(default="", repr=False)  # a secret: never logged
    opsgenie_team: str = ""

    @property
    def pages(self) -> bool:
        return bool(self.pagerduty_routing_key or self.opsgenie_team)


# `events` of a webhook that takes every event (also what leaving `events` out means).
ALL_EVENTS = "*"


@dataclass(frozen=True)
class Webhook:
    """A receiver of signed event POSTs (`[[webhooks]]` in BATON_CONFIG; README, "Webhooks")."""

    url: str
    secret: str = field(repr=False)  # signs each delivery: never logged, never shown
    events: frozenset[WebhookEvent] = frozenset(WebhookEvent)

    @property
    def id(self) -> str:
        """A short, stable name for the receiver in outbox rows and keys: a hash of its URL
        (the URL itself may be long, and a path can hold a token)."""
        return hashlib.sha256(self.url.encode()).hexdigest()[:12]

    def wants(self, event: WebhookEvent) -> bool:
        return event in self.events


class _Env(BaseSettings):
    """Raw environment (and `.env`) values, validated by `load_settings`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///baton.db"
    port: str = "3000"
    baton_host: str = "127.0.0.1"
    baton_mim_channel: str = ""
    baton_stakeholder_channel: str = ""
    baton_initial_phase: str = "15m"
    baton_update_interval: str = "30m"
    baton_config: str = ""
    baton_log_format: str = "text"
    baton_log_level: str = "INFO"
    baton_preflight_interval: str = "5m"
    pagerduty_events_url: str = PAGERDUTY_EVENTS_URL
    opsgenie_api_url: str = OPSGENIE_API_URL
    opsgenie_api_key: str = ""
    pagerduty_webhook_secret: str = ""
    baton_smtp_url: str = ""
    baton_mail_from: str = ""


LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


# An e-mail address as people write them: something@domain.tld, no spaces or angle brackets.
# Deliberately simple (docs/architecture.md, "E-mail"): the server is the judge of the rest.
EMAIL_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]+$")
PRIORITIES = ("P1", "P2", "P3", "P4")


@dataclass(frozen=True)
class SmtpServer:
    """Where notices are e-mailed from (`BATON_SMTP_URL`)."""

    host: str
    port: int
    implicit_tls: bool  # smtps://: TLS from the first byte; smtp:// upgrades with STARTTLS
    user: str = ""
    password: str = field(default="", repr=False)  # a secret: never logged
    # The password as written in the URL (%-encoded): redacted too, should the URL be logged.
    raw_password: str = field(default="", repr=False)


@dataclass(frozen=True)
class OrgConfig:
    """What an organisation configures in `BATON_CONFIG` (all optional, sensible defaults)."""

    services: list[str] = field(default_factory=lambda: list(DEFAULT_SERVICES))
    resolver_groups: list[str] = field(default_factory=lambda: list(DEFAULT_RESOLVER_GROUPS))
    # The groups with integrations (usergroup, PagerDuty, Opsgenie), by name; a group named in
    # `resolver_groups` without any is only recorded when engaged.
    groups: dict[str, ResolverGroup] = field(default_factory=dict)
    sites: list[str] = field(default_factory=lambda: list(DEFAULT_SITES))
    ticket_pattern: str = DEFAULT_TICKET_PATTERN
    update_intervals: dict[str, timedelta] = field(default_factory=dict)
    accept_users: list[str] = field(default_factory=list)
    accept_usergroup: str = ""
    escalation_after: timedelta = timedelta(minutes=5)
    escalate_to: str = ""
    # Who the card notifies (docs/architecture.md, "Who gets pinged"): a user group S…, a user
    # U…/W…, "here" or "none". Before anyone accepts, the clock's lines mention them too.
    card_mention: str = "here"
    # After the first phase, how often the owner is reminded of an initial notice not yet sent.
    initial_notice_nudge: timedelta = timedelta(minutes=5)
    templates_dir: Path | None = None
    # Where notices go when a security or data breach is suspected (docs/domain.md): not the broad
    # stakeholder channel, unless the manager explicitly confirms.
    restricted_channel: str = ""
    # Who receives exception reports about weak handovers (a user U… or a channel C…).
    service_desk_lead: str = ""
    # Agents (reporters) by team, for `baton report`: team name → Slack user IDs.
    teams: dict[str, list[str]] = field(default_factory=dict)
    # How long a message may keep failing with errors worth retrying before Baton gives up and
    # says so: the card (the managers must get it within minutes), and everything else.
    card_retry_for: timedelta = timedelta(minutes=2)
    retry_for: timedelta = timedelta(minutes=10)
    # A public channel per incident, made on Accept (README, "Incident channel"): the owner,
    # the agent and the engaged groups' members in it, the record pinned. Off unless asked for.
    incident_channel: bool = False
    # Closing an incident archives its channel: off by default, as teams often keep talking.
    archive_incident_channel: bool = False
    # The conference bridge, bookmarked in the incident channel ("" when there is none).
    bridge_url: str = ""
    # Receivers of signed JSON POSTs for the incident's events (README, "Webhooks").
    webhooks: tuple[Webhook, ...] = ()
    # Who gets every notice by e-mail (README, "E-mail"); more by priority; and, while a breach
    # is suspected, the restricted list instead of the broad ones (unless the owner confirms).
    stakeholder_emails: list[str] = field(default_factory=list)
    priority_emails: dict[str, list[str]] = field(default_factory=dict)
    restricted_emails: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Settings:
    # Secrets stay out of repr(): a Settings object in a log line or a traceback shows none.
    slack_bot_token: str = field(repr=False)
    slack_signing_secret: str = field(repr=False)
    slack_app_token: str = field(repr=False)
    slack_api_url: str
    database_url: str
    port: int
    mim_channel: str
    stakeholder_channel: str
    initial_phase: timedelta
    update_interval: timedelta
    config_path: Path | None
    org: OrgConfig
    log_format: str = "text"
    log_level: str = "INFO"
    # How often `serve` asks Slack again whether the token and the channels are fine.
    preflight_interval: timedelta = timedelta(minutes=5)
    # Where `serve` listens: loopback unless told otherwise (a reverse proxy, a container).
    host: str = "127.0.0.1"
    pagerduty_events_url: str = PAGERDUTY_EVENTS_URL
    opsgenie_api_url: str = OPSGENIE_API_URL
    opsgenie_api_key: str = field(default="", repr=False)
    pagerduty_webhook_secret: str = field(default="", repr=False)
    smtp: SmtpServer | None = None  # None: notices are not e-mailed
    mail_from: str = ""

    @property
    def secrets(self) -> list[str]:
        """Every secret value: kept out of logs and messages (bot/logs.py)."""
        keys = [g.pagerduty_routing_key for g in self.org.groups.values()]
        return [
            self.slack_bot_token,
            self.slack_app_token,
            self.slack_signing_secret,
            self.opsgenie_api_key,
            self.pagerduty_webhook_secret,
            *keys,
            *(hook.secret for hook in self.org.webhooks),
            *([self.smtp.password, self.smtp.raw_password] if self.smtp else []),
        ]

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def update_interval_for(self, priority: str) -> timedelta:
        return self.org.update_intervals.get(priority, self.update_interval)


def _duration(name: str, raw: str, problems: list[str]) -> timedelta:
    try:
        return parse_duration(raw)
    except ValueError as exc:
        problems.append(f"{name}: {exc}")
        return timedelta(minutes=1)


def _string_list(data: dict, key: str, default: list[str], where: str, problems: list[str]):
    value = data.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{where}: '{key}' must be a list of non-empty strings")
        return default
    if not value:
        problems.append(f"{where}: '{key}' must not be empty")
        return default
    return [v.strip() for v in dict.fromkeys(value)]


# A catalogue entry is a choice in Slack's menus, whose option text holds at most 75 characters:
# a longer one could not be shown (Slack refuses the whole form). A catalogue of more than 100
# entries is fine: the menu becomes a type-ahead search.
CATALOGUE_ENTRY_LIMIT = 75


def _catalogue(data: dict, key: str, default: list[str], where: str, problems: list[str]):
    """A catalogue (services, resolver groups, sites): a list of names that can be shown."""
    names = _string_list(data, key, default, where, problems)
    for name in names:
        if len(name) > CATALOGUE_ENTRY_LIMIT:
            problems.append(
                f"{where}: '{key}' entry '{name}' is {len(name)} characters long; Slack shows "
                f"at most {CATALOGUE_ENTRY_LIMIT} in a menu, so shorten it"
            )
    return names


def load_org_config(path: Path, problems: list[str]) -> OrgConfig:
    """Read the TOML organisation file; append one line per problem to `problems`."""
    where = f"BATON_CONFIG ({path})"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{where}: no such file")
        return OrgConfig()
    except OSError as exc:
        problems.append(f"{where}: cannot be read ({exc.strerror})")
        return OrgConfig()
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{where}: not valid TOML ({exc})")
        return OrgConfig()

    known = {
        "services",
        "resolver_groups",
        "sites",
        "ticket_pattern",
        "update_intervals",
        "accept_users",
        "accept_usergroup",
        "escalation_after",
        "escalate_to",
        "card_mention",
        "initial_notice_nudge",
        "templates_dir",
        "restricted_channel",
        "service_desk_lead",
        "teams",
        "card_retry_for",
        "retry_for",
        "incident_channel",
        "archive_incident_channel",
        "bridge_url",
        "webhooks",
        "stakeholder_emails",
        "priority_emails",
        "restricted_emails",
    }
    for key in sorted(set(data) - known):
        problems.append(f"{where}: unknown setting '{key}' (known: {', '.join(sorted(known))})")

    pattern = data.get("ticket_pattern", DEFAULT_TICKET_PATTERN)
    try:
        re.compile(pattern)
    except (re.error, TypeError) as exc:
        problems.append(f"{where}: 'ticket_pattern' is not a regular expression ({exc})")
        pattern = DEFAULT_TICKET_PATTERN

    intervals: dict[str, timedelta] = {}
    raw_intervals = data.get("update_intervals", {})
    if not isinstance(raw_intervals, dict):
        problems.append(f"{where}: 'update_intervals' must be a table like {{ P1 = \"30m\" }}")
        raw_intervals = {}
    for priority, raw in raw_intervals.items():
        if priority not in ("P1", "P2", "P3", "P4"):
            problems.append(f"{where}: update_intervals: '{priority}' is not P1, P2, P3 or P4")
            continue
        intervals[priority] = _duration(f"{where}: update_intervals.{priority}", str(raw), problems)

    accept_users = (
        _string_list(data, "accept_users", [], where, problems) if data.get("accept_users") else []
    )
    for user in accept_users:
        if not USER_ID.match(user):
            problems.append(f"{where}: accept_users: '{user}' is not a Slack user ID (U…)")
    usergroup = str(data.get("accept_usergroup", ""))
    if usergroup and not USER_GROUP_ID.match(usergroup):
        problems.append(f"{where}: 'accept_usergroup' '{usergroup}' is not a user group ID (S…)")
    escalate_to = str(data.get("escalate_to", ""))
    if escalate_to and not (USER_ID.match(escalate_to) or USER_GROUP_ID.match(escalate_to)):
        problems.append(f"{where}: 'escalate_to' '{escalate_to}' is not a user (U…) or group (S…)")

    card_mention = str(data.get("card_mention", "here"))
    if card_mention not in CARD_MENTION_WORDS and not (
        USER_ID.match(card_mention) or USER_GROUP_ID.match(card_mention)
    ):
        problems.append(
            f"{where}: 'card_mention' '{card_mention}' is not a user group (S…), a user (U…), "
            '"here" or "none"'
        )
        card_mention = "here"

    restricted = str(data.get("restricted_channel", ""))
    if restricted and not CHANNEL_ID.match(restricted):
        problems.append(f"{where}: 'restricted_channel' '{restricted}' is not a channel ID")
    lead = str(data.get("service_desk_lead", ""))
    if lead and not (USER_ID.match(lead) or CHANNEL_ID.match(lead)):
        problems.append(f"{where}: 'service_desk_lead' '{lead}' is not a user (U…) or channel (C…)")
    templates_dir = None
    if "templates_dir" in data:
        templates_dir = (path.parent / str(data["templates_dir"])).resolve()
        if not templates_dir.is_dir():
            problems.append(f"{where}: templates_dir '{templates_dir}' is not a folder")

    teams = _teams(data.get("teams", {}), where, problems)
    group_names, groups = _resolver_groups(data, where, problems)

    return OrgConfig(
        services=_catalogue(data, "services", DEFAULT_SERVICES, where, problems),
        resolver_groups=group_names,
        groups=groups,
        sites=_catalogue(data, "sites", DEFAULT_SITES, where, problems),
        ticket_pattern=pattern,
        update_intervals=intervals,
        accept_users=accept_users,
        accept_usergroup=usergroup,
        escalation_after=_duration(
            f"{where}: escalation_after", str(data.get("escalation_after", "5m")), problems
        ),
        escalate_to=escalate_to,
        card_mention=card_mention,
        initial_notice_nudge=_duration(
            f"{where}: initial_notice_nudge",
            str(data.get("initial_notice_nudge", "5m")),
            problems,
        ),
        templates_dir=templates_dir,
        restricted_channel=restricted,
        service_desk_lead=lead,
        teams=teams,
        card_retry_for=_duration(
            f"{where}: card_retry_for", str(data.get("card_retry_for", "2m")), problems
        ),
        retry_for=_duration(f"{where}: retry_for", str(data.get("retry_for", "10m")), problems),
        incident_channel=_flag(data, "incident_channel", where, problems),
        archive_incident_channel=_flag(data, "archive_incident_channel", where, problems),
        bridge_url=_http_url(data, "bridge_url", where, problems),
        webhooks=_webhooks(data.get("webhooks", []), where, problems),
        stakeholder_emails=_emails(
            data.get("stakeholder_emails", []), "stakeholder_emails", where, problems
        ),
        priority_emails=_priority_emails(data.get("priority_emails", {}), where, problems),
        restricted_emails=_emails(
            data.get("restricted_emails", []), "restricted_emails", where, problems
        ),
    )


def _emails(raw: object, key: str, where: str, problems: list[str]) -> list[str]:
    """A list of addresses, one line per address that is not one; duplicates kept once."""
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        problems.append(
            f"{where}: '{key}' must be a list of e-mail addresses, like [\"it@example.com\"]"
        )
        return []
    good = []
    for value in raw:
        address = value.strip()
        if EMAIL_ADDRESS.match(address):
            good.append(address)
        else:
            problems.append(
                f"{where}: {key}: '{value}' is not an e-mail address (like it@example.com)"
            )
    return list(dict.fromkeys(good))


def _priority_emails(raw: object, where: str, problems: list[str]) -> dict[str, list[str]]:
    """`priority_emails = { P1 = [...] }`: who else gets the notices of that priority."""
    if not isinstance(raw, dict):
        problems.append(
            f"{where}: 'priority_emails' must be a table like {{ P1 = [\"cio@example.com\"] }}"
        )
        return {}
    lists: dict[str, list[str]] = {}
    for priority, addresses in raw.items():
        if priority not in PRIORITIES:
            problems.append(f"{where}: priority_emails: '{priority}' is not P1, P2, P3 or P4")
            continue
        lists[priority] = _emails(addresses, f"priority_emails.{priority}", where, problems)
    return lists


SMTP_PORTS = {"smtp": 587, "smtps": 465}


def _smtp(url: str, problems: list[str]) -> SmtpServer | None:
    """`BATON_SMTP_URL`, never echoed (it may hold the password): what is wrong, in words."""
    if not url:
        return None
    parsed = urlsplit(url)
    if parsed.scheme not in SMTP_PORTS:
        problems.append(
            "BATON_SMTP_URL must start with smtp:// (STARTTLS when the server offers it) or "
            "smtps:// (TLS from the start), like smtp://user:password@mail.example.com:587"
        )
        return None
    try:
        port = parsed.port or SMTP_PORTS[parsed.scheme]
    except ValueError:
        problems.append("BATON_SMTP_URL: the port is not a number (0-65535)")
        return None
    if not parsed.hostname:
        problems.append("BATON_SMTP_URL has no host name, like smtp://mail.example.com:587")
        return None
    if parsed.path not in ("", "/") or parsed.query or parsed.fragment:
        problems.append("BATON_SMTP_URL must be only smtp[s]://[user[:password]@]host[:port]")
        return None
    # The URL's raw password, as written: split by hand (urlsplit gives it decoded only).
    userinfo = parsed.netloc.rpartition("@")[0]
    raw_password = userinfo.partition(":")[2]
    return SmtpServer(
        host=parsed.hostname,
        port=port,
        implicit_tls=parsed.scheme == "smtps",
        user=unquote(parsed.username or ""),
        password=unquote(parsed.password or ""),
        raw_password=raw_password,
    )


def _mail_from(smtp_url: str, value: str, problems: list[str]) -> str:
    value = value.strip()
    if not smtp_url:  # no e-mail is sent: nothing to check
        return value
    if not value:
        problems.append(
            "BATON_MAIL_FROM is not set, but BATON_SMTP_URL is: give the address notices are "
            "sent from, like baton@example.com"
        )
    elif not EMAIL_ADDRESS.match(value):
        problems.append(
            f"BATON_MAIL_FROM '{value}' is not an e-mail address (like baton@example.com)"
        )
    return value


def _flag(data: dict, key: str, where: str, problems: list[str]) -> bool:
    """A switch: TOML's true or false, not a string that merely looks like one."""
    value = data.get(key, False)
    if not isinstance(value, bool):
        problems.append(f"{where}: '{key}' must be true or false (without quotes), not {value!r}")
        return False
    return value


def _http_url(data: dict, key: str, where: str, problems: list[str]) -> str:
    """An http(s) link people open (a bridge): "" when unset or unusable."""
    value = data.get(key, "")
    if not isinstance(value, str):
        problems.append(
            f"{where}: '{key}' must be a URL in quotes, like \"https://meet.example.com/mi\""
        )
        return ""
    value = value.strip()
    parsed = urlsplit(value)
    if value and (parsed.scheme not in ("http", "https") or not parsed.netloc or " " in value):
        problems.append(
            f"{where}: '{key}' '{value}' is not an http(s) URL (like https://meet.example.com/mi)"
        )
        return ""
    return value


WEBHOOK_KEYS = ("events", "secret", "url")


def _webhooks(raw: object, where: str, problems: list[str]) -> tuple[Webhook, ...]:
    """`[[webhooks]]`: each with `url`, `secret` and optionally `events`. A webhook with a
    problem is left out (and reported): it would only fail at 3 a.m."""
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        problems.append(f"{where}: 'webhooks' must be tables: [[webhooks]] with url and secret")
        return ()
    hooks = []
    for number, table in enumerate(raw, start=1):
        hook = _webhook(table, f"{where}: webhooks #{number}", problems)
        if hook is not None:
            hooks.append(hook)
    return tuple(hooks)


def _webhook(table: dict, at: str, problems: list[str]) -> Webhook | None:
    found = len(problems)
    for key in sorted(set(table) - set(WEBHOOK_KEYS)):
        problems.append(f"{at}: unknown setting '{key}' (known: {', '.join(WEBHOOK_KEYS)})")
    if "url" not in table:
        problems.append(f"{at}: 'url' is missing (like \"https://status.example.com/baton\")")
    url = _http_url(table, "url", at, problems)
    secret = table.get("secret", "")
    if not isinstance(secret, str) or len(secret.strip()) < 16:
        # Not echoed: it is a secret, even when it is a poor one.
        problems.append(
            f"{at}: 'secret' is missing or too short: give at least 16 characters that the "
            "receiver also knows (it signs every delivery)"
        )
    events = _webhook_events(table.get("events", [ALL_EVENTS]), at, problems)
    if len(problems) > found:
        return None
    return Webhook(url=url, secret=secret.strip(), events=events)


def _webhook_events(raw: object, at: str, problems: list[str]) -> frozenset[WebhookEvent]:
    names = ", ".join(WebhookEvent)
    if not isinstance(raw, list) or not raw or not all(isinstance(e, str) for e in raw):
        problems.append(f"{at}: 'events' must be a list of event names, or [\"*\"] ({names})")
        return frozenset()
    if ALL_EVENTS in raw:
        return frozenset(WebhookEvent)
    known = set(WebhookEvent)
    for name in raw:
        if name not in known:
            problems.append(f"{at}: unknown event '{name}' (known: {names}, or \"*\" for all)")
    return frozenset(WebhookEvent(name) for name in raw if name in known)


def _resolver_groups(
    data: dict, where: str, problems: list[str]
) -> tuple[list[str], dict[str, ResolverGroup]]:
    """`resolver_groups`: a list of names, or a table of groups with their integrations."""
    raw = data.get("resolver_groups", DEFAULT_RESOLVER_GROUPS)
    if not isinstance(raw, dict):
        return _catalogue(data, "resolver_groups", DEFAULT_RESOLVER_GROUPS, where, problems), {}
    names = _catalogue({"resolver_groups": list(raw)}, "resolver_groups", [], where, problems)
    groups: dict[str, ResolverGroup] = {}
    known = {"usergroup", "pagerduty_routing_key", "opsgenie_team"}
    for name, table in raw.items():
        at = f"{where}: resolver_groups.{name}"
        if not isinstance(table, dict):
            problems.append(
                f"{at} must be a table (usergroup, pagerduty_routing_key, opsgenie_team)"
            )
            continue
        for key in sorted(set(table) - known):
            problems.append(f"{at}: unknown setting '{key}' (known: {', '.join(sorted(known))})")
        usergroup = str(table.get("usergroup", ""))
        if usergroup and not USER_GROUP_ID.match(usergroup):
            problems.append(f"{at}: usergroup '{usergroup}' is not a user group ID (S…)")
        key = str(table.get("pagerduty_routing_key", ""))
        if key and not ROUTING_KEY.fullmatch(key):
            # Not echoed: it is a secret.
            problems.append(
                f"{at}: pagerduty_routing_key is not a PagerDuty integration key (32 letters "
                "and digits, from the service's Events API v2 integration)"
            )
        team = str(table.get("opsgenie_team", ""))
        if team and not OPSGENIE_TEAM.fullmatch(team):
            problems.append(f"{at}: opsgenie_team '{team}' is not an Opsgenie team name")
        groups[name.strip()] = ResolverGroup(name.strip(), usergroup, key, team)
    return names, groups


def _teams(raw: object, where: str, problems: list[str]) -> dict[str, list[str]]:
    """`[teams]`: team name → Slack user IDs. One team per agent, so no report counts twice."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: 'teams' must be a table of team name = [user IDs]")
        return {}
    teams: dict[str, list[str]] = {}
    team_of: dict[str, str] = {}
    for name, users in raw.items():
        if not name.strip() or not isinstance(users, list):
            problems.append(f"{where}: teams: '{name}' must be a team name with a list of user IDs")
            continue
        teams[name] = []
        for user in users:
            if not isinstance(user, str) or not USER_ID.match(user):
                problems.append(
                    f"{where}: teams: '{user}' in '{name}' is not a Slack user ID (U… or W…)"
                )
            elif user not in team_of:
                team_of[user] = name
                teams[name].append(user)
            elif team_of[user] != name:
                problems.append(
                    f"{where}: teams: '{user}' is in both '{team_of[user]}' and '{name}'"
                )
    return teams


# Slack's signing secrets have 32 characters; one much shorter is a paste gone wrong.
SIGNING_SECRET_MIN = 16


def _database_url_ok(url: str) -> bool:
    """A URL SQLAlchemy has a dialect for (sqlite, postgresql…), not just any scheme."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        make_url(url).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError):
        return False
    return True


def load_settings(*, require_slack: bool = False, env_file: str | None = ".env") -> Settings:
    """Read and validate the configuration; raise ConfigError listing every problem.

    `require_slack` is for `serve`: tokens and channels must then be present and well formed.
    """
    try:
        env = _Env(_env_file=env_file)  # type: ignore[call-arg]  # pydantic-settings' own
    except ValidationError as exc:  # only malformed .env content can get here
        malformed = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(malformed) from None

    problems: list[str] = []
    if require_slack:
        if not env.slack_bot_token:
            problems.append(
                "SLACK_BOT_TOKEN is not set: copy the bot token (xoxb-…) from your "
                "Slack app's 'OAuth & Permissions' page"
            )
        elif not env.slack_bot_token.startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN does not look like a bot token (it starts with xoxb-)")
        if env.slack_app_token and not env.slack_app_token.startswith("xapp-"):
            problems.append(
                "SLACK_APP_TOKEN does not look like an app-level token (it starts with xapp-)"
            )
        secret = env.slack_signing_secret
        if secret and len(secret) < SIGNING_SECRET_MIN:
            problems.append(
                f"SLACK_SIGNING_SECRET is {len(secret)} characters long, too short to be "
                "Slack's (it has 32): copy it again from your Slack app's 'Basic Information' "
                "page"
            )
        if not env.slack_app_token and not secret:
            problems.append(
                "SLACK_SIGNING_SECRET is not set: HTTP mode needs it to verify "
                "requests ('Basic Information' page of your Slack app)"
            )
        for name, value in (
            ("BATON_MIM_CHANNEL", env.baton_mim_channel),
            ("BATON_STAKEHOLDER_CHANNEL", env.baton_stakeholder_channel),
        ):
            if not value:
                problems.append(f"{name} is not set: give the channel ID (like C0123456789)")
            elif not CHANNEL_ID.match(value):
                problems.append(
                    f"{name} '{value}' is not a channel ID (like C0123456789; in "
                    "Slack: channel details, bottom of the About tab)"
                )

    if not env.slack_api_url.startswith(("http://", "https://")):
        problems.append(f"SLACK_API_URL '{env.slack_api_url}' is not an http(s) URL")
    if not _database_url_ok(env.database_url):
        # Not echoed: a mistyped URL may still hold the database password.
        problems.append(
            "DATABASE_URL is not a database Baton can use "
            "(like sqlite:///baton.db or postgresql+psycopg://user@host/baton)"
        )
    try:
        port = int(env.port)
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        problems.append(f"PORT '{env.port}' is not a port number (0-65535)")
        port = 3000

    host = env.baton_host.strip()
    if not HOST.fullmatch(host):
        problems.append(
            f"BATON_HOST '{env.baton_host}' is not an address to listen on (like 127.0.0.1, "
            "0.0.0.0 for every interface, or :: for IPv6)"
        )
    log_format = env.baton_log_format.strip().lower()
    if log_format not in LOG_FORMATS:
        problems.append(f"BATON_LOG_FORMAT '{env.baton_log_format}' is not text or json")
    log_level = env.baton_log_level.strip().upper()
    if log_level not in LOG_LEVELS:
        problems.append(
            f"BATON_LOG_LEVEL '{env.baton_log_level}' is not one of {', '.join(LOG_LEVELS)}"
        )

    initial = _duration("BATON_INITIAL_PHASE", env.baton_initial_phase, problems)
    interval = _duration("BATON_UPDATE_INTERVAL", env.baton_update_interval, problems)
    preflight = _duration("BATON_PREFLIGHT_INTERVAL", env.baton_preflight_interval, problems)

    config_path = Path(env.baton_config).expanduser() if env.baton_config else None
    org = load_org_config(config_path, problems) if config_path else OrgConfig()

    for name, url in (
        ("PAGERDUTY_EVENTS_URL", env.pagerduty_events_url),
        ("OPSGENIE_API_URL", env.opsgenie_api_url),
    ):
        if not url.startswith(("http://", "https://")):
            problems.append(f"{name} '{url}' is not an http(s) URL")
    for name, value in (
        ("OPSGENIE_API_KEY", env.opsgenie_api_key.strip()),
        ("PAGERDUTY_WEBHOOK_SECRET", env.pagerduty_webhook_secret.strip()),
    ):
        if value and len(value) < SIGNING_SECRET_MIN:  # not echoed: it is a secret
            problems.append(f"{name} is {len(value)} characters long: too short to be one")
    alerted = sorted(name for name, g in org.groups.items() if g.opsgenie_team)
    if alerted and not env.opsgenie_api_key:
        problems.append(
            f"OPSGENIE_API_KEY is not set, but resolver groups are alerted through Opsgenie "
            f"({', '.join(alerted)}): give an API key of an Opsgenie API integration"
        )

    smtp = _smtp(env.baton_smtp_url.strip(), problems)
    mail_from = _mail_from(env.baton_smtp_url.strip(), env.baton_mail_from, problems)

    if problems:
        raise ConfigError(problems)
    api_url = env.slack_api_url if env.slack_api_url.endswith("/") else env.slack_api_url + "/"
    return Settings(
        slack_bot_token=env.slack_bot_token,
        slack_signing_secret=env.slack_signing_secret,
        slack_app_token=env.slack_app_token,
        slack_api_url=api_url,
        database_url=env.database_url,
        port=port,
        mim_channel=env.baton_mim_channel,
        stakeholder_channel=env.baton_stakeholder_channel,
        initial_phase=initial,
        update_interval=interval,
        config_path=config_path,
        org=org,
        log_format=log_format,
        log_level=log_level,
        preflight_interval=preflight,
        host=host,
        pagerduty_events_url=env.pagerduty_events_url,
        opsgenie_api_url=env.opsgenie_api_url.rstrip("/"),
        opsgenie_api_key=env.opsgenie_api_key.strip(),
        pagerduty_webhook_secret=env.pagerduty_webhook_secret.strip(),
        smtp=smtp,
        mail_from=mail_from,
    )
