"""The search engine of Find and Manage Users (models/search/), on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.audit import Actor
from models.config.seed import seed_code_tables
from models.enums import AccountType, Role, Source, Status
from models.runtime import runtime
from models.search.engine import (
    MAX_TOKENS,
    TABS,
    UserQuery,
    count_users,
    find_exact,
    looks_like_key,
    name_bucket,
    name_key,
    search_tokens,
    search_users,
)
from models.store.base import database
from models.store.tables import (
    Account,
    Block,
    BlockDefinition,
    Library,
    Note,
    Organization,
    Person,
    RoleAssignment,
    UserGroup,
)
from models.text import name_words
from models.users.accounts import NewUser, create_user, person_search_text, sort_name
from tests.helpers.db import cached_rows

_ids = itertools.count(1)


def add(db, last: str, first: str = "", *, record_type: str = "public", **extra) -> Account:
    """A user made through the service, with what each record type requires."""
    n = next(_ids)
    data = dict(
        record_type=record_type,
        first_name=first,
        last_name=last,
        primary_id=extra.pop("primary_id", f"U{n:05d}"),
    )
    if record_type in ("public", "staff"):
        data.update(
            user_group=extra.pop("user_group", "STAFF" if record_type == "staff" else "PUBLIC"),
            email=extra.pop("email", f"user{n}@example.org"),
            expiry_date=extra.pop("expiry_date", runtime.today() + dt.timedelta(days=100 + n)),
        )
    elif record_type == "researcher":
        data.update(email=extra.pop("email", f"user{n}@example.org"))
    elif record_type == "contact":  # a phone is mandatory for contacts by default
        data.update(phone=extra.pop("phone", "+41 44 268 10 00"))
    data.update(extra)
    organization = data.pop("organization", None)
    if organization is not None:  # another organization: as the command line would
        return create_user(NewUser(**data), Actor(None, Source.CLI), organization)
    return create_user(NewUser(**data), Actor(db.admin, Source.SCREEN), db.organization)


def every(organization_id: int, query: UserQuery, limit: int = 37) -> list[int]:
    """Walk every page; account ids in order."""
    ids: list[int] = []
    after = None
    for _ in range(10_000):
        page = search_users(organization_id, query, after=after, limit=limit)
        assert len(page.rows) <= limit
        if page.cursor is not None:
            assert len(page.rows) == limit, "only the last page may be short"
        ids += [r.account_id for r in page.rows]
        after = page.cursor
        if after is None:
            return ids
    raise AssertionError("paging did not end")


def names(db, query: UserQuery) -> list[str]:
    return [r.name for r in search_users(db.organization.id, query, limit=1000).rows]


def found(db, text: str, **kw) -> set[str]:
    return set(names(db, UserQuery(text=text, **kw)))


@pytest.fixture
def people(db):
    add(db, "Müller", "Anne")
    add(db, "Muller-Lüdenscheidt", "Bob")
    add(db, "Smith", "Ann-Marie", middle_name="Zoë")
    add(db, "Østergaard", "Søren", preferred_first_name="Bo")
    add(db, "Annan", "Kofi")
    add(db, "Mullins", "Carla")
    return db


# --- Text ---------------------------------------------------------------------------------------


def test_tokens_are_folded_words_only() -> None:
    assert search_tokens('  "Müller"*  -ANN: (x) ') == ["muller", "ann", "x"]
    assert search_tokens("an anne") == ["anne"]  # a prefix of another word adds nothing
    assert search_tokens("\x00*:()\"'-") == []
    assert search_tokens("a" * 10_000) == ["a" * 40]
    assert len(search_tokens(" ".join(f"w{i}x" for i in range(50)))) == MAX_TOKENS
    assert search_tokens("NEAR AND OR NOT") == ["near", "and", "or", "not"]


def test_prefix_any_order_accent_and_case_free(people) -> None:
    assert found(people, "muller") == {"Müller, Anne", "Muller-Lüdenscheidt, Bob"}
    assert found(people, "MÜL") == {
        "Müller, Anne",
        "Muller-Lüdenscheidt, Bob",
        "Mullins, Carla",
    }
    assert found(people, "ann mul") == {"Müller, Anne"}
    assert found(people, "mul ann") == {"Müller, Anne"}
    assert found(people, "ann") == {"Müller, Anne", "Smith, Ann-Marie", "Annan, Kofi"}
    assert found(people, "ludensch") == {"Muller-Lüdenscheidt, Bob"}  # second part of a name
    assert found(people, "oster") == {"Østergaard, Bo (Søren)"}
    assert found(people, "zzz") == set()


def test_middle_and_preferred_names(people) -> None:
    assert found(people, "zoe") == {"Smith, Ann-Marie"}
    assert found(people, "marie smi") == {"Smith, Ann-Marie"}
    assert found(people, "bo oster") == {"Østergaard, Bo (Søren)"}
    assert found(people, "soren") == {"Østergaard, Bo (Søren)"}


def test_exact_identifier_primary_id_and_email(db) -> None:
    anne = add(db, "Müller", "Anne", primary_id="ID77", email="Anne.M@Example.org")
    add(db, "Other", "Person", identifier_type="BARCODE", identifier_value="BC0042")
    add(db, "Id77x", "Named", primary_id="NAMED-1")  # a name that looks like the id
    org = db.organization.id
    assert [r.account_id for r in find_exact(org, "id77")] == [anne.id]
    assert [r.name for r in find_exact(org, "bc0042")] == ["Other, Person"]
    assert [r.name for r in find_exact(org, " ANNE.m@example.ORG ")] == ["Müller, Anne"]
    assert find_exact(org, "nobody@example.org") == []
    # In the search: a key-like text that matches exactly gives those accounts only...
    assert names(db, UserQuery(text="ID77")) == ["Müller, Anne"]
    assert names(db, UserQuery(text="BC0042")) == ["Other, Person"]
    assert count_users(org, UserQuery(text="ID77")) == 1
    # ... and the name search when it matches nothing exactly.
    assert names(db, UserQuery(text="ID7")) == ["Id77x, Named"]
    # A name-like exact hit (a username) comes first, then the names.
    bobby = add(db, "Zed", "Zoe", username="bobby")
    add(db, "Tables", "Bobby")
    assert names(db, UserQuery(text="BOBBY")) == ["Zed, Zoe", "Tables, Bobby"]
    assert count_users(org, UserQuery(text="bobby")) == 2
    assert [r.account_id for r in find_exact(org, "bobby")] == [bobby.id]
    # An email that is nobody's falls back to its words.
    assert names(db, UserQuery(text="anne.m@nowhere")) == []
    assert names(db, UserQuery(text="anne.mul@")) == ["Müller, Anne"]


def test_other_email_addresses_match_exactly(db) -> None:
    from models.store.tables import Email

    anne = add(db, "Müller", "Anne")
    Email.create(
        person=anne.person_id,
        address="Work@Uni.example",
        address_key="work@uni.example",
        email_type="work",
    )
    assert [r.account_id for r in find_exact(db.organization.id, "WORK@uni.example")] == [anne.id]


# --- Tabs, filters, status ----------------------------------------------------------------------


@pytest.fixture
def mix(db):
    today = runtime.today()
    made = {
        "staff": add(db, "Staffer", "Sam", record_type="staff", roles=[Role.USER_MANAGER.value]),
        "public": add(db, "Public", "Pat", user_group="UNDERGRAD"),
        "researcher": add(db, "Research", "Rae", record_type="researcher", researcher=True),
        "contact": add(db, "Contact", "Cy", record_type="contact"),
        "organization": add(db, "Org Corp", record_type="organization"),
        "external": add(db, "External", "Ed", account_type=AccountType.EXTERNAL.value),
        "inactive": add(db, "Inactive", "Ina"),
        "expired": add(db, "Expired", "Exa"),
    }
    Account.update(status=Status.INACTIVE.value).where(Account.id == made["inactive"].id).execute()
    Account.update(expiry_date=today - dt.timedelta(days=1)).where(
        Account.id == made["expired"].id
    ).execute()
    # Contacts that never expire (a new account left without a date gets its registration
    # period's end, issue 22: the General tab clears it).
    Account.update(expiry_date=None).where(
        Account.id.in_([made["contact"].id, made["organization"].id])
    ).execute()
    return made


def ids_of(db, **kw) -> set[int]:
    return set(every(db.organization.id, UserQuery(**kw)))


def test_tabs(db, mix) -> None:
    admin = db.admin.id
    assert ids_of(db, tab="staff") == {mix["staff"].id, admin}
    assert ids_of(db, tab="public") == {
        mix[k].id for k in ("public", "researcher", "external", "inactive", "expired")
    }
    assert ids_of(db, tab="contact") == {mix["contact"].id, mix["organization"].id}
    assert ids_of(db, tab="all") == {a.id for a in mix.values()} | {admin}
    assert set(TABS) == {"staff", "public", "contact", "all"}
    with pytest.raises(ValueError):
        search_users(db.organization.id, UserQuery(tab="nope"))


def test_filters(db, mix) -> None:
    assert ids_of(db, account_type="external") == {mix["external"].id}
    assert ids_of(db, role=Role.USER_MANAGER.value) == {mix["staff"].id}
    assert ids_of(db, role=Role.USER_ADMINISTRATOR.value) == {db.admin.id}
    assert db.admin.id in ids_of(db, role=Role.PATRON.value)
    group = UserGroup.get(UserGroup.code == "UNDERGRAD")
    assert ids_of(db, user_group_id=group.id) == {mix["public"].id}
    assert ids_of(db, status="inactive") == {mix["inactive"].id, mix["expired"].id}
    active = ids_of(db, status="active")
    assert mix["inactive"].id not in active and mix["expired"].id not in active
    assert mix["public"].id in active
    # Filters combine, with text too.
    assert ids_of(db, tab="public", status="inactive", text="exp") == {mix["expired"].id}
    assert ids_of(db, tab="staff", status="inactive") == set()
    # An expired role does not count.
    RoleAssignment.update(expiry_date=runtime.today() - dt.timedelta(days=1)).where(
        RoleAssignment.role == Role.USER_MANAGER.value
    ).execute()
    assert ids_of(db, role=Role.USER_MANAGER.value) == set()


def test_row_columns_and_marks(db, mix) -> None:
    today = runtime.today()
    staff = mix["staff"]
    definition = BlockDefinition.select().first()
    Block.create(account=staff, definition=definition)
    Note.create(account=mix["public"], text="remember")
    Block.create(
        account=mix["public"], definition=definition, expiry_date=today - dt.timedelta(days=1)
    )
    Block.create(account=mix["contact"], definition=definition, active=False)
    rows = {r.account_id: r for r in search_users(db.organization.id, UserQuery()).rows}
    row = rows[staff.id]
    assert row.blocked and not row.has_notes
    assert row.name == "Staffer, Sam" and row.record_type == "staff"
    assert row.user_group == "Library staff" and row.active and row.status == "active"
    assert row.primary_id == staff.primary_id and row.email.endswith("@example.org")
    assert row.person_id == staff.person_id and row.version == 1
    assert rows[mix["public"].id].has_notes and not rows[mix["public"].id].blocked
    assert not rows[mix["contact"].id].blocked and rows[mix["contact"].id].email == ""
    assert rows[mix["researcher"].id].researcher
    assert not rows[mix["expired"].id].active and rows[mix["expired"].id].status == "active"
    assert rows[mix["expired"].id].expiry_date == today - dt.timedelta(days=1)
    assert rows[mix["organization"].id].name == "Org Corp"


def test_rows_read_with_the_walk_are_the_rows(db, mix) -> None:
    """PostgreSQL reads a list page's display rows in the walk's statement: the same rows, with
    the same marks, as the one query of `_rows` gives."""
    from models.access.scope import INSTITUTION_ONLY
    from models.search.engine import _rows

    definition = BlockDefinition.select().first()
    Block.create(account=mix["staff"], definition=definition)
    Note.create(account=mix["public"], text="remember")
    for query in (
        UserQuery(),
        UserQuery(sort="expiry", descending=True),
        UserQuery(tab="public", status="active"),
        UserQuery(tab="all", sort="expiry"),
        UserQuery(text="pub", tab="public"),
    ):
        for limit in (3, 100):
            rows = search_users(db.organization.id, query, limit=limit).rows
            assert rows and rows == _rows([r.account_id for r in rows], INSTITUTION_ONLY)


# --- Order and paging ---------------------------------------------------------------------------


def test_sort_by_name_and_expiry_both_ways(db, mix) -> None:
    org = db.organization.id
    accounts = list(Account.select().where(Account.organization == org))
    by_name = [a.id for a in sorted(accounts, key=lambda a: (a.sort_name, a.id))]
    assert every(org, UserQuery(), limit=3) == by_name
    assert every(org, UserQuery(descending=True), limit=3) == by_name[::-1]

    def expiry_key(a):
        return (0, a.expiry_date, a.id) if a.expiry_date else (1, dt.date.max, a.id)

    by_expiry = [a.id for a in sorted(accounts, key=expiry_key)]
    assert Account.get_by_id(by_expiry[-1]).expiry_date is None  # never expires: last
    assert every(org, UserQuery(sort="expiry"), limit=3) == by_expiry
    assert every(org, UserQuery(sort="expiry", descending=True), limit=3) == by_expiry[::-1]
    assert every(org, UserQuery(sort="expiry", tab="public"), limit=2) == [
        i for i in by_expiry if Account.get_by_id(i).record_type in ("public", "researcher")
    ]


@pytest.fixture
def many(db):
    """250 users sharing names and expiry dates (ties), some with words in common (made once
    per back end and session, copied back for each test: tests.helpers.db.cached_rows)."""

    def build() -> None:
        firsts = ["Anne", "Bob", "Céline", "Dora", "Émile"]
        lasts = ["Martin", "Martinez", "Müller", "Smith", "Dupont", "Ng", "Østberg"]
        today = runtime.today()
        for i in range(249):
            add(
                db,
                lasts[i % 7],
                firsts[i % 5],
                expiry_date=today + dt.timedelta(days=1 + i % 4),
                record_type="contact" if i % 10 == 0 else "public",
            )
        # Some expired, and contacts that never expire (the two phases of a walk by expiry).
        yesterday = today - dt.timedelta(days=1)
        Account.update(expiry_date=yesterday).where(Account.id.bin_and(3) == 0).execute()
        Account.update(expiry_date=None).where(Account.record_type == "contact").execute()

    cached_rows(db, "many", build)
    return db


PAGING_QUERIES = [
    UserQuery(),
    UserQuery(descending=True),
    UserQuery(sort="expiry"),
    UserQuery(sort="expiry", descending=True),
    UserQuery(text="mar"),
    UserQuery(text="mar", descending=True),
    UserQuery(text="an"),
    UserQuery(text="e", sort="expiry"),
    UserQuery(text="e", sort="expiry", descending=True),
    UserQuery(tab="public", status="active"),
    UserQuery(tab="contact", text="m"),
    UserQuery(status="active", sort="expiry"),
    UserQuery(status="active", sort="expiry", descending=True),
    UserQuery(status="inactive", sort="expiry", descending=True),
    UserQuery(tab="public", status="active", sort="expiry", text="mar"),
]


def test_keyset_paging_walks_every_row_once(many) -> None:
    for query in PAGING_QUERIES:
        check_paging(many, query)


def check_paging(many, query: UserQuery, limit: int = 37) -> None:
    org = many.organization.id
    walked = every(org, query, limit=limit)
    assert len(walked) == len(set(walked)), "no row twice"
    whole = [r.account_id for r in search_users(org, query, limit=1000).rows]
    assert walked == whole, "pages joined are the one big page"
    assert count_users(org, query) == len(whole)
    # The reference: which rows match, in which order.
    accounts = Account.select(Account, Person).join(Person).where(Account.organization == org)
    tokens = search_tokens(query.text)
    types = {"all": None, "public": ("public", "researcher"), "contact": ("contact",)}[query.tab]
    today = runtime.today()

    def matches(a) -> bool:
        words = person_search_text(a.person.__data__).split()
        if not all(any(w.startswith(t) for w in words) for t in tokens):
            return False
        if types and a.record_type not in types:
            return False
        active = a.status == "active" and (a.expiry_date is None or a.expiry_date >= today)
        return {"any": True, "active": active, "inactive": not active}[query.status]

    def key(a):
        if query.sort == "name":
            return (a.sort_name, a.id)
        return (0, a.expiry_date, a.id) if a.expiry_date else (1, dt.date.max, a.id)

    expected = [a.id for a in sorted(filter(matches, accounts), key=key)]
    if query.descending:
        expected.reverse()
    assert walked == expected


@pytest.fixture
def namesakes(db):
    """160 Müllers (one name-key bucket, "muller "), a fifth of them with a first name in "a",
    and 40 others around them (made once per back end and session: tests.helpers.db.cached_rows)."""

    def build() -> None:
        firsts = ["Anne", "Bob", "Céline", "Dora", "Émile", "Arno", "Gus", "Hana", "Ivo", "Jo"]
        today = runtime.today()
        for i in range(160):
            add(
                db,
                "Müller",
                firsts[i % 10],
                expiry_date=today + dt.timedelta(days=1 + i % 3),
                record_type="contact" if i % 9 == 0 else "public",
            )
        for i in range(40):
            add(db, ["Mulder", "Mullins", "Martin", "Ng"][i % 4], firsts[i % 10])

    cached_rows(db, "namesakes", build)
    return db


NAMESAKE_QUERIES = [
    UserQuery(text="muller"),
    UserQuery(text="muller", descending=True),
    UserQuery(text="m"),
    UserQuery(text="m", descending=True),
    UserQuery(text="mu a"),
    UserQuery(text="mu a", descending=True),
    UserQuery(text="mul"),
    UserQuery(text="m", tab="public", status="active"),
    UserQuery(text="mu", tab="contact", descending=True),
]


def spy_on_plan(monkeypatch, method: str, note) -> list:
    """`note(result)` of every call of `_Plan.<method>`, which still runs."""
    import models.search.engine as search

    calls: list = []
    real = getattr(search._Plan, method)

    def spy(self, *args):
        result = real(self, *args)
        calls.append(note(result))
        return result

    monkeypatch.setattr(search._Plan, method, spy)
    return calls


def test_namesake_buckets_walked_in_name_order(namesakes, monkeypatch) -> None:
    """PostgreSQL reads a bucket of many namesakes by walking the accounts in name order
    rather than sorting its hits (`_walk_bucket`), and gives up to the sort when the hits are
    sparse: every page is still the reference's, both ways."""
    import models.search.engine as search

    calls = spy_on_plan(monkeypatch, "_walk_bucket", lambda result: result is not None)
    for sparse in (8, 1):  # 1: give up as soon as a round falls short
        monkeypatch.setattr("models.search.plan.BUCKET_WALK_SPARSE", sparse)  # read there
        calls.clear()
        for query in NAMESAKE_QUERIES:
            check_paging(namesakes, query, limit=5)
        if search._is_pg():
            assert True in calls, "some bucket was walked"
            if sparse == 1:
                assert False in calls, "some walk gave up to the sort"
        else:
            assert calls == [], "SQLite sorts its buckets (FTS5 reads them fast enough)"


