"""The Fines/fees tab read (domain.md section 6, issue 7): the list with its filters, the
summary (Alma's: active, filtered, disputed, filtered disputed, transferred balances and accrued
fines), the debt limit and the transactions of a fee. The actions are in `models.fees.fees`,
which also exports all of this.

Accrued fines: for each open, overdue loan, days overdue x the daily rate of the fee type that
charges one (the loan library's own type first, else the institution's), less what was already
billed as a fine of that type on that loan; never below zero, and not part of any balance (as in
Alma, they do not count towards the debt limit).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from peewee import JOIN, fn

from models.access.permissions import Action, authorize, can
from models.audit import Actor
from models.config.settings import Settings, load_settings
from models.enums import FeeStatus
from models.errors import NotFound, ValidationError
from models.fees.money import format_money
from models.runtime import runtime
from models.store.tables import (
    Account,
    Fee,
    FeeTransaction,
    FeeType,
    Library,
    Loan,
    Setting,
    WaiveReason,
)

CREDIT_CODE = "CREDIT"
OPEN_STATUSES = (FeeStatus.ACTIVE.value, FeeStatus.DISPUTED.value)
# Status filter of the list: a status, or "all". Default: active (as Alma's tab).
STATUS_FILTERS = ("active", "disputed", "waived", "transferred", "closed", "all")
INSTITUTION = "institution"  # owner filter: fees owned by no library


# --- The list and the summary ---------------------------------------------------------------------


@dataclass(frozen=True)
class FeeRow:
    fee_id: int
    created_at: dt.datetime
    fee_type: str  # name
    fee_type_code: str
    status: str
    status_date: dt.datetime
    comment: str
    owner: str  # library name, or "Institution"
    owner_id: int | None
    title: str
    item_barcode: str
    original_minor: int
    balance_minor: int
    waivable: bool
    credit: bool


# The right each fee action of the Fines/fees tab needs, as models/fees/fees.py asks it (a
# fee's own library decides at the action itself); the tab's other keys only read.
FEE_ACTIONS = {
    "add": Action.ADD_FEE,
    "link": Action.ADD_FEE,
    "pay": Action.PAY_FEE,
    "waive": Action.WAIVE_FEE,
    "waive_all": Action.WAIVE_FEE,
    "mark": Action.WAIVE_FEE,
    "dispute": Action.WAIVE_FEE,
    "restore": Action.WAIVE_FEE,
}


@dataclass(frozen=True)
class FeeView:
    """The Fines/fees tab: the summary and the fees the filters keep, newest first."""

    account_id: int
    currency: str
    active_minor: int  # active fees, credits included (negative)
    filtered_minor: int  # the balance of the fees listed
    disputed_minor: int
    filtered_disputed_minor: int  # the balance of the disputed fees listed
    transferred_minor: int
    accrued_minor: int  # overdue fines still growing on loans not returned
    debt_limit_minor: int  # 0: no limit
    debt_limit_reached: bool
    status: str
    owner: str | None
    rows: list[FeeRow]
    # The fee actions (`FEE_ACTIONS`) the actor may take on this user's fees, in some
    # library at least: the tab offers only those keys.
    may: frozenset[str] = frozenset()

    def money(self, minor: int) -> str:
        return format_money(minor, self.currency)


@dataclass(frozen=True)
class TransactionRow:
    at: dt.datetime
    action: str
    amount_minor: int
    method: str
    reason: str
    comment: str
    actor: str


def _account(account_id: int) -> Account:
    account = Account.get_or_none(Account.id == account_id)
    if account is None:
        raise NotFound("This user no longer exists: another staff user may have deleted it.")
    return account


def _is_credit(fee_type: FeeType) -> bool:
    return fee_type.code.upper() == CREDIT_CODE


def _owner_where(account: Account, owner: str | int | None):  # noqa: ANN202
    """The condition of the owner filter: None all, "institution" no library, else a library
    by id or code."""
    if owner in (None, ""):
        return None
    if owner == INSTITUTION:
        return Fee.owner.is_null()
    library = _find_library(account, owner)
    if library is None:
        raise ValidationError({"owner": "is not a library of this organization"})
    return Fee.owner == library.id


def _find_library(account: Account, value: str | int) -> Library | None:
    query = Library.select().where(Library.organization == account.organization_id)
    if isinstance(value, int) and not isinstance(value, bool):
        return query.where(Library.id == value).first()
    text = str(value).strip().lower()
    return next((lib for lib in query if text in {lib.code.lower(), lib.name.lower()}), None)


def _visible(actor: Actor, account: Account, owner_id: int | None) -> bool:
    """Library independence: staff see fees of the libraries in their roles' scope and of the
    institution."""
    return can(actor.account, Action.VIEW_USER, account, library_id=owner_id)


def _sum(account_id: int, *statuses: str) -> int:
    return (
        Fee.select(fn.COALESCE(fn.SUM(Fee.balance_minor), 0))
        .where((Fee.account == account_id) & Fee.status.in_(list(statuses)))
        .scalar()
    )


def active_balance(account_id: int) -> int:
    """What counts towards the debt limit: active fees (credits lower it), disputed excluded."""
    return _sum(account_id, FeeStatus.ACTIVE.value)


def debt_limit_minor() -> int:
    """The debt-limit setting alone (one row read; the search reads it for every page)."""
    row = Setting.get_or_none(Setting.key == "debt_limit_minor")
    if row is None:
        return Settings().debt_limit_minor
    try:
        value = json.loads(row.value)
    except ValueError:
        return 0
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def debt_limit_reached(account_id: int, limit: int | None = None) -> bool:
    """True when a debt limit is set and the active balance has reached it: the user may not
    borrow. Disputed fees and accrued fines do not count."""
    limit = debt_limit_minor() if limit is None else limit
    return limit > 0 and active_balance(account_id) >= limit


def borrowing_blocks(account_id: int, today: dt.date | None = None) -> list[str]:
    """Why this user may not borrow now, in words (empty: they may): active blocks that block
    loans, and the debt limit. The circulation side's one question."""
    from models.store.tables import BlockDefinition
    from models.users.profile import active_blocks_of

    reasons = [
        f"block: {block.definition.name}"
        for block in active_blocks_of(account_id, today).join(BlockDefinition)
        if block.definition.blocks_loans
    ]
    limit = debt_limit_minor()
    if debt_limit_reached(account_id, limit):
        currency = load_settings().currency
        reasons.append(
            f"the active balance {format_money(active_balance(account_id), currency)} has "
            f"reached the debt limit of {format_money(limit, currency)}"
        )
    return reasons


