"""Alma's user records (alma-xml, alma-json) and its fee and loan files (alma-fees,
alma-loans)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.transfer import jsonstream
from models.transfer.formats.common import (
    ENCODING,
    EXTENSION_KEY,
    EXTENSION_PI,
    FormatError,
    SourceContext,
    _bool,
    _code,
    _date,
    _empty,
    _no_home,
    _not_a_record,
    _s,
)
from models.users.libraries import split_codes

# --- Alma ---------------------------------------------------------------------------------------

# Alma's role type codes (its UserRoles code table) of PatronDesk's roles.
_ALMA_ROLES = {
    "200": "patron",
    "21": "user_manager",
    "50": "user_administrator",
    "32": "circulation_desk_operator",
    "221": "circulation_desk_manager",
}
_ROLE_NAMES = {
    "patron": "patron",
    "user manager": "user_manager",
    "user administrator": "user_administrator",
    "circulation desk manager": "circulation_desk_manager",
    "circulation desk operator": "circulation_desk_operator",
    "fulfillment services operator": "fulfillment_services_operator",
}


def _alma_role(role_type: Any) -> str:
    code = _s(role_type)
    if code in _ALMA_ROLES:
        return _ALMA_ROLES[code]
    desc = role_type.get("desc", "") if isinstance(role_type, dict) else ""
    name = _ROLE_NAMES.get(_s(desc).lower()) or _ROLE_NAMES.get(code.lower().replace("_", " "))
    return name or code


def _alma_list(data: dict, name: str) -> list:
    value = data.get(name)
    if value is None:
        return []
    if isinstance(value, dict):
        # XML: <emails><email/></emails> became {"email": [...]} under contact_info already;
        # the REST JSON sometimes nests one level.
        inner = value.get(name)
        return inner if isinstance(inner, list) else [value]
    return value if isinstance(value, list) else []


def _alma_types(value: Any, dropped: list[tuple[str, str]] | None = None, what: str = "") -> str:
    """The first of a row's types (Alma allows several; PatronDesk has one a row): the others
    are named in `dropped` as (field, message), for the record's warnings."""
    types = value if isinstance(value, list) else [value] if value else []
    kept = _s(types[0]).lower() if types else ""
    others = [_s(t).lower() for t in types[1:] if _s(t)]
    if others and dropped is not None:
        dropped.append(
            (what, f"types {', '.join([kept, *others])}: {kept} kept (PatronDesk keeps one a row)")
        )
    return kept


_EXTENSION_ITEM = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="([^"]*)"')


def alma_extension(data: Any) -> dict[str, str]:
    """The name="value" pairs of an element's <?patrondesk ...?> instructions (Alma XML), or
    its `patrondesk` member (Alma JSON, written by `models.transfer.exports`)."""
    member = data.get(EXTENSION_PI) if isinstance(data, dict) else None
    if isinstance(member, dict):
        return {str(k): _s(v) for k, v in member.items()}
    text = data.get(EXTENSION_KEY) if isinstance(data, dict) else None
    if not isinstance(text, str):
        return {}
    from xml.sax.saxutils import unescape

    entities = {"&quot;": '"', "&#10;": "\n", "&#13;": "\r"}
    return {k: unescape(v, entities) for k, v in _EXTENSION_ITEM.findall(text)}


def _owner(data: Any) -> tuple[str, str] | None:
    return _code(alma_extension(data).get("owner"))


# Alma's user fields that PatronDesk reads, or that say nothing of their own (full_name, the
# REST link; requests, loans and fees are counts: the fee and loan files are read apart). Another
# field with a value (proxy_for_user, researcher, library_notice...) is reported.
_ALMA_HOMES = frozenset(
    {"record_type", "primary_id", "first_name", "middle_name", "last_name", "full_name"}
    | {"pin_number", "user_title", "job_category", "job_description", "gender", "user_group"}
    | {"campus_code", "web_site_url", "cataloger_level", "preferred_language", "birth_date"}
    | {"expiry_date", "purge_date", "account_type", "external_id", "password", "status"}
    | {"force_password_change", "status_date", "requests", "loans", "fees", "contact_info"}
    | {"pref_first_name", "pref_middle_name", "pref_last_name", "user_identifier", "user_role"}
    | {"user_block", "user_note", "user_statistic", "rs_library", "is_researcher", "link"}
    | {EXTENSION_PI, EXTENSION_KEY}
)
_ALMA_CONTACT_HOMES = frozenset({"address", "email", "phone"})