def test_buckets_every_name_of_which_matches_are_walked(namesakes, monkeypatch) -> None:
    """A bucket whose every name matches the words ("muller " for "mul") is read along the
    list indexes (`_walk_all_hit`), from a cursor inside it and as the boundary of a page,
    without sorting its hits or testing words; the pages are the reference's. Names that
    share leading letters across a hyphen, a space and an apostrophe sit in the buckets
    around it."""
    import models.search.engine as search

    for last in ["Mu", "Mu-Ller", "Mu Ller", "Mu'ller", "Muller-Smith", "Mullerova", "Mull"]:
        add(namesakes, last, "Zed")
    calls = spy_on_plan(monkeypatch, "_walk_all_hit", len)
    queries = [
        UserQuery(text="muller"),
        UserQuery(text="mul", descending=True),
        UserQuery(text="mu"),
        UserQuery(text="mu", descending=True),
        UserQuery(text="mul muller"),
        UserQuery(text="mu", tab="public", status="active"),
        UserQuery(text="m", tab="contact", descending=True),
    ]
    for limit in (5, 40):
        calls.clear()
        for query in queries:
            check_paging(namesakes, query, limit=limit)
        assert calls and max(calls) == limit + 1, "whole pages (and the next row) read there"
    assert (
        search._Plan(namesakes.organization.id, UserQuery(text="mu a"))._all_hit(
            name_bucket("muller anne")
        )
        is False
    ), "a word the bucket's letters do not start is tested"


