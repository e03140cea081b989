"""Who a user may be a proxy for (Alma: "Any user can be a proxy user, but the target user for
whom the proxy performs actions must have the Patron role"). The one rule of the sponsor, asked
by the Proxy for tab (`models.users.rows`) and by a new user made a fulfillment proxy at its
creation (`models.users.accounts.create_user`, Quick User Management's "Proxy for")."""

from __future__ import annotations

from typing import Any

from models.access.permissions import Action, active_roles, can
from models.enums import Role
from models.store.tables import Account
from models.users.lookups import identifier_holder

NOT_FOUND = "no user of this organization has this identifier"
SELF = "a user cannot be their own proxy"


def sponsor_problem(
    value: Any, actor: Account | None, organization_id: int, *, proxy_id: int | None = None
) -> tuple[Account | None, str | None]:
    """The sponsor `value` names (an account id, or any identifier of the account) and what
    refuses it (None: nothing): it must exist and be in the actor's view (else it is not
    named), not be the proxy itself (`proxy_id`), be of the proxy's organization and hold an
    active Patron role."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, "is required: give the user's primary identifier"
    if isinstance(value, int) and not isinstance(value, bool):
        target = Account.get_or_none(Account.id == value)
    else:
        target = identifier_holder(str(value).strip())
    if target is None or not can(actor, Action.VIEW_USER, target):
        return None, NOT_FOUND
    if proxy_id is not None and target.id == proxy_id:
        return target, SELF
    if target.organization_id != organization_id:
        return target, "is in another organization"
    if not any(r.role == Role.PATRON for r in active_roles(target)):
        return target, "does not have an active Patron role"
    return target, None
