"""SQLite's checkpoint threshold (`models.store.connection.SQLITE_PRAGMAS`): every connection
takes it, and a transaction of more pages than SQLite's default (1,000) leaves its pages in
the WAL (a bulk job's chunk: they are copied into the database file every few chunks, not
after each)."""

from __future__ import annotations

from pathlib import Path

from models.store.connection import SQLITE_PRAGMAS, make_database


def test_a_write_of_more_pages_than_sqlite_default_is_not_checkpointed_at_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "checkpoint.db"
    db = make_database(str(path))
    other = make_database(str(path))
    try:
        db.connect()
        other.connect()
        for conn in (db, other):  # each connection, not only the first one
            assert (
                conn.execute_sql("PRAGMA wal_autocheckpoint").fetchone()[0]
                == (SQLITE_PRAGMAS["wal_autocheckpoint"])
            )
        db.execute_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        with db.atomic():  # some 2,500 pages of 4 KiB
            db.execute_sql(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) "
                "INSERT INTO t (v) SELECT printf('%.3000c', 'x') FROM n"
            )
        assert path.stat().st_size < 1_000_000  # the pages are in the WAL only
        busy, frames, copied = other.execute_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert (busy, copied) == (0, frames) and frames > 2500
        assert path.stat().st_size > 2500 * 3000  # copied now
    finally:
        db.close()
        other.close()
