"""`patrondesk export`: users to a file, streamed (constant memory at a million users).

Formats:
- `json`: PatronDesk's own export, every field of every user (what `patrondesk import` reads
  back into an empty database, field for field), with their loans and fees (and the fees'
  transactions), the code tables the users name and the currency of the amounts. One user
  per line inside a JSON object, so both ends stream. Password and PIN hashes are included: the
  file is as sensitive as the database.
- `csv`: the columns of `models.transfer.formats.CSV_COLUMNS` (README "Import and export"): one
  address (the preferred), no hashes, no attachments.
- `alma-xml`: Alma's `<users>` with one `<user>` per account (the REST and SIS-load schema).
- `alma-json`: Alma's REST `{"user": [...], "total_record_count": N}`, the same fields as
  `alma-xml` (PatronDesk's own in a `patrondesk` member instead of processing instructions).
- `folio-json`: FOLIO mod-users' `{"users": [...], "totalRecords": N}`, each user valid against
  mod-users' userdata.json, with the patron groups and address types the UUIDs name
  (`usergroups`, `addresstypes`) before the users.
- `rero-json`: RERO ILS users (a JSON array, as RERO's data/users.json) with their `patron`
  record.

Accounts are read in pages of `PAGE` by id (or through the search engine when a query or
filters are given), with each page's rows fetched by one query per table.
`user_document` is the personal-information export of one user (no secrets; loans and fees too).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from models import audit
from models.audit import SECRET_FIELDS, Actor
from models.enums import AuditAction, Source
from models.errors import NotFound, PatronDeskError
from models.store.base import database, fold_key
from models.store.files import PrivateFile
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
from models.transfer.formats import CSV_COLUMNS, formula_safe, join_items

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
    from models.config.codes import find_code
    from models.search.engine import UserQuery, search_users

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
) -> list[dict]:
    """The own-format user dicts of the accounts `ids` (in that order). `scope` (a
    `models.access.scope.LibraryScope`): only the notes, blocks, statistics, attachments and fees a
    staff user may see; None is the system (the command line): every library's rows.
    `circulation`: with each user's loans and fees (and the fees' transactions)."""
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
    proxies = _by(
        ProxyFor.select(ProxyFor, Account.primary_id.alias("target_primary_id"))
        .join(Account, on=(ProxyFor.target == Account.id))
        .where(ProxyFor.account.in_(ids))
        .order_by(ProxyFor.id)
        .objects(),
        "account_id",
    )
    attachments = per_account(Attachment) if secrets else {}
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
        rec: dict[str, Any] = {
            "primary_id": a.primary_id,
            "record_type": a.record_type,
            "account_type": a.account_type,
            "owning_system": a.owning_system,
            "status": a.status,
            "status_date": _iso(a.status_date),
            "username": p.username,
            "email": p.email,
        }
        if secrets:
            rec["password_hash"] = p.password_hash
        for name in (
            "first_name",
            "middle_name",
            "last_name",
            "preferred_first_name",
            "preferred_middle_name",
            "preferred_last_name",
            "title",
            "birth_date",
            "gender",
            "website",
            "preferred_language",
            "keep_history",
            "force_password_change",
        ):
            rec[name] = _iso(getattr(p, name))
        rec.update(
            {
                "user_group": codes.code("user_group", a.user_group_id),
                "job_category": codes.code("job_category", a.job_category_id),
                "job_description": a.job_description,
                "campus": codes.code("campus", a.campus_id),
                "expiry_date": _iso(a.expiry_date),
                "purge_date": _iso(a.purge_date),
                "comm_channel": a.comm_channel,
                "comm_language": a.comm_language,
                "additional_email": a.additional_email,
                "letters_opt_in": a.letters_opt_in,
                "resource_sharing_library": codes.code("library", a.resource_sharing_library_id),
                "purchase_request_library": codes.code("library", a.purchase_request_library_id),
                "cataloger_level": a.cataloger_level,
                "local_codes": a.local_codes,
                "researcher": a.researcher,
                "last_activity_at": _iso(a.last_activity_at),
                "created_by": a.created_by,
                "created_at": _iso(a.created_at),
                "updated_by": a.updated_by,
                "updated_at": _iso(a.updated_at),
            }
        )
        if secrets:
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


# --- Writers ------------------------------------------------------------------------------------


def _csv_row(rec: dict) -> list[str]:
    def typed(kind: str, value: str) -> str:
        return f"{kind}:{value}" if kind else f":{value}"

    def flags(**on: bool) -> list[str]:
        return [name for name, value in on.items() if value]

    def keyed(**values: Any) -> list[str]:
        return [f"{name}={value}" for name, value in values.items() if value]

    emails = sorted(rec["emails"], key=lambda e: not e["preferred"])
    phones = sorted(rec["phones"], key=lambda e: not e["preferred"])
    address = next(iter(sorted(rec["addresses"], key=lambda a: not a["preferred"])), None)
    values: dict[str, Any] = dict(rec)
    values["password"] = ""
    # Multi-valued cells: "value;attribute;..." (README "PatronDesk CSV"): statuses, expiry
    # dates, owner libraries and role scopes travel with their value.
    values["emails"] = join_items(
        [
            (typed(e["email_type"], e["address"]), keyed(description=e["description"]))
            for e in emails
        ]
    )
    values["phones"] = join_items(
        [(typed(x["phone_type"], x["number"]), flags(sms=x["preferred_sms"])) for x in phones]
    )
    values["identifiers"] = join_items(
        [
            (
                typed(x["id_type"], x["value"]),
                flags(inactive=not x["active"]) + keyed(note=x["note"]),
            )
            for x in rec["identifiers"]
            if not x["is_primary"]
        ]
    )
    values["notes"] = join_items(
        [
            (
                typed(x["note_type"], x["text"]),
                flags(viewable=x["user_viewable"], popup=x["popup"]) + keyed(owner=x["owner"]),
            )
            for x in rec["notes"]
        ]
    )
    values["statistics"] = join_items(
        [
            (x["category"], keyed(type=x["category_type"], owner=x["owner"], note=x["note"]))
            for x in rec["statistics"]
        ]
    )
    values["blocks"] = join_items(
        [
            (
                typed(x["definition"], x["note"]),
                flags(inactive=not x["active"]) + keyed(until=x["expiry_date"], owner=x["owner"]),
            )
            for x in rec["blocks"]
        ]
    )
    values["roles"] = join_items(
        [
            (
                x["role"] + (f"@{x['scope']}" if x["scope"] else ""),
                flags(inactive=x["status"] != "active") + keyed(until=x["expiry_date"]),
            )
            for x in rec["roles"]
        ]
    )
    a = address or {}
    values.update(
        {
            "address_type": a.get("address_type", ""),
            "address_line1": a.get("line1", ""),
            "address_line2": a.get("line2", ""),
            "address_line3": a.get("line3", ""),
            "city": a.get("city", ""),
            "state": a.get("state", ""),
            "postal_code": a.get("postal_code", ""),
            "country": a.get("country", ""),
        }
    )
    out = []
    for column in CSV_COLUMNS:
        v = values.get(column)
        if isinstance(v, bool):
            v = "true" if v else "false"
        # Formula-safe (OWASP CSV injection): the import takes the prefix away again.
        out.append("" if v is None else formula_safe(str(v)))
    return out


def _x(tag: str, value: Any, desc: str | None = None, **attrs: Any) -> str:
    attributes = "".join(f" {k}={quoteattr(str(v))}" for k, v in attrs.items())
    if desc is not None:
        attributes = f" desc={quoteattr(desc)}" + attributes
    text = "" if value is None else escape(str(value))
    return f"<{tag}{attributes}>{text}</{tag}>"


def _date(tag: str, value: Any, time: bool = False) -> str:
    """An Alma date element (xs:date, or xs:dateTime with `time`), or nothing: the schema has
    no empty date."""
    if not value:
        return ""
    return _x(tag, f"{str(value)[:10]}T00:00:00" if time else str(value)[:10])


# Alma's role type codes (its UserRoles code table); the desc names the role too, and the
# import reads either. PatronDesk's fulfillment services operator has no code known here: it is
# written as FULFILLMENT_SERVICES_OPERATOR with its desc.
ALMA_ROLE_CODES = {
    "patron": "200",
    "user_manager": "21",
    "user_administrator": "50",
    "circulation_desk_operator": "32",
    "circulation_desk_manager": "221",
}


def _extension(**values: Any) -> str:
    """PatronDesk's fields that Alma's schema has no element for, as a processing instruction
    (`<?patrondesk name="value" ...?>`): Alma and schema validators skip it, PatronDesk's import
    reads it back (`models.transfer.formats.alma_extension`). Empty values are left out."""
    items = []
    for name, value in values.items():
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        text = escape(str(value), {'"': "&quot;", "\n": "&#10;", "\r": "&#13;"})
        items.append(f'{name}="{text}"')
    return f"<?patrondesk {' '.join(items)}?>" if items else ""


def _alma_user(rec: dict, codes: _Codes) -> str:
    """One `<user>` valid against Alma's rest_user.xsd: empty dates and flags left out, dates as
    xs:date (a block's expiry as xs:dateTime), Alma's role codes, no empty <scope>. What Alma
    has no element for travels in `<?patrondesk ...?>` instructions (`_extension`)."""

    def b(v: bool) -> str:
        return "true" if v else "false"

    def group_name(table: str, code: str) -> str:
        for row in codes.rows[table].values():
            if row.code == code:
                return row.name
        return ""

    parts = [
        "<user>",
        _extension(
            username=rec["username"],
            letters_opt_in=rec["letters_opt_in"],
            comm_channel=rec["comm_channel"],
            comm_language=rec["comm_language"],
            additional_email=rec["additional_email"],
            keep_history=rec["keep_history"],
            purchase_request_library=rec["purchase_request_library"],
            # An account with no status date (Alma's own <status_date/>): none is written.
            no_status_date=not rec["status_date"] or None,
        ),
        _x("record_type", rec["record_type"].upper(), rec["record_type"].title()),
        _x("primary_id", rec["primary_id"]),
        _x("first_name", rec["first_name"]),
        _x("middle_name", rec["middle_name"]),
        _x("last_name", rec["last_name"]),
        _x("user_title", rec["title"], ""),
        _x("job_category", rec["job_category"], group_name("job_category", rec["job_category"])),
        _x("job_description", rec["job_description"]),
        _x("gender", rec["gender"].upper(), ""),
        _x("user_group", rec["user_group"], group_name("user_group", rec["user_group"])),
        _x("campus_code", rec["campus"], group_name("campus", rec["campus"])),
        _x("web_site_url", rec["website"]),
        _x("cataloger_level", rec["cataloger_level"], ""),
        _x("preferred_language", rec["preferred_language"], ""),
        _date("birth_date", rec["birth_date"]),
        _date("expiry_date", rec["expiry_date"]),
        _date("purge_date", rec["purge_date"]),
        _x("account_type", rec["account_type"].upper(), rec["account_type"].title()),
        _x("external_id", rec["owning_system"]),
        # Alma: "TRUE" asks for a new password at the next login (four characters at most).
        _x("force_password_change", "TRUE") if rec["force_password_change"] else "",
        _x("status", rec["status"].upper(), rec["status"].title()),
        _date("status_date", rec["status_date"]),
        "<contact_info><addresses>",
    ]
    for a in rec["addresses"]:
        seg = "External" if a["external"] else "Internal"
        parts.append(f'<address preferred="{b(a["preferred"])}" segment_type="{seg}">')
        for tag, key in (
            ("line1", "line1"),
            ("line2", "line2"),
            ("line3", "line3"),
            ("city", "city"),
            ("state_province", "state"),
            ("postal_code", "postal_code"),
        ):
            parts.append(_x(tag, a[key]))
        parts.append(_x("country", a["country"], ""))
        parts.append(_x("address_note", a["note"]))
        parts.append(_date("start_date", a["start_date"]))
        parts.append(_date("end_date", a["end_date"]))
        parts.append(
            "<address_types>" + _x("address_type", a["address_type"], "") + "</address_types>"
        )
        parts.append("</address>")
    parts.append("</addresses><emails>")
    for e in rec["emails"]:
        seg = "External" if e["external"] else "Internal"
        parts.append(f'<email preferred="{b(e["preferred"])}" segment_type="{seg}">')
        parts.append(_x("email_address", e["address"]))
        parts.append(_x("description", e["description"]))
        parts.append("<email_types>" + _x("email_type", e["email_type"], "") + "</email_types>")
        parts.append("</email>")
    parts.append("</emails><phones>")
    for x in rec["phones"]:
        seg = "External" if x["external"] else "Internal"
        parts.append(
            f'<phone preferred="{b(x["preferred"])}" preferred_sms="{b(x["preferred_sms"])}" '
            f'segment_type="{seg}">'
        )
        parts.append(_x("phone_number", x["number"]))
        parts.append("<phone_types>" + _x("phone_type", x["phone_type"], "") + "</phone_types>")
        parts.append("</phone>")
    parts.append("</phones></contact_info>")
    parts.append(_x("pref_first_name", rec["preferred_first_name"]))
    parts.append(_x("pref_middle_name", rec["preferred_middle_name"]))
    parts.append(_x("pref_last_name", rec["preferred_last_name"]))
    parts.append(_x("is_researcher", b(rec["researcher"])))
    if rec["resource_sharing_library"]:
        library = rec["resource_sharing_library"]
        parts.append(
            "<rs_libraries><rs_library>"
            + _x("code", library, group_name("library", library))
            + "</rs_library></rs_libraries>"
        )
    parts.append("<user_identifiers>")
    for x in rec["identifiers"]:
        if x["is_primary"]:
            continue
        seg = "External" if x["external"] else "Internal"
        parts.append(f'<user_identifier segment_type="{seg}">')
        parts.append(_x("id_type", x["id_type"], group_name("identifier_type", x["id_type"])))
        parts.append(_x("value", x["value"]))
        parts.append(_x("note", x["note"]))
        parts.append(_x("status", "ACTIVE" if x["active"] else "INACTIVE"))
        parts.append("</user_identifier>")
    parts.append("</user_identifiers><user_roles>")
    for r in rec["roles"]:
        parts.append("<user_role>")
        parts.append(_x("status", r["status"].upper(), r["status"].title()))
        if r["scope"]:  # no scope: every library
            parts.append(_x("scope", r["scope"], group_name("library", r["scope"])))
        code = ALMA_ROLE_CODES.get(r["role"], r["role"].upper())
        parts.append(_x("role_type", code, r["role"].replace("_", " ").title()))
        parts.append(_date("expiry_date", r["expiry_date"]))
        parts.append("</user_role>")
    parts.append("</user_roles><user_blocks>")
    for x in rec["blocks"]:
        seg = "External" if x["external"] else "Internal"
        parts.append(f'<user_block segment_type="{seg}">')
        parts.append(_extension(owner=x["owner"]))
        parts.append(
            _x(
                "block_description",
                x["definition"],
                group_name("block_definition", x["definition"]),
            )
        )
        parts.append(_x("block_status", "ACTIVE" if x["active"] else "INACTIVE"))
        parts.append(_x("block_note", x["note"]))
        parts.append(_date("expiry_date", x["expiry_date"], time=True))
        parts.append("</user_block>")
    parts.append("</user_blocks><user_notes>")
    for x in rec["notes"]:
        seg = "External" if x["external"] else "Internal"
        parts.append(f'<user_note segment_type="{seg}">')
        parts.append(_extension(owner=x["owner"]))
        parts.append(_x("note_type", x["note_type"], group_name("note_type", x["note_type"])))
        parts.append(_x("note_text", x["text"]))
        parts.append(_x("user_viewable", b(x["user_viewable"])))
        parts.append(_x("popup_note", b(x["popup"])))
        parts.append("</user_note>")
    parts.append("</user_notes><user_statistics>")
    for x in rec["statistics"]:
        seg = "External" if x["external"] else "Internal"
        parts.append(f'<user_statistic segment_type="{seg}">')
        parts.append(_extension(owner=x["owner"]))
        parts.append(
            _x("statistic_category", x["category"], group_name("stat_category", x["category"]))
        )
        parts.append(
            _x(
                "category_type",
                x["category_type"],
                group_name("stat_category_type", x["category_type"]),
            )
        )
        parts.append(_x("statistic_note", x["note"]))
        parts.append("</user_statistic>")
    parts.append("</user_statistics></user>")
    return "".join(parts)


def _code_name(codes: _Codes, table: str, code: str) -> str:
    for row in codes.rows[table].values():
        if row.code == code:
            return row.name
    return ""


def _preferred_first(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: not r["preferred"])


def _alma_json_date(value: Any, time: bool = False) -> str | None:
    """Alma's JSON dates: "2023-09-01Z" (a block's expiry "2023-09-01T00:00:00Z"); None: left
    out (an empty date is not one)."""
    if not value:
        return None
    return f"{str(value)[:10]}T00:00:00Z" if time else f"{str(value)[:10]}Z"


def _alma_json_user(rec: dict, codes: _Codes) -> dict:
    """One user in Alma's REST JSON (the fields of `_alma_user`, codes as {"value", "desc"});
    what Alma has no field for goes in a `patrondesk` member, which the import reads back."""

    def v(value: Any, desc: str = "") -> dict:
        return {"value": value, "desc": desc}

    def coded(table: str, code: str) -> dict:
        return v(code, _code_name(codes, table, code))

    def seg(row: dict) -> str:
        return "External" if row["external"] else "Internal"

    def own(**values: Any) -> dict:
        return {k: x for k, x in values.items() if x not in (None, "")}

    user: dict[str, Any] = {
        "record_type": v(rec["record_type"].upper(), rec["record_type"].title()),
        "primary_id": rec["primary_id"],
        "first_name": rec["first_name"],
        "middle_name": rec["middle_name"],
        "last_name": rec["last_name"],
        "user_title": v(rec["title"]),
        "job_category": coded("job_category", rec["job_category"]),
        "job_description": rec["job_description"],
        "gender": v(rec["gender"].upper()),
        "user_group": coded("user_group", rec["user_group"]),
        "campus_code": coded("campus", rec["campus"]),
        "web_site_url": rec["website"],
        "cataloger_level": v(rec["cataloger_level"]),
        "preferred_language": v(rec["preferred_language"]),
        "birth_date": _alma_json_date(rec["birth_date"]),
        "expiry_date": _alma_json_date(rec["expiry_date"]),
        "purge_date": _alma_json_date(rec["purge_date"]),
        "account_type": v(rec["account_type"].upper(), rec["account_type"].title()),
        "external_id": rec["owning_system"],
        "force_password_change": "TRUE" if rec["force_password_change"] else None,
        "status": v(rec["status"].upper(), rec["status"].title()),
        "status_date": _alma_json_date(rec["status_date"]),
        "contact_info": {
            "address": [
                {
                    "preferred": a["preferred"],
                    "segment_type": seg(a),
                    "line1": a["line1"],
                    "line2": a["line2"],
                    "line3": a["line3"],
                    "city": a["city"],
                    "state_province": a["state"],
                    "postal_code": a["postal_code"],
                    "country": v(a["country"]),
                    "address_note": a["note"],
                    "start_date": _alma_json_date(a["start_date"]),
                    "end_date": _alma_json_date(a["end_date"]),
                    "address_type": [v(a["address_type"], a["address_type"].title())],
                }
                for a in rec["addresses"]
            ],
            "email": [
                {
                    "preferred": e["preferred"],
                    "segment_type": seg(e),
                    "email_address": e["address"],
                    "description": e["description"],
                    "email_type": [v(e["email_type"], e["email_type"].title())],
                }
                for e in rec["emails"]
            ],
            "phone": [
                {
                    "preferred": x["preferred"],
                    "preferred_sms": x["preferred_sms"],
                    "segment_type": seg(x),
                    "phone_number": x["number"],
                    "phone_type": [v(x["phone_type"], x["phone_type"].replace("_", " ").title())],
                }
                for x in rec["phones"]
            ],
        },
        "pref_first_name": rec["preferred_first_name"],
        "pref_middle_name": rec["preferred_middle_name"],
        "pref_last_name": rec["preferred_last_name"],
        "is_researcher": rec["researcher"],
        "rs_library": (
            [{"code": coded("library", rec["resource_sharing_library"])}]
            if rec["resource_sharing_library"]
            else []
        ),
        "user_identifier": [
            {
                "segment_type": seg(x),
                "id_type": coded("identifier_type", x["id_type"]),
                "value": x["value"],
                "note": x["note"],
                "status": "ACTIVE" if x["active"] else "INACTIVE",
            }
            for x in rec["identifiers"]
            if not x["is_primary"]
        ],
        "user_role": [
            {
                "status": v(r["status"].upper(), r["status"].title()),
                "role_type": v(
                    ALMA_ROLE_CODES.get(r["role"], r["role"].upper()),
                    r["role"].replace("_", " ").title(),
                ),
                **({"scope": coded("library", r["scope"])} if r["scope"] else {}),
                **({"expiry_date": _alma_json_date(r["expiry_date"])} if r["expiry_date"] else {}),
            }
            for r in rec["roles"]
        ],
        "user_block": [
            {
                "segment_type": seg(x),
                "block_description": coded("block_definition", x["definition"]),
                "block_status": "ACTIVE" if x["active"] else "INACTIVE",
                "block_note": x["note"],
                "expiry_date": _alma_json_date(x["expiry_date"], time=True),
                "patrondesk": own(owner=x["owner"]),
            }
            for x in rec["blocks"]
        ],
        "user_note": [
            {
                "segment_type": seg(x),
                "note_type": coded("note_type", x["note_type"]),
                "note_text": x["text"],
                "user_viewable": x["user_viewable"],
                "popup_note": x["popup"],
                "patrondesk": own(owner=x["owner"]),
            }
            for x in rec["notes"]
        ],
        "user_statistic": [
            {
                "segment_type": seg(x),
                "statistic_category": coded("stat_category", x["category"]),
                "category_type": coded("stat_category_type", x["category_type"]),
                "statistic_note": x["note"],
                "patrondesk": own(owner=x["owner"]),
            }
            for x in rec["statistics"]
        ],
        "patrondesk": own(
            username=rec["username"],
            letters_opt_in=rec["letters_opt_in"],
            comm_channel=rec["comm_channel"],
            comm_language=rec["comm_language"],
            additional_email=rec["additional_email"],
            keep_history=rec["keep_history"],
            purchase_request_library=rec["purchase_request_library"],
            # An account with no status date (Alma's own <status_date/>): none is written.
            no_status_date=not rec["status_date"] or None,
        ),
    }
    # No empty date (Alma reads "" as a date that is not one), no empty extension.
    for rows in (
        [user],
        user["contact_info"]["address"],
        user["user_block"],
        user["user_note"],
        user["user_statistic"],
    ):
        for row in rows:
            for key in [k for k, x in row.items() if x is None or (k == "patrondesk" and not x)]:
                del row[key]
    return user


# FOLIO's reference address types (mod-users ref-data): their UUIDs are the same in every
# tenant that loaded the reference data. PatronDesk's other address types get a UUID of their own.
FOLIO_ADDRESS_TYPE_IDS = {
    "home": "93d3d88d-499b-45d0-9bc7-ac73c3a19880",
    "work": "1c4b225f-f669-4e9b-afcd-ebc0e273a34e",
}
FOLIO_CONTACT_TYPES = {"mail": "001", "email": "002"}  # FOLIO's preferred contact type ids


def _folio_id(org: Organization, kind: str, code: str) -> str:
    """A stable UUID (version 5) for a PatronDesk code or account in FOLIO's UUID fields."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"patrondesk:{org.code}:{kind}:{code}"))