def map_alma(data: dict, label: str, ctx: SourceContext) -> dict:
    if not isinstance(data, dict):
        return _not_a_record(label)
    contact = data.get("contact_info") or {}
    no_home = _no_home(data, _ALMA_HOMES)
    if isinstance(contact, dict):
        no_home += _no_home(contact, _ALMA_CONTACT_HOMES, "contact_info.")
    extension = alma_extension(data)
    general: dict[str, Any] = {
        "first_name": _s(data.get("first_name")),
        "middle_name": _s(data.get("middle_name")),
        "last_name": _s(data.get("last_name")),
        "title": _s(data.get("user_title")),
        "gender": _s(data.get("gender")).lower(),
        "website": _s(data.get("web_site_url")),
        "job_description": _s(data.get("job_description")),
        "cataloger_level": _s(data.get("cataloger_level")),
        "record_type": _s(data.get("record_type")).lower() or "public",
        "status": _s(data.get("status")).lower() or "active",
    }
    for ours, theirs in (
        ("preferred_first_name", "pref_first_name"),
        ("preferred_middle_name", "pref_middle_name"),
        ("preferred_last_name", "pref_last_name"),
    ):
        if theirs in data:
            general[ours] = _s(data.get(theirs))
    for ours, theirs in (
        ("birth_date", "birth_date"),
        ("expiry_date", "expiry_date"),
        ("purge_date", "purge_date"),
        ("status_date", "status_date"),
    ):
        if theirs in data:
            general[ours] = _date(data.get(theirs))
    if _bool(extension.get("no_status_date", "false")) and not general.get("status_date"):
        general["status_date"] = ""  # PatronDesk's export of an account with none
    if _bool(extension.get("no_expiry_date", "false")) and not general.get("expiry_date"):
        general["expiry_date"] = ""  # (without it a new account gets its group's period)
    if _s(data.get("preferred_language")):
        general["preferred_language"] = _s(data.get("preferred_language"))
        general["comm_language"] = general["preferred_language"]
    if "is_researcher" in data:
        general["researcher"] = _bool(_s(data.get("is_researcher")))
    if _s(data.get("force_password_change")):
        general["force_password_change"] = _bool(_s(data.get("force_password_change")))
    general["owning_system"] = _s(data.get("external_id"))
    # Whose the account is (Alma's account_type and external_id; its rows' segment_type): kept
    # by an import that is not a SIS load (models.transfer.imports.clean).
    account_type = _s(data.get("account_type")).lower()
    if account_type:
        general["account_type"] = account_type
    external = account_type == "external"
    for name in ("username", "comm_channel", "comm_language", "additional_email"):
        if name in extension:
            general[name] = extension[name].strip()
    # Selected patron letters: Alma's user record (rest_user.xsd) has no element for them.
    for name in ("letters_opt_in", "letter_general", "letter_expiry_reminder", "keep_history"):
        if name in extension:
            general[name] = _bool(extension[name])
    codes = {
        "user_group": _code(data.get("user_group")),
        "job_category": _code(data.get("job_category")),
        "campus": _code(data.get("campus_code")),
    }
    # Several libraries each (issue 22, item 6d): Alma's rs_libraries (one rs_library each);
    # the purchase request libraries in PatronDesk's extension, comma-separated (the single
    # `purchase_request_library` of older files read as a list of one).
    rs_libraries = [r for r in _alma_list(data, "rs_library") if isinstance(r, dict)]
    if rs_libraries:
        codes["resource_sharing_libraries"] = [
            pair for r in rs_libraries if (pair := _code(r.get("code"))) is not None
        ]
    for name in ("purchase_request_libraries", "purchase_request_library"):
        if name in extension:
            codes["purchase_request_libraries"] = [
                (code, "") for code in split_codes(extension[name])
            ]
            break
    dropped: list[tuple[str, str]] = []  # a row's types past its first (`_alma_types`)
    emails = [
        {
            "address": _s(e.get("email_address")),
            "email_type": _alma_types(e.get("email_type"), dropped, "email_type") or "personal",
            "preferred": _bool(e.get("preferred")),
            "description": _s(e.get("description")),
        }
        for e in _alma_list(contact, "email")
        if isinstance(e, dict)
    ]
    phones = [
        {
            "number": _s(p.get("phone_number")),
            "phone_type": _alma_types(p.get("phone_type"), dropped, "phone_type") or "home",
            "preferred": _bool(p.get("preferred")),
            "preferred_sms": _bool(p.get("preferred_sms")),
        }
        for p in _alma_list(contact, "phone")
        if isinstance(p, dict)
    ]
    addresses = []
    for a in _alma_list(contact, "address"):
        if not isinstance(a, dict):
            continue
        lines = [_s(a.get(f"line{i}")) for i in range(1, 6)]
        addresses.append(
            {
                "address_type": _alma_types(a.get("address_type"), dropped, "address_type")
                or "home",
                "line1": lines[0],
                "line2": lines[1],
                "line3": lines[2],
                "line4": lines[3],
                "line5": lines[4],
                "city": _s(a.get("city")),
                "state": _s(a.get("state_province")),
                "postal_code": _s(a.get("postal_code")),
                "country": _s(a.get("country")),
                "note": _s(a.get("address_note")),
                "start_date": _date(a.get("start_date")),
                "end_date": _date(a.get("end_date")),
                "preferred": _bool(a.get("preferred")),
            }
        )
    identifiers = [
        {
            "id_type": _code(i.get("id_type")),
            "value": _s(i.get("value")),
            "note": _s(i.get("note")),
            "active": _s(i.get("status")).upper() != "INACTIVE",
        }
        for i in _alma_list(data, "user_identifier")
        if isinstance(i, dict)
    ]
    roles = []
    for r in _alma_list(data, "user_role"):
        if not isinstance(r, dict):
            continue
        role = _alma_role(r.get("role_type"))
        roles.append(
            {
                "role": role,
                # Alma scopes the Patron role to the institution (the whole organization
                # here); PatronDesk's own file (its extension) scopes it to a library, kept.
                "scope": _code(r.get("scope")) if role != "patron" or extension else None,
                "status": _s(r.get("status")).lower() or "active",
                "expiry_date": _date(r.get("expiry_date")),
            }
        )
    notes = [
        {
            "note_type": _code(n.get("note_type")),
            "text": _s(n.get("note_text")),
            "user_viewable": _bool(n.get("user_viewable")),
            "popup": _bool(n.get("popup_note")),
            "owner": _owner(n),
        }
        for n in _alma_list(data, "user_note")
        if isinstance(n, dict)
    ]
    blocks = [
        {
            "definition": _code(b.get("block_description")) or _code(b.get("block_type")),
            "expiry_date": _date(b.get("expiry_date")),
            "note": _s(b.get("block_note")),
            "active": _s(b.get("block_status")).upper() != "INACTIVE",
            "owner": _owner(b),
        }
        for b in _alma_list(data, "user_block")
        if isinstance(b, dict)
    ]
    statistics = [
        {
            "category": _code(s.get("statistic_category")),
            "category_type": _code(s.get("category_type")),
            "note": _s(s.get("statistic_note")),
            "owner": _owner(s),
        }
        for s in _alma_list(data, "user_statistic")
        if isinstance(s, dict)
    ]
    if external:
        # Alma: "Empty or illegal segment_type for external user will be considered as external".
        for rows, items in (
            (emails, _alma_list(contact, "email")),
            (phones, _alma_list(contact, "phone")),
            (addresses, _alma_list(contact, "address")),
            (identifiers, _alma_list(data, "user_identifier")),
            (notes, _alma_list(data, "user_note")),
            (blocks, _alma_list(data, "user_block")),
            (statistics, _alma_list(data, "user_statistic")),
        ):
            segments = [_s(x.get("segment_type")).lower() for x in items if isinstance(x, dict)]
            for row, segment in zip(rows, segments, strict=True):
                row["external"] = segment != "internal"
    cand = {
        "label": label,
        "primary_id": _s(data.get("primary_id")),
        "ownership": bool(account_type),
        "general": general,
        "codes": codes,
        "password": _s(data.get("password")),
        "pin": _s(data.get("pin_number")),
        "emails": emails,
        "phones": phones,
        "addresses": addresses,
        "identifiers": identifiers,
        "notes": notes,
        "blocks": blocks,
        "statistics": statistics,
        "roles": roles,
    }
    if dropped:
        cand["warnings"] = list(dropped)
    if url := _photo_url(data):
        # Alma keeps pictures on a photo server (photo_server_url) or, for researchers, at
        # `researcher/photo_url`. PatronDesk reaches no network: the picture is not fetched.
        shown = url if len(url) <= 200 else url[:199] + "…"
        cand.setdefault("warnings", []).append(
            (
                "photo_url",
                f"the picture at {shown} was not fetched (PatronDesk reaches no network): "
                "add the photo from a file on User Details",
            )
        )
    if no_home:
        cand["no_home"] = no_home
    return cand


