"""What an import shows of a record (preview, where it is, who holds a value) and its raw
lookups."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from peewee import IntegrityError

from models.store.base import database
from models.store.tables import (
    Account,
)
from models.transfer.formats import (
    map_lazy,
)


def preview_mark(rec: dict) -> str:
    """What the import does (a dry run: would do) with a record of `ImportReport.preview`:
    create, update, unchanged or refused, as counted in the report's summary. The mark is set
    where the record is counted (a record the file's own checks let through may still be
    refused by the database's, and a matched one may change nothing)."""
    return rec.get("outcome") or ("refused" if rec.get("refused") else "unchecked")


def _unchanged_preview(cand: dict) -> dict:
    """The preview row of a record skipped as unchanged (its fingerprint): mapped for its
    name and group only."""
    shown = map_lazy(cand["lazy"]) if "lazy" in cand else cand
    general = shown.get("general") or {}
    return {
        "label": cand.get("label") or shown.get("label", ""),
        "file": cand.get("file", ""),
        "primary_id": str(cand.get("primary_id") or shown.get("primary_id") or ""),
        "person": {k: str(general.get(k) or "") for k in ("first_name", "last_name")},
        "codes": shown.get("codes") or {},
        "outcome": "unchanged",
    }


def _here(rec: dict) -> str:
    """Where a record is: its label, after its file's name in a folder."""
    return f"{rec.get('file', '')} {rec.get('label', '')}".strip()


def _who(account_id: int, org_id: int) -> str:
    """Which account (of organization `org_id`) holds a value; another organization's account
    is not named: its primary identifier is not this organization's to learn."""
    row = Account.get_or_none(Account.id == account_id)
    if row is None:
        return f"another account ({account_id})"
    if row.organization_id != org_id:
        return "an account of another organization"
    return f"another account (primary identifier {row.primary_id})"


def _who_person(person_id: int, org_id: int) -> str:
    """An account of the person in organization `org_id`, named; else only where they are."""
    row = (
        Account.select()
        .where((Account.person == person_id) & (Account.organization == org_id))
        .first()
    )
    if row is not None:
        return f"account {row.primary_id}"
    if Account.select().where(Account.person == person_id).exists():
        return "an account of another organization"
    return "a person with no account here"


def _integrity_message(exc: IntegrityError) -> str:
    text = str(exc).splitlines()[0] if str(exc) else "a value is already used"
    return f"could not be written: {text}"


def _lookup(
    table: str, key: str, columns: str, keys: Any, *, upto: tuple[str, int] | None = None
) -> Iterator[tuple]:
    """Rows (key, *columns) of `table` whose `key` is one of `keys`, in raw SQL: a peewee
    query builds a node per value, which costs more than the lookup itself. `upto` (SQLite, an
    exclusive load whose indexes are deferred: `key` has none): (id column, highest id) of the
    rows that were there before the load, the only ones read (by their ids, one statement for
    every key); the keys of the load's own rows are the file's (`Importer._upto`)."""
    if upto is not None:
        if keys and upto[1] > 0:
            sql = (
                f"SELECT {key}, {columns} FROM {table} WHERE {upto[0]} <= ? "
                f"AND {key} IN (SELECT value FROM json_each(?))"
            )
            yield from database.execute_sql(sql, (upto[1], json.dumps(sorted(keys)))).fetchall()
        return
    mark = database.obj.param
    for part in _slices(sorted(keys), 900):
        marks = ", ".join([mark] * len(part))
        sql = f"SELECT {key}, {columns} FROM {table} WHERE {key} IN ({marks})"
        yield from database.execute_sql(sql, part).fetchall()


def _slices(values: list, size: int = 500) -> Iterator[list]:
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i : i + size]
