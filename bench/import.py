"""Import benchmark (issues 8 and 26): N realistic users from a PatronDesk CSV into an empty
database, against the floors of the same work: the rows it wrote, inserted raw, and the Python
that reads, checks and builds them, without a database.

    .venv/bin/python bench/import.py --users 100000 [--runs 3] [--exclusive]

Every measure runs in a child process of its own; the runs are interleaved (import, SQLite
floor, Python floor, then again), and each figure is the median of the runs (every run's value
on its `_runs` line). Beside each wall-clock figure, the CPU time per user (`_cpu_us_per_user`):
on a shared machine the wall time says how busy the others were, the CPU time what the work
cost. Lines:
- import_users_per_s: the first load (`--external --source SIS` into an empty database), every
  check included; import_writer_cpu_us_per_user and import_worker_cpu_us_per_user: the CPU of
  the importing process and of its checking worker;
- sqlite_floor_users_per_s: the rows that load wrote (every table it filled), read back as
  tuples and inserted into a copy of the empty database through the same bulk writer, in chunks
  of the import's size, one transaction each, under the import's regime: its page cache, the
  indexes and triggers it deferred dropped first and rebuilt after (the rebuild counted);
- python_floor_us_per_user: CPU to read, map, check the same file and build the tuples of its
  rows, no database (codes resolved from memory, ids counted);
- bound_users_per_s: min(SQLite floor, Python floor spread over the cores but the writer's);
  ratio_to_bound: bound / import (1.0: the import is as fast as its own floors allow);
- cpu_bound_users_per_s: cores / (SQLite floor's CPU + Python floor's CPU) per user: what any
  design doing the floors' work could reach with every core busy all the time (a target above
  it is out of this machine's reach, whatever the pipeline);
- rows_per_user and index_entries_per_user: table rows and B-tree index entries written per
  user (partial indexes count the rows they hold), so schema growth shows;
- reload_users_per_s: the same file loaded again, nothing changed;
- peak_rss_mb: the importing process's peak resident memory (worker_peak_rss_mb: its worker).

    .venv/bin/python bench/import.py --users 100000 --db postgresql://postgres@127.0.0.1/test

runs the same on PostgreSQL, in schemas made afresh for each run (`pd_import_bench_PID`,
`pd_import_floor_PID`, `pd_import_py_PID`, dropped at the end unless `--keep`); the floor there is
psycopg2 `execute_values` through the same writer.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ADMIN, ADMIN_PASSWORD  # noqa: E402

SEED = 8
# Tables an import fills, parents first.
DATA_TABLES = (
    "person",
    "account",
    "identifier",
    "email",
    "address",
    "phone",
    "role_assignment",
    "account_library",
    "note",
    "block",
    "statistic",
    "audit_event",
    "import_state",
)
CODE_TABLES = ("user_group", "identifier_type", "note_type", "campus", "job_category", "library")
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


# --- Targets ------------------------------------------------------------------------------------


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


def pg_drop(url: str, schema: str) -> None:
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    conn.close()


def make_template(target: str) -> None:
    from models.config.setup import initialize
    from models.store.connection import close_database, open_database

    open_database(target)
    initialize(ADMIN, ADMIN_PASSWORD)
    close_database()


class Target:
    """Where one measure writes: a copy of the SQLite template, or a PostgreSQL schema made
    afresh and initialized as the template was."""

    def __init__(self, folder: Path, pg: str | None) -> None:
        self.folder, self.pg = folder, pg
        self.schemas: set[str] = set()
        self.template = folder / "template.db"
        if not pg:
            for suffix in ("", "-wal", "-shm"):  # a kept folder's: made afresh
                Path(f"{self.template}{suffix}").unlink(missing_ok=True)
            _child("template", str(self.template))

    def fresh(self, name: str) -> str:
        if self.pg:
            schema = f"pd_import_{name}_{os.getpid()}"  # never another run's
            self.schemas.add(schema)
            pg_schema(self.pg, schema)
            url = pg_url(self.pg, schema)
            _child("template", url)
            return url
        path = self.folder / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copy(self.template, path)
        return str(path)


# --- Measures (each in a child process) ---------------------------------------------------------


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def _db_counts() -> tuple[int, int]:
    """(table rows, index entries) of the tables a load fills, partial indexes by the rows they
    hold."""
    from models.store.base import database
    from models.store.bulk import is_sqlite

    rows = entries = 0
    for table in DATA_TABLES:
        rows += database.execute_sql(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    if is_sqlite():
        indexes = database.execute_sql(
            "SELECT tbl_name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
            f"({', '.join('?' * len(DATA_TABLES))})",
            DATA_TABLES,
        ).fetchall()
        # An index without SQL is a UNIQUE constraint's or the primary key's: a full one.
        found = [(t, (sql or "").partition(" WHERE ")[2] or None) for t, sql in indexes]
    else:
        found = [
            (t, d.partition(" WHERE ")[2] or None)
            for t, d in database.execute_sql(
                "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename = ANY(%s) AND indexname NOT LIKE '%%_pkey'",
                (list(DATA_TABLES),),
            ).fetchall()
        ]
    for table, where in found:
        sql = f'SELECT count(*) FROM "{table}"' + (f" WHERE {where}" if where else "")
        entries += database.execute_sql(sql).fetchone()[0]
    return rows, entries


def measure_import(target: str, data: str, users: int, exclusive: bool) -> dict:
    from models.runtime import configure
    from models.store.connection import close_database, open_database
    from models.transfer.imports import CHUNK_SIZE, ImportOptions, import_file

    configure()
    open_database(target)
    rows0, entries0 = _db_counts()
    options = ImportOptions(external=True, source="SIS")
    if exclusive:
        options.exclusive = True
    own0, kids0 = _cpu()
    started = time.perf_counter()
    first = import_file(data, options)
    wall = time.perf_counter() - started
    own1, kids1 = _cpu()
    started = time.perf_counter()
    again = import_file(data, ImportOptions(external=True, source="SIS"))
    reload_wall = time.perf_counter() - started
    own2, kids2 = _cpu()
    rows1, entries1 = _db_counts()
    close_database()
    if first.created != users or again.unchanged != users:
        sys.exit(f"bench: unexpected result: {first.summary()} / {again.summary()}")
    return {
        "wall": wall,
        "writer_cpu": own1 - own0,
        "worker_cpu": kids1 - kids0,
        "reload_wall": reload_wall,
        "reload_cpu": own2 - own1 + kids2 - kids1,
        "rows": rows1 - rows0,
        "entries": entries1 - entries0,
        "deferred": first.deferred,
        "chunk": CHUNK_SIZE,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def _written(imported: str, template: str) -> tuple[dict, dict]:
    """The rows the import wrote (table -> tuples in the bulk writer's column order) and the
    codes it created (table -> rows), read from `imported` above `template`'s highest ids."""
    from models.store.base import database
    from models.store.connection import close_database, open_database
    from models.transfer.imports.tables import _tables

    open_database(template)
    start = {
        name: database.execute_sql(f'SELECT COALESCE(MAX(id), 0) FROM "{name}"').fetchone()[0]
        for name in DATA_TABLES + CODE_TABLES
    }
    close_database()
    open_database(imported)
    by_name = {t.name: t for t in _tables().order}
    mark = database.obj.param
    rows, codes = {}, {}
    for name in DATA_TABLES:
        columns = ", ".join(f'"{c}"' for c in by_name[name].columns)
        rows[name] = database.execute_sql(
            f'SELECT {columns} FROM "{name}" WHERE id > {mark} ORDER BY id', (start[name],)
        ).fetchall()
    for name in CODE_TABLES:
        cursor = database.execute_sql(f'SELECT * FROM "{name}" WHERE id > {mark}', (start[name],))
        codes[name] = ([d[0] for d in cursor.description], cursor.fetchall())
    close_database()
    return rows, codes


def measure_floor(
    imported: str, template: str, target: str, chunk: int, deferred: bool, exclusive: bool = False
) -> dict:
    """The rows the import wrote, inserted through the bulk writer in chunks of `chunk` users,
    one transaction each, under the import's regime (page cache; indexes and triggers deferred
    and rebuilt when it deferred them)."""
    from models.runtime import configure
    from models.store import bulk
    from models.store.base import database
    from models.store.connection import close_database, open_database
    from models.transfer.imports.tables import _tables

    configure()
    rows, codes = _written(imported, template)
    t = _tables()
    by_name = {tb.name: tb for tb in t.order}
    # Each user's rows go in the chunk of its account (accounts in id order, as written).
    account_chunk = {r[0]: i // chunk for i, r in enumerate(rows["account"])}
    person_at = by_name["account"].index["person_id"]
    person_chunk = {r[person_at]: account_chunk[r[0]] for r in rows["account"]}
    chunks: list[dict[str, list[tuple]]] = [
        {tb.name: [] for tb in t.order} for _ in range(max(account_chunk.values(), default=-1) + 1)
    ]
    for name, table_rows in rows.items():
        table = by_name[name]
        if name == "person":
            owner, where = person_chunk, table.index["id"]
        elif "person_id" in table.index and "account_id" not in table.index:
            owner, where = person_chunk, table.index["person_id"]
        elif name == "account":
            owner, where = account_chunk, table.index["id"]
        else:
            owner, where = account_chunk, table.index["account_id"]
        for row in table_rows:
            chunks[owner[row[where]]][name].append(row)
    open_database(target)
    for name, (columns, code_rows) in codes.items():
        if code_rows:
            cols = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join(["%s" if not bulk.is_sqlite() else "?"] * len(columns))
            database.cursor().executemany(
                f'INSERT INTO "{name}" ({cols}) VALUES ({marks})', code_rows
            )
    writer = bulk.BulkWriter("the floor needs")
    own0, _ = _cpu()
    started = time.perf_counter()
    with bulk.load_cache():
        if deferred:
            bulk.defer_indexes(exclusive)  # --exclusive: every index, as the import
        for part in chunks:
            with database.atomic():
                writer.write(t.order, part, people_by_key=True)
        if deferred:
            bulk.restore_indexes()
    wall = time.perf_counter() - started
    own1, _ = _cpu()
    writer.fix_sequences(t.order)
    close_database()
    return {"wall": wall, "cpu": own1 - own0}


def measure_python(data: str, scratch: str, users: int) -> dict:
    """Read, map, check the file and build its rows' tuples, as the import does, without the
    database: no key look-up, no insert (codes resolved once, then from memory; ids counted)."""
    from models.runtime import configure
    from models.store.base import database
    from models.store.connection import close_database, open_database
    from models.transfer.formats import files_of, primary_of
    from models.transfer.imports import Importer, ImportOptions
    from models.transfer.imports.checking import check_batch, digest
    from models.transfer.imports.codes import Codes
    from models.transfer.imports.collector import load_collector

    configure()
    open_database(scratch)
    imp = Importer(data, ImportOptions(external=True, source="SIS"))
    with database.atomic():
        imp.codes = Codes(imp.org, imp.mapping, imp.opts.strict)
        imp.role_rules = imp._role_rules()
    imp.files = files_of(imp.path)
    imp._registration_expiry(None)  # the user groups' periods, read once
    next_id = [1]

    def build(items: list[dict]) -> int:
        cands = []
        for item in items:
            cand = {
                "lazy": item,
                "file": item["file"],
                "label": item["label"],
                "primary_id": primary_of(item["fmt"], item["raw"]),
            }
            cand["digest"] = digest(item["raw"], imp.salt + item["fmt"] + item["ctx"].fingerprint())
            cands.append(cand)
        checked = check_batch(cands, imp.settings, imp.today, imp.opts.external)
        ready = []
        for rec in checked:
            rec.pop("quick", None)
            rec["match"] = None
            if not rec["refused"]:
                ready.append(rec)
        imp._resolve_all(ready)
        ids = list(range(next_id[0], next_id[0] + len(ready)))
        next_id[0] += len(ready)
        rows, _ = imp._rows_of(ready, ids, ids)
        return sum(len(v) for v in rows.values())

    own0, _ = _cpu()
    started = time.perf_counter()
    chunk: list[dict] = []
    built = 0
    with load_collector():  # the import's garbage collection regime
        for item in imp._candidates(imp.files, []):
            chunk.append(item)
            if len(chunk) >= imp.opts.chunk_size:
                built += build(chunk)
                chunk = []
        if chunk:
            built += build(chunk)
    wall = time.perf_counter() - started
    own1, _ = _cpu()
    close_database()
    if not built:
        sys.exit("bench: the Python floor built no row")
    return {"wall": wall, "cpu": own1 - own0}


def _child(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    return result.stdout.strip()


def _lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000, metavar="N")
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs (default 3)")
    parser.add_argument("--exclusive", action="store_true", help="import with --exclusive")
    parser.add_argument("--keep", metavar="DIR", help="keep the file and databases here")
    parser.add_argument("--db", metavar="URL", help="a postgresql:// URL (default: SQLite)")
    args = parser.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="patrondesk-import-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "users.csv"
    if not data.exists() or _lines(data) != args.users + 1:
        _child("generate", str(data), str(args.users))
    where = Target(folder, args.db)
    n = args.users
    runs: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        runs.setdefault(key, []).append(value)

    for _ in range(args.runs):
        target = where.fresh("bench")
        got = json.loads(_child("import", target, str(data), str(n), str(int(args.exclusive))))
        add("import_users_per_s", n / got["wall"])
        add("import_cpu_us_per_user", (got["writer_cpu"] + got["worker_cpu"]) / n * 1e6)
        add("import_writer_cpu_us_per_user", got["writer_cpu"] / n * 1e6)
        add("import_worker_cpu_us_per_user", got["worker_cpu"] / n * 1e6)
        add("reload_users_per_s", n / got["reload_wall"])
        add("reload_cpu_us_per_user", got["reload_cpu"] / n * 1e6)
        add("rows_per_user", got["rows"] / n)
        add("index_entries_per_user", got["entries"] / n)
        add("peak_rss_mb", got["rss"])
        add("worker_peak_rss_mb", got["worker_rss"])
        floor_target = where.fresh("floor")
        template = where.fresh("template_copy") if args.db else str(where.template)
        floor = json.loads(
            _child(
                "floor",
                target,
                template,
                floor_target,
                str(got["chunk"]),
                str(int(got["deferred"])),
                str(int(args.exclusive)),
            )
        )
        add("sqlite_floor_users_per_s", n / floor["wall"])
        add("sqlite_floor_cpu_us_per_user", floor["cpu"] / n * 1e6)
        py = json.loads(_child("python", str(data), where.fresh("py"), str(n)))
        add("python_floor_us_per_user", py["cpu"] / n * 1e6)
        add("python_floor_wall_us_per_user", py["wall"] / n * 1e6)
        add("deferred", float(got["deferred"]))
        add("chunk", float(got["chunk"]))
    cores = os.cpu_count() or 1
    spread = max(1, cores - 1)  # the writer holds one core
    for sqlite_floor, python_us, rate in zip(
        runs["sqlite_floor_users_per_s"],
        runs["python_floor_us_per_user"],
        runs["import_users_per_s"],
        strict=True,
    ):
        bound = min(sqlite_floor, spread * 1e6 / python_us)
        add("bound_users_per_s", bound)
        add("ratio_to_bound", bound / rate)
    for sqlite_cpu, python_us in zip(
        runs["sqlite_floor_cpu_us_per_user"], runs["python_floor_us_per_user"], strict=True
    ):
        # Whatever the design: both floors' CPU spread over every core, none ever idle.
        add("cpu_bound_users_per_s", cores * 1e6 / (sqlite_cpu + python_us))
    label = "postgresql" if args.db else "sqlite"
    print(f"users: {n}")
    print(f"backend: {label}")
    print(f"runs: {args.runs} (interleaved; medians below, every run on the _runs lines)")
    print(f"exclusive: {args.exclusive}")
    print(f"cores: {cores}")
    print(f"load_average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    order = (
        "import_users_per_s",
        "import_cpu_us_per_user",
        "import_writer_cpu_us_per_user",
        "import_worker_cpu_us_per_user",
        "sqlite_floor_users_per_s",
        "sqlite_floor_cpu_us_per_user",
        "python_floor_us_per_user",
        "python_floor_wall_us_per_user",
        "bound_users_per_s",
        "ratio_to_bound",
        "cpu_bound_users_per_s",
        "rows_per_user",
        "index_entries_per_user",
        "reload_users_per_s",
        "reload_cpu_us_per_user",
        "peak_rss_mb",
        "worker_peak_rss_mb",
    )
    for key in order:
        value = _median(runs[key])
        fmt = (
            ".2f" if key in ("ratio_to_bound", "rows_per_user", "index_entries_per_user") else ".0f"
        )
        print(f"{key}: {value:{fmt}}")
        if args.runs > 1 and key not in ("rows_per_user", "index_entries_per_user"):
            print(f"{key}_runs: {', '.join(f'{v:{fmt}}' for v in runs[key])}")
    print(f"indexes_deferred: {bool(runs['deferred'][0])}")
    print(f"chunk_size: {int(runs['chunk'][0])}")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
        for schema in where.schemas:
            pg_drop(args.db, schema)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "generate":
        generate(Path(sys.argv[2]), int(sys.argv[3]))
    elif command == "template":
        make_template(sys.argv[2])
    elif command == "import":
        got = measure_import(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1")
        print(json.dumps(got))
    elif command == "floor":
        a = sys.argv
        exclusive = len(a) > 7 and a[7] == "1"
        print(json.dumps(measure_floor(a[2], a[3], a[4], int(a[5]), a[6] == "1", exclusive)))
    elif command == "python":
        print(json.dumps(measure_python(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
    else:
        main()
