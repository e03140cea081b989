"""Letters to users (domain.md section 9; issue 9): written from templates in the account's
communication language, kept in an outbox (the `letter` table) and delivered over SMTP by
`models.mail.mailer`.

Rules chosen here (each says why):

- **Recipients.** Channel "email": the preferred email (else the login email), the account's
  additional communication email (RERO ILS: "a copy of all notifications"; without a main email,
  letters go there alone), and every address of type CC (Alma: "sent to all of the CC
  addresses, in addition to the address that is marked as Preferred"). Channel "mail", or no
  email at all: the letter goes to the email of the organization's first library that has one,
  for printing and posting, with the postal address at its top; CC addresses still get their
  copy. The password-reset code goes only to the person's own email: never to a CC, an
  additional address or the library, which could otherwise take the account over.
- **Language.** The account's communication language when a template exists for it (English,
  French, German and Italian ship: RERO's Swiss libraries), else English. A library overrides
  any template by putting `<language>/<kind>.txt` in the folder named by the
  `letter_templates_dir` setting; a file there for a new language adds that language. A
  template's first line is `Subject: ...`; `$name` style placeholders are filled
  (`string.Template`: a template cannot run code).
  reminder (`OPTIONAL_KINDS`); Alma's "Selected patron letters" has a switch for each
  (`Account.letter_general`, `Account.letter_expiry_reminder`), and one goes when its switch
  and the old single one, `letters_opt_in` ("Receives letters", the patron's own choice on My
  account), are both on. The password-reset code, the PIN letter, the personal-information
  letter (asked for by the person) and the deletion notice (about money or loans they owe) are
  service letters and always go.
- **Secrets.** The password-reset code and a new PIN are in the letter sent, never in what is
  kept (the letter's text, its `.eml` copy, History): they are masked there, the letter is
  delivered at once and never retried or resent (`SECRET_KINDS`).
- **Outbox.** A letter is queued, then delivered; a failed delivery stays with its error and
  is retried by `patrondesk letters send`. Each sent letter is kept on the user's Attachments
  tab as the message sent (`.eml`), and can be resent (a new letter, to today's addresses, with
  the same text and files). Administrators see the outbox (`Action.CONFIGURE`); staff who may
  add attachments (`Action.MANAGE_ATTACHMENTS`) write and resend letters, since each becomes an
  attachment of the record.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from peewee import IntegrityError

from models import audit
from models.access.permissions import Action, authorize
from models.access.scope import INSTITUTION_ONLY, scope_of
from models.audit import Actor
from models.config.settings import Settings, load_settings
from models.enums import AuditAction, Channel, EmailType, LetterKind, LetterStatus, Source, Status
from models.errors import NotFound, PatronDeskError, ValidationError
from models.runtime import runtime
from models.store.base import database
from models.store.tables import Account, Address, Attachment, Email, Letter, Library, Person
from models.text import normalize_lines, plural, unsafe_problem
from models.users.accounts import full_name
from models.users.deletion_reasons import deletion_problems

TEMPLATES = Path(__file__).with_name("letter_templates")
DEFAULT_LANGUAGE = "en"
# The letters a patron may decline, each with its switch on the account (Alma's "Selected patron
# letters"); `Account.letters_opt_in` off declines them all.
OPTIONAL_KINDS: dict[LetterKind, str] = {
    LetterKind.GENERAL: "letter_general",
    LetterKind.EXPIRY_REMINDER: "letter_expiry_reminder",
}
# Letters whose secret is sent but not kept: delivered at once, never retried nor resent.
SECRET_KINDS = frozenset({LetterKind.PASSWORD_RESET.value, LetterKind.PIN.value})
SECRET_MASK = "********"
# The sent message, kept on the Attachments tab.
LETTER_COPY_MIME = "message/rfc822"
CC_MARK = "cc:"
KIND_LABELS = {
    LetterKind.GENERAL: "General message",
    LetterKind.PERSONAL_INFORMATION: "Personal information",
    LetterKind.PASSWORD_RESET: "Password reset code",
    LetterKind.DELETION_NOTICE: "Deletion notice",
    LetterKind.EXPIRY_REMINDER: "Expiry reminder",
    LetterKind.PIN: "PIN",
}
# Letters waiting for a delivery (what `patrondesk letters send` takes).
PENDING = (LetterStatus.QUEUED.value, LetterStatus.FAILED.value)


class LetterRefused(PatronDeskError):
    """This letter cannot be written to this user (opted out, no address); the message says why."""


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    body: str


@dataclass(frozen=True)
class File:
    """A file attached to a letter."""

    name: str
    mime_type: str
    data: bytes


def kind_label(kind: str) -> str:
    try:
        return KIND_LABELS[LetterKind(kind)]
    except ValueError:
        return kind.replace("_", " ").capitalize()


# --- Templates ----------------------------------------------------------------------------------


def _template_file(kind: str, language: str, settings: Settings) -> Path | None:
    folders = (
        [Path(settings.letter_templates_dir).expanduser()] if settings.letter_templates_dir else []
    )
    for folder in [*folders, TEMPLATES]:
        path = folder / language / f"{kind}.txt"
        if path.is_file():
            return path
    return None


def template_language(kind: str, language: str, settings: Settings) -> str:
    """The language a letter of `kind` is written in for a user who wants `language`."""
    language = (language or "").strip().lower()
    if language and _template_file(kind, language, settings) is not None:
        return language
    return DEFAULT_LANGUAGE


def render(kind: str, language: str, values: dict[str, str], settings: Settings) -> Rendered:
    """The letter's subject and text from its template, placeholders filled."""
    used = template_language(kind, language, settings)
    path = _template_file(kind, used, settings)
    if path is None:
        raise LetterRefused(f"No template for the letter {kind!r}.")
    text = path.read_text(encoding="utf-8")
    filled = string.Template(text).safe_substitute(values)
    first, _, rest = filled.partition("\n")
    if first.lower().startswith("subject:"):
        subject, body = first.split(":", 1)[1].strip(), rest.lstrip("\n")
    else:  # a library's template without a subject line: the kind names the letter
        subject, body = kind_label(kind), filled
    return Rendered(used, subject[:300], body.rstrip() + "\n")


