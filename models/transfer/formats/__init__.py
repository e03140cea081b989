"""The file formats `patrondesk import` reads: detection, streaming readers, and one mapper per
format from the file's record to a *candidate*, PatronDesk's own shape of a user before any
checking (`models.transfer.imports` checks and writes it).

A candidate is a plain dict (cheap to send to a worker process):

    label        where the record is ("row 12", "record 3", "User003.json")
    primary_id   the matching key
    general      {field: value} for the General-tab fields the format carries (names as in
                 `models.users.external.GENERAL_FIELDS`, plus record_type, status, status_date,
                 account_type, owning_system, keep_history, force_password_change, ...);
                 a field the format does not carry is absent, so a load never clears it
    codes        {"user_group" | "job_category" | "campus": (code, name) or None}
    password     plain text, an argon2 hash, or a foreign hash (told apart when checked)
    emails, phones, addresses, identifiers, notes, blocks, statistics, roles: lists of dicts
                 (absent: the format does not carry that kind)
    enrolled     the date the user registered (Koha's dateenrolled, FOLIO's enrollmentDate):
                 the account's creation time when it is created
    no_home      the names of the record's fields that have a value and no home in PatronDesk
                 (reported with counts, never silently dropped)

Code values are (code, name) pairs: the name is used when the code is new to the database.
Every reader refuses what it cannot read with `FormatError`: one line for the user.

One module per concern (issue 20), every public name re-exported here:

    common       FORMATS, FormatError, SourceContext, the shared field helpers
    detect       which format a file is in
    readers      the streaming readers (CSV in bounded memory, JSON, Alma XML), encodings
    patrondesk   PatronDesk's CSV (csv) and JSON (json)
    koha         koha-csv
    folio        folio-json and its reference data
    rero         rero-json and its reference files
    alma         alma-xml, alma-json, and Alma's fee and loan files
    (here)       MAPPERS, source_context, candidates, files_of: what the import pipeline calls
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from models.transfer.formats.alma import (
    Circulation,
    alma_extension,
    map_alma,
    map_alma_fee,
    map_alma_loan,
    read_alma_circulation,
)
from models.transfer.formats.common import (
    ATTRIBUTE_SEPARATOR,
    CIRCULATION_FORMATS,
    ENCODING,
    EXTENSION_KEY,
    EXTENSION_PI,
    FORMATS,
    LIST_SEPARATOR,
    TYPE_SEPARATOR,
    FormatError,
    SourceContext,
    _s,
    formula_safe,
    formula_value,
    local_date,
)
from models.transfer.formats.detect import (
    detect,
)
from models.transfer.formats.folio import (
    FOLIO_CUSTOM_FIELD,
    FOLIO_DEPARTMENT_TYPE,
    envelope_no_home,
    folio_reference_in_file,
    load_folio_reference,
    map_folio,
)
from models.transfer.formats.koha import (
    KOHA_ATTRIBUTE,
    KOHA_COLUMNS,
    KOHA_SORT,
    KOHA_UNMAPPED,
    map_koha,
)
from models.transfer.formats.patrondesk import (
    CSV_ADDRESS,
    CSV_ATTRIBUTES,
    CSV_CODES,
    CSV_COLUMNS,
    CSV_FLAGS,
    CSV_GENERAL,
    CSV_KEYS,
    CSV_LISTS,
    OWN_GENERAL,
    columns_of,
    join_items,
    join_list,
    map_csv,
    map_json,
    split_items,
    split_list,
    split_typed,
    unknown_columns,
)
from models.transfer.formats.readers import (
    MAX_ROW_CHARS,
    SNIFF_CHARS,
    RawRecord,
    Reader,
    alma_xml_to_dict,
    broken_message,
    text_encoding,
)
from models.transfer.formats.rero import (
    load_rero_patron_types,
    load_rero_reference,
    map_rero,
    rero_library,
    rero_organisation,
)

MAPPERS = {
    "csv": map_csv,
    "koha-csv": map_koha,
    "json": map_json,
    "alma-xml": map_alma,
    "alma-json": map_alma,
    "folio-json": map_folio,
    "rero-json": map_rero,
}


def source_context(path: Path, fmt: str) -> SourceContext:
    ctx = SourceContext()
    folder = path if path.is_dir() else path.parent
    if fmt == "folio-json":
        ctx.folio_groups, ctx.folio_address_types, ctx.folio_departments = load_folio_reference(
            folder
        )
    elif fmt == "rero-json":
        load_rero_reference(ctx, folder)
    return ctx


def primary_of(fmt: str, data: Any) -> str:
    """The primary identifier a mapper would give the record, read without mapping it (an
    unchanged record of a SIS load is recognized by it and its fingerprint alone)."""
    if not isinstance(data, dict):
        return ""
    if fmt == "csv":
        return (data.get("primary_id") or "").strip()
    if fmt == "koha-csv":
        return (data.get("cardnumber") or "").strip()
    if fmt == "folio-json":
        return (
            _s(data.get("externalSystemId")) or _s(data.get("barcode")) or _s(data.get("username"))
        )
    if fmt == "rero-json":
        patron = data.get("patron") if isinstance(data.get("patron"), dict) else {}
        barcodes = [_s(b) for b in patron.get("barcode") or [] if _s(b)]
        return barcodes[0] if barcodes else _s(data.get("username"))
    return _s(data.get("primary_id"))


def candidates(
    reader: Reader, fmt: str, ctx: SourceContext, *, lazy: bool = False
) -> Iterator[dict]:
    """Map every record of the reader (a record the mapper cannot read becomes a refusal).
    `lazy`: yield {"label", "raw", "map"} and let the caller map (`map_lazy`) only the records
    it needs."""
    if fmt not in MAPPERS:
        raise FormatError(f"unknown format {fmt!r}")
    for raw in reader:
        message = broken_message(raw.data)
        if message:
            yield {"label": raw.label, "broken": message}
            continue
        if ctx.rero_only is not None and rero_organisation(raw.data, ctx) not in ctx.rero_only:
            continue  # another organisation's record: read in its own pass (transfer.imports)
        if fmt == "json" and not ctx.code_names and "code_tables" in reader.members:
            ctx.code_names = _code_names(reader.members["code_tables"])
            ctx.currency = _s(reader.members.get("currency")).upper()
        if fmt == "folio-json" and not ctx.folio_in_file:
            folio_reference_in_file(ctx, reader.members)
        if fmt == "json" and reader.members.get("format") not in (None, "patrondesk"):
            raise FormatError(f"{reader.path.name} is not a PatronDesk export")
        if lazy:
            yield {"label": raw.label, "raw": raw.data, "fmt": fmt, "ctx": ctx}
            continue
        yield map_lazy({"label": raw.label, "raw": raw.data, "fmt": fmt, "ctx": ctx})


def map_lazy(item: dict) -> dict:
    """The candidate of a lazy item from `candidates(..., lazy=True)`."""
    try:
        return MAPPERS[item["fmt"]](item["raw"], item["label"], item["ctx"])
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
        return {"label": item["label"], "broken": f"the record has an unexpected shape ({exc})"}


def _code_names(tables: Any) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    if isinstance(tables, dict):
        for table, rows in tables.items():
            if isinstance(rows, list):
                out[table] = {
                    _s(r.get("code")): _s(r.get("name"))
                    for r in rows
                    if isinstance(r, dict) and _s(r.get("code"))
                }
    return out


def files_of(path: Path) -> list[Path]:
    """The files to import: the file itself, or every file of a folder (sorted by name; hidden
    files and schemas skipped)."""
    if path.is_dir():
        files = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() != ".xsd"
        )
        if not files:
            folders = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]
            raise FormatError(
                f"{path} holds no file to import"
                + (
                    f", only subfolders ({', '.join(sorted(p.name for p in folders)[:5])}): "
                    "subfolders are not read, import each one"
                    if folders
                    else ""
                )
            )
        return files
    if not path.exists():
        raise FormatError(f"{path} does not exist")
    return [path]


__all__ = [
    "alma_extension",
    "alma_xml_to_dict",
    "ATTRIBUTE_SEPARATOR",
    "broken_message",
    "candidates",
    "Circulation",
    "CIRCULATION_FORMATS",
    "columns_of",
    "CSV_ADDRESS",
    "CSV_ATTRIBUTES",
    "CSV_CODES",
    "CSV_COLUMNS",
    "CSV_FLAGS",
    "CSV_GENERAL",
    "CSV_KEYS",
    "CSV_LISTS",
    "detect",
    "ENCODING",
    "envelope_no_home",
    "EXTENSION_KEY",
    "EXTENSION_PI",
    "files_of",
    "FOLIO_CUSTOM_FIELD",
    "FOLIO_DEPARTMENT_TYPE",
    "folio_reference_in_file",
    "FormatError",
    "FORMATS",
    "formula_safe",
    "formula_value",
    "join_items",
    "join_list",
    "KOHA_ATTRIBUTE",
    "KOHA_COLUMNS",
    "KOHA_SORT",
    "KOHA_UNMAPPED",
    "LIST_SEPARATOR",
    "load_folio_reference",
    "load_rero_patron_types",
    "load_rero_reference",
    "local_date",
    "map_alma",
    "map_alma_fee",
    "map_alma_loan",
    "map_csv",
    "map_folio",
    "map_json",
    "map_koha",
    "map_lazy",
    "map_rero",
    "MAPPERS",
    "MAX_ROW_CHARS",
    "OWN_GENERAL",
    "primary_of",
    "RawRecord",
    "read_alma_circulation",
    "Reader",
    "rero_library",
    "rero_organisation",
    "SNIFF_CHARS",
    "source_context",
    "SourceContext",
    "split_items",
    "split_list",
    "split_typed",
    "text_encoding",
    "TYPE_SEPARATOR",
    "unknown_columns",
]