def _photo_url(data: dict) -> str:
    """The picture URL an Alma record carries (its researcher's `photo_url`), or ""."""
    researcher = data.get("researcher")
    found = researcher.get("photo_url") if isinstance(researcher, dict) else None
    return _s(found or data.get("photo_url"))


# --- Alma fees and loans -------------------------------------------------------------------------

_ALMA_FEE_STATUS = {
    "ACTIVE": "active",
    "INDISPUTE": "disputed",
    "CLOSED": "closed",
    "WAIVED": "waived",
    "EXPORTED": "transferred",
    "TRANSFERRED": "transferred",
}
_ALMA_FEE_ACTIONS = {"PAYMENT": "pay", "WAIVE": "waive", "DISPUTE": "dispute", "RESTORE": "restore"}
# Alma's fields that PatronDesk keeps (the rest is reported with counts: no home).
_ALMA_FEE_HOMES = frozenset(
    {"type", "status", "balance", "original_amount", "creation_time", "status_time", "comment"}
    | {"owner", "title", "barcode", "transaction", "link", "user_primary_id"}
)
_ALMA_LOAN_HOMES = frozenset(
    {"item_barcode", "title", "loan_date", "due_date", "return_date", "library", "loan_status"}
    | {"user_id", "link"}
)


@dataclass
class Circulation:
    """The fees or loans of an Alma file: (the user's primary id, the item in the shape of
    PatronDesk's JSON export), and Alma's fields with no home in PatronDesk (name -> count)."""

    kind: str  # "fees" | "loans"
    items: list[tuple[str, dict]]
    no_home: dict[str, int]


