"""Large loads build their secondary indexes after the load (models/store/bulk.py, issue 8)."""

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
from models.store.tables import Account, Setting
from models.transfer.imports import ImportOptions, import_file
from models.users.deletion import delete_user
from models.users.details import update_user
from tests.domain.test_search import add

REPO = Path(__file__).resolve().parents[2]
HEADER = "primary_id,first_name,last_name,emails,identifiers\n"


def schema() -> set[tuple[str, str]]:
    """Every index and trigger of the database, by kind and name."""
    if bulk.is_sqlite():
        rows = database.execute_sql(
            "SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger')"
        ).fetchall()
    else:
        rows = database.execute_sql(
            "SELECT 'index', indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "UNION ALL SELECT 'trigger', tgname FROM pg_trigger WHERE NOT tgisinternal"
        ).fetchall()
    return {(kind, name) for kind, name in rows}


def names_found(db, text: str) -> set[str]:
    page = search_users(db.organization.id, UserQuery(text=text), limit=1000)
    return {r.name for r in page.rows}


def csv_file(tmp_path: Path, n: int, prefix: str = "B") -> Path:
    rows = "".join(
        f"{prefix}{i},Ada{i},Zylbert{i:03d},{prefix.lower()}{i}@uni.example,BARCODE:{prefix}C{i}\n"
        for i in range(n)
    )
    path = tmp_path / "users.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def test_a_deferred_load_ends_with_every_index_and_every_name(db, tmp_path: Path) -> None:
    before = schema()
    report = import_file(
        csv_file(tmp_path, 120),
        ImportOptions(defer_indexes=True, chunk_size=25, workers=1),
    )
    assert report.created == 120 and report.refused == 0
    assert schema() == before
    assert bulk.deferred() is None
    assert len(names_found(db, "zylbert")) == 120
    assert names_found(db, "zylbert007") == {"Zylbert007, Ada7"}
    assert names_found(db, "ada119") == {"Zylbert119, Ada119"}


def test_sqlite_drops_and_restores_only_what_it_may(db) -> None:
    before = schema()
    deferred = bulk.defer_indexes()
    if not bulk.is_sqlite():
        assert deferred is False and schema() == before
        return
    assert deferred is True
    during = schema()
    dropped = before - during
    assert ("trigger", "person_name_ai") in dropped
    assert ("index", "person_sort_name") in dropped
    # Uniqueness and the indexes the search names stay.
    for kept in (
        "identifier_value_key",
        "person_email_key",
        "account_primary_id_key",
        "person_username_skeleton",  # each chunk's look-alike check reads it
    ):
        assert ("index", kept) in during
    assert {n for k, n in during if n.startswith("account_search_")} == {
        "account_search_type_name",
        "account_search_group_name",
        "account_search_type_expiry",
        "account_search_group_expiry",
    }
    assert bulk.defer_indexes() is False  # one load at a time defers
    assert bulk.restore_indexes() == len(dropped)
    assert schema() == before and bulk.deferred() is None


def test_desk_work_during_a_deferred_load_is_searchable_after_it(db) -> None:
    if not bulk.is_sqlite():
        pytest.skip("only SQLite defers indexes")
    old = add(db, "Quenneville", "Olga")
    gone_later = add(db, "Vasquez", "Pia")
    assert bulk.defer_indexes()
    desk = Actor(db.admin, Source.SCREEN)
    add(db, "Wexford", "Nils")  # added meanwhile: no trigger fills its name
    renamed = add(db, "Yardley", "Ines")
    update_user(renamed.id, renamed.version, {"last_name": "Yarborough"}, desk)
    update_user(old.id, old.version, {"last_name": "Quintal"}, desk)
    doomed = add(db, "Xanthe", "Ulla")
    delete_user(doomed.id, doomed.version, desk)
    delete_user(gone_later.id, gone_later.version, desk)
    assert names_found(db, "wexford") == set()  # not yet: the load is running
    bulk.restore_indexes()
    assert names_found(db, "wexford") == {"Wexford, Nils"}
    assert names_found(db, "yarborough") == {"Yarborough, Ines"}
    assert names_found(db, "yardley") == set()
    assert names_found(db, "quintal") == {"Quintal, Olga"}
    assert names_found(db, "quenneville") == set()
    assert names_found(db, "xanthe") == set()
    assert names_found(db, "vasquez") == set()
    # The name list is whole: one hit per person for a letter everyone shares.
    everyone = Account.select().count()
    page = search_users(db.organization.id, UserQuery(text=""), limit=1000)
    assert len(page.rows) == everyone


def test_a_load_stopped_midway_still_restores(db, tmp_path: Path) -> None:
    before = schema()
    calls = []

    def stop(progress) -> None:  # noqa: ANN001
        calls.append(progress.rows)
        if len(calls) == 2:
            raise KeyboardInterrupt

    path = csv_file(tmp_path, 90)
    with pytest.raises(KeyboardInterrupt):
        import_file(path, ImportOptions(defer_indexes=True, chunk_size=30, progress=stop))
    assert schema() == before and bulk.deferred() is None
    again = import_file(path, ImportOptions(defer_indexes=True, chunk_size=30))
    assert (again.created, again.unchanged) == (30, 60)
    assert len(names_found(db, "zylbert")) == 90


def test_a_killed_load_is_rebuilt_by_the_next_open(db, tmp_path: Path) -> None:
    if not bulk.is_sqlite():
        pytest.skip("only SQLite defers indexes")
    before = schema()
    # A process that defers, loads a person and dies without restoring (SIGKILL-like).
    script = (
        "import os, sys; sys.path[:0] = ['.'];"  # as pytest's pythonpath (the rootdir)
        "from models.store.connection import open_database; open_database(sys.argv[1]);"
        "from models.store import bulk; assert bulk.defer_indexes();"
        "from tests.domain.test_search import add;"
        "from types import SimpleNamespace as N;"
        "from models.config.setup import default_organization; from models.store.tables import "
        "Account;"
        "db = N(admin=Account.get(Account.primary_id == 'admin'),"
        " organization=default_organization());"
        "add(db, 'Kowalczyk', 'Ewa'); os._exit(9)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, db.url], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 9, done.stderr
    record = json.loads(Setting.get(Setting.key == bulk.KEY).value)
    assert record["indexes"] and record["trigger"]
    assert schema() != before and bulk.abandoned()
    from models.store.connection import close_database, open_database

    close_database()
    open_database(db.url)
    assert schema() == before and bulk.deferred() is None
    assert names_found(db, "kowalczyk") == {"Kowalczyk, Ewa"}


def test_a_live_load_is_left_alone(db) -> None:
    if not bulk.is_sqlite():
        pytest.skip("only SQLite defers indexes")
    assert bulk.defer_indexes()
    assert not bulk.abandoned()  # this process is alive
    assert bulk.recover_abandoned() == 0 and bulk.deferred() is not None
    bulk.restore_indexes()
