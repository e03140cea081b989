"""Storage failures (read-only database, full disk, I/O error) in words a librarian can act on.

Every save runs in one transaction, so when the database refuses a write nothing is half-saved;
the screens keep what was typed and show this message instead of a traceback."""

from __future__ import annotations

_PROBLEMS = (
    (("readonly", "read-only", "read only"),
     "The database is read-only (file permissions, or a read-only disk or server): nothing was "
     "saved. What you typed is still here; ask your administrator, then save again."),
    (("disk is full", "no space left", "could not extend file", "database or disk is full"),
     "The disk holding the database is full: nothing was saved. What you typed is still here; "
     "free some space, then save again."),
    (("disk i/o error", "input/output error"),
     "The disk holding the database failed to read or write (I/O error): nothing was saved. "
     "What you typed is still here."),
    (("database is locked", "deadlock detected", "lock timeout"),
     "The database stayed busy with another long write: nothing was saved. Save again."),
    (("server closed the connection", "connection already closed", "could not connect",
      "terminating connection"),
     "The connection to the database server was lost: nothing was saved. What you typed is "
     "still here; save again when the server is back."),
)  # fmt: skip


def storage_problem(error: BaseException) -> str | None:
    """The message for a storage failure, or None when `error` is something else (a bug)."""
    import sqlite3

    from peewee import DatabaseError as PeeweeDatabaseError
    from peewee import InterfaceError

    if not isinstance(error, (sqlite3.Error, PeeweeDatabaseError, InterfaceError, OSError)):
        return None
    text = str(error).lower()
    for needles, message in _PROBLEMS:
        if any(needle in text for needle in needles):
            return message
    return None
