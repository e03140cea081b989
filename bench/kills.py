"""SIGKILL in the middle of saves, many times: nothing acknowledged is lost or half-written.

    python -m bench.kills [--kills 100] [--db PATH] [--import FILE]

A child process saves users through the same services as the screens (create a user, change
their status, edit the General tab) and prints the primary identifier of each one once its
transaction has committed. The parent kills it with SIGKILL at a random moment, then checks the
database: `PRAGMA integrity_check` is ok, every acknowledged user is there, no person lacks an
account, no account lacks its primary identifier, and every fee's transactions sum to it. With
`--import FILE` the child runs `patrondesk import FILE` instead, and after the kills the import is
run once more to completion. Prints `kills`, `acknowledged`, `acknowledged_lost`, `integrity`,
`half_written`; with `--import` also `rerun` (the last line of the final run) and
`indexes_restored` (every index and trigger is back: a large load defers some,
models/store/bulk.py).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ADMIN, ADMIN_PASSWORD, REPO

CHILD = """
import sys
from models.users.accounts import NewUser, create_user, set_status
from models.audit import Actor
from models.users.details import update_user
from models.enums import Source
from models.runtime import configure
from models.config.setup import default_organization
from models.store.tables import Account, Person
from models.store.connection import open_database

configure()
open_database(sys.argv[1])
admin = Account.select().join(Person).where(Person.username == "admin").get()
actor = Actor(admin, Source.SCREEN)
org = default_organization()
run = sys.argv[2]
n = 0
while True:
    n += 1
    pid = f"K{run}-{n}"
    account = create_user(NewUser(record_type="contact", last_name=f"Kill {run} {n}",
                                  first_name="Test", primary_id=pid, city="Bern",
                                  address_line1="Rue 1", country="CH", phone="+41 31 123 45 67"),
                           actor, org)
    print("ACK", pid, flush=True)
    account = set_status(account.id, "inactive", account.version, actor)
    update_user(account.id, account.version, {"job_description": f"edited {n}"}, actor)
    print("ACK-EDIT", pid, flush=True)
"""


def checks(path: Path) -> tuple[str, int]:
    """(integrity check result, number of half-written records)."""
    conn = sqlite3.connect(path)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        half = conn.execute(
            # NOT IN (a transient index): a killed large import leaves account.person_id and
            # identifier.account_id without their indexes until the next run rebuilds them.
            "SELECT (SELECT count(*) FROM person WHERE id NOT IN (SELECT person_id FROM account))"
            " + (SELECT count(*) FROM account WHERE id NOT IN "
            "  (SELECT account_id FROM identifier WHERE is_primary))"
            " + (SELECT count(*) FROM fee f WHERE f.original_minor - f.balance_minor <> "
            "  (SELECT coalesce(sum(CASE WHEN t.action IN ('pay','waive','credit') "
            "   THEN t.amount_minor ELSE 0 END), 0) FROM fee_transaction t WHERE t.fee_id = f.id)"
            "  AND EXISTS (SELECT 1 FROM fee_transaction t WHERE t.fee_id = f.id))"
        ).fetchone()[0]
        return integrity, half
    finally:
        conn.close()


def schema(path: Path) -> set[tuple[str, str]]:
    """Every index and trigger (a large import defers some and must build them again)."""
    conn = sqlite3.connect(path)
    try:
        return set(
            conn.execute("SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger')")
        )
    finally:
        conn.close()


def present(path: Path, ids: set[str]) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        found = set()
        items = sorted(ids)
        for i in range(0, len(items), 500):
            chunk = items[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found |= {
                r[0]
                for r in conn.execute(
                    f"SELECT primary_id FROM account WHERE primary_id IN ({marks})", chunk
                )
            }
        return found
    finally:
        conn.close()


def run(kills: int, db: Path, import_file: str | None, seed: int = 1) -> dict[str, object]:
    rng = random.Random(seed)
    acknowledged: set[str] = set()
    worst_integrity = "ok"
    half_written = 0
    before = schema(db)
    for k in range(kills):
        if import_file:
            argv = [sys.executable, "-m", "tui.cli", "--db", str(db), "import", import_file]
        else:
            argv = [sys.executable, "-c", CHILD, str(db), str(k)]
        child = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True)  # fmt: skip
        # A random point in the saves. The saving child's start-up and first save (imports,
        # settings, first queries) take from 0.3 s to over a second on a loaded machine, and a
        # kill before them tests nothing: the clock starts at its first acknowledged save. An
        # import starts a worker process and writes a chunk of 2,000 records at a time: a
        # longer window from its start.
        head = ""
        if import_file:
            time.sleep(rng.uniform(0.5, 5.0))
        else:
            while line := child.stdout.readline():  # "" if the child died first
                head += line
                if line.startswith("ACK "):
                    break
            time.sleep(rng.uniform(0.02, 0.6))
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate()
        out = head + out
        acknowledged |= {line.split()[1] for line in out.splitlines() if line.startswith("ACK ")}
        integrity, half = checks(db)
        if integrity != "ok":
            worst_integrity = integrity
        half_written = max(half_written, half)
    lost = len(acknowledged - present(db, acknowledged))
    if import_file:  # the import can be run again to completion
        done = subprocess.run(
            [sys.executable, "-m", "tui.cli", "--db", str(db), "import", import_file],
            cwd=REPO, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            worst_integrity = f"rerun failed: {done.stderr.strip()[:200]}"
        integrity, half = checks(db)
        if integrity != "ok":
            worst_integrity = integrity
        half_written = max(half_written, half)
        extra = {
            "rerun": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "",
            "indexes_restored": "yes" if schema(db) == before else "no",
        }
    else:
        extra = {}
    return {
        "kills": kills,
        "acknowledged": len(acknowledged),
        "acknowledged_lost": lost,
        "integrity": worst_integrity,
        "half_written": half_written,
        **extra,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--db", help="a SQLite file (default: a new one in /tmp)")
    parser.add_argument("--import", dest="import_file", help="kill imports of this file instead")
    args = parser.parse_args()
    db = Path(args.db or Path(tempfile.mkdtemp(prefix="patrondesk-kills-")) / "kills.db")
    if not db.exists():
        subprocess.run(
            [sys.executable, "-m", "tui.cli", "--db", str(db), "init", "--admin", ADMIN,
             "--password-stdin"],
            input=ADMIN_PASSWORD + "\n", text=True, check=True, cwd=REPO, capture_output=True,
        )  # fmt: skip
    for key, value in run(args.kills, db, args.import_file).items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
