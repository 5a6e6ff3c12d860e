"""Time helpers: everything is stored and compared in UTC."""

from datetime import UTC, datetime


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
