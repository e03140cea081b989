"""The audit trail: every created, changed or deleted field of a user record, and every login
event, written in the caller's transaction. Secrets never reach an audit value.

Who did it: a staff account's username; the system (no account) is "system", and a command
line process names the operating-system account and host that ran it: "system (jdoe@server)",
"import:sis (jdoe@server)" (`command_line_operator`, set by the command line through
`models.runtime.configure(operator=...)`)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from peewee import ForeignKeyField, Model

from models.enums import AuditAction, Source
from models.runtime import runtime
from models.store.tables import Account, AuditEvent

ACTOR_MAX = 100  # AuditEvent.actor, created_by and updated_by hold this many characters
_USER_MAX = 32
_HOST_MAX = 48


def _clean_name(text: object, limit: int) -> str:
    """An operating-system user or host name as harmless text: letters, digits and ._-$+ kept,
    anything else (control characters, escape sequences, bidi overrides, spaces, @) shown as
    "?", at most `limit` characters. The environment and the host name are the caller's to
    set: nothing of them may reach a terminal that shows the History."""
    out = []
    for ch in str(text)[: limit * 4]:
        if ch.isascii():
            keep = ch.isalnum() or ch in "._-$+"
        else:
            keep = unicodedata.category(ch) in ("Ll", "Lu", "Lo", "Nd")
        out.append(ch if keep else "?")
    return "".join(out)[:limit] or "?"


def _os_user() -> str:
    """The name of the real user id running this process. Not `getpass.getuser()` first: it
    believes $LOGNAME, $USER and $USERNAME, which anyone sets to anything."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):  # Windows, or a uid without a passwd entry
        pass
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # noqa: BLE001 - getuser raises OSError or KeyError, by platform
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def command_line_operator() -> str:
    """The "user@host" of the operating-system account running this command line process,
    cleaned (`_clean_name`): what the audit of an import, export, purge or config import
    names."""
    try:
        host = socket.gethostname()
    except OSError:
        host = "unknown"
    return f"{_clean_name(_os_user(), _USER_MAX)}@{_clean_name(host, _HOST_MAX)}"


def system_name(label: str = "system") -> str:
    """How the system (no account) is named in the audit: `label`, followed by the operator of
    a command line process ("system (jdoe@server)"); at most ACTOR_MAX characters."""
    operator = runtime.operator
    if not operator:
        return label[:ACTOR_MAX]
    tail = f" ({operator[: ACTOR_MAX - 10]})"
    return label[: ACTOR_MAX - len(tail)] + tail


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
        "username_skeleton",
        "email_key",
        "primary_id_key",
        "value_key",
        "address_key",
        "sort_name",
        "search_text",
        "name_sound_key",
        "failed_logins",
        "locked_until",
        "last_login_at",
        "data",
        # Always empty since migration 0019 (the libraries are rows of `account_library`).
        "retired_resource_sharing_library",
        "retired_purchase_request_library",
    }
)


@dataclass(frozen=True)
class Actor:
    """Who acts and through what. `account` None is the system (init, jobs)."""

    account: Account | None
    source: Source
    job_id: int | None = None  # a bulk job's changes name it in History (models/jobs/)

    @property
    def name(self) -> str:
        if self.account is None:
            return system_name()
        return self.account.person.username

    @property
    def account_id(self) -> int | None:
        return self.account.id if self.account is not None else None

    @property
    def writes_documents(self) -> bool:
        """Whether the files this actor names must be documents (`models.store.files`): a
        staff session's, whose user is not the operating-system account; the system (the
        command line) is that account."""
        return self.account is not None


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
    from models.store.tables import ALL_TABLES

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
        job_id=actor.job_id,
    )