NAMEISH = st.text(alphabet="abmz -'`!0ÿĀЖ中\U0010ffff\x01", max_size=9)


@given(NAMEISH, NAMEISH)
@settings(max_examples=300, deadline=None)
def test_name_key_keeps_name_order(a, b) -> None:
    """a < b implies bucket(a) <= bucket(b) (migration 0010: "le roux" < "le-blanc")."""
    from models.search.engine import name_bucket

    if a < b:
        assert name_bucket(a) <= name_bucket(b)
    assert name_bucket("le roux anne") <= name_bucket("le-blanc bob")


@given(NAMEISH.filter(lambda t: "\U0010ffff" not in t), NAMEISH)
@settings(max_examples=300, deadline=None)
def test_bucket_edges_enclose_their_names(a, b) -> None:
    """The string bounds of a name-key bucket hold its sort names, and no other bucket's."""
    from models.search.engine import _bucket_floor, _bucket_top, name_bucket

    for value in (a, b):
        bucket = name_bucket(value)
        assert _bucket_floor(bucket) <= value <= _bucket_top(bucket)
    if name_bucket(a) < name_bucket(b):
        assert _bucket_top(name_bucket(a)) < b and a < _bucket_floor(name_bucket(b))


def test_count_and_cap(many) -> None:
    org = many.organization.id
    total = Account.select().where(Account.organization == org).count()
    assert count_users(org, UserQuery()) == total == 250
    assert count_users(org, UserQuery(), cap=100) == 101  # more than the cap
    assert count_users(org, UserQuery(), cap=250) == 250
    assert count_users(org, UserQuery(), cap=0) == 1
    mar = count_users(org, UserQuery(text="mar"))
    assert 0 < mar < total
    assert count_users(org, UserQuery(text="mar"), cap=mar) == mar
    assert count_users(org, UserQuery(text="mar"), cap=mar - 1) == mar


