"""Deleting a user and the purge job (domain.md section 8, issue 7).

A user can be deleted only when nothing is owed either way, nothing is out on loan, they are not
a proxy sponsor with open items, and nothing else refers to them. `check_deletion` lists every
reason at once, so staff can deal with all of them (the dialog offers to waive the fees or to
notify the user). Deletion removes the account and, when no other organization's account uses
the person, the person and everything about them, in one transaction. Their audit trail goes
too: one event survives, saying who deleted which identifier and when, with no personal data.

The purge job (`patrondesk purge [--dry-run]`, or the app's preview for administrators) deletes
every account whose purge date has passed (is before today) under the same rules, and reports
what it purged and what it skipped, and why.

Rules chosen where the seeds are silent:
- A credit (the library owes the user money) also refuses deletion, as does a balance
  transferred to the bursar and not yet settled: both are money that would vanish unrecorded.
- Fees that offset each other (a fine and an equal credit) owe nothing: deletion is allowed.
- Staff cannot delete their own account, nor the organization's last active User Administrator.
- Any other table whose rows refer to the account (or to the person, when the person would go)
  without deleting along with it refuses deletion, named: a table added later is covered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from peewee import IntegrityError

from models import audit
from models.access.permissions import Action, authorize
from models.audit import Actor
from models.config.settings import load_settings
from models.enums import AuditAction, FeeStatus
from models.errors import ConflictError, NotFound, PatronDeskError
from models.mail.letters import queue_deletion_notice
from models.runtime import runtime
from models.store.base import database
from models.store.tables import (
    Account,
    AuditEvent,
    Fee,
    FeeTransaction,
    Letter,
    Loan,
    Person,
)
from models.text import plural
from models.users.accounts import full_name, save_versioned
from models.users.deletion_reasons import deletion_problems


class DeletionRefused(PatronDeskError):
    """The user cannot be deleted; `reasons` lists every reason, in words."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("This user cannot be deleted: " + "; ".join(reasons) + ".")


@dataclass(frozen=True)
class DeletionCheck:
    """What the deletion dialog shows: every reason, and what it may offer."""

    account_id: int
    version: int
    primary_id: str
    name: str
    reasons: list[str]
    balance_minor: int  # active and disputed fees (credits negative)
    waivable_minor: int  # the debts "waive fees" clears
    open_fees: int  # fees with a balance left (active, disputed or transferred)
    currency: str

    @property
    def allowed(self) -> bool:
        return not self.reasons

    @property
    def has_fees(self) -> bool:
        """Fees are attached: the dialog offers to view the user and to notify them."""
        return self.open_fees > 0


@dataclass(frozen=True)
class Deleted:
    primary_id: str
    person_deleted: bool  # False: the person keeps an account in another organization


def _sum(account: Account, *statuses: str) -> int:
    return sum(
        f.balance_minor
        for f in Fee.select(Fee.balance_minor).where(
            (Fee.account == account.id) & Fee.status.in_(list(statuses))
        )
    )


def _load(account_id: int) -> Account:
    account = Account.get_or_none(Account.id == account_id)
    if account is None:
        raise NotFound("This user no longer exists: another staff user may have deleted it.")
    return account


def check_deletion(account_id: int, actor: Actor) -> DeletionCheck:
    """May `actor` delete this user now? Refuses (PermissionDenied) staff without the right to
    delete users; otherwise lists every reason that stands in the way."""
    account = _load(account_id)
    authorize(actor.account, Action.DELETE_USER, account)
    open_fees = list(
        Fee.select(Fee.balance_minor, Fee.fee_type, Fee.status)
        .where((Fee.account == account.id) & (Fee.balance_minor != 0))
        .where(
            Fee.status.in_(
                [FeeStatus.ACTIVE.value, FeeStatus.DISPUTED.value, FeeStatus.TRANSFERRED.value]
            )
        )
    )
    waivable = sum(
        f.balance_minor
        for f in open_fees
        if f.status != FeeStatus.TRANSFERRED and f.balance_minor > 0 and f.fee_type.waivable
    )
    return DeletionCheck(
        account_id=account.id,
        version=account.version,
        primary_id=account.primary_id,
        name=full_name(account.person),
        reasons=deletion_problems(account, actor),
        balance_minor=_sum(account, FeeStatus.ACTIVE.value, FeeStatus.DISPUTED.value),
        waivable_minor=waivable,
        open_fees=len(open_fees),
        currency=load_settings().currency,
    )


def delete_user(account_id: int, expected_version: int, actor: Actor) -> Deleted:
    """Delete the account (and the person, when no other organization holds an account for
    them) in one transaction, with everything about them and their audit trail; one audit event
    records who deleted which identifier. Raises `DeletionRefused` with every reason,
    `ConflictError` when the account changed since `expected_version` was read."""
    account = _load(account_id)
    authorize(actor.account, Action.DELETE_USER, account)
    try:
        with database.atomic():
            account = _load(account_id)
            # Check the version and take the row lock before anything is read or removed.
            save_versioned(account, expected_version, {}, actor)
            if reasons := deletion_problems(account, actor):
                raise DeletionRefused(reasons)
            return _remove(account, actor)
    except IntegrityError:
        # Something was added to the user (a fee, a loan) while this deletion ran.
        raise ConflictError("another staff user", "this moment") from None


