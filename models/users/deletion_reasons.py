"""What keeps a user from being deleted (`deletion_problems`): a contact record (a vendor's),
money owed either way, loans out, proxies with open items, the last administrator, any other row
that refers to them.

Below both `models.users.deletion` (which refuses a deletion for these reasons) and
`models.mail.letters`
(whose deletion notice tells the user these reasons), so neither imports the other.
"""

from __future__ import annotations

from models.access.scope import EVERY_LIBRARY
from models.audit import Actor
from models.config.settings import load_settings
from models.enums import FeeStatus, RecordType, Role, Status
from models.fees.money import format_money
from models.runtime import runtime
from models.store.tables import Account, Fee, Person, ProxyFor, RoleAssignment
from models.text import plural
from models.users.profile import open_loans_of

# References that deletion itself removes (money and loans, once the rules allow it).
_REMOVED_WITH_ACCOUNT = ("fee", "loan")
_GONE_WITH_ROW = ("CASCADE", "SET NULL")


def _other_references(model_cls, row_id: int, skip: tuple[str, ...]) -> list[str]:  # noqa: ANN001
    reasons = []
    for fk, model in model_cls._meta.backrefs.items():
        table = model._meta.table_name
        if fk.on_delete in _GONE_WITH_ROW or table in skip:
            continue
        count = model.select().where(fk == row_id).count()
        if count:
            what = plural(count, f"{table.replace('_', ' ')} record")
            reasons.append(f"{what} {'refers' if count == 1 else 'refer'} to this user")
    return reasons


def active_administrators(organization_id: int) -> set[int]:
    """The accounts of the organization that can act as User Administrator today: an active
    account holding an active, unexpired User Administrator role."""
    today = runtime.today()
    admins = (
        RoleAssignment.select(RoleAssignment.account)
        .join(Account)
        .where(
            (Account.organization == organization_id)
            & (RoleAssignment.role == Role.USER_ADMINISTRATOR.value)
            & (RoleAssignment.status == Status.ACTIVE.value)
            & (RoleAssignment.expiry_date.is_null() | (RoleAssignment.expiry_date >= today))
            & (Account.status == Status.ACTIVE.value)
        )
        .distinct()
    )
    return {row.account_id for row in admins}


def _last_administrator(account: Account) -> bool:
    return active_administrators(account.organization_id) == {account.id}


def fee_sum(account: Account, *statuses: str) -> int:
    """The balance of the account's fees in these statuses. Every library's, whoever asks: a
    deletion is refused while any library's fee is due."""
    return sum(
        f.balance_minor
        for f in Fee.select(Fee.balance_minor).where(
            (Fee.account == account.id)
            & Fee.status.in_(list(statuses))
            & EVERY_LIBRARY.condition(Fee.owner)
        )
    )


def deletion_problems(account: Account, actor: Actor | None = None) -> list[str]:
    """Every reason why this account cannot be deleted now, in words (empty: it can)."""
    currency = load_settings().currency
    today = runtime.today()
    reasons = []
    if account.record_type == RecordType.CONTACT:
        # Alma: "Delete only Staff or Public users. Contact users are reserved for vendors and
        # should not be deleted."
        reasons.append("contact records are reserved for vendors and are not deleted")
    balance = fee_sum(account, FeeStatus.ACTIVE.value, FeeStatus.DISPUTED.value)
    if balance > 0:
        reasons.append(f"a balance of {format_money(balance, currency)} is due")
    elif balance < 0:
        reasons.append(
            f"a credit of {format_money(-balance, currency)} is held for this user: "
            "refund or waive it first"
        )
    transferred = fee_sum(account, FeeStatus.TRANSFERRED.value)
    if transferred:
        reasons.append(
            f"{format_money(transferred, currency)} transferred to the bursar is not settled"
        )
    loans = list(open_loans_of(account.id))
    if loans:
        overdue = sum(1 for loan in loans if loan.due_date < today)
        late = f", {overdue} overdue" if overdue else ""
        are = "is" if len(loans) == 1 else "are"
        reasons.append(f"{plural(len(loans), 'loan')} {are} still out{late}")
    if loans or balance:
        proxies = (
            ProxyFor.select(ProxyFor, Account)
            .join(Account, on=ProxyFor.account)
            .where(ProxyFor.target == account.id)
        )
        names = [p.account.primary_id for p in proxies]
        if names:
            reasons.append(
                f"{plural(len(names), 'proxy user')} {'acts' if len(names) == 1 else 'act'} "
                "for this user, who has open items "
                f"({', '.join(names[:5])}{'…' if len(names) > 5 else ''})"
            )
    if actor is not None and actor.account is not None and actor.account.id == account.id:
        reasons.append("you cannot delete your own account")
    if _last_administrator(account):
        reasons.append("this is the organization's last active User Administrator")
    reasons += _other_references(Account, account.id, _REMOVED_WITH_ACCOUNT)
    if (
        not Account.select()
        .where((Account.person == account.person_id) & (Account.id != account.id))
        .exists()
    ):
        reasons += _other_references(Person, account.person_id, ("account",))
    return reasons
