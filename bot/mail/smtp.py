"""One SMTP session, and what the server's answers mean for the outbox: done (for some or all
recipients), try again later (4xx, the network), or refused for good (5xx)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

from handover.settings import SmtpServer

TIMEOUT = 10  # seconds per command: the outbox tries again later rather than wait long


@dataclass
class MailRefused(Exception):
    """The server did not take the e-mail. `retryable` when trying again may work."""

    error: str
    retryable: bool

    def __str__(self) -> str:
        return self.error


class MailSettled(Exception):
    """The attempt is over and the row already marked (sent, or settled as uncertain)."""


@dataclass
class Delivered:
    accepted: list[str]
    refused: dict[str, str] = field(default_factory=dict)  # address → the server's answer


def _answer(code: int, text: bytes | str) -> str:
    words = text.decode(errors="replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(words.split())}"[:200]


def _temporary(code: int) -> bool:
    return 400 <= code < 500


def _connect(server: SmtpServer) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if server.implicit_tls:
        return smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT, context=context)
    smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
    smtp.ehlo()
    if smtp.has_extn("starttls"):  # smtp://: upgraded whenever the server offers it
        smtp.starttls(context=context)
        smtp.ehlo()
    return smtp


def check(server: SmtpServer) -> list[str]:
    """`baton check`: can Baton reach the server and log in? One line per problem, never the
    URL (it may hold the password)."""
    where = f"BATON_SMTP_URL ({server.host}:{server.port})"
    try:
        smtp = _connect(server)
    except smtplib.SMTPResponseException as exc:
        answer = _answer(exc.smtp_code, exc.smtp_error)
        return [f"{where}: the mail server refused the connection ({answer})"]
    except (smtplib.SMTPException, OSError) as exc:
        return [f"{where}: the mail server cannot be reached ({type(exc).__name__})"]
    try:
        if server.user:
            _login(smtp, server)
        return []
    except MailRefused as exc:
        return [f"{where}: {exc.error}: the server offers no login Baton can use"]
    except smtplib.SMTPResponseException as exc:
        return [
            f"{where}: the mail server refused the login of '{server.user}' "
            f"({_answer(exc.smtp_code, exc.smtp_error)}): check the user and password"
        ]
    except (smtplib.SMTPException, OSError) as exc:
        return [f"{where}: logging in failed ({type(exc).__name__}: {exc})"[:300]]
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def send(
    server: SmtpServer,
    sender: str,
    to: list[str],
    message: EmailMessage,
    *,
    before_data: Callable[[], bool],
    refused_data: Callable[[], None],
) -> Delivered:
    """Send `message` to `to`. `before_data` records that the text is about to be handed over
    (False: stop, the row is another sender's); `refused_data` clears that record when the
    server answered DATA with a refusal (it does not have the e-mail)."""
    try:
        smtp = _connect(server)
    except smtplib.SMTPResponseException as exc:
        raise MailRefused(
            _answer(exc.smtp_code, exc.smtp_error), _temporary(exc.smtp_code)
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailRefused(f"unreachable ({type(exc).__name__})", retryable=True) from None
    try:
        return _session(smtp, server, sender, to, message, before_data, refused_data)
    except smtplib.SMTPResponseException as exc:
        raise MailRefused(
            _answer(exc.smtp_code, exc.smtp_error), _temporary(exc.smtp_code)
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise MailRefused(f"connection lost ({type(exc).__name__})", retryable=True) from None
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()  # the server went first: nothing is lost, the answer is in


def _login(smtp: smtplib.SMTP, server: SmtpServer) -> None:
    """Log in; a server that offers no login, or none smtplib speaks, will not change its mind:
    refused for good (a 4xx answer, such as 454, is still worth another try)."""
    try:
        smtp.login(server.user, server.password)
    except smtplib.SMTPResponseException:
        raise
    except smtplib.SMTPException as exc:  # not offered, or no mechanism in common
        raise MailRefused(f"login impossible: {exc}"[:200], retryable=False) from None


def _session(
    smtp: smtplib.SMTP,
    server: SmtpServer,
    sender: str,
    to: list[str],
    message: EmailMessage,
    before_data: Callable[[], bool],
    refused_data: Callable[[], None],
) -> Delivered:
    if server.user:
        _login(smtp, server)
    code, text = smtp.mail(sender)
    if code != 250:
        raise MailRefused(f"MAIL FROM: {_answer(code, text)}", _temporary(code))
    delivered = Delivered([])
    for address in to:
        code, text = smtp.rcpt(address)
        if code in (250, 251):
            delivered.accepted.append(address)
        else:
            delivered.refused[address] = _answer(code, text)
    if not delivered.accepted:
        answers = "; ".join(f"{a}: {e}" for a, e in delivered.refused.items())
        # Worth another try while any refusal was temporary (a full mailbox, greylisting).
        temporary = any(e.startswith("4") for e in delivered.refused.values())
        raise MailRefused(f"every recipient refused ({answers})"[:300], temporary)
    if not before_data():
        raise MailSettled
    try:
        # CRLF line ends, as SMTP wants them (smtplib does not fix the ends of bytes).
        code, text = smtp.data(message.as_bytes(policy=SMTP_POLICY))
    except smtplib.SMTPDataError as exc:  # DATA itself refused: no text went
        refused_data()
        raise MailRefused(
            _answer(exc.smtp_code, exc.smtp_error), _temporary(exc.smtp_code)
        ) from None
    if code != 250:  # a clear answer: the server does not have it
        refused_data()
        raise MailRefused(_answer(code, text), _temporary(code))
    return delivered
