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
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.errors import PatronDeskError
from models.transfer import jsonstream

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


# --- Detection ----------------------------------------------------------------------------------


def detect(path: Path) -> str:
    """The format of a file from its content (the extension is only a hint)."""
    try:
        with open(path, "rb") as f:
            head = f.read(65536)
    except OSError as exc:
        raise FormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    codec = "utf-16" if head.startswith(_UTF16_BOMS) else "utf-8"
    text = head.decode(codec, errors="replace").lstrip("\ufeff \t\r\n")
    if not text:
        raise FormatError(f"{path.name} is empty")
    if text.startswith("<"):
        return _detect_xml(path)
    if text[0] in "[{":
        return _detect_json(path)
    if text.startswith("---") or re.match(r"^#.*\n", text) and "\n---" in text[:2000]:
        raise FormatError(
            f"{path.name} is YAML, which patrondesk does not import (for Koha's "
            "sample_patrons.yml, import the CSV export of the same rows: koha/patrons.csv)"
        )
    first = text.splitlines()[0].lower()
    names = {c.strip().strip('"') for c in re.split(r"[,;\t]", first)}
    if {"cardnumber", "surname"} <= names:
        return "koha-csv"
    if {"primary_id", "last_name"} <= names:
        return "csv"
    raise FormatError(
        f"{path.name}: cannot tell the format (a CSV file needs a header row with primary_id and "
        "last_name, or Koha's cardnumber and surname): give --format"
    )


def _detect_xml(path: Path) -> str:
    root = _xml_root_tag(path)
    if root in ("user", "users", "userRecords"):
        return "alma-xml"
    if root == "schema":
        raise FormatError(f"{path.name} is an XML schema, not user records")
    raise FormatError(
        f"{path.name}: an XML root <{root}> is not user records (Alma's <user>, <users> or "
        "<userRecords>)"
    )


def _first_json(path: Path) -> tuple[dict, Any]:
    """The top-level members read before the first item, and the first item (or None)."""
    members: dict = {}
    try:
        with open(path, encoding=ENCODING) as f:
            for kind, key, value in jsonstream.events(f, ("users", "user")):
                if kind == "item":
                    return members, value
                if kind == "value":
                    return {}, value
                members[key] = value
    except jsonstream.JsonStreamError as exc:
        raise FormatError(f"{path.name} is not valid JSON: {exc}") from None
    except UnicodeDecodeError:
        bad = _undecodable(path, ENCODING)
        where = f" (line {bad[0]}: byte 0x{bad[1]:02x})" if bad else ""
        raise FormatError(f"{path.name} is not UTF-8 text{where}: JSON files are UTF-8") from None
    return members, None


def _detect_json(path: Path) -> str:
    members, first = _first_json(path)
    if members.get("format") == "patrondesk":
        return "json"
    if first is None and members and "users" not in members and "user" not in members:
        first = members  # a single user object
    if isinstance(first, dict):
        if "personal" in first or "patronGroup" in first:
            return "folio-json"
        if "primary_id" in first:
            return "alma-json"
        if "pid" in first and ("roles" in first or "patron" in first):
            return "rero-json"
    if "item_loan" in members or isinstance(first, dict) and "loan_id" in first:
        return "alma-loans"
    if "fee" in members or "original_amount" in (first or {}):
        return "alma-fees"
    if isinstance(first, dict) and "pid" in first and ("organisation" in first or "code" in first):
        kind = "patron types"
        if "organisation" not in first:
            kind = "organisations"
        elif "code" in first:
            kind = "libraries"
        raise FormatError(f"{path.name} holds RERO reference data ({kind}), not users")
    if first is None and ("users" in members or "user" in members):
        raise FormatError(f"{path.name} holds no user records")
    raise FormatError(f"{path.name}: cannot tell which JSON format this is: give --format")


# --- Encodings ----------------------------------------------------------------------------------

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _undecodable(path: Path, codec: str) -> tuple[int, int] | None:
    """The first place `path` cannot be read as `codec`: (line, byte), or None. Read in
    blocks through an incremental decoder (bounded memory whatever the file)."""
    import codecs

    decoder = codecs.getincrementaldecoder(codec)()
    lines = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            pending = len(decoder.getstate()[0])  # bytes of a character the last block cut
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                at = max(0, exc.start - pending)
                return lines + block[:at].count(b"\n") + 1, exc.object[exc.start]
            if not block:
                return None
            lines += block.count(b"\n")


