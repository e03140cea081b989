"""A user's record read for display: what the summary and the User Details header show."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import JOIN, fn

from models.access.permissions import Action, authorize, may_see_history
from models.access.scope import LibraryScope, scope_of
from models.audit import Actor
from models.config.codes import code_name
from models.config.settings import load_settings
from models.enums import FeeStatus
from models.errors import NotFound
from models.runtime import runtime
from models.store.reading import Prepared, read_once
from models.store.tables import (
    Account,
    Address,
    Block,
    Campus,
    Email,
    Fee,
    Identifier,
    IdentifierType,
    JobCategory,
    Loan,
    Note,
    Person,
    Phone,
    RoleAssignment,
    UserGroup,
)
from models.users.accounts import full_name, is_expired
from models.users.photos import Photo, stored_photo


@dataclass(frozen=True)
class Profile:
    account_id: int
    person_id: int
    version: int
    name: str
    username: str
    primary_id: str
    record_type: str
    account_type: str
    status: str
    expired: bool
    expiry_date: dt.date | None
    purge_date: dt.date | None
    birth_date: dt.date | None
    user_group: str
    job_category: str
    campus: str
    language: str
    channel: str
    identifiers: list[tuple[str, str]]  # (type, value), primary first
    emails: list[tuple[str, str, bool]]  # (type, address, preferred)
    phones: list[tuple[str, str, bool]]
    addresses: list[tuple[str, str, bool]]  # (type, one-line address, preferred)
    roles: list[str]
    active_blocks: list[str]
    notes: int
    popup_notes: list[str]
    balance_minor: int  # active and disputed fees
    currency: str
    open_loans: int
    overdue_loans: int
    locked: bool
    created_by: str
    created_at: dt.datetime
    updated_by: str
    updated_at: dt.datetime
    history_visible: bool = True  # the actor may see the History tab (`may_see_history`)
    photo: Photo | None = None  # the person's photo (`models.users.photos`), None: none


def _one_line(a: Address) -> str:
    parts = [a.line1, a.line2, a.line3, a.line4, a.line5]
    parts += [" ".join(p for p in (a.postal_code, a.city) if p), a.state]
    text = ", ".join(p for p in parts if p)
    return f"{text} ({a.country})" if a.country else text


def active_blocks_of(account_id: int, today: dt.date | None = None):
    """The blocks in force: active and not past their expiry date."""
    today = today or runtime.today()
    return Block.select().where(
        (Block.account == account_id)
        & Block.active
        & (Block.expiry_date.is_null() | (Block.expiry_date >= today))
    )


def balance_of(account_id: int, scope: LibraryScope | None = None) -> int:
    """What the user owes, in minor units: active and disputed fees. `scope` None counts every
    library's fees (the rules: deletion); a display passes the staff user's scope."""
    query = Fee.select(fn.COALESCE(fn.SUM(Fee.balance_minor), 0)).where(
        (Fee.account == account_id)
        & Fee.status.in_([FeeStatus.ACTIVE.value, FeeStatus.DISPUTED.value])
    )
    if scope is not None:
        query = query.where(scope.condition(Fee.owner))
    return query.scalar()


def open_loans_of(account_id: int):
    return Loan.select().where((Loan.account == account_id) & Loan.returned_at.is_null())


# The reads of `load_profile`, built once (`Prepared`): opening a user ran each afresh.
_ACCOUNT = Prepared(lambda account_id: Account.select().where(Account.id == account_id).limit(1))
_PERSON = Prepared(lambda person_id: Person.select().where(Person.id == person_id).limit(1))
_IDENTIFIERS = Prepared(
    lambda account_id: (
        Identifier.select()
        .where(Identifier.account == account_id)
        .order_by(Identifier.is_primary.desc(), Identifier.id)
    )
)
_OPEN_LOANS = Prepared(
    lambda account_id: Loan.select(Loan.due_date).where(
        (Loan.account == account_id) & Loan.returned_at.is_null()
    )
)


def _contact_list(model, *columns) -> Prepared:  # noqa: ANN001 - Email or Phone
    """A person's emails or phones as (type, value, preferred) tuples, oldest first."""
    return Prepared(
        lambda person_id: (
            model.select(*columns).where(model.person == person_id).order_by(model.id).tuples()
        )
    )


_EMAILS = _contact_list(Email, Email.email_type, Email.address, Email.preferred)
_PHONES = _contact_list(Phone, Phone.phone_type, Phone.number, Phone.preferred)
_ADDRESSES = Prepared(
    lambda person_id: Address.select().where(Address.person == person_id).order_by(Address.id)
)
_ROLES = Prepared(
    lambda account_id: (
        RoleAssignment.select(RoleAssignment.role)
        .where(RoleAssignment.account == account_id)
        .tuples()
    )
)


