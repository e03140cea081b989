"""Large loads: the bulk writer of `patrondesk import` and `patrondesk demo`, and the secondary
indexes built once after the load, not row by row (SQLite).

The writer (`Table`, `BulkWriter`): rows are plain tuples in a table's column order, written
with the driver's bulk insert (sqlite3 `executemany`, psycopg2 `execute_values`). Measured on
SQLite: peewee's `insert_many` costs about 60 us per person row (building the query),
`executemany` about 8 us. Ids are given in the rows, so child rows point at their parents
without reading them back: `BulkWriter.ids` allocates them inside the transaction (the import),
or the caller counts from `next_id` and `BulkWriter.fix_sequences` moves PostgreSQL's serials
past them afterwards (the demo). `BulkWriter.write` inserts parents before children, in the
order that keeps the list and name indexes' inserts on neighbouring pages.

The indexes (`defer_indexes`, `restore_indexes`):

A load that at least doubles the people of a database (a first migration, a new campus) spends
most of its write time keeping ~35 secondary indexes in step, one random B-tree insert per index
per row. `defer_indexes` drops the non-unique ones in one transaction and records their SQL in
the `bulk_load.deferred` setting; `restore_indexes` builds them again, in one transaction, and
removes the record. What is never dropped:

- unique indexes (identifier values, usernames, login emails, primary ids: other sessions keep
  inserting while the load runs, and uniqueness must hold at every commit);
- the Find Users list indexes (`account_search_*`): the search names them (`INDEXED BY`);
- the usernames' look-alike index (`person_username_skeleton`): an import looks every chunk's
  username skeletons up in it (the look-alike check), and without it each look-up reads the
  whole person table, a cost that grows with the people loaded so far (a load of 100,000 spent
  30 µs a user more in it than with the index kept, about the cost of keeping it);
- the name-search and contains-search triggers on update and delete (guarded, see below).

The name-search trigger on insert is dropped too: SQLite's FTS5 writes a new index segment for
every statement that fires it (about 80 µs a person), while one `INSERT ... SELECT` in key order
at the end costs about 13. The people added meanwhile (by the load, or by another session) are
those above the highest person id at the start: the restore indexes exactly those.

The four contains-search insert triggers (`*_key_tri_ai`, migration 0013: an FTS5 trigram
table per key column: identifier value, primary id, login email, email address) are dropped the
same way, for the same reason (60 to 87 µs a row, four or five key rows a user): the restore
indexes the rows above each table's highest id at the start with one `INSERT ... SELECT` in id
order (the FTS5 'rebuild' command costs 2 to 6 times more: it reads every row whole, old ones
included).

The update and delete triggers of both indexes stay, guarded for the load's time by
`WHEN OLD.id <= <highest id at the start>`: an FTS5 "delete" of words that were never indexed
(a row added meanwhile, then changed or deleted by another session) corrupts the index (SQLite
3.40: the next delete of an indexed row fails with "database disk image is malformed"). The rows
added meanwhile are indexed by the restore as they are at its time; the restore removes the
guards.

While indexes are deferred the database stays correct; other sessions' lookups by the dropped
columns are slower, and the people being loaded are found neither by name nor by a contains
search until the load ends. A load killed meanwhile leaves the record behind: the next
`open_database` (any command, the app) or the next import finds that the process that wrote it
is gone and rebuilds what it deferred (`recover_abandoned`), contains-search rows included.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import keyword
import os
import re
import socket
import time
from typing import Any

from peewee import DateField, DateTimeField, PostgresqlDatabase, SqliteDatabase

from models.errors import PatronDeskError
from models.store.base import database
from models.store.tables import Setting

KEY = "bulk_load.deferred"
# Tables a load fills (the indexes of other tables are left alone).
TABLES = (
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
KEPT_PREFIXES = ("account_search_", "person_username_skeleton")
# Unique indexes an `INSERT ... ON CONFLICT` names (an import's state per account): kept even by
# an exclusive load, which defers every other.
UPSERT_KEYS = ("importstate_account_id",)
# A load's page cache (SQLite, KiB): the chunks' index pages stay in memory between chunks; the
# connection's own size comes back after the load.
LOAD_CACHE_KIB = 64 * 1024
NAME_TRIGGER = "person_name_ai"


# --- The bulk insert ----------------------------------------------------------------------------


class Table:
    """Column order and defaults of one table; `row(**values)` gives the tuple to insert.

    `defaults` lists every column with its default (the schema has no SQL defaults: peewee fills
    them in Python) and is checked against the model, so a new column cannot be forgotten
    silently; without it, the model's columns in its order, with the model's defaults (None for
    a computed one) but those `overrides` gives (each a column of the model). `row` is a
    generated function with one keyword argument per column (as namedtuple builds its
    constructor): binding is done by the interpreter, an unknown column is a TypeError, and the
    result is a plain tuple, cheap to pickle to another process.
    """

    def __init__(
        self,
        model: type,
        *,
        explicit_id: bool,
        defaults: dict | None = None,
        overrides: dict | None = None,
    ) -> None:
        self.model = model
        self.name = model._meta.table_name
        if defaults is None:
            defaults = {
                f.column_name: None if callable(f.default) else f.default
                for f in model._meta.sorted_fields
                if explicit_id or f.column_name != "id"
            }
            if unknown := (overrides or {}).keys() - defaults.keys():
                raise RuntimeError(f"{self.name} has no column {', '.join(sorted(unknown))}")
            defaults |= overrides or {}
        elif overrides:
            raise RuntimeError("overrides change the model's defaults, not given defaults")
        else:
            defaults = ({"id": None} if explicit_id else {}) | defaults
            expected = {f.column_name for f in model._meta.sorted_fields}
            if not explicit_id:
                expected.discard("id")
            if set(defaults) != expected:
                raise RuntimeError(f"the bulk columns of {self.name} differ from the model's")
        self.columns = tuple(defaults)
        self.index = {c: i for i, c in enumerate(self.columns)}
        if not all(c.isidentifier() and not keyword.iskeyword(c) for c in self.columns):
            raise RuntimeError(f"a column name of {self.name} is not a Python identifier")
        namespace = {f"_{c}": v for c, v in defaults.items()}
        params = ", ".join(f"{c}=_{c}" for c in self.columns)
        exec(f"def row(*, {params}):\n    return ({', '.join(self.columns)},)", namespace)
        self.row = namespace["row"]
        self.temporal = tuple(
            i
            for i, f in enumerate(model._meta.columns[c] for c in self.columns)
            if isinstance(f, DateField | DateTimeField)
        )

    def dates_as_text(self, rows: list[tuple]) -> list[tuple]:
        """`rows` with their dates and times as the ISO text peewee stores in SQLite
        ("YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS"), without relying on sqlite3's default adapters
        (deprecated in Python 3.12)."""
        temporal = self.temporal
        if not temporal:
            return rows
        out = []
        for row in rows:
            values = list(row)
            for i in temporal:
                if values[i] is not None:
                    values[i] = str(values[i])
            out.append(tuple(values))
        return out


def iso_text(value: Any) -> Any:
    """SQLite stores dates as text: ISO strings (what peewee writes) are bound directly."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def next_id(model: type) -> int:
    """The id after the highest of `model`'s table."""
    name = model._meta.table_name
    return int(database.execute_sql(f'SELECT COALESCE(MAX(id), 0) FROM "{name}"').fetchone()[0]) + 1