def test_a_cursor_belongs_to_its_query(many) -> None:
    org = many.organization.id
    page = search_users(org, UserQuery(text="mar"), limit=5)
    assert page.cursor is not None
    with pytest.raises(ValueError):
        search_users(org, UserQuery(text="mart"), after=page.cursor)
    with pytest.raises(ValueError):
        search_users(org, UserQuery(), after=object())
    with pytest.raises(ValueError):
        search_users(org, UserQuery(), limit=0)


def test_exact_hits_page_across(db) -> None:
    """More exact hits than a page (the same address on several people): still every row once."""
    from models.store.tables import Email

    made = [add(db, f"Shared{i}", "Sam") for i in range(5)]
    for a in made:
        Email.create(
            person=a.person_id,
            address="desk@x.example",
            address_key="desk@x.example",
            email_type="work",
        )
    org = db.organization.id
    walked = every(org, UserQuery(text="desk@x.example"), limit=2)
    assert walked == [a.id for a in made]
    assert count_users(org, UserQuery(text="desk@x.example"), cap=3) == 4


# --- Safety -------------------------------------------------------------------------------------

NASTY = [
    '"',
    '""',
    "*",
    "-",
    ":",
    "(",
    ")",
    "\x00",
    "mül\x00ler",
    "AND",
    "OR",
    "NOT",
    "NEAR",
    "NEAR(a b)",
    "a AND",
    "^",
    "{a b}",
    "col:val",
    "'",
    "\\",
    "%",
    "_",
    "%_%",
    "?",
    "$1",
    ";--",
    "x" * 10_000,
    "a " * 5_000,
    "😀",
    "müller 😀",
    "\u202e",
    "\ufeff",
    "𞤢",
    "ǅ",
    "ﬃ",
    "İ",
    "ß",
    "\t\n",
    "   ",
    "a" + "\u0301" * 50,
]


