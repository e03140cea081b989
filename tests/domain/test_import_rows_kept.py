"""An import without --external adds the rows a user has not and leaves the others as they
are; a row the file now says otherwise is named in the report (found by a round-trip helper,
2026-12-08: a block lifted or a barcode deactivated in the file was counted "unchanged",
nothing said)."""

from __future__ import annotations

from pathlib import Path

from models.store.tables import Block, Identifier
from models.transfer.imports import import_file
from tests.domain.test_interchange_csv import opts

HEAD = "primary_id,last_name,identifiers,blocks\n"


def test_a_row_the_file_says_otherwise_is_left_and_named(db, tmp_path: Path) -> None:
    first = tmp_path / "v1.csv"
    first.write_text(HEAD + "P1,One,BARCODE:654321,GENERAL:left the library\n", "utf-8")
    assert import_file(first, opts()).created == 1
    second = tmp_path / "v2.csv"
    second.write_text(
        HEAD + "P1,One,BARCODE:654321;inactive,GENERAL:left the library;inactive\n", "utf-8"
    )
    report = import_file(second, opts())
    assert (report.updated, report.unchanged) == (0, 1), report.summary()
    said = sorted((i.field, i.message.split(" (")[0]) for i in report.issues)
    assert said == [
        ("blocks", "left the library: active differs from the file's, left as it is"),
        ("identifiers", "654321: active differs from the file's, left as it is"),
    ], said
    assert Block.get().active and Identifier.get(Identifier.value == "654321").active
