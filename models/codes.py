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


def code_choices(
    model: type[CodeTable], organization_id: int, *, record_type: str | None = None
) -> list[tuple[str, int]]:
    """(name, id) of the active entries, by name, for a choice list. For user groups,
    `record_type` keeps the groups that apply to it (an empty list of record types: all)."""
    rows = (
        model.select()
        .where(model.organization == organization_id, model.active == True)  # noqa: E712
        .order_by(model.name)
    )
    choices = []
    for row in rows:
        applies = getattr(row, "record_types", "")
        if record_type and applies and record_type not in applies.split(","):
            continue
        choices.append((row.name, row.id))
    return choices


def code_options(model: type[CodeTable], organization_id: int) -> list[tuple[str, str]]:
    """(name, code) of the active entries, by name: choices whose value is the code."""
    rows = (
        model.select(model.name, model.code)
        .where(model.organization == organization_id, model.active == True)  # noqa: E712
        .order_by(model.name)
    )
    return [(row.name, row.code) for row in rows]


def library_options(organization_id: int) -> list[tuple[str, str]]:
    """(name, code) of the organization's active libraries."""
    from models.tables import Library

    rows = (
        Library.select(Library.name, Library.code)
        .where(Library.organization == organization_id, Library.active == True)  # noqa: E712
        .order_by(Library.name)
    )
    return [(row.name, row.code) for row in rows]