@pytest.mark.parametrize("text", NASTY, ids=lambda t: repr(t[:20]))
def test_nasty_input_never_raises(people, text) -> None:
    org = people.organization.id
    for sort in ("name", "expiry"):
        query = UserQuery(text=text, sort=sort)
        page = search_users(org, query, limit=2)
        if page.cursor is not None:
            search_users(org, query, after=page.cursor, limit=2)
        count_users(org, query, cap=10)
    find_exact(org, text)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.text(alphabet=st.sampled_from(list("abcdemnorsuAMNÜüéøØ -'\"*:()^.@_%\\\x00")), max_size=20)
)
def test_fuzz_matches_the_rule(people, text) -> None:
    """Any text over a small alphabet finds exactly the people whose name words it prefixes."""
    org = people.organization.id
    tokens = search_tokens(text)
    expected = set()
    for a in Account.select(Account, Person).join(Person).where(Account.organization == org):
        words = name_words(
            *(
                getattr(a.person, f)
                for f in (
                    "last_name",
                    "first_name",
                    "middle_name",
                    "preferred_first_name",
                    "preferred_middle_name",
                    "preferred_last_name",
                )
            )
        ).split()
        if not text.strip() or (
            tokens and all(any(w.startswith(t) for w in words) for t in tokens)
        ):
            expected.add(a.id)
    got = every(org, UserQuery(text=text), limit=2)
    exact = [r.account_id for r in find_exact(org, text)]
    if exact and looks_like_key(text):
        expected = set()
    assert set(got) == expected | set(exact)
    assert got[: len(exact)] == exact


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.text(max_size=300))
def test_fuzz_any_text_is_safe(people, text) -> None:
    org = people.organization.id
    query = UserQuery(text=text)
    search_users(org, query, limit=3)
    count_users(org, query, cap=5)
    search_users(org, UserQuery(text=text, sort="expiry", descending=True), limit=3)