def _folio_date(value: Any) -> str | None:
    return f"{str(value)[:10]}T00:00:00.000+00:00" if value else None


def _folio_reference(org: Organization, codes: _Codes) -> dict:
    """The patron groups and address types the users' UUIDs name (FOLIO's /groups and
    /addresstypes records), written before the users so that the import reads them first."""
    from models.enums import AddressType

    return {
        "usergroups": [
            {"id": _folio_id(org, "group", g.code), "group": g.code, "desc": g.name}
            for g in codes.rows["user_group"].values()
        ],
        "addresstypes": [
            {
                "id": FOLIO_ADDRESS_TYPE_IDS.get(t.value) or _folio_id(org, "addresstype", t),
                "addressType": t.value.title(),
                "desc": f"{t.value.title()} Address",
            }
            for t in AddressType
        ],
    }


def _folio_user(rec: dict, org: Organization) -> dict:
    """One FOLIO user record (mod-users' userdata.json): what PatronDesk has a field for in it
    (README's format table); empty values left out."""
    emails = _preferred_first(rec["emails"])
    phones = _preferred_first(rec["phones"])
    mobile = [p["number"] for p in phones if p["phone_type"] == "mobile"]
    other = [p["number"] for p in phones if p["phone_type"] != "mobile"]
    barcodes = [
        i["value"]
        for i in rec["identifiers"]
        if i["id_type"] == "BARCODE" and i["active"] and not i["is_primary"]
    ]
    addresses = []
    for a in rec["addresses"]:
        address = {
            "addressTypeId": FOLIO_ADDRESS_TYPE_IDS.get(a["address_type"])
            or _folio_id(org, "addresstype", a["address_type"]),
            "addressLine1": a["line1"],
            # FOLIO has two lines: the third is kept at the end of the second.
            "addressLine2": ", ".join(x for x in (a["line2"], a["line3"]) if x),
            "city": a["city"],
            "region": a["state"],
            "postalCode": a["postal_code"],
            "countryId": a["country"],
        }
        address = {k: x for k, x in address.items() if x}
        address["primaryAddress"] = bool(a["preferred"])
        addresses.append(address)
    personal = {
        "lastName": rec["last_name"],
        "firstName": rec["first_name"],
        "middleName": rec["middle_name"],
        "preferredFirstName": rec["preferred_first_name"],
        "email": emails[0]["address"] if emails else "",
        "phone": other[0] if other else "",
        "mobilePhone": mobile[0] if mobile else "",
        "dateOfBirth": _folio_date(rec["birth_date"]),
    }
    personal = {k: x for k, x in personal.items() if x}
    personal["lastName"] = rec["last_name"]  # required, even empty
    personal["addresses"] = addresses
    personal["preferredContactTypeIds"] = [FOLIO_CONTACT_TYPES.get(rec["comm_channel"], "002")]
    user = {
        "username": rec["username"],
        "id": _folio_id(org, "user", rec["primary_id"]),
        "externalSystemId": rec["primary_id"],
        "barcode": barcodes[0] if barcodes else None,
        "active": rec["status"] == "active",
        "type": "staff" if rec["record_type"] == "staff" else "patron",
        "patronGroup": _folio_id(org, "group", rec["user_group"]) if rec["user_group"] else None,
        "personal": personal,
        "expirationDate": _folio_date(rec["expiry_date"]),
    }
    return {k: x for k, x in user.items() if x not in (None, "")}


