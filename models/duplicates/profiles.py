"""Reading people's matching data (`match.Profile`) in batches: names, birth date, the folded
emails (login email and contact emails), phones and identifiers of every account."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from models.duplicates.keys import phone_key
from models.duplicates.match import Profile
from models.store.tables import Account, Email, Identifier, Person, Phone

CHUNK = 500


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def read_profiles(person_ids: Iterable[int]) -> dict[int, Profile]:
    ids = sorted(set(person_ids))
    emails: dict[int, set[str]] = defaultdict(set)
    phones: dict[int, set[str]] = defaultdict(set)
    identifiers: dict[int, set[str]] = defaultdict(set)
    people: dict[int, tuple] = {}
    for part in _chunks(ids):
        for pid, last, first, birth, email_key in (
            Person.select(
                Person.id, Person.last_name, Person.first_name, Person.birth_date, Person.email_key
            )
            .where(Person.id.in_(part))
            .tuples()
        ):
            people[pid] = (last, first, birth)
            if email_key:
                emails[pid].add(email_key)
        for pid, key in (
            Email.select(Email.person, Email.address_key).where(Email.person.in_(part)).tuples()
        ):
            emails[pid].add(key)
        for pid, number in (
            Phone.select(Phone.person, Phone.number).where(Phone.person.in_(part)).tuples()
        ):
            if digits := phone_key(number.split(" ext.")[0]):
                phones[pid].add(digits)
        for pid, key in (
            Identifier.select(Account.person, Identifier.value_key)
            .join(Account)
            .where(Account.person.in_(part))
            .tuples()
        ):
            identifiers[pid].add(key)
    return {
        pid: Profile(
            pid,
            last or "",
            first or "",
            birth,
            frozenset(emails[pid]),
            frozenset(phones[pid]),
            frozenset(identifiers[pid]),
        )
        for pid, (last, first, birth) in people.items()
    }
