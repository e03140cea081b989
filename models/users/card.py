"""The user-information card of Find and Manage Users (issue 22, item 12; Esploro's hover card,
on a key): who the highlighted user is, without opening the record.

One read-only service, `user_card`. It authorizes as viewing the user does (`Action.VIEW_USER`:
another organization's account is refused) and reads "created / updated, by whom" from the
audit trail as the History tab shows it: the events of the account, the events of a row owned
by a library outside the viewer's scope left out (`models.users.history._in_scope`). When the
trail no longer holds the creation (pruned after the retention period, see
`models.users.history.prune_audit`) the account's own bookkeeping columns say it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models.access.permissions import Action, authorize
from models.access.scope import scope_of
from models.audit import Actor
from models.enums import AuditAction
from models.errors import NotFound
from models.runtime import runtime
from models.store.tables import Account, Address, AuditEvent, Email, Identifier, Phone
from models.users.accounts import full_name, is_expired
from models.users.history import _in_scope, source_shown
from models.users.photos import Photo, stored_photo
from models.users.profile import _one_line

# The actions that change a record (a login or an export changes nothing).
CHANGES = (AuditAction.CREATE.value, AuditAction.UPDATE.value, AuditAction.DELETE.value)
BATCH = 100  # events read at a time when looking for the last change the viewer may see


@dataclass(frozen=True)
class Stamp:
    """When and by whom (a username, or "system (jdoe@host)"), through what (screen, cli,
    import, job; "" when only the account's own columns say it)."""

    at: dt.datetime
    by: str
    source: str = ""


@dataclass(frozen=True)
class UserCard:
    account_id: int
    name: str
    primary_id: str
    record_type: str
    account_type: str
    user_group: str
    status: str
    expired: bool
    expiry_date: dt.date | None
    title: str  # the person's title (Dr., Prof.), "" when none
    job_category: str
    job_description: str
    created: Stamp
    updated: Stamp
    identifiers: list[tuple[str, str]]  # (type, value), the primary first; "(inactive)" said
    emails: list[tuple[str, str, bool]]  # (type, address, preferred), the preferred first
    phones: list[tuple[str, str, bool]]  # (type, number, preferred), the preferred first
    address: tuple[str, str] | None  # (type, one line): the preferred address, else the first
    photo: Photo | None = None  # the person's photo (issue 25), None: none


def _created(account: Account) -> Stamp:
    event = (
        AuditEvent.select()
        .where(
            (AuditEvent.account_id == account.id)
            & (AuditEvent.entity == "account")
            & (AuditEvent.action == AuditAction.CREATE.value)
        )
        .order_by(AuditEvent.at, AuditEvent.id)
        .first()
    )
    if event is None:
        return Stamp(account.created_at, account.created_by)
    return Stamp(event.at, event.actor, source_shown(event.source, event.job_id))


def _updated(account: Account, viewer: Actor) -> Stamp:
    """The newest change of the account the viewer may see in History."""
    scope = scope_of(viewer.account, account)
    query = (
        AuditEvent.select()
        .where((AuditEvent.account_id == account.id) & AuditEvent.action.in_(CHANGES))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    page = 1
    while events := list(query.paginate(page, BATCH)):
        seen = _in_scope(events, scope)
        if seen:
            return Stamp(seen[0].at, seen[0].actor, source_shown(seen[0].source, seen[0].job_id))
        page += 1
    return Stamp(account.updated_at, account.updated_by)


def _id_type(identifier: Identifier) -> str:
    if identifier.is_primary:
        return "primary"
    name = identifier.id_type.name if identifier.id_type_id else ""
    return name if identifier.active else f"{name} (inactive)".strip()


def _preferred_first(rows: list[tuple[str, str, bool]]) -> list[tuple[str, str, bool]]:
    return sorted(rows, key=lambda row: not row[2])  # stable: the others keep their order


def user_card(account_id: int, actor: Actor) -> UserCard:
    """The card of `account_id` as `actor` may see it (refused as viewing the user is)."""
    account = Account.get_or_none(Account.id == account_id)
    if account is None:
        raise NotFound("This user no longer exists: another staff user may have deleted it.")
    authorize(actor.account, Action.VIEW_USER, account)
    person = account.person
    ids = (
        Identifier.select()
        .where(Identifier.account == account)
        .order_by(Identifier.is_primary.desc(), Identifier.id)
    )
    emails = Email.select().where(Email.person == person).order_by(Email.id)
    phones = Phone.select().where(Phone.person == person).order_by(Phone.id)
    addresses = list(
        Address.select()
        .where(Address.person == person)
        .order_by(Address.preferred.desc(), Address.id)
    )
    return UserCard(
        account_id=account.id,
        name=full_name(person),
        primary_id=account.primary_id,
        record_type=account.record_type,
        account_type=account.account_type,
        user_group=account.user_group.name if account.user_group_id else "",
        status=account.status,
        expired=is_expired(account, runtime.today()),
        expiry_date=account.expiry_date,
        title=person.title,
        job_category=account.job_category.name if account.job_category_id else "",
        job_description=account.job_description,
        created=_created(account),
        updated=_updated(account, actor),
        identifiers=[(_id_type(i), i.value) for i in ids],
        emails=_preferred_first([(e.email_type, e.address, e.preferred) for e in emails]),
        phones=_preferred_first([(p.phone_type, p.number, p.preferred) for p in phones]),
        address=(addresses[0].address_type, _one_line(addresses[0])) if addresses else None,
        photo=stored_photo(person.id),
    )
