"""Schema migrations: numbered `playhouse.migrations` scripts in `models/store/migrations/`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from peewee import Database

if TYPE_CHECKING:
    from playhouse.migrations import Migration, Runner

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
HISTORY_TABLE = "schema_migration"


def runner(db: Database) -> Runner:
    from playhouse.migrations import Runner  # only when there is migrating to do

    return Runner(db, directory=str(MIGRATIONS_DIR), table_name=HISTORY_TABLE)


def migration_names() -> list[str]:
    return sorted(p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py"))


def up_to_date(db: Database) -> bool:
    """Every migration file is recorded as applied: the cheap check made at every start."""
    if not db.table_exists(HISTORY_TABLE):
        return False
    applied = {row[0] for row in db.execute_sql(f"SELECT name FROM {HISTORY_TABLE}").fetchall()}
    return set(migration_names()) <= applied


def migrate(db: Database) -> list[str]:
    """Apply every pending migration in order; returns the names applied."""
    if up_to_date(db):
        return []
    return runner(db).up()


def status(db: Database) -> list[Migration]:
    return runner(db).status()


def pending(db: Database) -> list[str]:
    return [m.name for m in status(db) if not m.applied and m.path is not None]
