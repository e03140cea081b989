"""`patrondesk backup` and `restore`: checked copies, clear refusals, nothing lost."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.helpers.db import ADMIN_PASSWORD

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        input=stdin, capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip


def make_db(path: Path, users: int = 30) -> None:
    assert cli("--db", str(path), "init", "--admin", "admin", "--password-stdin",
               stdin=ADMIN_PASSWORD + "\n").returncode == 0  # fmt: skip
    assert cli("--db", str(path), "demo", "--users", str(users), "--seed", "3").returncode == 0


def accounts(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM account").fetchone()[0]


def test_backup_then_restore_brings_the_data_back(tmp_path) -> None:
    db, copy = tmp_path / "live.db", tmp_path / "copy.db"
    make_db(db)
    done = cli("--db", str(db), "backup", str(copy))
    assert done.returncode == 0 and "checked" in done.stdout
    assert accounts(copy) == accounts(db) == 31
    with sqlite3.connect(db) as conn:  # a mistake after the backup
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("DELETE FROM account WHERE id > 1")
    done = cli("--db", str(db), "restore", str(copy))
    assert done.returncode == 0, done.stderr
    assert accounts(db) == 31
    kept = list(tmp_path.glob("live.db.before-restore-*"))
    assert len(kept) == 1 and accounts(kept[0]) == 1, "the replaced database is kept"


def test_refusals_are_one_line_with_exit_2(tmp_path) -> None:
    db = tmp_path / "live.db"
    make_db(db, users=5)
    (tmp_path / "taken.db").write_bytes(b"x")
    (tmp_path / "text.txt").write_text("not a database")
    cases = [
        (("--db", str(db), "backup", str(tmp_path / "taken.db")), "exists already"),
        (("--db", str(db), "backup", str(tmp_path / "no" / "x.db")), "does not exist"),
        (("--db", str(db), "restore", str(tmp_path / "text.txt")), "not a SQLite database"),
        (("--db", str(db), "restore", str(tmp_path / "missing.db")), "Cannot read"),
        (("--db", "postgresql://u@localhost/x", "backup", "x.dump"), "pg_dump"),
    ]
    for args, words in cases:
        done = cli(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert words in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert accounts(db) == 6, "a refused restore changes nothing"


def test_a_damaged_backup_is_refused(tmp_path) -> None:
    db, copy = tmp_path / "live.db", tmp_path / "copy.db"
    make_db(db, users=5)
    assert cli("--db", str(db), "backup", str(copy)).returncode == 0
    data = bytearray(copy.read_bytes())
    for page in range(1, 12):  # break the b-tree page headers of the first pages
        data[page * 4096] = 0x77
    copy.write_bytes(bytes(data))
    done = cli("--db", str(db), "restore", str(copy))
    assert done.returncode == 2 and ("damaged" in done.stderr or "not a" in done.stderr)
    assert accounts(db) == 6
