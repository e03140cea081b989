"""Large loads into SQLite: secondary indexes built once after the load, not row by row.

A load that at least doubles the people of a database (a first migration, a new campus) spends
most of its write time keeping ~35 secondary indexes in step, one random B-tree insert per index
per row. `defer_indexes` drops the non-unique ones in one transaction and records their SQL in
the `bulk_load.deferred` setting; `restore_indexes` builds them again, in one transaction, and
removes the record. What is never dropped:

- unique indexes (identifier values, usernames, login emails, primary ids: other sessions keep
  inserting while the load runs, and uniqueness must hold at every commit);
- the Find Users list indexes (`account_search_*`): the search names them (`INDEXED BY`);
- the name-search triggers on update and delete.

The name-search trigger on insert is dropped too: SQLite's FTS5 writes a new index segment for
every statement that fires it (about 80 µs a person), while one `INSERT ... SELECT` in key order
at the end costs about 13. The people added meanwhile (by the load, or by another session) are
those above the highest person id at the start: the restore indexes exactly those. An update or
delete of one of them by another session meanwhile fires the update/delete trigger, whose
"delete" finds nothing to remove (harmless in FTS5: it hides nothing), and whose insert the
restore repeats with the same words under the same key (FTS5 keeps the newest of a rowid).

While indexes are deferred the database stays correct; other sessions' lookups by the dropped
columns are slower, and the people being loaded are not found by name, until the load ends. A
load killed meanwhile leaves the record behind: the next `open_database` (any command, the app)
or the next import finds that the process that wrote it is gone and rebuilds what it deferred
(`recover_abandoned`).
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
        record = {
            "indexes": [sql for _, sql in dropped],
            "trigger": trigger[0] if trigger else None,
            "person_from": person_from[0],
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
        }
        Setting.insert(key=KEY, value=json.dumps(record)).execute()
        for name, _ in dropped:
            database.execute_sql(f'DROP INDEX "{name}"')
        if trigger:
            database.execute_sql(f'DROP TRIGGER "{NAME_TRIGGER}"')
    return True


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
        Setting.delete().where(Setting.key == KEY).execute()
    return built


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