class BulkWriter:
    """The driver's bulk insert: sqlite3 `executemany`, psycopg2 `execute_values`.

    `needs` and `error` say what refuses another database ("imports need", ImportError_)."""

    def __init__(self, needs: str, error: type[Exception] = PatronDeskError) -> None:
        db = database.obj
        self.pg = isinstance(db, PostgresqlDatabase)
        if not (self.pg or isinstance(db, SqliteDatabase)):
            raise error(f"{needs} SQLite or PostgreSQL, not {type(db).__name__}")

    def ids(self, model: type, n: int) -> list[int]:
        """`n` new ids, allocated inside the current transaction."""
        if n == 0:
            return []
        name = model._meta.table_name
        if self.pg:
            cursor = database.execute_sql(
                f"SELECT nextval(pg_get_serial_sequence('\"{name}\"', 'id')) "
                "FROM generate_series(1, %s)",
                (n,),
            )
            return [r[0] for r in cursor.fetchall()]
        # SQLite: write transactions are begun IMMEDIATE (models.store.connection), so no other
        # writer
        # can take these ids before the commit.
        start = next_id(model)
        return list(range(start, start + n))

    def write(
        self,
        tables: tuple[Table, ...],
        rows: dict[str, list[tuple]],
        *,
        people_by_key: bool = False,
    ) -> None:
        """Insert the `rows` of each table (by name), `tables` in their order (parents first:
        foreign keys are checked on insert), in the caller's transaction.

        Row order inside a transaction is free (ids are given): accounts go in name order, which
        keeps the inserts into the (..., sort_name, id) list indexes on neighbouring pages (a
        fifth faster for the account table on SQLite). With `people_by_key`, people go in
        name-index key order: the full-text index (SQLite FTS5, filled by a trigger) flushes its
        pending terms to a new segment whenever a rowid is lower than the last one; in key order
        a chunk makes one segment instead of one per row or so (3x faster). Neither while a
        load has deferred that index (`defer_indexes`: the name trigger; an exclusive load: the
        list indexes too): rows then go in id order, appended to their table (its pages full,
        not split; a tenth less CPU for the person and account rows of a first migration)."""
        record = deferred()
        if record is not None:
            people_by_key = people_by_key and not record.get("trigger")
        by_name = record is None or not record.get("exclusive")
        for table in tables:
            if table.name == "account" and by_name and rows.get(table.name):
                name_at, id_at = table.index["sort_name"], table.index["id"]
                rows[table.name].sort(key=lambda r: (r[name_at], r[id_at]))
            elif table.name == "person" and people_by_key and rows.get(table.name):
                from models.search.engine import name_key

                name_at, id_at = table.index["sort_name"], table.index["id"]
                rows[table.name].sort(key=lambda r: name_key(r[name_at], r[id_at]))
        for table in tables:
            self.insert(table, rows[table.name])

    def insert(self, table: Table, rows: list[tuple]) -> None:
        if not rows:
            return
        columns = ", ".join(f'"{c}"' for c in table.columns)
        cursor = database.cursor()
        if not self.pg:
            marks = ", ".join("?" * len(table.columns))
            cursor.executemany(f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', rows)
            return
        sql = f'INSERT INTO "{table.name}" ({columns}) VALUES %s'
        try:
            from psycopg2.extensions import cursor as psycopg2_cursor
            from psycopg2.extras import execute_values
        except ImportError:  # pragma: no cover - peewee on psycopg 3
            psycopg2_cursor = None
        if psycopg2_cursor is not None and isinstance(cursor, psycopg2_cursor):
            execute_values(cursor, sql, rows, page_size=1_000)
        else:  # pragma: no cover - psycopg 3 pipelines executemany itself
            marks = ", ".join(["%s"] * len(table.columns))
            cursor.executemany(f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', rows)

    def fix_sequences(self, tables: tuple[Table, ...]) -> None:
        """PostgreSQL: move each serial past the ids inserted explicitly (rows counted from
        `next_id`)."""
        if not self.pg:
            return
        for table in tables:
            if "id" not in table.columns:
                continue
            name = table.name
            database.execute_sql(
                f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                f'(SELECT COALESCE(MAX(id), 1) FROM "{name}"), '
                f'(SELECT MAX(id) IS NOT NULL FROM "{name}"))'
            )


# --- Deferred indexes (SQLite) ------------------------------------------------------------------


@contextlib.contextmanager
def load_cache() -> Any:
    """The page cache of a load (SQLite): `LOAD_CACHE_KIB` for its time, then the
    connection's own size again (its pages beyond that are freed)."""
    if not is_sqlite():
        yield
        return
    before = int(database.execute_sql("PRAGMA cache_size").fetchone()[0])
    database.execute_sql(f"PRAGMA cache_size = -{LOAD_CACHE_KIB}")
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            database.execute_sql(f"PRAGMA cache_size = {before}")


@contextlib.contextmanager
def sort_threads() -> Any:
    """SQLite's helper threads for the sorts of CREATE INDEX (`PRAGMA threads`): one per core
    but this one's, back to none after."""
    threads = max(0, min(4, (os.cpu_count() or 1) - 1))
    database.execute_sql(f"PRAGMA threads = {threads}")
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            database.execute_sql("PRAGMA threads = 0")


def _trigram_columns() -> tuple[tuple[str, str, str], ...]:
    """(table, key column, FTS5 table) of the contains search (migration 0013)."""
    import importlib

    return importlib.import_module("models.store.migrations.0013_contains_index").COLUMNS


def _name_key_sql() -> str:
    import importlib

    migration = importlib.import_module("models.store.migrations.0010_monotone_name_key")
    return migration.name_key_sql("sort_name", "id")


def is_sqlite() -> bool:
    from peewee import SqliteDatabase

    return isinstance(database.obj, SqliteDatabase)


def _record() -> dict | None:
    row = Setting.get_or_none(Setting.key == KEY)
    if row is None:
        return None
    try:
        value = json.loads(row.value)
    except ValueError:
        return {"indexes": [], "pid": 0, "host": ""}
    return value if isinstance(value, dict) else {"indexes": [], "pid": 0, "host": ""}


def deferred() -> dict | None:
    """The record of a load that deferred indexes (None when none did)."""
    return _record() if is_sqlite() else None


class ExclusiveRefused(PatronDeskError):
    """`exclusive_lock`: another session has the database open."""


@contextlib.contextmanager
def exclusive_lock() -> Any:
    """Hold the SQLite database alone for the block: refused (`ExclusiveRefused`) while another
    connection has it open, even idle (in WAL mode each open connection holds a shared lock
    that the exclusive one waits for); meanwhile every other connection, new ones included,
    waits and then gets "database is locked". The operating system drops the lock with the
    process, so a kill leaves nothing locked (the deferred indexes' note remains: the next
    start rebuilds them)."""
    if not is_sqlite():
        raise ExclusiveRefused("an exclusive import is for SQLite: PostgreSQL loads stay shared")
    timeout = int(database.execute_sql("PRAGMA busy_timeout").fetchone()[0])
    database.execute_sql("PRAGMA busy_timeout = 2000")  # a transaction ending: not a session
    database.execute_sql("PRAGMA locking_mode = EXCLUSIVE")
    refused = ""
    try:
        database.execute_sql("BEGIN EXCLUSIVE")
        database.execute_sql("COMMIT")
    except Exception as exc:  # the error's traceback holds the connection's failed statement
        refused = str(exc) or type(exc).__name__
    if refused:
        # A refused attempt leaves the connection holding a lock that NORMAL does not give
        # back: a new connection (with the usual pragmas) takes its place.
        database.close()
        database.connect()
        if "locked" not in refused and "busy" not in refused:
            raise ExclusiveRefused(f"the database refused the lock ({refused[:200]})")
        raise ExclusiveRefused(
            "another session has the database open (the app, another command): close it "
            "first, an exclusive import holds the database alone"
        )
    database.execute_sql(f"PRAGMA busy_timeout = {timeout}")
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            database.execute_sql("PRAGMA locking_mode = NORMAL")
            # The lock goes at the connection's next access.
            database.execute_sql("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()


def defer_indexes(exclusive: bool = False) -> bool:
    """Drop the deferrable indexes (one transaction). False when another live load holds them
    deferred already, or when this is not SQLite. `exclusive` (the caller holds the database
    alone, `exclusive_lock`): every index, the unique and list ones too; the caller checks
    uniqueness itself meanwhile."""
    if not is_sqlite():
        return False
    with database.atomic():
        if _record() is not None:
            return False
        marks = ", ".join("?" * len(TABLES))
        rows = database.execute_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks}) ORDER BY name",
            TABLES,
        ).fetchall()
        dropped = [
            (name, sql)
            for name, sql in rows
            if (exclusive and name not in UPSERT_KEYS)
            or (not sql.upper().startswith("CREATE UNIQUE") and not name.startswith(KEPT_PREFIXES))
        ]
        trigger = database.execute_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (NAME_TRIGGER,)
        ).fetchone()
        person_from = database.execute_sql("SELECT COALESCE(MAX(id), 0) FROM person").fetchone()
        trigrams = []
        for table, column, fts in _trigram_columns():
            row = database.execute_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (f"{fts}_ai",)
            ).fetchone()
            if row is None:
                continue  # before migration 0013, or deferred already
            start = database.execute_sql(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"').fetchone()
            trigrams.append(
                {"table": table, "column": column, "fts": fts, "trigger": row[0], "from": start[0]}
            )
        record = {
            "indexes": [sql for _, sql in dropped],
            "trigger": trigger[0] if trigger else None,
            "person_from": person_from[0],
            "trigrams": trigrams,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
            "exclusive": exclusive,
        }
        guarded = []
        if trigger:
            guarded += [(n, person_from[0]) for n in ("person_name_ad", "person_name_au")]
        for item in trigrams:
            guarded += [(f"{item['fts']}_{s}", item["from"]) for s in ("ad", "au")]
        record["guarded"] = [{"name": n, "from": start} for n, start in guarded]
        Setting.insert(key=KEY, value=json.dumps(record)).execute()
        for name, _ in dropped:
            database.execute_sql(f'DROP INDEX "{name}"')
        if trigger:
            database.execute_sql(f'DROP TRIGGER "{NAME_TRIGGER}"')
        for item in trigrams:
            database.execute_sql(f'DROP TRIGGER "{item["fts"]}_ai"')
        for name, start in guarded:
            _rewrite_trigger(name, lambda sql, n=start: _guard(sql, n))
    return True


def _guard(sql: str, start: int) -> str:
    """The delete/update trigger `sql` made to skip rows above id `start` (never indexed)."""
    head, sep, body = sql.partition(" BEGIN ")
    if " WHEN " in head:
        head = head.replace(" WHEN ", f" WHEN OLD.id <= {int(start)} AND (", 1) + ")"
    else:
        head += f" WHEN OLD.id <= {int(start)}"
    return head + sep + body


def _unguard(sql: str, start: int) -> str:
    """`sql` as it was before `_guard` (unchanged if it holds no guard)."""
    head, sep, body = sql.partition(" BEGIN ")
    opening = f" WHEN OLD.id <= {int(start)} AND ("
    if opening in head and head.endswith(")"):
        head = head.replace(opening, " WHEN ", 1)[:-1]
    elif head.endswith(f" WHEN OLD.id <= {int(start)}"):
        head = head[: -len(f" WHEN OLD.id <= {int(start)}")]
    return head + sep + body


def _rewrite_trigger(name: str, change) -> None:  # noqa: ANN001
    row = database.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)
    ).fetchone()
    if row is None:
        return
    sql = change(row[0])
    if sql != row[0]:
        database.execute_sql(f'DROP TRIGGER "{name}"')
        database.execute_sql(sql)


