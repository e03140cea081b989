"""Sets of users (issue 23): a named set of one organization's users, on which bulk jobs run
(`models.jobs.jobs`).

- A *logical* set keeps the search text and filters of Find and Manage Users (a `UserQuery`,
  stored as JSON) and is evaluated again each time it is used: its members are what
  `models.search.engine.search_users`, the one search, finds now.
- An *itemized* set keeps its members (account ids): saved from a list, or made from a file of
  identifiers (one per line, or one column of a CSV file), each looked up as Find Users' exact
  search does (`find_exact`); the identifiers that match nobody are listed.

Members follow permissions: a staff user sees, and a job acts on, only the members they may see
(`Action.VIEW_USER`: a desk role sees public users only); the display rows' marks count only the
blocks and notes of their library scope (`models.access.scope`). Sets belong to the organization
of whoever made them; another organization's set is not found.

Plain services taking an `Actor`, returning dataclasses: the screens call them through the
worker helper, the command line directly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import NamedTuple

from peewee import IntegrityError

from models.access.permissions import Action, authorize, can
from models.access.scope import scope_of
from models.audit import Actor
from models.enums import RecordType
from models.errors import NotFound, PermissionDenied, ValidationError
from models.runtime import runtime
from models.search.engine import MAX_LIMIT, UserQuery, UserRow, find_exact, search_users
from models.search.rows import _rows
from models.store.base import database, fold_key
from models.store.tables import Account, Organization, UserSet, UserSetMember
from models.text import unsafe_problem

LOGICAL = "logical"
ITEMIZED = "itemized"
NAME_MAX = 100
FILE_MAX_LINES = 200_000
MEMBER_PAGE = 100


@dataclass(frozen=True)
class SetInfo:
    set_id: int
    name: str
    kind: str  # logical | itemized
    query: UserQuery | None  # a logical set's search
    members: int | None  # an itemized set's count (a logical one is counted when used)
    created_by: str
    created_at: object


@dataclass(frozen=True)
class FileSet:
    """A set made from a file: the set, and the identifiers of the file that match nobody the
    staff user may see (in the file's order)."""

    info: SetInfo
    found: int
    unknown: list[str]


@dataclass(frozen=True)
class MemberPage:
    rows: list[UserRow]  # the rows of Find Users' list
    cursor: object | None  # for the next page; None: the last page


class Member(NamedTuple):
    """One member as a job reads it: the account and the version read (a tuple: a job reads
    85,000 of them, a frozen dataclass cost more than its row)."""

    account_id: int
    version: int
    primary_id: str


# --- Checks -------------------------------------------------------------------------------------


def organization_of(actor: Actor, organization: Organization | int | None = None) -> int:
    """The organization the actor's sets live in: a staff user's own; the system names one."""
    if actor.account is not None:
        authorize(actor.account, Action.VIEW_USER)
        return actor.account.organization_id
    if organization is None:
        raise ValidationError({"organization": "is required for the system"})
    return organization if isinstance(organization, int) else organization.id


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if bad := unsafe_problem(name):
        raise ValidationError({"name": bad})
    if not name:
        raise ValidationError({"name": "is required"})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"must be at most {NAME_MAX} characters"})
    return name


def load_set(set_ref: int | str, actor: Actor, organization: Organization | int | None = None):  # noqa: ANN201
    """The `UserSet` row of this id or name in the actor's organization (`NotFound` else)."""
    org_id = organization_of(actor, organization)
    if isinstance(set_ref, int) or (isinstance(set_ref, str) and set_ref.isdigit()):
        row = UserSet.get_or_none((UserSet.id == int(set_ref)) & (UserSet.organization == org_id))
        if row is not None:
            return row
    row = UserSet.get_or_none(
        (UserSet.name_key == fold_key(str(set_ref))) & (UserSet.organization == org_id)
    )
    if row is None:
        raise NotFound(f"No set {str(set_ref)[:NAME_MAX]!r} in this organization.")
    return row


def query_of(row: UserSet) -> UserQuery | None:
    if row.kind != LOGICAL:
        return None
    return UserQuery(**json.loads(row.query))


