"""PatronDesk's own formats: its CSV (columns, multi-valued cells) and its JSON export."""

from __future__ import annotations

import re
from typing import Any

from models.transfer.formats.common import (
    ATTRIBUTE_SEPARATOR,
    LIST_SEPARATOR,
    SourceContext,
    _bool,
    _code,
    _not_a_record,
    _s,
    local_date,
)
from models.transfer.formats.koha import KOHA_COLUMNS, KOHA_UNMAPPED
from models.users.fields import BOOL, CODE_FIELDS, CSV_FIELDS, DATE_KINDS, EXPORTED, LIBRARY_FIELDS

# --- PatronDesk CSV -----------------------------------------------------------------------------

# Columns of PatronDesk's CSV, in export order. Single-valued columns hold the field; the
# multi-valued ones hold values separated by "|", each "TYPE:value" (see README).
CSV_GENERAL = tuple(f.name for f in CSV_FIELDS)  # the field table's `csv` columns
CSV_CODES = CODE_FIELDS
CSV_ADDRESS = (
    "address_type",
    "address_line1",
    "address_line2",
    "address_line3",
    "city",
    "state",
    "postal_code",
    "country",
)
CSV_LISTS = ("emails", "phones", "identifiers", "notes", "statistics", "blocks", "roles")
CSV_COLUMNS = (
    "primary_id",
    *CSV_GENERAL,
    *CSV_CODES,
    "password",
    *CSV_LISTS[:2],
    *CSV_ADDRESS,
    *CSV_LISTS[2:],
)
_BOOL_COLUMNS = frozenset(f.name for f in CSV_FIELDS if f.kind == BOOL)
_CSV_KNOWN = frozenset(CSV_COLUMNS)


def columns_of(fmt: str) -> frozenset[str]:
    """The columns of a CSV format (Koha's: those PatronDesk reads and those it has no home
    for). Another column is reported as not the format's, even when empty (a misspelling)."""
    return KOHA_COLUMNS | KOHA_UNMAPPED if fmt == "koha-csv" else _CSV_KNOWN


def unknown_columns(fmt: str, header: list[str]) -> dict[str, str]:
    """The columns of a CSV header that are not the format's: name -> the column it most
    likely meant ("" when none is close)."""
    import difflib

    if fmt not in ("csv", "koha-csv"):
        return {}
    known = sorted(columns_of(fmt))
    unknown = [name for name in header if name and name not in known]
    return {  # the likely column of the first hundred (a header may have thousands)
        name: next(iter(difflib.get_close_matches(name, known, n=1, cutoff=0.6)), "")
        if i < 100
        else ""
        for i, name in enumerate(unknown)
    }


def split_list(cell: str) -> list[str]:
    """The values of a multi-valued cell: "|" separates, "\\|" and "\\\\" escape (a value's
    ";" attributes stay in it: `split_items` reads them)."""
    return [ATTRIBUTE_SEPARATOR.join(item).strip() for item in split_items(cell)]


def split_items(cell: str) -> list[list[str]]:
    """The values of a multi-valued cell, each as its ";"-separated segments (the value, then
    its attributes): "|" separates values, ";" segments, and a backslash makes the next
    character literal ("\\|", "\\;", "\\\\"). Blank values are dropped; segments are kept as
    they are (untrimmed: a ";" that is text keeps its spaces)."""
    if "\\" not in cell and ATTRIBUTE_SEPARATOR not in cell:
        return [[v] for v in cell.split(LIST_SEPARATOR) if v.strip()]
    out: list[list[str]] = []
    segments: list[str] = []
    current: list[str] = []
    escape = False
    for ch in cell:
        if escape:
            current.append(ch)
            escape = False
        elif ch == "\\":
            escape = True
        elif ch == LIST_SEPARATOR:
            segments.append("".join(current))
            out.append(segments)
            segments, current = [], []
        elif ch == ATTRIBUTE_SEPARATOR:
            segments.append("".join(current))
            current = []
        else:
            current.append(ch)
    segments.append("".join(current))
    out.append(segments)
    return [item for item in out if "".join(item).strip()]


