"""External accounts (domain.md section 7): which General-tab fields staff may change, and the
fields they changed by hand, which the next SIS load keeps until "original value" is chosen.

The rules, from the Alma manual ("Editing Users"): on an external account staff may always edit
the fields Alma asks about before a SIS load overrides them (title, PIN, job category, user
group, campus, preferred language, cataloger level, selected patron letters) and the preferred
names (which the SIS fills but staff may change). "Open for update" unlocks the other fields.
Where Alma lets the next load overwrite most hand changes, PatronDesk follows domain.md: every
field changed by hand on an external account is kept until "original value" is chosen. Setting a
field back to the SIS value by hand has the same effect as choosing "original value".

The services that change fields live in `models.users.details`; this module holds the sets and the
bookkeeping of the `local_override` table, in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from models.audit import Actor
from models.enums import AccountType
from models.runtime import runtime
from models.store.tables import Account, LocalOverride
from models.users import fields
from models.users.fields import ACCOUNT, BY_NAME, DATE_KINDS, FIELDS, PERSON

# The General tab's fields (models/users/fields.py: those entered in EDIT), the person's and the
# account's, in the tab's order (`Field.tab`: names first; the table's is the checks' order).
GENERAL_FIELDS: tuple[str, ...] = tuple(
    f.name for f in sorted((f for f in FIELDS if f.general), key=lambda f: f.tab)
)
PERSON_FIELDS: tuple[str, ...] = tuple(n for n in GENERAL_FIELDS if BY_NAME[n].owner == PERSON)
ACCOUNT_FIELDS: tuple[str, ...] = tuple(n for n in GENERAL_FIELDS if BY_NAME[n].owner == ACCOUNT)

# Editable on an external account without "Open for update": the fields no SIS load owns
# (`Field.sis`).
EXTERNAL_EDITABLE: frozenset[str] = frozenset(n for n in GENERAL_FIELDS if not BY_NAME[n].sis)
# Never editable on an external account: the SIS matches its next load by primary identifier.
EXTERNAL_FIXED: frozenset[str] = frozenset({"primary_id"})

# The stored column of each General-tab field whose column name differs.
COLUMNS: dict[str, str] = {"pin": "pin_hash"}
DATE_FIELDS = frozenset(n for n in GENERAL_FIELDS if BY_NAME[n].kind in DATE_KINDS)
CODE_FIELDS = frozenset(fields.CODE_FIELDS)


def is_external(account: Account) -> bool:
    return account.account_type == AccountType.EXTERNAL


def editable_fields(account: Account, *, opened: bool = False) -> frozenset[str]:
    """The General-tab fields staff may change on this account (before permissions)."""
    if not is_external(account):
        return frozenset(GENERAL_FIELDS)
    if opened:
        return frozenset(GENERAL_FIELDS) - EXTERNAL_FIXED
    return EXTERNAL_EDITABLE


def stored_value(field: str, account: Account, person) -> Any:  # noqa: ANN001
    """The value the database holds for a General-tab field (code fields as their id)."""
    target = person if field in PERSON_FIELDS else account
    column = COLUMNS.get(field, field)
    if field in CODE_FIELDS:
        column = f"{field}_id"
    return getattr(target, column)


def encode(value: Any) -> str:
    if isinstance(value, dt.date):
        value = value.isoformat()
    return json.dumps(value)


def decode(field: str, text: str | None) -> Any:
    if text is None:
        return None
    value = json.loads(text)
    if field in DATE_FIELDS and value is not None:
        return dt.date.fromisoformat(value)
    return value


def overridden_fields(account_id: int) -> frozenset[str]:
    """The General-tab fields of this account that staff changed by hand and a SIS load keeps."""
    return frozenset(
        row.field for row in LocalOverride.select().where(LocalOverride.account == account_id)
    )


def original_value(account_id: int, field: str) -> Any:
    """The SIS value of an overridden field (None when it is not overridden or was empty)."""
    row = LocalOverride.get_or_none(
        (LocalOverride.account == account_id) & (LocalOverride.field == field)
    )
    return decode(field, row.original) if row else None


def note_hand_change(account: Account, field: str, old: Any, new: Any, actor: Actor) -> None:
    """Record that staff changed `field` from `old` to `new` on an external account: the first
    hand change keeps the SIS value; setting the SIS value back ends the override."""
    if not is_external(account):
        return
    row = LocalOverride.get_or_none(
        (LocalOverride.account == account.id) & (LocalOverride.field == field)
    )
    if row is None:
        LocalOverride.create(
            account=account.id,
            field=field,
            original=encode(old),
            changed_by=actor.name,
            changed_at=runtime.now(),
        )
    elif field != "pin" and decode(field, row.original) == new:
        row.delete_instance()
    else:
        LocalOverride.update(changed_by=actor.name, changed_at=runtime.now()).where(
            LocalOverride.id == row.id
        ).execute()


def drop_overrides(account_id: int) -> None:
    LocalOverride.delete().where(LocalOverride.account == account_id).execute()
