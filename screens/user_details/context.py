"""What the tabs of one open user record share: which account, who acts, and the account
version the next save must carry (optimistic locking, `models.users.details`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from models.audit import Actor
from models.fees.balances import debt_limit_reached
from models.users.profile import Profile, load_profile


@dataclass
class RecordContext:
    account_id: int
    actor: Actor
    organization_id: int
    version: int
    record_type: str = ""  # the types a contact row may have follow it (`fields.for_record_type`)
    # The record's screen shows a head line read after a change (`load_head`): a tab that
    # read it in its own worker hands it over here, in the same turn as its own redraw.
    show_head: Callable[[tuple[Profile, bool]], None] | None = None


def load_head(account_id: int, actor: Actor) -> tuple[Profile, bool]:
    """The profile and whether the debt limit is reached: what the record's head line shows
    (database calls: run it in a worker)."""
    return load_profile(account_id, actor), debt_limit_reached(account_id)