RERO_API = "https://bib.rero.ch/api"  # the $ref base of RERO's own data (data/users.json)
# PatronDesk's roles -> RERO ILS's (the import reads them back,
# models.transfer.formats._RERO_ROLES);
# the circulation desk operator has no RERO role.
RERO_ROLES = {
    "user_administrator": "pro_full_permissions",
    "user_manager": "pro_user_manager",
    "circulation_desk_manager": "pro_circulation_manager",
    "fulfillment_services_operator": "pro_read_only",
}
RERO_GENDERS = ("male", "female", "other")


def _rero_roles(rec: dict) -> tuple[list[str], list[str]]:
    """RERO's roles and libraries of a user: one list of libraries for all the roles, so a role
    is written only where the user holds it in each of those libraries (or in every library);
    an inactive or expiring role is not written (RERO has neither): never widened."""
    roles = [
        r
        for r in rec["roles"]
        if r["role"] in RERO_ROLES and r["status"] == "active" and not r["expiry_date"]
    ]
    libraries = sorted({r["scope"] for r in roles if r["scope"]})
    names = []
    for role in dict.fromkeys(r["role"] for r in roles):
        scopes = {r["scope"] for r in roles if r["role"] == role}
        if not libraries or "" in scopes or scopes >= set(libraries):
            names.append(RERO_ROLES[role])
    return names, libraries


