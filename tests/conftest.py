"""Shared fixtures. Every database test runs on SQLite and on PostgreSQL through `db`.

PostgreSQL: the server named by PATRONDESK_TEST_PG (default postgresql://postgres@127.0.0.1:5432/
test). Each test session works in a schema of its own, so parallel runs never collide. With no
server the PostgreSQL cases skip with the reason; in CI (CI=true) a missing server fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import uiguard
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from pilotwait import install as install_pilot_wait

from models.runtime import configure
from models.store.base import database
from models.store.tables import ALL_TABLES, Account, Organization

PG_BASE = os.environ.get("PATRONDESK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
SHARED = Path(__file__).resolve().parents[2] / "shared"
ADMIN_PASSWORD = "Quill-Ledger-42"
IN_CI = os.environ.get("CI", "").lower() == "true"

install_pilot_wait()  # the pilot waits for a condition, not 40 ms a key (tests/pilotwait.py)
uiguard.install()  # no query or argon2 call from the app on its event loop (tests/uiguard.py)


def missing(reason: str) -> None:
    """Skip for a developer without the resource; fail in CI, where it must be there."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must be available in CI)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def ui_thread_guard() -> Iterator[None]:
    """Fails a test in which the app queried the database or ran argon2 on its event loop."""
    uiguard.take()
    yield
    seen = uiguard.take()
    if seen and not uiguard.REPORT:
        pytest.fail("the UI thread waited on:\n" + "\n".join(seen), pytrace=False)


@pytest.fixture(autouse=True)
def cheap_hasher() -> Iterator[None]:
    """argon2's cheapest profile keeps the suite fast; production parameters come from settings."""
    configure(hasher=PasswordHasher.from_parameters(CHEAPEST))
    yield
    configure()


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


def _pg_probe() -> str | None:
    try:
        import psycopg2
    except ImportError:
        return "psycopg2 is not installed (pip install -e '.[dev]')"
    try:
        psycopg2.connect(PG_BASE, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001
        return f"no PostgreSQL at {PG_BASE}: {str(exc).strip().splitlines()[0]}"
    return None


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A fresh schema for this test session, dropped at the end."""
    problem = _pg_probe()
    if problem:
        missing(problem)
    import psycopg2

    schema = f"pd_test_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(PG_BASE)
    conn.autocommit = True
    with conn.cursor() as cur:
        # pg_trgm (migration 0013) lives in the first schema that creates it: were that a test
        # session's, dropping it at the session's end would drop the trigram indexes of every
        # other session working meanwhile (seen: a deadlock with the DROP, "referenced operator
        # class was concurrently dropped"). Made here in public, which no session drops.
        with contextlib.suppress(psycopg2.errors.UniqueViolation):  # made meanwhile elsewhere
            cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        cur.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_BASE else "?"
    yield f"{PG_BASE}{sep}options={quote(f'-csearch_path={schema}')}"
    with conn.cursor() as cur:
        cur.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname LIKE %s",
            (schema, schema + "\\_%"),
        )
        names = ", ".join(f'"{name}"' for (name,) in cur.fetchall())
        cur.execute(f"DROP SCHEMA IF EXISTS {names} CASCADE")
    conn.close()


def _initialize(url: str) -> None:
    from models.config.setup import initialize
    from models.store.connection import open_database

    open_database(url)
    initialize("admin", ADMIN_PASSWORD)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialized SQLite file, made once and copied for each test."""
    configure(hasher=PasswordHasher.from_parameters(CHEAPEST))
    path = tmp_path_factory.mktemp("template") / "template.db"
    _initialize(str(path))
    database.close()
    return path


@pytest.fixture(scope="session")
def pg_initialized(pg_schema_url: str) -> str:
    from models.store.connection import open_database

    open_database(pg_schema_url)
    database.close()
    return pg_schema_url


# url -> the SQL that puts the schema back as `initialize` left it (see _reset_pg).
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


def _reset_pg(url: str) -> None:
    """The schema as `initialize` leaves it: organization MAIN, its library, the code tables
    and the administrator, with every sequence where `initialize` left it."""
    from models.store.connection import open_database

    open_database(url)
    if url not in _PG_RESET:
        _PG_RESET[url] = _pg_reset_sql(url)
    else:
        with database.atomic():
            database.execute_sql(_PG_RESET[url])


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDB]:
    """An initialized database bound to `models.store.base.database`: organization MAIN with its
    main
    library, the default code tables, and the administrator `admin`."""
    from models.store.connection import close_database, open_database

    if request.param == "sqlite":
        path = tmp_path / "patrondesk.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = str(path)
        open_database(url)
    else:
        url = request.getfixturevalue("pg_initialized")
        _reset_pg(url)
    yield TestDB(request.param, url)
    close_database()


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


@pytest.fixture
def shared_data() -> Path:
    """The real exported records in ../shared/data (absent from a user's own clone)."""
    path = SHARED / "data"
    if not path.is_dir():
        missing(f"{path} is not here: the shared folder comes with the team's checkout only")
    return path


@pytest.fixture
def ui_db(tmp_path: Path) -> Iterator[TestDB]:
    """An initialized SQLite file for tests that drive the app (the screens are the same on
    both back ends; the database rules under them are tested on both through `db`)."""
    from models.store.connection import close_database, open_database

    path = tmp_path / "patrondesk.db"
    shutil.copy(_template_path(), path)
    open_database(str(path))
    yield TestDB("sqlite", str(path))
    close_database()


_TEMPLATE: list[Path] = []


def _template_path() -> Path:
    """The session's initialized SQLite template, made on first use."""
    if not _TEMPLATE:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="patrondesk-template-"))
        configure(hasher=PasswordHasher.from_parameters(CHEAPEST))
        _initialize(str(folder / "template.db"))
        database.close()
        _TEMPLATE.append(folder / "template.db")
    return _TEMPLATE[0]


@pytest.fixture(autouse=True)
def _steady_cursor(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots: the text cursor never blinks. Its 0.5 s blink would show or hide it by
    when the picture is taken, which a loaded machine shifts (seen: three snapshots failing
    under a parallel benchmark, each passing alone)."""
    if "snap_compare" not in request.fixturenames:
        return
    from textual.widgets import Input, TextArea

    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    if hasattr(TextArea, "_toggle_cursor_blink_visible"):
        monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None)