def _info(row: UserSet) -> SetInfo:
    members = None
    if row.kind == ITEMIZED:
        members = UserSetMember.select().where(UserSetMember.user_set == row.id).count()
    return SetInfo(
        set_id=row.id,
        name=row.name,
        kind=row.kind,
        query=query_of(row),
        members=members,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _visible_types(actor: Actor) -> frozenset[str]:
    """The record types whose users the actor may see (the permission matrix, per type)."""
    return frozenset(
        t.value for t in RecordType if can(actor.account, Action.VIEW_USER, record_type=t.value)
    )


# --- Services -----------------------------------------------------------------------------------


def _create(org_id: int, name: str, kind: str, query: str, actor: Actor) -> UserSet:
    now = runtime.now()
    try:
        with database.atomic():
            return UserSet.create(
                organization=org_id,
                name=name,
                name_key=fold_key(name),
                kind=kind,
                query=query,
                created_by=actor.name,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        raise ValidationError({"name": "is the name of another set"}) from None


def create_logical_set(
    name: str, query: UserQuery, actor: Actor, organization: Organization | int | None = None
) -> SetInfo:
    """Save Find Users' search text and filters as a set, evaluated again when used."""
    org_id = organization_of(actor, organization)
    name = _clean_name(name)
    if unsafe_problem(query.text):
        raise ValidationError({"search": unsafe_problem(query.text)})
    search_users(org_id, query, limit=1)  # a query the search refuses is refused now
    return _info(_create(org_id, name, LOGICAL, json.dumps(asdict(query)), actor))


def _visible_ids(org_id: int, account_ids: list[int], actor: Actor) -> list[int]:
    types = _visible_types(actor)
    out: list[int] = []
    for start in range(0, len(account_ids), 1000):
        chunk = account_ids[start : start + 1000]
        out += [
            i
            for (i,) in Account.select(Account.id)
            .where(
                Account.id.in_(chunk)
                & (Account.organization == org_id)
                & Account.record_type.in_(sorted(types))
            )
            .tuples()
        ]
    return out


def create_itemized_set(
    name: str,
    account_ids: list[int],
    actor: Actor,
    organization: Organization | int | None = None,
) -> SetInfo:
    """Save these accounts as a set (those the actor may not see, or of another organization,
    are left out)."""
    org_id = organization_of(actor, organization)
    name = _clean_name(name)
    ids = list(dict.fromkeys(_visible_ids(org_id, list(dict.fromkeys(account_ids)), actor)))
    with database.atomic():
        row = _create(org_id, name, ITEMIZED, "", actor)
        for start in range(0, len(ids), 1000):
            UserSetMember.insert_many(
                [{"user_set": row.id, "account": i} for i in ids[start : start + 1000]]
            ).execute()
    return _info(row)


def identifiers_in(text: str, column: str | None = None) -> list[str]:
    """The identifiers of a file: one per line, or with `column` (a header name or a 1-based
    number) that column of a CSV file. Blank lines are left out, duplicates kept once."""
    lines = text.splitlines()
    if len(lines) > FILE_MAX_LINES:
        raise ValidationError({"file": f"has more than {FILE_MAX_LINES:,} lines"})
    if column is None:
        values = [line.strip() for line in lines]
    else:
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            return []
        number = column.strip()
        if number.isascii() and number.isdigit():  # "²" is a digit to Python, not to int()
            if int(number) < 1:
                raise ValidationError({"column": "columns are numbered from 1: 1 is the first"})
            index, body = int(number) - 1, rows
        else:
            header = [h.strip().casefold() for h in rows[0]]
            if column.strip().casefold() not in header:
                raise ValidationError({"column": f"{column!r} is not a column of the file"})
            index, body = header.index(column.strip().casefold()), rows[1:]
        values = [r[index].strip() if index < len(r) else "" for r in body]
    return list(dict.fromkeys(v for v in values if v))


IDENTIFIER_FILE_MAX = 20_000_000  # bytes of a file of identifiers


def create_set_from_path(
    name: str,
    path: str,
    actor: Actor,
    *,
    column: str | None = None,
    organization: Organization | int | None = None,
) -> FileSet:
    """`create_set_from_file` on the file a staff user names (the Sets screen, `patrondesk set
    create --file`): the name checked first, then the file read under the attachment rules
    (`read_user_text`: never a FIFO, a device or the database; at most IDENTIFIER_FILE_MAX),
    by whoever may read a server file anyway (manage attachments, or run jobs), asked first."""
    from models.store.files import read_user_text

    organization_of(actor, organization)  # may the actor still act: before the file is opened
    if actor.account is not None and not any(
        can(actor.account, right) for right in (Action.MANAGE_ATTACHMENTS, Action.RUN_JOBS)
    ):
        # A line that matches nobody is shown back: whoever reads no server file otherwise
        # (a view-only role) reads none this way.
        raise PermissionDenied(
            Action.RUN_JOBS.value,
            "You may not read a file of the server: ask a colleague who manages attachments "
            "or runs jobs.",
        )
    name = _clean_name(name)
    text = read_user_text(path, IDENTIFIER_FILE_MAX)
    return create_set_from_file(name, text, actor, column=column, organization=organization)


def create_set_from_file(
    name: str,
    text: str,
    actor: Actor,
    *,
    column: str | None = None,
    organization: Organization | int | None = None,
) -> FileSet:
    """An itemized set of the accounts whose identifier, barcode, primary id, username or email
    equals a line of the file (Find Users' exact search); the others are listed as unknown."""
    org_id = organization_of(actor, organization)
    name = _clean_name(name)
    scope = scope_of(actor.account)
    types = _visible_types(actor)
    found: list[int] = []
    unknown: list[str] = []
    for value in identifiers_in(text, column):
        if unsafe_problem(value):
            unknown.append(value)
            continue
        rows = [r for r in find_exact(org_id, value, scope=scope) if r.record_type in types]
        if rows:
            found += [r.account_id for r in rows]
        else:
            unknown.append(value)
    info = create_itemized_set(name, found, actor, org_id)
    return FileSet(info=info, found=info.members or 0, unknown=unknown)


def list_sets(actor: Actor, organization: Organization | int | None = None) -> list[SetInfo]:
    org_id = organization_of(actor, organization)
    rows = UserSet.select().where(UserSet.organization == org_id).order_by(UserSet.name_key)
    return [_info(r) for r in rows]


def _authorize_change(row: UserSet, actor: Actor) -> None:
    """Who may rename or delete a set: whoever made it, and for another's set who may run jobs
    (`Action.RUN_JOBS`). The one home of the rule for both."""
    if actor.account is not None and row.created_by != actor.name:
        authorize(actor.account, Action.RUN_JOBS)


def rename_set(
    set_ref: int | str, new_name: str, actor: Actor, organization: Organization | int | None = None
) -> SetInfo:
    """Rename the set (what deleting it takes: `_authorize_change`)."""
    row = load_set(set_ref, actor, organization)
    _authorize_change(row, actor)
    name = _clean_name(new_name)
    try:
        with database.atomic():
            UserSet.update(name=name, name_key=fold_key(name), updated_at=runtime.now()).where(
                UserSet.id == row.id
            ).execute()
    except IntegrityError:
        raise ValidationError({"name": "is the name of another set"}) from None
    return _info(UserSet.get_by_id(row.id))


def delete_set(
    set_ref: int | str, actor: Actor, organization: Organization | int | None = None
) -> None:
    """Delete the set (its jobs stay, naming it)."""
    row = load_set(set_ref, actor, organization)
    _authorize_change(row, actor)
    with database.atomic():
        row.delete_instance()


def set_members(
    set_ref: int | str,
    actor: Actor,
    *,
    after: object | None = None,
    limit: int = MEMBER_PAGE,
    organization: Organization | int | None = None,
) -> MemberPage:
    """One page of the set's members the actor may see, as the rows of Find Users' list: a
    logical set in its search's order (the search's own cursor), an itemized one by account."""
    row = load_set(set_ref, actor, organization)
    scope = scope_of(actor.account)
    types = _visible_types(actor)
    if row.kind == LOGICAL:
        page = search_users(
            row.organization_id, query_of(row), after=after, limit=limit, scope=scope
        )
        return MemberPage([r for r in page.rows if r.record_type in types], page.cursor)
    last = after if isinstance(after, int) else 0
    ids = [
        i
        for (i,) in UserSetMember.select(UserSetMember.account)
        .join(Account)
        .where(
            (UserSetMember.user_set == row.id)
            & (UserSetMember.account > last)
            & Account.record_type.in_(sorted(types))
        )
        .order_by(UserSetMember.account)
        .limit(limit + 1)
        .tuples()
    ]
    more = len(ids) > limit
    ids = ids[:limit]
    return MemberPage(_rows(ids, scope), ids[-1] if more and ids else None)


def iter_members(
    row: UserSet, actor: Actor, progress: Callable[[int], None] | None = None
) -> Iterator[list[Member]]:
    """Every member the actor may see, in chunks, with the version read now: what a job reads
    (`models.jobs.jobs`). A logical set is evaluated by the search, page by page."""
    if actor.account is not None and actor.account.organization_id != row.organization_id:
        raise PermissionDenied(Action.VIEW_USER.value, "This set belongs to another organization.")
    types = _visible_types(actor)
    seen = 0
    if row.kind == LOGICAL:
        query, cursor = query_of(row), None
        while True:
            page = search_users(row.organization_id, query, after=cursor, limit=MAX_LIMIT)
            chunk = [
                Member(r.account_id, r.version, r.primary_id)
                for r in page.rows
                if r.record_type in types
            ]
            if chunk:
                seen += len(chunk)
                if progress:
                    progress(seen)
                yield chunk
            if page.cursor is None:
                return
            cursor = page.cursor
    last = 0
    while True:
        query = (
            Account.select(Account.id, Account.version, Account.primary_id)
            .join(UserSetMember, on=(UserSetMember.account == Account.id))
            .where(
                (UserSetMember.user_set == row.id)
                & (Account.id > last)
                & (Account.organization == row.organization_id)
                & Account.record_type.in_(sorted(types))
            )
            .order_by(Account.id)
            .limit(MAX_LIMIT)
        )
        # (the driver's rows as they are: three plain columns, 10,000 at a time)
        rows = database.execute_sql(*query.sql()).fetchall()
        if not rows:
            return
        seen += len(rows)
        if progress:
            progress(seen)
        yield list(map(Member._make, rows))
        last = rows[-1][0]


__all__ = [
    "ITEMIZED",
    "LOGICAL",
    "FileSet",
    "Member",
    "MemberPage",
    "SetInfo",
    "create_itemized_set",
    "create_logical_set",
    "create_set_from_file",
    "delete_set",
    "identifiers_in",
    "iter_members",
    "list_sets",
    "load_set",
    "rename_set",
    "set_members",
]
