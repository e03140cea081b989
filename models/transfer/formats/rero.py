"""RERO ILS's patrons (rero-json) and its reference files (patron types, libraries,
organisations) beside them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.store.files import read_side_text
from models.transfer import jsonstream
from models.transfer.formats.common import SourceContext, _bool, _date, _not_a_record, _s

# --- RERO ILS -----------------------------------------------------------------------------------

_RERO_ROLES = {
    "patron": "patron",
    "pro_full_permissions": "user_administrator",
    "pro_library_administrator": "user_manager",
    "pro_user_manager": "user_manager",
    "pro_circulation_manager": "circulation_desk_manager",
    "pro_read_only": "fulfillment_services_operator",
}


def _rero_rows(folder: Path, name: str) -> list[dict]:
    path = folder / name
    if not path.is_file():
        return []
    try:
        rows = jsonstream.loads(read_side_text(path))
    except (OSError, ValueError):
        return []
    return (
        [r for r in rows if isinstance(r, dict) and _s(r.get("pid"))]
        if isinstance(rows, list)
        else []
    )


def load_rero_patron_types(folder: Path) -> dict[str, tuple[str, str]]:
    """RERO's patron types (`patron_types.json` beside the users file): pid -> (code, name)."""
    out = {}
    for row in _rero_rows(folder, "patron_types.json"):
        if _s(row.get("name")):
            name = _s(row["name"])
            out[_s(row["pid"])] = (name, name)
    return out


def load_rero_reference(ctx: SourceContext, folder: Path) -> None:
    """RERO's reference data beside a users file: patron types (`patron_types.json`, with
    their organisation), libraries (`libraries.json`: code, name, organisation) and
    organisations (`organisations.json`: code, name)."""
    ctx.rero_patron_types = load_rero_patron_types(folder)
    for row in _rero_rows(folder, "patron_types.json"):
        org = _ref_id(row.get("organisation"))
        if org:
            ctx.rero_type_orgs[_s(row["pid"])] = org
    for row in _rero_rows(folder, "libraries.json"):
        pid = _s(row["pid"])
        ctx.rero_libraries[pid] = (
            _s(row.get("code"))[:50] or pid,
            _s(row.get("name"))[:200],
            _ref_id(row.get("organisation")),
        )
    for row in _rero_rows(folder, "organisations.json"):
        ctx.rero_organisations[_s(row["pid"])] = (
            _s(row.get("code"))[:50],
            _s(row.get("name"))[:200],
        )


def rero_organisation(data: Any, ctx: SourceContext) -> str:
    """The RERO organisation (its pid) of a user record: its patron type's, else its
    libraries' (libraries.json); "" when the file and its reference data do not tell."""
    if not isinstance(data, dict):
        return ""
    patron = data.get("patron") if isinstance(data.get("patron"), dict) else None
    if patron is not None:
        org = ctx.rero_type_orgs.get(_ref_id(patron.get("type")), "")
        if org:
            return org
    for lib in data.get("libraries") or []:
        found = ctx.rero_libraries.get(_ref_id(lib))
        if found and found[2]:
            return found[2]
    return ""


def rero_library(pid: str, ctx: SourceContext) -> tuple[str, str]:
    """A RERO library as a PatronDesk library (code, name): from libraries.json, else the pid
    with a name that says where it comes from (the users file names no library)."""
    found = ctx.rero_libraries.get(pid)
    if found and found[1]:
        return found[0], found[1]
    return pid, f"RERO library {pid}"


def _ref_id(value: Any) -> str:
    ref = value.get("$ref", "") if isinstance(value, dict) else _s(value)
    return str(ref).rstrip("/").rsplit("/", 1)[-1]


