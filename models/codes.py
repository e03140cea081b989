"""Look-ups in the per-organization code tables."""

from __future__ import annotations

from peewee import fn

from models.tables import CodeTable


def find_code(model: type[CodeTable], organization_id: int, value: str) -> CodeTable | None:
    """An active code-table entry by code (case-insensitive) or, failing that, by name."""
    value = (value or "").strip()
    if not value:
        return None
    base = model.select().where(model.organization == organization_id, model.active == True)  # noqa: E712
    return (
        base.where(fn.LOWER(model.code) == value.lower()).first()
        or base.where(fn.LOWER(model.name) == value.lower()).first()
    )