def _rero_language(code: str) -> str:
    """RERO's communication languages are ISO 639-2/B codes (fre, ger, ita, eng)."""
    import pycountry

    language = pycountry.languages.get(alpha_2=code) if len(code) == 2 else None
    if language is None:
        return code
    return getattr(language, "bibliographic", None) or language.alpha_3


def _rero_user(rec: dict, pid: int) -> dict:
    """One RERO ILS user with its `patron` record (README's format table)."""

    def street(a: dict) -> str:
        # RERO's street is a text area: one line per address line, an empty one kept in place.
        return "\n".join((a["line1"], a["line2"], a["line3"])).rstrip("\n")

    emails = _preferred_first(rec["emails"])
    phones = _preferred_first(rec["phones"])
    addresses = _preferred_first(rec["addresses"])
    user: dict[str, Any] = {
        "pid": str(pid),
        "first_name": rec["first_name"],
        "last_name": rec["last_name"],
        "birth_date": rec["birth_date"] or "",
        "gender": rec["gender"] if rec["gender"] in RERO_GENDERS else "",
        "username": rec["username"],
        "email": emails[0]["address"] if emails else "",
    }
    if addresses:
        a = addresses[0]
        user.update(street=street(a), postal_code=a["postal_code"], city=a["city"])
    written: list[str] = []
    for key, kind in (
        ("mobile_phone", "mobile"),
        ("home_phone", "home"),
        ("business_phone", "office"),
    ):
        numbers = [p["number"] for p in phones if p["phone_type"] == kind]
        if numbers:
            user[key] = numbers[0]
            written.append(numbers[0])
    others = [p["number"] for p in phones if p["number"] not in written]
    if others:
        user["other_phone"] = others[0]
    user["keep_history"] = bool(rec["keep_history"])
    roles, libraries = _rero_roles(rec)
    patron = any(r["role"] == "patron" and r["status"] == "active" for r in rec["roles"])
    user["roles"] = (["patron"] if patron else []) + roles
    if libraries:
        user["libraries"] = [{"$ref": f"{RERO_API}/libraries/{code}"} for code in libraries]
    notes = [
        {"type": "public_note" if n["user_viewable"] else "staff_note", "content": n["text"]}
        for n in rec["notes"]
        if n["text"]
    ]
    if notes:
        user["notes"] = notes
    if len(addresses) > 1:
        a = addresses[1]
        second = {"street": street(a), "postal_code": a["postal_code"], "city": a["city"]}
        user["second_address"] = {k: x for k, x in second.items() if x}
    if patron:
        # RERO has no account status: an inactive account is written blocked.
        blocks = [b for b in rec["blocks"] if b["active"]]
        reasons = [b["note"] or b["definition"] for b in blocks]
        if rec["status"] != "active":
            reasons.insert(0, "Inactive account")
        barcodes = [
            i["value"]
            for i in rec["identifiers"]
            if i["id_type"] == "BARCODE" and i["active"] and not i["is_primary"]
        ]
        user["patron"] = {
            "expiration_date": rec["expiry_date"] or "",
            "blocked": bool(reasons),
            "blocked_note": "; ".join(reasons),
            "barcode": [rec["primary_id"], *barcodes],
            "type": (
                {"$ref": f"{RERO_API}/patron_types/{rec['user_group']}"}
                if rec["user_group"]
                else ""
            ),
            "communication_channel": rec["comm_channel"],
            "communication_language": _rero_language(rec["comm_language"]),
            "additional_communication_email": rec["additional_email"],
        }
        user["patron"] = {k: x for k, x in user["patron"].items() if x not in ("", None)}
    return {k: x for k, x in user.items() if x != ""}