def change_rows(
    actor: Actor,
    instance: Model,
    before: dict[str, str | None] | None,
    after: dict[str, str | None] | None,
    *,
    account_id: int | None,
    person_id: int | None,
    at: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """The History rows `record_changes` writes (one per field that differs between the two
    snapshots; `before` None: created; `after` None: deleted), for `insert_rows`: a bulk
    writer (a job's chunk) collects those of many records and inserts them at once."""
    if before is None:
        action, before = AuditAction.CREATE, {}
    elif after is None:
        action, after = AuditAction.DELETE, {}
    else:
        action = AuditAction.UPDATE
    entity = instance._meta.table_name
    rows = []
    now = at or runtime.now()
    who = None  # (the actor's columns: worked out once, a job asks for 65,000 users' rows)
    for name, old, new in _changes(action, entity, before, after):
        if who is None:
            who = (actor.account_id, actor.name, actor.source.value, actor.job_id)
        rows.append(
            {
                "account_id": account_id,
                "person_id": person_id,
                "entity": entity,
                "entity_id": instance.id,
                "action": action.value,
                "field": name,
                "old_value": old,
                "new_value": new,
                "actor_id": who[0],
                "actor": who[1],
                "source": who[2],
                "at": now,
                "job_id": who[3],
            }
        )
    return rows


def _changes(
    action: AuditAction,
    entity: str,
    before: dict[str, str | None],
    after: dict[str, str | None],
) -> Iterator[tuple[str, str | None, str | None]]:
    """(field, old, new) of each event between two snapshots, as History keeps them (a secret
    masked): the rule of `change_rows` and `update_tuples`."""
    names = [*before, *(name for name in after if name not in before)]
    for name in names:
        old, new = before.get(name), after.get(name)
        if old == new or (action != AuditAction.UPDATE and old in (None, "") and new in (None, "")):
            continue
        yield name, _safe(name, old, entity), _safe(name, new, entity)


def update_tuples(
    actor: Actor,
    entity: str,
    changes: Iterable[tuple[int, int | None, int | None, dict, dict]],
    at: dt.datetime,
) -> tuple[list[tuple], list[int | None]]:
    """The History rows of many updates at once, as `insert_tuples` writes them: for each
    (entity id, account id, person id, before, after) (snapshots, as `change_rows` takes
    them), the rows `change_rows` gives, made as tuples directly (a bulk job's chunk: a dict
    and then a tuple per row cost more than the rest of its History). Returns (the rows, the
    account id of each)."""
    from models.store.bulk import BulkWriter

    table = _audit_table()
    make = table.row
    pg = BulkWriter("History's bulk insert needs").pg
    stamp: Any = at
    if len(table.temporal) != 1:  # (only `at` is made text below)
        raise RuntimeError("History has a date column besides `at`: update_tuples needs it")
    if not pg:  # SQLite keeps the time as text (`Table.dates_as_text`)
        stamp = table.dates_as_text([make(at=at)])[0][table.index["at"]]
    action = AuditAction.UPDATE.value
    actor_id, name, source, job_id = actor.account_id, actor.name, actor.source.value, actor.job_id
    rows: list[tuple] = []
    of: list[int | None] = []
    for entity_id, account_id, person_id, before, after in changes:
        for field, old, new in _changes(AuditAction.UPDATE, entity, before, after):
            rows.append(
                make(
                    account_id=account_id, person_id=person_id, entity=entity,
                    entity_id=entity_id, action=action, field=field, old_value=old,
                    new_value=new, actor_id=actor_id, actor=name, source=source, at=stamp,
                    job_id=job_id,
                )
            )  # fmt: skip
            of.append(account_id)
    return rows, of


@cache
def _audit_table():  # noqa: ANN202
    from models.store.bulk import Table

    return Table(AuditEvent, explicit_id=False)


def insert_rows(rows: list[dict[str, Any]]) -> int:
    """Insert History rows (`change_rows`) with the driver's bulk insert
    (`models.store.bulk.BulkWriter`, as the import writes History: peewee's `insert_many`
    spends most of a bulk job's time building the statement), in the caller's transaction.
    Returns the number written."""
    if not rows:
        return 0
    return insert_tuples(as_tuples(rows))


def as_tuples(rows: list[dict[str, Any]]) -> list[tuple]:
    """History rows (`change_rows`) as `insert_tuples` writes them: made before a write
    transaction, so that it holds only the insert (a bulk job's chunk)."""
    from models.store.bulk import BulkWriter

    table = _audit_table()
    tuples = [table.row(**r) for r in rows]
    return tuples if BulkWriter("History's bulk insert needs").pg else table.dates_as_text(tuples)


def insert_tuples(tuples: list[tuple]) -> int:
    """Insert History rows made by `as_tuples`, in the caller's transaction."""
    if not tuples:
        return 0
    from models.store.bulk import BulkWriter

    BulkWriter("History's bulk insert needs").insert(_audit_table(), tuples)
    return len(tuples)


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
    rows = change_rows(actor, instance, before, after, account_id=account_id, person_id=person_id)
    return insert_rows(rows)
