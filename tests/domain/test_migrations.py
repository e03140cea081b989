"""The schema is built by numbered migrations, and the migrations build exactly the models."""

from __future__ import annotations

from peewee import PostgresqlDatabase
from playhouse.schema_diff import diff_models

from models.store.base import database
from models.store.schema import migrate, pending, status
from models.store.tables import ALL_TABLES


def test_migrations_build_exactly_the_models(db) -> None:
    diff = diff_models(database.obj, ALL_TABLES)
    # PostgreSQL's trigram indexes of the contains search (migration 0013) are no model's.
    trigram = [i for i in diff.drop_indexes if (i.name or "").endswith("_trgm")]
    assert len(trigram) == (4 if isinstance(database.obj, PostgresqlDatabase) else 0)
    diff = diff._replace(drop_indexes=[i for i in diff.drop_indexes if i not in trigram])
    assert not diff, f"models and migrations differ:\n{diff}"


def test_every_migration_is_applied_and_listed(db) -> None:
    rows = status(database.obj)
    assert [m.name for m in rows][0] == "0001_initial"
    assert all(m.applied for m in rows)
    assert pending(database.obj) == []
    assert migrate(database.obj) == []  # running again applies nothing


def test_migrations_from_an_empty_sqlite_file(tmp_path) -> None:
    from models.store.connection import close_database, open_database

    db = open_database(str(tmp_path / "empty.db"), upgrade=False)
    try:
        assert [m.name for m in status(db) if not m.applied] == pending(db)
        assert pending(db)
        applied = migrate(db)
        assert applied and applied[0] == "0001_initial"
        assert not diff_models(db, ALL_TABLES)
        for model in ALL_TABLES:
            assert model.table_exists()
    finally:
        close_database()
