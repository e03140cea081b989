"""Who may do what (domain.md section 3). Every write goes through `authorize`.

A staff user's rights are the union of their active, unexpired roles. A role scoped to a library
grants its rights over rows owned by that library (and by the institution); a role with no scope
covers the whole organization. Accounts of another organization are never in reach.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from models.config.settings import load_settings
from models.enums import RecordType, Role, Status
from models.errors import PermissionDenied
from models.runtime import runtime
from models.store.base import database
from models.store.reading import id_list, in_one_reading, read_once, remember
from models.store.tables import Account, Person, RoleAssignment


class Action(StrEnum):
    VIEW_USER = "view_user"
    CREATE_USER = "create_user"  # Quick User Management: any record type
    REGISTER_USER = "register_user"  # Register New User: public users
    EDIT_USER = "edit_user"
    EDIT_CONTACT = "edit_contact"
    CHANGE_STATUS = "change_status"
    DELETE_USER = "delete_user"
    TOGGLE_ACCOUNT_TYPE = "toggle_account_type"
    MANAGE_ROLES = "manage_roles"
    MANAGE_NOTES = "manage_notes"
    MANAGE_BLOCKS = "manage_blocks"
    ADD_FEE = "add_fee"
    PAY_FEE = "pay_fee"
    WAIVE_FEE = "waive_fee"
    MANAGE_STATISTICS = "manage_statistics"
    MANAGE_ATTACHMENTS = "manage_attachments"
    MANAGE_PROXIES = "manage_proxies"
    RESET_PASSWORD = "reset_password"
    UNLOCK_LOGIN = "unlock_login"
    CONFIGURE = "configure"
    RUN_JOBS = "run_jobs"  # import, export, purge
    MERGE_USERS = "merge_users"  # two accounts into one (models/users/merge.py)
    FIND_DUPLICATES = "find_duplicates"  # the duplicate scan, marking "not a duplicate"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


_ALL = frozenset(Action)
_DESK = frozenset(
    {
        Action.VIEW_USER,
        Action.REGISTER_USER,
        Action.EDIT_CONTACT,
        Action.MANAGE_NOTES,
        Action.MANAGE_BLOCKS,
        Action.PAY_FEE,
        Action.MANAGE_ATTACHMENTS,
    }
)

# The permission matrix: role -> actions. Only User Manager / Administrator may delete users,
# merge them, toggle account type and find duplicates across the organization; only
# administrators configure, unlock logins and grant administrator.
MATRIX: dict[Role, frozenset[Action]] = {
    Role.USER_ADMINISTRATOR: _ALL,
    Role.USER_MANAGER: _ALL - {Action.CONFIGURE, Action.UNLOCK_LOGIN},
    Role.CIRCULATION_DESK_MANAGER: _DESK
    | {
        Action.EDIT_USER,
        Action.CHANGE_STATUS,
        Action.ADD_FEE,
        Action.WAIVE_FEE,
        Action.MANAGE_STATISTICS,
        Action.MANAGE_PROXIES,
        Action.RESET_PASSWORD,
    },
    Role.CIRCULATION_DESK_OPERATOR: _DESK,
    Role.FULFILLMENT_SERVICES_OPERATOR: frozenset({Action.VIEW_USER}),
    Role.PATRON: frozenset(),
}

# Circulation desk roles act on public users only (they add users only through Register New User).
_PUBLIC_ONLY = frozenset({Role.CIRCULATION_DESK_MANAGER, Role.CIRCULATION_DESK_OPERATOR})
STAFF_ROLES = frozenset(Role) - {Role.PATRON}


def active_roles(account: Account, today: dt.date | None = None) -> list[RoleAssignment]:
    today = today or runtime.today()
    # The checks of one reading read the roles once, and keep which are active that day (a
    # bulk job asks for each member: the actor's roles are the same all along).
    return read_once(
        ("active_roles", account.id, today),
        lambda: [
            r
            for r in read_once(
                ("roles", account.id),
                lambda: list(RoleAssignment.select().where(RoleAssignment.account == account)),
            )
            if r.status == Status.ACTIVE and (r.expiry_date is None or r.expiry_date >= today)
        ],
    )


def _grants(
    assignment: RoleAssignment, action: Action, library_id: int | None, record_type: str | None
) -> bool:
    try:
        role = Role(assignment.role)
    except ValueError:
        return False
    if action not in MATRIX[role]:
        return False
    if role in _PUBLIC_ONLY and record_type is not None and record_type != RecordType.PUBLIC:
        return False
    # A scoped role reaches rows of its library and of the institution (no owner library).
    return assignment.scope_id is None or library_id is None or assignment.scope_id == library_id


def granting_roles(
    actor: Account, action: Action, record_type: str | None = None
) -> list[RoleAssignment]:
    """The actor's active roles that grant `action` (on a record of `record_type`), whatever
    library they are scoped to: what `models.access.scope.scope_of` builds a library scope from."""
    return [a for a in active_roles(actor) if _grants(a, action, None, record_type)]


# A person's own record (domain.md section 1: "a patron may edit their own personal data except
# names and birth date"): anyone may edit the contact rows (emails, phones, addresses) of their
# own account, whatever their roles. The rest of a patron's own record is read and written
# through `models.users.my_account`, which shows only what a patron may see and changes only what a
# patron may change (communication preferences, password).
OWN_RECORD = frozenset({Action.EDIT_CONTACT})

# Actions that only read. Every other action on an existing account is a write, and a write on an
# account is refused when that account holds a role the actor may not grant (no role climbs
# above its own: a User Manager may not reset a User Administrator's password).
READ_ONLY = frozenset({Action.VIEW_USER})


def actor_standing(actor: Account) -> str | None:
    """Why a staff account may no longer act (None when it may): an account deactivated or
    expired since login loses its rights at once, also in an open session. Read from the
    database, never from the session's copy of the row. An account deleted or merged away no
    longer exists, even when a newer account was given its id (SQLite gives the highest freed
    id again): the row must be the one the session read, created at the same moment."""
    row = read_once(
        ("standing", actor.id),
        lambda: (
            Account.select(Account.status, Account.expiry_date, Account.created_at)
            .where(Account.id == actor.id)
            .tuples()
            .first()
        ),
    )
    known = actor.__data__.get("created_at")  # None: a partial row, read without it
    if row is None or (known is not None and row[2] != known):
        return "Your account no longer exists."
    status, expiry, _created = row
    if status != Status.ACTIVE:
        return "Your account has been deactivated."
    if expiry is not None and expiry < runtime.today():
        return "Your account has expired."
    return None


def _history_roles(text: str) -> set[str]:
    return {code.strip().lower() for code in text.replace(";", ",").split(",") if code.strip()}


def unknown_history_roles(text: str) -> list[str]:
    """The codes of the "History visible to roles" setting that name no staff role."""
    staff = {role.value for role in STAFF_ROLES}
    return sorted(code for code in _history_roles(text) if code not in staff)


def may_see_history(actor: Account | None) -> bool:
    """Whether `actor` may see users' History (Alma: "access to a user history may be limited
    by user role"): the roles the "History visible to roles" setting names, or, when it names
    none, whoever may view the user (asked apart, `Action.VIEW_USER`). The system may."""
    if actor is None:
        return True
    allowed = _history_roles(read_once(("history_roles",), lambda: load_settings().history_roles))
    return not allowed or any(a.role in allowed for a in active_roles(actor))


def grantable_roles(actor: Account | None) -> frozenset[Role]:
    """The roles `actor` may give, take or act over: every role for the system and for a User
    Administrator; every role but User Administrator for whoever else may manage roles; the
    patron role alone for the others (a desk registers patrons). The one home of the rule:
    the Roles tab, Quick User, imports and every write on an account ask it."""
    if actor is None:
        return frozenset(Role)
    roles = {Role(a.role) for a in active_roles(actor) if a.role in _ROLE_VALUES}
    if any(Action.MANAGE_ROLES in MATRIX[r] for r in roles):
        if any(Action.CONFIGURE in MATRIX[r] for r in roles):
            return frozenset(Role)
        return frozenset(Role) - {Role.USER_ADMINISTRATOR}
    return frozenset({Role.PATRON})


_ROLE_VALUES = frozenset(r.value for r in Role)


def _held_roles(account_id: int, today: dt.date) -> set[str]:
    rows = read_once(("held_roles", account_id), lambda: _read_held([account_id])[account_id])
    return {
        role
        for role, status, expiry in rows
        if status == Status.ACTIVE and (expiry is None or expiry >= today)
    }


def _read_held(account_ids: list[int]) -> dict[int, list[tuple]]:
    """The role assignments (role, status, expiry) of these accounts, with one query."""
    out: dict[int, list[tuple]] = {i: [] for i in account_ids}
    if not out:
        return out
    rows = (
        RoleAssignment.select(
            RoleAssignment.account, RoleAssignment.role, RoleAssignment.status,
            RoleAssignment.expiry_date,
        )
        .where(RoleAssignment.account.in_(id_list(account_ids)))
        .tuples()
    )  # fmt: skip
    # (the driver's rows, the expiry date made a date as peewee makes it: a bulk job's chunk
    # reads a row for each member's patron role)
    convert = RoleAssignment.expiry_date.python_value
    for account_id, role, status, expiry in database.execute_sql(*rows.sql()).fetchall():
        out[account_id].append((role, status, None if expiry is None else convert(expiry)))
    return out


def prime_held_roles(account_ids: list[int]) -> None:
    """Inside `models.store.reading.one_reading`: read the roles these accounts hold with one
    query, for the checks of "a role above the actor's" on each (a bulk job's chunk: one query
    per chunk, not one per member). Outside, nothing (every check reads afresh)."""
    for account_id, rows in _read_held(account_ids).items():
        remember(("held_roles", account_id), rows)


def _above(actor: Account, target: Account) -> str | None:
    """The first role `target` holds that `actor` may not grant, if any."""
    held = _held_roles(target.id, runtime.today())
    if not held:
        return None
    # (the actor's answer, once per reading: a bulk job asks it for each member)
    grantable = read_once(
        ("grantable", actor.id), lambda: frozenset(r.value for r in grantable_roles(actor))
    )
    return next((r for r in sorted(held) if r not in grantable), None)


def authorize_grant(actor: Account | None, role: str) -> None:
    """Raise `PermissionDenied` unless `actor` may give (or take away) `role`."""
    if actor is not None and role not in {r.value for r in grantable_roles(actor)}:
        label = role.replace("_", " ")
        # The right that is missing: administrators are made by those who configure.
        lacking = Action.CONFIGURE if role == Role.USER_ADMINISTRATOR else Action.MANAGE_ROLES
        raise PermissionDenied(
            lacking.value, f"You may not give or take the role {label}: it is above your own."
        )


def can(
    actor: Account | None,
    action: Action,
    target: Account | None = None,
    *,
    library_id: int | None = None,
    record_type: str | None = None,
) -> bool:
    """True when `actor` may do `action` on `target` (or, for a new record, of `record_type`)
    on a row owned by `library_id`. `actor=None` is the system itself (init, jobs)."""
    return _refusal(actor, action, target, library_id, record_type) is None


def _refusal(
    actor: Account | None,
    action: Action,
    target: Account | None,
    library_id: int | None,
    record_type: str | None,
) -> tuple[Action, str] | None:
    """Why `can` says no: the right that is missing and the reason in words (None: allowed).
    The checks run in this order, before any work: the actor's own standing, the organization,
    the matrix, then the roles above the actor's (a write the matrix allows is still refused on
    an account holding a role the actor may not grant)."""
    if actor is None:
        return None
    if target is not None and in_one_reading():
        # Inside one reading (a bulk job's chunk of members, their roles primed), the answer
        # once per distinct reading of a target: everything the checks below read of it, and
        # the actor's standing and roles, read once in the reading (the actor, the day).
        today = runtime.today()
        writes_over = action not in READ_ONLY and target.id != actor.id
        key = (
            "refusal", actor.id, today, action, library_id, record_type or target.record_type,
            target.organization_id == actor.organization_id,
            target.person_id == actor.person_id, target.id == actor.id,
            frozenset(_held_roles(target.id, today)) if writes_over else None,
        )  # fmt: skip
        return read_once(key, lambda: _refusal_of(actor, action, target, library_id, record_type))
    return _refusal_of(actor, action, target, library_id, record_type)


def _refusal_of(
    actor: Account,
    action: Action,
    target: Account | None,
    library_id: int | None,
    record_type: str | None,
) -> tuple[Action, str] | None:
    if problem := actor_standing(actor):
        return action, problem + " Log in again or ask an administrator."
    what = action.label
    if target is not None:
        if target.organization_id != actor.organization_id:
            return action, f"You may not {what}: this user belongs to another organization."
        if action in OWN_RECORD and target.person_id == actor.person_id:
            return None
        record_type = record_type or target.record_type
    roles = active_roles(actor)
    if any(_grants(a, action, library_id, record_type) for a in roles):
        if (
            target is not None
            and action not in READ_ONLY
            and target.id != actor.id
            and (role := _above(actor, target))
        ):
            # Acting over an administrator takes the administrator's own right.
            lacking = Action.CONFIGURE if role == Role.USER_ADMINISTRATOR else action
            return lacking, (
                f"You may not {what}: this user holds the role {role.replace('_', ' ')}, "
                "which is above your own."
            )
        return None
    if (
        record_type
        and record_type != RecordType.PUBLIC
        # Plain strings against the StrEnum set: `str in Role` raises TypeError on Python 3.11.
        and any(a.role in _PUBLIC_ONLY for a in roles)
    ):
        return action, (
            f"You may not {what} for {record_type} users: "
            "circulation desk roles act on public users only."
        )
    return action, f"You may not {what}: none of your roles allows it."


def authorize(
    actor: Account | None,
    action: Action,
    target: Account | None = None,
    *,
    library_id: int | None = None,
    record_type: str | None = None,
) -> None:
    """Raise `PermissionDenied` unless `can(...)`; the message says what was refused."""
    if refusal := _refusal(actor, action, target, library_id, record_type):
        lacking, message = refusal
        raise PermissionDenied(lacking.value, message)


def authorize_person(
    actor: Account | None,
    person: Person | int,
    action: Action,
    what: str = "their login, password or contacts",
) -> None:
    """A person's credentials (password, PIN), login email and contact rows are the person's,
    shared by their accounts in every organization (RERO model). Staff may change them only
    when the person holds no staff role in another organization: a desk in A must not take over
    B's administrator through a public account in A. The person themselves always may; the
    caller checks the actor's rights on the account in reach (`authorize`) as well."""
    if actor is None:
        return
    person_id = person if isinstance(person, int) else person.id
    if actor.person_id == person_id:
        return
    today = runtime.today()
    elsewhere = (
        Account.select(Account.id)
        .where((Account.person == person_id) & (Account.organization != actor.organization_id))
        .tuples()
    )
    for (account_id,) in elsewhere:
        if _held_roles(account_id, today) - {Role.PATRON.value}:
            raise PermissionDenied(
                action.value,
                f"You may not {action.label}: this person is staff of another organization; "
                f"only they or that organization can change {what}.",
            )
