"""The `patrondesk` command line, run as a subprocess: every error is one clear line on stderr,
exit code 2, no traceback and nothing half-written. Also: the wheel ships the styles and the
migrations."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.helpers.db import ADMIN_PASSWORD, PG_BASE, missing, pg_probe

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tui", "models", "screens", "styles")


def run(
    tmp_path: Path,
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """`python -m tui.cli ARGS` with a private data folder (never the user's real database)."""
    full_env = {k: v for k, v in os.environ.items() if k != "PATRONDESK_DB"}
    full_env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    full_env["XDG_STATE_HOME"] = str(tmp_path / "xdg-state")
    full_env["PYTHONDONTWRITEBYTECODE"] = "1"
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=full_env,
        timeout=timeout,
    )


def assert_clean_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit 2, one line on stderr naming the problem, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("patrondesk: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def init(tmp_path: Path, db: str, password: str = ADMIN_PASSWORD, *extra: str):
    return run(tmp_path, "--db", db, "init", "--admin", "admin", "--password-stdin", *extra,
               stdin=password + "\n")  # fmt: skip


def administrators(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "role_assignment" not in tables:
            return 0
        return conn.execute(
            "SELECT count(*) FROM role_assignment WHERE role = 'user_administrator'"
        ).fetchone()[0]


# --- Version and init ---------------------------------------------------------------------------


def test_version_prints_the_version(tmp_path: Path) -> None:
    from tui import __version__

    result = run(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"patrondesk {__version__}"


def test_the_console_script_is_installed(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("patrondesk")
    if not script.exists():
        pytest.skip(f"no console script beside {sys.executable}: not installed in this venv")
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0
    assert result.stdout.startswith("patrondesk ")


def test_init_creates_the_administrator(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    result = init(tmp_path, str(path))
    assert result.returncode == 0, result.stderr
    assert "admin" in result.stdout
    assert result.stderr == ""
    assert administrators(path) == 1
    with sqlite3.connect(path) as conn:
        username, password_hash = conn.execute(
            "SELECT username, password_hash FROM person"
        ).fetchone()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        org, library = conn.execute(
            "SELECT o.code, l.code FROM organization o JOIN library l ON l.organization_id = o.id"
        ).fetchone()
        assert conn.execute("SELECT count(*) FROM user_group").fetchone()[0] > 0
    assert username == "admin"
    assert (org, library) == ("MAIN", "MAIN")
    # The command line hashes with the production parameters of the settings (OWASP).
    assert password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert ADMIN_PASSWORD not in path.read_bytes().decode("latin-1")


def test_the_administrator_made_by_init_can_log_in(tmp_path: Path) -> None:
    from models.access.auth import login
    from models.store.connection import close_database, open_database

    path = tmp_path / "library.db"
    assert init(tmp_path, str(path)).returncode == 0
    open_database(str(path))
    try:
        account = login("admin", ADMIN_PASSWORD)
        assert [r.role for r in account.roles if r.role != "patron"] == ["user_administrator"]
    finally:
        close_database()


def test_a_second_init_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    assert init(tmp_path, str(path)).returncode == 0
    result = init(tmp_path, str(path), "Other-Ledger-43")
    assert_clean_error(result, "already has an administrator")
    assert administrators(path) == 1


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("weak", "at least 8 characters"),
        ("nouppercase42", "an uppercase letter"),
        ("Password1", "not a commonly used password"),
    ],
)
def test_a_weak_password_is_refused_and_no_administrator_is_made(
    tmp_path: Path, password: str, problem: str
) -> None:
    path = tmp_path / "library.db"
    line = assert_clean_error(init(tmp_path, str(path), password), "password refused", problem)
    assert password not in line
    assert administrators(path) == 0


def test_init_without_a_password_on_stdin_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    result = run(tmp_path, "--db", str(path), "init", "--admin", "admin", "--password-stdin")
    assert_clean_error(result, "no password")
    assert administrators(path) == 0


def test_init_without_a_terminal_asks_for_password_stdin(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    result = run(tmp_path, "--db", str(path), "init", "--admin", "admin")
    assert_clean_error(result, "--password-stdin")
    assert administrators(path) == 0


# --- Bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus"],
        ["init", "--admin", "admin", "--nope"],
        ["init"],  # --admin is required
        ["frobnicate"],
    ],
    ids=["unknown-option", "unknown-init-option", "missing-admin", "unknown-command"],
)
def test_bad_arguments_give_one_line_and_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = run(tmp_path, "--db", str(tmp_path / "x.db"), *args)
    assert_clean_error(result, "patrondesk --help")
    assert result.stdout == ""
    assert not (tmp_path / "x.db").exists()


def test_a_database_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "folder" / "library.db"
    result = init(tmp_path, str(path))
    assert_clean_error(result, "does not exist", str(path.parent))
    assert not (tmp_path / "no").exists()


def test_a_folder_as_the_database_is_refused(tmp_path: Path) -> None:
    assert_clean_error(init(tmp_path, str(tmp_path)), "is a folder")


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    content = b"Shopping list: milk, bread, a library card.\n" * 200
    path.write_bytes(content)
    assert_clean_error(init(tmp_path, str(path)), "not a PatronDesk (SQLite) database")
    assert_clean_error(run(tmp_path, "--db", str(path), "migrate", "--status"), str(path))
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("notes")) == ["notes.db"]


def test_a_postgresql_server_that_does_not_answer_is_said_quickly(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:1/test"
    started = time.monotonic()
    result = init(tmp_path, url)
    assert time.monotonic() - started < 10
    assert_clean_error(result, "Cannot connect to PostgreSQL", "127.0.0.1")


def test_a_postgresql_url_never_shows_its_password(tmp_path: Path) -> None:
    result = init(tmp_path, "postgresql://postgres:S3cret-Word@127.0.0.1:1/test")
    line = assert_clean_error(result, "Cannot connect to PostgreSQL")
    assert "S3cret-Word" not in line


def test_an_unknown_url_scheme_is_refused(tmp_path: Path) -> None:
    assert_clean_error(init(tmp_path, "mysql://localhost/test"), "mysql")


# --- Migrations ---------------------------------------------------------------------------------


MIGRATIONS = ["0001_initial", "0002_person_search_text"]


def status_lines(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rows = [line.split(None, 1) for line in result.stdout.strip().splitlines()]
    return {name: when.strip() for name, when in rows}


def test_migrate_status_lists_every_migration_as_applied_after_init(tmp_path: Path) -> None:
    path = tmp_path / "library.db"
    assert init(tmp_path, str(path)).returncode == 0
    rows = status_lines(run(tmp_path, "--db", str(path), "migrate", "--status"))
    assert list(rows)[: len(MIGRATIONS)] == MIGRATIONS
    for name in MIGRATIONS:
        assert rows[name] != "pending"
        assert rows[name][:2] == "20"  # a date: YYYY-MM-DD HH:MM:SS


def test_migrate_status_on_a_new_file_lists_pending_and_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    path.touch(mode=0o600)  # an empty file: a missing one is refused (only init creates one)
    args = ("--db", str(path), "migrate", "--status")
    rows = status_lines(run(tmp_path, *args))
    assert {rows[name] for name in MIGRATIONS} == {"pending"}
    assert status_lines(run(tmp_path, *args)) == rows  # still pending: status changes nothing
    result = run(tmp_path, "--db", str(path), "migrate")
    assert result.returncode == 0, result.stderr
    assert "pending" not in status_lines(run(tmp_path, *args)).values()


# --- Where the database is ----------------------------------------------------------------------


def test_the_patrondesk_db_variable_names_the_database(tmp_path: Path) -> None:
    path = tmp_path / "from-env.db"
    result = run(
        tmp_path,
        "init",
        "--admin",
        "admin",
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
        env={"PATRONDESK_DB": str(path)},
    )
    assert result.returncode == 0, result.stderr
    assert administrators(path) == 1
    assert not (tmp_path / "xdg-data").exists()


def test_db_option_wins_over_the_variable(tmp_path: Path) -> None:
    from_env, from_option = tmp_path / "env.db", tmp_path / "option.db"
    result = run(
        tmp_path,
        "--db",
        str(from_option),
        "init",
        "--admin",
        "admin",
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
        env={"PATRONDESK_DB": str(from_env)},
    )
    assert result.returncode == 0, result.stderr
    assert administrators(from_option) == 1
    assert not from_env.exists()


def test_a_sqlite_url_names_the_database(tmp_path: Path) -> None:
    path = tmp_path / "url.db"
    result = init(tmp_path, f"sqlite:///{path}")
    assert result.returncode == 0, result.stderr
    assert administrators(path) == 1


def test_without_db_the_file_lives_in_the_user_data_folder(tmp_path: Path) -> None:
    result = run(
        tmp_path, "init", "--admin", "admin", "--password-stdin", stdin=ADMIN_PASSWORD + "\n"
    )
    assert result.returncode == 0, result.stderr
    assert administrators(tmp_path / "xdg-data" / "patrondesk" / "patrondesk.db") == 1


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture
def pg_url() -> str:
    """A fresh, empty schema of the test server, dropped afterwards."""
    problem = pg_probe()
    if problem:
        missing(problem)
    import psycopg2

    schema = f"pd_cli_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(PG_BASE)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_BASE else "?"
    yield f"{PG_BASE}{sep}options={quote(f'-csearch_path={schema}')}"
    with conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
    conn.close()


def test_init_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    import psycopg2

    assert init(tmp_path, pg_url).returncode == 0
    assert_clean_error(init(tmp_path, pg_url), "already has an administrator")
    rows = status_lines(run(tmp_path, "--db", pg_url, "migrate", "--status"))
    assert "pending" not in {rows[name] for name in MIGRATIONS}
    schema = pg_url.rsplit("%3D", 1)[1]
    with psycopg2.connect(PG_BASE) as conn, conn.cursor() as cur:
        cur.execute(
            f'SELECT p.username FROM "{schema}".role_assignment r '
            f'JOIN "{schema}".account a ON a.id = r.account_id '
            f'JOIN "{schema}".person p ON p.id = a.person_id '
            "WHERE r.role = 'user_administrator'"
        )
        assert cur.fetchall() == [("admin",)]
    conn.close()


# --- Packaging ----------------------------------------------------------------------------------


def _copy_source(dest: Path) -> Path:
    """The project as a plain folder, so the build leaves nothing in the working tree."""
    ignore = shutil.ignore_patterns(
        "__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".*", "*.db*", "tests"
    )
    dest.mkdir()
    for name in PACKAGES:
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, dest / name)
    return dest


def test_the_wheel_ships_every_module_style_and_migration(tmp_path: Path) -> None:
    source = _copy_source(tmp_path / "src")
    out = tmp_path / "wheel"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = out.glob("patrondesk-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    styles = sorted(f"styles/{p.name}" for p in (ROOT / "styles").glob("*.tcss"))
    assert "styles/app.tcss" in styles
    missing_styles = [s for s in styles if s not in names]
    assert not missing_styles, f"styles not in the wheel: {missing_styles}"

    migrations = sorted(p.name for p in (ROOT / "models" / "store" / "migrations").glob("0*.py"))
    assert [m.removesuffix(".py") for m in migrations][:2] == MIGRATIONS
    for name in migrations:
        assert f"models/store/migrations/{name}" in names

    # The letter templates are package data (pyproject: "models.mail" =
    # ["letter_templates/*/*.txt"]).
    templates = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "models" / "mail" / "letter_templates").glob("*/*.txt")
    )
    assert len(templates) >= 15, "English, French and German templates of every letter"
    missing_templates = [t for t in templates if t not in names]
    assert not missing_templates, f"letter templates not in the wheel: {missing_templates}"

    # Every module of the four packages, subpackages included (the package list is explicit).
    modules = sorted(
        p.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if "__pycache__" not in p.parts
    )
    missing_modules = [m for m in modules if m not in names]
    assert not missing_modules, f"modules not in the wheel: {missing_modules}"

    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "patrondesk = tui.cli:main" in text