def _rate_types(organization_id: int) -> list[FeeType]:
    return list(
        FeeType.select()
        .where(
            (FeeType.organization == organization_id)
            & (FeeType.active == True)  # noqa: E712
            & (FeeType.daily_rate_minor > 0)
        )
        .order_by(FeeType.id)
    )


def _rate_type_for(types: list[FeeType], library_id: int | None) -> FeeType | None:
    own = [t for t in types if t.library_id is not None and t.library_id == library_id]
    shared = [t for t in types if t.library_id is None]
    return (own or shared or [None])[0]


def accrued_fines(account_id: int, today: dt.date | None = None) -> int:
    """Fines still growing on overdue loans not yet returned, in minor units (see the module's
    rules). Not a fee and not part of any balance."""
    account = _account(account_id)
    today = today or runtime.today()
    loans = list(
        Loan.select().where(
            (Loan.account == account_id) & Loan.returned_at.is_null() & (Loan.due_date < today)
        )
    )
    if not loans:
        return 0
    types = _rate_types(account.organization_id)
    if not types:
        return 0
    billed: dict[tuple[int, int], int] = {}
    for loan_id, type_id, original in (
        Fee.select(Fee.loan, Fee.fee_type, Fee.original_minor)
        .where((Fee.account == account_id) & Fee.loan.in_([loan.id for loan in loans]))
        .tuples()
    ):
        billed[(loan_id, type_id)] = billed.get((loan_id, type_id), 0) + original
    total = 0
    for loan in loans:
        fee_type = _rate_type_for(types, loan.library_id)
        if fee_type is None:
            continue
        owed = (today - loan.due_date).days * fee_type.daily_rate_minor
        total += max(0, owed - billed.get((loan.id, fee_type.id), 0))
    return total