def restore_indexes() -> int:
    """Build the deferred indexes and names again (one transaction); the number of indexes
    built (the name index counts as one)."""
    if not is_sqlite():
        return 0
    with sort_threads(), load_cache(), database.atomic():  # its sorts use the page cache's size
        record = _record()
        if record is None:
            return 0
        built = 0
        for sql in record.get("indexes") or []:
            # As sqlite_master holds it ("CREATE INDEX name ON ..."); an index made meanwhile
            # by someone else is left as it is.
            database.execute_sql(
                re.sub(
                    r"^CREATE (UNIQUE )?INDEX (?!IF NOT EXISTS)",
                    lambda m: f"CREATE {m.group(1) or ''}INDEX IF NOT EXISTS ",
                    str(sql),
                )
            )
            built += 1
        trigger = record.get("trigger")
        if trigger:
            # Name keys in increasing order: FTS5 then writes one segment for them all.
            database.execute_sql(
                "INSERT INTO person_name_fts (rowid, words) "
                f"SELECT {_name_key_sql()} AS key, search_text FROM person WHERE id > ? "
                "ORDER BY key",
                (int(record.get("person_from") or 0),),
            )
            exists = database.execute_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (NAME_TRIGGER,)
            ).fetchone()
            if not exists:
                database.execute_sql(str(trigger))
            built += 1
        built += _restore_trigrams(record.get("trigrams"))
        for item in record.get("guarded") or []:
            if isinstance(item, dict) and isinstance(item.get("from"), int):
                name = str(item.get("name"))
                if re.fullmatch(r"person_name_a[du]|[a-z]+_key_tri_a[du]", name):
                    _rewrite_trigger(name, lambda sql, n=item["from"]: _unguard(sql, n))
        Setting.delete().where(Setting.key == KEY).execute()
    return built


