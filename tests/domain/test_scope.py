"""Library independence (issue 6): a staff user sees only the notes, blocks, fees, statistics and
attachments owned by a library of their role scope or by the institution, in every query that
returns or counts them (screens, search marks, the record's header, the fees tab) - and a test
that reads the source fails when a new query forgets the scope."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from models.access.scope import (
    EVERY_LIBRARY,
    INSTITUTION_ONLY,
    OWNED_MODELS,
    LibraryScope,
    scope_of,
)
from models.audit import Actor
from models.enums import Role, Source
from models.errors import NotFound, PermissionDenied
from models.search.engine import UserQuery, find_exact, search_users
from models.store.tables import (
    ALL_TABLES,
    Account,
    Attachment,
    Block,
    BlockDefinition,
    Fee,
    FeeType,
    Library,
    Note,
    RoleAssignment,
    StatCategory,
    Statistic,
)
from models.users.profile import fee_summary, load_profile
from models.users.rows import SPECS, Kind, delete_row, list_rows, popup_notes, row_values
from tests.helpers.details import admin, as_staff, user

ROOT = Path(__file__).resolve().parents[2]


def _scoped(db, role: Role, library: Library, primary_id: str) -> Actor:
    actor = as_staff(db, role, primary_id)
    RoleAssignment.update(scope=library).where(
        (RoleAssignment.account == actor.account) & (RoleAssignment.role != Role.PATRON.value)
    ).execute()
    return Actor(Account.get_by_id(actor.account.id), Source.SCREEN)


@pytest.fixture
def two_libraries(db):
    """A patron with one row of each owned kind owned by the branch, and an institution note;
    a user manager scoped to the main library, another to the branch."""
    org = db.organization
    main = Library.get((Library.organization == org) & (Library.code == "MAIN"))
    branch = Library.create(organization=org, code="BRANCH", name="Branch library")
    patron = user(db, "P0001")
    definition = BlockDefinition.get(BlockDefinition.code == "GENERAL")
    Note.create(account=patron, text="Branch only: owes a book", popup=True, owner=branch)
    Note.create(account=patron, text="For everyone", owner=None)
    Block.create(account=patron, definition=definition, owner=branch)
    Statistic.create(account=patron, category=StatCategory.select().first(), owner=branch)
    Attachment.create(account=patron, name="branch.pdf", size=3, data=b"pdf", owner=branch)
    Fee.create(
        account=patron,
        fee_type=FeeType.get(FeeType.code == "LOST_ITEM"),
        owner=branch,
        original_minor=1250,
        balance_minor=1250,
    )
    return {
        "patron": patron,
        "main": main,
        "branch": branch,
        "at_main": _scoped(db, Role.USER_MANAGER, main, "S-MAIN"),
        "at_branch": _scoped(db, Role.USER_MANAGER, branch, "S-BRANCH"),
    }


def test_scope_of_a_role_is_its_library_and_no_scope_is_every_library(db, two_libraries) -> None:
    t = two_libraries
    assert scope_of(t["at_main"].account) == LibraryScope(frozenset({t["main"].id}))
    assert scope_of(db.admin) == EVERY_LIBRARY
    assert scope_of(None) == EVERY_LIBRARY
    assert INSTITUTION_ONLY.sees(None) and not INSTITUTION_ONLY.sees(t["branch"].id)
    # A second role scoped to the branch widens the scope; an inactive one does not.
    RoleAssignment.create(
        account=t["at_main"].account, role=Role.CIRCULATION_DESK_OPERATOR.value, scope=t["branch"]
    )
    RoleAssignment.create(
        account=t["at_main"].account, role=Role.USER_MANAGER.value, status="inactive"
    )
    assert scope_of(t["at_main"].account).libraries == {t["main"].id, t["branch"].id}


@pytest.mark.parametrize("kind", sorted(k for k, spec in SPECS.items() if spec.owned))
def test_every_owned_tab_hides_another_librarys_rows(db, two_libraries, kind: Kind) -> None:
    t = two_libraries
    patron = t["patron"]
    theirs = list_rows(kind, patron.id, t["at_branch"])
    assert theirs and all(r.owner_id in (None, t["branch"].id) for r in theirs)
    mine = list_rows(kind, patron.id, t["at_main"])
    assert all(r.owner_id is None for r in mine)
    assert {r.id for r in list_rows(kind, patron.id, admin(db))} >= {r.id for r in theirs}
    hidden = next(r for r in theirs if r.owner_id == t["branch"].id)
    with pytest.raises(NotFound):
        row_values(kind, patron.id, hidden.id, t["at_main"])
    with pytest.raises(PermissionDenied):
        delete_row(kind, patron.id, hidden.id, Account.get_by_id(patron.id).version, t["at_main"])


def test_search_marks_count_only_the_rows_in_scope(db, two_libraries) -> None:
    t = two_libraries
    patron = t["patron"]
    Note.delete().where(Note.owner.is_null()).execute()  # only the branch's note is left

    def marks(scope: LibraryScope | None) -> tuple[bool, bool]:
        extra = {} if scope is None else {"scope": scope}
        rows = search_users(db.organization.id, UserQuery(text="P0001"), **extra).rows
        exact = find_exact(db.organization.id, "P0001", **extra)
        assert [(r.blocked, r.has_notes) for r in exact] == [(rows[0].blocked, rows[0].has_notes)]
        assert rows[0].account_id == patron.id
        return rows[0].blocked, rows[0].has_notes

    assert marks(scope_of(t["at_branch"].account)) == (True, True)
    assert marks(scope_of(t["at_main"].account)) == (False, False)
    assert marks(scope_of(db.admin)) == (True, True)
    assert marks(None) == (False, False), "a caller naming no scope sees the institution's only"


def test_the_record_header_and_fees_count_only_the_rows_in_scope(db, two_libraries) -> None:
    t = two_libraries
    patron = t["patron"]
    at_main = load_profile(patron.id, t["at_main"])
    assert (at_main.notes, at_main.popup_notes, at_main.active_blocks) == (1, [], [])
    assert at_main.balance_minor == 0
    assert fee_summary(patron.id, t["at_main"]).lines == []
    assert popup_notes(patron.id, t["at_main"]) == []
    at_branch = load_profile(patron.id, t["at_branch"])
    assert at_branch.notes == 2 and at_branch.popup_notes == ["Branch only: owes a book"]
    assert at_branch.active_blocks == ["General block"] and at_branch.balance_minor == 1250
    assert [line.owner for line in fee_summary(patron.id, t["at_branch"]).lines] == [
        "Branch library"
    ]


# --- The source never forgets the scope -----------------------------------------------------

# Functions that read owned rows without a viewer's scope, because a rule needs every row. Each
# entry says why; an entry that no longer matches a function fails the test too.
UNSCOPED: dict[str, str] = {
    "models/users/merge.py:_counts": "a merge moves every library's rows; a role scoped to a "
    "library may not merge (refused before any work)",
    "models/users/merge.py:_move_account_rows": "a merge moves every library's rows; a role "
    "scoped to a library may not merge (refused before any work)",
    "models/users/profile.py:active_blocks_of": "the blocks in force, for rules (borrowing); the "
    "record's header adds the viewer's scope to it",
    "models/users/deletion.py:_sum": "deletion is refused while any library's fee is due",
    "models/users/deletion.py:check_deletion": "deletion is refused while any library's fee is due",
    "models/users/deletion.py:_remove": "deleting an account deletes every library's rows",
    "models/fees/balances.py:_sum": "the debt limit is the user's: every library's fees count",
    "models/fees/balances.py:accrued_fines": "a fine accrues on a loan, billed by any library",
    "models/fees/balances.py:_load_fee": "one fee by id: each caller authorizes its owner library",
    "models/transfer/exports/records.py:_records": "'patrondesk export' runs as the system "
    "(no staff user): every library's rows; a screen calling it must pass the staff user's scope",
    "models/transfer/exports/personal.py:user_document": "'patrondesk export --user' runs as "
    "the system: every library's rows",
    "models/transfer/imports/tables.py:__init__": "the import's bulk writer of each table: "
    "writes, never shows",
}
_TABLES = {m._meta.table_name for m in OWNED_MODELS}
_NAMES = {m.__name__ for m in OWNED_MODELS}
_BACKREFS = {"notes", "blocks", "statistics", "attachments", "fees"}
_READS = {"select", "get", "get_or_none", "get_by_id"}
_QUERY_METHODS = {"select", "where", "count", "order_by", "join", "exists", "first", "get"}
_SCOPE_WORDS = {"scope", "scope_of", "EVERY_LIBRARY", "INSTITUTION_ONLY"}


def _reads_owned(node: ast.AST) -> bool:
    """Whether a function reads an owned table: `Note.select(...)`, `Fee.get(...)`, a backref
    queried (`account.notes.where(...)`), a helper given
    the model (`per_account(Note)`), or raw SQL that names the table after FROM or JOIN."""
    for n in ast.walk(node):
        if (
            isinstance(n, ast.Attribute)
            and n.attr in _READS
            and isinstance(n.value, ast.Name)
            and n.value.id in _NAMES
        ):
            return True
        if (
            isinstance(n, ast.Attribute)
            and n.attr in _QUERY_METHODS
            and isinstance(n.value, ast.Attribute)
            and n.value.attr in _BACKREFS
        ):
            return True
        if isinstance(n, ast.Call) and any(
            isinstance(a, ast.Name) and a.id in _NAMES for a in n.args
        ):
            return True  # a query helper given the model: per_account(Note)
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            words = n.value.lower().split()
            for a, b in zip(words, words[1:], strict=False):
                if a in {"from", "join"} and b.strip("(),") in _TABLES:
                    return True
    return False


def _mentions_scope(node: ast.AST) -> bool:
    """A scope applied: a `scope` name or argument, `scope_of`, or a permission check on the
    row's owner library (`can(..., library_id=row.owner_id)`)."""
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and n.id in _SCOPE_WORDS:
            return True
        if isinstance(n, ast.arg) and n.arg in _SCOPE_WORDS:
            return True
        if isinstance(n, ast.Attribute) and n.attr in _SCOPE_WORDS:
            return True
        if isinstance(n, ast.keyword) and n.arg == "library_id":
            return True
    return False


