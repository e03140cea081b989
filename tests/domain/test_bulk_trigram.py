"""Large loads defer the contains-search insert triggers (`*_key_tri_ai`, migration 0013) with
the other indexes (models/store/bulk.py): the load, a stopped load and a killed load all end with
every loaded key found by a contains search ("~text")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from models.audit import Actor
from models.enums import Source
from models.search.engine import UserQuery, search_users
from models.store import bulk
from models.store.base import database
from models.store.tables import Identifier, Setting
from models.transfer.imports import ImportOptions, import_file
from models.users.deletion import delete_user
from tests.domain.test_bulk import schema
from tests.domain.test_search import add

REPO = Path(__file__).resolve().parents[2]
HEADER = "primary_id,first_name,last_name,emails,identifiers\n"
TRIGGERS = {
    ("trigger", f"{fts}_ai")
    for fts in ("identifier_key_tri", "account_key_tri", "person_key_tri", "email_key_tri")
}


def contains(db, text: str) -> set[str]:
    page = search_users(db.organization.id, UserQuery(text=f"~{text}"), limit=1000)
    return {r.name for r in page.rows}


def csv_file(tmp_path: Path, n: int) -> Path:
    """Users whose primary id, email and barcode each hold a text found nowhere else."""
    rows = "".join(
        f"Q{i:04d}PX,Ada{i},Tremblay{i:04d},m{i:04d}ml@uni.example,BARCODE:K{i:04d}BZ\n"
        for i in range(n)
    )
    path = tmp_path / "users.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def every_key_found(db, numbers: range) -> None:
    """Each loaded user is found by its primary id, its email and its barcode, and only it."""
    for i in numbers:
        name = {f"Tremblay{i:04d}, Ada{i}"}
        assert contains(db, f"{i:04d}px") == name, f"primary id of {i}"
        assert contains(db, f"{i:04d}ml@") == name, f"email of {i}"
        assert contains(db, f"k{i:04d}bz") == name, f"barcode of {i}"


def triggers() -> dict[str, str]:
    """The SQL of every trigger (the guards of a load must be gone once it ends)."""
    rows = database.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
    return dict(rows.fetchall())


def fts_sound() -> None:
    if bulk.is_sqlite():
        for fts in ("identifier_key_tri", "account_key_tri", "person_key_tri", "email_key_tri"):
            database.execute_sql(f"INSERT INTO {fts} ({fts}) VALUES ('integrity-check')")


def test_defer_drops_and_restores_the_contains_insert_triggers(db) -> None:
    if not bulk.is_sqlite():
        pytest.skip("only SQLite defers indexes")
    before = schema()
    assert before >= TRIGGERS
    sql = triggers()
    assert bulk.defer_indexes()
    during = schema()
    assert not TRIGGERS & during
    guarded = triggers()
    for name in ("person_name_ad", "person_name_au", "identifier_key_tri_ad", "email_key_tri_au"):
        assert guarded[name] != sql[name] and " WHEN OLD.id <= " in guarded[name]
    # The update and delete triggers stay: desk work on older rows is indexed as it happens.
    for fts in ("identifier_key_tri", "account_key_tri", "person_key_tri", "email_key_tri"):
        assert {("trigger", f"{fts}_ad"), ("trigger", f"{fts}_au")} <= during
    record = bulk.deferred()
    assert {t["fts"] for t in record["trigrams"]} == {n.removesuffix("_ai") for _, n in TRIGGERS}
    assert bulk.restore_indexes() == len(before - during)
    assert schema() == before
    assert triggers() == sql


def test_a_deferred_load_is_found_whole_by_a_contains_search(db, tmp_path: Path) -> None:
    before = schema()
    report = import_file(
        csv_file(tmp_path, 120), ImportOptions(defer_indexes=True, chunk_size=25, workers=1)
    )
    assert report.created == 120 and report.refused == 0
    assert schema() == before and bulk.deferred() is None
    every_key_found(db, range(120))
    assert len(contains(db, "ml@uni.exam")) == 120
    fts_sound()


def test_desk_work_during_a_deferred_load_is_found_after_it(db) -> None:
    if not bulk.is_sqlite():
        pytest.skip("only SQLite defers indexes")
    old = add(db, "Older", "Olga", primary_id="OLDPX1", email="olga.olderml@x.example")
    assert bulk.defer_indexes()
    desk = Actor(db.admin, Source.SCREEN)
    add(db, "Meanwhile", "Nils", primary_id="NEWPX2", email="nils.newml@x.example")
    changed = add(
        db,
        "Changed",
        "Ines",
        primary_id="CHGPX3",
        email="ines.chgml@x.example",
        identifier_type="BARCODE",
        identifier_value="BEFOREBZ9",
    )
    Identifier.update(value="AFTERBZ9", value_key="afterbz9").where(
        Identifier.account == changed.id, Identifier.value_key == "beforebz9"
    ).execute()
    doomed = add(db, "Doomed", "Ulla", primary_id="DOOMPX4", email="ulla.doomml@x.example")
    delete_user(doomed.id, doomed.version, desk)
    delete_user(old.id, old.version, desk)
    assert contains(db, "newpx2") == set()  # not yet: the load is running
    bulk.restore_indexes()
    assert contains(db, "newpx2") == {"Meanwhile, Nils"}
    assert contains(db, "nils.newml") == {"Meanwhile, Nils"}
    assert contains(db, "chgpx3") == {"Changed, Ines"}
    assert contains(db, "afterbz9") == {"Changed, Ines"}
    assert contains(db, "beforebz9") == set()
    assert contains(db, "doompx4") == set()
    assert contains(db, "oldpx1") == set()
    fts_sound()


KILLED_LOAD = """
import os, sys
sys.path.insert(0, '.')
from models.store.connection import open_database
open_database(sys.argv[1])
from models.transfer.imports import ImportOptions, import_file

def stop(progress):
    if progress.rows >= 60:
        os._exit(9)  # like SIGKILL: no restore, no cleanup

import_file(sys.argv[2], ImportOptions(defer_indexes=True, chunk_size=30, workers=1,
                                       progress=stop))
"""


def test_a_load_killed_midway_is_finished_by_the_next_command(db, tmp_path: Path) -> None:
    if not bulk.is_sqlite():
        pytest.skip("only SQLite defers indexes")
    before, sql = schema(), triggers()
    path = csv_file(tmp_path, 90)
    done = subprocess.run(
        [sys.executable, "-c", KILLED_LOAD, db.url, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 9, done.stderr
    record = json.loads(Setting.get(Setting.key == bulk.KEY).value)
    assert len(record["trigrams"]) == 4 and not TRIGGERS & schema()
    loaded = database.execute_sql("SELECT count(*) FROM person WHERE email_key LIKE 'm%ml@%'")
    committed = loaded.fetchone()[0]
    assert 30 <= committed < 90, "the kill came midway"
    assert contains(db, "0000px") == set()  # loaded, not yet indexed
    from models.store.connection import close_database, open_database

    close_database()
    open_database(db.url)  # the next command
    assert schema() == before and bulk.deferred() is None
    assert triggers() == sql
    every_key_found(db, range(committed))
    fts_sound()
    again = import_file(path, ImportOptions(defer_indexes=True, chunk_size=30, workers=1))
    assert (again.created, again.unchanged) == (90 - committed, committed)
    every_key_found(db, range(90))
    fts_sound()