def _alma_user_of(item: dict, kind: str) -> str:
    """The primary id of the user a fee or loan is of: user_primary_id / user_id, else the
    REST link (.../users/ID/fees/...)."""
    user = _s(item.get("user_primary_id") or item.get("user_id"))
    if user:
        return user
    match = re.search(r"/users/([^/]+)/" + kind, _s(item.get("link")))
    return match.group(1) if match else ""


def _alma_minor(value: Any, currency: str) -> int:
    from decimal import Decimal, InvalidOperation

    from models.fees.money import to_minor

    try:
        return to_minor(Decimal(str(value if value not in (None, "") else 0)), currency)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount") from None


def map_alma_fee(fee: dict, currency: str) -> dict:
    """An Alma fee (REST) as a fee of PatronDesk's JSON export: amounts in minor units of
    `currency`, a create transaction and Alma's own transactions."""
    created = _s(fee.get("creation_time"))
    original = _alma_minor(fee.get("original_amount"), currency)
    transactions = [{"action": "create", "amount": original, "at": created}]
    for t in fee.get("transaction") or []:
        if not isinstance(t, dict):
            continue
        action = _ALMA_FEE_ACTIONS.get(_s(t.get("type")).upper())
        if action:
            transactions.append(
                {
                    "action": action,
                    "amount": _alma_minor(t.get("amount"), currency),
                    "reason": _code(t.get("reason")) if action == "waive" else None,
                    "comment": _s(t.get("comment")),
                    "actor": _s(t.get("created_by")),
                    "at": _s(t.get("transaction_time")),
                }
            )
    return {
        "fee_type": _code(fee.get("type")),
        "status": _ALMA_FEE_STATUS.get(_s(fee.get("status")).upper(), "active"),
        "status_date": _s(fee.get("status_time")) or created,
        "original": original,
        "balance": _alma_minor(fee.get("balance"), currency),
        "item_barcode": _s(fee.get("barcode")),
        "title": _s(fee.get("title")),
        "comment": _s(fee.get("comment")),
        "owner": _code(fee.get("owner")),
        "created_at": created,
        "currency": currency,
        "transactions": transactions,
    }


def map_alma_loan(loan: dict) -> dict:
    """An Alma item loan (REST) as a loan of PatronDesk's JSON export."""
    returned = _s(loan.get("return_date"))
    if not returned and _s(loan.get("loan_status")).upper() not in ("", "ACTIVE"):
        returned = _s(loan.get("due_date"))  # a closed loan with no return date: by its due
    return {
        "item_barcode": _s(loan.get("item_barcode")),
        "title": _s(loan.get("title")),
        "loaned_at": _s(loan.get("loan_date")),
        "due_date": _date(loan.get("due_date")),
        "returned_at": returned or None,
        "library": _code(loan.get("library")),
    }


def read_alma_circulation(path: Path, fmt: str, currency: str) -> Circulation:
    """The fees (`alma-fees`: {"fee": [...], "currency"} or one fee) or loans (`alma-loans`:
    {"item_loan": [...]}) of an Alma REST response. Amounts in the file's currency (else
    `currency`)."""
    try:
        data = jsonstream.loads(path.read_text(encoding=ENCODING))
    except (OSError, ValueError) as exc:
        raise FormatError(f"{path.name} cannot be read as JSON: {exc}") from None
    kind = "fees" if fmt == "alma-fees" else "loans"
    if not isinstance(data, dict):
        raise FormatError(f"{path.name} holds no Alma {kind}")
    if kind == "fees":
        rows = data.get("fee") if "fee" in data else [data]
        currency = _s(data.get("currency")).upper() or currency
    else:
        rows = data.get("item_loan") or []
    homes = _ALMA_FEE_HOMES if kind == "fees" else _ALMA_LOAN_HOMES
    no_home: dict[str, int] = {}
    items = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        for name, value in row.items():
            if name not in homes and not _empty(value):
                no_home[name] = no_home.get(name, 0) + 1
        item = map_alma_fee(row, currency) if kind == "fees" else map_alma_loan(row)
        items.append((_alma_user_of(row, kind), item))
    return Circulation(kind, items, dict(sorted(no_home.items())))
