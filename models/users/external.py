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
from dataclasses import dataclass
from typing import Any

from models.audit import Actor
from models.enums import AccountType
from models.runtime import runtime
from models.store.tables import Account, LocalOverride
from models.text import printable
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
LIBRARY_FIELDS = frozenset(fields.LIBRARY_FIELDS)  # lists of library codes (account_library)


_PERSON_FIELDS = frozenset(PERSON_FIELDS)
# (`stored_value` of a bulk job's members, for every member: looked up, not worked out)
_STORED_COLUMN = {f: f"{f}_id" if f in CODE_FIELDS else COLUMNS.get(f, f) for f in GENERAL_FIELDS}


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
    """The value the database holds for a General-tab field (code fields as their id, library
    lists as the list of their codes)."""
    if field in LIBRARY_FIELDS:
        from models.users.libraries import library_codes

        return library_codes(account.id, field)
    column = _STORED_COLUMN.get(field)
    if column is None:
        column = f"{field}_id" if field in CODE_FIELDS else COLUMNS.get(field, field)
    return getattr(person if field in _PERSON_FIELDS else account, column)


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
        # A new hand change is kept until staff say otherwise (`set_sis_choices`).
        LocalOverride.update(
            changed_by=actor.name, changed_at=runtime.now(), sis_may_override=False
        ).where(LocalOverride.id == row.id).execute()


def drop_overrides(account_id: int) -> None:
    LocalOverride.delete().where(LocalOverride.account == account_id).execute()


# --- Alma's question on Open for update (issue 22, item 4) ---------------------------------------

# The fields Alma asks about when staff save a change to them on an external account: may the
# next SIS load override the value typed ("Title, PIN number, Job category, User group, Campus,
# Preferred language, Resource sharing libraries, Cataloger level, Selected patron letters"):
# the field table's `asked` (every one a General-tab field; the resource sharing libraries since
# issue 22, item 6d), in the tab's order.
SIS_ASKED: tuple[str, ...] = tuple(n for n in GENERAL_FIELDS if BY_NAME[n].asked)


def asked_fields(account_external: bool, changed: Any) -> tuple[str, ...]:
    """The fields of `changed` (names) the question is asked for, in the tab's order."""
    if not account_external:
        return ()
    return tuple(n for n in SIS_ASKED if n in changed)


def set_sis_choices(account: Account, choices: dict[str, bool]) -> None:
    """Store the answers (field -> the next SIS load may override it) on the fields still
    changed by hand; a field set back to the SIS value has no override left to mark. In the
    caller's transaction, after `note_hand_change`."""
    if not is_external(account):
        return
    for field, may in choices.items():
        if field not in SIS_ASKED:
            continue
        LocalOverride.update(sis_may_override=bool(may)).where(
            (LocalOverride.account == account.id) & (LocalOverride.field == field)
        ).execute()


def sis_yielding_fields(account_id: int) -> frozenset[str]:
    """The hand-changed fields the next SIS load overrides (staff said it may)."""
    return frozenset(
        row.field
        for row in LocalOverride.select(LocalOverride.field).where(
            (LocalOverride.account == account_id) & (LocalOverride.sis_may_override == True)  # noqa: E712
        )
    )


@dataclass(frozen=True)
class OriginalLine:
    """One field changed by hand, as "Original values" lists it (texts ready to show)."""

    field: str
    label: str
    current: str
    original: str
    changed_by: str
    changed_at: dt.datetime
    sis_may_override: bool


def _shown(field: str, value: Any) -> str:
    """A stored value as staff read it: a code's code, a date as YYYY-MM-DD, a switch as
    yes/no, never a PIN (only its hash is kept)."""
    if field == "pin":
        return "(hidden)" if value else ""
    if value is None or value == "":
        return ""
    if field in CODE_FIELDS:
        model = getattr(Account, field).rel_model
        row = model.get_or_none(model.id == value)
        return printable(row.code) if row is not None else f"#{value}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):  # a list of library codes
        return printable(", ".join(str(v) for v in value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return printable(str(value))


def original_values(account_id: int, actor: Actor) -> list[OriginalLine]:
    """ "Original value": each General-tab field staff changed by hand on this account, with its
    value now, the value the SIS supplied, who changed it and when, and whether the next SIS
    load may override it. Needs the right to view the user."""
    from models.access.permissions import Action, authorize
    from models.errors import NotFound

    account = Account.get_or_none(Account.id == account_id)
    if account is None:
        raise NotFound("This user no longer exists: another staff user may have deleted it.")
    authorize(actor.account, Action.VIEW_USER, account)
    person = account.person
    rows = LocalOverride.select().where(LocalOverride.account == account.id)
    order = {name: i for i, name in enumerate(GENERAL_FIELDS)}
    out = [
        OriginalLine(
            field=row.field,
            label=BY_NAME[row.field].label if row.field in BY_NAME else row.field,
            current=_shown(row.field, stored_value(row.field, account, person)),
            original=_shown(row.field, decode(row.field, row.original)),
            changed_by=printable(row.changed_by or ""),
            changed_at=row.changed_at,
            sis_may_override=bool(row.sis_may_override),
        )
        for row in rows
        if row.field in order
    ]
    return sorted(out, key=lambda line: order[line.field])
