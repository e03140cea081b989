"""Options and report of an import: its constants, `ImportOptions`, `Progress`, `Issue`,
`ImportReport` (models/transfer/imports/__init__.py says the whole)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from models.errors import PatronDeskError
from models.text import printable
from models.transfer.formats import (
    formula_safe,
)

# Records a transaction writes: large enough that a chunk's fixed costs (its key look-ups, a
# commit's fsync, the worker's hand-over) are spread thin; a kill loses at most one chunk.
CHUNK_SIZE = 5_000
PARALLEL_BYTES = 1_000_000  # from this much input, records are checked in a worker process
# A load of at least this many records that at least doubles the people builds its secondary
# indexes after the load (models/store/bulk.py).
BULK_MIN = 20_000
MAX_ISSUES = 100_000  # issues kept in memory for the report (counts stay exact)
MAX_NOT_KEPT = 500  # fields not kept named one by one in a load (the others counted together)
OTHER_FIELDS = "(other fields)"
DEFAULT_SOURCE = "SIS"


class ImportError_(PatronDeskError):  # noqa: N801 - `ImportError` is a builtin
    """The import cannot start (bad options, unreadable map file): nothing was written."""


# --- Options and report -------------------------------------------------------------------------


@dataclass
class Progress:
    rows: int
    position: float  # share of the input read, 0..1
    elapsed: float
    created: int
    updated: int
    unchanged: int
    refused: int

    @property
    def rate(self) -> float:
        return self.rows / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        if self.position <= 0 or self.elapsed <= 0:
            return None
        return self.elapsed * (1 - self.position) / self.position


@dataclass
class ImportOptions:
    format: str | None = None  # None: detected from each file's content
    external: bool = False
    source: str = ""  # the owning system of external accounts (default "SIS")
    dry_run: bool = False
    strict: bool = False
    map_file: Path | None = None
    match: str = ""  # an identifier type code to match by instead of the primary identifier
    chunk_size: int = CHUNK_SIZE
    workers: int | None = None  # password-hashing processes (None: one per core)
    progress: Callable[[Progress], None] | None = None
    preview: int = 0  # keep the first N checked records (the dry-run preview of the screen)
    parallel: bool | None = None  # check in a worker process (None: for large loads)
    # Build secondary indexes after the load instead of row by row (models/store/bulk.py). None: for
    # a SQLite load of at least BULK_MIN records that at least doubles the people.
    defer_indexes: bool | None = None
    encoding: str = ""  # CSV files' encoding ("": UTF-8, else told from the content)
    date_format: str = ""  # CSV files' local dates, as strptime reads them ("%d/%m/%Y")
    force: bool = False  # read every record again, even one whose fingerprint is unchanged
    # A first migration into a database nobody else uses (SQLite): the import holds it alone
    # and defers every index, the unique ones included (models/store/bulk.py: exclusive_lock).
    exclusive: bool = False


@dataclass
class Issue:
    file: str
    where: str
    primary_id: str
    level: str  # refused | warning | created
    field: str
    message: str


@dataclass
class ImportReport:
    format: str = ""
    files: list[str] = field(default_factory=list)
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    warnings: int = 0
    no_password: int = 0
    hashed: int = 0
    fees: int = 0  # written (models.transfer.circulation)
    loans: int = 0
    dry_run: bool = False
    elapsed: float = 0.0
    deferred: bool = False  # the load built its secondary indexes after (models/store/bulk.py)
    issues: list[Issue] = field(default_factory=list)
    created_codes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    preview: list[dict] = field(default_factory=list)
    # What was read and not kept, per (file, field): the records (or values) it had a value in.
    not_kept: dict[tuple[str, str], int] = field(default_factory=dict)
    # The CSV columns the format does not read, per (file, column): the column likely meant.
    unknown_columns: dict[tuple[str, str], str] = field(default_factory=dict)
    # Members of a file around its records (FOLIO's deactivateMissingUsers), per (file, name).
    file_members: set[tuple[str, str]] = field(default_factory=set)

    def count_not_kept(self, file: str, name: str, n: int = 1) -> tuple[str, str]:
        """Count `n` values of a field read and not kept. The name comes from the file: shown
        printable and cut; past MAX_NOT_KEPT names, the others are counted together."""
        key = (file, printable(name)[:100])
        if key not in self.not_kept and len(self.not_kept) >= MAX_NOT_KEPT:
            key = (file, OTHER_FIELDS)
        self.not_kept[key] = self.not_kept.get(key, 0) + n
        return key

    def add(self, issue: Issue) -> None:
        if issue.level == "warning":
            self.warnings += 1
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(issue)

    @property
    def refusals(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "refused"]

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "were"
        parts = [
            f"{self.rows:,} records read ({self.format})",
            f"{self.created:,} created",
            f"{self.updated:,} updated",
            f"{self.unchanged:,} unchanged",
            f"{self.refused:,} refused",
            f"{self.warnings:,} warnings",
        ]
        text = ", ".join(parts)
        if self.dry_run:
            text = "Dry run, nothing written: " + text.replace(" created", " to create")
        text += f" in {self.elapsed:.1f} s."
        if self.fees or self.loans:
            text += f"\n{self.fees:,} fees and {self.loans:,} loans {verb} written."
        for table, codes in self.created_codes.items():
            names = ", ".join(code for code, _ in codes[:10])
            more = f" and {len(codes) - 10} more" if len(codes) > 10 else ""
            text += f"\nNew {table.replace('_', ' ')} codes {verb} created: {names}{more}."
        if self.no_password:
            text += (
                f"\n{self.no_password:,} people have no usable password (a policy refusal or a "
                "foreign hash): a password reset is required."
            )
        columns: dict[str, list] = {}
        fields: dict[str, int] = {}
        for (file, name), count in self.not_kept.items():
            if (file, name) in self.unknown_columns:
                entry = columns.setdefault(name, [0, self.unknown_columns[(file, name)]])
                entry[0] += count
            else:
                fields[name] = fields.get(name, 0) + count
        if columns:
            text += "\nColumns not read (not this format's; see --map columns): " + _first(
                [
                    f"{name} ({count:,} value{'' if count == 1 else 's'}"
                    + (f"; did you mean {likely}?)" if likely else ")")
                    for name, (count, likely) in columns.items()
                ]
            )
        if fields:
            text += "\nNot kept, no home in PatronDesk: " + _first(
                [f"{name} ({count:,})" for name, count in fields.items()]
            )
        return text

    def not_kept_issues(self) -> list[Issue]:
        """One line per field and file for what was read and not kept (the report's 'not kept'
        lines, after the records' own)."""
        out = []
        for (file, name), count in self.not_kept.items():
            if (file, name) in self.unknown_columns:
                likely = self.unknown_columns[(file, name)]
                hint = f" (did you mean {likely}?)" if likely else ""
                message = (
                    f"is not a column of this format{hint}: {count:,} "
                    f"value{'' if count == 1 else 's'} not read"
                )
            elif name == OTHER_FIELDS:
                message = (
                    f"{count:,} values of fields past the first {MAX_NOT_KEPT:,} named: not kept"
                )
            elif (file, name) in self.file_members:
                message = "is an option of the file with no home in PatronDesk: not applied"
            else:
                noun = "record" if count == 1 else "records"
                message = f"has no home in PatronDesk: its value in {count:,} {noun} not kept"
            out.append(Issue(file, "", "", "not kept", name, message))
        return out

    def write_csv(
        self, path: str | Path, *, overwrite: bool = False, document: bool = True
    ) -> None:
        """The report as CSV, a private file (`models.store.files.PrivateFile`: 0600, an existing
        file replaced only with `overwrite`, never a special or a database file; `document`:
        False for the command line, see `PrivateFile`)."""
        import csv

        from models.store.files import PrivateFile

        with PrivateFile(path, overwrite=overwrite, newline="", document=document) as out:
            w = csv.writer(out.stream)
            w.writerow(["file", "record", "primary_id", "level", "field", "message"])
            for i in self.issues:
                # The values come from the imported file (and its files' names): printable
                # for a terminal (`cat`), formula-safe for a spreadsheet.
                cells = (i.file, i.where, i.primary_id, i.level, i.field, i.message)
                w.writerow([formula_safe(printable(c)) for c in cells])


def _first(items: list[str], shown: int = 20) -> str:
    more = f" and {len(items) - shown:,} more (see --report)" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more + "."
