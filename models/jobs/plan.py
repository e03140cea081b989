"""What an update job does (issue 23; `models.jobs.jobs`): the assignments read and checked
once per job, the plan of each member's new values, and a chunk's writes, each at the version
the job read (a member a desk saved meanwhile is skipped)."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable

from peewee import PostgresqlDatabase

from models import audit
from models.access.permissions import Action, authorize
from models.audit import Actor
from models.config.codes import find_code
from models.config.settings import Settings
from models.enums import Status
from models.errors import ValidationError
from models.jobs.types import (
    _RELATIVE,
    CODE_MODELS,
    DATE_COLUMNS,
    FAILED,
    FK_COLUMNS,
    RENEW,
    SKIPPED,
    UPDATE_FIELDS,
)
from models.runtime import runtime
from models.store.base import database
from models.store.bulk import iso_text
from models.store.reading import id_list
from models.store.tables import (
    Account,
    JobItem,
)
from models.users.derived import group_months, renewed_expiry
from models.users.details import GeneralChecks, check_editable
from models.users.external import is_external, note_hand_change, stored_value
from models.users.lookups import UnknownCode

# The columns of a member an update or undo job (without rows) reads: its permission checks
# (organization, person, record type), an external account's fields (account type), the
# fields it may change and the rules between them, the optimistic lock and its report
# (version, who saved it when), the item's identifier. Read alone (`models_by_id(...,
# columns=)`): a column not listed raises when asked for, never reads as None.
MEMBER_COLUMNS = (
    "organization", "person", "primary_id", "primary_id_key", "account_type", "record_type",
    "user_group", "job_category", "campus", "status", "status_date", "expiry_date",
    "purge_date", "version", "updated_by", "updated_at",
)  # fmt: skip

# --- Reading what an update job does --------------------------------------------------------------


def parse_update(assignments: Iterable[str], organization_id: int) -> dict[str, str]:
    """`FIELD=VALUE` items (`--set user_group=GRAD --set expiry=+365d`) as the job's fields,
    checked before anything is read: a known field, a known code, a date, `+Nd` (days from
    today, fixed now) or `renew` (the user group's registration period, per member)."""
    out: dict[str, str] = {}
    problems: dict[str, str] = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        name, value = name.strip().replace("-", "_"), value.strip()
        if not sep or name not in UPDATE_FIELDS:
            raise ValidationError(
                {"set": f"{item!r}: use FIELD=VALUE with FIELD one of "
                 + ", ".join(sorted({k for k in UPDATE_FIELDS if "_date" not in k}))}
            )  # fmt: skip
        column = UPDATE_FIELDS[name]
        if column in CODE_MODELS:
            if value and find_code(CODE_MODELS[column], organization_id, value) is None:
                problems[column] = f"{value!r} is not a known {column.replace('_', ' ')}"
        elif column == "status":
            if value not in (Status.ACTIVE.value, Status.INACTIVE.value):
                problems[column] = "is active or inactive"
        elif column in DATE_COLUMNS:
            if column == "expiry_date" and value == RENEW:
                pass
            elif m := _RELATIVE.match(value):
                value = (runtime.today() + dt.timedelta(days=int(m.group(1)))).isoformat()
            elif value:
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    problems[column] = "is a date YYYY-MM-DD, +Nd" + (
                        " or renew" if column == "expiry_date" else ""
                    )
        out[column] = value
    if problems:
        raise ValidationError(problems)
    if not out:
        raise ValidationError({"set": "say what to change: --set FIELD=VALUE"})
    return out


class _Codes:
    """Code ids -> codes, for the preview's before/after."""

    def __init__(self) -> None:
        self.names: dict[tuple[str, int], str] = {}

    def show(self, column: str, value: object) -> str:
        if value is None:
            return ""
        if column in CODE_MODELS:
            key = (column, int(value))
            if key not in self.names:
                row = CODE_MODELS[column].get_or_none(CODE_MODELS[column].id == int(value))
                self.names[key] = row.code if row else str(value)
            return self.names[key]
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)


def _prepare(
    fields: dict[str, str], organization_id: int, actor: Actor, settings: Settings
) -> GeneralChecks:
    """The check of the job's members (`details.GeneralChecks`): the values checked once
    (what each code names), each member's half once per distinct reading of a member."""
    general = {f: v for f, v in fields.items() if f != "status"}
    return GeneralChecks(organization_id, actor, settings, values=general)


