"""What the checks of a user record ask the database: who holds an identifier, a username or a
login email, which username looks like another, which code-table entry a value names."""

from __future__ import annotations

from models.access.permissions import Action, can
from models.audit import Actor
from models.config.codes import CODE_TABLES, find_code
from models.store.base import fold_key
from models.store.tables import (
    Account,
    Identifier,
    Person,
)
from models.text import username_look_alikes
from models.users.derived import full_name

CODE_MODELS: dict[str, type] = {  # the record's code fields: their tables (models.config.codes)
    name: CODE_TABLES[name] for name in ("user_group", "job_category", "campus", "identifier_type")
}


def holder_label(account: Account, actor: Actor) -> str:
    """Name the account that holds a value, if the staff user may see it."""
    if can(actor.account, Action.VIEW_USER, account):
        return f"account {account.primary_id} ({full_name(account.person)})"
    return "another account"


def person_label(person: Person, actor: Actor) -> tuple[str, Account | None]:
    """Name the person who holds a value (by their first account), and that account."""
    account = person.accounts.first()
    return (holder_label(account, actor) if account else "another person"), account


def identifier_holder(value: str) -> Account | None:
    row = Identifier.select().where(Identifier.value_key == fold_key(value)).first()
    return row.account if row else None


def username_holder(username: str, person_id: int | None = None) -> Person | None:
    """Another person whose username is `username` (without regard to case)."""
    query = Person.username_key == fold_key(username)
    if person_id is not None:
        query &= Person.id != person_id
    return Person.get_or_none(query)


def login_email_holder(email: str, person_id: int | None = None) -> Person | None:
    """Another person whose login email is `email` (without regard to case)."""
    query = Person.email_key == fold_key(email)
    if person_id is not None:
        query &= Person.id != person_id
    return Person.get_or_none(query)


def username_look_alike(username: str, person_id: int | None = None) -> Person | None:
    """Another person whose username looks like `username` ("аdmin" with a Cyrillic a beside
    "admin", "paypa1" beside "paypal"): the same UTS #39 skeleton (`models.text`), found with
    one indexed lookup. Refused wherever a username is chosen, so nobody can pass for another
    person in a list or a letter."""
    query = Person.select().where(
        Person.username_skeleton.in_(sorted(username_look_alikes(username)))
    )
    if person_id is not None:
        query = query.where(Person.id != person_id)
    return query.first()


def list_entry(table: str, value: str, organization_id: int) -> tuple[bool, object | None]:
    """Whether the organization's code table `table` (`CODE_TABLES`; "user_title") has active
    entries, and the active entry `value` names (by code or name, without regard to case)."""
    model = CODE_TABLES[table]
    active = model.select().where(
        (model.organization == organization_id) & (model.active == True)  # noqa: E712
    )
    if not active.exists():
        return False, None
    return True, find_code(model, organization_id, value)


class UnknownCode(Exception):
    pass


def code_entry(field: str, value: object, organization_id: int, current=None):  # noqa: ANN001, ANN201
    """The code-table entry `value` names for `field` (user group, job category, campus,
    identifier type): by id, code (without regard to case) or name, among the organization's
    active entries; the `current` entry is kept even if inactive since. None for no value;
    raises `UnknownCode` for a value that names nothing. Two halves: `names_current` (the
    record's own entry) and `code_named` (the value alone: a bulk job resolves it once)."""
    if value in (None, ""):
        return None
    if names_current(value, current):
        return current
    return code_named(field, value, organization_id)


def names_current(value: object, current) -> bool:  # noqa: ANN001
    """Whether `value` names the record's `current` entry (by id, code or name), which is kept
    even if inactive since: the half of `code_entry` that depends on the record."""
    if current is None or value in (None, ""):
        return False
    if isinstance(value, int) and not isinstance(value, bool):
        return value == current.id
    text = str(value).strip().lower()
    return text in {current.code.lower(), current.name.lower()}


def code_named(field: str, value: object, organization_id: int):  # noqa: ANN201
    """The active entry `value` names (by id, code or name), whoever holds it: the half of
    `code_entry` that reads nothing of the record. Raises `UnknownCode`."""
    model = CODE_MODELS[field]
    if isinstance(value, int) and not isinstance(value, bool):
        row = model.get_or_none((model.id == value) & (model.organization == organization_id))
        if row is None or not row.active:
            raise UnknownCode
        return row
    row = find_code(model, organization_id, str(value))
    if row is None:
        raise UnknownCode
    return row