# --- Addresses ----------------------------------------------------------------------------------


def own_email(person: Person) -> str | None:
    """Where a password reset code goes: the login email and nothing else. A contact email
    can be added by a desk (or an import), so sending a code there would hand the login to
    whoever added it."""
    return person.email or None


def print_library(account: Account) -> Library | None:
    """The library whose email receives the letters sent by post: the organization's first
    library (oldest) that has an email address."""
    return (
        Library.select()
        .where(
            (Library.organization == account.organization_id)
            & Library.email.is_null(False)
            & (Library.email != "")
        )
        .order_by(Library.id)
        .first()
    )


@dataclass(frozen=True)
class Recipients:
    to: list[str]
    cc: list[str] = field(default_factory=list)
    by_post: bool = False  # addressed to the library, to be printed and posted

    def stored(self) -> str:
        """As kept in `Letter.recipients`: "a@x, cc:b@y"."""
        return ", ".join([*self.to, *(CC_MARK + a for a in self.cc)])

    @classmethod
    def parse(cls, text: str) -> Recipients:
        parts = [p.strip() for p in (text or "").split(",") if p.strip()]
        return cls(
            to=[p for p in parts if not p.startswith(CC_MARK)],
            cc=[p.removeprefix(CC_MARK) for p in parts if p.startswith(CC_MARK)],
        )


def _unique(addresses: Iterable[str | None], skip: Iterable[str] = ()) -> list[str]:
    seen = {a.casefold() for a in skip}
    out = []
    for address in addresses:
        if address and address.casefold() not in seen:
            seen.add(address.casefold())
            out.append(address)
    return out


def recipients_for(account: Account, kind: str) -> Recipients:
    """Who receives a letter of `kind` for this account (see the module's rules). Raises
    `LetterRefused` when there is nobody to send it to."""
    person = account.person
    if kind == LetterKind.PASSWORD_RESET:
        address = own_email(person)
        if not address:
            raise LetterRefused("This user has no email address: ask the library.")
        return Recipients([address])
    emails = list(Email.select().where(Email.person == person).order_by(Email.id))
    preferred = next((e.address for e in emails if e.preferred), None) or person.email
    main = _unique([preferred, account.additional_email])
    by_post = account.comm_channel == Channel.MAIL or not main
    if by_post:
        library = print_library(account)
        if library is None:
            raise LetterRefused(
                "This user's letters go by post, and no library has an email address to receive "
                "them for printing: set one in the library's configuration."
            )
        main = [library.email]
    cc = _unique((e.address for e in emails if e.email_type == EmailType.CC), skip=main)
    return Recipients(main, cc, by_post)


