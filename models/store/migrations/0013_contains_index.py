"""Contains search ("~U0000025" in Find Users): an index of the substrings of the four key
columns a contains search reads (`identifier.value_key`, `account.primary_id_key`,
`person.email_key`, `email.address_key`).

PostgreSQL: the `pg_trgm` extension (trusted: a database owner may create it) and a GIN
trigram index on each column, read by `LIKE '%text%'`. The operator class is named with the
schema the extension lives in, so a database working in a schema of its own
(`options=-csearch_path=...`) finds it. The pending list of each index is kept small
(64 kB): rows written since the last VACUUM wait there, and every search reads it whole
(with the default 4 MB, a contains search at 20,000 users freshly loaded took 75 ms instead
of 2); without a pending list (`fastupdate = off`) an insert of an identifier cost 189 µs
instead of 42 (82 with the small list).
SQLite (3.34 or later): an FTS5 table per column with the trigram tokenizer, its content the
table itself (external content: it stores no copy of the values), kept in step by triggers.
Each row written through a trigger costs about 60 to 80 µs (FTS5 writes a segment per
statement): an import row of a user writes four or five keys.

Frozen: it must never import the application models.
"""

# ruff: noqa
from peewee import *

# (table, key column, FTS5 table)
COLUMNS = (
    ("identifier", "value_key", "identifier_key_tri"),
    ("account", "primary_id_key", "account_key_tri"),
    ("person", "email_key", "person_key_tri"),
    ("email", "address_key", "email_key_tri"),
)


def up(migrator, db):
    run = db.execute_sql
    if isinstance(db, PostgresqlDatabase):
        run("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema = run(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'"
        ).fetchone()[0]
        opclass = '"%s".gin_trgm_ops' % schema.replace('"', '""')
        for table, column, _ in COLUMNS:
            run(
                f"CREATE INDEX IF NOT EXISTS {table}_{column}_trgm ON {table} "
                f"USING gin ({column} {opclass}) "
                "WITH (fastupdate = on, gin_pending_list_limit = 64)"
            )
        return
    for table, column, fts in COLUMNS:
        run(
            f"CREATE VIRTUAL TABLE {fts} USING fts5({column}, content='{table}', "
            "content_rowid='id', tokenize='trigram')"
        )
        run(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")
        run(
            f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts} (rowid, {column}) VALUES (new.id, new.{column}); END"
        )
        run(
            f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts} ({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); "
            "END"
        )
        run(
            f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {column} ON {table} "
            f"WHEN old.{column} IS NOT new.{column} BEGIN "
            f"INSERT INTO {fts} ({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); "
            f"INSERT INTO {fts} (rowid, {column}) VALUES (new.id, new.{column}); END"
        )


def down(migrator, db):
    run = db.execute_sql
    if isinstance(db, PostgresqlDatabase):
        for table, column, _ in COLUMNS:
            run(f"DROP INDEX IF EXISTS {table}_{column}_trgm")
        return
    for _, _, fts in COLUMNS:
        for suffix in ("ai", "ad", "au"):
            run(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        run(f"DROP TABLE IF EXISTS {fts}")