def export_to_file(
    path: str | Path,
    fmt: str = "json",
    *,
    flt: ExportFilter | None = None,
    progress: Callable[[int], None] | None = None,
    scope: Any = None,
    actor: Actor | None = None,
    overwrite: bool = False,
    organization: Organization | None = None,
) -> int:
    """`export_users` into the file `path`, written as `path.part` and put in place when
    complete (`models.store.files.PrivateFile`: mode 0600, the `.part` created exclusively, links
    not
    followed): an export that fails or is stopped never leaves a half-written file under the
    name asked for (nor the `.part`), and a refused one writes no file at all. An existing file
    is replaced only with `overwrite` (the user confirmed, or passed --force); a special file
    or the database's own files never (`FileRefused`). Returns how many users were written."""
    actor = actor or Actor(None, Source.CLI)
    flt = flt or ExportFilter()
    organization = _allowed(fmt, actor, organization)  # before any file is made
    newline = "" if fmt == "csv" else None
    with PrivateFile(path, overwrite=overwrite, newline=newline) as out:
        count = _export(out.stream, fmt, organization, flt, progress, scope, actor)
        # The audit event stands only with the file in place, and the file only audited.
        with database.atomic():
            _audit_export(actor, count, fmt, flt, str(out.target.resolve()))
            out.commit()
    return count