def _postal_block(account: Account) -> str:
    """Name and postal address at the top of a letter the library prints and posts."""
    person = account.person
    address = (
        Address.select()
        .where(Address.person == person)
        .order_by(Address.preferred.desc(), Address.id)
        .first()
    )
    lines = [_greeting_name(person)]
    if address is not None:
        lines += [address.line1, address.line2, address.line3, address.line4, address.line5]
        lines.append(" ".join(p for p in (address.postal_code, address.city) if p))
        lines += [address.state, address.country]
    else:
        lines.append("(no postal address on record)")
    block = "\n".join(line for line in lines if line)
    return f"[To be printed and posted to:]\n{block}\n\n"


# --- Queueing -----------------------------------------------------------------------------------


def _greeting_name(person: Person) -> str:
    first = person.preferred_first_name or person.first_name
    last = person.preferred_last_name or person.last_name
    return f"{first} {last}".strip()


def _organization_library(account: Account) -> Library | None:
    return (
        Library.select()
        .where(Library.organization == account.organization_id)
        .order_by(Library.id)
        .first()
    )


def base_values(account: Account) -> dict[str, str]:
    """The placeholders every template may use."""
    library = _organization_library(account)
    return {
        "name": _greeting_name(account.person),
        "full_name": full_name(account.person),
        "primary_id": account.primary_id,
        "organization": account.organization.name,
        "library": library.name if library else account.organization.name,
        "date": runtime.today().isoformat(),
        "expiry_date": account.expiry_date.isoformat() if account.expiry_date else "",
    }


def receives(account: Account, kind: str) -> bool:
    """Whether the patron receives letters of `kind`: always for a service letter; for one
    they may decline, when "Receives letters" and the letter's own switch are both on."""
    column = OPTIONAL_KINDS.get(kind)  # type: ignore[call-overload]
    return column is None or bool(account.letters_opt_in and getattr(account, column))


def _check_opt_in(account: Account, kind: str) -> None:
    if receives(account, kind):
        return
    if not account.letters_opt_in:
        raise LetterRefused("This user has opted out of patron letters.")
    raise LetterRefused(f"This user does not receive the letter \u201c{kind_label(kind)}\u201d.")


def _load(account_id: int) -> Account:
    account = Account.get_or_none(Account.id == account_id)
    if account is None:
        raise NotFound("This user no longer exists: another staff user may have deleted it.")
    return account


def queue_letter(
    account: Account,
    kind: LetterKind,
    values: dict[str, str],
    actor: Actor,
    *,
    files: Iterable[File] = (),
    once_key: str | None = None,
    settings: Settings | None = None,
) -> Letter:
    """Write a letter of `kind` into the outbox with its files (kept as attachments of the
    record, linked to the letter). Checks opt-out and recipients; no permission check (the
    `queue_*` functions do it). Raises `IntegrityError` when `once_key` was used already."""
    return queue_letter_masked(
        account, kind, values, actor, files=files, once_key=once_key, settings=settings
    )[0]


def queue_letter_masked(
    account: Account,
    kind: LetterKind,
    values: dict[str, str],
    actor: Actor,
    *,
    files: Iterable[File] = (),
    once_key: str | None = None,
    settings: Settings | None = None,
    mask: dict[str, str] | None = None,
) -> tuple[Letter, str]:
    """`queue_letter`, returning also the text to send. With `mask` (placeholder -> what is
    kept instead), the kept text has those values masked: a password-reset code is sent but
    never stored in the clear."""
    settings = settings or load_settings()
    _check_opt_in(account, kind)
    to = recipients_for(account, kind)
    rendered = render(kind, account.comm_language, {**base_values(account), **values}, settings)
    body = rendered.body
    kept = (
        render(
            kind, account.comm_language, {**base_values(account), **values, **mask}, settings
        ).body
        if mask
        else body
    )
    if to.by_post:
        body = _postal_block(account) + body
        kept = _postal_block(account) + kept
    now = runtime.now()
    with database.atomic():
        letter = Letter.create(
            account=account,
            kind=kind.value,
            language=rendered.language,
            subject=rendered.subject,
            body=kept,
            recipients=to.stored(),
            status=LetterStatus.QUEUED.value,
            created_by=actor.name,
            created_at=now,
            once_key=once_key,
        )
        for f in files:
            Attachment.create(
                account=account,
                name=f.name,
                size=len(f.data),
                mime_type=f.mime_type,
                note=f"Attached to the letter \u201c{rendered.subject}\u201d",
                data=f.data,
                letter=letter,
                created_by=actor.name,
                created_at=now,
            )
        audit.record(
            actor,
            AuditAction.CREATE,
            entity="letter",
            entity_id=letter.id,
            account_id=account.id,
            person_id=account.person_id,
            field="letter",
            new=f"{kind_label(kind)} queued for {to.stored()}",
        )
    return letter, body


