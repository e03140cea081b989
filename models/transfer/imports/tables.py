"""The import's bulk rows (one `Table` per table written) and its write failures."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from models.errors import StorageError
from models.store.base import database
from models.store.bulk import Table
from models.store.tables import (
    Account,
    AccountLibrary,
    Address,
    AuditEvent,
    Block,
    Email,
    Identifier,
    ImportState,
    Note,
    Person,
    Phone,
    RoleAssignment,
    Statistic,
)

# --- Bulk rows ----------------------------------------------------------------------------------


class _Tables:
    def __init__(self) -> None:
        self.person = Table(Person, explicit_id=True)
        self.account = Table(Account, explicit_id=True)
        self.identifier = Table(Identifier, explicit_id=False)
        self.email = Table(Email, explicit_id=False)
        self.address = Table(Address, explicit_id=False)
        self.phone = Table(Phone, explicit_id=False)
        self.role = Table(RoleAssignment, explicit_id=False)
        self.library = Table(AccountLibrary, explicit_id=False)  # an account's library lists
        self.note = Table(Note, explicit_id=False)
        self.block = Table(Block, explicit_id=False)
        self.statistic = Table(Statistic, explicit_id=False)
        self.audit = Table(AuditEvent, explicit_id=False)
        self.state = Table(ImportState, explicit_id=False)
        self.order = (
            self.person,
            self.account,
            self.identifier,
            self.email,
            self.address,
            self.phone,
            self.role,
            self.library,
            self.note,
            self.block,
            self.statistic,
            self.audit,
            self.state,
        )


_TABLES: _Tables | None = None


def _tables() -> _Tables:
    global _TABLES
    if _TABLES is None:
        _TABLES = _Tables()
    return _TABLES


# --- Write failures -----------------------------------------------------------------------------

# What a failed rollback says when the database already rolled the transaction back by itself.
_ROLLED_BACK = ("no transaction is active", "no such savepoint")


@contextlib.contextmanager
def _atomic() -> Iterator[None]:
    """`database.atomic()` whose rollback never hides the error that caused it. When a write
    fails for want of space or on an I/O error, SQLite may roll the whole transaction back by
    itself; peewee's rollback then fails ("cannot rollback - no transaction is active", "no
    such savepoint") and that error replaced the first one. The first one is raised."""
    try:
        with database.atomic():
            yield
    except Exception as exc:
        first = exc
        while first.__context__ is not None and any(t in str(first) for t in _ROLLED_BACK):
            first = first.__context__  # type: ignore[assignment]
        if first is exc or not isinstance(first, Exception):
            raise
        raise first from first.__cause__


def _write_errors() -> tuple[type[BaseException], ...]:
    """What a database raises when it refuses a write (a full disk, an I/O error, a lost
    server): peewee's errors, and the drivers' own from the bulk insert's cursor."""
    import sqlite3

    from peewee import DatabaseError, InterfaceError

    errors: list[type[BaseException]] = [StorageError, DatabaseError, InterfaceError, sqlite3.Error]
    with contextlib.suppress(ImportError):
        import psycopg2

        errors.append(psycopg2.Error)
    return tuple(errors)


class _DryRunRollback(Exception):
    pass
