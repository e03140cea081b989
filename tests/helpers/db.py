"""The test database: its constants, the PostgreSQL probe and reset, the session's SQLite
template and `cached_rows`. The fixtures that use them (`db`, `ui_db`, ...) are in
tests/conftest.py.

PostgreSQL: the server named by PATRONDESK_TEST_PG (default postgresql://postgres@127.0.0.1:5432/
test). With no server the PostgreSQL cases skip with the reason; in CI (CI=true) a missing server
fails (`missing`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from models.runtime import configure
from models.store.base import database
from models.store.tables import ALL_TABLES, Account, Organization

PG_BASE = os.environ.get("PATRONDESK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
SHARED = Path(__file__).resolve().parents[3] / "shared"
ADMIN_PASSWORD = "Quill-Ledger-42"
IN_CI = os.environ.get("CI", "").lower() == "true"


def missing(reason: str) -> None:
    """Skip for a developer without the resource; fail in CI, where it must be there."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must be available in CI)")
    pytest.skip(reason)


@dataclass
class TestDB:
    backend: str
    url: str

    @property
    def organization(self) -> Organization:
        return Organization.get(Organization.code == "MAIN")

    @property
    def admin(self) -> Account:
        return Account.get(Account.primary_id == "admin")


def pg_probe() -> str | None:
    try:
        import psycopg2
    except ImportError:
        return "psycopg2 is not installed (pip install -e '.[dev]')"
    try:
        psycopg2.connect(PG_BASE, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001
        return f"no PostgreSQL at {PG_BASE}: {str(exc).strip().splitlines()[0]}"
    return None


def initialize_at(url: str) -> None:
    from models.config.setup import initialize
    from models.store.connection import open_database

    open_database(url)
    initialize("admin", ADMIN_PASSWORD)


# url -> the SQL that puts the schema back as `initialize` left it (see reset_pg).
_PG_RESET: dict[str, str] = {}


def _pg_snapshot(suffix: str) -> str:
    """Keep a copy of every table's rows of the current schema in the schema beside it named
    `<schema>_<suffix>` (dropped with the session's schema), and return the SQL that restores
    them in one round trip: with triggers and foreign-key checks off (session_replication_role
    = replica), DELETE every table, copy the rows back, and set every sequence where it was."""
    schema = database.execute_sql("SELECT current_schema()").fetchone()[0]
    copy = f"{schema}_{suffix}"
    names = [
        row[0]
        for row in database.execute_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (schema,)
        )
    ]
    sequences = database.execute_sql(
        "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = %s", (schema,)
    ).fetchall()
    with database.atomic():
        database.execute_sql(f'DROP SCHEMA IF EXISTS "{copy}" CASCADE')
        database.execute_sql(f'CREATE SCHEMA "{copy}"')
        for name in names:
            database.execute_sql(f'CREATE TABLE "{copy}"."{name}" AS TABLE "{schema}"."{name}"')
    statements = ["SET LOCAL session_replication_role = replica"]
    statements += [f'DELETE FROM "{schema}"."{name}"' for name in names]
    statements += [
        f'INSERT INTO "{schema}"."{name}" SELECT * FROM "{copy}"."{name}"' for name in names
    ]
    statements += [
        f'SELECT setval(\'"{schema}"."{seq}"\', {last or 1}, {last is not None})'
        for seq, last in sequences
    ]
    return ";\n".join(statements)


def _pg_reset_sql(url: str) -> str:
    """Initialize the schema once (TRUNCATE + `initialize`) and snapshot it: restoring the
    snapshot (small DELETEs and INSERTs, ~30 ms) replaces a TRUNCATE of 33 tables (new files
    and an fsync for each: 0.2 to 0.7 s a test) followed by `initialize`."""
    from models.config.setup import initialize

    tables = ", ".join(f'"{m._meta.table_name}"' for m in ALL_TABLES)
    database.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    initialize("admin", ADMIN_PASSWORD)
    return _pg_snapshot("template")


def reset_pg(url: str) -> None:
    """The schema as `initialize` leaves it: organization MAIN, its library, the code tables
    and the administrator, with every sequence where `initialize` left it."""
    from models.store.connection import open_database

    open_database(url)
    if url not in _PG_RESET:
        _PG_RESET[url] = _pg_reset_sql(url)
    else:
        with database.atomic():
            database.execute_sql(_PG_RESET[url])


# (back end, name) -> a SQLite file, or the SQL that restores a PostgreSQL snapshot
_ROWS: dict[tuple[str, str], Path | str] = {}


def cached_rows(db: TestDB, name: str, build: Callable[[], object]) -> None:
    """The rows `build` adds to a freshly initialized `db`, built once per back end and test
    session and copied back for every later test that asks for `name` (ids, sequences and
    index contents included). For fixtures that add hundreds of users."""
    from models.store.connection import close_database, open_database

    key = (db.backend, name)
    saved = _ROWS.get(key)
    if saved is None:
        build()
        if db.backend == "sqlite":
            import sqlite3
            import tempfile

            saved = Path(tempfile.mkdtemp(prefix="patrondesk-rows-")) / f"{name}.db"
            copy = sqlite3.connect(saved)
            database.connection().backup(copy)  # page by page, what the WAL holds included
            copy.close()
        else:
            saved = _pg_snapshot(name)
        _ROWS[key] = saved
    elif db.backend == "sqlite":
        close_database()
        for suffix in ("-wal", "-shm"):
            Path(db.url + suffix).unlink(missing_ok=True)
        shutil.copyfile(saved, db.url)  # the file keeps its own (private) mode
        open_database(db.url)
    else:
        with database.atomic():
            database.execute_sql(saved)


_TEMPLATE: list[Path] = []


def template_path() -> Path:
    """The session's initialized SQLite template, made on first use."""
    if not _TEMPLATE:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="patrondesk-template-"))
        configure(hasher=PasswordHasher.from_parameters(CHEAPEST))
        initialize_at(str(folder / "template.db"))
        database.close()
        _TEMPLATE.append(folder / "template.db")
    return _TEMPLATE[0]
