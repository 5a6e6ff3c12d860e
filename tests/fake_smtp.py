"""A real SMTP server on 127.0.0.1 (aiosmtpd) for the e-mail tests: it records what it takes,
and can refuse the next messages (a 421 or a 550 after DATA), refuse some recipients, demand a
login, or hold a message after DATA (taken, not yet answered) until told to let go."""

from __future__ import annotations

import asyncio
import email
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import free_port


@dataclass
class Received:
    """One message the server took: its envelope and the parsed e-mail."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool = False  # over STARTTLS

    @property
    def plain(self) -> str:
        part = self.message.get_body(("plain",))
        return _text(part.get_content()) if part else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        return _text(part.get_content()) if part else ""


def _text(content: str) -> str:
    """As a mail client shows it: SMTP's CRLF line ends are line ends."""
    return content.replace("\r\n", "\n")


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    # Answers for the next messages' end of DATA ("421 …", "550 …"), one each, in order.
    answers: list[str] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # recipient → "550 …"
    data_seen: int = 0  # messages whose text arrived (taken or not)
    hold: threading.Event | None = None  # set: hold each message after DATA until it is set

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_seen += 1
        if self.answers:
            return self.answers.pop(0)
        message = email.message_from_bytes(envelope.original_content, policy=default)
        taken = Received(
            envelope.mail_from, list(envelope.rcpt_tos), message, session.ssl is not None
        )
        self.received.append(taken)
        # Held: taken (the worst case for a client that dies now), the 250 not said yet. The
        # loop keeps serving others meanwhile; a client that goes away cancels this.
        while self.hold is not None and not self.hold.is_set():
            await asyncio.sleep(0.05)
        return "250 Message accepted for delivery"


class FakeSmtp:
    def __init__(self, login: tuple[str, str] | None = None, tls: ssl.SSLContext | None = None):
        self.handler = Handler()
        self.port = free_port()
        self.logins: list[str] = []
        self.started = False
        self._login = login
        kwargs = {}
        if login:
            kwargs = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": False,  # loopback only, in tests
            }
        if tls:  # STARTTLS offered, and required before anything else (a login too)
            kwargs |= {"tls_context": tls, "require_starttls": True, "auth_require_tls": True}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kwargs)

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append(login)
        # handled=False: aiosmtpd says 235 or 535 itself.
        return AuthResult(success=(login, password) == self._login, handled=False)

    def url(self, userinfo: str = "") -> str:
        at = f"{userinfo}@" if userinfo else ""
        return f"smtp://{at}127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> FakeSmtp:
        self.controller.start()
        self.started = True
        return self

    def stop(self) -> None:
        if self.handler.hold is not None:
            self.handler.hold.set()
        if self.started:
            self.controller.stop()


def self_signed(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1 (openssl), and the server's context with it: clients trust
    it through SSL_CERT_FILE."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run(
        [
            *request,
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context