def _update_plan(
    account: Account,
    fields: dict[str, str],
    actor: Actor,
    settings: Settings,
    checks: GeneralChecks | None = None,
) -> tuple[dict[str, object], dict[str, object]]:
    """What the update job would write on this account: (column -> new value, column -> old
    value) of the columns that change; empty when nothing would. Raises the refusal (the
    checks of the one-user services, first the permissions). `checks` (`_prepare` of the
    same fields, for the job's every member): the values' own checks, done once per job; per
    member only what depends on the member (permissions, an external account's fields, the
    rules between fields), once per distinct reading of a member."""
    if checks is None:
        checks = _prepare(fields, account.organization_id, actor, settings)
    prepared = checks.prepared
    authorize(actor.account, Action.EDIT_USER, account)
    if "status" in fields:
        authorize(actor.account, Action.CHANGE_STATUS, account)
    # (the job's fields as they are, when they change no status: read, never changed here)
    general = (
        fields if "status" not in fields else {f: v for f, v in fields.items() if f != "status"}
    )
    if general:
        check_editable(account, general)
    if general.get("expiry_date") == RENEW:
        general = dict(general)  # (this member's date)
        group = prepared.entry("user_group", account.user_group_id)
        if general.get("user_group"):
            try:
                group = prepared.code("user_group", general["user_group"])
            except UnknownCode:
                group = None
        general["expiry_date"] = renewed_expiry(
            account.expiry_date,
            group_months(group),
            settings.default_expiry_days,
            runtime.today(),
        )
    clean = checks.check(general, account) if general else {}
    new: dict[str, object] = {}
    old: dict[str, object] = {}
    for f, v in clean.items():
        current = stored_value(f, account, None)
        if v != current:
            new[f], old[f] = v, current
    if "status" in fields and fields["status"] != account.status:
        new["status"], old["status"] = fields["status"], account.status
        new["status_date"], old["status_date"] = runtime.today(), account.status_date
    return new, old


def _columns(values: dict[str, object]) -> dict[str, object]:
    """Field -> stored value as account columns (a code field's id column)."""
    return {(f"{k}_id" if k in FK_COLUMNS else k): v for k, v in values.items()}


def _write_chunk(
    planned: list[tuple[JobItem, Account, dict[str, object], dict[str, object]]], actor: Actor
) -> dict[int, tuple[str, str]]:
    """Write the chunk's new values (`ChunkWrite`, worked out and written at once), in the
    caller's transaction. Returns the items not written (item id -> (outcome, why))."""
    return ChunkWrite(planned, actor).write()


# Accounts given the same values from the same version are written with one statement of
# their own from this many on; fewer go with those of values of their own (an undo's members
# share their old values in twos and threes: a statement each cost more than their rows).
_SAME_AT_LEAST = 16


class ChunkWrite:
    """A chunk's writes: the new values of its planned members, each account only at the
    version the job read, with their History entries (source and job of `actor`). Made
    before the chunk's transaction (the statements' values, the History rows), so that the
    transaction holds only the writes (`write`): a desk's save waits for no more.

    The accounts that get the same values from the same version are written by one `UPDATE
    ... WHERE id IN (...) AND version = ...`; those with values of their own (an undo, a
    renewal, members read at different versions, and groups of fewer than `_SAME_AT_LEAST`)
    by one `UPDATE ... FROM (VALUES ...)` per set of columns (`_write_values`). Each returns
    the ids it wrote: an account a desk saved
    meanwhile is not among them, so it is neither overwritten nor given History. The History
    rows of the chunk go in with one insert (`audit.insert_tuples`)."""

    def __init__(
        self,
        planned: list[tuple[JobItem, Account, dict[str, object], dict[str, object]]],
        actor: Actor,
    ) -> None:
        self.planned, self.actor = planned, actor
        self.now = now = runtime.now()
        groups: dict[tuple, list] = defaultdict(list)
        for entry in planned:
            item, _account, new, _old = entry
            key = (tuple(sorted(_columns(new).items())), item.version)
            groups[key].append(entry)
        # (columns, version, ids) written together; columns -> (id, version, values) apart
        self.same: list[tuple[tuple, int, list[int]]] = []
        self.own: dict[tuple[str, ...], list[tuple]] = defaultdict(list)
        for (columns, version), members in groups.items():
            ids = [account.id for _, account, _, _ in members]
            if len(ids) < _SAME_AT_LEAST:  # values of their own (nearly)
                names = tuple(c for c, _ in columns)
                self.own[names] += [(i, version, [v for _, v in columns]) for i in ids]
            else:
                self.same.append((columns, version, ids))
        shown = audit._display  # noqa: SLF001
        changes = []
        for _item, account, new, old in planned:
            names = _in_field_order(tuple(new))  # (the keys of `old` too)
            changes.append(
                (
                    account.id, account.id, account.person_id,
                    {k: shown(old[k]) for k in names}, {k: shown(new[k]) for k in names},
                )
            )  # fmt: skip
        self.history, self.history_of = audit.update_tuples(
            actor, Account._meta.table_name, changes, now
        )

    def write(self) -> dict[int, tuple[str, str]]:
        """Write, in the caller's transaction. Returns the items not written (item id ->
        (outcome, why))."""
        name, now = self.actor.name, self.now
        written: set[int] = set()
        for columns, version, ids in self.same:
            query = (
                Account.update(
                    **dict(columns), version=Account.version + 1, updated_by=name, updated_at=now
                )
                .where(Account.id.in_(id_list(ids)) & (Account.version == version))
                .returning(Account.id)
            )
            written.update(i for (i,) in query.tuples().execute())
        for names, rows in self.own.items():
            for start in range(0, len(rows), 500):
                written.update(_write_values(names, rows[start : start + 500], name, now))
        refused: dict[int, tuple[str, str]] = {}
        for item, account, new, old in self.planned:
            if account.id not in written:
                now_row = Account.get_or_none(Account.id == account.id)
                refused[item.id] = (
                    (SKIPPED, _changed_since(now_row)) if now_row else (FAILED, "no longer exists")
                )
                continue
            if is_external(account):
                for f, v in new.items():
                    if f not in ("status", "status_date"):
                        note_hand_change(account, f, old[f], v, self.actor)
        history = self.history
        if refused:  # (their History is not written)
            history = [t for t, a in zip(history, self.history_of, strict=True) if a in written]
        audit.insert_tuples(history)
        return refused


