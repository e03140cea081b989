"""The audit trail: every created, changed or deleted field of a user record, and every login
event, written in the caller's transaction. Secrets never reach an audit value."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from peewee import ForeignKeyField, Model

from models.enums import AuditAction, Source
from models.runtime import runtime
from models.tables import Account, AuditEvent

# Stored values that must never appear in an audit event, log or message.
SECRET_FIELDS = frozenset({"password_hash", "pin_hash", "password", "pin", "code", "smtp_password"})
SECRET_MARK = "(changed)"
# Bookkeeping columns: derived or maintained by the services, not a change anyone made.
IGNORED_FIELDS = frozenset(
    {
        "id",
        "version",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "username_key",
        "email_key",
        "primary_id_key",
        "value_key",
        "address_key",
        "sort_name",
        "search_text",
        "failed_logins",
        "locked_until",
        "last_login_at",
        "data",
    }
)


@dataclass(frozen=True)
class Actor:
    """Who acts and through what. `account` None is the system (init, jobs)."""

    account: Account | None
    source: Source

    @property
    def name(self) -> str:
        if self.account is None:
            return "system"
        return self.account.person.username

    @property
    def account_id(self) -> int | None:
        return self.account.id if self.account is not None else None


def _display(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def snapshot(instance: Model) -> dict[str, str | None]:
    """The audited fields of a row as display strings (foreign keys as their id)."""
    out: dict[str, str | None] = {}
    for f in instance._meta.sorted_fields:
        if f.name in IGNORED_FIELDS:
            continue
        raw = getattr(instance, f.column_name if isinstance(f, ForeignKeyField) else f.name)
        out[f.name] = _display(raw)
    return out


@cache
def _public_code_entities() -> frozenset[str]:
    """Tables whose `code` column is a code-table code anyone may read (a user group's code),
    not a one-time secret: their codes are audited as they are."""
    from models.tables import ALL_TABLES

    return frozenset(m._meta.table_name for m in ALL_TABLES if "code" in m._meta.fields)


def _safe(field: str, value: str | None, entity: str = "") -> str | None:
    if field == "code" and entity in _public_code_entities():
        return value
    if field in SECRET_FIELDS and value is not None:
        return SECRET_MARK
    return value


def record(
    actor: Actor,
    action: AuditAction,
    *,
    entity: str,
    entity_id: int | None,
    account_id: int | None = None,
    person_id: int | None = None,
    field: str = "",
    old: str | None = None,
    new: str | None = None,
) -> None:
    AuditEvent.create(
        account_id=account_id,
        person_id=person_id,
        entity=entity,
        entity_id=entity_id,
        action=action.value,
        field=field,
        old_value=_safe(field, old, entity),
        new_value=_safe(field, new, entity),
        actor_id=actor.account_id,
        actor=actor.name,
        source=actor.source.value,
        at=runtime.now(),
    )


def record_changes(
    actor: Actor,
    instance: Model,
    before: dict[str, str | None] | None,
    after: dict[str, str | None] | None,
    *,
    account_id: int | None,
    person_id: int | None,
) -> int:
    """One event per field that differs between the two snapshots. `before` None: created;
    `after` None: deleted. Returns the number of events written."""
    if before is None:
        action, before = AuditAction.CREATE, {}
    elif after is None:
        action, after = AuditAction.DELETE, {}
    else:
        action = AuditAction.UPDATE
    entity = instance._meta.table_name
    rows = []
    now = runtime.now()
    for name in list(dict.fromkeys([*before, *after])):
        old, new = before.get(name), after.get(name)
        if old == new or (action != AuditAction.UPDATE and old in (None, "") and new in (None, "")):
            continue
        rows.append(
            {
                "account_id": account_id,
                "person_id": person_id,
                "entity": entity,
                "entity_id": instance.id,
                "action": action.value,
                "field": name,
                "old_value": _safe(name, old, entity),
                "new_value": _safe(name, new, entity),
                "actor_id": actor.account_id,
                "actor": actor.name,
                "source": actor.source.value,
                "at": now,
            }
        )
    if rows:
        AuditEvent.insert_many(rows).execute()
    return len(rows)
