"""Import benchmark (issue 8): N realistic users from a PatronDesk CSV into an empty SQLite
database, against the floor of the same rows inserted with raw sqlite3 `executemany`.

    .venv/bin/python bench/import.py --users 100000

Prints one `key: value` line per figure:
- import_users_per_s: the first load (`--external --source SIS`: a SIS load into an empty
  database), every check included;
- floor_users_per_s: the rows that load wrote (every table it filled), read back and inserted
  into another empty database with raw `executemany`, in one transaction;
- ratio_to_floor: floor / import (target <= 3);
- reload_users_per_s: the same file loaded again, nothing changed (target >= 20,000);
- floor_deferred_users_per_s (SQLite): the floor again with the indexes and the name trigger
  that a large load defers (models/store/bulk.py) dropped first and rebuilt after, the rebuild
  counted: the fastest this schema takes these rows with every index in place at the end;
- peak_rss_mb: this process's peak resident memory (the file is generated and the floor
  measured in child processes).
Targets at N = 100,000 on the 2-core machine: >= 10,000 users/s, ratio <= 3, <= 300 MB.

    .venv/bin/python bench/import.py --users 100000 --db postgresql://postgres@127.0.0.1/test

runs the same on PostgreSQL, in two schemas it makes afresh (`pd_import_bench`,
`pd_import_floor`); the floor there is psycopg2 `execute_values` of the same rows.
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ADMIN, ADMIN_PASSWORD, peak_rss_mb  # noqa: E402

SEED = 8
# Tables an import fills, parents first (the floor inserts them in this order).
DATA_TABLES = (
    "person",
    "account",
    "identifier",
    "email",
    "address",
    "phone",
    "role_assignment",
    "note",
    "block",
    "statistic",
    "audit_event",
    "import_state",
)
NOTES = (
    "Prefers to be contacted by phone.",
    "Exchange student for one semester.",
    "Card replaced after a loss.",
    "Thesis in progress: extended loans agreed.",
)
GROUPS = ("UNDERGRAD", "GRAD", "FACULTY", "PUBLIC", "ALUMNI")


def generate(path: Path, n: int, tag: str = "") -> None:
    """A CSV of `n` users: email, phone, address, two identifiers and a note each. `tag` goes
    into every unique value (primary id, identifiers, email), for files that must not meet."""
    from faker import Faker

    rng = random.Random(SEED)
    pools = []
    for locale, country in (("fr_CH", "CH"), ("de_CH", "CH"), ("it_IT", "CH"), ("en_GB", "CH")):
        fake = Faker(locale)
        fake.seed_instance(SEED)
        pools.append(
            (
                [fake.first_name() for _ in range(300)],
                [fake.last_name() for _ in range(300)],
                [fake.street_name() for _ in range(200)],
                [fake.city() for _ in range(100)],
                country,
            )
        )
    columns = (
        "primary_id",
        "record_type",
        "first_name",
        "last_name",
        "birth_date",
        "user_group",
        "expiry_date",
        "preferred_language",
        "emails",
        "phones",
        "address_type",
        "address_line1",
        "postal_code",
        "city",
        "country",
        "identifiers",
        "notes",
    )
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for i in range(1, n + 1):
            first_names, last_names, streets, cities, country = rng.choice(pools)
            first, last = rng.choice(first_names), rng.choice(last_names)
            local = "".join(
                ch for ch in f"{first}.{last}".lower() if ch.isascii() and ch.isalnum() or ch == "."
            )
            w.writerow(
                (
                    f"S{tag}{i:08d}",
                    "public",
                    first,
                    last,
                    f"{rng.randint(1950, 2006)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    rng.choice(GROUPS),
                    f"{rng.randint(2027, 2031)}-{rng.randint(1, 12):02d}-28",
                    rng.choice(("fr", "de", "it", "en")),
                    f"school:{local}.{tag}{i}@students.uni.example",
                    f"mobile:+4179{rng.randint(0, 9_999_999):07d}",
                    "home",
                    f"{rng.choice(streets)} {rng.randint(1, 120)}",
                    f"{rng.randint(1000, 9658)}",
                    rng.choice(cities),
                    country,
                    f"BARCODE:2{tag}{i:013d}|UNIV_ID:U{tag}{i:08d}",
                    f"GENERAL:{rng.choice(NOTES)}",
                )
            )


def make_template(target: str) -> None:
    from models.config.setup import initialize
    from models.store.connection import close_database, open_database

    open_database(target)
    initialize(ADMIN, ADMIN_PASSWORD)
    close_database()


def floor(template: Path, imported: Path, target: Path, deferred: bool = False) -> float:
    """Seconds to insert the imported rows into a copy of the empty template, raw.
    `deferred`: with the indexes and the name trigger that a large load defers
    (models/store/bulk.py) dropped first, their rebuild after the insert counted in."""
    shutil.copy(template, target)
    if deferred:
        from models.store import bulk
        from models.store.connection import close_database, open_database

        open_database(str(target))
        bulk.defer_indexes()
        close_database()
    src = sqlite3.connect(imported)
    base = sqlite3.connect(template)
    tables = []
    for name in DATA_TABLES:
        start = base.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{name}"').fetchone()[0]
        cursor = src.execute(f'SELECT * FROM "{name}" WHERE id > ? ORDER BY id', (start,))
        columns = [d[0] for d in cursor.description]
        tables.append((name, columns, cursor.fetchall()))
    # Codes the import created (user groups, ...) are in neither template: copy them first.
    dst = sqlite3.connect(target, isolation_level=None)
    dst.execute("PRAGMA foreign_keys = ON")
    dst.execute("PRAGMA journal_mode = wal")
    for name in ("user_group", "identifier_type", "note_type", "campus"):
        start = base.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{name}"').fetchone()[0]
        cursor = src.execute(f'SELECT * FROM "{name}" WHERE id > ?', (start,))
        rows = cursor.fetchall()
        if rows:
            marks = ", ".join("?" * len(cursor.description))
            dst.executemany(f'INSERT INTO "{name}" VALUES ({marks})', rows)
    started = time.perf_counter()
    dst.execute("BEGIN")
    for name, columns, rows in tables:
        if rows:
            cols = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" * len(columns))
            dst.executemany(f'INSERT INTO "{name}" ({cols}) VALUES ({marks})', rows)
    dst.execute("COMMIT")
    elapsed = time.perf_counter() - started
    dst.close()
    if deferred:
        from models.store import bulk
        from models.store.connection import close_database, open_database

        open_database(str(target))
        started = time.perf_counter()
        bulk.restore_indexes()
        elapsed += time.perf_counter() - started
        close_database()
    return elapsed


def pg_url(url: str, schema: str) -> str:
    """`url` with its search path set to `schema`."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def pg_schema(url: str, schema: str) -> None:
    """Make `schema` afresh."""
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        cur.execute(f'CREATE SCHEMA "{schema}"')
    conn.close()


