"""Large loads into SQLite: secondary indexes built once after the load, not row by row.

A load that at least doubles the people of a database (a first migration, a new campus) spends
most of its write time keeping ~35 secondary indexes in step, one random B-tree insert per index
per row. `defer_indexes` drops the non-unique ones in one transaction and records their SQL in
the `bulk_load.deferred` setting; `restore_indexes` builds them again, in one transaction, and
removes the record. What is never dropped:

- unique indexes (identifier values, usernames, login emails, primary ids: other sessions keep
  inserting while the load runs, and uniqueness must hold at every commit);
- the Find Users list indexes (`account_search_*`): the search names them (`INDEXED BY`);
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

import json
import os
import re
import socket
import time

from models.base import database
from models.tables import Setting

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
KEPT_PREFIXES = ("account_search_",)
NAME_TRIGGER = "person_name_ai"
_IF_NEW = "CREATE INDEX IF NOT EXISTS "


def _trigram_columns() -> tuple[tuple[str, str, str], ...]:
    """(table, key column, FTS5 table) of the contains search (migration 0013)."""
    import importlib

    return importlib.import_module("models.migrations.0013_contains_index").COLUMNS


def _name_key_sql() -> str:
    import importlib

    migration = importlib.import_module("models.migrations.0010_monotone_name_key")
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


def defer_indexes() -> bool:
    """Drop the deferrable indexes (one transaction). False when another live load holds them
    deferred already, or when this is not SQLite."""
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
            if not sql.upper().startswith("CREATE UNIQUE") and not name.startswith(KEPT_PREFIXES)
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
    with database.atomic():
        record = _record()
        if record is None:
            return 0
        built = 0
        for sql in record.get("indexes") or []:
            # As sqlite_master holds it ("CREATE INDEX name ON ..."); an index made meanwhile
            # by someone else is left as it is.
            database.execute_sql(re.sub(r"^CREATE INDEX (?!IF NOT EXISTS)", _IF_NEW, str(sql)))
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
