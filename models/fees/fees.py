"""Fines and fees (domain.md section 6, issue 7): every action on a fee, as services the screens
and the CLI share; the list, the summary and the debt limit (`models.fees.balances`) are exported
from here too, so callers import one module.

Money is exact. Amounts are integer minor units (cents) in the database and `Decimal` or typed
text in code (`models.fees.money`); a float is refused. A fee keeps its `original_minor` and its
`balance_minor`; every change of the balance is a `FeeTransaction` whose signed amount the balance
lost, so for every fee

    original_minor - balance_minor == sum(amount_minor of its pay and waive transactions)

and the create (or credit) transaction carries the original. A credit (the fee type coded
`CREDIT`) is entered as a positive amount and stored negative: it lowers the active balance, is
never paid or disputed, and is waived towards zero (its waive transactions are negative).

Statuses: active -> closed (paid in full), waived (waived in full), disputed (back to active with
restore; a disputed fee may also be waived, never paid); transferred (sent to the bursar) takes
no action here but a link to an item. Each action authorizes (the fee's owner library counts for
staff whose roles are scoped), runs in one transaction, writes one transaction row and audit
events (on the account, so History shows each step in words) and refuses a fee that another
staff user changed meanwhile (`ConflictError`) instead of overwriting it.

Rules chosen where the seeds are silent (see also the issue's report):
- Dispute and restore need the right to waive: a dispute lifts a debt-limit block as a waive does.
- Linking a fee to an item needs the right to add fees.
- A dispute needs a comment (someone must later resolve it); a restore's comment is optional.
- A fee (or credit) of 0.00 is recorded closed: nothing is owed.
- Accrued fines: see `models.fees.balances`.
- "Waive all" waives debts only (credits stay: cancelling money the library owes someone is done
  on that credit alone), the oldest first, at most `Settings.waive_limit` fees per action.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from models import audit
from models.access.permissions import Action, authorize, can
from models.audit import Actor
from models.config.codes import find_code
from models.config.settings import Settings, load_settings
from models.enums import AuditAction, FeeAction, FeeStatus, Role, Status
from models.errors import ConflictError, PatronDeskError, ValidationError
from models.fees.balances import (
    CREDIT_CODE,
    FEE_ACTIONS,
    INSTITUTION,
    OPEN_STATUSES,
    STATUS_FILTERS,
    FeeRow,
    FeeView,
    TransactionRow,
    _account,
    _find_library,
    _is_credit,
    _load_fee,
    accrued_fines,
    active_balance,
    borrowing_blocks,
    debt_limit_minor,
    debt_limit_reached,
    fee_transactions,
    fee_view,
    list_fees,
    manual_fee_types,
)
from models.fees.money import format_money, minor_digits, parse_amount, to_minor
from models.runtime import runtime
from models.store.base import database
from models.store.tables import (
    Account,
    Fee,
    FeeTransaction,
    FeeType,
    Loan,
    RoleAssignment,
    WaiveReason,
)
from models.users.validation import Problems, clean_text

PAY_METHODS = ("cash", "card", "online")
MAX_MINOR = 10**12  # ten thousand million units: far above any fee, far below the column's limit
COMMENT_MAX = 1000


class FeeRefused(PatronDeskError):
    """The action does not apply to this fee (its status, its type, its balance)."""


# --- Helpers of the actions ---------------------------------------------------------------------


def amount_minor(value: object, currency: str, field: str = "amount") -> int:
    """An amount typed as text ("12.50", "12,50") or given as a `Decimal` (or int), in minor
    units. Floats are refused: they are not exact. Negative amounts are refused too."""
    if isinstance(value, float):
        raise ValidationError({field: "must be exact: give it as text or a Decimal"})
    if isinstance(value, bool):
        raise ValidationError({field: "is not an amount"})
    if isinstance(value, int):
        value = Decimal(value)
    if isinstance(value, Decimal):
        digits = minor_digits(currency)
        if not value.is_finite():
            raise ValidationError({field: "is not an amount"})
        if -value.as_tuple().exponent > digits:
            raise ValidationError({field: f"{currency} has {digits} decimal places at most"})
        minor = to_minor(value, currency)
    else:
        text = "" if value is None else str(value)
        if not text.strip():
            raise ValidationError({field: "is required"})
        minor = parse_amount(text, currency, field=field)
    if minor < 0:
        raise ValidationError({field: "must not be negative"})
    if minor > MAX_MINOR:
        raise ValidationError({field: "is too large"})
    return minor


def _comment(p: Problems, value: str | None, *, required: str = "") -> str:
    text = p.check("comment", clean_text, value, COMMENT_MAX) or ""
    if required and not text and "comment" not in p.errors:
        p.add("comment", required)
    return text


def _reason(p: Problems, value: object, organization_id: int) -> WaiveReason | None:
    if value in (None, ""):
        p.add("reason", "is required: choose why the fee is waived")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        row = WaiveReason.get_or_none(
            (WaiveReason.id == value) & (WaiveReason.organization == organization_id)
        )
    else:
        row = find_code(WaiveReason, organization_id, str(value))
    if row is None:
        p.add("reason", "is not a known waive reason")
    return row


def _ids(account: Account) -> dict[str, int]:
    return {"account_id": account.id, "person_id": account.person_id}


def _describe(tx: FeeTransaction, reason: WaiveReason | None, currency: str) -> str:
    parts = []
    if tx.action in (FeeAction.CREATE, FeeAction.CREDIT, FeeAction.PAY, FeeAction.WAIVE):
        parts.append(format_money(abs(tx.amount_minor), currency))
    if tx.method:
        parts.append(tx.method)
    if reason is not None:
        parts.append(reason.name)
    if tx.comment:
        parts.append(tx.comment)
    return " · ".join(parts)


def _transaction(
    actor: Actor,
    fee: Fee,
    account: Account,
    action: FeeAction,
    amount: int,
    *,
    currency: str,
    method: str = "",
    reason: WaiveReason | None = None,
    comment: str = "",
) -> FeeTransaction:
    tx = FeeTransaction.create(
        fee=fee.id,
        action=action.value,
        amount_minor=amount,
        method=method,
        reason=reason.id if reason is not None else None,
        comment=comment,
        actor=actor.name,
        at=runtime.now(),
    )
    if action not in (FeeAction.CREATE, FeeAction.CREDIT):  # the fee's own events say it
        # On the fee, named by the action, so History reads "fee.pay  2.50 EUR · card".
        audit.record(
            actor,
            AuditAction.UPDATE,
            entity="fee",
            entity_id=fee.id,
            field=action.value,
            new=_describe(tx, reason, currency),
            **_ids(account),
        )
    return tx


def _change(actor: Actor, fee: Fee, account: Account, currency: str, **changes: object) -> None:
    """Write `changes` to the fee only if nobody changed its status or balance since it was
    read (else `ConflictError`), with one audit event per changed field."""
    if "status" in changes and changes["status"] != fee.status:
        changes["status_date"] = runtime.now()
    updated = (
        Fee.update(**changes)
        .where(
            (Fee.id == fee.id)
            & (Fee.status == fee.status)
            & (Fee.balance_minor == fee.balance_minor)
        )
        .execute()
    )
    if updated == 0:
        last = (
            FeeTransaction.select()
            .where(FeeTransaction.fee == fee.id)
            .order_by(FeeTransaction.id.desc())
            .first()
        )
        raise ConflictError(last.actor if last else "", last.at if last else "")
    shown = {
        "status": lambda v: v,
        "balance_minor": lambda v: format_money(v, currency),
        "item_barcode": lambda v: v,
        "title": lambda v: v,
    }
    for field, value in changes.items():
        old = getattr(fee, field)
        if field not in shown or old == value:
            continue
        audit.record(
            actor,
            AuditAction.UPDATE,
            entity="fee",
            entity_id=fee.id,
            field="balance" if field == "balance_minor" else field,
            old=shown[field](old),
            new=shown[field](value),
            **_ids(account),
        )
        setattr(fee, field, value)


def _has_patron_role(account: Account) -> bool:
    return (
        RoleAssignment.select()
        .where(
            (RoleAssignment.account == account.id)
            & (RoleAssignment.role == Role.PATRON.value)
            & (RoleAssignment.status == Status.ACTIVE.value)
        )
        .exists()
    )


def _loan_for(account: Account, barcode: str) -> Loan | None:
    """The account's most recent loan of this item, else anyone's in the organization (the
    title of the item)."""
    if not barcode:
        return None
    own = (
        Loan.select()
        .where((Loan.account == account.id) & (Loan.item_barcode == barcode))
        .order_by(Loan.loaned_at.desc())
        .first()
    )
    if own is not None:
        return own
    return (
        Loan.select()
        .join(Account)
        .where((Account.organization == account.organization_id) & (Loan.item_barcode == barcode))
        .order_by(Loan.loaned_at.desc())
        .first()
    )


# --- Actions ------------------------------------------------------------------------------------


def add_fee(
    account_id: int,
    actor: Actor,
    *,
    fee_type: str | int,
    amount: object,
    owner: str | int | None = None,
    item_barcode: str = "",
    comment: str = "",
    settings: Settings | None = None,
) -> Fee:
    """Add a fine or fee by hand: a type allowed for manual creation, an owner (a library, or
    the institution when empty; the type's own library when it has one), an amount >= 0, an
    optional item barcode (the title comes from the loan of that item) and a comment. A credit
    needs a comment and is stored negative."""
    settings = settings or load_settings()
    currency = settings.currency
    p = Problems()
    with database.atomic():
        account = _account(account_id)
        authorize(actor.account, Action.ADD_FEE, account)
        if not _has_patron_role(account):
            raise FeeRefused("Fines and fees are for patrons: this user has no Patron role.")
        kind = None
        if fee_type in (None, ""):
            p.add("fee_type", "is required")
        else:
            if isinstance(fee_type, int) and not isinstance(fee_type, bool):
                kind = FeeType.get_or_none(
                    (FeeType.id == fee_type) & (FeeType.organization == account.organization_id)
                )
            else:
                kind = find_code(FeeType, account.organization_id, str(fee_type))
            if kind is None:
                p.add("fee_type", "is not a known fee type")
            elif not kind.manual:
                p.add("fee_type", f"{kind.name} is not added by hand (it is charged automatically)")
                kind = None
        library = None
        if owner not in (None, ""):
            library = _find_library(account, owner)
            if library is None:
                p.add("owner", "is not a library of this organization")
        if kind is not None and kind.library_id is not None:
            if library is None and "owner" not in p.errors:
                library = kind.library
            elif library is not None and library.id != kind.library_id:
                p.add("owner", f"must be {kind.library.name}: the fee type belongs to it")
        try:
            minor = amount_minor(amount, currency)
        except ValidationError as exc:
            p.add("amount", exc.errors.get("amount", exc.message))
            minor = 0
        barcode = p.check("item_barcode", clean_text, item_barcode, 100) or ""
        credit = kind is not None and _is_credit(kind)
        text = _comment(p, comment, required="is required for a credit" if credit else "")
        p.raise_if_any()
        authorize(
            actor.account, Action.ADD_FEE, account, library_id=library.id if library else None
        )
        signed = -minor if credit else minor
        loan = _loan_for(account, barcode)
        now = runtime.now()
        fee = Fee.create(
            account=account.id,
            fee_type=kind.id,
            owner=library.id if library else None,
            loan=loan.id if loan is not None and loan.account_id == account.id else None,
            status=FeeStatus.ACTIVE.value if signed else FeeStatus.CLOSED.value,
            status_date=now,
            original_minor=signed,
            balance_minor=signed,
            item_barcode=barcode,
            title=loan.title if loan is not None else "",
            comment=text,
            created_by=actor.name,
            created_at=now,
        )
        ids = _ids(account)
        for field, value in (
            ("fee_type", kind.name),
            ("amount", format_money(signed, currency)),
            ("owner", library.name if library else "Institution"),
            ("item_barcode", barcode),
            ("title", fee.title),
            ("comment", text),
            ("status", fee.status if fee.status != FeeStatus.ACTIVE else ""),
        ):
            if value:
                audit.record(
                    actor, AuditAction.CREATE, entity="fee", entity_id=fee.id, field=field,
                    new=value, **ids,
                )  # fmt: skip
        _transaction(
            actor,
            fee,
            account,
            FeeAction.CREDIT if credit else FeeAction.CREATE,
            signed,
            currency=currency,
            comment=text,
        )
        return fee


def _open_fee(fee_id: int, actor: Actor, action: Action) -> tuple[Fee, Account]:
    fee = _load_fee(fee_id)
    account = fee.account
    authorize(actor.account, action, account, library_id=fee.owner_id)
    return fee, account


def _refuse_transferred(fee: Fee) -> None:
    if fee.status == FeeStatus.TRANSFERRED:
        raise FeeRefused("This fee was transferred to the bursar: settle it there.")


def pay_fee(
    fee_id: int,
    actor: Actor,
    *,
    method: str,
    amount: object = None,
    comment: str = "",
    settings: Settings | None = None,
) -> Fee:
    """Take a payment: the whole balance (`amount` None or empty) or part of it, by `method`
    (one of `PAY_METHODS`). Paid in full, the fee is closed."""
    settings = settings or load_settings()
    currency = settings.currency
    with database.atomic():
        fee, account = _open_fee(fee_id, actor, Action.PAY_FEE)
        _refuse_transferred(fee)
        if _is_credit(fee.fee_type):
            raise FeeRefused("A credit is not paid: the library owes it to the user.")
        if fee.status == FeeStatus.DISPUTED:
            raise FeeRefused("This fee is disputed: restore it before taking a payment.")
        if fee.status != FeeStatus.ACTIVE or fee.balance_minor <= 0:
            raise FeeRefused(f"Nothing is due on this fee (it is {fee.status}).")
        p = Problems()
        if method not in PAY_METHODS:
            p.add("method", f"is one of {', '.join(PAY_METHODS)}")
        minor = fee.balance_minor
        if amount not in (None, ""):
            try:
                minor = amount_minor(amount, currency)
            except ValidationError as exc:
                p.add("amount", exc.errors.get("amount", exc.message))
            else:
                if minor == 0:
                    p.add("amount", "must be more than 0")
                elif minor > fee.balance_minor:
                    p.add(
                        "amount",
                        f"is more than the balance of {format_money(fee.balance_minor, currency)}",
                    )
        text = _comment(p, comment)
        p.raise_if_any()
        _transaction(
            actor, fee, account, FeeAction.PAY, minor, currency=currency, method=method,
            comment=text,
        )  # fmt: skip
        left = fee.balance_minor - minor
        _change(
            actor,
            fee,
            account,
            currency,
            balance_minor=left,
            status=FeeStatus.CLOSED.value if left == 0 else fee.status,
        )
        return fee


def _waive_one(
    actor: Actor,
    fee: Fee,
    account: Account,
    minor: int,
    reason: WaiveReason,
    comment: str,
    currency: str,
) -> None:
    """Waive `minor` (> 0) towards zero: a debt goes down, a credit goes up."""
    signed = -minor if fee.balance_minor < 0 else minor
    _transaction(
        actor, fee, account, FeeAction.WAIVE, signed, currency=currency, reason=reason,
        comment=comment,
    )  # fmt: skip
    left = fee.balance_minor - signed
    _change(
        actor,
        fee,
        account,
        currency,
        balance_minor=left,
        status=FeeStatus.WAIVED.value if left == 0 else fee.status,
    )


def _check_waivable(fee: Fee) -> None:
    _refuse_transferred(fee)
    if not fee.fee_type.waivable:
        raise FeeRefused(f"A {fee.fee_type.name.lower()} cannot be waived (its fee type says so).")
    if fee.status not in OPEN_STATUSES or fee.balance_minor == 0:
        raise FeeRefused(f"Nothing is left to waive on this fee (it is {fee.status}).")


def waive_fee(
    fee_id: int,
    actor: Actor,
    *,
    reason: str | int,
    amount: object = None,
    comment: str = "",
    settings: Settings | None = None,
) -> Fee:
    """Waive the whole balance (`amount` None or empty) or part of it, with a waive reason
    and an optional comment. Only fees of a waivable type; an active or disputed fee (a disputed
    fee keeps its status until waived in full); a credit is waived towards zero."""
    settings = settings or load_settings()
    currency = settings.currency
    with database.atomic():
        fee, account = _open_fee(fee_id, actor, Action.WAIVE_FEE)
        _check_waivable(fee)
        p = Problems()
        owed = abs(fee.balance_minor)
        minor = owed
        if amount not in (None, ""):
            try:
                minor = amount_minor(amount, currency)
            except ValidationError as exc:
                p.add("amount", exc.errors.get("amount", exc.message))
            else:
                if minor == 0:
                    p.add("amount", "must be more than 0")
                elif minor > owed:
                    p.add("amount", f"is more than the balance of {format_money(owed, currency)}")
        why = _reason(p, reason, account.organization_id)
        text = _comment(p, comment)
        p.raise_if_any()
        _waive_one(actor, fee, account, minor, why, text, currency)
        return fee


@dataclass(frozen=True)
class WaiveResult:
    waived: int  # fees waived
    amount_minor: int  # their balances, together
    left: int = 0  # further fees "waive all" would take, beyond the waive limit
    skipped: int = 0  # open debts that may not be waived (type, or outside the actor's scope)


def waive_fees(
    fee_ids: Iterable[int],
    actor: Actor,
    *,
    reason: str | int,
    comment: str = "",
    settings: Settings | None = None,
) -> WaiveResult:
    """Waive selected fees in full, in one transaction: at most `Settings.waive_limit` of them,
    each waivable and open (one that is not refuses the whole action, naming it)."""
    settings = settings or load_settings()
    ids = list(dict.fromkeys(fee_ids))
    if not ids:
        raise ValidationError({"fees": "select at least one fee"})
    if len(ids) > settings.waive_limit:
        raise ValidationError(
            {"fees": f"at most {settings.waive_limit} fees can be waived in one action"}
        )
    with database.atomic():
        fees = []
        for fee_id in ids:
            fee, account = _open_fee(fee_id, actor, Action.WAIVE_FEE)
            try:
                _check_waivable(fee)
            except FeeRefused as exc:
                raise FeeRefused(
                    f"{fee.fee_type.name} of {fee.created_at:%Y-%m-%d}: {exc.message}"
                ) from None
            fees.append((fee, account))
        p = Problems()
        why = _reason(p, reason, fees[0][1].organization_id)
        text = _comment(p, comment)
        p.raise_if_any()
        total = 0
        for fee, account in fees:
            total += fee.balance_minor
            _waive_one(actor, fee, account, abs(fee.balance_minor), why, text, settings.currency)
        return WaiveResult(waived=len(fees), amount_minor=total)


def waive_all(
    account_id: int,
    actor: Actor,
    *,
    reason: str | int,
    comment: str = "",
    settings: Settings | None = None,
) -> WaiveResult:
    """Waive every open debt of the user that may be waived, oldest first, up to the waive
    limit per action (`left` says how many remain). Credits are kept; fees of a type that is
    not waivable, or owned by a library outside the actor's scope, are skipped and counted."""
    settings = settings or load_settings()
    with database.atomic():
        account = _account(account_id)
        authorize(actor.account, Action.WAIVE_FEE, account)
        p = Problems()
        why = _reason(p, reason, account.organization_id)
        text = _comment(p, comment)
        p.raise_if_any()
        debts = list(
            Fee.select(Fee, FeeType)
            .join(FeeType)
            .where(
                (Fee.account == account_id)
                & Fee.status.in_(OPEN_STATUSES)
                & (Fee.balance_minor > 0)
            )
            .order_by(Fee.created_at, Fee.id)
        )
        waivable = [
            f
            for f in debts
            if f.fee_type.waivable
            and can(actor.account, Action.WAIVE_FEE, account, library_id=f.owner_id)
        ]
        chosen = waivable[: settings.waive_limit]
        total = 0
        for fee in chosen:
            total += fee.balance_minor
            _waive_one(actor, fee, account, fee.balance_minor, why, text, settings.currency)
        return WaiveResult(
            waived=len(chosen),
            amount_minor=total,
            left=len(waivable) - len(chosen),
            skipped=len(debts) - len(waivable),
        )


def dispute_fee(
    fee_id: int, actor: Actor, *, comment: str, settings: Settings | None = None
) -> Fee:
    """The user disputes an active fee: it leaves the active balance (and the debt limit) until
    restored or waived. A comment says what is disputed."""
    settings = settings or load_settings()
    with database.atomic():
        fee, account = _open_fee(fee_id, actor, Action.WAIVE_FEE)
        _refuse_transferred(fee)
        if _is_credit(fee.fee_type):
            raise FeeRefused("A credit cannot be disputed.")
        if fee.status != FeeStatus.ACTIVE or fee.balance_minor <= 0:
            raise FeeRefused(
                f"Only an active fee with a balance can be disputed (it is {fee.status})."
            )
        p = Problems()
        text = _comment(p, comment, required="is required: say what the user disputes")
        p.raise_if_any()
        _transaction(actor, fee, account, FeeAction.DISPUTE, 0, currency=settings.currency,
                     comment=text)  # fmt: skip
        _change(actor, fee, account, settings.currency, status=FeeStatus.DISPUTED.value)
        return fee


def restore_fee(
    fee_id: int, actor: Actor, *, comment: str = "", settings: Settings | None = None
) -> Fee:
    """A disputed fee is due again: back to active, with its balance."""
    settings = settings or load_settings()
    with database.atomic():
        fee, account = _open_fee(fee_id, actor, Action.WAIVE_FEE)
        if fee.status != FeeStatus.DISPUTED:
            raise FeeRefused(f"Only a disputed fee can be restored (it is {fee.status}).")
        p = Problems()
        text = _comment(p, comment)
        p.raise_if_any()
        _transaction(actor, fee, account, FeeAction.RESTORE, 0, currency=settings.currency,
                     comment=text)  # fmt: skip
        _change(actor, fee, account, settings.currency, status=FeeStatus.ACTIVE.value)
        return fee


def link_item(
    fee_id: int, actor: Actor, *, item_barcode: str, settings: Settings | None = None
) -> Fee:
    """Link the fee to an item by its barcode (empty unlinks): the title comes from the loan of
    that item, when there is one."""
    settings = settings or load_settings()
    with database.atomic():
        fee, account = _open_fee(fee_id, actor, Action.ADD_FEE)
        p = Problems()
        barcode = p.check("item_barcode", clean_text, item_barcode, 100) or ""
        p.raise_if_any()
        loan = _loan_for(account, barcode)
        _transaction(actor, fee, account, FeeAction.LINK, 0, currency=settings.currency,
                     comment=f"item {barcode}" if barcode else "item unlinked")  # fmt: skip
        _change(
            actor,
            fee,
            account,
            settings.currency,
            item_barcode=barcode,
            title=loan.title if loan is not None else "",
            loan=loan.id if loan is not None and loan.account_id == account.id else None,
        )
        return fee


__all__ = [
    "CREDIT_CODE",
    "FEE_ACTIONS",
    "INSTITUTION",
    "PAY_METHODS",
    "STATUS_FILTERS",
    "FeeRefused",
    "FeeRow",
    "FeeView",
    "TransactionRow",
    "WaiveResult",
    "accrued_fines",
    "active_balance",
    "add_fee",
    "amount_minor",
    "borrowing_blocks",
    "debt_limit_minor",
    "debt_limit_reached",
    "dispute_fee",
    "fee_transactions",
    "fee_view",
    "link_item",
    "list_fees",
    "manual_fee_types",
    "pay_fee",
    "restore_fee",
    "waive_all",
    "waive_fee",
    "waive_fees",
]
