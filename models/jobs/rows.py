"""The rows an update job adds to or removes from each member (issue 23, item 2): statistical
categories, roles with their library scope, blocks, and notes (add only). `models.jobs.jobs`
runs them; the rules are those of one user's tabs (`models.users.rows`: `check_add` and
`check_delete` read only, for the preview and the plan; `add_row` and `delete_row` write), so a
job can never grant a role the actor may not grant, add a block to a contact, or remove a
user's last role.

A job's rows are its parameters' `rows`: a list of `{"op": "add"|"remove", "kind": KIND,
"value": TEXT}` (`parse_rows`), KIND one of statistic, role, block, note. Per member:

- add a statistical category the member has, or a role (and scope) they hold, or a block type
  they have active: nothing (unchanged); a note is always added;
- remove: every row of the member with that category, that role and scope, or that block type
  (none: unchanged).

Undo (`undo_steps`): a row the job added is deleted; a row it removed is added again from its
History (its old values), unless its code was deactivated since (refused, as a field's code).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from peewee import fn

from models.access.permissions import Action, authorize_grant
from models.audit import Actor
from models.config.codes import find_code
from models.config.settings import Settings
from models.enums import Role
from models.errors import PatronDeskError, ValidationError
from models.store.tables import (
    Account,
    Block,
    BlockDefinition,
    Library,
    Note,
    RoleAssignment,
    StatCategory,
    Statistic,
)
from models.text import unsafe_problem
from models.users.rows import Kind, add_row, check_add, check_delete, delete_row

ADD, REMOVE = "add", "remove"
NOTE_MAX = 4000

# The name given on the command line (`--add stat=HIST`) -> the kind of row.
NAMES = {
    "stat": Kind.STATISTIC,
    "statistic": Kind.STATISTIC,
    "role": Kind.ROLE,
    "block": Kind.BLOCK,
    "note": Kind.NOTE,
}
# The kinds a job may remove (a note is added only: which one to remove is not a code).
REMOVABLE = frozenset({Kind.STATISTIC, Kind.ROLE, Kind.BLOCK})
ACTIONS = {
    Kind.STATISTIC: Action.MANAGE_STATISTICS,
    Kind.ROLE: Action.MANAGE_ROLES,
    Kind.BLOCK: Action.MANAGE_BLOCKS,
    Kind.NOTE: Action.MANAGE_NOTES,
}
# History's entity (table) of each kind, for undo.
ENTITIES = {
    Statistic._meta.table_name: Kind.STATISTIC,
    RoleAssignment._meta.table_name: Kind.ROLE,
    Block._meta.table_name: Kind.BLOCK,
    Note._meta.table_name: Kind.NOTE,
}
# The code (or library) tables whose ids a removed row's History holds, by kind and field.
_CODED = {
    (Kind.STATISTIC, "category"): StatCategory,
    (Kind.BLOCK, "definition"): BlockDefinition,
}


@dataclass(frozen=True)
class Step:
    """One write on one member: add `data` (a new row of `kind`), or delete row `row_id`."""

    kind: Kind
    data: dict[str, Any] | None
    row_id: int | None
    shown: str  # what it is, for the preview: "HIST", "user_manager@MAIN", "GENERAL"

    @property
    def adds(self) -> bool:
        return self.row_id is None


# --- Reading what a job does ----------------------------------------------------------------------


def _role_value(value: str, organization_id: int) -> tuple[str, str]:
    """ "ROLE@LIBRARY" or "ROLE" -> (role, library code or ""); raises ValueError with why."""
    role, _, library = value.partition("@")
    role = role.strip().lower().replace("-", "_").replace(" ", "_")
    if role not in {r.value for r in Role}:
        raise ValueError(f"{role!r} is not a role ({', '.join(r.value for r in Role)})")
    library = library.strip()
    if library:
        found = (
            Library.select(Library.code)
            .where(
                (Library.organization == organization_id)
                & (fn.LOWER(Library.code) == library.lower())
            )
            .tuples()
            .first()
        )
        if found is None:
            raise ValueError(f"{library!r} is not a library of this organization")
        library = found[0]
    return role, library


def _one(op: str, item: str, organization_id: int) -> dict[str, str]:
    name, sep, value = item.partition("=")
    kind = NAMES.get(name.strip().lower())
    if not sep or kind is None or (kind == Kind.NOTE and op == REMOVE):
        kinds = "stat, role, block" if op == REMOVE else "stat, role, block, note"
        raise ValueError(f"{item!r}: use KIND=VALUE with KIND one of {kinds}")
    value = value.strip()
    if bad := unsafe_problem(value):
        raise ValueError(f"{name.strip()} {bad}")
    if not value:
        raise ValueError(f"{item!r}: say which {name.strip()}")
    if kind == Kind.STATISTIC:
        row = find_code(StatCategory, organization_id, value)
        if row is None:
            raise ValueError(f"{value!r} is not a known statistical category")
        value = row.code
    elif kind == Kind.BLOCK:
        row = find_code(BlockDefinition, organization_id, value)
        if row is None:
            raise ValueError(f"{value!r} is not a known block type")
        value = row.code
    elif kind == Kind.ROLE:
        role, library = _role_value(value, organization_id)
        value = f"{role}@{library}" if library else role
    elif len(value) > NOTE_MAX:
        raise ValueError(f"a note is at most {NOTE_MAX} characters")
    return {"op": op, "kind": kind.value, "value": value}


def parse_rows(
    add: list[str] = (),  # type: ignore[assignment]
    remove: list[str] = (),  # type: ignore[assignment]
    notes: list[str] = (),  # type: ignore[assignment]
    *,
    organization_id: int,
) -> list[dict[str, str]]:
    """`--add KIND=VALUE`, `--remove KIND=VALUE` and `--note TEXT` items as the job's rows,
    each checked before anything is read: a known statistical category or block type, a role
    (`ROLE@LIBRARY` for a role scoped to a library), a note's text (one line of at most 4,000
    characters, no control character). Problems are keyed by `add`, `remove` and `note`."""
    out: list[dict[str, str]] = []
    problems: dict[str, list[str]] = {}
    items = [(ADD, i) for i in add] + [(REMOVE, i) for i in remove]
    items += [(ADD, f"note={text}") for text in notes]
    for op, item in items:
        try:
            row = _one(op, item, organization_id)
        except ValueError as exc:
            key = "note" if op == ADD and item.startswith("note=") else op
            problems.setdefault(key, []).append(str(exc))
            continue
        if row not in out:
            out.append(row)
    if problems:
        raise ValidationError({k: "; ".join(v) for k, v in problems.items()})
    return out


def needed(rows: list[dict]) -> list[Action]:
    """The rights the rows take (asked up front, `jobs.authorize_job`)."""
    return list(dict.fromkeys(ACTIONS[Kind(r["kind"])] for r in rows))


def authorize_grants(actor: Actor, rows: list[dict]) -> None:
    """A job can never give or take a role the actor may not grant: the one-user rule
    (`authorize_grant`), asked up front for the whole job (and again per member by the
    Roles tab's checks)."""
    for r in rows:
        if r["kind"] == Kind.ROLE:
            authorize_grant(actor.account, r["value"].partition("@")[0])


def describe(rows: list[dict]) -> str:
    """The rows as the job list shows them: "+statistic HIST, -role user_manager@MAIN"."""
    return ", ".join(
        f"{'+' if r['op'] == ADD else '-'}{r['kind']} "
        + (r["value"] if r["kind"] != Kind.NOTE else repr(r["value"][:30]))
        for r in rows
    )


# --- Per member ---------------------------------------------------------------------------------


def _matching(kind: Kind, value: str, account: Account) -> list:
    """The member's rows that a row of the job names (same category, role and scope, type)."""
    if kind == Kind.STATISTIC:
        return list(
            Statistic.select()
            .join(StatCategory)
            .where((Statistic.account == account.id) & (StatCategory.code == value))
            .order_by(Statistic.id)
        )
    if kind == Kind.BLOCK:
        return list(
            Block.select()
            .join(BlockDefinition)
            .where((Block.account == account.id) & (BlockDefinition.code == value))
            .order_by(Block.id)
        )
    role, _, library = value.partition("@")
    query = RoleAssignment.select().where(
        (RoleAssignment.account == account.id) & (RoleAssignment.role == role)
    )
    if library:
        query = query.join(Library).where(Library.code == library)
    else:
        query = query.where(RoleAssignment.scope.is_null())
    return list(query.order_by(RoleAssignment.id))


def _data(kind: Kind, value: str) -> dict[str, Any]:
    if kind == Kind.STATISTIC:
        return {"category": value}
    if kind == Kind.BLOCK:
        return {"definition": value}
    if kind == Kind.NOTE:
        return {"text": value}
    role, _, library = value.partition("@")
    return {"role": role, "scope": library}


def plan(account: Account, rows: list[dict], actor: Actor, settings: Settings) -> list[Step]:
    """The writes the job's rows make on this member, each checked as the member's tab
    checks it (`check_add`, `check_delete`), reading only; raises the first refusal."""
    steps: list[Step] = []
    for r in rows:
        kind, value = Kind(r["kind"]), r["value"]
        if r["op"] == ADD:
            if kind != Kind.NOTE:
                present = _matching(kind, value, account)
                if kind == Kind.BLOCK:
                    present = [b for b in present if b.active]
                if present:
                    continue
            data = _data(kind, value)
            check_add(kind, account, data, actor, settings=settings)
            steps.append(Step(kind, data, None, value if kind != Kind.NOTE else "note"))
        else:
            for row in _matching(kind, value, account):
                check_delete(kind, account, row, actor, settings=settings)
                steps.append(Step(kind, None, row.id, value))
    return steps


def apply(
    account_id: int, version: int, steps: list[Step], actor: Actor, settings: Settings
) -> int:
    """Write the member's steps through the one-user services, from `version` (the account's,
    as the job read it or wrote it); returns the version after. In the caller's transaction."""
    for step in steps:
        if step.adds:
            version = add_row(step.kind, account_id, version, step.data, actor, settings=settings)
            version = version.version
        else:
            version = delete_row(step.kind, account_id, step.row_id, version, actor,
                                 settings=settings)  # fmt: skip
    return version


def diff(steps: list[Step]) -> dict[str, tuple[str, str]]:
    """The steps as a preview's before/after: added values under "after", removed "before"."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    for s in steps:
        before, after = out.setdefault(s.kind.value, ([], []))
        (after if s.adds else before).append(s.shown)
    return {k: (", ".join(b), ", ".join(a)) for k, (b, a) in out.items()}


# --- Undo ---------------------------------------------------------------------------------------


def _number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _restored(kind: Kind, old: dict[str, str | None]) -> dict[str, Any]:
    """A removed row's add_row data, from its History (the old value of each field)."""
    if kind == Kind.STATISTIC:
        data = {"category": _number(old.get("category")), "note": old.get("note") or ""}
    elif kind == Kind.BLOCK:
        data = {
            "definition": _number(old.get("definition")),
            "expiry_date": old.get("expiry_date") or None,
            "note": old.get("note") or "",
            "active": old.get("active") or "no",
        }
    else:
        data = {
            "role": old.get("role"),
            "scope": _number(old.get("scope")),
            "status": old.get("status") or "active",
            "expiry_date": old.get("expiry_date") or None,
        }
    if kind != Kind.ROLE and _number(old.get("owner")) is not None:
        data["owner"] = _number(old.get("owner"))
    return data


def undo_steps(
    events: list[tuple[str, int | None, str, str, str | None]],
    retired: Callable[[type, int], str | None],
) -> list[Step]:
    """The steps that undo a job's rows on one member, from the job's History of them
    ((entity, entity_id, action, field, old value) in the order written), last first. A code
    deactivated since (`retired(model, id)` says why) refuses the member: `PatronDeskError`."""
    rows: dict[tuple[str, int], tuple[str, dict[str, str | None]]] = {}
    for entity, entity_id, action, f, old in events:
        if entity not in ENTITIES or entity_id is None:
            continue
        _, values = rows.setdefault((entity, entity_id), (action, {}))
        values[f] = old
    steps: list[Step] = []
    for (entity, entity_id), (action, old) in reversed(rows.items()):
        kind = ENTITIES[entity]
        if action == "create":
            steps.append(Step(kind, None, entity_id, kind.value))
            continue
        data = _restored(kind, old)
        for (k, f), model in _CODED.items():
            if k == kind and data.get(f) is not None and (why := retired(model, data[f])):
                raise PatronDeskError(why)
        steps.append(Step(kind, data, None, kind.value))
    return steps
