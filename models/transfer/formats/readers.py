"""Streaming readers: the raw records of one file (CSV in bounded memory, JSON, Alma XML),
and the text encoding of a CSV file."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.transfer import jsonstream
from models.transfer.formats.common import (
    ENCODING,
    EXTENSION_KEY,
    EXTENSION_PI,
    FormatError,
    _local,
    formula_value,
)
from models.transfer.formats.patrondesk import columns_of

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
