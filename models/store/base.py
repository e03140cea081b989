"""The database handle and the base model every table derives from.

The database is bound at run time (`database.initialize(...)` from `models.store.connection`),
never at
import, so `models` can be imported and tested with no terminal and no configured database.
"""

from __future__ import annotations

import datetime as dt

from peewee import DatabaseProxy, Model

database = DatabaseProxy()


def utcnow() -> dt.datetime:
    """Naive UTC timestamp: what every stored `*_at` column holds (portable across back ends)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def fold_key(value: str | None) -> str | None:
    """The case-insensitive comparison key for usernames, emails and identifiers."""
    if value is None:
        return None
    value = value.strip()
    return value.casefold() if value else None


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False
