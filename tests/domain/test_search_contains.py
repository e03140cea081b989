"""Find Users' contains search ("~text" inside identifiers and emails) and the reverse walk
(End: `last_page`, `page_before`), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from models.runtime import runtime
from models.search.engine import (
    BackPage,
    UserQuery,
    contains_text,
    count_users,
    last_page,
    page_before,
    search_users,
)
from models.store.base import database
from models.store.tables import Account, Email, Identifier, Person
from tests.domain.test_search import add, every


def contains(db, text: str, **kw) -> set[str]:
    query = UserQuery(text=text, **kw)
    rows = search_users(db.organization.id, query, limit=1000).rows
    assert count_users(db.organization.id, query) == len(rows)
    return {r.name for r in rows}


def backwards(organization_id: int, query: UserQuery, limit: int) -> list[int]:
    """Walk every page from the end; account ids in the query's order."""
    ids: list[int] = []
    page: BackPage = last_page(organization_id, query, limit=limit)
    for _ in range(10_000):
        assert len(page.rows) <= limit
        if page.before is not None:
            assert len(page.rows) == limit, "only the first page may be short"
        ids = [r.account_id for r in page.rows] + ids
        if page.before is None:
            return ids
        page = page_before(organization_id, query, page.before, limit=limit)
    raise AssertionError("paging did not end")


def test_contains_finds_inside_primary_ids_identifiers_and_emails(db):
    add(db, "Alpha", "Ann", primary_id="U00000251", email="ann.alpha@north.example")
    add(
        db,
        "Beta",
        "Bob",
        primary_id="X77",
        identifier_type="BARCODE",
        identifier_value="BC-0025-9",
        email="bob@south.example",
    )
    gamma = add(db, "Gamma", "Gus", primary_id="Y88", email="gus@east.example")
    Email.create(
        person=gamma.person_id,
        address="gus.second@MIDDLE0025.example",
        address_key="gus.second@middle0025.example",
        email_type="work",
    )
    assert contains(db, "~U0000025") == {"Alpha, Ann"}
    assert contains(db, "~0025") == {"Alpha, Ann", "Beta, Bob", "Gamma, Gus"}
    assert contains(db, "~middle00") == {"Gamma, Gus"}  # a second email address
    assert contains(db, "~c-0025") == {"Beta, Bob"}  # case-insensitive, punctuation kept
    assert contains(db, "~SOUTH.ex") == {"Beta, Bob"}
    assert contains(db, "~.example") == {"Alpha, Ann", "Beta, Bob", "Gamma, Gus"}
    assert contains(db, "~nothing-like-this") == set()
    # Not a contains search without the prefix: "0025" is neither a key nor a name.
    assert search_users(db.organization.id, UserQuery(text="0025")).rows == []


def test_contains_follows_changes_of_the_keys(db):
    acc = add(db, "Delta", "Dee", primary_id="OLD123", email="dee@old.example")
    assert contains(db, "~old12") == {"Delta, Dee"}
    Account.update(primary_id="NEW456", primary_id_key="new456").where(
        Account.id == acc.id
    ).execute()
    Identifier.update(value="NEW456", value_key="new456").where(
        Identifier.value_key == "old123"
    ).execute()  # the primary id is an identifier too
    assert contains(db, "~old12") == set()
    assert contains(db, "~ew45") == {"Delta, Dee"}
    ident = Identifier.create(account=acc.id, value="ZZ-99-QQ", value_key="zz-99-qq")
    assert contains(db, "~z-99-q") == {"Delta, Dee"}
    Identifier.delete().where(Identifier.id == ident.id).execute()
    assert contains(db, "~z-99-q") == set()
    assert contains(db, "~ld.exa") == {"Delta, Dee"}
    Person.update(email="dee@new.example", email_key="dee@new.example").where(
        Person.id == acc.person_id
    ).execute()
    Email.update(address="dee@new.example", address_key="dee@new.example").where(
        Email.person == acc.person_id
    ).execute()
    assert contains(db, "~ld.exa") == set()
    assert contains(db, "~w.exa") == {"Delta, Dee"}


def test_contains_short_or_hostile_text_finds_nothing_and_never_fails(db):
    add(db, "Echo", "Eve", primary_id="AB1", email="eve@e.example")
    assert contains_text("~ab") == ""  # too short for a trigram
    assert contains_text("~AB1") == "ab1"
    for text in ("~", "~ab", "~%%%", "~___", '~"x"y', "~a\x00bc", "~" + "x" * 500, "~'; --"):
        query = UserQuery(text=text)
        page = search_users(db.organization.id, query)
        assert all(r.name == "Echo, Eve" for r in page.rows)
        count_users(db.organization.id, query)
    # LIKE wildcards are plain characters, not patterns.
    assert contains(db, "~%%%") == set()
    assert contains(db, "~a_1") == set()


