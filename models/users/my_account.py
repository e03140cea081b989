"""My account (issue 9): what a person who logs in with only the Patron role sees of their own
record and may change in it.

They see their record (names, identifiers, group, status, expiry, contact rows, communication
preferences), the notes staff marked user-viewable, the blocks in force, their fees and
balance, and their loans. They change their emails, phones and addresses (through
`models.users.rows`, which the own-record rule of `models.access.permissions` lets them use), their
communication language, channel and letter opt-in, and their password (the current one first).
Not their names, birth date or anything staff manage. Every change is audited with the person
as the actor, and carries the account version read, as every save of a record does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from models.access.auth import set_password
from models.access.passwords import verify_secret
from models.access.permissions import actor_standing
from models.access.scope import EVERY_LIBRARY
from models.audit import Actor
from models.config.settings import Settings, load_settings
from models.enums import Channel, FeeStatus
from models.errors import PermissionDenied, ValidationError
from models.runtime import runtime
from models.store.base import database
from models.store.tables import Account, Address, Email, Fee, FeeType, Identifier, Note, Phone
from models.users.accounts import full_name, is_expired
from models.users.details import _write_general, check_version, load_account
from models.users.profile import active_blocks_of, balance_of, open_loans_of
from models.users.rows import SPECS, Kind, add_row, delete_row, update_row
from models.users.validation import check_language

# What a person may type for each kind of their own contact rows (never "external": data from
# the student information system stays read-only).
MY_FIELDS: dict[str, tuple[str, ...]] = {
    kind.value: tuple(f for f in SPECS[kind].fields if f != "external")
    for kind in (Kind.EMAIL, Kind.PHONE, Kind.ADDRESS)
}
PREFERENCES = ("comm_language", "comm_channel", "letters_opt_in")
# Fee statuses a patron sees: what they owe, what they dispute, what was settled.
SHOWN_FEES = (FeeStatus.ACTIVE, FeeStatus.DISPUTED, FeeStatus.CLOSED, FeeStatus.WAIVED)


@dataclass(frozen=True)
class ContactLine:
    row_id: int
    kind: str
    type: str
    text: str
    preferred: bool
    external: bool  # from the SIS: read-only


@dataclass(frozen=True)
class MyFee:
    created_at: dt.datetime
    fee_type: str
    status: str
    title: str
    balance_minor: int
    original_minor: int


@dataclass(frozen=True)
class MyRecord:
    account_id: int
    version: int
    name: str
    username: str
    primary_id: str
    identifiers: list[tuple[str, str]]
    record_type: str
    user_group: str
    status: str
    expired: bool
    expiry_date: dt.date | None
    birth_date: dt.date | None
    comm_language: str
    comm_channel: str
    letters_opt_in: bool
    contacts: list[ContactLine]
    notes: list[tuple[dt.datetime, str]]  # user-viewable notes: (when, text)
    blocks: list[tuple[str, dt.date | None]]  # in force: (what, until)
    fees: list[MyFee]
    balance_minor: int
    loans: list[tuple[str, str, dt.date, bool]]  # (barcode, title, due, overdue)


def _own(actor: Actor) -> Account:
    """The session's own account, before any work: refused when it may no longer act
    (deactivated or expired since login, or gone: its id given to another account since)."""
    if actor.account is None:
        raise PermissionDenied("view_user", "My account needs a logged-in person.")
    if problem := actor_standing(actor.account):
        raise PermissionDenied("view_user", problem)
    return load_account(actor.account.id)


def _address_text(a: Address) -> str:
    parts = [a.line1, a.line2, a.line3, a.line4, a.line5]
    parts += [" ".join(p for p in (a.postal_code, a.city) if p), a.state, a.country]
    return ", ".join(p for p in parts if p)


def load_my_record(actor: Actor) -> MyRecord:
    """The logged-in person's own record, as a patron may see it."""
    account = _own(actor)
    person = account.person
    today = runtime.today()
    contacts = [
        ContactLine(e.id, "email", e.email_type, e.address, e.preferred, e.external)
        for e in Email.select().where(Email.person == person).order_by(Email.id)
    ]
    contacts += [
        ContactLine(p.id, "phone", p.phone_type, p.number, p.preferred, p.external)
        for p in Phone.select().where(Phone.person == person).order_by(Phone.id)
    ]
    contacts += [
        ContactLine(a.id, "address", a.address_type, _address_text(a), a.preferred, a.external)
        for a in Address.select().where(Address.person == person).order_by(Address.id)
    ]
    # Their own notes, blocks and fees, whatever library owns them: staff marked these notes
    # for the user to see, and blocks and fees are the person's own (no library scope applies
    # to a person reading their own record).
    scope = EVERY_LIBRARY
    notes = (
        Note.select()
        .where((Note.account == account) & Note.user_viewable & scope.condition(Note.owner))
        .order_by(Note.created_at.desc(), Note.id.desc())
    )
    fees = (
        Fee.select(Fee, FeeType)
        .join(FeeType)
        .where(
            (Fee.account == account)
            & Fee.status.in_([s.value for s in SHOWN_FEES])
            & scope.condition(Fee.owner)
        )
        .order_by(Fee.created_at.desc(), Fee.id.desc())
    )
    ids = (
        Identifier.select()
        .where((Identifier.account == account) & Identifier.active)
        .order_by(Identifier.is_primary.desc(), Identifier.id)
    )
    return MyRecord(
        account_id=account.id,
        version=account.version,
        name=full_name(person),
        username=person.username,
        primary_id=account.primary_id,
        identifiers=[
            ("primary" if i.is_primary else (i.id_type.name if i.id_type_id else ""), i.value)
            for i in ids
        ],
        record_type=account.record_type,
        user_group=account.user_group.name if account.user_group_id else "",
        status=account.status,
        expired=is_expired(account, today),
        expiry_date=account.expiry_date,
        birth_date=person.birth_date,
        comm_language=account.comm_language,
        comm_channel=account.comm_channel,
        letters_opt_in=account.letters_opt_in,
        contacts=contacts,
        notes=[(n.created_at, n.text) for n in notes],
        blocks=[(b.definition.name, b.expiry_date) for b in active_blocks_of(account.id, today)],
        fees=[
            MyFee(
                f.created_at, f.fee_type.name, f.status, f.title, f.balance_minor, f.original_minor
            )  # fmt: skip
            for f in fees
        ],
        balance_minor=balance_of(account.id),
        loans=[
            (loan.item_barcode, loan.title, loan.due_date, loan.due_date < today)
            for loan in open_loans_of(account.id)
        ],
    )