# --- Organizations and the index in step --------------------------------------------------------


def test_other_organization_never_returned(people) -> None:
    other = Organization.create(code="OTHER", name="Other")
    Library.create(organization=other, code="OTHER", name="Other library")
    seed_code_tables(other)
    stranger = add(people, "Müller", "Anne", record_type="contact", organization=other)
    # The same person in both organizations: each sees only its own account.
    mine = Account.get(
        Account.organization == people.organization, Account.sort_name == "muller anne"
    )
    shared = add(people, "", record_type="contact", organization=other, person_id=mine.person_id)
    org = people.organization.id
    for query in (UserQuery(), UserQuery(text="muller"), UserQuery(text="mul", sort="expiry")):
        assert not {stranger.id, shared.id} & set(every(org, query))
    assert find_exact(org, stranger.primary_id) == []
    assert names(people, UserQuery(text=stranger.primary_id)) == []
    theirs = every(other.id, UserQuery(text="muller"))
    assert set(theirs) == {stranger.id, shared.id}


def test_index_in_step_with_name_updates_and_deletes(people) -> None:
    org = people.organization.id
    anne = Account.get(Account.sort_name == "muller anne")
    names_ = dict(
        last_name="Zwingli", first_name="Huldrych", middle_name="", preferred_first_name=""
    )
    Person.update(
        **names_,
        sort_name=sort_name("Zwingli", "Huldrych"),
        search_text=person_search_text(names_),
    ).where(Person.id == anne.person_id).execute()
    assert found(people, "zwing") == {"Zwingli, Huldrych"}
    assert found(people, "ann mul") == set()
    assert "Müller, Anne" not in found(people, "muller")
    # The account's copy of the sort name followed: the list is in the new order.
    assert Account.get_by_id(anne.id).sort_name == "zwingli huldrych"
    assert names(people, UserQuery())[-1] == "Zwingli, Huldrych"
    # A change that does not touch the names leaves the index alone.
    Person.update(failed_logins=3).where(Person.id == anne.person_id).execute()
    assert found(people, "huld") == {"Zwingli, Huldrych"}
    # Deleting the person (and so the account) takes them out of the index.
    Account.delete().where(Account.id == anne.id).execute()
    Person.delete().where(Person.id == anne.person_id).execute()
    assert found(people, "zwing") == set()
    assert count_users(org, UserQuery(text="zw")) == 0