def users(count: int) -> str:
    """ "1 user", "2,000 users"."""
    return f"{count:,} user" + ("" if count == 1 else "s")


def format_for_path(path: str | Path) -> str | None:
    """The export format a file name asks for by its extension (.csv, .xml, .json), or None."""
    return {".csv": "csv", ".xml": "alma-xml", ".json": "json"}.get(Path(path).suffix.lower())


def _allowed(fmt: str, actor: Actor, organization: Organization | None) -> Organization | None:
    """Refuse an unknown format, or staff without the right to run jobs (`PermissionDenied`)
    or naming another organization; the organization to export (staff: their own)."""
    from models.access.permissions import Action, authorize

    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (one of {', '.join(EXPORT_FORMATS)})")
    if actor.account is None:
        return organization
    authorize(actor.account, Action.RUN_JOBS)
    if organization is not None and organization.id != actor.account.organization_id:
        raise ExportError("staff export the users of their own organization only")
    return actor.account.organization


def export_users(
    out: IO[str],
    fmt: str = "json",
    *,
    organization: Organization | None = None,
    flt: ExportFilter | None = None,
    progress: Callable[[int], None] | None = None,
    scope: Any = None,
    actor: Actor | None = None,
    destination: str = "",
) -> int:
    """Write the organization's users (those matching `flt`) to `out`; returns how many.
    `actor`: staff need the right to run jobs, export their own organization, and see the
    rows of their libraries only (`scope`, by default `models.access.scope.scope_of` of the actor);
    None: the system (the command line, every library's rows). Every export is audited (who,
    the format, the filter, how many and `destination`; no user's data) once the last user is
    written."""
    actor = actor or Actor(None, Source.CLI)
    flt = flt or ExportFilter()
    organization = _allowed(fmt, actor, organization)
    count = _export(out, fmt, organization, flt, progress, scope, actor)
    _audit_export(actor, count, fmt, flt, destination)
    return count


