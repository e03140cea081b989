"""What the validators accept is stored and read back unchanged, on both back ends."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.audit import Actor
from models.enums import RecordType, Source
from models.errors import ValidationError
from models.store.tables import Account
from models.users.accounts import NewUser, create_user, validate_new_user

_counter = itertools.count()

# Names: any printable text a person may carry (letters of any script, marks, spaces, hyphens).
names = st.text(
    alphabet=st.characters(categories=("L", "M", "Nd", "Zs", "Pd", "Po")), min_size=1, max_size=60
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(first=names, last=names, city=names)
def test_accepted_names_round_trip_through_the_database(
    db, first: str, last: str, city: str
) -> None:
    n = next(_counter)
    data = NewUser(
        record_type=RecordType.CONTACT.value,
        first_name=first,
        last_name=last,
        primary_id=f"RT{n:06d}",
        city=city,
        address_line1="1 Main Street",
        country="CH",
        phone="+41 44 268 10 00",  # mandatory for contacts by default
    )
    actor = Actor(db.admin, Source.SCREEN)
    try:
        cleaned = validate_new_user(data, db.organization, actor)
    except ValidationError:
        return  # refused with a message: nothing to store
    account = create_user(data, actor, db.organization)
    stored = Account.get_by_id(account.id)
    assert stored.person.first_name == cleaned["first_name"]
    assert stored.person.last_name == cleaned["last_name"]
    assert stored.person.addresses.first().city == cleaned["city"]
    # Cleaning only trims and normalizes spacing: the words typed are what is kept.
    assert cleaned["last_name"].split() == last.split()