def _escape(text: str) -> str:
    for ch in ("\\", LIST_SEPARATOR, ATTRIBUTE_SEPARATOR):
        text = text.replace(ch, "\\" + ch)
    return text


def join_list(values: list[str]) -> str:
    """The cell of plain values (no attributes): every "|", ";" and "\\" escaped."""
    return LIST_SEPARATOR.join(_escape(v) for v in values)


def join_items(items: list[tuple[str, list[str]]]) -> str:
    """The cell of values with their attributes: [("LOST_CARD:reported 2 May", ["inactive",
    "until=2027-01-31"])] -> "LOST_CARD:reported 2 May;inactive;until=2027-01-31". The value
    and the attributes' values are escaped (`split_items` reads them back)."""
    out = []
    for value, attributes in items:
        parts = [_escape(value)]
        for attribute in attributes:
            key, sep, text = attribute.partition("=")
            parts.append(f"{key}={_escape(text)}" if sep else attribute)
        out.append(ATTRIBUTE_SEPARATOR.join(parts))
    return LIST_SEPARATOR.join(out)


_TYPE = re.compile(r"^([A-Za-z0-9_.-]*):(.*)$", re.S)


def split_typed(value: str) -> tuple[str, str]:
    """ "work:jane@uni.example" -> ("work", "jane@uni.example"); no type -> ("", value)."""
    m = _TYPE.match(value)
    if m:
        return m.group(1), m.group(2).strip()
    return "", value


# The attributes a value of a multi-valued CSV cell may carry after ";" (README "PatronDesk
# CSV"): flags, and key=value, and which kinds take which. An attribute given to a kind that
# does not take it is left out with a warning (the candidate's "warnings"), never read as
# something else; a trailing segment that is no attribute is text of the value.
CSV_FLAGS = {"inactive", "active", "viewable", "popup", "sms"}
CSV_KEYS = {"until", "owner", "note", "description", "type"}
CSV_ATTRIBUTES = {
    "emails": {"description"},
    "phones": {"sms"},
    "identifiers": {"inactive", "active", "note"},
    "notes": {"viewable", "popup", "owner"},
    "statistics": {"owner", "note", "type"},
    "blocks": {"inactive", "active", "until", "owner"},
    "roles": {"inactive", "active", "until"},
}


def _attribute_name(segment: str) -> str | None:
    """The attribute a segment is (a flag or a known key=), or None: then it is value text (an
    unescaped ";" of a file written by hand)."""
    low = segment.strip().lower()
    if low in CSV_FLAGS:
        return low
    key, sep, _ = low.partition("=")
    return key.strip() if sep and key.strip() in CSV_KEYS else None


def _csv_values(
    row: dict, column: str, warnings: list[tuple[str, str]]
) -> list[tuple[str, dict[str, str]]]:
    """The values of a multi-valued column, each with its attributes {name: value} (a flag's
    value is "true"). An attribute this kind does not take is left out with a warning."""
    out = []
    allowed = CSV_ATTRIBUTES[column]
    for n, segments in enumerate(split_items(row.get(column) or ""), 1):
        attributes: dict[str, str] = {}
        while len(segments) > 1 and _attribute_name(segments[-1]) is not None:
            segment = segments.pop()
            name = _attribute_name(segment) or ""
            if name not in allowed:
                warnings.append(
                    (column, f"value {n}: {segment!r} does not apply to {column}: left out")
                )
                continue
            text = segment.partition("=")[2].strip() if "=" in segment else "true"
            attributes.setdefault(name, text)
        out.append((ATTRIBUTE_SEPARATOR.join(segments).strip(), attributes))
    return out


def _status(attributes: dict[str, str]) -> bool:
    """Active unless the value says ";inactive"."""
    return "inactive" not in attributes


_CSV_DATES = frozenset(f.name for f in CSV_FIELDS if f.kind in DATE_KINDS)


