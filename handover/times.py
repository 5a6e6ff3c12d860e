"""Times and durations: everything is stored and compared in UTC; durations are written as
people write them in configuration (`15m`, `90s`, `1h`) and shown as they read them."""

import re
from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


def parse_time(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def plain_time(at: datetime) -> str:
    """A time in plain text (e-mail, a status page, the terminal): `22 Nov 2026 14:30 UTC`.

    UTC because plain text cannot adapt to each reader's zone the way Slack's date tokens do.
    """
    at = at.astimezone(UTC)
    return f"{at.day} {at:%b %Y %H:%M} UTC"


_PART = re.compile(r"(\d+)\s*([smh])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours"}


def parse_duration(text: str) -> timedelta:
    """Parse `15m`, `90s`, `1h30m`; raise ValueError with a message fit for a user."""
    cleaned = text.strip().lower().replace(" ", "")
    parts = _PART.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise ValueError(f"{text!r} is not a duration; write it like 15m, 90s or 1h")
    total = timedelta()
    for number, unit in parts:
        total += timedelta(**{_UNITS[unit]: int(number)})
    if total <= timedelta():
        raise ValueError(f"{text!r} must be longer than zero")
    return total


def humanize(delta: timedelta) -> str:
    """`12 min`, `1 h 5 min`, `40 s`: what a person reads in a hurry, never raw seconds."""
    seconds = int(abs(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