def check_general_message(subject: str, message: str) -> tuple[str, str]:
    """The subject and message of a general letter, cleaned, or `ValidationError` naming
    `subject` / `message` (a bulk notify job checks them once, before any member)."""
    subject, message = (subject or "").strip(), normalize_lines((message or "").strip())
    problems = {}
    # One line of subject (a line break would write a mail header), a message of lines: no
    # control, bidi or invisible character in either (issue 18).
    if bad := unsafe_problem(subject):
        problems["subject"] = bad
    elif not subject:
        problems["subject"] = "is required"
    elif len(subject) > 200:
        problems["subject"] = "must be at most 200 characters"
    if bad := unsafe_problem(message, multiline=True):
        problems["message"] = bad
    elif not message:
        problems["message"] = "is required"
    elif len(message) > 20_000:
        problems["message"] = "must be at most 20,000 characters"
    if problems:
        raise ValidationError(problems)
    return subject, message


def queue_general_message(account_id: int, subject: str, message: str, actor: Actor) -> Letter:
    """A message written by staff in the app (Alma's "General mail")."""
    subject, message = check_general_message(subject, message)
    account = _load(account_id)
    authorize(actor.account, Action.MANAGE_ATTACHMENTS, account)
    return queue_letter(
        account, LetterKind.GENERAL, {"subject": subject, "message": message}, actor
    )


def queue_personal_information(account_id: int, actor: Actor) -> Letter:
    """The personal-information letter: the whole record attached as JSON and as XML."""
    from models.users.personal_data import record_document, to_json, to_xml

    account = _load(account_id)
    authorize(actor.account, Action.MANAGE_ATTACHMENTS, account)
    # The files stay on the Attachments tab, which every staff user of the organization sees:
    # they hold only the rows the sender may see (library independence); an administrator
    # without a library scope sends the whole record.
    document = record_document(account, runtime.now(), scope_of(actor.account, account))
    stem = f"personal-information-{account.primary_id}-{runtime.today().isoformat()}"
    files = [
        File(f"{stem}.json", "application/json", to_json(document)),
        File(f"{stem}.xml", "application/xml", to_xml(document)),
    ]
    return queue_letter(account, LetterKind.PERSONAL_INFORMATION, {}, actor, files=files)


def queue_deletion_notice(
    account_id: int, actor: Actor, reasons: list[str] | None = None
) -> Letter:
    """The deletion notice ("Notify user" in the deletion dialog, Alma's User Deletion Letter):
    tells the user what keeps their account from being closed. `reasons` default to
    `models.users.deletion_reasons.deletion_problems`."""
    account = _load(account_id)
    authorize(actor.account, Action.MANAGE_ATTACHMENTS, account)
    if reasons is None:
        reasons = deletion_problems(account)
    text = "\n".join(f"- {r}" for r in reasons) or "- (nothing is owed any more)"
    return queue_letter(account, LetterKind.DELETION_NOTICE, {"reasons": text}, actor)


def send_pin_letter(account_id: int, pin: str, actor: Actor) -> int | None:
    """Alma's PIN Number Generation Letter: "The PIN number is sent in the PIN Number Generation
    Letter". Called by the services that set a PIN (a new user, the General tab), after their
    transaction. The PIN is in the letter sent and masked in what is kept (the outbox text, its
    `.eml` copy on the Attachments tab, History's "PIN queued for ..."); the letter is sent at
    once and never retried nor resent. Returns the letter's id, or None when there is nobody to
    send it to (no email and no library to print it: the desk tells the PIN in person)."""
    account = _load(account_id)
    try:
        letter, body = queue_letter_masked(
            account, LetterKind.PIN, {"pin": pin}, actor, mask={"pin": SECRET_MASK}
        )
    except LetterRefused:
        return None
    from models.mail.mailer import deliver

    deliver(letter.id, body=body, actor=actor)
    return letter.id


