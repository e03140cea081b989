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


def test_what_a_format_does_not_carry_is_not_said_otherwise(db, tmp_path: Path) -> None:
    """Found by a review (2026-12-08): a re-import warned that an email's type, an address's
    start date or note "differ from the file's" when the format carries none (FOLIO and RERO
    have one email type; PatronDesk's CSV no address dates): values a format fills in are not
    the file's word."""
    import io

    from models.demo import generate_demo
    from models.store.tables import Account
    from models.transfer.exports import export_users

    generate_demo(60, seed=7)
    for fmt in ("folio-json", "rero-json", "csv"):
        out = io.StringIO()
        export_users(out, fmt)
        path = tmp_path / f"users.{'csv' if fmt == 'csv' else 'json'}"
        path.write_text(out.getvalue(), encoding="utf-8")
        import_file(path, opts())
        Account.update(version=Account.version + 1).execute()  # as after a staff edit
        again = import_file(path, opts())
        said = [i for i in again.issues if "left as it is" in i.message]
        assert not said, (fmt, [(i.field, i.message) for i in said[:5]])
