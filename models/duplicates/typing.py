"""The people a new user being typed may already be (Quick User Management, Register New User):
once a last name and one more of first name, birth date, email, phone or identifier are typed,
the likely existing people, best first, with the score and why.

Every look-up is on an index, so that it stays instant at a million people: the blocking key
(`person.name_sound_key`, the sounds of the names typed), the birth date, the email keys,
the phone number (E.164, as stored) and the identifiers' keys. The people found are scored
(`match.compare`) against what is typed.

What staff see of people of another organization follows the reuse rules
(`models.users.reuse`): a person with no account here is proposed only on a shared login or
contact email, as the reuse dialog finds one by email; the name and birth date alone never tell
of people elsewhere. Of this organization, only accounts the actor may view are proposed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from models.access.permissions import Action, can
from models.config.settings import load_settings
from models.duplicates.keys import name_sound_key, phone_key, plain
from models.duplicates.match import TYPING_MIN_SCORE, Profile, compare
from models.duplicates.profiles import read_profiles
from models.store.base import fold_key
from models.store.tables import Account, Email, Identifier, Person, Phone
from models.users.check import cached_phone

BLOCK_LIMIT = 300  # people read per key: a common name's key holds many
SHOWN = 8


@dataclass(frozen=True)
class Candidate:
    person_id: int
    account_id: int | None  # their account in this organization (None: elsewhere only)
    primary_id: str
    last_name: str
    first_name: str
    birth_date: dt.date | None
    score: int
    why: str

    @property
    def here(self) -> bool:
        return self.account_id is not None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def _phone(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    ok, e164 = cached_phone(value, load_settings().phone_default_region, "")
    return e164.split(" ext.")[0] if ok else ""


def typed_profile(typed: dict[str, Any]) -> tuple[Profile, str, str] | None:
    """What is typed as a profile, with its E.164 phone and email key; None until a last name
    and one more of the matching fields are there."""
    last = str(typed.get("last_name") or "")
    if not plain(last):
        return None
    first = str(typed.get("first_name") or "")
    birth = _date(typed.get("birth_date"))
    email = fold_key(str(typed.get("email") or "").strip()) or ""
    phone = _phone(str(typed.get("phone") or ""))
    identifiers = {
        fold_key(str(typed.get(k) or "").strip()) for k in ("identifier_value", "primary_id")
    } - {"", None}
    if not (plain(first) or birth or email or phone or identifiers):
        return None
    profile = Profile(
        None,
        last,
        first,
        birth,
        frozenset({email} if email else ()),
        frozenset({phone_key(phone)} if phone else ()),
        frozenset(identifiers),
    )
    return profile, phone, email


def _ids(query) -> set[int]:  # noqa: ANN001 - a peewee query of one id column
    return {row[0] for row in query.limit(BLOCK_LIMIT).tuples()}


def likely_people(organization_id: int, actor: Account | None, typed: dict[str, Any]) -> list:
    """The likely existing people (`Candidate`), best first, at most `SHOWN`."""
    parsed = typed_profile(typed)
    if parsed is None:
        return []
    profile, phone, email = parsed
    anywhere: set[int] = set()  # found on an email: proposed wherever their accounts are
    here_only: set[int] = set()
    key = name_sound_key(profile.last_name, profile.first_name)
    if plain(profile.first_name) and key:
        here_only |= _ids(Person.select(Person.id).where(Person.name_sound_key == key))
    if profile.birth_date:
        here_only |= _ids(Person.select(Person.id).where(Person.birth_date == profile.birth_date))
    if email:
        anywhere |= _ids(Person.select(Person.id).where(Person.email_key == email))
        anywhere |= _ids(Email.select(Email.person).where(Email.address_key == email))
    if phone:
        here_only |= _ids(Phone.select(Phone.person).where(Phone.number == phone))
    if profile.identifiers:
        here_only |= _ids(
            Identifier.select(Account.person)
            .join(Account)
            .where(Identifier.value_key.in_(sorted(profile.identifiers)))
        )
    ids = here_only | anywhere
    if not ids:
        return []
    accounts = {
        a.person_id: a
        for a in Account.select().where(
            Account.person.in_(sorted(ids)), Account.organization == organization_id
        )
    }
    out: list[Candidate] = []
    profiles = read_profiles(ids)
    for pid, other in profiles.items():
        account = accounts.get(pid)
        if account is None and pid not in anywhere:
            continue
        if account is not None and not can(actor, Action.VIEW_USER, account):
            continue
        verdict = compare(profile, other)
        if verdict.score < TYPING_MIN_SCORE:
            continue
        out.append(
            Candidate(
                pid,
                account.id if account else None,
                account.primary_id if account else "",
                other.last_name,
                other.first_name,
                other.birth_date,
                verdict.score,
                verdict.why,
            )
        )
    out.sort(key=lambda c: (-c.score, c.last_name, c.first_name, c.person_id))
    return out[:SHOWN]
