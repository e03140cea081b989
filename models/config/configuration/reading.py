"""Reading the configuration tables (models.config.configuration): `list_entries`,
`entry_values`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.access.permissions import Action, authorize
from models.audit import Actor
from models.config.configuration.tables import Table, table
from models.config.settings import load_settings
from models.errors import NotFound, PermissionDenied
from models.fees.money import to_decimal
from models.store.base import BaseModel
from models.store.tables import (
    StatCategoryType,
)

# --- Reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    id: int
    active: bool
    values: dict[str, Any]  # as entry_values: codes, record type lists, amounts as text


def _check_reader(actor: Actor, organization_id: int) -> None:
    if actor.account is None:
        return
    authorize(actor.account, Action.CONFIGURE)
    if actor.account.organization_id != organization_id:
        raise PermissionDenied(
            Action.CONFIGURE.value,
            "You may not configure another organization: its administrators do.",
        )


def _currency() -> str:
    return load_settings().currency


def _values(t: Table, row: BaseModel, currency: str) -> dict[str, Any]:
    """A row in the input format of `add_entry` (and of the TOML file)."""
    out: dict[str, Any] = {}
    for f in t.fields:
        if f.name == "record_types":
            out[f.name] = [x for x in row.record_types.split(",") if x]
        elif f.name == "daily_rate":
            out[f.name] = str(to_decimal(row.daily_rate_minor, currency))
        elif f.name == "library":
            out[f.name] = row.library.code if row.library_id else ""
        elif f.name == "category_type":
            out[f.name] = row.category_type.code
        elif f.name in ("user_group", "job_category"):
            ref = getattr(row, f.name) if getattr(row, f"{f.name}_id") else None
            out[f.name] = ref.code if ref is not None else ""
        elif f.name == "email":
            out[f.name] = row.email or ""
        elif f.name == "registration_months":
            months = row.registration_months
            out[f.name] = months if months is not None else ""  # (TOML has no null)
        else:
            out[f.name] = getattr(row, f.name)
    return out


def _query(t: Table, organization_id: int):  # noqa: ANN202
    m = t.model
    if t.key == "organization":
        return m.select().where(m.id == organization_id)
    query = m.select().where(m.organization == organization_id)
    if t.key == "role_rules":
        return query.order_by(m.role, m.id)
    if t.key == "stat_categories":
        return query.join(StatCategoryType).order_by(StatCategoryType.code, m.code)
    return query.order_by(m.code)


def list_entries(key: str, organization_id: int, actor: Actor) -> list[Entry]:
    """Every entry of the table for this organization, active or not, by code."""
    t = table(key)
    _check_reader(actor, organization_id)
    currency = _currency()
    return [
        Entry(row.id, bool(getattr(row, "active", True)), _values(t, row, currency))
        for row in _query(t, organization_id)
    ]


def _row(t: Table, organization_id: int, entry_id: int) -> BaseModel:
    row = _query(t, organization_id).where(t.model.id == entry_id).first()
    if row is None:
        raise NotFound(f"This {t.singular} no longer exists: another administrator may have "
                       "deleted it.")  # fmt: skip
    return row


def entry_values(key: str, organization_id: int, entry_id: int, actor: Actor) -> dict[str, Any]:
    t = table(key)
    _check_reader(actor, organization_id)
    return _values(t, _row(t, organization_id, entry_id), _currency())