@dataclass
class ExpiryReport:
    queued: int = 0
    already: int = 0  # reminded before for this expiry date
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (primary id, reason)


def expiry_key(account: Account) -> str:
    return f"{LetterKind.EXPIRY_REMINDER.value}:{account.id}:{account.expiry_date.isoformat()}"


def queue_expiry_reminders(days: int, actor: Actor | None = None) -> ExpiryReport:
    """Queue the expiry reminder for every active account that expires within `days` days
    (today included), once per account and expiry date: a renewed account (a new date) is
    reminded again. Opted-out accounts and accounts with nowhere to send are skipped, with
    the reason. The system (`actor` None) reminds every organization's users; staff need the
    right to run jobs and remind their own organization's."""
    if days < 0:
        raise ValidationError({"days": "must not be negative"})
    actor = actor or Actor(None, Source.JOB)
    which = Account.id > 0
    if actor.account is not None:
        authorize(actor.account, Action.RUN_JOBS)
        which = Account.organization == actor.account.organization_id
    settings = load_settings()
    today = runtime.today()
    report = ExpiryReport()
    last_id = 0
    while True:
        batch = list(
            Account.select()
            .where(
                which
                & (Account.expiry_date >= today)
                & (Account.expiry_date <= today + dt.timedelta(days=days))
                & (Account.status == Status.ACTIVE.value)
                & (Account.id > last_id)
            )
            .order_by(Account.id)
            .limit(500)
        )
        if not batch:
            return report
        last_id = batch[-1].id
        keys = {expiry_key(a): a for a in batch}
        done = {
            row.once_key
            for row in Letter.select(Letter.once_key).where(Letter.once_key.in_(list(keys)))
        }
        for key, account in keys.items():
            if key in done:
                report.already += 1
                continue
            left = (account.expiry_date - today).days
            try:
                queue_letter(
                    account,
                    LetterKind.EXPIRY_REMINDER,
                    {"days": str(left)},
                    actor,
                    once_key=key,
                    settings=settings,
                )
            except LetterRefused as exc:
                report.skipped.append((account.primary_id, exc.message))
                continue
            except IntegrityError:  # another run queued it a moment ago
                report.already += 1
                continue
            report.queued += 1


# --- Reading and resending ----------------------------------------------------------------------


@dataclass(frozen=True)
class LetterLine:
    letter_id: int
    account_id: int
    user: str  # "Müller, Anna (P100)"
    kind: str
    subject: str
    language: str
    recipients: str
    status: str
    attempts: int
    error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None


def _line(letter: Letter) -> LetterLine:
    account = letter.account
    return LetterLine(
        letter_id=letter.id,
        account_id=account.id,
        user=f"{full_name(account.person)} ({account.primary_id})",
        kind=letter.kind,
        subject=letter.subject,
        language=letter.language,
        recipients=letter.recipients,
        status=letter.status,
        attempts=letter.attempts,
        error=letter.error,
        created_at=letter.created_at,
        sent_at=letter.sent_at,
    )


def outbox(actor: Actor, *, pending_only: bool = True, limit: int = 1000) -> list[LetterLine]:
    """The letters of the actor's organization waiting for delivery (queued, failed, being
    sent), oldest first; with `pending_only=False` the latest letters of any status, newest
    first. Administrators only."""
    authorize(actor.account, Action.CONFIGURE)
    query = Letter.select(Letter, Account, Person).join(Account).join(Person)
    if actor.account is not None:
        query = query.where(Account.organization == actor.account.organization_id)
    if pending_only:
        query = query.where(Letter.status.in_([*PENDING, LetterStatus.SENDING.value])).order_by(
            Letter.id
        )
    else:
        query = query.order_by(Letter.id.desc())
    return [_line(letter) for letter in query.limit(limit)]


def letters_of(account_id: int, actor: Actor) -> list[LetterLine]:
    """Every letter written to one user, newest first."""
    account = _load(account_id)
    authorize(actor.account, Action.VIEW_USER, account)
    query = Letter.select().where(Letter.account == account).order_by(Letter.id.desc())
    return [_line(letter) for letter in query]


