"""What an export reads: the filter, the code tables, the accounts' ids in pages and each
page's records (one query per table), shared by every format."""

from __future__ import annotations

import base64
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from models.audit import SECRET_FIELDS
from models.errors import PatronDeskError
from models.store.tables import (
    Account,
    Address,
    Attachment,
    Block,
    BlockDefinition,
    Campus,
    Email,
    Fee,
    FeeTransaction,
    FeeType,
    Identifier,
    IdentifierType,
    JobCategory,
    Library,
    Loan,
    LocalOverride,
    Note,
    NoteType,
    Organization,
    Person,
    Phone,
    ProxyFor,
    RoleAssignment,
    StatCategory,
    StatCategoryType,
    Statistic,
    UserGroup,
    WaiveReason,
)
from models.users.fields import CODE_FIELDS, EXPORTED, LIBRARY_FIELDS, PERSON
from models.users.libraries import library_lists
from models.users.photos import photos_of

if TYPE_CHECKING:
    from models.search.query import UserQuery

EXPORT_FORMATS = ("csv", "json", "alma-xml", "alma-json", "folio-json", "rero-json")
PAGE = 500
FILTERS = ("tab", "status", "account_type", "role", "user_group", "record_type")


class ExportError(PatronDeskError):
    pass


@dataclass
class ExportFilter:
    """Which accounts: a search text (as in Find and Manage Users) and exact filters."""

    query: str = ""
    record_type: str = ""
    status: str = ""  # active | inactive
    account_type: str = ""
    role: str = ""
    user_group: str = ""  # code

    @classmethod
    def parse(cls, items: list[str], query: str = "") -> ExportFilter:
        """`--filter KEY=VALUE` items."""
        f = cls(query=query or "")
        for item in items:
            key, sep, value = item.partition("=")
            key = key.strip().replace("-", "_")
            if key == "tab":
                key = "record_type"
            if not sep or key not in FILTERS:
                raise ExportError(
                    f"--filter {item!r}: use KEY=VALUE with KEY one of "
                    "record_type, status, account_type, role, user_group"
                )
            setattr(f, key, value.strip())
        return f

    @property
    def empty(self) -> bool:
        return not any(getattr(self, k) for k in ("query", *FILTERS[1:]))


