"""Schema migrations: numbered `playhouse.migrations` scripts in `models/migrations/`."""

from __future__ import annotations

from pathlib import Path

from peewee import Database
from playhouse.migrations import Migration, Runner

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
HISTORY_TABLE = "schema_migration"


def runner(db: Database) -> Runner:
    return Runner(db, directory=str(MIGRATIONS_DIR), table_name=HISTORY_TABLE)


def migrate(db: Database) -> list[str]:
    """Apply every pending migration in order; returns the names applied."""
    return runner(db).up()


def status(db: Database) -> list[Migration]:
    return runner(db).status()


def pending(db: Database) -> list[str]:
    return [m.name for m in status(db) if not m.applied and m.path is not None]