def letter_text(letter_id: int, actor: Actor) -> str:
    """The letter as kept: headers and text, for reading on screen."""
    letter = Letter.get_or_none(Letter.id == letter_id)
    if letter is None:
        raise NotFound("This letter no longer exists.")
    authorize(actor.account, Action.VIEW_USER, letter.account)
    to = Recipients.parse(letter.recipients)
    head = [
        f"Subject: {letter.subject}",
        f"To: {', '.join(to.to)}",
        *([f"Cc: {', '.join(to.cc)}"] if to.cc else []),
        f"Language: {letter.language}",
        f"Status: {letter.status}"
        + (f" at {letter.sent_at:%Y-%m-%d %H:%M}" if letter.sent_at else "")
        + (f" ({plural(letter.attempts, 'attempt')})" if letter.attempts else ""),
        *([f"Error: {letter.error}"] if letter.error else []),
    ]
    files = [a.name for a in letter_files(letter)]
    if files:
        head.append(f"Files: {', '.join(files)}")
    return "\n".join(head) + "\n\n" + letter.body


def letter_files(letter: Letter) -> list[Attachment]:
    """The files a letter carries (those of the letter it repeats, for a resent one). They are
    the institution's (`queue_letter` gives them no owner library), hence that scope."""
    source = letter.resend_of_id or letter.id
    return list(
        Attachment.select()
        .where(
            (Attachment.letter == source)
            & (Attachment.mime_type != LETTER_COPY_MIME)
            & INSTITUTION_ONLY.condition(Attachment.owner)
        )
        .order_by(Attachment.id)
    )


def resend_letter(letter_id: int, actor: Actor) -> Letter:
    """Alma's "Resend Notification": the same letter (text and files) again, as a new letter
    addressed to the user's addresses of today. A password-reset code is never resent: the
    user asks for a new one."""
    original = Letter.get_or_none(Letter.id == letter_id)
    if original is None:
        raise NotFound("This letter no longer exists.")
    account = original.account
    authorize(actor.account, Action.MANAGE_ATTACHMENTS, account)
    if original.kind == LetterKind.PASSWORD_RESET:
        raise LetterRefused(
            "A password-reset code is not resent: the user asks for a new one on the login screen."
        )
    if original.kind == LetterKind.PIN:
        raise LetterRefused("A PIN letter is not resent: the PIN is not kept. Set a new PIN.")
    _check_opt_in(account, original.kind)
    to = recipients_for(account, original.kind)
    with database.atomic():
        letter = Letter.create(
            account=account,
            kind=original.kind,
            language=original.language,
            subject=original.subject,
            body=original.body,
            recipients=to.stored(),
            status=LetterStatus.QUEUED.value,
            created_by=actor.name,
            created_at=runtime.now(),
            resend_of=original.resend_of_id or original.id,
        )
        audit.record(
            actor,
            AuditAction.CREATE,
            entity="letter",
            entity_id=letter.id,
            account_id=account.id,
            person_id=account.person_id,
            field="letter",
            new=f"{kind_label(original.kind)} resent to {to.stored()}",
        )
    return letter


def letter_of_attachment(attachment_id: int, actor: Actor) -> int:
    """The letter an attachment of the Attachments tab belongs to (for "resend" from there)."""
    row = Attachment.get_or_none(Attachment.id == attachment_id)
    if row is None:
        raise NotFound("This attachment no longer exists.")
    authorize(actor.account, Action.VIEW_USER, row.account, library_id=row.owner_id)
    if row.letter_id is None:
        raise LetterRefused("This attachment is not a letter: only letters can be resent.")
    return row.letter_id


def retry_letter(letter_id: int, actor: Actor) -> None:
    """Put a letter that was not delivered (failed, or left "sending" by a process that
    stopped) back in the queue. Administrators (the outbox)."""
    authorize(actor.account, Action.CONFIGURE)
    letter = Letter.get_or_none(Letter.id == letter_id)
    if letter is None:
        raise NotFound("This letter no longer exists.")
    # As the outbox: the letters of the administrator's own organization only.
    authorize(actor.account, Action.CONFIGURE, letter.account)
    if letter.status == LetterStatus.SENT:
        raise LetterRefused("This letter was sent already: resend it from the user's record.")
    if letter.kind in SECRET_KINDS:
        raise LetterRefused(f"A {kind_label(letter.kind)} letter is not kept: it is not retried.")
    Letter.update(status=LetterStatus.QUEUED.value).where(Letter.id == letter.id).execute()
