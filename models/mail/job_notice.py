"""Email notifications when a job of the command line ends (issue 22, item 7; Alma: "Users can
also be configured to receive email notifications that are sent after a scheduled job runs ...
to manually entered email addresses").

The `job_notify_emails` setting names the addresses (comma-separated, each a valid email: the
Configuration screen and `patrondesk config set` refuse any other). When the purge, the expiry
reminders (`patrondesk letters expiry`) or an import / SIS load ends, one message goes to them
with the job's summary: what it did, counted, and its errors, in the words the command printed
(identifiers and reasons, no personal data). A job that stops on an error is reported too.

The message goes over the letters' SMTP settings and connection (`models.mail.mailer`). It is
not a letter of the outbox, which holds letters to a user (a row per account, kept on their
Attachments tab): a job's notice is about no user. So it is sent at once; when it cannot be,
the job says so on its own output and in History (entity "job_notice"), and the job's result
does not change.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from models import audit
from models.audit import Actor
from models.config.settings import Settings, load_settings
from models.enums import AuditAction, Source
from models.runtime import runtime
from models.text import printable
from models.users.validation import FieldError

JOBS = {
    "purge": "Purge",
    "expiry": "Expiry reminders",
    "import": "Import",
    "sis_load": "SIS load",
}
MAX_ADDRESSES = 20
MAX_LINES = 200  # a summary of a huge load lists its first errors, as the command does


def notify_addresses(text: str) -> list[str]:
    """The addresses of the `job_notify_emails` setting, checked and normalized; raises
    `FieldError` naming the first one that is not an email address."""
    from models.users.validation import check_email

    parts = [p.strip() for p in (text or "").replace(";", ",").split(",")]
    parts = [p for p in parts if p]
    if len(parts) > MAX_ADDRESSES:
        raise FieldError(f"names {len(parts)} addresses: at most {MAX_ADDRESSES}")
    out: list[str] = []
    for part in parts:
        try:
            address = check_email(part)
        except FieldError as exc:
            raise FieldError(f"{printable(part)!r} {exc}") from None
        if address.casefold() not in {a.casefold() for a in out}:
            out.append(address)
    return out


@dataclass(frozen=True)
class NoticeResult:
    """What became of a job's notice: `sent_to` the addresses the server took; `error` in words
    when it could not be sent (empty when it was, or when nobody is to be told)."""

    sent_to: tuple[str, ...] = ()
    error: str = ""

    def line(self) -> str:
        """One line for the job's output; "" when nobody is to be told."""
        if self.error:
            return f"Notification not sent: {self.error}"
        if self.sent_to:
            return f"Notification sent to {', '.join(self.sent_to)}."
        return ""


def notice_text(job: str, lines: list[str], *, failed: bool = False) -> tuple[str, str]:
    """The subject and text of a job's notice."""
    name = JOBS.get(job, job)
    now = runtime.now()
    subject = f"PatronDesk: {name} {'failed' if failed else 'ended'} {now:%Y-%m-%d %H:%M} UTC"
    shown = [printable(line) for line in lines[:MAX_LINES]]
    if len(lines) > MAX_LINES:
        shown.append(f"... and {len(lines) - MAX_LINES} more lines (see the job's own output).")
    body = (
        f"The job \u201c{name}\u201d {'stopped on an error' if failed else 'ended'} at "
        f"{now:%Y-%m-%d %H:%M:%S} UTC.\n\n" + "\n".join(shown) + "\n"
    )
    return subject, body


def notify_job_end(
    job: str, lines: list[str], *, failed: bool = False, settings: Settings | None = None
) -> NoticeResult:
    """Tell the `job_notify_emails` addresses that `job` ended, with its summary `lines`.
    Never raises for a delivery that fails: the result says why."""
    from models.mail.mailer import Connection, DeliveryError, _sender, _words

    settings = settings or load_settings()
    try:
        addresses = notify_addresses(settings.job_notify_emails)
    except FieldError as exc:  # stored before the check existed, or written by hand
        return NoticeResult(error=f"the setting job_notify_emails {exc}")
    if not addresses:
        return NoticeResult()
    subject, body = notice_text(job, lines, failed=failed)
    error = ""
    refused: dict = {}
    try:
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = _sender(settings)
        message["To"] = ", ".join(addresses)
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain="patrondesk")
        message.set_content(body)
        with Connection(settings) as connection:
            refused = connection.open().send_message(message, to_addrs=addresses)
    except DeliveryError as exc:
        error = str(exc)
    except (smtplib.SMTPException, OSError) as exc:
        error = _words(exc)
    sent = tuple(a for a in addresses if a not in refused) if not error else ()
    if refused and not error:
        error = "refused: " + ", ".join(refused)
    audit.record(
        Actor(None, Source.JOB),
        AuditAction.CREATE,
        entity="job_notice",
        entity_id=None,
        field="job_notice",
        new=f"{JOBS.get(job, job)}: "
        + (f"sent to {', '.join(sent)}" if sent else "")
        + (f"{'; ' if sent else ''}not sent: {error[:200]}" if error else ""),
    )
    return NoticeResult(sent, error)