def _audit_export(actor: Actor, count: int, fmt: str, flt: ExportFilter, destination: str) -> None:
    what = [users(count), fmt]
    if flt.query:
        what.append(f"matching {flt.query!r}")
    what += [f"{k}={v}" for k, v in asdict(flt).items() if v and k != "query"]
    if destination:
        what.append(f"to {destination}")
    audit.record(
        actor,
        AuditAction.EXPORT,
        entity="export",
        entity_id=None,
        field="users",
        new=", ".join(what),
    )


def _export(
    out: IO[str],
    fmt: str,
    organization: Organization | None,
    flt: ExportFilter,
    progress: Callable[[int], None] | None,
    scope: Any,
    actor: Actor,
) -> int:
    """`export_users` without its checks (`_allowed`, run first by the caller) and its audit
    event."""
    from models.access.scope import scope_of
    from models.config.setup import default_organization

    if scope is None and actor.account is not None:
        scope = scope_of(actor.account)  # library independence
    org = organization or default_organization()
    if org is None:
        raise ExportError("the database is not initialized: run 'patrondesk init' first")
    codes = _Codes(org)
    count = 0
    writer = None
    if fmt == "json":
        from models.config.settings import load_settings

        header = {
            "format": "patrondesk",
            "version": 1,
            "exported_at": _iso(dt.datetime.now(dt.UTC).replace(tzinfo=None)),
            "organization": org.code,
            "currency": load_settings().currency,  # of the fees' amounts (minor units)
            "code_tables": codes.tables(),
        }
        out.write(json.dumps(header, ensure_ascii=False)[:-1] + ',\n"users": [')
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
    elif fmt == "alma-xml":
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<users>\n')
    elif fmt == "alma-json":
        out.write('{"user": [')
    elif fmt == "folio-json":
        reference = json.dumps(_folio_reference(org, codes), ensure_ascii=False)
        out.write(reference[:-1] + ',\n"users": [')
    else:  # rero-json: an array of users, as RERO's data/users.json
        out.write("[")
    # One JSON object per line in the JSON formats: both ends stream.
    as_json: Callable[[dict], Any] | None = {
        "json": lambda rec: rec,
        "alma-json": lambda rec: _alma_json_user(rec, codes),
        "folio-json": lambda rec: _folio_user(rec, org),
        "rero-json": lambda rec: _rero_user(rec, count + 1),
    }.get(fmt)
    for ids in _account_ids(org, flt):
        records = _records(
            org, ids, codes, secrets=fmt == "json", scope=scope, circulation=fmt == "json"
        )
        for rec in records:
            if as_json is not None:
                item = json.dumps(as_json(rec), ensure_ascii=False)
                out.write(("\n" if count == 0 else ",\n") + item)
            elif writer is not None:
                writer.writerow(_csv_row(rec))
            else:
                out.write(_alma_user(rec, codes) + "\n")
            count += 1
        if progress is not None:
            progress(count)
    out.write(
        {
            "json": "\n]}\n",
            "alma-xml": "</users>\n",
            "alma-json": f'\n], "total_record_count": {count}}}\n',
            "folio-json": f'\n], "totalRecords": {count}}}\n',
            "rero-json": "\n]\n",
        }.get(fmt, "")
    )
    return count


