"""Deleting a user (domain.md section 8): refused while anything is owed or out on loan.

The full dialog (waive, notify, purge job) builds on `deletion_problems`; every reason is listed
at once so staff can deal with all of them.
"""

from __future__ import annotations

from models import audit
from models.accounts import _save_versioned
from models.audit import Actor
from models.base import database
from models.errors import NotFound, PatronDeskError
from models.money import format_money
from models.permissions import Action, authorize
from models.profile import balance_of, open_loans_of
from models.settings import load_settings
from models.tables import Account, Fee, FeeTransaction, Loan, Person, ProxyFor


class DeletionRefused(PatronDeskError):
    """The user cannot be deleted; `reasons` lists every reason, in words."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("This user cannot be deleted: " + "; ".join(reasons) + ".")


def deletion_problems(account: Account) -> list[str]:
    reasons = []
    balance = balance_of(account.id)
    if balance > 0:
        currency = load_settings().currency
        reasons.append(f"a balance of {format_money(balance, currency)} is due")
    loans = open_loans_of(account.id).count()
    if loans:
        reasons.append(f"{loans} loan(s) are still out")
    sponsored = (
        ProxyFor.select()
        .join(Account, on=ProxyFor.account)
        .where(ProxyFor.target == account)
        .count()
    )
    if sponsored and (loans or balance > 0):
        reasons.append(f"{sponsored} proxy user(s) act for this user with open items")
    return reasons


def delete_user(account_id: int, expected_version: int, actor: Actor) -> None:
    """Delete the account (and the person, when no other organization holds an account for
    them) in one transaction, with an audit event for every field removed."""
    account = Account.get_or_none(Account.id == account_id)
    if account is None:
        raise NotFound("This user no longer exists: another staff user may have deleted it.")
    authorize(actor.account, Action.DELETE_USER, account)
    with database.atomic():
        account = Account.get_by_id(account_id)
        if reasons := deletion_problems(account):
            raise DeletionRefused(reasons)
        # Check the version and take the row lock before anything is removed.
        _save_versioned(account, expected_version, {}, actor)
        person = account.person
        audit.record_changes(
            actor,
            account,
            audit.snapshot(account),
            None,
            account_id=account.id,
            person_id=person.id,
        )
        settled = Fee.select(Fee.id).where(Fee.account == account)
        FeeTransaction.delete().where(FeeTransaction.fee.in_(settled)).execute()
        Fee.delete().where(Fee.account == account).execute()
        Loan.delete().where(Loan.account == account).execute()
        Account.delete().where(Account.id == account.id).execute()
        if not Account.select().where(Account.person == person).exists():
            audit.record_changes(
                actor,
                person,
                audit.snapshot(person),
                None,
                account_id=account.id,
                person_id=person.id,
            )
            Person.delete().where(Person.id == person.id).execute()