def text_encoding(path: Path, wanted: str = "") -> tuple[str, str]:
    """The encoding to read a CSV file in, and what to say about it ("" when nothing). With
    `wanted` (--encoding): that one, and a byte it cannot read is refused at its line. Without:
    UTF-8 (a BOM, UTF-16 with its BOM, accepted); a file that is not UTF-8 is read as Windows-1252
    (a superset of Latin-1's letters), or as Latin-1 when it has a byte Windows-1252 lacks, and
    said so with the first line that is not UTF-8."""
    import codecs

    with open(path, "rb") as f:
        head = f.read(4)
    if wanted:
        try:
            codec = codecs.lookup(wanted).name
        except LookupError:
            raise FormatError(f"--encoding: {wanted!r} is not an encoding Python knows") from None
        if codec == "utf-8":
            codec = ENCODING  # a BOM is not text
        if not codec.startswith(("utf-16", "utf-32")):
            bad = _undecodable(path, codec)
            if bad is not None:
                raise FormatError(
                    f"{path.name}: line {bad[0]} cannot be read as {wanted} (byte 0x{bad[1]:02x}): "
                    "give the file's encoding with --encoding (cp1252, latin-1, utf-8, ...)"
                )
        return codec, ""
    if head.startswith(_UTF16_BOMS):
        return "utf-16", ""
    bad = _undecodable(path, "utf-8")
    if bad is None:
        return ENCODING, ""
    codec = "cp1252" if _undecodable(path, "cp1252") is None else "latin-1"
    return codec, (
        f"is not UTF-8 (line {bad[0]}: byte 0x{bad[1]:02x}): read as {codec}; if its accented "
        "letters are wrong, give the file's encoding with --encoding"
    )


# --- Reading ------------------------------------------------------------------------------------


@dataclass
class RawRecord:
    label: str
    data: Any


