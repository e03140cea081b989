"""Shared fixtures. Every database test runs on SQLite and on PostgreSQL through `db`.

PostgreSQL: the server named by PATRONDESK_TEST_PG (default postgresql://postgres@127.0.0.1:5432/
test). Each test session works in a schema of its own, so parallel runs never collide. With no
server the PostgreSQL cases skip with the reason; in CI (CI=true) a missing server fails.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from models.runtime import configure
from models.store.base import database
from tests.helpers import uiguard
from tests.helpers.db import (
    PG_BASE,
    TestDB,
    initialize_at,
    missing,
    pg_probe,
    reset_pg,
    template_path,
)
from tests.helpers.pilotwait import install as install_pilot_wait

install_pilot_wait()  # the pilot waits for a condition, not 40 ms a key (helpers/pilotwait.py)


uiguard.install()  # no query or argon2 call from the app on its event loop (helpers/uiguard.py)


@pytest.fixture(autouse=True)
def ui_thread_guard() -> Iterator[None]:
    """Fails a test in which the app queried the database or ran argon2 on its event loop."""
    uiguard.take()
    yield
    seen = uiguard.take()
    if seen and not uiguard.REPORT:
        pytest.fail("the UI thread waited on:\n" + "\n".join(seen), pytrace=False)


# The day and time every snapshot is drawn at: a snapshot must not change with the calendar
# (an expiry date counted from today, a user expired or not, "3 days ago").
SNAPSHOT_NOW = dt.datetime(2026, 12, 7, 10, 0)


@pytest.fixture(autouse=True)
def runtime_for_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """argon2's cheapest profile keeps the suite fast; production parameters come from settings.
    A snapshot test also runs at a fixed time (`SNAPSHOT_NOW`)."""
    fixed = "snap_compare" in request.fixturenames
    configure(
        clock=(lambda: SNAPSHOT_NOW) if fixed else None,
        hasher=PasswordHasher.from_parameters(CHEAPEST),
    )
    yield
    configure()


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A fresh schema for this test session, dropped at the end."""
    problem = pg_probe()
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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialized SQLite file, made once and copied for each test."""
    configure(hasher=PasswordHasher.from_parameters(CHEAPEST))
    path = tmp_path_factory.mktemp("template") / "template.db"
    initialize_at(str(path))
    database.close()
    return path


@pytest.fixture(scope="session")
def pg_initialized(pg_schema_url: str) -> str:
    from models.store.connection import open_database

    open_database(pg_schema_url)
    database.close()
    return pg_schema_url


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
        reset_pg(url)
    yield TestDB(request.param, url)
    close_database()


@pytest.fixture
def ui_db(tmp_path: Path) -> Iterator[TestDB]:
    """An initialized SQLite file for tests that drive the app (the screens are the same on
    both back ends; the database rules under them are tested on both through `db`)."""
    from models.store.connection import close_database, open_database

    path = tmp_path / "patrondesk.db"
    shutil.copy(template_path(), path)
    open_database(str(path))
    yield TestDB("sqlite", str(path))
    close_database()


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
