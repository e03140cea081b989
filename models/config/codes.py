"""Look-ups in the per-organization code tables."""

from __future__ import annotations

import functools

from peewee import fn

from models.store.reading import Prepared
from models.store.tables import (
    BlockDefinition,
    Campus,
    CodeTable,
    IdentifierType,
    JobCategory,
    NoteType,
    StatCategory,
    UserGroup,
    UserTitle,
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
    "user_title": UserTitle,
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


def record_types_of(entry: object) -> list[str]:
    """The record types a code-table entry applies to (user groups, job categories, identifier
    types have `record_types`); empty: every record type."""
    text = getattr(entry, "record_types", "") or ""
    return [t.strip() for t in text.split(",") if t.strip()]


def applies_to(entry: object, record_type: str | None) -> bool:
    """Whether the entry may be chosen for a record of `record_type` (None or "": any record).
    The one rule for user groups, job categories and identifier types, as Alma maps each to
    record types (alma-managing-users: "The user groups available depend on the record type
    selected", "The job categories available depend on the record type selected"; identifier
    types: "This list may be different for staff and public users"): the forms offer only
    these, and the checks refuse another with `not_applying`'s message."""
    allowed = record_types_of(entry)
    return not (record_type and allowed) or record_type in allowed


def not_applying(entry: object, record_type: str | None) -> str | None:
    """The message at the field of an entry chosen for a record type it does not apply to;
    None when it applies."""
    if entry is None or applies_to(entry, record_type):
        return None
    return f"does not apply to {record_type} users"


@functools.cache
def _active_of(model: type[CodeTable]) -> Prepared:
    return Prepared(
        lambda organization_id: (
            model.select()
            .where(model.organization == organization_id, model.active == True)  # noqa: E712
            .order_by(model.name)
        )
    )


@functools.cache
def _name_of(model: type[CodeTable]) -> Prepared:
    return Prepared(lambda code_id: model.select(model.name).where(model.id == code_id).tuples())


def code_name(model: type[CodeTable], code_id: int | None) -> str:
    """The name of a code-table entry by id ("" for none, or for an id without a row)."""
    if code_id is None:
        return ""
    return _name_of(model).scalar(code_id) or ""


def _active(model: type[CodeTable], organization_id: int) -> list[CodeTable]:
    """The organization's active entries of a code table, by name (read each time a user is
    opened: one statement built once, `Prepared`)."""
    return _active_of(model).rows(organization_id)


def code_choices(
    table: str, organization_id: int, *, record_type: str | None = None
) -> list[tuple[str, int]]:
    """(name, id) of the active entries of the code table named `table` (`CODE_TABLES`), by
    name, for a choice list. `record_type` keeps the entries that apply to it (`applies_to`:
    user groups, job categories and identifier types list theirs; empty: all)."""
    rows = _active(_table(table), organization_id)
    return [(row.name, row.id) for row in rows if applies_to(row, record_type)]


def code_options(
    table: str, organization_id: int, *, record_type: str | None = None
) -> list[tuple[str, str]]:
    """(name, code) of the active entries of the code table named `table`, by name: choices
    whose value is the code (`record_type`: as for `code_choices`)."""
    rows = _active(_table(table), organization_id)
    return [(row.name, row.code) for row in rows if applies_to(row, record_type)]


def title_options(organization_id: int) -> list[tuple[str, str]]:
    """(name, name) of the organization's active titles (Alma's User Titles), by name: the
    choices of Title, whose value is the text stored. Empty: Title is typed freely."""
    return [(row.name, row.name) for row in _active(UserTitle, organization_id)]


def library_options(organization_id: int) -> list[tuple[str, str]]:
    """(name, code) of the organization's active libraries."""
    from models.store.tables import Library

    rows = (
        Library.select(Library.name, Library.code)
        .where(Library.organization == organization_id, Library.active == True)  # noqa: E712
        .order_by(Library.name)
    )
    return [(row.name, row.code) for row in rows]