def _check_kind(kind: str, data: dict[str, Any] | None = None) -> str:
    if kind not in MY_FIELDS:
        raise PermissionDenied(
            "edit_contact", "In My account you change emails, phones and addresses."
        )
    refused = {k: "cannot be changed in My account" for k in data or {} if k not in MY_FIELDS[kind]}
    if refused:
        raise ValidationError(refused)
    return kind


def my_contact_values(kind: str, row_id: int, actor: Actor) -> dict[str, Any]:
    """One of the person's own contact rows, in the form's fields."""
    _check_kind(kind)
    account = _own(actor)
    model = {"email": Email, "phone": Phone, "address": Address}[kind]
    row = model.get_or_none((model.id == row_id) & (model.person == account.person_id))
    if row is None:
        raise ValidationError({kind: "no longer exists: reload My account"})
    return {f: row.__data__.get(f) for f in MY_FIELDS[kind]}


def add_my_contact(kind: str, expected_version: int, data: dict[str, Any], actor: Actor) -> int:
    """Add an email, phone or address to one's own record; returns the new version."""
    _check_kind(kind, data)
    return add_row(kind, _own(actor).id, expected_version, data, actor).version


def update_my_contact(
    kind: str, row_id: int, expected_version: int, data: dict[str, Any], actor: Actor
) -> int:
    _check_kind(kind, data)
    return update_row(kind, _own(actor).id, row_id, expected_version, data, actor).version


def delete_my_contact(kind: str, row_id: int, expected_version: int, actor: Actor) -> int:
    _check_kind(kind)
    return delete_row(kind, _own(actor).id, row_id, expected_version, actor)


def update_my_preferences(expected_version: int, changes: dict[str, Any], actor: Actor) -> int:
    """Change one's communication language, channel (email needs an email address) or letter
    opt-in; returns the new version. Audited like a General-tab save, the person as actor."""
    _own(actor)  # may the session still act: asked before anything else
    refused = {k: "cannot be changed in My account" for k in changes if k not in PREFERENCES}
    if refused:
        raise ValidationError(refused)
    clean: dict[str, Any] = {}
    problems: dict[str, str] = {}
    if "comm_language" in changes:
        try:
            clean["comm_language"] = check_language(str(changes["comm_language"] or ""))
        except ValueError as exc:
            problems["comm_language"] = str(exc)
    if "comm_channel" in changes:
        try:
            clean["comm_channel"] = Channel(changes["comm_channel"]).value
        except ValueError:
            problems["comm_channel"] = "is email or mail"
    if "letters_opt_in" in changes:
        clean["letters_opt_in"] = bool(changes["letters_opt_in"])
    with database.atomic():
        account = _own(actor)
        check_version(account, expected_version)
        if clean.get("comm_channel") == Channel.EMAIL and not (
            Email.select().where(Email.person == account.person_id).exists() or account.person.email
        ):
            problems["comm_channel"] = "needs an email address: add one first"
        if problems:
            raise ValidationError(problems)
        changed = {k: v for k, v in clean.items() if getattr(account, k) != v}
        if not changed:
            return account.version
        return _write_general(account, expected_version, changed, actor).version


def change_my_password(
    actor: Actor,
    current: str,
    new: str,
    confirm: str | None = None,
    settings: Settings | None = None,
) -> None:
    """Change one's own password: the current one first (a session left open is not enough)."""
    settings = settings or load_settings()
    account = _own(actor)
    if not verify_secret(account.person.password_hash, current or "", settings):
        raise ValidationError({"current_password": "is not your current password"})
    set_password(account.person_id, new, actor, confirm=confirm, settings=settings)