def _remove(account: Account, actor: Actor) -> Deleted:
    person_id, primary_id = account.person_id, account.primary_id
    fees = Fee.select(Fee.id).where(Fee.account == account.id)
    FeeTransaction.delete().where(FeeTransaction.fee.in_(fees)).execute()
    Fee.delete().where(Fee.account == account.id).execute()
    Loan.delete().where(Loan.account == account.id).execute()
    Account.delete().where(Account.id == account.id).execute()  # the rest cascades
    person_deleted = not Account.select().where(Account.person == person_id).exists()
    trail = AuditEvent.account_id == account.id
    if person_deleted:
        Person.delete().where(Person.id == person_id).execute()
        trail |= AuditEvent.person_id == person_id
    AuditEvent.delete().where(trail).execute()
    audit.record(
        actor,
        AuditAction.DELETE,
        entity="account",
        entity_id=account.id,  # no account_id: a reused id must not inherit this History
        field="primary_id",
        old=primary_id,
    )
    return Deleted(primary_id=primary_id, person_deleted=person_deleted)


def notify_deletion(account_id: int, actor: Actor) -> Letter:
    """ "Notify user": the deletion notice (`models.mail.letters`), telling the user what keeps
    their
    account from being closed (the balance due, loans). Queued in the outbox; the letters job
    sends it to the preferred email and every CC address, or the library prints it for post."""
    account = _load(account_id)
    authorize(actor.account, Action.DELETE_USER, account)
    return queue_deletion_notice(account.id, actor, deletion_problems(account))


# --- The purge job ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeItem:
    account_id: int
    primary_id: str
    purge_date: dt.date
    reasons: list[str] = field(default_factory=list)  # empty: purged (or would be)


@dataclass(frozen=True)
class PurgeReport:
    dry_run: bool
    purged: list[PurgeItem]
    skipped: list[PurgeItem]

    def lines(self) -> list[str]:
        """The report in words, as the command line prints it and the app shows it: identifiers
        and reasons only, no personal data."""
        if self.dry_run:
            head = (
                f"Dry run: would purge {plural(len(self.purged), 'account')} whose purge date "
                "has passed "
                f"and skip {len(self.skipped)}; nothing was deleted."
            )
        else:
            head = (
                f"Purged {plural(len(self.purged), 'account')} whose purge date has passed; "
                f"skipped {len(self.skipped)}."
            )
        verb = "would purge" if self.dry_run else "purged"
        return [
            head,
            *(f"  {verb}  {i.primary_id}  (purge date {i.purge_date})" for i in self.purged),
            *(f"  skipped  {i.primary_id}  {'; '.join(i.reasons)}" for i in self.skipped),
        ]


def purge_candidates(today: dt.date | None = None, organization_id: int | None = None):  # noqa: ANN201
    """Accounts whose purge date has passed, oldest purge date first."""
    today = today or runtime.today()
    query = Account.select().where(Account.purge_date < today)
    if organization_id is not None:
        query = query.where(Account.organization == organization_id)
    return query.order_by(Account.purge_date, Account.id)


def purge(actor: Actor, *, dry_run: bool = False, today: dt.date | None = None) -> PurgeReport:
    """Delete every account whose purge date has passed and that may be deleted, each in its
    own transaction (one refusal never stops the others). `dry_run` deletes nothing and reports
    what a real run would do. The system (`actor.account` None) purges every organization;
    staff need the right to run jobs and purge their own organization."""
    organization_id = None
    if actor.account is not None:
        authorize(actor.account, Action.RUN_JOBS)
        organization_id = actor.account.organization_id
    purged, skipped = [], []
    for account in list(purge_candidates(today, organization_id)):
        item = PurgeItem(account.id, account.primary_id, account.purge_date)
        try:
            if dry_run:
                authorize(actor.account, Action.DELETE_USER, account)
                if reasons := deletion_problems(account, actor):
                    raise DeletionRefused(reasons)
            else:
                delete_user(account.id, account.version, actor)
        except DeletionRefused as exc:
            skipped.append(PurgeItem(item.account_id, item.primary_id, item.purge_date,
                                     exc.reasons))  # fmt: skip
        except PatronDeskError as exc:
            skipped.append(PurgeItem(item.account_id, item.primary_id, item.purge_date,
                                     [exc.message]))  # fmt: skip
        else:
            purged.append(item)
    return PurgeReport(dry_run=dry_run, purged=purged, skipped=skipped)


__all__ = [
    "Deleted",
    "DeletionCheck",
    "DeletionRefused",
    "PurgeItem",
    "PurgeReport",
    "check_deletion",
    "delete_user",
    "deletion_problems",
    "notify_deletion",
    "purge",
    "purge_candidates",
]
