"""Shared by every format: the formats' names, FormatError, the SourceContext a mapper
reads, and the small field helpers (text, codes, booleans, dates, formula-safe cells)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from models.errors import PatronDeskError

FORMATS = ("csv", "koha-csv", "json", "alma-xml", "alma-json", "folio-json", "rero-json")
# Files of Alma fees or loans (REST responses): no users, read after the users of the load.
CIRCULATION_FORMATS = ("alma-fees", "alma-loans")
LIST_SEPARATOR = "|"  # between the values of a multi-valued CSV cell
TYPE_SEPARATOR = ":"  # between a value's type and the value ("work:jane@uni.example")
ATTRIBUTE_SEPARATOR = ";"  # between a value and its attributes ("BARCODE:123;inactive")
ENCODING = "utf-8-sig"  # UTF-8, with or without a byte-order mark


class FormatError(PatronDeskError):
    """The file cannot be read as the format (or as any format): nothing was imported."""


@dataclass
class SourceContext:
    """What a mapper needs besides the record: reference data found beside the file."""

    folio_groups: dict[str, tuple[str, str]] = field(default_factory=dict)  # uuid -> (code, name)
    folio_address_types: dict[str, str] = field(default_factory=dict)  # uuid -> name
    rero_patron_types: dict[str, tuple[str, str]] = field(default_factory=dict)  # pid -> code,name
    # RERO's organisations: patron type pid -> organisation pid; library pid -> (code, name,
    # organisation pid) from libraries.json; organisation pid -> (code, name) from
    # organisations.json (each beside the users file, as in RERO's data/ folder).
    rero_type_orgs: dict[str, str] = field(default_factory=dict)
    rero_libraries: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    rero_organisations: dict[str, tuple[str, str]] = field(default_factory=dict)
    # The RERO organisation whose records this pass reads (None: every record; "": those whose
    # organisation the file does not tell). See `rero_organisation`.
    rero_only: frozenset[str] | None = None
    folio_departments: dict[str, tuple[str, str]] = field(default_factory=dict)  # uuid -> code,name
    folio_in_file: bool = False  # the file's own usergroups/addresstypes were read
    currency: str = ""  # own json: the currency of the fees' amounts (its header)
    code_names: dict[str, dict[str, str]] = field(
        default_factory=dict
    )  # own json: table->code->name
    date_format: str = ""  # --date-format: the CSV files' local dates ("%d/%m/%Y")
    _fingerprint: str = ""

    def fingerprint(self) -> str:
        """A digest of what the mapping of a record depends on besides the record: the
        reference data read beside the file or in it, and the date format. Part of each
        record's fingerprint, so that a rerun after a reference file changed reads the
        records again. Taken once the file's own reference data (read before its first
        record) is in."""
        if not self._fingerprint:
            import hashlib

            data = repr(
                (
                    sorted(self.folio_groups.items()),
                    sorted(self.folio_address_types.items()),
                    sorted(self.folio_departments.items()),
                    sorted(self.rero_patron_types.items()),
                    sorted(self.rero_type_orgs.items()),
                    sorted(self.rero_libraries.items()),
                    sorted(self.rero_organisations.items()),
                    self.currency,
                    sorted((t, sorted(c.items())) for t, c in self.code_names.items()),
                    self.date_format,
                )
            )
            self._fingerprint = hashlib.blake2b(data.encode(), digest_size=8).hexdigest()
        return self._fingerprint


# --- Small helpers ------------------------------------------------------------------------------


def _s(value: Any) -> str:
    """Text of a scalar (None -> ""), trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):  # Alma's {"value": ..., "desc": ...}
        return _s(value.get("value"))
    return str(value).strip()


def _code(value: Any, name: Any = "") -> tuple[str, str] | None:
    """A code value as (code, name); Alma's {"value", "desc"} objects included."""
    if isinstance(value, dict):
        return _code(value.get("value"), value.get("desc") or name)
    code = _s(value)
    return (code, _s(name)) if code else None


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y", "on", "t"}
    return bool(value)


def _date(value: Any) -> str:
    """Dates as YYYY-MM-DD: Alma's "2023-09-01Z" and FOLIO's timestamps keep their date part."""
    text = _s(value)
    if len(text) >= 10 and re.match(r"\d{4}-\d{2}-\d{2}([TZ ]|$|[+-]\d)", text):
        return text[:10]
    return text


# A date as libraries type it (31/12/1985, 12.31.85, 1985/12/31): read only with --date-format.
_LOCAL_DATE = re.compile(r"^(\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./]\d{1,2}[./]\d{1,2})$")


def local_date(
    value: Any, ctx: SourceContext | None, name: str, warnings: list[tuple[str, str]]
) -> str:
    """A date of a CSV file as YYYY-MM-DD: read with --date-format when given (a YYYY-MM-DD
    date too), else as YYYY-MM-DD. A date in another format is left out with a warning that
    says how to read it (never read the wrong way round, 01/02 is not both)."""
    import datetime as dt

    text = _s(value)
    if not text:
        return ""
    fmt = ctx.date_format if ctx is not None else ""
    if fmt:
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            iso = _date(text)
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso):
                return iso
            warnings.append((name, f"{text!r} is not a date in --date-format {fmt}: left out"))
            return ""
    if _LOCAL_DATE.match(text):
        warnings.append(
            (
                name,
                f"{text!r} is not a YYYY-MM-DD date: left out (give --date-format, e.g. "
                "%d/%m/%Y, to read such dates)",
            )
        )
        return ""
    return _date(text)


def _empty(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    return value is None or value == "" or value == []


def _no_home(data: dict, homes: frozenset[str], prefix: str = "") -> list[str]:
    """The names of `data`'s members that have a value and are not in `homes`."""
    return [f"{prefix}{k}" for k, v in data.items() if k not in homes and not _empty(v)]


def _not_a_record(label: str) -> dict:
    return {"label": label, "broken": "is not a user record (a JSON object was expected)"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# PatronDesk's fields that Alma's schema has no element for travel in a processing instruction
# of the element they belong to (`<?patrondesk username="ann" letters_opt_in="false"?>`,
# written by `models.transfer.exports`): Alma and schema validators skip it. The reader keeps its
# text
# under EXTENSION_KEY, which no XML attribute can be named.
EXTENSION_PI = "patrondesk"
EXTENSION_KEY = "?patrondesk"


# A cell a spreadsheet would run as a formula (OWASP "CSV injection"): = + - @, tab or CR first,
# after any number of quotes (so that a value starting with quotes comes back exactly).
_FORMULA = re.compile(r"'*[=+\-@\t\r]")


def formula_safe(value: str) -> str:
    """The CSV cell of `value`: a leading "'" when a spreadsheet would read a formula (the
    spreadsheet shows the value as text). `formula_value` takes that one quote away again."""
    return "'" + value if _FORMULA.match(value) else value


def formula_value(cell: str) -> str:
    """The value of a cell `formula_safe` wrote: one "'" before a formula character (or before
    more quotes and one) is taken away; any other cell is the value as it is."""
    return cell[1:] if cell[:1] == "'" and _FORMULA.match(cell, 1) else cell