def test_bulk_inserts_are_indexed(db) -> None:
    """Rows written with plain INSERTs (as the demo and the importer do) are searchable."""
    org = db.organization
    people_rows = [
        dict(
            username=f"bulk{i}",
            username_key=f"bulk{i}",
            last_name=f"Bulkowski{i}",
            first_name="Ida",
            sort_name=sort_name(f"Bulkowski{i}", "Ida"),
            search_text=name_words(f"Bulkowski{i}", "Ida"),
        )
        for i in range(30)
    ]
    with database.atomic():
        Person.insert_many(people_rows).execute()
        persons = Person.select().where(Person.username_key.startswith("bulk"))
        Account.insert_many(
            [
                dict(
                    organization=org,
                    person=p,
                    primary_id=p.username,
                    primary_id_key=p.username,
                    record_type="contact",
                )
                for p in persons
            ]
        ).execute()  # sort_name left empty: the trigger fills it
    assert count_users(org.id, UserQuery(text="ida bulk")) == 30
    assert every(org.id, UserQuery(text="bulkowski1"))[:1] == [
        Account.get(Account.primary_id == "bulk1").id
    ]
    assert Account.get(Account.primary_id == "bulk7").sort_name == "bulkowski7 ida"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        max_size=30,
    )
)
def test_name_key_of_the_triggers_is_the_python_one(people, value) -> None:
    """The SQL of migration 0003 and `models.search.engine.name_key` give the same key."""
    person = Person.get(Person.last_name == "Annan")
    Person.update(sort_name=value, search_text="keyprobe").where(Person.id == person.id).execute()
    if people.backend == "sqlite":
        (key,) = database.execute_sql(
            "SELECT rowid FROM person_name_fts WHERE person_name_fts MATCH 'keyprobe'"
        ).fetchone()
    else:
        (key,) = database.execute_sql(
            "SELECT key FROM person_name_index WHERE person_id = %s", (person.id,)
        ).fetchone()
    assert key == name_key(value, person.id)


def test_postgresql_name_prefixes_follow_every_change(db) -> None:
    """Migration 0009: person_name_prefix holds exactly the heads (1 to 3 characters) of the
    words of person_name_index, through inserts, renames and deletes."""
    if db.backend != "postgresql":
        pytest.skip("the prefix table is PostgreSQL's (SQLite's FTS5 has prefix indexes)")
    from models.users.deletion import delete_user
    from models.users.details import update_user

    desk = Actor(db.admin, Source.SCREEN)
    add(db, "Oberholzer", "Maëlle", middle_name="Jo")
    renamed = add(db, "Quist", "Ib")
    gone = add(db, "Varga", "Pál")
    update_user(renamed.id, renamed.version, {"last_name": "Quistgaard-Ny"}, desk)
    delete_user(gone.id, gone.version, desk)
    held = set(database.execute_sql("SELECT head, key, word FROM person_name_prefix").fetchall())
    wanted = set(
        database.execute_sql(
            "SELECT DISTINCT left(w, l), i.key, w FROM person_name_index i, "
            "unnest(tsvector_to_array(i.words)) w, generate_series(1, 3) l"
        ).fetchall()
    )
    assert held == wanted
    words = {w for _, _, w in held}
    assert {"oberholzer", "maelle", "jo", "quistgaard", "ny"} <= words
    assert "quist" not in words and "varga" not in words
    assert {h for h, _, w in held if w == "maelle"} == {"m", "ma", "mae"}
    assert found(db, "qu ny") == {"Quistgaard-Ny, Ib"}
    assert found(db, "ober ma") == {"Oberholzer, Maëlle"}