def _fee_row(fee: Fee) -> FeeRow:
    return FeeRow(
        fee_id=fee.id,
        created_at=fee.created_at,
        fee_type=fee.fee_type.name,
        fee_type_code=fee.fee_type.code,
        status=fee.status,
        status_date=fee.status_date,
        comment=fee.comment,
        owner=fee.owner.name if fee.owner_id else "Institution",
        owner_id=fee.owner_id,
        title=fee.title,
        item_barcode=fee.item_barcode,
        original_minor=fee.original_minor,
        balance_minor=fee.balance_minor,
        waivable=fee.fee_type.waivable,
        credit=_is_credit(fee.fee_type),
    )


def list_fees(
    account_id: int, actor: Actor, *, status: str = "active", owner: str | int | None = None
) -> list[FeeRow]:
    """The fees of an account that the filters keep (`status`: one of `STATUS_FILTERS`;
    `owner`: None every owner, "institution", or a library id or code), newest first, only
    those the actor's library scope shows."""
    account = _account(account_id)
    authorize(actor.account, Action.VIEW_USER, account)
    if status not in STATUS_FILTERS:
        raise ValidationError({"status": f"is one of {', '.join(STATUS_FILTERS)}"})
    where = Fee.account == account_id
    if status != "all":
        where &= Fee.status == status
    if (by_owner := _owner_where(account, owner)) is not None:
        where &= by_owner
    fees = (
        Fee.select(Fee, FeeType, Library)
        .join(FeeType)
        .switch(Fee)
        .join(Library, JOIN.LEFT_OUTER, on=(Fee.owner == Library.id))
        .where(where)
        .order_by(Fee.created_at.desc(), Fee.id.desc())
    )
    return [_fee_row(f) for f in fees if _visible(actor, account, f.owner_id)]


def fee_view(
    account_id: int,
    actor: Actor,
    *,
    status: str = "active",
    owner: str | int | None = None,
    settings: Settings | None = None,
) -> FeeView:
    """The summary and the filtered list of the Fines/fees tab."""
    settings = settings or load_settings()
    rows = list_fees(account_id, actor, status=status, owner=owner)
    account = _account(account_id)
    rights = {r: can(actor.account, r, account) for r in set(FEE_ACTIONS.values())}
    may = frozenset(name for name, right in FEE_ACTIONS.items() if rights[right])
    active = active_balance(account_id)
    limit = settings.debt_limit_minor
    return FeeView(
        account_id=account_id,
        currency=settings.currency,
        active_minor=active,
        filtered_minor=sum(r.balance_minor for r in rows),
        disputed_minor=_sum(account_id, FeeStatus.DISPUTED.value),
        filtered_disputed_minor=sum(
            r.balance_minor for r in rows if r.status == FeeStatus.DISPUTED.value
        ),
        transferred_minor=_sum(account_id, FeeStatus.TRANSFERRED.value),
        accrued_minor=accrued_fines(account_id),
        debt_limit_minor=limit,
        debt_limit_reached=limit > 0 and active >= limit,
        status=status,
        owner=None if owner in (None, "") else str(owner),
        rows=rows,
        may=may,
    )


def fee_transactions(fee_id: int, actor: Actor) -> list[TransactionRow]:
    """Every transaction of one fee, oldest first ("select the balance to see them")."""
    fee = _load_fee(fee_id)
    account = fee.account
    authorize(actor.account, Action.VIEW_USER, account, library_id=fee.owner_id)
    rows = (
        FeeTransaction.select(FeeTransaction, WaiveReason)
        .join(WaiveReason, JOIN.LEFT_OUTER)
        .where(FeeTransaction.fee == fee_id)
        .order_by(FeeTransaction.at, FeeTransaction.id)
    )
    return [
        TransactionRow(
            at=t.at,
            action=t.action,
            amount_minor=t.amount_minor,
            method=t.method,
            reason=t.reason.name if t.reason_id else "",
            comment=t.comment,
            actor=t.actor,
        )
        for t in rows
    ]


def manual_fee_types(organization_id: int) -> list[tuple[str, str]]:
    """(name, code) of the fee types staff may add by hand, by name."""
    rows = (
        FeeType.select(FeeType.name, FeeType.code)
        .where(
            (FeeType.organization == organization_id)
            & (FeeType.active == True)  # noqa: E712
            & (FeeType.manual == True)  # noqa: E712
        )
        .order_by(FeeType.name)
    )
    return [(row.name, row.code) for row in rows]


def _load_fee(fee_id: int) -> Fee:
    fee = Fee.get_or_none(Fee.id == fee_id)
    if fee is None:
        raise NotFound("This fee no longer exists: the user may have been deleted.")
    return fee
