"""`patrondesk import --exclusive` (issue 26): a first migration that holds the SQLite database
alone, defers every index (the unique ones too) and still refuses what a shared load refuses."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from models.store import bulk
from models.store.base import database
from models.store.tables import Setting
from models.transfer.imports import ImportError_, ImportOptions, import_file
from tests.domain.test_bulk import csv_file, names_found, schema

REPO = Path(__file__).resolve().parents[2]


def unique_indexes() -> set[str]:
    """The unique indexes of the tables a load fills (models/store/bulk.py: TABLES)."""
    marks = ", ".join("?" * len(bulk.TABLES))
    return {
        name
        for name, sql in database.execute_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks})",
            bulk.TABLES,
        ).fetchall()
        if sql.upper().startswith("CREATE UNIQUE")
    }


@pytest.fixture
def sqlite_db(db):
    if not bulk.is_sqlite():
        pytest.skip("--exclusive is SQLite's")
    return db


def test_postgresql_refuses_exclusive(db, tmp_path: Path) -> None:
    if bulk.is_sqlite():
        pytest.skip("PostgreSQL's refusal")
    with pytest.raises(ImportError_, match="exclusive import is for SQLite"):
        import_file(csv_file(tmp_path, 3), ImportOptions(exclusive=True, workers=1))
    assert database.execute_sql("SELECT count(*) FROM account").fetchone()[0] == 1


def test_refused_while_another_session_is_open(sqlite_db, tmp_path: Path) -> None:
    other = sqlite3.connect(sqlite_db.url, timeout=0.1)
    other.execute("SELECT count(*) FROM account").fetchall()  # open and idle, as the app is
    try:
        with pytest.raises(ImportError_, match="another session has the database open"):
            import_file(csv_file(tmp_path, 5), ImportOptions(exclusive=True, workers=1))
    finally:
        other.close()
    assert database.execute_sql("SELECT count(*) FROM account").fetchone()[0] == 1
    # The connection is shared again: another session reads.
    again = sqlite3.connect(sqlite_db.url, timeout=0.1)
    assert again.execute("SELECT count(*) FROM account").fetchone()[0] == 1
    again.close()


def test_every_index_deferred_and_rebuilt_new_sessions_wait(sqlite_db, tmp_path: Path) -> None:
    before = schema()
    seen: list[tuple[bool, str]] = []

    def during(progress) -> None:  # noqa: ANN001
        record = bulk.deferred()
        if record is None:
            return
        # Unique and list indexes are deferred too (but the one an upsert names), and nobody
        # else gets in meanwhile.
        indexes = {
            r[0]
            for r in database.execute_sql(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "AND tbl_name IN ('person', 'account', 'identifier')"
            ).fetchall()
        }
        alone = unique_indexes() == set(bulk.UPSERT_KEYS) and not indexes
        seen.append((alone, str(record.get("exclusive"))))
        newcomer = sqlite3.connect(sqlite_db.url, timeout=0.1)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                newcomer.execute("SELECT count(*) FROM account").fetchall()
        finally:
            newcomer.close()

    report = import_file(
        csv_file(tmp_path, 90),
        ImportOptions(exclusive=True, chunk_size=20, workers=1, progress=during),
    )
    assert (report.created, report.refused) == (90, 0) and report.deferred
    assert seen and all(none for none, _ in seen) and seen[0][1] == "True"
    assert schema() == before and bulk.deferred() is None
    assert len(names_found(sqlite_db, "zylbert")) == 90
    assert database.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
    after = sqlite3.connect(sqlite_db.url, timeout=0.1)  # shared again
    assert after.execute("SELECT count(*) FROM account").fetchone()[0] == 91
    after.close()


def test_uniqueness_still_checked_against_file_and_database(sqlite_db, tmp_path: Path) -> None:
    import_file(csv_file(tmp_path, 3, prefix="OLD"), ImportOptions(workers=1))
    rows = [f"N{i},Ada{i},Zylbert{i:03d},n{i}@uni.example,BARCODE:NC{i}\n" for i in range(60)]
    rows[45] = "N45,Ada45,Zylbert045,n45@uni.example,BARCODE:NC3\n"  # a barcode of chunk 1
    rows[50] = "N50,Ada50,Zylbert050,n50@uni.example,BARCODE:OLDC1\n"  # in the database
    rows[55] = "OLD2,Ada55,Zylbert055,n55@uni.example,BARCODE:NC55\n"  # matched: updated
    path = tmp_path / "new.csv"
    path.write_text("primary_id,first_name,last_name,emails,identifiers\n" + "".join(rows))
    report = import_file(
        path, ImportOptions(exclusive=True, chunk_size=20, workers=1, defer_indexes=True)
    )
    assert (report.created, report.updated, report.refused) == (57, 1, 2), report.summary()
    assert {i.primary_id for i in report.refusals} == {"N45", "N50"}
    assert database.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert bulk.deferred() is None and unique_indexes()
    holders = database.execute_sql(
        "SELECT value_key, count(*) FROM identifier GROUP BY value_key HAVING count(*) > 1"
    ).fetchall()
    assert holders == []


def test_a_killed_exclusive_load_is_rebuilt_at_the_next_start(sqlite_db, tmp_path: Path) -> None:
    before = schema()
    path = csv_file(tmp_path, 60)
    # A process that imports exclusively and dies at its second chunk (SIGKILL-like).
    script = (
        "import os, sys; sys.path[:0] = ['.'];"
        "from models.store.connection import open_database; open_database(sys.argv[1]);"
        "from models.transfer.imports import ImportOptions, import_file;"
        "calls = [];"
        "stop = lambda p: calls.append(1) or (len(calls) == 2 and os._exit(9));"
        "import_file(sys.argv[2], ImportOptions(exclusive=True, chunk_size=20, workers=1,"
        " progress=stop))"
    )
    from models.store.connection import close_database, open_database

    close_database()  # the session of this test: the import holds the database alone
    done = subprocess.run(
        [sys.executable, "-c", script, sqlite_db.url, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 9, done.stderr
    # The note is there (read raw: the lock went with the process).
    raw = sqlite3.connect(sqlite_db.url)
    value = raw.execute("SELECT value FROM setting WHERE key = ?", (bulk.KEY,)).fetchone()[0]
    raw.close()
    assert json.loads(value)["exclusive"] is True
    open_database(sqlite_db.url)
    assert schema() == before and bulk.deferred() is None
    assert Setting.get_or_none(Setting.key == bulk.KEY) is None
    close_database()
    open_database(sqlite_db.url)
    again = import_file(path, ImportOptions(exclusive=True, chunk_size=20, workers=1))
    assert again.created + again.unchanged == 60 and again.refused == 0
    assert len(names_found(sqlite_db, "zylbert")) == 60
    assert database.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("exclusive", [True, False], ids=["exclusive", "shared"])
def test_the_files_own_usernames_are_taken_in_any_chunk(
    sqlite_db, tmp_path: Path, exclusive: bool
) -> None:
    """An exclusive load reads only the rows that were there before it (its key indexes are
    deferred); the people it makes are known from the file: their usernames are taken, and
    looked alike, in a later chunk as in the same one, exclusive or shared."""
    import_file(csv_file(tmp_path, 3, prefix="OLD"), ImportOptions(workers=1))
    rows = [f"N{i},,Ada{i},Zylbert{i:03d},n{i}@uni.example,BARCODE:NC{i}\n" for i in range(60)]
    rows[5] = "N5,bob.k,Ada5,Zylbert005,n5@uni.example,BARCODE:NC5\n"
    rows[8] = "N8,b\u043eb.k,Ada8,Zylbert008,n8@uni.example,BARCODE:NC8\n"  # Cyrillic o
    rows[30] = "N30,b\u043eb.k,Ada30,Zylbert030,n30@uni.example,BARCODE:NC30\n"  # a later chunk
    rows[45] = "OLD2,bob.k,Ada45,Zylbert045,n45@uni.example,BARCODE:NC45\n"  # matched
    path = tmp_path / "new.csv"
    path.write_text("primary_id,username,first_name,last_name,emails,identifiers\n" + "".join(rows))
    report = import_file(
        path, ImportOptions(exclusive=exclusive, chunk_size=20, workers=1, defer_indexes=True)
    )
    assert (report.created, report.updated, report.refused) == (57, 0, 3), report.summary()
    said = {i.primary_id: i.message for i in report.refusals}
    assert said["N8"] == "'bоb.k' looks too much like the username of row 7 of this file"
    assert said["N30"].startswith("'bоb.k' looks too much like the username of ")
    assert said["OLD2"] == "'bob.k' is already used by row 7 of this file"
    assert database.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert bulk.deferred() is None and unique_indexes()


def _row(pid: str, i: int, username: str = "") -> str:
    return f"{pid},{username},Ada{i},Zylbert{i:03d},{pid.lower()}@uni.example,BARCODE:C{pid}\n"


@pytest.mark.parametrize("exclusive", [True, False], ids=["exclusive", "shared"])
def test_a_record_repeated_in_a_later_chunk_is_unchanged(
    sqlite_db, tmp_path: Path, exclusive: bool
) -> None:
    """The same record again, two chunks later: the account the load wrote is matched and the
    record found unchanged, whether the load reads its own rows back by index or not."""
    rows = [_row(f"N{i}", i) for i in range(30)]
    rows[25] = rows[2]
    path = tmp_path / "again.csv"
    path.write_text("primary_id,username,first_name,last_name,emails,identifiers\n" + "".join(rows))
    report = import_file(
        path, ImportOptions(exclusive=exclusive, chunk_size=10, workers=1, defer_indexes=True)
    )
    counts = (report.created, report.updated, report.unchanged, report.refused)
    assert counts == (29, 0, 1, 0), report.summary()


@pytest.mark.parametrize("exclusive", [True, False], ids=["exclusive", "shared"])
def test_a_rename_and_a_new_person_with_that_name_in_one_chunk(
    sqlite_db, tmp_path: Path, exclusive: bool
) -> None:
    """An account renamed by the file, and a new person later in the same chunk given that
    name: the second is refused, naming the first (an exclusive load, whose unique indexes are
    deferred, used to write both and fail at the end rebuilding the index)."""
    import_file(csv_file(tmp_path, 3, prefix="OLD"), ImportOptions(workers=1))
    rows = [_row(f"N{i}", i) for i in range(10)]
    rows[1] = "OLD1,carol,Ada1,Zylbert001,old1@uni.example,BARCODE:OLDC1\n"
    rows[2] = _row("N2", 2, "carol")
    rows[3] = _row("N3", 3, "c\u0430rol")  # Cyrillic a: a look-alike of the new name
    path = tmp_path / "rename.csv"
    path.write_text("primary_id,username,first_name,last_name,emails,identifiers\n" + "".join(rows))
    report = import_file(
        path, ImportOptions(exclusive=exclusive, chunk_size=10, workers=1, defer_indexes=True)
    )
    counts = (report.created, report.updated, report.refused)
    assert counts == (7, 1, 2), report.summary()
    said = {i.primary_id: i.message for i in report.refusals}
    assert said == {
        "N2": "'carol' is already used by row 3 of this file",
        "N3": "'c\u0430rol' looks too much like the username of row 3 of this file",
    }
    assert bulk.deferred() is None and unique_indexes()
    usernames = database.execute_sql(
        "SELECT username FROM person WHERE username_key = 'carol'"
    ).fetchall()
    assert usernames == [("carol",)]