def floor_pg(imported: str, target: str) -> float:
    """Seconds to insert the rows the import wrote into the fresh template `target`, with
    psycopg2 `execute_values` in one transaction."""
    import psycopg2
    from psycopg2.extras import execute_values

    src = psycopg2.connect(imported)
    dst = psycopg2.connect(target)
    scur, dcur = src.cursor(), dst.cursor()

    def rows_after(name: str, order: bool = True) -> tuple[list[str], list[tuple]]:
        dcur.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{name}"')
        start = dcur.fetchone()[0]
        scur.execute(
            f'SELECT * FROM "{name}" WHERE id > %s' + (" ORDER BY id" if order else ""), (start,)
        )
        return [d[0] for d in scur.description], scur.fetchall()

    for name in ("user_group", "identifier_type", "note_type", "campus"):
        columns, rows = rows_after(name, order=False)
        if rows:
            cols = ", ".join(f'"{c}"' for c in columns)
            execute_values(dcur, f'INSERT INTO "{name}" ({cols}) VALUES %s', rows)
    dst.commit()
    tables = [(name, *rows_after(name)) for name in DATA_TABLES]
    started = time.perf_counter()
    for name, columns, rows in tables:
        if rows:
            cols = ", ".join(f'"{c}"' for c in columns)
            execute_values(dcur, f'INSERT INTO "{name}" ({cols}) VALUES %s', rows, page_size=1_000)
    dst.commit()
    elapsed = time.perf_counter() - started
    src.close()
    dst.close()
    return elapsed


def _child(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return result.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000, metavar="N")
    parser.add_argument("--keep", metavar="DIR", help="keep the file and databases here")
    parser.add_argument("--db", metavar="URL", help="a postgresql:// URL (default: SQLite)")
    args = parser.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="patrondesk-import-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "users.csv"
    template = folder / "template.db"
    database = folder / "import.db"
    _child("generate", str(data), str(args.users))
    if args.db:
        target = pg_url(args.db, "pd_import_bench")
        floor_target = pg_url(args.db, "pd_import_floor")
        for url, schema in ((target, "pd_import_bench"), (floor_target, "pd_import_floor")):
            pg_schema(args.db, schema)
            _child("template", url)
    else:
        for p in (database, template):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{p}{suffix}").unlink(missing_ok=True)
        _child("template", str(template))
        shutil.copy(template, database)
        target = str(database)

    from models.runtime import configure
    from models.store.connection import close_database, open_database
    from models.transfer.imports import ImportOptions, import_file

    configure()
    open_database(target)
    options = ImportOptions(external=True, source="SIS")
    started = time.perf_counter()
    first = import_file(data, options)
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    again = import_file(data, ImportOptions(external=True, source="SIS"))
    again_s = time.perf_counter() - started
    close_database()
    if first.created != args.users or again.unchanged != args.users:
        sys.exit(f"bench: unexpected result: {first.summary()} / {again.summary()}")
    if args.db:
        floor_s = float(_child("floor-pg", target, floor_target))
        deferred_s = None
    else:
        floor_s = float(_child("floor", str(template), str(database), str(folder / "floor.db")))
        deferred_s = float(
            _child("floor-deferred", str(template), str(database), str(folder / "floor2.db"))
        )
    rate = args.users / first_s
    floor_rate = args.users / floor_s
    print(f"users: {args.users}")
    print(f"import_users_per_s: {rate:.0f}")
    print(f"floor_users_per_s: {floor_rate:.0f}")
    print(f"ratio_to_floor: {floor_rate / rate:.2f}")
    print(f"reload_users_per_s: {args.users / again_s:.0f}")
    if deferred_s is not None:
        print(f"floor_deferred_users_per_s: {args.users / deferred_s:.0f}")
    print(f"peak_rss_mb: {peak_rss_mb():.0f}")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "generate":
        generate(Path(sys.argv[2]), int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "template":
        make_template(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "floor-pg":
        print(floor_pg(sys.argv[2], sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "floor":
        print(floor(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])))
    elif len(sys.argv) > 1 and sys.argv[1] == "floor-deferred":
        print(floor(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), deferred=True))
    else:
        main()