def map_rero(data: dict, label: str, ctx: SourceContext) -> dict:
    if not isinstance(data, dict):
        return _not_a_record(label)
    patron = data.get("patron") if isinstance(data.get("patron"), dict) else None
    barcodes = [_s(b) for b in (patron or {}).get("barcode") or [] if _s(b)]
    username = _s(data.get("username"))
    primary = barcodes[0] if barcodes else username
    roles_in = [r for r in data.get("roles") or [] if isinstance(r, str)]
    staff = any(r.startswith("pro_") for r in roles_in)
    general: dict[str, Any] = {
        "first_name": _s(data.get("first_name")),
        "last_name": _s(data.get("last_name")),
        "birth_date": _date(data.get("birth_date")),
        "gender": _s(data.get("gender")),
        "record_type": "staff" if staff else "public",
        "keep_history": _bool(data.get("keep_history", False)),
    }
    if username:
        general["username"] = username
    codes: dict[str, Any] = {}
    if patron is not None:
        general["expiry_date"] = _date(patron.get("expiration_date"))
        channel = _s(patron.get("communication_channel")).lower()
        if channel in ("email", "mail"):
            general["comm_channel"] = channel
        if _s(patron.get("communication_language")):
            general["comm_language"] = _s(patron.get("communication_language"))
            general["preferred_language"] = general["comm_language"]
        general["additional_email"] = _s(patron.get("additional_communication_email"))
        type_id = _ref_id(patron.get("type"))
        # A pid patron_types.json does not name is a code (PatronDesk's rero-json export).
        codes["user_group"] = ctx.rero_patron_types.get(type_id) or (
            (type_id, "") if type_id else None
        )
    emails = []
    if _s(data.get("email")):
        emails.append({"address": _s(data.get("email")), "email_type": "personal"})
    phones = [
        {"number": _s(data.get(key)), "phone_type": kind}
        for key, kind in (
            ("mobile_phone", "mobile"),
            ("home_phone", "home"),
            ("business_phone", "office"),
            ("other_phone", "home"),
        )
        if _s(data.get(key))
    ]
    addresses = []

    def lines(street: Any) -> dict[str, str]:
        # RERO's street is a text area: its lines are PatronDesk's five address lines.
        # An empty line keeps the place of an empty address line (PatronDesk's export).
        parts = [x.strip() for x in _s(street).split("\n")]
        while parts and not parts[-1]:
            parts.pop()
        return {
            "line1": parts[0] if parts else "",
            "line2": parts[1] if len(parts) > 1 else "",
            "line3": parts[2] if len(parts) > 2 else "",
            "line4": parts[3] if len(parts) > 3 else "",
            "line5": ", ".join(x for x in parts[4:] if x),
        }

    if any(_s(data.get(k)) for k in ("street", "postal_code", "city")):
        addresses.append(
            {
                "address_type": "home",
                **lines(data.get("street")),
                "city": _s(data.get("city")),
                "postal_code": _s(data.get("postal_code")),
                "country": _s(data.get("country")),
                "preferred": True,
            }
        )
    second = data.get("second_address")
    if isinstance(second, dict) and any(_s(v) for v in second.values()):
        addresses.append(
            {
                "address_type": "alternative",
                **lines(second.get("street")),
                "city": _s(second.get("city")),
                "postal_code": _s(second.get("postal_code")),
                "country": _s(second.get("country")),
            }
        )
    identifiers = [{"id_type": ("BARCODE", "Barcode"), "value": b} for b in barcodes[1:]]
    notes = []
    for n in data.get("notes") or []:
        if isinstance(n, dict) and _s(n.get("content")):
            kind = _s(n.get("type"))
            notes.append(
                {
                    "note_type": ("GENERAL", "General"),
                    "text": _s(n.get("content")),
                    "user_viewable": kind == "public_note",
                }
            )
    blocks = []
    if patron is not None and _bool(patron.get("blocked")):
        blocks.append(
            {"definition": ("GENERAL", "General block"), "note": _s(patron.get("blocked_note"))}
        )
    libraries = [_ref_id(lib) for lib in data.get("libraries") or []]
    # Roles only in the libraries of the user's own organisation (libraries.json tells): a
    # library of another organisation is said and gets no role (never a role there, nor one
    # widened to every library).
    org = rero_organisation(data, ctx)
    elsewhere = [
        lib for lib in libraries if org and ctx.rero_libraries.get(lib, ("", "", org))[2] != org
    ]
    warnings = []
    if elsewhere:
        warnings.append(
            (
                "roles",
                f"libraries {', '.join(elsewhere)} are of another RERO organisation than the "
                f"user's ({org}): no role given there",
            )
        )
    roles = []
    no_home = []
    for r in roles_in:
        role = _RERO_ROLES.get(r)
        if role is None:
            # A RERO permission with no PatronDesk role (cataloguing, acquisitions,
            # statistics...): PatronDesk manages users only. Reported, never widened.
            no_home.append(f"role {r}")
            continue
        if role == "patron" or not libraries:
            roles.append({"role": role, "scope": None})
        else:
            roles.extend(
                {"role": role, "scope": rero_library(lib, ctx)}
                for lib in libraries
                if lib and lib not in elsewhere
            )
    cand = {
        "label": label,
        "primary_id": primary,
        "general": general,
        "codes": codes,
        "password": _s(data.get("password")),
        "emails": emails,
        "phones": phones,
        "addresses": addresses,
        "identifiers": identifiers,
        "notes": notes,
        "blocks": blocks,
        "roles": roles,
        # RERO says every role of the user: a staff member without "patron" is no patron.
        "no_patron": isinstance(data.get("roles"), list) and "patron" not in roles_in,
    }
    if no_home:
        cand["no_home"] = no_home
    if warnings:
        cand["warnings"] = warnings
    return cand