def load_profile(account_id: int, actor: Actor) -> Profile:
    account = read_once(("account", account_id), lambda: _ACCOUNT.first(account_id))
    if account is None:
        raise NotFound("This user no longer exists: another staff user may have deleted it.")
    authorize(actor.account, Action.VIEW_USER, account)
    scope = scope_of(actor.account, account)  # library independence: counts and marks too
    person = _PERSON.first(account.person_id)
    account.person = person  # kept with the account: a later `account.person` reads nothing
    today = runtime.today()
    ids = _IDENTIFIERS.rows(account.id)
    loans = _OPEN_LOANS.rows(account.id)
    return Profile(
        account_id=account.id,
        person_id=person.id,
        version=account.version,
        name=full_name(person),
        username=person.username,
        primary_id=account.primary_id,
        record_type=account.record_type,
        account_type=account.account_type,
        status=account.status,
        expired=is_expired(account, today),
        expiry_date=account.expiry_date,
        purge_date=account.purge_date,
        birth_date=person.birth_date,
        user_group=code_name(UserGroup, account.user_group_id),
        job_category=code_name(JobCategory, account.job_category_id),
        campus=code_name(Campus, account.campus_id),
        language=account.comm_language,
        channel=account.comm_channel,
        identifiers=[
            ("primary" if i.is_primary else code_name(IdentifierType, i.id_type_id), i.value)
            for i in ids
        ],
        emails=_EMAILS.rows(person.id),
        phones=_PHONES.rows(person.id),
        addresses=[(a.address_type, _one_line(a), a.preferred) for a in _ADDRESSES.rows(person.id)],
        roles=sorted({role for (role,) in _ROLES.rows(account.id)}),
        active_blocks=[
            b.definition.name
            for b in active_blocks_of(account.id, today).where(scope.condition(Block.owner))
        ],
        notes=Note.select().where((Note.account == account) & scope.condition(Note.owner)).count(),
        popup_notes=[
            n.text
            for n in Note.select().where(
                (Note.account == account) & Note.popup & scope.condition(Note.owner)
            )
        ],
        balance_minor=balance_of(account.id, scope),
        currency=load_settings().currency,
        open_loans=len(loans),
        overdue_loans=sum(1 for loan in loans if loan.due_date < today),
        locked=bool(person.locked_until and person.locked_until > runtime.now()),
        created_by=account.created_by,
        created_at=account.created_at,
        updated_by=account.updated_by,
        updated_at=account.updated_at,
        history_visible=may_see_history(actor.account),
        photo=stored_photo(person.id),
    )


def primary_id_of(account_id: int) -> str:
    return Account.get_by_id(account_id).primary_id


@dataclass(frozen=True)
class FeeLine:
    fee_id: int
    created_at: dt.datetime
    fee_type: str
    status: str
    status_date: dt.datetime
    comment: str
    owner: str
    title: str
    item_barcode: str
    original_minor: int
    balance_minor: int


@dataclass(frozen=True)
class FeeSummary:
    active_minor: int
    disputed_minor: int
    transferred_minor: int
    currency: str
    lines: list[FeeLine]


def fee_summary(account_id: int, actor: Actor) -> FeeSummary:
    """The fines and fees of an account with their balances, newest first (read-only view)."""
    from models.store.tables import FeeType, Library

    account = Account.get_or_none(Account.id == account_id)
    if account is None:
        raise NotFound("This user no longer exists.")
    authorize(actor.account, Action.VIEW_USER, account)
    scope = scope_of(actor.account, account)
    fees = list(
        Fee.select(Fee, FeeType, Library)
        .join(FeeType)
        .switch(Fee)
        .join(Library, JOIN.LEFT_OUTER, on=(Fee.owner == Library.id))
        .where((Fee.account == account_id) & scope.condition(Fee.owner))
        .order_by(Fee.created_at.desc(), Fee.id.desc())
    )
    total = {s.value: 0 for s in FeeStatus}
    for fee in fees:
        total[fee.status] = total.get(fee.status, 0) + fee.balance_minor
    return FeeSummary(
        active_minor=total[FeeStatus.ACTIVE.value],
        disputed_minor=total[FeeStatus.DISPUTED.value],
        transferred_minor=total[FeeStatus.TRANSFERRED.value],
        currency=load_settings().currency,
        lines=[
            FeeLine(
                fee_id=f.id,
                created_at=f.created_at,
                fee_type=f.fee_type.name,
                status=f.status,
                status_date=f.status_date,
                comment=f.comment,
                owner=f.owner.name if f.owner_id else "Institution",
                title=f.title,
                item_barcode=f.item_barcode,
                original_minor=f.original_minor,
                balance_minor=f.balance_minor,
            )
            for f in fees
        ],
    )


def loan_lines(account_id: int, actor: Actor) -> list[tuple[str, str, dt.date, bool]]:
    """The user's outstanding loans, read-only ("Manage fulfillment activities"): (item barcode,
    title, due date, overdue), oldest due first."""
    account = Account.get_or_none(Account.id == account_id)
    if account is None:
        raise NotFound("This user no longer exists.")
    authorize(actor.account, Action.VIEW_USER, account)
    today = runtime.today()
    return [
        (loan.item_barcode, loan.title, loan.due_date, loan.due_date < today)
        for loan in open_loans_of(account_id).order_by(Loan.due_date)
    ]