class Reader:
    """Iterates the raw records of one file, and tells how far it has read (for the progress)."""

    def __init__(
        self,
        path: Path,
        fmt: str,
        *,
        encoding: str = "",
        columns: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.fmt = fmt
        self.size = max(path.stat().st_size, 1)
        self.wanted_encoding = encoding  # --encoding (CSV files)
        self.encoding = ENCODING
        self.encoding_note = ""  # what to say about the encoding read (text_encoding)
        self.columns = columns or {}  # --map's "columns": the file's name -> the format's
        self._file: Any = None
        self.members: dict[str, Any] = {}  # JSON: the members around the records read so far
        self.header: list[str] = []  # CSV: the header row's column names
        self.single_record = False  # JSON: the file is one user object (its members are it)

    def position(self) -> int:
        try:
            return self._file.buffer.tell() if hasattr(self._file, "buffer") else self._file.tell()
        except (OSError, ValueError, AttributeError):
            return 0

    def __iter__(self) -> Iterator[RawRecord]:
        try:
            if self.fmt in ("csv", "koha-csv"):
                yield from self._csv()
            elif self.fmt == "alma-xml":
                yield from self._xml()
            else:
                yield from self._json()
        except UnicodeDecodeError as exc:
            codec = "UTF-8" if self.encoding == ENCODING else self.encoding
            bad = _undecodable(self.path, self.encoding)
            where = f"line {bad[0]}: byte 0x{bad[1]:02x}, " if bad else ""
            raise FormatError(
                f"{self.path.name} is not {codec} text ({where}{exc.reason})"
            ) from None
        finally:
            if self._file is not None:
                self._file.close()

    def _csv(self) -> Iterator[RawRecord]:
        self.encoding, self.encoding_note = text_encoding(self.path, self.wanted_encoding)
        self._file = open(self.path, encoding=self.encoding, newline="")  # noqa: SIM115
        # The delimiter from the start of the header only: a hostile file may have no line end.
        head = self._file.readline(SNIFF_CHARS)
        delimiter = max(",;\t", key=head.count)
        self._file.seek(0)
        lines = _Lines(self._file)
        reader = csv.reader(lines, delimiter=delimiter)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise FormatError(f"{self.path.name}: the header row cannot be read: {exc}") from None
        except _RowTooLong:
            raise FormatError(
                f"{self.path.name}: the header row is longer than {MAX_ROW_CHARS:,} characters: "
                "not a file of users"
            ) from None
        if not header:
            raise FormatError(f"{self.path.name} has no header row")
        header = [h.strip().lstrip("\ufeff") for h in header]
        if self.columns:
            header = self._renamed(header)
        self.header = header
        required = ("primary_id", "last_name") if self.fmt == "csv" else ("cardnumber", "surname")
        missing = [r for r in required if r not in header]
        if missing:
            raise FormatError(
                f"{self.path.name}: the header row lacks {', '.join(missing)} "
                f"(the {self.fmt} format's columns)"
            )
        unquote = self.fmt == "csv"  # our own export's cells: take the formula prefix away
        row_number = 1
        while True:
            lines.start_row()
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row_number += 1
                swallowed = lines.row_lines[1:]
                if "field limit" in str(exc) and _rows_like(swallowed, header, delimiter):
                    # A quote left open took in line after line of rows (given back). Lines
                    # that are not rows of this file (a hostile file's endless cell) are not:
                    # re-reading millions of them as rows took minutes (see below).
                    lines.give_back(lines.row_lines[1:])
                    yield RawRecord(f"row {row_number}", _Broken(_open_quote(lines.row_start)))
                    continue
                if "field limit" in str(exc):
                    # A cell as long as that is a quote left open, or a hostile file: where
                    # the next row starts is anybody's guess (it was read as millions of rows).
                    yield RawRecord(
                        f"row {row_number}",
                        _Broken(
                            f"a cell is longer than {csv.field_size_limit():,} characters: "
                            "refused, and the rest of the file is not read"
                        ),
                    )
                    return
                yield RawRecord(f"row {row_number}", _Broken(f"the row cannot be read: {exc}"))
                continue
            except _RowTooLong:
                yield RawRecord(
                    f"row {row_number + 1}",
                    _Broken(
                        f"the row is longer than {MAX_ROW_CHARS:,} characters: refused, and the "
                        "rest of the file is not read"
                    ),
                )
                return
            row_number += 1
            if len(lines.row_lines) > 1 and _runaway(cells, lines.row_lines, header, delimiter):
                # A quote opened and never closed on its line took the next rows into one
                # cell: this row is refused at its line, the lines after it are read again.
                lines.give_back(lines.row_lines[1:])
                yield RawRecord(f"row {row_number}", _Broken(_open_quote(lines.row_start)))
                continue
            if not any(c.strip() for c in cells):
                continue
            if unquote and lines.quote:
                cells = [formula_value(c) for c in cells]
            if len(cells) > len(header):
                extra = [c for c in cells[len(header) :] if c.strip()]
                if extra:
                    yield RawRecord(
                        f"row {row_number}",
                        _Broken(f"the row has {len(cells)} cells, the header {len(header)}"),
                    )
                    continue
            yield RawRecord(f"row {row_number}", dict(zip(header, cells, strict=False)))

    def _renamed(self, header: list[str]) -> list[str]:
        """The header with --map's "columns" renamed: {"emial": "emails"}. A new name must be
        a column of the format, and no two columns may end with the same name."""
        known = columns_of(self.fmt)
        for source, target in self.columns.items():
            if target not in known:
                raise FormatError(
                    f"--map columns: {source!r} -> {target!r}: {target!r} is not a column of "
                    f"the {self.fmt} format"
                )
        out = [self.columns.get(h, h) for h in header]
        twice = sorted({h for h in out if h and out.count(h) > 1})
        if twice:
            raise FormatError(
                f"--map columns: {self.path.name} would have two columns named {twice[0]!r}"
            )
        return out

    def _json(self) -> Iterator[RawRecord]:
        self._file = open(self.path, encoding=ENCODING)  # noqa: SIM115
        n = 0
        try:
            for kind, key, value in jsonstream.events(self._file, ("users", "user")):
                if kind == "member":
                    self.members[key] = value
                    if key in ("users", "user") and isinstance(value, dict):
                        n += 1
                        yield RawRecord(f"record {n}", value)
                    continue
                if kind == "value":
                    if not isinstance(value, dict):
                        raise FormatError(f"{self.path.name}: the JSON holds no user records")
                    n += 1
                    yield RawRecord(f"record {n}", value)
                    continue
                n += 1
                yield RawRecord(f"record {n}", value)
        except jsonstream.JsonStreamError as exc:
            raise FormatError(
                f"{self.path.name} is not valid JSON after record {n}: {exc}"
                + (" (the records before it were read)" if n else "")
            ) from None
        if n == 0 and self.fmt != "json" and self.members and "users" not in self.members:
            # A single user object at the top level (FOLIO or Alma's REST user).
            self.single_record = True
            yield RawRecord("record 1", self.members)

    def _xml(self) -> Iterator[RawRecord]:
        from defusedxml import DefusedXmlException
        from defusedxml.ElementTree import iterparse

        self._file = open(self.path, "rb")  # noqa: SIM115
        depth = 0
        record_depth = None
        n = 0
        root = None
        open_elements: list[Any] = []
        others: dict[str, int] = {}  # elements in the root that are not <user>
        try:
            for event, elem in iterparse(
                self._file, events=("start", "end", "pi"), forbid_dtd=True, forbid_entities=True
            ):
                if event == "pi":
                    # PatronDesk's <?patrondesk ...?> goes with the element it is in.
                    text = elem.text or ""
                    if open_elements and text.startswith(EXTENSION_PI + " "):
                        holder = open_elements[-1]
                        holder.set(EXTENSION_KEY, holder.get(EXTENSION_KEY, "") + " " + text)
                    continue
                tag = _local(elem.tag)
                if event == "start":
                    open_elements.append(elem)
                    depth += 1
                    if depth == 1:
                        root = elem
                        if tag == "user":
                            record_depth = 1
                        elif tag in ("users", "userRecords"):
                            record_depth = 2
                        else:
                            raise FormatError(
                                f"{self.path.name}: an XML root <{tag}> is not Alma user records"
                            )
                    continue
                open_elements.pop()
                if depth == record_depth and tag == "user":
                    n += 1
                    yield RawRecord(f"record {n}", alma_xml_to_dict(elem))
                    if root is not None and root is not elem:
                        elem.clear()
                        root.remove(elem) if elem in list(root) else None
                elif depth == record_depth and record_depth > 1:
                    others[tag] = others.get(tag, 0) + 1
                    if root is not None:
                        elem.clear()
                        root.remove(elem) if elem in list(root) else None
                depth -= 1
        except DefusedXmlException as exc:
            raise FormatError(
                f"{self.path.name}: unsafe XML refused ({type(exc).__name__}): "
                "no DTD or entity is allowed"
            ) from None
        except Exception as exc:  # noqa: BLE001 - ParseError and expat's own errors
            if isinstance(exc, FormatError):
                raise
            raise FormatError(
                f"{self.path.name} is not well-formed XML after record {n}: {exc}"
            ) from None
        if n == 0 and root is not None and record_depth == 2:
            found = ", ".join(f"{count:,} <{tag}>" for tag, count in others.items())
            raise FormatError(
                f"{self.path.name}: its <{_local(root.tag)}> holds no <user> element"
                + (
                    f" (it holds {found}; Alma's user files put each user in <user>)"
                    if found
                    else ""
                )
                + ": nothing imported"
            )


SNIFF_CHARS = 65_536  # a CSV file's delimiter is read from the first 64 K characters
MAX_ROW_CHARS = 1_000_000  # a longer CSV row (however many lines it spans) is refused


class _RowTooLong(Exception):
    pass


class _Lines:
    """The lines of a CSV file for `csv.reader`, in bounded memory: at most MAX_ROW_CHARS
    characters are read for one row (a quoted cell may span lines); past that, `_RowTooLong`
    (a 1 GB header line took 3.2 GB). `quote`: whether the row read has a "'" (so a formula
    prefix may have to be taken away: rows without one are left as they are, at no cost)."""

    def __init__(self, file: Any) -> None:
        self.file = file
        self.used = 0
        self.quote = False
        self.line = 0  # physical lines read
        self.row_start = 1  # the line the row being read starts on
        self.row_lines: list[str] = []  # the row's lines (at most MAX_ROW_CHARS in all)
        self.back: list[str] = []  # lines given back, read again first (last first)

    def start_row(self) -> None:
        self.used = 0
        self.quote = False
        self.row_lines = []
        self.row_start = self.line + 1

    def give_back(self, lines: list[str]) -> None:
        """Read these lines again (a row that took them in by an unclosed quote)."""
        self.back.extend(reversed(lines))
        self.line -= len(lines)

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        room = MAX_ROW_CHARS + 1 - self.used
        line = self.back.pop() if self.back else self.file.readline(room)
        if not line:
            raise StopIteration
        self.used += len(line)
        if self.used > MAX_ROW_CHARS:
            raise _RowTooLong
        if "'" in line:
            self.quote = True
        self.line += 1
        self.row_lines.append(line)
        return line


def _open_quote(line: int) -> str:
    return (
        f"line {line}: a quote opened on this line is not closed (it would take the next rows "
        "into one cell): the row is refused, the rows after it are read"
    )


def _rows_like(lines: list[str], header: list[str], delimiter: str) -> bool:
    """Whether most of `lines` (the first 200) have at least the header's delimiters: rows of
    this file taken into a cell by a quote left open, worth reading again as rows."""
    sample = lines[:200]
    width = len(header) - 1
    rows = sum(line.count(delimiter) >= width for line in sample)
    return bool(sample) and 2 * rows >= len(sample)


def _runaway(cells: list[str], lines: list[str], header: list[str], delimiter: str) -> bool:
    """Whether a row that spans lines does so because a quote was left open, not because a
    quoted cell holds line breaks: its quotes do not pair up (the file ended inside one, or a
    later quote closed it amid another row), its cells are not the header's, or a line it took
    in is a whole row by itself."""
    if sum(line.count('"') for line in lines) % 2:
        return True
    if len(cells) != len(header):
        return True
    if len(header) >= 4:
        for line in lines[1:]:
            alone = next(csv.reader([line], delimiter=delimiter), [])
            if len(alone) >= len(header):
                return True
    return False


class _Broken:
    """A record the reader could not read: the importer refuses it with this message."""

    def __init__(self, message: str) -> None:
        self.message = message


def broken_message(data: Any) -> str | None:
    return data.message if isinstance(data, _Broken) else None


def _xml_root_tag(path: Path) -> str:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    try:
        with open(path, "rb") as f:
            for _event, elem in iterparse(
                f, events=("start",), forbid_dtd=True, forbid_entities=True
            ):
                return _local(elem.tag)
    except DefusedXmlException as exc:
        raise FormatError(
            f"{path.name}: unsafe XML refused ({type(exc).__name__}): no DTD or entity is allowed"
        ) from None
    except Exception as exc:  # noqa: BLE001
        raise FormatError(f"{path.name} is not well-formed XML: {exc}") from None
    raise FormatError(f"{path.name} holds no XML element")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# --- Alma ---------------------------------------------------------------------------------------

# XML container -> (JSON list name, XML item name): the REST JSON names the lists by the item.
_ALMA_LISTS = {
    "addresses": "address",
    "emails": "email",
    "phones": "phone",
    "user_identifiers": "user_identifier",
    "user_roles": "user_role",
    "user_notes": "user_note",
    "user_blocks": "user_block",
    "user_statistics": "user_statistic",
    "address_types": "address_type",
    "email_types": "email_type",
    "phone_types": "phone_type",
    "proxy_for_users": "proxy_for_user",
    "rs_libraries": "rs_library",
    "parameters": "parameter",
}


def alma_xml_to_dict(elem: Any) -> dict:
    """An Alma <user> element in the shape of Alma's REST JSON user object."""
    out: dict[str, Any] = {}
    for child in elem:
        tag = _local(child.tag)
        if tag in _ALMA_LISTS:
            out[_ALMA_LISTS[tag]] = [_alma_value(item) for item in child]
        elif tag == "contact_info":
            out[tag] = alma_xml_to_dict(child)
        else:
            out[tag] = _alma_value(child)
    for name, value in elem.attrib.items():
        out[name] = value
    return out


def _alma_value(elem: Any) -> Any:
    if len(elem):
        return alma_xml_to_dict(elem)
    text = (elem.text or "").strip()
    if elem.attrib:
        out = {k: v for k, v in elem.attrib.items()}
        out["value"] = text
        return out
    return text


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


def _alma_types(value: Any) -> str:
    types = value if isinstance(value, list) else [value] if value else []
    return _s(types[0]).lower() if types else ""


# PatronDesk's fields that Alma's schema has no element for travel in a processing instruction
# of the element they belong to (`<?patrondesk username="ann" letters_opt_in="false"?>`,
# written by `models.transfer.exports`): Alma and schema validators skip it. The reader keeps its
# text
# under EXTENSION_KEY, which no XML attribute can be named.
EXTENSION_PI = "patrondesk"
EXTENSION_KEY = "?patrondesk"
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
    for name in ("letters_opt_in", "keep_history"):
        if name in extension:
            general[name] = _bool(extension[name])
    codes = {
        "user_group": _code(data.get("user_group")),
        "job_category": _code(data.get("job_category")),
        "campus": _code(data.get("campus_code")),
    }
    rs_libraries = [r for r in _alma_list(data, "rs_library") if isinstance(r, dict)]
    if rs_libraries:
        codes["resource_sharing_library"] = _code(rs_libraries[0].get("code"))
    if "purchase_request_library" in extension:
        codes["purchase_request_library"] = _code(extension["purchase_request_library"])
    emails = [
        {
            "address": _s(e.get("email_address")),
            "email_type": _alma_types(e.get("email_type")) or "personal",
            "preferred": _bool(e.get("preferred")),
            "description": _s(e.get("description")),
        }
        for e in _alma_list(contact, "email")
        if isinstance(e, dict)
    ]
    phones = [
        {
            "number": _s(p.get("phone_number")),
            "phone_type": _alma_types(p.get("phone_type")) or "home",
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
                "address_type": _alma_types(a.get("address_type")) or "home",
                "line1": lines[0],
                "line2": lines[1],
                "line3": ", ".join(x for x in lines[2:] if x),
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
                "scope": None if role == "patron" else _code(r.get("scope")),
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
    if no_home:
        cand["no_home"] = no_home
    return cand


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


def _empty(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    return value is None or value == "" or value == []


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
        data = json.loads(path.read_text(encoding=ENCODING))
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


def _not_a_record(label: str) -> dict:
    return {"label": label, "broken": "is not a user record (a JSON object was expected)"}


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
                g = json.loads(f.read_text(encoding=ENCODING))
                groups[g["id"]] = (str(g["group"]).strip(), str(g.get("desc") or "").strip())
            except (OSError, ValueError, KeyError, TypeError):
                continue
        for f in sorted((ref / "addresstypes").glob("*.json")):
            try:
                t = json.loads(f.read_text(encoding=ENCODING))
                address_types[t["id"]] = str(t["addressType"]).strip()
            except (OSError, ValueError, KeyError, TypeError):
                continue
        for f in sorted((ref / "departments").glob("*.json")):
            try:
                d = json.loads(f.read_text(encoding=ENCODING))
                name = str(d["name"]).strip()
                departments[d["id"]] = (str(d.get("code") or name).strip(), name)
            except (OSError, ValueError, KeyError, TypeError):
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


def _no_home(data: dict, homes: frozenset[str], prefix: str = "") -> list[str]:
    """The names of `data`'s members that have a value and are not in `homes`."""
    return [f"{prefix}{k}" for k, v in data.items() if k not in homes and not _empty(v)]


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
        rows = json.loads(path.read_text(encoding=ENCODING))
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
        # RERO's street is a text area: its lines are PatronDesk's three address lines.
        # An empty line keeps the place of an empty address line (PatronDesk's export).
        parts = [x.strip() for x in _s(street).split("\n")]
        while parts and not parts[-1]:
            parts.pop()
        return {
            "line1": parts[0] if parts else "",
            "line2": parts[1] if len(parts) > 1 else "",
            "line3": ", ".join(x for x in parts[2:] if x),
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


# --- Koha ---------------------------------------------------------------------------------------

_KOHA_GENDER = {"m": "male", "f": "female"}
# Koha's borrowers columns that PatronDesk reads; another column with a value is reported.
KOHA_COLUMNS = frozenset(
    {"cardnumber", "surname", "firstname", "middle_name", "preferred_name", "othernames"}
    | {"title", "userid", "dateofbirth", "dateexpiry", "dateenrolled", "sex", "lang"}
    | {"email", "emailpro", "B_email", "phone", "mobile", "phonepro", "fax", "B_phone"}
    | {"smsalertnumber", "streetnumber", "streettype", "address", "address2", "city", "state"}
    | {"zipcode", "country", "B_streetnumber", "B_streettype", "B_address", "B_address2"}
    | {"B_city", "B_state", "B_zipcode", "B_country", "borrowernotes", "opacnote"}
    | {"contactnote", "gonenoaddress", "lost", "debarred", "debarredcomment", "categorycode"}
    | {"branchcode", "password", "sort1", "sort2", "patron_attributes"}
)
# Koha's other borrowers columns (and its import's guarantor columns): no home in PatronDesk,
# reported when they hold a value. A column in neither list is not Koha's (a misspelling).
KOHA_UNMAPPED = frozenset(
    {"borrowernumber", "initials", "pronouns", "password_expiration_date", "date_renewed"}
    | {"contactname", "contactfirstname", "contacttitle", "relationship", "secret"}
    | {"auth_method", "flags", "altcontactfirstname", "altcontactsurname"}
    | {"altcontactaddress1", "altcontactaddress2", "altcontactaddress3", "altcontactstate"}
    | {"altcontactzipcode", "altcontactcountry", "altcontactphone", "sms_provider_id"}
    | {"privacy", "privacy_guarantor_fines", "privacy_guarantor_checkouts"}
    | {"checkprevcheckout", "updated_on", "lastseen", "login_attempts", "overdrive_auth_token"}
    | {"anonymized", "autorenew_checkouts", "primary_contact_method", "protected"}
    | {"guarantor_id", "guarantor_relationship"}
)
KOHA_SORT = (("sort1", ("SORT1", "Koha sort 1")), ("sort2", ("SORT2", "Koha sort 2")))
KOHA_ATTRIBUTE = ("ATTRIBUTE", "Patron attribute")


def _koha_attributes(cell: str) -> list[str]:
    """Koha's patron_attributes cell ("CODE:value,CODE:value", values quoted as CSV when they
    hold a comma) as note texts "CODE: value"."""
    out = []
    for item in next(csv.reader([cell]), []):
        code, sep, value = item.partition(":")
        if sep and code.strip() and value.strip():
            out.append(f"{code.strip()}: {value.strip()}")
        elif item.strip():
            out.append(item.strip())
    return out


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _koha_line(row: dict, prefix: str = "") -> str:
    parts = [row.get(f"{prefix}streetnumber"), row.get(f"{prefix}streettype")]
    parts.append(row.get(f"{prefix}address"))
    return " ".join(_s(p) for p in parts if _s(p))


def map_koha(row: dict, label: str, ctx: SourceContext) -> dict:
    g = row.get
    warnings: list[tuple[str, str]] = []
    general: dict[str, Any] = {
        "first_name": _s(g("firstname")),
        "last_name": _s(g("surname")),
        "title": _s(g("title")),
        "birth_date": local_date(g("dateofbirth"), ctx, "dateofbirth", warnings),
        "expiry_date": local_date(g("dateexpiry"), ctx, "dateexpiry", warnings),
        "gender": _KOHA_GENDER.get(_s(g("sex")).lower(), _s(g("sex"))),
    }
    preferred = _s(g("preferred_name")) or _s(g("othernames"))
    if "preferred_name" in row or "othernames" in row:
        general["preferred_first_name"] = "" if preferred == general["first_name"] else preferred
    if _s(g("userid")):
        general["username"] = _s(g("userid"))
    if "middle_name" in row:
        general["middle_name"] = _s(g("middle_name"))
    language = _s(g("lang")).split("-")[0]  # Koha's "fr-FR"; "default" is the library's
    if language and language.lower() != "default":
        general["preferred_language"] = general["comm_language"] = language
    emails = [
        {"address": _s(g(col)), "email_type": kind}
        for col, kind in (("email", "personal"), ("emailpro", "work"), ("B_email", "alternative"))
        if _s(g(col))
    ]
    phones = [
        {"number": _s(g(col)), "phone_type": kind}
        for col, kind in (
            ("phone", "home"),
            ("mobile", "mobile"),
            ("phonepro", "office"),
            ("fax", "office_fax"),
            ("B_phone", "home"),
        )
        if _s(g(col))
    ]
    sms = _s(g("smsalertnumber"))
    if sms:
        same = [p for p in phones if _digits(p["number"]) == _digits(sms)]
        if same:
            same[0]["preferred_sms"] = True
        else:
            phones.append({"number": sms, "phone_type": "mobile", "preferred_sms": True})
    addresses = []
    main = {
        "address_type": "home",
        "line1": _koha_line(row),
        "line2": _s(g("address2")),
        "city": _s(g("city")),
        "state": _s(g("state")),
        "postal_code": _s(g("zipcode")),
        "country": _s(g("country")),
        "preferred": True,
    }
    if any(main[k] for k in ("line1", "line2", "city", "postal_code", "country")):
        addresses.append(main)
    alternate = {
        "address_type": "alternative",
        "line1": _koha_line(row, "B_"),
        "line2": _s(g("B_address2")),
        "city": _s(g("B_city")),
        "state": _s(g("B_state")),
        "postal_code": _s(g("B_zipcode")),
        "country": _s(g("B_country")),
    }
    if any(alternate[k] for k in ("line1", "line2", "city", "postal_code", "country")):
        addresses.append(alternate)
    notes = []
    for col, viewable in (("borrowernotes", False), ("opacnote", True), ("contactnote", False)):
        if _s(g(col)):
            notes.append(
                {"note_type": ("GENERAL", "General"), "text": _s(g(col)), "user_viewable": viewable}
            )
    notes.extend(
        {"note_type": KOHA_ATTRIBUTE, "text": text}
        for text in _koha_attributes(g("patron_attributes") or "")
    )
    # Koha's sort1 and sort2 are statistical categories.
    statistics = [
        {"category": _code(g(col)), "category_type": kind} for col, kind in KOHA_SORT if _s(g(col))
    ]
    blocks = []
    if _bool(_s(g("gonenoaddress")) or "0"):
        blocks.append({"definition": ("ADDRESS", "Address unknown")})
    if _bool(_s(g("lost")) or "0"):
        blocks.append({"definition": ("LOST_CARD", "Lost library card")})
    debarred = local_date(g("debarred"), ctx, "debarred", warnings)
    if debarred:
        blocks.append(
            {
                "definition": ("GENERAL", "General block"),
                "expiry_date": "" if debarred.startswith("9999") else debarred,
                "note": _s(g("debarredcomment")),
            }
        )
    cand = {
        "label": label,
        "primary_id": _s(g("cardnumber")),
        "general": general,
        "codes": {
            "user_group": _code(g("categorycode")),
            "campus": _code(g("branchcode")),
        },
        # Koha's import takes the password as plain text and hashes it: so does PatronDesk
        # (a value that looks like a hash is a password all the same).
        "password": _s(g("password")),
        "plain_password": True,
        "emails": emails,
        "phones": phones,
        "addresses": addresses,
        "notes": notes,
        "blocks": blocks,
        "statistics": statistics,
        "enrolled": local_date(g("dateenrolled"), ctx, "dateenrolled", warnings),
    }
    if warnings:
        cand["warnings"] = warnings
    no_home = [k for k, v in row.items() if k and k not in KOHA_COLUMNS and _s(v)]
    if no_home:
        cand["no_home"] = no_home
    return cand


# --- PatronDesk CSV -----------------------------------------------------------------------------

# Columns of PatronDesk's CSV, in export order. Single-valued columns hold the field; the
# multi-valued ones hold values separated by "|", each "TYPE:value" (see README).
CSV_GENERAL = (
    "record_type",
    "status",
    "username",
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
    "job_description",
    "expiry_date",
    "purge_date",
    "comm_channel",
    "comm_language",
    "additional_email",
    "letters_opt_in",
    "cataloger_level",
    "researcher",
)
CSV_CODES = ("user_group", "job_category", "campus")
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
_BOOL_COLUMNS = frozenset({"letters_opt_in", "researcher"})
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


_CSV_DATES = frozenset({"birth_date", "expiry_date", "purge_date"})


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
    for lib in ("resource_sharing_library", "purchase_request_library"):
        if lib in data:
            cand["codes"][lib] = _named(ctx, "library", data.get(lib))
    return cand


# Top-level fields of a user in PatronDesk's JSON that are plain values.
OWN_GENERAL = frozenset(
    {
        "record_type",
        "account_type",
        "owning_system",
        "status",
        "status_date",
        "username",
        "email",
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
        "job_description",
        "expiry_date",
        "purge_date",
        "comm_channel",
        "comm_language",
        "additional_email",
        "letters_opt_in",
        "cataloger_level",
        "local_codes",
        "researcher",
        "last_activity_at",
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
    }
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
    "CIRCULATION_FORMATS",
    "CSV_COLUMNS",
    "FORMATS",
    "FormatError",
    "LIST_SEPARATOR",
    "Reader",
    "SourceContext",
    "candidates",
    "detect",
    "files_of",
    "join_items",
    "join_list",
    "source_context",
    "split_items",
    "split_list",
]
