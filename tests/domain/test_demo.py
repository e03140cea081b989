"""`patrondesk demo` (models/demo.py): realistic, complete, consistent and repeatable demo data,
on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import phonenumbers
import pycountry
import pytest

from models.access.passwords import verify_secret
from models.audit import Actor
from models.config.settings import Settings, load_settings
from models.demo import (
    LOCALES,
    PERSON,
    STAFF_PASSWORD,
    TABLES,
    DemoContext,
    GroupInfo,
    _from_worker,
    demo_batches,
    generate_demo,
    load_context,
)
from models.enums import FeeAction, FeeStatus, RecordType, Role, Source, Status
from models.runtime import configure, runtime
from models.store.base import fold_key
from models.store.tables import (
    Account,
    Address,
    AuditEvent,
    Block,
    Email,
    Fee,
    FeeTransaction,
    FeeType,
    Identifier,
    Loan,
    Note,
    Person,
    Phone,
    RoleAssignment,
    UserGroup,
)
from models.users.accounts import NewUser, create_user, person_search_text, sort_name
from models.users.validation import check_email

FIXED_NOW = dt.datetime(2026, 3, 14, 10, 30, 0)
STAFF_ROLES = [r for r in Role if r != Role.PATRON]


@pytest.fixture
def fixed_clock():
    """Dates in demo data follow runtime.today(): pin it so two runs see the same day."""
    configure(clock=lambda: FIXED_NOW, hasher=runtime.hasher)


def _people(rows: list[tuple]) -> list[tuple]:
    """(id, username, first name, last name, birth date) of generated person rows."""
    out = []
    for row in rows:
        r = dict(zip(PERSON.columns, row, strict=True))
        out.append((r["id"], r["username"], r["first_name"], r["last_name"], r["birth_date"]))
    return out


def _demo_accounts() -> list[Account]:
    return list(Account.select().where(Account.created_by == "demo").order_by(Account.id))


def test_counts_coverage_and_shape(db, fixed_clock) -> None:
    report = generate_demo(250, seed=1)
    accounts = _demo_accounts()
    assert report.users == len(accounts) == 250
    assert Account.select().count() == 251  # and the administrator
    staff = [a for a in accounts if a.record_type == RecordType.STAFF]
    assert report.staff == len(staff) > 0

    # Every record type, and every user group with a record type it applies to.
    assert {a.record_type for a in accounts} == {t.value for t in RecordType}
    groups = {g.id: g for g in UserGroup.select()}
    assert {a.user_group_id for a in accounts} >= set(groups)
    for a in accounts:
        if a.user_group_id is not None:
            allowed = [t for t in groups[a.user_group_id].record_types.split(",") if t]
            assert not allowed or a.record_type in allowed, (a.primary_id, a.record_type)

    # Staff with each staff role, all with the one demo password; everyone is a patron.
    roles = defaultdict(set)
    for ra in RoleAssignment.select().where(RoleAssignment.account.in_([a.id for a in accounts])):
        roles[ra.account_id].add(ra.role)
    assert all(Role.PATRON.value in roles[a.id] for a in accounts)
    staff_roles = set().union(*(roles[a.id] for a in staff))
    assert staff_roles >= {r.value for r in STAFF_ROLES}
    assert all(roles[a.id] - {Role.PATRON.value} for a in staff)
    hashes = {a.person.password_hash for a in staff}
    assert len(hashes) == 1
    assert verify_secret(hashes.pop(), STAFF_PASSWORD, load_settings())

    # Some expired, inactive and blocked; notes of each kind; loans overdue, current, returned.
    today = FIXED_NOW.date()
    assert any(a.expiry_date and a.expiry_date < today for a in accounts)
    assert any(a.status == Status.INACTIVE for a in accounts)
    assert any(a.expiry_date is None or a.expiry_date >= today for a in accounts)
    assert Block.select().where(Block.active == True).count() > 0  # noqa: E712
    assert Note.select().where(Note.popup == True).count() > 0  # noqa: E712
    assert Note.select().where(Note.user_viewable == True).count() > 0  # noqa: E712
    loans = list(Loan.select())
    assert any(x.returned_at is not None for x in loans)
    assert any(x.returned_at is None and x.due_date < today for x in loans)
    assert any(x.returned_at is None and x.due_date >= today for x in loans)
    for x in loans:
        assert x.returned_at is None or x.returned_at >= x.loaned_at
        assert x.loaned_at <= FIXED_NOW

    # One creation event per account, so History is not empty.
    events = Counter(
        e.account_id
        for e in AuditEvent.select().where(
            (AuditEvent.entity == "account")
            & (AuditEvent.action == "create")
            & (AuditEvent.source == Source.JOB.value)
            & (AuditEvent.field == "account")
        )
    )
    assert all(events[a.id] == 1 for a in accounts)


def test_people_identifiers_and_contact_data(db) -> None:
    generate_demo(200, seed=2)
    accounts = _demo_accounts()
    people = {
        p.id: p for p in Person.select().where(Person.id.in_([a.person_id for a in accounts]))
    }
    primary = {
        i.account_id: i
        for i in Identifier.select().where(Identifier.is_primary == True)  # noqa: E712
    }
    for a in accounts:
        p = people[a.person_id]  # every account has its person
        ident = primary[a.id]
        assert ident.value == a.primary_id and ident.value_key == fold_key(a.primary_id)
        assert a.primary_id_key == fold_key(a.primary_id)
        assert p.username_key == fold_key(p.username)
        assert p.email_key == fold_key(p.email)
        assert p.search_text == person_search_text(p.__data__) != ""
        assert p.sort_name == sort_name(p.last_name, p.first_name)
        assert (a.comm_channel == "email") == (p.email is not None)
    extra = list(Identifier.select().where(Identifier.is_primary == False))  # noqa: E712
    assert extra and all(i.id_type_id is not None for i in extra)
    assert {i.id_type.code for i in extra} >= {"BARCODE", "UNIV_ID", "SSO", "ORCID"}

    # Names from several locales, with accents, and preferred names for some.
    assert any(any(ord(ch) > 127 for ch in p.last_name + p.first_name) for p in people.values())
    assert any(p.preferred_first_name for p in people.values())

    phones = list(Phone.select())
    assert phones
    for ph in phones:
        number = phonenumbers.parse(ph.number)
        assert phonenumbers.is_valid_number(number), ph.number
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == ph.number
    addresses = list(Address.select())
    countries = {ad.country for ad in addresses}
    assert len(countries) >= 6
    assert countries <= {loc.country for loc in LOCALES}
    assert all(pycountry.countries.get(alpha_2=c) for c in countries)
    assert all(ad.line1 and ad.city and ad.postal_code for ad in addresses)
    # A person's phone and address come from the same country.
    country_of = {ad.person_id: ad.country for ad in addresses if ad.preferred}
    for ph in phones:
        if ph.person_id in country_of:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(ph.number))
            assert region == country_of[ph.person_id], (ph.number, country_of[ph.person_id])
    for e in Email.select():
        assert check_email(e.address) == e.address
        assert e.address_key == fold_key(e.address)


def test_fees_are_consistent(db) -> None:
    generate_demo(300, seed=3)
    fees = list(Fee.select())
    assert len(fees) >= 5
    txs = defaultdict(list)
    for t in FeeTransaction.select():
        txs[t.fee_id].append(t)
    statuses = Counter()
    for fee in fees:
        rows = txs[fee.id]
        paid = sum(t.amount_minor for t in rows if t.action == FeeAction.PAY)
        waived = sum(t.amount_minor for t in rows if t.action == FeeAction.WAIVE)
        assert fee.original_minor > 0 and isinstance(fee.original_minor, int)
        assert fee.original_minor - paid - waived == fee.balance_minor >= 0
        assert [t.action for t in rows][0] == FeeAction.CREATE
        assert all(t.amount_minor >= 0 for t in rows)
        if fee.status in (FeeStatus.CLOSED, FeeStatus.WAIVED):
            assert fee.balance_minor == 0
        if fee.status == FeeStatus.CLOSED:
            assert paid == fee.original_minor
        if waived:
            assert fee.fee_type.waivable and all(
                t.reason_id for t in rows if t.action == FeeAction.WAIVE
            )
        if fee.loan_id is not None:
            assert fee.loan.account_id == fee.account_id
        statuses[fee.status] += 1
    assert statuses[FeeStatus.ACTIVE] and statuses[FeeStatus.CLOSED]


def test_same_seed_same_rows_and_the_database_gets_them(db, fixed_clock) -> None:
    from models.config.setup import default_organization

    ctx = load_context(default_organization(), "hash")

    def rows(seed: int, chunk: int) -> dict[str, list[tuple]]:
        out: dict[str, list[tuple]] = {t.name: [] for t in TABLES}
        for batch in demo_batches(120, seed, ctx, chunk_users=chunk):
            for name, values in batch.rows.items():
                out[name].extend(values)
        return out

    first = rows(7, chunk=50)
    assert first == rows(7, chunk=1_000)  # same seed, same rows, whatever the chunk size
    assert first != rows(8, chunk=50)
    assert _people(first["person"]) != _people(rows(8, chunk=50)["person"])

    generate_demo(120, seed=7)
    stored = [
        (p.id, p.username, p.first_name, p.last_name, p.birth_date)
        for p in Person.select().where(Person.id >= ctx.person_base).order_by(Person.id)
    ]
    assert stored == _people(first["person"])


def test_running_twice_adds_users_and_leaves_ids_usable(db, capsys) -> None:
    generate_demo(60, seed=4, progress=True)
    assert "60 / 60 users (100%)" in capsys.readouterr().err
    generate_demo(60, seed=4)  # the same seed again: the same people, new unique keys
    accounts = _demo_accounts()
    assert len(accounts) == 120
    names = Counter((a.person.first_name, a.person.last_name) for a in accounts)
    assert max(names.values()) >= 2
    assert len({a.person.username_key for a in accounts}) == 120

    # New rows after the demo get fresh ids (PostgreSQL sequences were moved past the demo's).
    org = db.organization
    account = create_user(
        NewUser(
            first_name="Zoë",
            last_name="Après-Démo",
            primary_id="AFTER-DEMO-1",
            user_group="PUBLIC",
            email="zoe.apres@example.org",
            expiry_date=runtime.today() + dt.timedelta(days=30),
        ),
        Actor(None, Source.CLI),
        org,
    )
    assert account.id > max(a.id for a in accounts)
    assert account.person_id > max(a.person_id for a in accounts)
    loan = Loan.create(account=account, item_barcode="X1", due_date=runtime.today())
    assert loan.id > max(x.id for x in Loan.select().where(Loan.id != loan.id))
    card = FeeType.get(FeeType.code == "CARD")
    fee = Fee.create(account=account, fee_type=card, original_minor=500, balance_minor=500)
    assert fee.id > max(f.id for f in Fee.select().where(Fee.id != fee.id))


def _context_without_database() -> DemoContext:
    from models.config import seed

    def ids(rows: list) -> dict[str, int]:
        return {row[0]: i for i, row in enumerate(rows, start=1)}

    return DemoContext(
        organization_id=1,
        library_id=1,
        today=FIXED_NOW.date(),
        now=FIXED_NOW,
        person_base=10,
        account_base=20,
        loan_base=30,
        fee_base=40,
        groups=tuple(
            GroupInfo(i, code, frozenset(types.split(",")))
            for i, (code, _, types) in enumerate(seed.USER_GROUPS, start=1)
        ),
        job_categories=ids(seed.JOB_CATEGORIES),
        campuses=(1, 2),
        identifier_types=ids(seed.IDENTIFIER_TYPES),
        note_types=ids(seed.NOTE_TYPES),
        block_definitions=ids(seed.BLOCK_DEFINITIONS),
        fee_types={code: (i, w, rate) for i, (code, _, w, _, rate) in enumerate(seed.FEE_TYPES, 1)},
        waive_reasons=(1, 2, 3),
        stat_categories={"DEPARTMENT": (1, 2, 3), "RESIDENCE": (4, 5)},
        group_roles={},
        job_roles={2: (Role.CIRCULATION_DESK_OPERATOR.value,)},
        mandatory={k: frozenset(v) for k, v in Settings().mandatory_fields.items()},
        staff_password_hash="hash",
    )


def test_second_process_gives_the_same_rows() -> None:
    """Large runs generate in a second process: the rows must be those made in-process."""
    ctx = _context_without_database()
    here = list(demo_batches(150, 9, ctx, 40, dates_as_text=True))
    there = list(_from_worker(150, 9, ctx, 40, dates_as_text=True))
    assert [b.rows for b in there] == [b.rows for b in here]
    assert [b.users for b in there] == [40, 40, 40, 30]
    assert all(
        isinstance(r[PERSON.columns.index("created_at")], str) for r in here[0].rows["person"]
    )