def _calls(node: ast.AST) -> set[str]:
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            f = n.func
            names.add(f.id if isinstance(f, ast.Name) else getattr(f, "attr", ""))
    return names


def _owned_reads() -> dict[str, bool]:
    """`file:function` -> whether it applies a scope, for every function or method of the
    app's code that reads an owned table. A call to a function of the same module that applies
    a scope (a `_visible(...)` helper) counts as applying it."""
    found: dict[str, bool] = {}
    for folder in ("models", "screens", "tui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            rel = path.relative_to(ROOT).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"))
            functions = [
                n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            ]
            scoped = {f.name for f in functions if _mentions_scope(f)}
            for _ in range(3):  # helpers of helpers
                scoped |= {f.name for f in functions if _calls(f) & scoped}
            for f in functions:
                if _reads_owned(f):
                    found[f"{rel}:{f.name}"] = f.name in scoped
    return found


def _allowed(name: str) -> str | None:
    path = name.split(":")[0]
    return UNSCOPED.get(name) or UNSCOPED.get(f"{path}:*")


def test_every_query_of_owned_rows_applies_the_viewers_scope() -> None:
    reads = _owned_reads()
    assert (
        "models/search/rows.py:_rows_sql" in reads
        and "models/users/profile.py:load_profile" in reads
    )
    forgotten = [name for name, scoped in reads.items() if not scoped and not _allowed(name)]
    assert not forgotten, (
        "these functions read notes, blocks, statistics, attachments or fees without the staff "
        "user's library scope (models.access.scope: scope.condition(Model.owner) / "
        "scope.sql(column)); "
        f"apply it, or list the function in UNSCOPED with the reason: {forgotten}"
    )
    stale = [n for n in UNSCOPED if not n.endswith(":*") and n not in reads]
    assert not stale, f"UNSCOPED names functions that no longer read owned rows: {stale}"