def map_csv(row: dict, label: str, ctx: SourceContext) -> dict:
    general: dict[str, Any] = {}
    warnings: list[tuple[str, str]] = []
    for name in CSV_GENERAL:
        if name in row:
            value = (row[name] or "").strip()
            general[name] = _bool(value) if name in _BOOL_COLUMNS and value else value
            if name in _BOOL_COLUMNS and not value:
                del general[name]
            elif name in _CSV_DATES:
                general[name] = local_date(value, ctx, name, warnings)
    cand: dict[str, Any] = {
        "label": label,
        "primary_id": (row.get("primary_id") or "").strip(),
        "general": general,
        "codes": {c: _code(row[c]) for c in CSV_CODES if c in row},
    }
    if "password" in row:
        cand["password"] = (row["password"] or "").strip()
    if "emails" in row:
        emails = []
        for i, (item, at) in enumerate(_csv_values(row, "emails", warnings)):
            kind, value = split_typed(item)
            emails.append(
                {
                    "address": value,
                    "email_type": kind or "personal",
                    "preferred": i == 0,
                    "description": at.get("description", ""),
                }
            )
        cand["emails"] = emails
    if "phones" in row:
        phones = []
        for i, (item, at) in enumerate(_csv_values(row, "phones", warnings)):
            kind, value = split_typed(item)
            phones.append(
                {
                    "number": value,
                    "phone_type": kind or "mobile",
                    "preferred": i == 0,
                    "preferred_sms": "sms" in at,
                }
            )
        cand["phones"] = phones
    if any(c in row for c in CSV_ADDRESS):
        a = {c: (row.get(c) or "").strip() for c in CSV_ADDRESS}
        address = {
            "address_type": a["address_type"] or "home",
            "line1": a["address_line1"],
            "line2": a["address_line2"],
            "line3": a["address_line3"],
            "city": a["city"],
            "state": a["state"],
            "postal_code": a["postal_code"],
            "country": a["country"],
            "preferred": True,
        }
        cand["addresses"] = (
            [address]
            if any(address[k] for k in ("line1", "line2", "line3", "city", "postal_code"))
            or address["country"]
            else []
        )
    if "identifiers" in row:
        cand["identifiers"] = [
            {
                "id_type": _code(kind),
                "value": value,
                "active": _status(at),
                "note": at.get("note", ""),
            }
            for (kind, value), at in (
                (split_typed(item), at) for item, at in _csv_values(row, "identifiers", warnings)
            )
        ]
    if "notes" in row:
        cand["notes"] = [
            {
                "note_type": _code(kind),
                "text": value,
                "user_viewable": "viewable" in at,
                "popup": "popup" in at,
                "owner": _code(at.get("owner")),
            }
            for (kind, value), at in (
                (split_typed(item), at) for item, at in _csv_values(row, "notes", warnings)
            )
        ]
    if "statistics" in row:
        cand["statistics"] = [
            {
                "category": _code(value),
                "category_type": _code(at.get("type")),
                "owner": _code(at.get("owner")),
                "note": at.get("note", ""),
            }
            for value, at in _csv_values(row, "statistics", warnings)
        ]
    if "blocks" in row:
        cand["blocks"] = [
            {
                "definition": _code(kind or value),
                "note": value if kind else "",
                "active": _status(at),
                "expiry_date": local_date(at.get("until", ""), ctx, "blocks", warnings),
                "owner": _code(at.get("owner")),
            }
            for (kind, value), at in (
                (split_typed(item), at) for item, at in _csv_values(row, "blocks", warnings)
            )
        ]
    if "roles" in row:
        roles = []
        for item, at in _csv_values(row, "roles", warnings):
            role, at_sign, scope = item.partition("@")
            if at_sign and not scope.strip():
                # "ROLE@" names no library: never read as every library.
                warnings.append(("roles", f"{item!r} names no library after '@': left out"))
                continue
            roles.append(
                {
                    "role": role.strip(),
                    "scope": _code(scope) if at_sign else None,
                    "status": "active" if _status(at) else "inactive",
                    "expiry_date": local_date(at.get("until", ""), ctx, "roles", warnings),
                }
            )
        cand["roles"] = roles
    if warnings:
        cand["warnings"] = warnings
    no_home = [k for k, v in row.items() if k and k not in _CSV_KNOWN and (v or "").strip()]
    if no_home:
        cand["no_home"] = no_home
    return cand


