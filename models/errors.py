"""Typed errors of the domain. Each carries what a screen or the CLI needs to say it in words.

No message ever contains a password, PIN or code: callers pass field names, never secrets.
"""

from __future__ import annotations

from collections.abc import Mapping


class PatronDeskError(Exception):
    """Base of every error the domain raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(PatronDeskError):
    """One or more fields are wrong. `errors` maps field name -> human message, in form order."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = dict(errors)
        summary = "; ".join(f"{field}: {msg}" for field, msg in self.errors.items())
        super().__init__(summary or "invalid input")

    @property
    def first_field(self) -> str | None:
        return next(iter(self.errors), None)


class UniquenessError(ValidationError):
    """A value is already taken. `holder` names the account that holds it, when known."""

    def __init__(self, errors: Mapping[str, str], holder_account_id: int | None = None) -> None:
        super().__init__(errors)
        self.holder_account_id = holder_account_id


class PermissionDenied(PatronDeskError):
    """The acting staff user may not do this action on this record."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(message)
        self.action = action


class AuthenticationError(PatronDeskError):
    """Login refused. `reason` is one of: credentials, locked, inactive, expired, no_account."""

    def __init__(self, reason: str, message: str, minutes_left: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.minutes_left = minutes_left


class ConflictError(PatronDeskError):
    """The record changed since it was read: the save is refused, nothing is overwritten."""

    def __init__(self, changed_by: str, changed_at: object) -> None:
        who = changed_by or "another user"
        super().__init__(f"This record was changed by {who} at {changed_at}. Reload it first.")
        self.changed_by = changed_by
        self.changed_at = changed_at


class NotFound(PatronDeskError):
    pass


class DatabaseOpenError(PatronDeskError):
    """The database cannot be opened or reached."""


class StorageError(PatronDeskError):
    """The database refused a write (read-only, full disk, I/O error, lost server): nothing was
    saved; the message says what to do."""
