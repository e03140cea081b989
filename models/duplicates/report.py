"""The scan's pairs as a CSV file (`patrondesk duplicates --report OUT.csv`): written by
`models.store.files.PrivateFile` (0600, never over an existing file, never through a link) and
every cell formula-safe (a name typed "=HYPERLINK(...)" stays text in a spreadsheet)."""

from __future__ import annotations

import csv
from pathlib import Path

from models.duplicates.scan import ScanResult
from models.store.files import PrivateFile
from models.text import strip_unsafe
from models.transfer.formats.common import formula_safe

COLUMNS = (
    "group",
    "score",
    "why",
    "primary_id_a",
    "last_name_a",
    "first_name_a",
    "birth_date_a",
    "primary_id_b",
    "last_name_b",
    "first_name_b",
    "birth_date_b",
)


def _cell(value: object) -> str:
    return formula_safe(strip_unsafe(str(value))[0])


def write_report(result: ScanResult, path: str | Path) -> Path:
    with PrivateFile(path, newline="", document=False) as f:  # the command line's
        out = csv.writer(f.stream)
        out.writerow(COLUMNS)
        for p in result.pairs:
            out.writerow(
                _cell(v)
                for v in (
                    p.group,
                    p.score,
                    p.why,
                    p.a.primary_id,
                    p.a.last_name,
                    p.a.first_name,
                    p.a.birth_date,
                    p.b.primary_id,
                    p.b.last_name,
                    p.b.first_name,
                    p.b.birth_date,
                )  # fmt: skip
            )
    return f.target
