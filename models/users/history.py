"""The History tab (domain.md section 6): a user's audit events, newest first, filtered by
period; and pruning events older than the retention setting (`patrondesk audit prune`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from peewee import ForeignKeyField

from models.access.permissions import Action, authorize, may_see_history
from models.access.scope import OWNED_MODELS, LibraryScope, scope_of
from models.audit import Actor
from models.config.settings import Settings, load_settings
from models.errors import PermissionDenied, ValidationError
from models.runtime import runtime
from models.store.base import BaseModel, database
from models.store.tables import AuditEvent, CodeTable, Library
from models.users.details import load_account

# Period choices of the History filter: label -> days back (None: all).
PERIODS: dict[str, int | None] = {"7d": 7, "30d": 30, "1y": 365, "all": None}
PERIOD_LABELS: dict[str, str] = {
    "7d": "Last 7 days",
    "30d": "Last month",
    "1y": "Last year",
    "all": "All",
}
DEFAULT_PERIOD = "30d"


@dataclass(frozen=True)
class HistoryRow:
    at: dt.datetime
    actor: str  # username of who did it ("system" for init and jobs)
    source: str  # screen, cli, import, job; a bulk job's change names it: "job 12"
    action: str  # create, update, delete, login_success, login_failure, lockout
    entity: str  # table of the changed row: person, account, email, note, ...
    entity_id: int | None
    field: str
    old: str | None  # secrets are stored masked, never in the clear
    new: str | None
    job_id: int | None = None  # the bulk job that made the change (models/jobs/)


def source_shown(source: str, job_id: int | None) -> str:
    """How History (and the user card) shows where a change came from: a bulk job's change
    as "job 12", so the job can be found on the Jobs screen and undone; the others as stored."""
    return f"{source} {job_id}" if job_id is not None else source


def history(account_id: int, actor: Actor, period: str = DEFAULT_PERIOD) -> list[HistoryRow]:
    """Every audit event of this account (and the login events of its person, which carry no
    account), newest first, within the period: "7d", "30d" (default), "1y" or "all"."""
    if period not in PERIODS:
        raise ValidationError({"period": f"is one of {', '.join(PERIODS)}"})
    account = load_account(account_id)
    authorize(actor.account, Action.VIEW_USER, account)
    if not may_see_history(actor.account):
        raise PermissionDenied(
            "view_history",
            "You may not see users' History: the configuration keeps it to other roles "
            "(History visible to roles).",
        )
    where = (AuditEvent.account_id == account.id) | (
        (AuditEvent.person_id == account.person_id) & AuditEvent.account_id.is_null()
    )
    days = PERIODS[period]
    if days is not None:
        where &= AuditEvent.at >= runtime.now() - dt.timedelta(days=days)
    query = AuditEvent.select().where(where).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    events = _in_scope(list(query), scope_of(actor.account, account))
    named = _coded_names(events)
    return [
        HistoryRow(
            at=e.at,
            actor=e.actor,
            source=source_shown(e.source, e.job_id),
            action=e.action,
            entity=e.entity,
            entity_id=e.entity_id,
            field=e.field,
            old=named(e, e.old_value),
            new=named(e, e.new_value),
            job_id=e.job_id,
        )
        for e in events
    ]


@cache
def _coded_fields() -> dict[tuple[str, str], type[BaseModel]]:
    """(table, field) -> the code table or library whose row id the field holds: the audit
    stores a user group as its id ("user_group 1 → 2"); History shows its name."""
    from models.store.tables import ALL_TABLES

    out: dict[tuple[str, str], type[BaseModel]] = {}
    for model in ALL_TABLES:
        for name, f in model._meta.fields.items():
            target = f.rel_model if isinstance(f, ForeignKeyField) else None
            if target is not None and (issubclass(target, CodeTable) or target is Library):
                out[(model._meta.table_name, name)] = target
    return out


def _coded_names(events: list[AuditEvent]) -> Callable[[AuditEvent, str | None], str | None]:
    """A function giving an event's value as shown: the name of the code (or library) whose
    id it holds, "<id> (deleted)" for a code deleted since; any other value as stored. One
    query per code table for all the events."""
    coded = _coded_fields()
    wanted: dict[type[BaseModel], set[int]] = {}
    for e in events:
        model = coded.get((e.entity, e.field))
        if model is not None:
            for value in (e.old_value, e.new_value):
                if value and value.isdigit():
                    wanted.setdefault(model, set()).add(int(value))
    names: dict[tuple[type[BaseModel], int], str] = {}
    for model, ids in wanted.items():
        for row_id, name in (
            model.select(model.id, model.name).where(model.id.in_(sorted(ids))).tuples()
        ):
            names[(model, row_id)] = name

    def named(event: AuditEvent, value: str | None) -> str | None:
        model = coded.get((event.entity, event.field))
        if model is None or not value or not value.isdigit():
            return value
        return names.get((model, int(value)), f"{value} (deleted)")

    return named


def _in_scope(events: list[AuditEvent], scope: LibraryScope) -> list[AuditEvent]:
    """Library independence in History: the events of a note, block, statistic, attachment or
    fee owned by a library outside the staff user's scope are left out. The owner is the row's,
    or for a deleted row the last one its events recorded."""
    if scope.everything:
        return events
    owned = {m._meta.table_name: m for m in OWNED_MODELS}
    wanted: dict[str, set[int]] = {}
    for e in events:
        if e.entity in owned and e.entity_id is not None:
            wanted.setdefault(e.entity, set()).add(e.entity_id)
    owners: dict[tuple[str, int], int | None] = {}
    for entity, ids in wanted.items():
        model = owned[entity]
        for row_id, owner_id in (
            model.select(model.id, model.owner).where(model.id.in_(sorted(ids))).tuples()
        ):
            owners[(entity, row_id)] = owner_id
        gone = sorted(i for i in ids if (entity, i) not in owners)
        if gone:
            trail = AuditEvent.select().where(
                (AuditEvent.entity == entity)
                & AuditEvent.entity_id.in_(gone)
                & (AuditEvent.field == "owner")
            )
            for t in trail.order_by(AuditEvent.id):
                value = t.new_value if t.new_value is not None else t.old_value
                owners[(entity, t.entity_id)] = int(value) if value and value.isdigit() else None
    return [e for e in events if scope.sees(owners.get((e.entity, e.entity_id)))]


def prune_audit(settings: Settings | None = None, *, actor: Actor | None = None) -> int:
    """Delete audit events older than `audit_retention_days`; returns how many. Run as a job
    (`actor` None: the system); a staff actor needs the right to run jobs."""
    settings = settings or load_settings()
    if actor is not None:
        authorize(actor.account, Action.RUN_JOBS)
    cutoff = runtime.now() - dt.timedelta(days=settings.audit_retention_days)
    with database.atomic():
        return AuditEvent.delete().where(AuditEvent.at < cutoff).execute()