def _write_values(
    columns: tuple[str, ...], rows: list[tuple], name: str, now: dt.datetime
) -> list[int]:
    """Write each account's own values of `columns` at the version the job read, with one
    statement for the rows ((account id, version, values)): `UPDATE "account" SET ... FROM
    (VALUES ...)`, SQLite 3.33 and PostgreSQL, returning the ids written (an account saved
    meanwhile is not). The statement text is made once per set of columns and rows; peewee
    would build a query tree for each member (most of an undo's time, one statement each)."""
    pg = isinstance(database.obj, PostgresqlDatabase)
    fields = Account._meta.columns
    values: list = [name, now]  # the SET's, before the VALUES' in the statement
    for account_id, version, new in rows:
        values += [account_id, version]
        values += [fields[c].db_value(v) for c, v in zip(columns, new, strict=True)]
    if not pg:
        values = [iso_text(v) for v in values]
    sql = _values_sql(columns, len(rows), "%s" if pg else "?", pg)
    return [i for (i,) in database.execute_sql(sql, values).fetchall()]


@functools.cache
def _values_sql(columns: tuple[str, ...], n: int, mark: str, pg: bool) -> str:
    width = len(columns) + 2
    row = "(" + ", ".join([mark] * width) + ")"

    def value(i: int, column: str) -> str:
        if not pg:  # SQLite stores what it is given
            return f"v.column{i}"
        field = Account._meta.columns[column]
        kind = field.field_type
        # PostgreSQL types a VALUES column from its rows: a column of NULLs would be text.
        types = database.obj.get_context_options()["field_types"]
        return f"CAST(v.column{i} AS {types.get(kind, kind)})"

    sets = "".join(f'"{c}" = {value(i + 3, c)}, ' for i, c in enumerate(columns))
    key = "CAST(v.column1 AS INTEGER)", "CAST(v.column2 AS INTEGER)"
    if not pg:
        key = "v.column1", "v.column2"
    return (
        f'UPDATE "account" SET {sets}"version" = "account"."version" + 1, '
        f'"updated_by" = {mark}, "updated_at" = {mark} '
        f"FROM (VALUES {', '.join([row] * n)}) AS v "
        f'WHERE "account"."id" = {key[0]} AND "account"."version" = {key[1]} '
        'RETURNING "account"."id"'
    )


_FIELD_ORDER = {f.name: i for i, f in enumerate(Account._meta.sorted_fields)}


@functools.lru_cache(maxsize=256)
def _in_field_order(names: tuple[str, ...]) -> tuple[str, ...]:
    """The fields in the order of `audit.snapshot` (so History lists them as a desk save's)."""
    return tuple(sorted(names, key=lambda name: _FIELD_ORDER.get(name, len(_FIELD_ORDER))))


def _changed_since(account: Account) -> str:
    return (
        f"changed by {account.updated_by or 'another user'} at "
        f"{account.updated_at:%Y-%m-%d %H:%M:%S} since the job read it: not overwritten"
    )
