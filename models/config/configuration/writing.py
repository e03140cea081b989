"""Writing the configuration tables (models.config.configuration): `add_entry`, `update_entry`,
`set_entry_active`, `delete_entry`.
"""

from __future__ import annotations

from typing import Any

from models import audit
from models.audit import Actor
from models.config.configuration.checks import _check_rules_of_change, _clean, _keep_a_library
from models.config.configuration.reading import _check_reader, _currency, _row, _values
from models.config.configuration.tables import (
    ConfigRefused,
    InUse,
    Table,
    code_usage,
    table,
    usage_message,
)
from models.errors import NotFound, ValidationError
from models.store.base import BaseModel, database
from models.store.tables import (
    Organization,
)

# --- Writing ------------------------------------------------------------------------------------


def _check_writer(actor: Actor, organization_id: int) -> None:
    _check_reader(actor, organization_id)
    if Organization.get_or_none(Organization.id == organization_id) is None:
        raise NotFound("This organization does not exist.")


def _known(t: Table, data: dict[str, Any]) -> None:
    names = {f.name for f in t.fields}
    unknown = {k: f"is not a field of a {t.singular}" for k in data if k not in names}
    if unknown:
        raise ValidationError(unknown)


def add_entry(key: str, organization_id: int, data: dict[str, Any], actor: Actor) -> BaseModel:
    """Add an entry; `data` as `entry_values` gives it (missing fields take their defaults)."""
    t = table(key)
    if t.key == "organization":
        raise ConfigRefused(
            "A new organization is added with 'patrondesk organization add' (it needs its own "
            "administrator)."
        )
    _known(t, data)
    defaults = {f.name: f.default for f in t.fields if f.default is not None}
    with database.atomic():
        _check_writer(actor, organization_id)
        values = _clean(t, organization_id, {**defaults, **data}, None)
        row = t.model.create(organization=organization_id, **values)
        audit.record_changes(actor, row, None, audit.snapshot(row), account_id=None,
                             person_id=None)  # fmt: skip
        return t.model.get_by_id(row.id)


def update_entry(
    key: str, organization_id: int, entry_id: int, data: dict[str, Any], actor: Actor
) -> BaseModel:
    """Change the fields of `data`; the others keep their values."""
    t = table(key)
    _known(t, data)
    with database.atomic():
        _check_writer(actor, organization_id)
        row = _row(t, organization_id, entry_id)
        merged = {**_values(t, row, _currency()), **data}
        values = _clean(t, organization_id, merged, row)
        _check_rules_of_change(t, row, values)
        changed = {k: v for k, v in values.items() if row.__data__.get(k) != v}
        if not changed:
            return row
        before = audit.snapshot(row)
        t.model.update(**changed).where(t.model.id == row.id).execute()
        row = t.model.get_by_id(row.id)
        audit.record_changes(actor, row, before, audit.snapshot(row), account_id=None,
                             person_id=None)  # fmt: skip
        return row


def set_entry_active(
    key: str, organization_id: int, entry_id: int, active: bool, actor: Actor
) -> BaseModel:
    """Activate or deactivate an entry (the way to retire a code in use)."""
    t = table(key)
    if "active" not in {f.name for f in t.fields}:
        raise ConfigRefused("Your own organization cannot be deactivated.")
    return update_entry(key, organization_id, entry_id, {"active": bool(active)}, actor)


def delete_entry(key: str, organization_id: int, entry_id: int, actor: Actor) -> None:
    """Delete an entry nothing refers to; `InUse` says where it is used."""
    t = table(key)
    with database.atomic():
        _check_writer(actor, organization_id)
        row = _row(t, organization_id, entry_id)
        if t.key == "organization":
            raise ConfigRefused("Your own organization cannot be deleted.")
        if t.key == "libraries" and row.active:
            _keep_a_library(row)
        usages = code_usage(t.model, row.id)
        if usages:
            raise InUse(usage_message(t, usages), usages)
        audit.record_changes(actor, row, audit.snapshot(row), None, account_id=None,
                             person_id=None)  # fmt: skip
        t.model.delete().where(t.model.id == row.id).execute()