def test_prepared_lookups_give_the_same_pages(db, people, monkeypatch) -> None:
    """PostgreSQL prepares the exact and rows lookups per connection (and deallocates the
    oldest beyond PREPARE_KEEP): the pages are the same as unprepared, every time."""
    import models.search.run as run  # where _run_prepared reads PREPARE_*

    queries = [
        UserQuery(text=t, tab=tab)
        for t in ("", "mul", "user3@example.org", "ann", "U00001")
        for tab in ("all", "public", "staff")
    ]
    monkeypatch.setattr(run, "PREPARE_MAX_PARAMS", 0)  # nothing prepared
    plain = [names(db, q) for q in queries]
    monkeypatch.setattr(run, "PREPARE_MAX_PARAMS", 120)
    monkeypatch.setattr(run, "PREPARE_KEEP", 2)
    for _ in range(2):
        assert [names(db, q) for q in queries] == plain


def test_migration_0010_moves_the_old_keys(db) -> None:
    """Migration 0010 on a database indexed with 0003's key: every person moves to the new
    (order-preserving) key, in the index and its triggers, and paging by name no longer skips
    "Le Roux" after "Le-Blanc"."""
    import importlib

    old = importlib.import_module("models.store.migrations.0003_search_index")
    new = importlib.import_module("models.store.migrations.0010_monotone_name_key")
    for last, first in [("Le-Blanc", "Bob"), ("Le Roux", "Anne"), ("Le Goff", "Ivo")] * 3:
        add(db, last, first)
    add(db, "O'Brien", "Jo")
    run = database.execute_sql
    pg = db.backend == "postgresql"
    if pg:  # back to 0003's key
        run(
            "CREATE OR REPLACE FUNCTION pd_name_key(s text, pid bigint) RETURNS bigint "
            f"LANGUAGE sql IMMUTABLE AS $$ SELECT {old.name_key_sql('s', 'pid', pg=True)} $$"
        )
        run(
            "UPDATE person_name_index i SET key = pd_name_key(p.sort_name, p.id) FROM person p "
            "WHERE p.id = i.person_id"
        )
    else:
        for name, sql in run(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'trigger' AND name LIKE 'person_name_%'"
        ).fetchall():
            run(f'DROP TRIGGER "{name}"')
            for side in ("NEW", "OLD"):
                sql = sql.replace(
                    new.name_key_sql(f"{side}.sort_name", f"{side}.id"),
                    old.name_key_sql(f"{side}.sort_name", f"{side}.id"),
                )
            run(sql)
        run("INSERT INTO person_name_fts(person_name_fts) VALUES ('delete-all')")
        run(
            "INSERT INTO person_name_fts(rowid, words) "
            f"SELECT {old.name_key_sql('sort_name', 'id')}, search_text FROM person"
        )
    people = list(Person.select(Person.id, Person.sort_name))

    def keys() -> set[int]:
        if pg:
            return {k for (k,) in run("SELECT key FROM person_name_index").fetchall()}
        return {k for (k,) in run("SELECT rowid FROM person_name_fts").fetchall()}

    assert keys() != {name_key(p.sort_name, p.id) for p in people}, "old keys differ"
    new.up(None, database.obj)
    assert keys() == {name_key(p.sort_name, p.id) for p in people}
    renamed = add(db, "Le-Quément", "Zoé")  # the triggers write the new key
    assert name_key(Person.get_by_id(renamed.person_id).sort_name, renamed.person_id) in keys()
    org = db.organization.id
    walked = every(org, UserQuery(text="le"), limit=1)
    expected = [
        a.id
        for a in sorted(
            Account.select().where(Account.sort_name.startswith("le")),
            key=lambda a: (a.sort_name, a.id),
        )
    ]
    assert walked == expected and len(walked) == 10
    if pg:
        held = set(run("SELECT head, key, word FROM person_name_prefix").fetchall())
        wanted = set(
            run(
                "SELECT DISTINCT left(w, l), i.key, w FROM person_name_index i, "
                "unnest(tsvector_to_array(i.words)) w, generate_series(1, 3) l"
            ).fetchall()
        )
        assert held == wanted
