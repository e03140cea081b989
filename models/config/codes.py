"""Look-ups in the per-organization code tables."""

from __future__ import annotations

from peewee import fn

from models.store.tables import (
    BlockDefinition,
    Campus,
    CodeTable,
    IdentifierType,
    JobCategory,
    NoteType,
    StatCategory,
    UserGroup,
    WaiveReason,
)

# The code tables a pick list may name: screens ask by name, never with a table class.
CODE_TABLES: dict[str, type[CodeTable]] = {
    "user_group": UserGroup,
    "job_category": JobCategory,
    "campus": Campus,
    "identifier_type": IdentifierType,
    "note_type": NoteType,
    "block_definition": BlockDefinition,
    "stat_category": StatCategory,
    "waive_reason": WaiveReason,
}


def _table(name: str) -> type[CodeTable]:
    try:
        return CODE_TABLES[name]
    except KeyError:
        raise ValueError(f"no code table named {name!r}") from None


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
    table: str, organization_id: int, *, record_type: str | None = None
) -> list[tuple[str, int]]:
    """(name, id) of the active entries of the code table named `table` (`CODE_TABLES`), by
    name, for a choice list. For user groups, `record_type` keeps the groups that apply to it
    (an empty list of record types: all)."""
    model = _table(table)
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


def code_options(
    table: str, organization_id: int, *, record_type: str | None = None
) -> list[tuple[str, str]]:
    """(name, code) of the active entries of the code table named `table`, by name: choices
    whose value is the code (`record_type`: as for `code_choices`)."""
    model = _table(table)
    rows = (
        model.select()
        .where(model.organization == organization_id, model.active == True)  # noqa: E712
        .order_by(model.name)
    )
    return [
        (row.name, row.code)
        for row in rows
        if not (record_type and (applies := getattr(row, "record_types", "")))
        or record_type in applies.split(",")
    ]


def library_options(organization_id: int) -> list[tuple[str, str]]:
    """(name, code) of the organization's active libraries."""
    from models.store.tables import Library

    rows = (
        Library.select(Library.name, Library.code)
        .where(Library.organization == organization_id, Library.active == True)  # noqa: E712
        .order_by(Library.name)
    )
    return [(row.name, row.code) for row in rows]
