"""A real SMTP server on loopback for the letter tests (aiosmtpd, on a free port): it keeps
every message it accepts, can refuse the next ones, ask for a login, or speak TLS (STARTTLS or
SSL) with a certificate made for the test run by `openssl`. Each test file makes its fixture
from `serve`:

    @pytest.fixture
    def smtp(db) -> Iterator[SmtpServer]:
        with serve() as server:
            yield server
"""

from __future__ import annotations

import email
import shutil
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from models.config.settings import set_setting

USER, PASSWORD = "librarian", "Smtp-Secret-9"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content().replace("\r\n", "\n")

    @property
    def files(self) -> dict[str, bytes]:
        return {
            part.get_filename(): part.get_content()
            if isinstance(part.get_content(), bytes)
            else part.get_content().encode()
            for part in self.message.iter_attachments()
        }


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    refuse: int = 0  # refuse the next N messages with a temporary error

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802, ANN001
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 Mailbox busy, try again later"
        message = email.message_from_bytes(envelope.content, policy=default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
    ok = (
        getattr(auth_data, "login", b"") == USER.encode()
        and getattr(auth_data, "password", b"") == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SmtpServer:
    handler: Handler
    port: int
    security: str = "none"
    login: bool = False

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def configure(self, **extra: object) -> None:
        """Point the database's SMTP settings at this server."""
        set_setting("smtp_host", "127.0.0.1")
        set_setting("smtp_port", self.port)
        set_setting("smtp_security", self.security)
        set_setting("smtp_user", USER if self.login else "")
        set_setting("smtp_password", PASSWORD if self.login else "")
        set_setting("smtp_from", "library@example.org")
        for key, value in extra.items():
            set_setting(key, value)


def start(
    *,
    security: str = "none",
    login: bool = False,
    certificate: tuple[Path, Path] | None = None,
) -> tuple[Controller, SmtpServer]:
    handler = Handler()
    port = free_port()
    kwargs: dict = {}
    if login:
        # Implicit SSL wraps the socket below aiosmtpd, which then cannot tell TLS is on.
        kwargs.update(authenticator=_authenticate, auth_require_tls=security == "starttls")
    if security != "none":
        assert certificate is not None
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_context.load_cert_chain(str(certificate[0]), str(certificate[1]))
        if security == "ssl":
            kwargs["ssl_context"] = server_context
        else:
            kwargs.update(tls_context=server_context, require_starttls=True)
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, SmtpServer(handler, port, security, login)


@contextmanager
def serve(**kwargs: object) -> Iterator[SmtpServer]:
    """A running server (see `start`) and the settings pointing at it; stopped after."""
    controller, server = start(**kwargs)
    try:
        server.configure()
        yield server
    finally:
        controller.stop()


_CERTIFICATE: list[tuple[Path, Path]] = []


def certificate() -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (certificate, key), made once per test run."""
    if _CERTIFICATE:
        return _CERTIFICATE[0]
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = Path(tempfile.mkdtemp(prefix="patrondesk-tls-"))
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    _CERTIFICATE.append((cert, key))
    return cert, key
