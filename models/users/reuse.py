"""Finding a person to reuse for a new account (RERO ILS: one person, an account per
organization). Only what staff of another organization may see is returned."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models.access.auth import find_person
from models.store.tables import Account, Person
from models.text import plural


@dataclass(frozen=True)
class PersonMatch:
    person_id: int
    login: str  # what was typed, cleaned
    first_name: str
    last_name: str
    birth_date: dt.date | None
    accounts_elsewhere: int  # other organizations: a count only
    has_account_here: bool

    def describe(self) -> str:
        born = f", born {self.birth_date.isoformat()}" if self.birth_date else ""
        elsewhere = (
            f" · has an account in {plural(self.accounts_elsewhere, 'other organization')}"
            if self.accounts_elsewhere
            else ""
        )
        return f"{self.last_name}, {self.first_name}{born}{elsewhere}"


def find_person_to_reuse(login: str, organization_id: int) -> PersonMatch | None:
    login = (login or "").strip()
    person = find_person(login) if login else None
    if person is None:
        return None
    accounts = list(Account.select(Account.organization).where(Account.person == person))
    here = any(a.organization_id == organization_id for a in accounts)
    return PersonMatch(
        person_id=person.id,
        login=login,
        first_name=person.first_name,
        last_name=person.last_name,
        birth_date=person.birth_date,
        accounts_elsewhere=sum(1 for a in accounts if a.organization_id != organization_id),
        has_account_here=here,
    )


def personal_data(person_id: int) -> dict[str, str]:
    """The personal fields a reused person brings into the form (shown locked)."""
    p = Person.get_by_id(person_id)
    return {
        "first_name": p.first_name,
        "middle_name": p.middle_name,
        "last_name": p.last_name,
        "preferred_first_name": p.preferred_first_name,
        "title": p.title,
        "website": p.website,
        "birth_date": p.birth_date.isoformat() if p.birth_date else "",
        "username": p.username,
        "email": p.email or "",
    }