def _iso(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class _Codes:
    """id -> code (and name) of the organization's code tables and libraries."""

    TABLES = {
        "user_group": UserGroup,
        "job_category": JobCategory,
        "campus": Campus,
        "identifier_type": IdentifierType,
        "note_type": NoteType,
        "block_definition": BlockDefinition,
        "stat_category_type": StatCategoryType,
        "stat_category": StatCategory,
        "library": Library,
        "fee_type": FeeType,
        "waive_reason": WaiveReason,
    }

    def __init__(self, org: Organization) -> None:
        self.rows: dict[str, dict[int, Any]] = {}
        for table, model in self.TABLES.items():
            self.rows[table] = {r.id: r for r in model.select().where(model.organization == org.id)}

    def code(self, table: str, row_id: int | None) -> str:
        row = self.rows[table].get(row_id) if row_id else None
        return row.code if row is not None else ""

    def name(self, table: str, row_id: int | None) -> str:
        row = self.rows[table].get(row_id) if row_id else None
        return row.name if row is not None else ""

    def tables(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for table, rows in self.rows.items():
            items = []
            for r in rows.values():
                item = {"code": r.code, "name": r.name}
                if table == "stat_category":
                    item["category_type"] = self.code("stat_category_type", r.category_type_id)
                if table == "fee_type":
                    item.update(
                        waivable=r.waivable,
                        manual=r.manual,
                        daily_rate_minor=r.daily_rate_minor,
                        library=self.code("library", r.library_id),
                    )
                items.append(item)
            out[table] = items
        return out


def user_query(org: Organization, flt: ExportFilter) -> UserQuery:
    """The Find and Manage Users query of a filter (`ExportError` naming what is wrong): the
    export's and a logical set's (models/jobs/sets.py)."""
    from models.config.codes import find_code
    from models.search.engine import UserQuery

    group = None
    if flt.user_group:
        row = find_code(UserGroup, org.id, flt.user_group)
        if row is None:
            raise ExportError(f"--filter user_group={flt.user_group}: not a known user group")
        group = row.id
    status = {"": "any", "active": "active", "inactive": "inactive"}.get(flt.status.lower())
    if status is None:
        raise ExportError("--filter status: active or inactive")
    try:
        query = UserQuery(
            text=flt.query,
            tab=flt.record_type.lower() or "all",
            account_type=flt.account_type.lower() or None,
            role=flt.role.lower() or None,
            status=status,
            user_group_id=group,
        )
        from models.search.run import _check

        _check(query)
    except ValueError as exc:
        raise ExportError(f"--filter: {exc}") from None
    return query


def _account_ids(org: Organization, flt: ExportFilter) -> Iterator[list[int]]:
    """Pages of account ids of the organization matching the filter."""
    if flt.empty:
        last = 0
        while True:
            ids = [
                r[0]
                for r in Account.select(Account.id)
                .where((Account.organization == org.id) & (Account.id > last))
                .order_by(Account.id)
                .limit(PAGE)
                .tuples()
            ]
            if not ids:
                return
            yield ids
            last = ids[-1]
    from models.search.engine import search_users

    query = user_query(org, flt)
    try:
        cursor = None
        while True:
            page = search_users(org.id, query, after=cursor, limit=PAGE)
            ids = [r.account_id for r in page.rows]
            if ids:
                yield ids
            if page.cursor is None:
                return
            cursor = page.cursor
    except ValueError as exc:
        raise ExportError(f"--filter: {exc}") from None


def _by(query, key: str) -> dict[int, list]:  # noqa: ANN001
    out: dict[int, list] = defaultdict(list)
    for row in query:
        out[getattr(row, key)].append(row)
    return out


def _records(
    org: Organization,
    ids: list[int],
    codes: _Codes,
    secrets: bool,
    scope: Any = None,
    circulation: bool = False,
    photos: bool = False,
) -> list[dict]:
    """The own-format user dicts of the accounts `ids` (in that order). `scope` (a
    `models.access.scope.LibraryScope`): only the notes, blocks, statistics, attachments and fees a
    staff user may see; None is the system (the command line): every library's rows.
    `circulation`: with each user's loans and fees (and the fees' transactions). `photos`:
    with each person's photo (`photo`: its type, size and bytes in base64; null when none)."""
    accounts = {
        a.id: a for a in Account.select(Account, Person).join(Person).where(Account.id.in_(ids))
    }
    person_ids = [a.person_id for a in accounts.values()]
    emails = _by(Email.select().where(Email.person.in_(person_ids)).order_by(Email.id), "person_id")
    phones = _by(Phone.select().where(Phone.person.in_(person_ids)).order_by(Phone.id), "person_id")
    addresses = _by(
        Address.select().where(Address.person.in_(person_ids)).order_by(Address.id), "person_id"
    )

    def per_account(model: type) -> dict[int, list]:
        query = model.select().where(model.account.in_(ids))
        if scope is not None and "owner" in model._meta.fields:
            query = query.where(scope.condition(model.owner))
        return _by(query.order_by(model.id), "account_id")

    identifiers = per_account(Identifier)
    notes = per_account(Note)
    blocks = per_account(Block)
    stats = per_account(Statistic)
    roles = per_account(RoleAssignment)
    overrides = per_account(LocalOverride)
    libraries = library_lists(ids)  # resource sharing and purchase request libraries
    proxies = _by(
        ProxyFor.select(ProxyFor, Account.primary_id.alias("target_primary_id"))
        .join(Account, on=(ProxyFor.target == Account.id))
        .where(ProxyFor.account.in_(ids))
        .order_by(ProxyFor.id)
        .objects(),
        "account_id",
    )
    attachments = per_account(Attachment) if secrets else {}
    pictures = photos_of(person_ids) if photos else {}
    loans = per_account(Loan) if circulation else {}
    fees = per_account(Fee) if circulation else {}
    transactions = (
        _by(
            FeeTransaction.select()
            .where(FeeTransaction.fee.in_([f.id for rows in fees.values() for f in rows]))
            .order_by(FeeTransaction.id),
            "fee_id",
        )
        if fees
        else {}
    )
    out = []
    for account_id in ids:
        a = accounts.get(account_id)
        if a is None:
            continue
        p = a.person
        # The field table's values (models/users/fields.py), then the record's bookkeeping.
        rec: dict[str, Any] = {"primary_id": a.primary_id}
        for f in EXPORTED:
            rec[f.name] = _iso(getattr(p if f.owner == PERSON else a, f.name))
        for name in CODE_FIELDS:
            rec[name] = codes.code(name, getattr(a, f"{name}_id"))
        for name in LIBRARY_FIELDS:  # lists of library codes, in the order given
            rec[name] = [codes.code("library", i) for i in libraries.get(a.id, {}).get(name, [])]
        rec.update(
            {
                "owning_system": a.owning_system,
                "last_activity_at": _iso(a.last_activity_at),
                "created_by": a.created_by,
                "created_at": _iso(a.created_at),
                "updated_by": a.updated_by,
                "updated_at": _iso(a.updated_at),
            }
        )
        if secrets:
            rec["password_hash"] = p.password_hash
            rec["pin_hash"] = a.pin_hash
        rec["emails"] = [
            {
                "address": e.address,
                "email_type": e.email_type,
                "preferred": e.preferred,
                "description": e.description,
                "external": e.external,
            }
            for e in emails.get(p.id, [])
        ]
        rec["phones"] = [
            {
                "number": x.number,
                "phone_type": x.phone_type,
                "preferred": x.preferred,
                "preferred_sms": x.preferred_sms,
                "external": x.external,
            }
            for x in phones.get(p.id, [])
        ]
        rec["addresses"] = [
            {
                "address_type": x.address_type,
                "line1": x.line1,
                "line2": x.line2,
                "line3": x.line3,
                "line4": x.line4,
                "line5": x.line5,
                "city": x.city,
                "state": x.state,
                "postal_code": x.postal_code,
                "country": x.country,
                "note": x.note,
                "start_date": _iso(x.start_date),
                "end_date": _iso(x.end_date),
                "preferred": x.preferred,
                "external": x.external,
            }
            for x in addresses.get(p.id, [])
        ]
        rec["identifiers"] = [
            {
                "id_type": codes.code("identifier_type", x.id_type_id),
                "value": x.value,
                "is_primary": x.is_primary,
                "note": x.note,
                "active": x.active,
                "external": x.external,
            }
            for x in identifiers.get(a.id, [])
        ]
        rec["notes"] = [
            {
                "note_type": codes.code("note_type", x.note_type_id),
                "text": x.text,
                "user_viewable": x.user_viewable,
                "popup": x.popup,
                "owner": codes.code("library", x.owner_id),
                "external": x.external,
                "created_by": x.created_by,
                "created_at": _iso(x.created_at),
            }
            for x in notes.get(a.id, [])
        ]
        rec["blocks"] = [
            {
                "definition": codes.code("block_definition", x.definition_id),
                "expiry_date": _iso(x.expiry_date),
                "note": x.note,
                "owner": codes.code("library", x.owner_id),
                "active": x.active,
                "external": x.external,
                "created_by": x.created_by,
                "created_at": _iso(x.created_at),
            }
            for x in blocks.get(a.id, [])
        ]
        rec["statistics"] = []
        for x in stats.get(a.id, []):
            category = codes.rows["stat_category"].get(x.category_id)
            rec["statistics"].append(
                {
                    "category": category.code if category else "",
                    "category_type": codes.code(
                        "stat_category_type", category.category_type_id if category else None
                    ),
                    "note": x.note,
                    "owner": codes.code("library", x.owner_id),
                    "external": x.external,
                }
            )
        rec["roles"] = [
            {
                "role": x.role,
                "scope": codes.code("library", x.scope_id),
                "status": x.status,
                "expiry_date": _iso(x.expiry_date),
            }
            for x in roles.get(a.id, [])
        ]
        rec["proxy_for"] = [
            {"target": x.target_primary_id, "note": x.note} for x in proxies.get(a.id, [])
        ]
        rec["local_overrides"] = [
            {
                "field": x.field,
                # The SIS value of a PIN changed by hand is its hash: only for the round trip.
                "original": x.original if secrets or x.field not in SECRET_FIELDS else None,
                "changed_by": x.changed_by,
                "changed_at": _iso(x.changed_at),
            }
            for x in overrides.get(a.id, [])
        ]
        if secrets:
            rec["attachments"] = [
                {
                    "name": x.name,
                    "mime_type": x.mime_type,
                    "note": x.note,
                    "owner": codes.code("library", x.owner_id),
                    "created_by": x.created_by,
                    "created_at": _iso(x.created_at),
                    "data": base64.b64encode(bytes(x.data)).decode("ascii"),
                }
                for x in attachments.get(a.id, [])
            ]
        if photos:
            photo = pictures.get(p.id)
            rec["photo"] = (
                {
                    "mime_type": photo.mime_type,
                    "width": photo.width,
                    "height": photo.height,
                    "created_by": photo.created_by,
                    "created_at": _iso(photo.created_at),
                    "data": base64.b64encode(photo.data).decode("ascii"),
                }
                if photo is not None
                else None
            )
        if circulation:
            # A loan's "ref" is its id in this file: a fee names the loan it was charged for.
            rec["loans"] = [
                {
                    "ref": x.id,
                    "item_barcode": x.item_barcode,
                    "title": x.title,
                    "loaned_at": _iso(x.loaned_at),
                    "due_date": _iso(x.due_date),
                    "returned_at": _iso(x.returned_at),
                    "library": codes.code("library", x.library_id),
                }
                for x in loans.get(a.id, [])
            ]
            rec["fees"] = [
                {
                    "fee_type": codes.code("fee_type", x.fee_type_id),
                    "status": x.status,
                    "status_date": _iso(x.status_date),
                    "original": x.original_minor,  # minor units of the header's currency
                    "balance": x.balance_minor,
                    "item_barcode": x.item_barcode,
                    "title": x.title,
                    "comment": x.comment,
                    "owner": codes.code("library", x.owner_id),
                    "loan": x.loan_id,
                    "created_by": x.created_by,
                    "created_at": _iso(x.created_at),
                    "transactions": [
                        {
                            "action": t.action,
                            "amount": t.amount_minor,
                            "method": t.method,
                            "reason": codes.code("waive_reason", t.reason_id),
                            "comment": t.comment,
                            "actor": t.actor,
                            "at": _iso(t.at),
                        }
                        for t in transactions.get(x.id, [])
                    ],
                }
                for x in fees.get(a.id, [])
            ]
        out.append(rec)
    return out
