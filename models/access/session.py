"""The logged-in staff user: who, in which organization, at which library."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from models.access.permissions import MATRIX, Action, active_roles, actor_standing, can
from models.access.scope import LibraryScope, scope_of
from models.audit import Actor
from models.enums import Role, Source
from models.errors import AuthenticationError
from models.store.tables import Account, Library, Organization, Person


@dataclass(frozen=True)
class StaffSession:
    account: Account
    organization: Organization
    library: Library | None
    roles: tuple[str, ...]
    username: str  # read once at login: the screens show it without a query

    @property
    def actor(self) -> Actor:
        return Actor(self.account, Source.SCREEN)

    @property
    def is_patron_only(self) -> bool:
        return set(self.roles) <= {Role.PATRON.value}

    def can(self, action: Action, record_type: str | None = None) -> bool:
        return can(self.account, action, record_type=record_type)

    def offers(self, action: Action) -> bool:
        """Whether a role of the session (as read at login) grants `action` anywhere: the keys
        a screen offers follow it, with no database read; each action asks `can` itself."""
        return any(action in MATRIX.get(role, ()) for role in self.roles)

    @cached_property
    def scope(self) -> LibraryScope:
        """The owner libraries whose notes, blocks, fees... this staff user sees."""
        return scope_of(self.account)


def open_session(account: Account) -> StaffSession:
    """The session of a logged-in account. The library shown is the scope of the first scoped
    role, else the organization's first library.

    No session for an account that may not act (inactive, expired: `actor_standing`) nor for a
    person whose password must be changed first: until the new password is saved there is no
    session, so no screen, key or command can reach one."""
    if problem := actor_standing(account):
        raise AuthenticationError("standing", problem)
    pending = (
        Person.select(Person.force_password_change).where(Person.id == account.person_id).scalar()
    )
    if pending:
        raise AuthenticationError(
            "password_change", "Choose a new password first: your password was reset."
        )
    roles = active_roles(account)
    scoped = [r.scope for r in roles if r.scope_id is not None]
    library = (
        scoped[0]
        if scoped
        else Library.select()
        .where(Library.organization == account.organization_id)
        .order_by(Library.id)
        .first()
    )
    return StaffSession(
        account=account,
        organization=account.organization,
        library=library,
        roles=tuple(sorted({r.role for r in roles})),
        username=account.person.username,
    )