def test_the_owned_tables_are_exactly_those_with_an_owner_library() -> None:
    with_owner = {m for m in ALL_TABLES if "owner" in m._meta.fields}
    assert with_owner == set(OWNED_MODELS)
    assert all(m._meta.fields["owner"].rel_model is Library for m in with_owner)


def test_history_leaves_out_the_events_of_rows_out_of_scope_even_once_deleted(
    db, two_libraries
) -> None:
    from models.users.history import history
    from models.users.rows import add_row

    t = two_libraries
    patron = Account.get_by_id(t["patron"].id)
    saved = add_row(
        Kind.NOTE,
        patron.id,
        patron.version,
        {"text": "Branch secret", "owner": "BRANCH"},
        admin(db),
    )

    def notes_seen(actor) -> set[str | None]:
        return {e.new for e in history(patron.id, actor, "all") if e.entity == "note"}

    assert "Branch secret" in notes_seen(t["at_branch"])
    assert "Branch secret" in notes_seen(admin(db))
    assert "Branch secret" not in notes_seen(t["at_main"])
    delete_row(Kind.NOTE, patron.id, saved.row.id, saved.version, admin(db))
    assert not any(
        "Branch secret" in (e.old or "", e.new or "")
        for e in history(patron.id, t["at_main"], "all")
    )
    assert any(e.action == "delete" for e in history(patron.id, t["at_branch"], "all"))
