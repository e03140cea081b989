"""Delivering the outbox over SMTP with the standard library (`smtplib`): STARTTLS, SSL or a
plain connection, with an optional login, as the settings say (`smtp_*`).

A letter is claimed before it is sent (queued/failed -> sending, in one conditional update), so
two senders never both send it; it ends sent (kept on the Attachments tab as the message sent,
`.eml`) or failed with the server's words, and `send_pending` (`patrondesk letters send`) tries
the failed ones again. A password-reset letter is sent once, at once: its code is not kept, so
a failed one is not retried (the user asks for a new code).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from models import audit
from models.audit import Actor
from models.config.settings import Settings, load_settings
from models.enums import AuditAction, LetterKind, LetterStatus, Source
from models.mail.letters import (
    LETTER_COPY_MIME,
    PENDING,
    SECRET_KINDS,
    Recipients,
    kind_label,
    letter_files,
)
from models.runtime import runtime
from models.store.base import database
from models.store.tables import Attachment, Letter

TIMEOUT_SECONDS = 30
NOT_RETRIED = "the code is not kept, so this letter is not retried: the user asks for a new code"


def tls_context() -> ssl.SSLContext:
    """The TLS context for STARTTLS and SSL: the system's trusted certificates, host names
    checked. (Tests point it at their own certificate.)"""
    return ssl.create_default_context()


class DeliveryError(Exception):
    """A delivery failed; the message is what the outbox shows."""


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (letter id, error)


def _sender(settings: Settings) -> str:
    sender = settings.smtp_from or settings.smtp_user
    if not sender:
        raise DeliveryError("no sender address: set smtp_from in the settings")
    return sender


class Connection:
    """One SMTP session, opened at the first letter and reused for the next ones."""

    def __init__(self, settings: Settings, timeout: float = TIMEOUT_SECONDS) -> None:
        self.settings, self.timeout = settings, timeout
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> smtplib.SMTP:
        if self.smtp is not None:
            return self.smtp
        s = self.settings
        if not s.smtp_host:
            raise DeliveryError("SMTP is not configured: set smtp_host in the settings")
        security = (s.smtp_security or "starttls").lower()
        if security not in ("starttls", "ssl", "none"):
            raise DeliveryError(f"smtp_security {s.smtp_security!r} is not starttls, ssl or none")
        try:
            if security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, timeout=self.timeout, context=tls_context()
                )
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=self.timeout)
                if security == "starttls":
                    smtp.starttls(context=tls_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"the SMTP server refused the login: {_words(exc)}") from None
        except smtplib.SMTPException as exc:
            raise DeliveryError(f"SMTP error: {_words(exc)}") from None
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryError(
                f"cannot reach the SMTP server {s.smtp_host}:{s.smtp_port}: {_words(exc)}"
            ) from None
        self.smtp = smtp
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _words(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return f"{exc.smtp_code} {text}".strip()
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{address}: {_code_text(r)}" for address, r in exc.recipients.items())
    if isinstance(exc, socket.timeout | TimeoutError):
        return "no answer (timed out)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _code_text(reply: tuple[int, bytes]) -> str:
    code, text = reply
    return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"


def build_message(letter: Letter, body: str, settings: Settings) -> EmailMessage:
    """The email of a letter: text, its files, To and Cc as stored."""
    to = Recipients.parse(letter.recipients)
    message = EmailMessage()
    message["Subject"] = letter.subject
    message["From"] = _sender(settings)
    message["To"] = ", ".join(to.to)
    if to.cc:
        message["Cc"] = ", ".join(to.cc)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain="patrondesk")
    message["Content-Language"] = letter.language
    message.set_content(body)
    for f in letter_files(letter):
        maintype, _, subtype = (f.mime_type or "application/octet-stream").partition("/")
        message.add_attachment(
            bytes(f.data), maintype=maintype, subtype=subtype or "octet-stream", filename=f.name
        )
    return message


def _claim(letter_id: int) -> bool:
    """queued/failed -> sending, for one sender only."""
    with database.atomic():
        return bool(
            Letter.update(status=LetterStatus.SENDING.value, attempts=Letter.attempts + 1)
            .where((Letter.id == letter_id) & Letter.status.in_(PENDING))
            .execute()
        )


def _finish(letter: Letter, actor: Actor, error: str | None, copy: bytes | None) -> None:
    now = runtime.now()
    with database.atomic():
        if error is None:
            Letter.update(status=LetterStatus.SENT.value, sent_at=now, error="").where(
                Letter.id == letter.id
            ).execute()
            Attachment.create(
                account=letter.account_id,
                name=f"{now:%Y-%m-%d} {kind_label(letter.kind)} {letter.id}.eml",
                size=len(copy or b""),
                mime_type=LETTER_COPY_MIME,
                note=f"Letter sent to {letter.recipients}",
                data=copy or b"",
                letter=letter.id,
                created_by=actor.name,
                created_at=now,
            )
        else:
            Letter.update(status=LetterStatus.FAILED.value, error=error[:2000]).where(
                Letter.id == letter.id
            ).execute()
        audit.record(
            actor,
            AuditAction.UPDATE,
            entity="letter",
            entity_id=letter.id,
            account_id=letter.account_id,
            person_id=letter.account.person_id,
            field="status",
            old=LetterStatus.QUEUED.value,
            new=f"sent to {letter.recipients}" if error is None else f"failed: {error[:200]}",
        )


def deliver(
    letter_id: int,
    *,
    body: str | None = None,
    settings: Settings | None = None,
    connection: Connection | None = None,
    actor: Actor | None = None,
) -> bool:
    """Send one letter now; True when the server accepted it. A failure is kept on the letter
    (status failed, the error in words). `body` replaces the kept text (a password-reset code,
    which is not stored). False also when another sender had claimed the letter."""
    settings = settings or load_settings()
    actor = actor or Actor(None, Source.JOB)
    if not _claim(letter_id):
        return False
    letter = Letter.get_by_id(letter_id)
    own = connection is None
    connection = connection or Connection(settings)
    error: str | None = None
    copy: bytes | None = None
    try:
        smtp = connection.open()
        message = build_message(letter, body if body is not None else letter.body, settings)
        to = Recipients.parse(letter.recipients)
        try:
            refused = smtp.send_message(message, to_addrs=[*to.to, *to.cc])
        except smtplib.SMTPServerDisconnected:
            connection.close()  # a server that closed an idle session: one new try
            refused = connection.open().send_message(message, to_addrs=[*to.to, *to.cc])
        kept = message if body is None else build_message(letter, letter.body, settings)
        copy = bytes(kept)
        if refused:
            # Sent to the others: the refused addresses are noted on the letter.
            error = "refused: " + "; ".join(f"{a}: {_code_text(r)}" for a, r in refused.items())
    except DeliveryError as exc:
        error = str(exc)
    except (smtplib.SMTPException, OSError) as exc:
        connection.close()
        error = _words(exc)
    finally:
        if own:
            connection.close()
    if error is not None and copy is not None:  # partly refused: sent, with a note
        _finish(letter, actor, None, copy)
        Letter.update(error=error[:2000]).where(Letter.id == letter.id).execute()
        return True
    if error is not None and letter.kind == LetterKind.PASSWORD_RESET:
        error = f"{error}; {NOT_RETRIED}"
    elif error is not None and letter.kind == LetterKind.PIN:
        error = f"{error}; the PIN is not kept, so this letter is not retried: set a new PIN"
    _finish(letter, actor, error, copy)
    return error is None


def deliver_now(letter_id: int, actor: Actor | None = None) -> tuple[bool, str]:
    """Send one letter now (`deliver`) and say how it went: (True, "") or (False, the error
    kept on the letter), for a screen to show."""
    if deliver(letter_id, actor=actor):
        return True, ""
    error = Letter.select(Letter.error).where(Letter.id == letter_id).scalar()
    return False, error or "not sent"


def send_pending(settings: Settings | None = None, *, limit: int | None = None) -> SendReport:
    """Deliver every queued or failed letter, oldest first, over one SMTP session
    (`patrondesk letters send`). Password-reset and PIN letters are not retried (their secret is
    gone)."""
    settings = settings or load_settings()
    report = SendReport()
    query = (
        Letter.select(Letter.id)
        .where(Letter.status.in_(PENDING) & Letter.kind.not_in(list(SECRET_KINDS)))
        .order_by(Letter.id)
    )
    if limit:
        query = query.limit(limit)
    ids = [row.id for row in query]
    with Connection(settings) as connection:
        for letter_id in ids:
            if deliver(letter_id, settings=settings, connection=connection):
                report.sent += 1
            else:
                letter = Letter.get_by_id(letter_id)
                if letter.status == LetterStatus.FAILED:
                    report.failed += 1
                    report.errors.append((letter_id, letter.error))
    return report
