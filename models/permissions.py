"""Who may do what (domain.md section 3). Every write goes through `authorize`.

A staff user's rights are the union of their active, unexpired roles. A role scoped to a library
grants its rights over rows owned by that library (and by the institution); a role with no scope
covers the whole organization. Accounts of another organization are never in reach.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from models.enums import RecordType, Role, Status
from models.errors import PermissionDenied
from models.runtime import runtime
from models.tables import Account, RoleAssignment


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

# The permission matrix: role -> actions. Only User Manager / Administrator may delete users and
# toggle account type; only administrators configure, unlock logins and grant administrator.
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
    return [
        r
        for r in RoleAssignment.select().where(RoleAssignment.account == account)
        if r.status == Status.ACTIVE and (r.expiry_date is None or r.expiry_date >= today)
    ]


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
    library they are scoped to: what `models.scope.scope_of` builds a library scope from."""
    return [a for a in active_roles(actor) if _grants(a, action, None, record_type)]


# A person's own record (domain.md section 1: "a patron may edit their own personal data except
# names and birth date"): anyone may edit the contact rows (emails, phones, addresses) of their
# own account, whatever their roles. The rest of a patron's own record is read and written
# through `models.my_account`, which shows only what a patron may see and changes only what a
# patron may change (communication preferences, password).
OWN_RECORD = frozenset({Action.EDIT_CONTACT})


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
    if actor is None:
        return True
    if target is not None:
        if target.organization_id != actor.organization_id:
            return False
        if action in OWN_RECORD and target.person_id == actor.person_id:
            return True
        record_type = record_type or target.record_type
    return any(_grants(a, action, library_id, record_type) for a in active_roles(actor))


def authorize(
    actor: Account | None,
    action: Action,
    target: Account | None = None,
    *,
    library_id: int | None = None,
    record_type: str | None = None,
) -> None:
    """Raise `PermissionDenied` unless `can(...)`; the message says what was refused."""
    if can(actor, action, target, library_id=library_id, record_type=record_type):
        return
    what = action.label
    if target is not None:
        record_type = record_type or target.record_type  # as `can` judged it
    if target is not None and actor is not None and target.organization_id != actor.organization_id:
        msg = f"You may not {what}: this user belongs to another organization."
    elif (
        record_type
        and record_type != RecordType.PUBLIC
        # Plain strings against the StrEnum set: `str in Role` raises TypeError on Python 3.11.
        and any(a.role in _PUBLIC_ONLY for a in active_roles(actor))
    ):
        msg = (
            f"You may not {what} for {record_type} users: "
            "circulation desk roles act on public users only."
        )
    else:
        msg = f"You may not {what}: none of your roles allows it."
    raise PermissionDenied(action.value, msg)