# --- PatronDesk JSON ----------------------------------------------------------------------------


def _named(ctx: SourceContext, table: str, code: Any) -> tuple[str, str] | None:
    text = _s(code)
    if not text:
        return None
    return (text, ctx.code_names.get(table, {}).get(text, ""))


def map_json(data: dict, label: str, ctx: SourceContext) -> dict:
    """PatronDesk's own export: every field, with the external flags and hand changes."""
    if not isinstance(data, dict):
        return _not_a_record(label)
    general = {k: data[k] for k in data if k in OWN_GENERAL}
    cand: dict[str, Any] = {
        "label": label,
        "primary_id": _s(data.get("primary_id")),
        "general": general,
        "codes": {c: _named(ctx, c, data.get(c)) for c in CSV_CODES if c in data},
        "own": True,
    }
    if data.get("password_hash"):
        cand["password"] = _s(data.get("password_hash"))
    if data.get("pin_hash"):
        cand["pin"] = _s(data.get("pin_hash"))
    for kind in ("emails", "phones", "addresses"):
        if isinstance(data.get(kind), list):
            cand[kind] = [dict(r) for r in data[kind] if isinstance(r, dict)]
    for kind, table, key in (
        ("identifiers", "identifier_type", "id_type"),
        ("notes", "note_type", "note_type"),
        ("blocks", "block_definition", "definition"),
        ("statistics", "stat_category", "category"),
    ):
        if isinstance(data.get(kind), list):
            rows = []
            for r in data[kind]:
                if isinstance(r, dict):
                    r = dict(r)
                    r[key] = _named(ctx, table, r.get(key))
                    if kind == "statistics":
                        r["category_type"] = _named(
                            ctx, "stat_category_type", r.get("category_type")
                        )
                    for lib in ("owner",):
                        if _s(r.get(lib)):
                            r[lib] = _named(ctx, "library", r.get(lib))
                    rows.append(r)
            cand[kind] = rows
    if isinstance(data.get("roles"), list):
        cand["roles"] = [
            {**r, "scope": _named(ctx, "library", r.get("scope"))}
            for r in data["roles"]
            if isinstance(r, dict)
        ]
        # Every role of the account: one without Patron (none at all included) is no patron.
        cand["no_patron"] = not any(r.get("role") == "patron" for r in cand["roles"])
    for extra in ("local_overrides", "proxy_for", "attachments"):
        if isinstance(data.get(extra), list):
            cand[extra] = data[extra]
    if isinstance(data.get("photo"), dict):  # checked and made again when written
        cand["photo"] = data["photo"]
    if isinstance(data.get("loans"), list):
        cand["loans"] = [
            {**x, "library": _named(ctx, "library", x.get("library"))}
            for x in data["loans"]
            if isinstance(x, dict)
        ]
    if isinstance(data.get("fees"), list):
        cand["fees"] = [
            {
                **x,
                "fee_type": _named(ctx, "fee_type", x.get("fee_type")),
                "owner": _named(ctx, "library", x.get("owner")),
                "currency": ctx.currency,
                "transactions": [
                    {**t, "reason": _named(ctx, "waive_reason", t.get("reason"))}
                    for t in x.get("transactions") or []
                    if isinstance(t, dict)
                ],
            }
            for x in data["fees"]
            if isinstance(x, dict)
        ]
    # Lists of library codes (issue 22, item 6d); an older file's single value, a list of one.
    for name in LIBRARY_FIELDS:
        old = name.removesuffix("ies") + "y"  # resource_sharing_library, ...
        given = data.get(name, [data[old]] if old in data else None)
        if isinstance(given, list):
            named = (_named(ctx, "library", x) for x in given)
            cand["codes"][name] = [pair for pair in named if pair is not None]
    return cand


# Top-level fields of a user in PatronDesk's JSON that are plain values: the field table's
# (`EXPORTED`) and the record's own bookkeeping, which no form enters.
OWN_GENERAL = frozenset(f.name for f in EXPORTED) | frozenset(
    {"owning_system", "last_activity_at", "created_by", "created_at", "updated_by", "updated_at"}
)
