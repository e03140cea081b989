"""Opening the database named by `--db` / `PATRONDESK_DB` (a file path or a URL).

SQLite: WAL journal, `synchronous=FULL` (a saved payment survives a power cut), foreign keys on,
a busy timeout, and every write transaction begun IMMEDIATE so that writers queue on the busy
timeout instead of failing with "database is locked" when they upgrade a read lock.
PostgreSQL: through `playhouse.db_url`, with a short connect timeout so a server that does not
answer gives a clear message quickly.

A new SQLite file is created 0600 before SQLite opens it (its -wal and -shm take the database
file's mode); a -wal or -shm more open than the database is narrowed to the database's mode
after opening. `models.store.files.exposure_warning` says when the file can be read by others.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from urllib.parse import urlparse

from peewee import Database, InterfaceError, OperationalError, PostgresqlDatabase, SqliteDatabase

from models.errors import DatabaseOpenError
from models.store.base import database
from models.store.files import create_private
from models.store.schema import migrate
from models.text import masked_url as describe

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "full",
    "foreign_keys": 1,
    "busy_timeout": 15_000,
    "cache_size": -32_000,  # 32 MiB page cache
    "temp_store": "memory",
    # A checkpoint (the WAL's pages copied into the database file, which is then synced)
    # once 10,000 pages (40 MiB) are in the WAL, not SQLite's 1,000: a bulk job's chunk
    # writes some 3,000 pages, mostly the same index pages as the chunk before (a member's
    # old expiry date sits anywhere in three indexes), and copying them after every chunk
    # wrote them twice and synced twice per chunk (the update of bench/jobs.py at 100,000
    # users: 6.7 GB written, 2.9 GB with this, each WAL page once per chunk and in the
    # database once per checkpoint, every three or four chunks). Every connection takes the same
    # value: whichever commits past it checkpoints, and a desk's save must not be the one
    # that copies a job's chunks (a job's commit crosses it nearly always: its chunks are
    # the pages). A desk's saves rewrite the same few pages: the copy is of distinct pages.
    "wal_autocheckpoint": 10_000,
}


def _is_default(path: Path) -> bool:
    from tui.paths import default_database_path

    return path == default_database_path()


class _StorageGuard:
    """Turns a refused write (read-only file, full disk, I/O error, lost server) into
    `StorageError`, a `PatronDeskError` the screens show in words, at the one place every
    statement and commit passes. The transaction around it rolls back as for any error."""

    def _guard(self, exc: Exception) -> None:
        from models.errors import StorageError
        from models.store.storage import storage_problem

        message = storage_problem(exc)
        if message is not None:
            raise StorageError(message) from exc

    def execute_sql(self, sql, params=None, *args, **kwargs):  # noqa: ANN001, ANN201
        try:
            return super().execute_sql(sql, params, *args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            self._guard(exc)
            raise

    def begin(self, *args, **kwargs):  # noqa: ANN201
        try:
            return super().begin(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            self._guard(exc)
            raise

    def commit(self):  # noqa: ANN201
        try:
            return super().commit()
        except (OperationalError, InterfaceError) as exc:
            self._guard(exc)
            raise


class GuardedSqliteDatabase(_StorageGuard, SqliteDatabase):
    pass


class GuardedPostgresqlDatabase(_StorageGuard, PostgresqlDatabase):
    pass


def make_database(target: str) -> Database:
    """Build (not yet open) the database object for a path or URL."""
    if "://" not in target:
        return _sqlite(Path(target).expanduser())
    scheme = urlparse(target).scheme
    if scheme.startswith("sqlite"):
        from playhouse import db_url  # URLs only: a plain path needs no parsing

        path = db_url.parse(target)["database"]
        if path == ":memory:":
            raise DatabaseOpenError("An in-memory database keeps nothing: give a file path.")
        return _sqlite(Path(path).expanduser())
    if scheme.startswith("postgres"):
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            raise DatabaseOpenError(
                "PostgreSQL needs its driver: pip install 'patrondesk[postgresql]'."
            ) from None
        from playhouse import db_url

        kwargs = db_url.parse(target)
        kwargs.setdefault("connect_timeout", 5)
        kwargs.setdefault("application_name", "patrondesk")
        return GuardedPostgresqlDatabase(**kwargs)
    raise DatabaseOpenError(
        f"Unsupported database URL scheme {scheme!r}: use a file path, "
        "sqlite:///PATH or postgresql://HOST/NAME."
    )


def _sqlite(path: Path) -> SqliteDatabase:
    return GuardedSqliteDatabase(
        str(path), pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE", timeout=15
    )


def open_database(target: str, *, create: bool = True, upgrade: bool = True) -> Database:
    """Open `target` (a SQLite path or a PostgreSQL URL, resolved by the caller:
    `tui.target.resolve_target`), bind it to the models, and (by default) bring the schema up
    to date."""
    db = make_database(target)
    if isinstance(db, SqliteDatabase):
        path = Path(db.database)
        if path.is_dir():
            raise DatabaseOpenError(f"Cannot open database {path}: it is a folder.")
        if not path.exists():
            if not create:
                raise DatabaseOpenError(
                    f"No database at {path}: check the path, or run 'patrondesk init' to "
                    "create one there."
                )
            if not path.parent.is_dir() and not _is_default(path):
                # A named path in a folder that does not exist is more likely a typo than a wish.
                raise DatabaseOpenError(
                    f"Cannot create database {path}: the folder {path.parent} does not exist."
                )
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseOpenError(
                    f"Cannot create the folder for database {path}: {exc.strerror}."
                ) from None
            try:  # private from its first byte: SQLite gives its -wal and -shm the same mode
                create_private(path)
            except FileExistsError:
                pass  # made meanwhile (another session): opened as it is
            except OSError as exc:
                raise DatabaseOpenError(f"Cannot create database {path}: {exc.strerror}.") from None
    try:
        db.connect()
        if isinstance(db, SqliteDatabase):
            db.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()
            _narrow_companions(Path(db.database))
    except (OperationalError, sqlite3.DatabaseError, DatabaseOpenError) as exc:
        raise DatabaseOpenError(_open_message(target, exc)) from None
    except Exception as exc:  # psycopg2.OperationalError and friends
        raise DatabaseOpenError(_open_message(target, exc)) from None
    database.initialize(db)
    if upgrade:
        try:
            migrate(db)
        except (OperationalError, sqlite3.DatabaseError) as exc:
            raise DatabaseOpenError(
                f"Cannot update the schema of {describe(target)}: {exc}"
            ) from None
        if isinstance(db, SqliteDatabase):
            from models.store.bulk import recover_abandoned

            try:
                recover_abandoned()  # indexes a killed large import left unbuilt
            except (OperationalError, sqlite3.DatabaseError) as exc:
                raise DatabaseOpenError(
                    f"Cannot rebuild the indexes of {describe(target)}: {exc}"
                ) from None
    if isinstance(db, SqliteDatabase):
        _narrow_companions(Path(db.database))  # the -wal the first write may have made
    return db


def _narrow_companions(path: Path) -> None:
    """A -wal or -shm that others may read while the database is private (left by an older
    version, or made under another umask) gets the database file's mode."""
    try:
        wanted = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return
    for suffix in ("-wal", "-shm"):
        companion = f"{path}{suffix}"
        try:
            st = os.lstat(companion)
            if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) & ~wanted:
                os.chmod(companion, stat.S_IMODE(st.st_mode) & wanted)
        except OSError:
            continue  # not there, or not ours to change: the warning says so


def _open_message(target: str, exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if "://" in target and urlparse(target).scheme.startswith("postgres"):
        return f"Cannot connect to PostgreSQL at {describe(target)}: {first}"
    if "file is not a database" in first:
        return f"Cannot open database {target}: the file is not a PatronDesk (SQLite) database."
    return f"Cannot open database {target}: {first}."


def close_database() -> None:
    db = database.obj
    if db is not None and not db.is_closed():
        db.close()
