"""Library independence (domain.md section 1; Alma): notes, blocks, fees, statistics and
attachments have an owner library, and a staff user sees only the rows owned by a library in
the scope of their roles, or by the institution (no owner library).

Every query that returns or counts owned rows for a person to see applies a `LibraryScope`:
`scope.condition(Model.owner)` in a peewee query, `scope.sql("n.owner_id")` in raw SQL,
`scope.sees(row.owner_id)` for one row. `tests/domain/test_scope.py` reads the source of `models/`,
`screens/` and `tui/` and fails when a function reads an owned table without a scope (or a
reason, listed there, why the rule needs every row).
"""

from __future__ import annotations

from dataclasses import dataclass

from peewee import SQL, ColumnBase

from models.access.permissions import Action, granting_roles
from models.store.tables import Account, Attachment, Block, Fee, Note, Statistic

# The tables whose rows have an owner library.
OWNED_MODELS = (Note, Block, Statistic, Attachment, Fee)


@dataclass(frozen=True)
class LibraryScope:
    """The owner libraries whose rows are visible: `libraries` None is every library; an empty
    set is the institution's rows only."""

    libraries: frozenset[int] | None

    @property
    def everything(self) -> bool:
        return self.libraries is None

    def sees(self, owner_id: int | None) -> bool:
        return owner_id is None or self.libraries is None or owner_id in self.libraries

    def condition(self, owner_field) -> ColumnBase:  # noqa: ANN001 - a peewee ForeignKeyField
        """A peewee condition on `owner_field` (e.g. `Note.owner`)."""
        if self.libraries is None:
            return SQL("1 = 1")
        if not self.libraries:
            return owner_field.is_null()
        return owner_field.is_null() | owner_field.in_(sorted(self.libraries))

    def sql(self, column: str) -> tuple[str, list[int]]:
        """A raw SQL condition on `column` (e.g. "n.owner_id") and its parameters."""
        if self.libraries is None:
            return "1 = 1", []
        if not self.libraries:
            return f"{column} IS NULL", []
        marks = ", ".join("?" for _ in self.libraries)
        return f"({column} IS NULL OR {column} IN ({marks}))", sorted(self.libraries)


EVERY_LIBRARY = LibraryScope(None)  # the system itself: init, jobs, the command line
INSTITUTION_ONLY = LibraryScope(frozenset())  # the safe default of a caller that names none


def scope_of(
    actor: Account | None,
    target: Account | None = None,
    *,
    action: Action = Action.VIEW_USER,
) -> LibraryScope:
    """The libraries whose rows `actor` may see (or act on, with `action`) on `target`'s record:
    the union of the scopes of their roles that grant the action; one role with no scope
    covers the whole organization. `actor` None is the system: every library."""
    if actor is None:
        return EVERY_LIBRARY
    if target is not None and target.organization_id != actor.organization_id:
        return INSTITUTION_ONLY  # never reached: another organization's record is refused first
    roles = granting_roles(actor, action, target.record_type if target is not None else None)
    if any(r.scope_id is None for r in roles):
        return EVERY_LIBRARY
    return LibraryScope(frozenset(r.scope_id for r in roles))