def test_contains_pages_sorts_and_filters(db):
    today = runtime.today()
    for i in range(23):
        add(
            db,
            f"Name{i:02d}",
            "Z",
            primary_id=f"P-{i:02d}-KX",
            record_type="staff" if i % 3 == 0 else "public",
            expiry_date=today + dt.timedelta(days=200 - i),
        )
    org = db.organization.id
    for sort in ("name", "expiry"):
        for descending in (False, True):
            query = UserQuery(text="~-kx", sort=sort, descending=descending)
            ids = every(org, query, limit=5)
            assert len(ids) == 23
            full = [r.account_id for r in search_users(org, query, limit=1000).rows]
            assert ids == full
    staff = UserQuery(text="~-KX", tab="staff")
    assert len(every(org, staff, limit=2)) == 8
    assert count_users(org, staff) == 8


QUERIES = [
    UserQuery(),
    UserQuery(descending=True),
    UserQuery(sort="expiry"),
    UserQuery(sort="expiry", descending=True),
    UserQuery(tab="public"),
    UserQuery(status="active"),
    UserQuery(text="ma"),
    UserQuery(text="ma", sort="expiry", descending=True),
    UserQuery(text="smith"),  # a username that is also a name: exact hits first
    UserQuery(text="~-kx"),
]


@pytest.mark.parametrize("limit", [1, 4, 7, 100])
def test_last_page_and_pages_before_walk_the_same_rows_backwards(db, limit):
    today = runtime.today()
    for i in range(17):
        add(
            db,
            f"Ma{i % 5}rtin",
            f"F{i}",
            primary_id=f"Q-{i:02d}-KX",
            expiry_date=today + dt.timedelta(days=(i * 37) % 9 + 1),
        )
    add(db, "Smith", "Sam", username="smith")
    add(db, "Other", "Ola", record_type="staff")
    add(db, "Maple", "Mo", record_type="staff")
    org = db.organization.id
    for query in QUERIES:
        forward = every(org, query, limit=limit)
        assert backwards(org, query, limit) == forward, query
        last = last_page(org, query, limit=limit)
        assert [r.account_id for r in last.rows] == forward[-limit:]
    with pytest.raises(ValueError):
        page_before(org, UserQuery(text="x"), last_page(org, UserQuery(), limit=1).before)


def test_exact_count_has_no_cap(db):
    for i in range(12):
        add(db, f"Count{i}", "C")
    org = db.organization.id
    total = count_users(org, UserQuery(text="count"))
    assert total == 12
    assert count_users(org, UserQuery(text="count"), cap=5) == 6
    assert database.is_closed() is False


def test_a_broad_contains_search_walks_the_list_and_finds_the_same(db, monkeypatch):
    """More hits than the sort threshold: the list indexes are walked, testing each row's keys;
    the rows and their order are those of the sorted hits."""
    import models.search.engine as search

    today = runtime.today()
    for i in range(14):
        add(
            db,
            f"Broad{i % 4}",
            f"B{i}",
            primary_id=f"W-{i:02d}-ZZ" if i % 3 else f"V-{i:02d}",
            email=f"b{i}@zz-{i % 2}.example",
            record_type="staff" if i % 5 == 0 else "public",
            expiry_date=today + dt.timedelta(days=i % 4 + 1),
        )
    org = db.organization.id
    queries = [
        UserQuery(text=t, sort=s, descending=d, tab=tab, status=st)
        for t in ("~-zz", "~zz-1", "~.example")
        for s in ("name", "expiry")
        for d in (False, True)
        for tab, st in (("all", "any"), ("public", "active"))
    ]
    sorted_ = {q: every(org, q, limit=3) for q in queries}
    counts = {q: count_users(org, q) for q in queries}
    monkeypatch.setattr(search._Plan, "_sort_threshold", lambda self: 2)
    plan = search._Plan(org, UserQuery(text="~-zz"))
    assert plan._contains_broad()
    for q in queries:
        assert every(org, q, limit=3) == sorted_[q], q
        assert count_users(org, q) == counts[q] == len(sorted_[q])
        assert backwards(org, q, 4) == sorted_[q]
    assert len(sorted_[UserQuery(text="~-zz")]) == 9
