"""The columns a user record derives from its fields, computed here for every writer (Quick User
and the CLI through `models.users.accounts`, the General tab through `models.users.details`, the
import's
bulk insert and its updates, the demo generator), and the one function that changes the
primary identifier.

- `username_key`, `email_key`, `primary_id_key`, an identifier's `value_key`: `fold_key`, the
  case-insensitive comparison key the unique indexes hold;
- `username_skeleton`: what the username looks like (look-alikes are refused);
- `sort_name` (the person's, copied to each account for paging the list by name) and
  `search_text` (what the name search indexes), from the six name fields;
- `name_sound_key`: the duplicate check's blocking key, from the last and first names
  (`models.duplicates.keys`);
- the expiration date a registration gives (`registration_expiry`: a new account left without
  one, `renewed_expiry`: Renew), from the user group's registration period.

The primary identifier lives in four columns: the account's `primary_id` and `primary_id_key`,
and its identifier row's `value` and `value_key` (`is_primary`), which the identifier search and
the uniqueness of every identifier use. `primary_id_columns` and `primary_identifier_row` give
them to a new account; `store_primary_id` changes all four.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from typing import Any

from models import audit
from models.audit import Actor
from models.duplicates.keys import name_sound_key
from models.store.base import fold_key
from models.store.tables import Account, Identifier, Person
from models.text import fold, name_words, username_skeleton
from models.users.fields import NAME_FIELDS

# The derived columns, which History and the personal-information export leave out
# (models/audit.py IGNORED_FIELDS, models/users/personal_data.py LEFT_OUT list them by hand, below
# this module; tests/domain/test_user_record.py checks they hold every one).
DERIVED_COLUMNS = frozenset(
    {
        "username_key",
        "username_skeleton",
        "email_key",
        "sort_name",
        "search_text",
        "name_sound_key",
        "primary_id_key",
        "value_key",
    }
)


def sort_name(last: str, first: str) -> str:
    return fold(f"{last} {first}")[:210]


# The order of the words in `search_text`.
_SEARCH_ORDER = (
    "last_name",
    "first_name",
    "middle_name",
    "preferred_first_name",
    "preferred_middle_name",
    "preferred_last_name",
)


def person_search_text(names: Mapping) -> str:
    """The search index text of a person from their name fields (a dict or a Person's data)."""
    return name_words(*(names.get(k) for k in _SEARCH_ORDER))


def full_name(person: Person) -> str:
    first = person.preferred_first_name or person.first_name
    return f"{person.last_name}, {first}" if first else person.last_name


def default_username(username: str | None, primary_id: str) -> str:
    """A user given no username logs in with their primary identifier."""
    return username or primary_id


def person_derived(values: Mapping[str, Any], current: Any = None) -> dict[str, Any]:
    """The derived person columns that the person columns in `values` feed: all of them for a
    new person, those of the changed fields for an update. Names absent from `values` are read
    from `current` (a Person, or a dict of its columns), or are empty."""
    out: dict[str, Any] = {}
    if "username" in values:
        out["username_key"] = fold_key(values["username"])
        out["username_skeleton"] = username_skeleton(values["username"])
    if "email" in values:
        out["email_key"] = fold_key(values["email"])
    if not _NAMES.isdisjoint(values):
        names = values
        if current is not None:
            mapping = isinstance(current, Mapping)
            names = {
                n: values[n] if n in values else current[n] if mapping else getattr(current, n)
                for n in NAME_FIELDS
            }
        out["sort_name"] = sort_name(names.get("last_name") or "", names.get("first_name") or "")
        out["search_text"] = person_search_text(names)
        out["name_sound_key"] = name_sound_key(names.get("last_name"), names.get("first_name"))
    return out


_NAMES = frozenset(NAME_FIELDS)


def primary_id_columns(value: str, key: str | None = None) -> dict[str, Any]:
    """The account's columns of its primary identifier (`key`: its fold_key, when known)."""
    return {"primary_id": value, "primary_id_key": key if key is not None else fold_key(value)}


def identifier_columns(value: str, key: str | None = None) -> dict[str, Any]:
    """An identifier row's value and its key (`key`: the fold_key, when known)."""
    return {"value": value, "value_key": key if key is not None else fold_key(value)}


def primary_identifier_row(value: str, key: str | None = None) -> dict[str, Any]:
    """The identifier row of an account's primary identifier."""
    return {**identifier_columns(value, key), "is_primary": True}


def store_primary_id(account: Account, value: str, actor: Actor) -> None:
    """Change the account's primary identifier: its two account columns and its identifier row,
    whose change is audited here (the caller audits the account, whose `account` instance must
    still hold the old values: it is not refreshed). In the caller's transaction."""
    columns = primary_id_columns(value)
    Account.update(**columns).where(Account.id == account.id).execute()
    row = Identifier.get((Identifier.account == account.id) & Identifier.is_primary)
    before = audit.snapshot(row)
    Identifier.update(**identifier_columns(value, columns["primary_id_key"])).where(
        Identifier.id == row.id
    ).execute()
    row = Identifier.get_by_id(row.id)
    ids = {"account_id": account.id, "person_id": account.person_id}
    audit.record_changes(actor, row, before, audit.snapshot(row), **ids)


# --- The registration period (Alma: the user group's User Registration Terms of Use) ----------


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months later; the month's last day when it has no such
    day (2028-02-29 + 12 months is 2029-02-28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def registration_expiry(months: int | None, default_days: int, start: dt.date) -> dt.date:
    """The end of a registration period that starts on `start`: the user group's period
    (`UserGroup.registration_months`, calendar months), or `default_days` (the
    `default_expiry_days` setting) for no group or a group without one. A new account left
    without an expiration date gets it from today (models.users.check `new_account_expiry`,
    and the import's new accounts)."""
    if months:
        return add_months(start, months)
    return start + dt.timedelta(days=default_days)


def group_months(group: Any) -> int | None:
    """A user group's registration period in months (None: no group, or none set)."""
    return getattr(group, "registration_months", None) if group is not None else None


def renewed_expiry(
    current: dt.date | None, months: int | None, default_days: int, today: dt.date
) -> dt.date:
    """Renew: one more registration period from the later of today and the current expiry
    (an expired account renews from today, an account still valid keeps the rest of its
    period)."""
    start = today if current is None or current < today else current
    return registration_expiry(months, default_days, start)