def user_document(
    identifier: str,
    organization: Organization | None = None,
    *,
    actor: Actor | None = None,
    destination: str = "",
) -> dict:
    """The personal-information export of one user: every field (no password or PIN hash),
    with their loans and fees. `identifier`: the primary identifier or any identifier. The
    export is audited on the user's record (their History shows it, and `destination`);
    `actor` None: the command line; staff need the right to run jobs and find users of their
    own organization only."""
    from models.config.setup import default_organization

    actor = actor or Actor(None, Source.CLI)
    org = _allowed("json", actor, organization) or default_organization()
    key = fold_key(identifier or "")
    row = (
        Identifier.select(Identifier.account)
        .join(Account)
        .where((Identifier.value_key == key) & (Account.organization == org.id))
        .first()
    )
    if row is None:
        raise NotFound(f"No user with the identifier {identifier!r}.")
    codes = _Codes(org)
    rec = _records(org, [row.account_id], codes, secrets=False)[0]
    rec["loans"] = [
        {
            "item_barcode": x.item_barcode,
            "title": x.title,
            "loaned_at": _iso(x.loaned_at),
            "due_date": _iso(x.due_date),
            "returned_at": _iso(x.returned_at),
            "library": codes.code("library", x.library_id),
        }
        for x in Loan.select().where(Loan.account == row.account_id).order_by(Loan.id)
    ]
    rec["fees"] = [
        {
            "fee_type": x.fee_type.code,
            "status": x.status,
            "original": x.original_minor,
            "balance": x.balance_minor,
            "item_barcode": x.item_barcode,
            "title": x.title,
            "comment": x.comment,
            "owner": codes.code("library", x.owner_id),
            "created_at": _iso(x.created_at),
        }
        for x in Fee.select().where(Fee.account == row.account_id).order_by(Fee.id)
    ]
    audit.record(
        actor,
        AuditAction.EXPORT,
        entity="account",
        entity_id=row.account_id,
        account_id=row.account_id,
        field="personal information",
        new=f"to {destination}" if destination else None,
    )
    return {"format": "patrondesk-personal-information", "version": 1, "user": rec}


__all__ = [
    "EXPORT_FORMATS",
    "ExportError",
    "ExportFilter",
    "export_to_file",
    "export_users",
    "format_for_path",
    "users",
    "user_document",
]
