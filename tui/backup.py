"""`patrondesk backup DEST` and `patrondesk restore SRC` for SQLite databases.

Both use SQLite's online backup API, so the app may stay open in other SSH sessions while a
backup runs; each copy is checked (`PRAGMA integrity_check`) before it is trusted. PostgreSQL
has its own tools: the messages name them.

A backup (and the copy a restore keeps of the replaced database) is a private file, 0600,
written as `NAME.part` and put in place once checked: never over an existing file, a special
file, a symbolic link or the database's own files (`models.store.files.PrivateFile`).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

from models.errors import PatronDeskError
from models.store.files import PrivateFile, create_private
from tui.target import SQLITE_HEADER, describe


class BackupError(Exception):
    """A refusal in words, for one line on stderr."""


def _sqlite_path(target: str) -> Path:
    if target.startswith("postgres"):
        raise BackupError(
            f"{describe(target)} is PostgreSQL: back it up with pg_dump "
            "(pg_dump --format=custom URL > patrondesk.dump) and restore with pg_restore."
        )
    if target.startswith("sqlite:///"):
        target = target.removeprefix("sqlite:///")
    return Path(target).expanduser()


def check_database(path: Path) -> int:
    """Check a SQLite file is a sound PatronDesk database; returns its number of accounts."""
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise BackupError(f"Cannot read {path}: {exc.strerror}.") from None
    if header != SQLITE_HEADER:
        raise BackupError(f"{path} is not a SQLite database.")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _check(conn, path)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is damaged: {exc}.") from None
    finally:
        conn.close()


def _check(conn: sqlite3.Connection, path: Path) -> int:
    result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        first = result.splitlines()[-1] if "\n" in result else result
        raise BackupError(f"{path} is damaged: the integrity check says {first!r}.")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not {"schema_migration", "account", "person"} <= tables:
        raise BackupError(f"{path} is a SQLite database, but not a PatronDesk one.")
    return conn.execute("SELECT count(*) FROM account").fetchone()[0]


def _copy(source: Path, dest: Path, *, single_file: bool = False) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    out = sqlite3.connect(dest)
    try:
        src.backup(out)
        if single_file:
            # A backup must be one self-contained file: no -wal beside it to be left behind.
            out.execute("PRAGMA journal_mode=DELETE")
    finally:
        out.close()
        src.close()


def _private_copy(source: Path, dest: Path, database: Path) -> int:
    """Copy `source` into the new private file `dest` (checked as `dest.part`, then put in
    place); returns its number of accounts."""
    try:
        with PrivateFile(dest, binary=True, database=database, document=False) as out:
            out.close_part()
            try:
                _copy(source, out.part, single_file=True)
                users = check_database(out.part)
            finally:  # what SQLite may leave beside a copy it did not finish
                for suffix in ("-journal", "-wal", "-shm"):
                    Path(f"{out.part}{suffix}").unlink(missing_ok=True)
    except PatronDeskError as exc:
        raise BackupError(exc.message) from None
    return users


def backup(target: str, dest: str) -> str:
    source = _sqlite_path(target)
    check_database(source)
    dest_path = Path(dest).expanduser()
    if os.path.lexists(dest_path):
        raise BackupError(f"{dest_path} exists already: choose a new file name.")
    if not dest_path.parent.is_dir():
        raise BackupError(f"The folder {dest_path.parent} does not exist.")
    users = _private_copy(source, dest_path, source)
    size = dest_path.stat().st_size / 1_000_000
    return f"Backed up {users:,} accounts to {dest_path} ({size:.1f} MB), checked."


def restore(target: str, src: str) -> str:
    """Replace the database with a checked backup; the replaced one is kept beside it."""
    dest = _sqlite_path(target)
    source = Path(src).expanduser()
    users = check_database(source)
    kept = ""
    if dest.exists():
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        aside = dest.with_name(f"{dest.name}.before-restore-{stamp}")
        _private_copy(dest, aside, dest)
        kept = f" The replaced database is kept as {aside}."
    elif not dest.parent.is_dir():
        raise BackupError(f"The folder {dest.parent} does not exist.")
    else:
        create_private(dest)  # 0600 before SQLite writes into it
    _copy(source, dest)
    check_database(dest)
    return f"Restored {users:,} accounts from {source} into {dest}, checked.{kept}"
