"""The History tab (domain.md section 6): a user's audit events, newest first, filtered by
period; and pruning events older than the retention setting (`patrondesk audit prune`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models.audit import Actor
from models.base import database
from models.details import load_account
from models.errors import ValidationError
from models.permissions import Action, authorize
from models.runtime import runtime
from models.settings import Settings, load_settings
from models.tables import AuditEvent

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
    source: str  # screen, cli, import, job
    action: str  # create, update, delete, login_success, login_failure, lockout
    entity: str  # table of the changed row: person, account, email, note, ...
    entity_id: int | None
    field: str
    old: str | None  # secrets are stored masked, never in the clear
    new: str | None


def history(account_id: int, actor: Actor, period: str = DEFAULT_PERIOD) -> list[HistoryRow]:
    """Every audit event of this account (and the login events of its person, which carry no
    account), newest first, within the period: "7d", "30d" (default), "1y" or "all"."""
    if period not in PERIODS:
        raise ValidationError({"period": f"is one of {', '.join(PERIODS)}"})
    account = load_account(account_id)
    authorize(actor.account, Action.VIEW_USER, account)
    where = (AuditEvent.account_id == account.id) | (
        (AuditEvent.person_id == account.person_id) & AuditEvent.account_id.is_null()
    )
    days = PERIODS[period]
    if days is not None:
        where &= AuditEvent.at >= runtime.now() - dt.timedelta(days=days)
    query = AuditEvent.select().where(where).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    return [
        HistoryRow(
            at=e.at,
            actor=e.actor,
            source=e.source,
            action=e.action,
            entity=e.entity,
            entity_id=e.entity_id,
            field=e.field,
            old=e.old_value,
            new=e.new_value,
        )
        for e in query
    ]


def prune_audit(settings: Settings | None = None, *, actor: Actor | None = None) -> int:
    """Delete audit events older than `audit_retention_days`; returns how many. Run as a job
    (`actor` None: the system); a staff actor needs the right to run jobs."""
    settings = settings or load_settings()
    if actor is not None:
        authorize(actor.account, Action.RUN_JOBS)
    cutoff = runtime.now() - dt.timedelta(days=settings.audit_retention_days)
    with database.atomic():
        return AuditEvent.delete().where(AuditEvent.at < cutoff).execute()
