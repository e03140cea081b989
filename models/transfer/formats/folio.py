"""FOLIO's users (folio-json: mod-users records or a mod-user-import file) and the
reference data beside them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from models.store.files import read_side_text
from models.transfer import jsonstream
from models.transfer.formats.common import (
    SourceContext,
    _bool,
    _date,
    _empty,
    _no_home,
    _not_a_record,
    _s,
)

# --- FOLIO --------------------------------------------------------------------------------------

# FOLIO's preferred contact types (mod-users reference data).
_FOLIO_CONTACT = {"001": "mail", "002": "email", "mail": "mail", "email": "email"}
_FOLIO_ADDRESS_TYPES = {"home": "home", "work": "work", "school": "school"}


def folio_reference_in_file(ctx: SourceContext, members: dict) -> None:
    """The patron groups and address types written before the users (`usergroups`,
    `addresstypes`: PatronDesk's folio-json export), over those of a ref-data folder."""
    if ctx.folio_in_file:
        return
    ctx.folio_in_file = True
    for g in members.get("usergroups") or []:
        if isinstance(g, dict) and _s(g.get("id")) and _s(g.get("group")):
            ctx.folio_groups[_s(g["id"])] = (_s(g["group"]), _s(g.get("desc")))
    for t in members.get("addresstypes") or []:
        if isinstance(t, dict) and _s(t.get("id")) and _s(t.get("addressType")):
            ctx.folio_address_types[_s(t["id"])] = _s(t["addressType"])


def load_folio_reference(start: Path) -> tuple[dict, dict, dict]:
    """Patron groups, address types and departments from a `ref-data` folder beside the file
    or one up (`ref-data/groups/*.json`, `ref-data/addresstypes/*.json`,
    `ref-data/departments/*.json`, as in mod-users)."""
    groups: dict[str, tuple[str, str]] = {}
    address_types: dict[str, str] = {}
    departments: dict[str, tuple[str, str]] = {}
    for folder in (start, start.parent):
        ref = folder / "ref-data"
        if not ref.is_dir():
            continue
        for f in sorted((ref / "groups").glob("*.json")):
            try:
                g = jsonstream.loads(read_side_text(f))
                groups[g["id"]] = (str(g["group"]).strip(), str(g.get("desc") or "").strip())
            except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
                continue
        for f in sorted((ref / "addresstypes").glob("*.json")):
            try:
                t = jsonstream.loads(read_side_text(f))
                address_types[t["id"]] = str(t["addressType"]).strip()
            except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
                continue
        for f in sorted((ref / "departments").glob("*.json")):
            try:
                d = jsonstream.loads(read_side_text(f))
                name = str(d["name"]).strip()
                departments[d["id"]] = (str(d.get("code") or name).strip(), name)
            except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
                continue
        break
    return groups, address_types, departments


def _folio_group(value: Any, ctx: SourceContext) -> tuple[str, str] | None:
    text = _s(value)
    if not text:
        return None
    if text in ctx.folio_groups:
        return ctx.folio_groups[text]
    return (text, "")


# FOLIO's fields that PatronDesk reads (a user's other fields with a value are reported).
_FOLIO_HOMES = frozenset(
    {"username", "externalSystemId", "barcode", "active", "type", "patronGroup", "personal"}
    | {"expirationDate", "enrollmentDate", "departments", "customFields"}
)
_FOLIO_PERSONAL_HOMES = frozenset(
    {"lastName", "firstName", "middleName", "preferredFirstName", "email", "phone"}
    | {"mobilePhone", "dateOfBirth", "addresses", "preferredContactTypeId"}
    | {"preferredContactTypeIds"}
)
_FOLIO_ADDRESS_HOMES = frozenset(
    {"addressTypeId", "addressLine1", "addressLine2", "city", "region", "postalCode"}
    | {"countryId", "primaryAddress"}
)
# The members of a FOLIO file around its users that PatronDesk reads (mod-user-import's others,
# deactivateMissingUsers, updateOnlyPresentFields, sourceType, ..., are reported).
_FOLIO_ENVELOPE_HOMES = frozenset({"users", "totalRecords", "usergroups", "addresstypes"})
FOLIO_DEPARTMENT_TYPE = ("DEPARTMENT", "Department")
FOLIO_CUSTOM_FIELD = ("CUSTOM_FIELD", "Custom field")


def _custom_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_custom_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return _s(value)


def envelope_no_home(fmt: str, members: dict) -> list[str]:
    """The members of a file around its users that have a value and no home (FOLIO's import
    options such as deactivateMissingUsers): reported once for the file."""
    if fmt == "folio-json":
        return _no_home(members, _FOLIO_ENVELOPE_HOMES)
    return []


def map_folio(data: dict, label: str, ctx: SourceContext) -> dict:
    if not isinstance(data, dict):
        return _not_a_record(label)
    personal = data.get("personal") or {}
    if not isinstance(personal, dict):
        personal = {}
    no_home = _no_home(data, _FOLIO_HOMES) + _no_home(personal, _FOLIO_PERSONAL_HOMES, "personal.")
    primary = (
        _s(data.get("externalSystemId")) or _s(data.get("barcode")) or _s(data.get("username"))
    )
    general: dict[str, Any] = {
        "first_name": _s(personal.get("firstName")),
        "middle_name": _s(personal.get("middleName")),
        "last_name": _s(personal.get("lastName")),
        "preferred_first_name": _s(personal.get("preferredFirstName")),
        "birth_date": _date(personal.get("dateOfBirth")),
        "expiry_date": _date(data.get("expirationDate")),
        "status": "active" if _bool(data.get("active", True)) else "inactive",
        "record_type": "staff" if _s(data.get("type")).lower() == "staff" else "public",
    }
    if _s(data.get("username")):
        general["username"] = _s(data.get("username"))
    contact = personal.get("preferredContactTypeId") or personal.get("preferredContactTypeIds")
    if isinstance(contact, list):
        contact = contact[0] if contact else ""
    channel = _FOLIO_CONTACT.get(_s(contact).lower())
    if channel:
        general["comm_channel"] = channel
    identifiers = []
    barcode = _s(data.get("barcode"))
    if barcode and barcode != primary:
        identifiers.append({"id_type": ("BARCODE", "Barcode"), "value": barcode})
    emails = []
    if _s(personal.get("email")):
        emails.append({"address": _s(personal.get("email")), "email_type": "personal"})
    phones = []
    if _s(personal.get("phone")):
        phones.append({"number": _s(personal.get("phone")), "phone_type": "home"})
    if _s(personal.get("mobilePhone")):
        phones.append({"number": _s(personal.get("mobilePhone")), "phone_type": "mobile"})
    addresses = []
    for a in personal.get("addresses") or []:
        if not isinstance(a, dict):
            continue
        no_home.extend(_no_home(a, _FOLIO_ADDRESS_HOMES, "personal.addresses."))
        type_id = _s(a.get("addressTypeId"))
        type_name = ctx.folio_address_types.get(type_id, type_id)
        addresses.append(
            {
                "address_type": _FOLIO_ADDRESS_TYPES.get(type_name.lower(), "alternative"),
                "line1": _s(a.get("addressLine1")),
                "line2": _s(a.get("addressLine2")),
                "city": _s(a.get("city")),
                "state": _s(a.get("region")),
                "postal_code": _s(a.get("postalCode")),
                "country": _s(a.get("countryId")),
                "preferred": _bool(a.get("primaryAddress")),
            }
        )
    # Departments are statistical categories; custom fields are notes ("name: value").
    departments = data.get("departments") if isinstance(data.get("departments"), list) else []
    statistics = [
        {
            "category": ctx.folio_departments.get(_s(d)) or (_s(d), ""),
            "category_type": FOLIO_DEPARTMENT_TYPE,
        }
        for d in departments
        if _s(d)
    ]
    custom = data.get("customFields") if isinstance(data.get("customFields"), dict) else {}
    notes = [
        {"note_type": FOLIO_CUSTOM_FIELD, "text": f"{name}: {_custom_text(value)}"}
        for name, value in sorted(custom.items())
        if not _empty(value)
    ]
    cand = {
        "label": label,
        "primary_id": primary,
        "general": general,
        "codes": {"user_group": _folio_group(data.get("patronGroup"), ctx)},
        "emails": emails,
        "phones": phones,
        "addresses": addresses,
        "identifiers": identifiers,
        "statistics": statistics,
        "notes": notes,
        "enrolled": _date(data.get("enrollmentDate")),
    }
    if no_home:
        cand["no_home"] = list(dict.fromkeys(no_home))
    return cand
