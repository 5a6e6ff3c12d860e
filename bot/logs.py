"""Logging for `baton serve`: text or one JSON object a line, and never a secret.

The redaction is a filter on the handler, not on a logger, so it sees every record that is
written, whichever library logged it (bolt, slack_sdk, waitress, APScheduler, Alembic).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import quote

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from handover.settings import Settings

REDACTED = "[redacted]"
MIN_SECRET = 8
# Anything shaped like a Slack token: bot, user, app-level, refresh, configuration tokens.
TOKEN = re.compile(r"\bxox[a-z]-[A-Za-z0-9-]+|\bxapp-[A-Za-z0-9-]+")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What every LogRecord has; anything else was passed as `extra=` and goes into the JSON.
STANDARD_ATTRS = {
    *vars(logging.LogRecord("", 0, "", 0, "", None, None)),
    "message",
    "asctime",
    "taskName",
}


# Libraries' chatter that says nothing to an operator, or that Baton says better itself: every
# Slack failure is logged once, in Baton's words, by whoever handles it (delivery, preflight).
QUIET = {
    "alembic": logging.WARNING,
    "apscheduler": logging.WARNING,
    "slack_sdk.web.base_client": logging.CRITICAL,
}


class Unneeded(logging.Filter):
    """bolt's "As you gave `client` as well, `token` will be unused": Baton gives its own
    client on purpose (retries, timeouts), and bolt reads SLACK_BOT_TOKEN from the environment
    anyway."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "slack_bolt.App" and "will be unused" in record.getMessage())


class Redactor(logging.Filter):
    """Removes Slack tokens and the given secret values from a record's every text."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        # Longest first, so a secret containing another is removed whole. One of a few
        # characters cannot be removed without garbling every line ("tran[redacted]actional");
        # `baton check` refuses a signing secret that short.
        self.secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        text = TOKEN.sub(REDACTED, text)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record (nor its args)
            message = f"{record.msg} {record.args!r}"
        # The args are merged into the message here, so none can slip through unredacted.
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, extra fields, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in STANDARD_ATTRS:
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


def database_password(url: str) -> list[str]:
    """The password in DATABASE_URL, as written in it (%-encoded) and as decoded."""
    try:
        password = make_url(url).password or ""
    except ArgumentError:  # not a URL: nothing to take from it
        return []
    return [password, quote(password, safe="")]


def safe_url(url: str) -> str:
    """The database URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"


def configure_logging(settings: Settings) -> None:
    """Route every log record (and uncaught exceptions) through one redacting handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(Unneeded())
    handler.addFilter(Redactor([*settings.secrets, *database_password(settings.database_url)]))
    json_lines = settings.log_format == "json"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    if settings.log_level != "DEBUG":  # asked for everything: everything it is
        for name, level in QUIET.items():
            logging.getLogger(name).setLevel(level)
    logging.captureWarnings(True)

    # Uncaught exceptions would otherwise print a raw traceback: neither JSON nor redacted.
    crash = logging.getLogger("baton.crash")

    def on_thread_exception(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is not SystemExit:
            exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
            name = args.thread.name if args.thread else "?"
            crash.error("uncaught exception in thread %s", name, exc_info=exc_info)

    threading.excepthook = on_thread_exception
    sys.excepthook = lambda *exc_info: crash.critical("uncaught exception", exc_info=exc_info)