def _restore_trigrams(items: object) -> int:
    """Index the key rows added while the contains-search insert triggers were dropped, and
    create the triggers again (as sqlite_master held them); the number restored. Only the
    tables and columns of migration 0013 are taken from the record."""
    if not isinstance(items, list):
        return 0
    known = {fts: (table, column) for table, column, fts in _trigram_columns()}
    restored = 0
    for item in items:
        if not isinstance(item, dict) or item.get("fts") not in known:
            continue
        fts = str(item["fts"])
        table, column = known[fts]
        present = database.execute_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (fts,)
        ).fetchone()
        if not present:
            continue  # the contains index is gone (a downgrade): nothing to fill
        try:
            start = int(item.get("from") or 0)
        except (TypeError, ValueError):
            start = 0  # an unreadable record: index every row again (slower, still right)
        # In id order: FTS5 then writes one segment for them all.
        database.execute_sql(
            f'INSERT INTO "{fts}" (rowid, "{column}") '
            f'SELECT id, "{column}" FROM "{table}" WHERE id > ? ORDER BY id',
            (start,),
        )
        name = f"{fts}_ai"
        exists = database.execute_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)
        ).fetchone()
        if not exists:
            sql = str(item.get("trigger") or "")
            if not sql.startswith(f"CREATE TRIGGER {name} AFTER INSERT ON {table} "):
                sql = (
                    f"CREATE TRIGGER {name} AFTER INSERT ON {table} BEGIN "
                    f"INSERT INTO {fts} (rowid, {column}) VALUES (new.id, new.{column}); END"
                )
            database.execute_sql(sql)
        restored += 1
    return restored


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def abandoned() -> bool:
    """Whether indexes are deferred by a load whose process is gone (on this machine)."""
    record = deferred()
    if record is None:
        return False
    if record.get("host") != socket.gethostname():
        return False  # a load on another machine: its own process will restore them
    return not _alive(int(record.get("pid") or 0))


def recover_abandoned() -> int:
    """Rebuild the indexes a killed load left deferred; the number built (0 if none)."""
    if not abandoned():
        return 0
    return restore_indexes()
