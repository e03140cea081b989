"""`patrondesk demo`: realistic demo users in bulk, the same data for the same seed.

How it stays fast (on a 2-core machine, SQLite: 100,000 users in about 20 s, 1,000,000 in about
8 minutes; the name-index trigger and the search indexes of migration 0003 take over half of it):
- Faker is called only to build small pools (first names, last names, addresses, companies,
  phone numbers per locale) once per seed; each user is then combined from the pools with one
  `random.Random`.
- Rows are plain tuples made by a pure generator (`demo_batches`) from a `DemoContext` read from
  the database once, so the generator can be tested without writing anything. From
  `WORKER_THRESHOLD` users it runs in a second process, overlapping the writes.
- Rows are written with the bulk writer the import uses (`models.bulk.BulkWriter`: sqlite3
  `executemany`, psycopg2 `execute_values`), one transaction per `CHUNK_USERS` users.
- Ids of person, account, loan and fee rows are allocated from max(id) + 1 (`models.bulk.next_id`),
  so child rows can point at them without reading them back; PostgreSQL sequences are moved past
  them afterwards.
  Unique values (username, email, primary id, identifiers) contain the person or account id, so a
  second run on the same database never collides with the first.

Demo data is meant for an idle database: a user added by someone else while `demo` runs could
take an id this run allocated. Email addresses use the reserved example domains (RFC 2606), so a
letter job run on demo data mails nobody real.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import multiprocessing
import os
import random
import re
import sys
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate

import phonenumbers

from models.base import database, fold_key
from models.bulk import BulkWriter, Table, next_id
from models.enums import (
    AccountType,
    AddressType,
    AuditAction,
    Channel,
    EmailType,
    FeeAction,
    FeeStatus,
    PhoneType,
    RecordType,
    Role,
    Source,
    Status,
)
from models.errors import PatronDeskError
from models.passwords import hash_secret
from models.runtime import runtime
from models.settings import load_settings
from models.tables import (
    Account,
    Address,
    AuditEvent,
    Block,
    BlockDefinition,
    Campus,
    Email,
    Fee,
    FeeTransaction,
    FeeType,
    Identifier,
    IdentifierType,
    JobCategory,
    Library,
    Loan,
    Note,
    NoteType,
    Organization,
    Person,
    Phone,
    RoleAssignment,
    RoleRule,
    StatCategory,
    StatCategoryType,
    Statistic,
    UserGroup,
    WaiveReason,
)
from models.text import fold
from models.users.derived import identifier_columns, person_derived, primary_id_columns

STAFF_PASSWORD = "Demo-Staff-2026"
DEMO_ACTOR = "demo"
CHUNK_USERS = 5_000  # users per transaction (about 50,000 rows)
WORKER_THRESHOLD = 20_000  # from this many users, generate in a second process (`_from_worker`)


@dataclass
class DemoReport:
    users: int
    staff: int


class DemoError(PatronDeskError):
    pass


# --- Locales ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLocale:
    faker: str  # Faker locale
    country: str  # ISO 3166-1 alpha-2 of the addresses and phone numbers
    language: str  # ISO 639-1: preferred and communication language
    weight: int
    state: str = ""  # Faker method giving the state field, if the country uses one
    middle_names: float = 0.06  # share of people with a middle name


# Swiss-weighted (the reference manuals come from a Swiss network), with neighbours and a few
# far-away students.
LOCALES: tuple[DemoLocale, ...] = (
    DemoLocale("fr_CH", "CH", "fr", 18),
    DemoLocale("de_CH", "CH", "de", 18),
    DemoLocale("de_DE", "DE", "de", 10),
    DemoLocale("fr_FR", "FR", "fr", 10),
    DemoLocale("it_IT", "IT", "it", 8),
    DemoLocale("es_ES", "ES", "es", 6),
    DemoLocale("en_US", "US", "en", 6, "state_abbr", 0.3),
    DemoLocale("en_GB", "GB", "en", 6, "", 0.2),
    DemoLocale("pl_PL", "PL", "pl", 5),
    DemoLocale("sv_SE", "SE", "sv", 4, "", 0.2),
    DemoLocale("pt_BR", "BR", "pt", 5, "estado_sigla", 0.35),
)

PERSONAL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example")
STAFF_DOMAIN = "library.example"
FACULTY_DOMAIN = "uni.example"
STUDENT_DOMAIN = "students.uni.example"

TITLES = (
    ("Madame Bovary", "Gustave Flaubert"),
    ("Les Misérables", "Victor Hugo"),
    ("Le Rouge et le Noir", "Stendhal"),
    ("Germinal", "Émile Zola"),
    ("À la recherche du temps perdu", "Marcel Proust"),
    ("Der Process", "Franz Kafka"),
    ("Die Verwandlung", "Franz Kafka"),
    ("Effi Briest", "Theodor Fontane"),
    ("Der grüne Heinrich", "Gottfried Keller"),
    ("Heidis Lehr- und Wanderjahre", "Johanna Spyri"),
    ("Faust", "Johann Wolfgang von Goethe"),
    ("Die Elixiere des Teufels", "E. T. A. Hoffmann"),
    ("I promessi sposi", "Alessandro Manzoni"),
    ("La coscienza di Zeno", "Italo Svevo"),
    ("Il fu Mattia Pascal", "Luigi Pirandello"),
    ("Don Quijote de la Mancha", "Miguel de Cervantes"),
    ("La Regenta", "Leopoldo Alas «Clarín»"),
    ("Fortunata y Jacinta", "Benito Pérez Galdós"),
    ("Pride and Prejudice", "Jane Austen"),
    ("Middlemarch", "George Eliot"),
    ("Moby-Dick", "Herman Melville"),
    ("The Adventures of Huckleberry Finn", "Mark Twain"),
    ("Wuthering Heights", "Emily Brontë"),
    ("Pan Tadeusz", "Adam Mickiewicz"),
    ("Lalka", "Bolesław Prus"),
    ("Chłopi", "Władysław Reymont"),
    ("Röda rummet", "August Strindberg"),
    ("Gösta Berlings saga", "Selma Lagerlöf"),
    ("Dom Casmurro", "Machado de Assis"),
    ("Memórias Póstumas de Brás Cubas", "Machado de Assis"),
    ("O Cortiço", "Aluísio Azevedo"),
    ("Anna Karenina", "Lev Tolstoï"),
    ("Crime et châtiment", "Fiodor Dostoïevski"),
    ("Introduction to Algorithms", "Thomas H. Cormen"),
    ("Histoire de la Suisse", "Georges Andrey"),
    ("Grundriss der Geschichte der Philosophie", "Friedrich Ueberweg"),
    ("Principles of Neural Science", "Eric R. Kandel"),
    ("Droit constitutionnel suisse", "Andreas Auer"),
    ("Linear Algebra Done Right", "Sheldon Axler"),
    ("Atlas der Anatomie des Menschen", "Johannes Sobotta"),
)

NOTE_TEXTS = {
    "GENERAL": (
        "Prefers to be contacted by phone.",
        "Reads large print; set aside new large-print titles.",
        "Visiting scholar until the end of the semester.",
        "Asked for a guided tour of the reading rooms.",
    ),
    "ADDRESS": (
        "Mail returned by the post office: address unknown.",
        "Moving abroad next month; new address to follow.",
        "Lives in student housing; check the room number.",
    ),
    "BARCODE": ("Replacement card issued.", "Old card reported lost; barcode deactivated."),
    "CIRCULATION": (
        "Please check photo ID before lending.",
        "Item returned with water damage; see fee.",
        "Claims to have returned an item that is still on loan.",
        "Extended loan period agreed for thesis work.",
    ),
    "LIBRARY": ("Signed the reading room rules.", "Interlibrary loan account for a partner."),
    "REGISTRAR": ("Enrolment confirmed for the current semester.", "Exchange student."),
    "OTHER": ("See the paper file at the desk.", "Donated books to the library."),
}
BLOCK_NOTES = {
    "GENERAL": "Blocked by the desk: see notes.",
    "LOST_CARD": "Card reported lost: check identity before lending.",
    "OVERDUE": "Overdue items for more than 60 days.",
    "DEBT_LIMIT": "Unpaid fees over the limit.",
    "ADDRESS": "Mail returned: address unknown.",
}
JOB_DESCRIPTIONS = {
    "LIBRARIAN": ("Subject librarian", "Reference librarian", "Head of public services"),
    "CIRC_ASSISTANT": ("Circulation desk", "Loans and returns"),
    "CATALOGER": ("Metadata specialist", "Cataloguer"),
    "IT": ("Library systems administrator", "IT support"),
    "STUDENT_WORKER": ("Shelving and desk support", "Evening desk"),
    "RESEARCHER": ("Research associate", "Postdoctoral researcher", "Visiting researcher"),
}

# Share of record types among the users after the fixed plan (see `_plan`).
RECORD_TYPE_WEIGHTS = {
    RecordType.PUBLIC: 85,
    RecordType.STAFF: 4,
    RecordType.CONTACT: 4,
    RecordType.ORGANIZATION: 2,
    RecordType.RESEARCHER: 5,
}
GROUP_WEIGHTS = {
    "UNDERGRAD": 30,
    "GRAD": 12,
    "FACULTY": 6,
    "STAFF": 50,
    "PUBLIC": 25,
    "ALUMNI": 7,
    "CHILD": 10,
    "CONTACT": 10,
}
# Age ranges (years) by user group code, then by record type.
AGES = {
    "UNDERGRAD": (18, 26),
    "GRAD": (22, 38),
    "FACULTY": (28, 68),
    "STAFF": (19, 65),
    "ALUMNI": (24, 80),
    "CHILD": (6, 15),
    "PUBLIC": (16, 90),
    RecordType.RESEARCHER.value: (26, 72),
}
STAFF_ROLE_WEIGHTS = {
    Role.CIRCULATION_DESK_OPERATOR: 40,
    Role.FULFILLMENT_SERVICES_OPERATOR: 25,
    Role.USER_MANAGER: 15,
    Role.CIRCULATION_DESK_MANAGER: 12,
    Role.USER_ADMINISTRATOR: 3,
}
STAFF_JOBS = {
    Role.CIRCULATION_DESK_OPERATOR: {"CIRC_ASSISTANT": 70, "STUDENT_WORKER": 30},
    Role.CIRCULATION_DESK_MANAGER: {"LIBRARIAN": 60, "CIRC_ASSISTANT": 40},
    Role.FULFILLMENT_SERVICES_OPERATOR: {"CATALOGER": 40, "LIBRARIAN": 30, "STUDENT_WORKER": 30},
    Role.USER_MANAGER: {"LIBRARIAN": 100},
    Role.USER_ADMINISTRATOR: {"IT": 60, "LIBRARIAN": 40},
}
# Circulation roles act at the desk of a library; the others are organization-wide.
LIBRARY_SCOPED_ROLES = frozenset({Role.CIRCULATION_DESK_MANAGER, Role.CIRCULATION_DESK_OPERATOR})
STUDENT_GROUPS = frozenset({"UNDERGRAD", "GRAD"})
PAY_METHODS = ("cash", "card", "online")
EMAIL_SHARE = {RecordType.CONTACT.value: 0.7, RecordType.ORGANIZATION.value: 0.85}  # else 0.97
OVERDUE_FINE_CAP = 3_000  # minor units


class _Picker:
    """Weighted choice with precomputed cumulative weights (faster than `choices` per call)."""

    def __init__(self, items: Sequence, weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random):  # noqa: ANN204
        return self.items[bisect(self.cum, rng.random() * self.total)]


# --- Tables as tuples ---------------------------------------------------------------------------


PERSON = Table(
    Person,
    explicit_id=True,
    defaults={
        "username": None,
        "username_key": None,
        "username_skeleton": "",
        "email": None,
        "email_key": None,
        "password_hash": None,
        "first_name": "",
        "middle_name": "",
        "last_name": None,
        "preferred_first_name": "",
        "preferred_middle_name": "",
        "preferred_last_name": "",
        "sort_name": None,
        "search_text": "",
        "title": "",
        "birth_date": None,
        "gender": "",
        "website": "",
        "preferred_language": "en",
        "keep_history": False,
        "force_password_change": False,
        "failed_logins": 0,
        "locked_until": None,
        "last_login_at": None,
        "created_at": None,
        "updated_at": None,
        "version": 1,
    },
)
ACCOUNT = Table(
    Account,
    explicit_id=True,
    defaults={
        "organization_id": None,
        "person_id": None,
        "primary_id": None,
        "primary_id_key": None,
        "account_type": AccountType.INTERNAL.value,
        "record_type": RecordType.PUBLIC.value,
        "user_group_id": None,
        "job_category_id": None,
        "job_description": "",
        "campus_id": None,
        "status": Status.ACTIVE.value,
        "status_date": None,
        "expiry_date": None,
        "purge_date": None,
        "comm_channel": Channel.EMAIL.value,
        "comm_language": "en",
        "additional_email": "",
        "pin_hash": None,
        "owning_system": "",
        "letters_opt_in": True,
        "resource_sharing_library_id": None,
        "purchase_request_library_id": None,
        "cataloger_level": "",
        "local_codes": "",
        "researcher": False,
        "sort_name": "",  # the person's, copied for paging the list by name
        "last_activity_at": None,
        "created_by": DEMO_ACTOR,
        "created_at": None,
        "updated_by": DEMO_ACTOR,
        "updated_at": None,
        "version": 1,
    },
)
IDENTIFIER = Table(
    Identifier,
    explicit_id=False,
    defaults={
        "account_id": None,
        "id_type_id": None,
        "value": None,
        "value_key": None,
        "is_primary": False,
        "note": "",
        "active": True,
        "external": False,
    },
)
EMAIL = Table(
    Email,
    explicit_id=False,
    defaults={
        "person_id": None,
        "address": None,
        "address_key": None,
        "email_type": EmailType.PERSONAL.value,
        "preferred": False,
        "description": "",
        "external": False,
    },
)
ADDRESS = Table(
    Address,
    explicit_id=False,
    defaults={
        "person_id": None,
        "address_type": AddressType.HOME.value,
        "line1": "",
        "line2": "",
        "line3": "",
        "city": "",
        "state": "",
        "postal_code": "",
        "country": "",
        "note": "",
        "start_date": None,
        "end_date": None,
        "preferred": False,
        "external": False,
    },
)
PHONE = Table(
    Phone,
    explicit_id=False,
    defaults={
        "person_id": None,
        "number": None,
        "phone_type": PhoneType.MOBILE.value,
        "preferred": False,
        "preferred_sms": False,
        "external": False,
    },
)
ROLE = Table(
    RoleAssignment,
    explicit_id=False,
    defaults={
        "account_id": None,
        "role": None,
        "scope_id": None,
        "status": Status.ACTIVE.value,
        "expiry_date": None,
    },
)
NOTE = Table(
    Note,
    explicit_id=False,
    defaults={
        "account_id": None,
        "note_type_id": None,
        "text": None,
        "user_viewable": False,
        "popup": False,
        "owner_id": None,
        "external": False,
        "created_by": DEMO_ACTOR,
        "created_at": None,
    },
)
BLOCK = Table(
    Block,
    explicit_id=False,
    defaults={
        "account_id": None,
        "definition_id": None,
        "expiry_date": None,
        "note": "",
        "owner_id": None,
        "active": True,
        "external": False,
        "created_by": DEMO_ACTOR,
        "created_at": None,
    },
)
STATISTIC = Table(
    Statistic,
    explicit_id=False,
    defaults={
        "account_id": None,
        "category_id": None,
        "note": "",
        "owner_id": None,
        "external": False,
    },
)
LOAN = Table(
    Loan,
    explicit_id=True,
    defaults={
        "account_id": None,
        "library_id": None,
        "item_barcode": None,
        "title": "",
        "loaned_at": None,
        "due_date": None,
        "returned_at": None,
    },
)
FEE = Table(
    Fee,
    explicit_id=True,
    defaults={
        "account_id": None,
        "fee_type_id": None,
        "owner_id": None,
        "loan_id": None,
        "status": FeeStatus.ACTIVE.value,
        "status_date": None,
        "original_minor": None,
        "balance_minor": None,
        "item_barcode": "",
        "title": "",
        "comment": "",
        "created_by": DEMO_ACTOR,
        "created_at": None,
    },
)
FEE_TRANSACTION = Table(
    FeeTransaction,
    explicit_id=False,
    defaults={
        "fee_id": None,
        "action": None,
        "amount_minor": None,
        "method": "",
        "reason_id": None,
        "comment": "",
        "actor": DEMO_ACTOR,
        "at": None,
    },
)
AUDIT = Table(
    AuditEvent,
    explicit_id=False,
    defaults={
        "account_id": None,
        "person_id": None,
        "entity": "account",
        "entity_id": None,
        "action": AuditAction.CREATE.value,
        "field": "account",
        "old_value": None,
        "new_value": None,
        "actor_id": None,
        "actor": DEMO_ACTOR,
        "source": Source.JOB.value,
        "at": None,
    },
)
# Insertion order: parents before children (foreign keys are checked on insert).
TABLES: tuple[Table, ...] = (
    PERSON,
    ACCOUNT,
    IDENTIFIER,
    EMAIL,
    ADDRESS,
    PHONE,
    ROLE,
    NOTE,
    BLOCK,
    STATISTIC,
    LOAN,
    FEE,
    FEE_TRANSACTION,
    AUDIT,
)


# --- What the generator reads from the database -------------------------------------------------


@dataclass(frozen=True)
class GroupInfo:
    id: int
    code: str
    record_types: frozenset[str]  # empty: every record type


@dataclass(frozen=True)
class DemoContext:
    """Everything the generator needs from the database, read once before generating."""

    organization_id: int
    library_id: int
    today: dt.date
    now: dt.datetime
    person_base: int  # first id to use
    account_base: int
    loan_base: int
    fee_base: int
    groups: tuple[GroupInfo, ...]
    job_categories: dict[str, int]
    campuses: tuple[int, ...]
    identifier_types: dict[str, int]
    note_types: dict[str, int]
    block_definitions: dict[str, int]
    fee_types: dict[str, tuple[int, bool, int]]  # code -> (id, waivable, daily rate)
    waive_reasons: tuple[int, ...]
    stat_categories: dict[str, tuple[int, ...]]  # category type code -> category ids
    group_roles: dict[int, tuple[str, ...]]  # role-assignment rules by user group id
    job_roles: dict[int, tuple[str, ...]]  # ... and by job category id
    mandatory: dict[str, frozenset[str]]
    staff_password_hash: str


def _codes(model: type, organization_id: int) -> list:
    return list(
        model.select()
        .where((model.organization == organization_id) & (model.active == True))  # noqa: E712
        .order_by(model.id)
    )


def load_context(organization: Organization, staff_password_hash: str) -> DemoContext:
    library = (
        Library.select()
        .where((Library.organization == organization) & (Library.active == True))  # noqa: E712
        .order_by(Library.id)
        .first()
    )
    if library is None:
        raise DemoError("The organization has no active library: run 'patrondesk init' first.")
    org = organization.id
    group_roles: dict[int, list[str]] = {}
    job_roles: dict[int, list[str]] = {}
    rules = RoleRule.select().where((RoleRule.organization == org) & (RoleRule.active == True))  # noqa: E712
    for rule in rules.order_by(RoleRule.id):
        role = Role(rule.role).value
        if rule.user_group_id is not None:
            group_roles.setdefault(rule.user_group_id, []).append(role)
        if rule.job_category_id is not None:
            job_roles.setdefault(rule.job_category_id, []).append(role)
    stat_types = {t.id: t.code for t in _codes(StatCategoryType, org)}
    stats: dict[str, list[int]] = {}
    for category in _codes(StatCategory, org):
        if category.category_type_id in stat_types:
            stats.setdefault(stat_types[category.category_type_id], []).append(category.id)
    now = runtime.now().replace(microsecond=0)
    settings = load_settings()
    return DemoContext(
        organization_id=org,
        library_id=library.id,
        today=now.date(),
        now=now,
        person_base=next_id(Person),
        account_base=next_id(Account),
        loan_base=next_id(Loan),
        fee_base=next_id(Fee),
        groups=tuple(
            GroupInfo(
                g.id,
                g.code,
                frozenset(t.strip() for t in g.record_types.split(",") if t.strip()),
            )
            for g in _codes(UserGroup, org)
        ),
        job_categories={c.code: c.id for c in _codes(JobCategory, org)},
        campuses=tuple(c.id for c in _codes(Campus, org)),
        identifier_types={c.code: c.id for c in _codes(IdentifierType, org)},
        note_types={c.code: c.id for c in _codes(NoteType, org)},
        block_definitions={c.code: c.id for c in _codes(BlockDefinition, org)},
        fee_types={c.code: (c.id, c.waivable, c.daily_rate_minor) for c in _codes(FeeType, org)},
        waive_reasons=tuple(c.id for c in _codes(WaiveReason, org)),
        stat_categories={k: tuple(v) for k, v in stats.items()},
        group_roles={k: tuple(v) for k, v in group_roles.items()},
        job_roles={k: tuple(v) for k, v in job_roles.items()},
        mandatory={k: frozenset(v) for k, v in settings.mandatory_fields.items()},
        staff_password_hash=staff_password_hash,
    )


# --- Pools built with Faker ---------------------------------------------------------------------


@dataclass(frozen=True)
class LocalePool:
    locale: DemoLocale
    female: tuple[str, ...]
    male: tuple[str, ...]
    last: tuple[str, ...]
    addresses: tuple[tuple[str, str, str, str, str], ...]  # line1, line2, city, state, postcode
    companies: tuple[str, ...]
    mobiles: tuple[str, ...]  # E.164
    landlines: tuple[str, ...]


@functools.cache
def _faker(locale: str):  # noqa: ANN202
    from faker import Faker

    fake = Faker(locale)
    # Faker's it_IT `cities` is a list made from a set, so its order (and the city a seed
    # draws) changes with the interpreter's string hash seed: sort it so that the same seed gives
    # the same data in every process (a test compares two processes).
    for provider in fake.get_providers():
        if isinstance(getattr(provider, "cities", None), list):
            provider.cities = sorted(provider.cities)
    return fake


def _phone_pool(region: str, kind: int, rng: random.Random, size: int) -> tuple[str, ...]:
    """Valid numbers of one type: libphonenumber's example number with random trailing digits,
    kept only when libphonenumber says the result is a valid number of that type."""
    example = phonenumbers.format_number(
        phonenumbers.example_number_for_type(region, kind), phonenumbers.PhoneNumberFormat.E164
    )
    keep = max(len(example) - 7, 5)
    accepted = {kind, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
    found: list[str] = []
    for _ in range(size * 20):
        candidate = example[:keep] + "".join(
            str(rng.randrange(10)) for _ in range(len(example) - keep)
        )
        number = phonenumbers.parse(candidate)
        if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in accepted:
            found.append(candidate)
            if len(found) == size:
                break
    return tuple(found) or (example,)


def _clean(text: str) -> str:
    return " ".join(text.split())


@functools.lru_cache(maxsize=4)
def build_pools(pool_seed: int, size: int = 200) -> tuple[LocalePool, ...]:
    """Names, addresses, companies and phone numbers per locale; deterministic for a seed."""
    rng = random.Random(pool_seed)
    pools = []
    for locale in LOCALES:
        fake = _faker(locale.faker)
        fake.seed_instance(rng.getrandbits(64))
        addresses = []
        for _ in range(size):
            lines = [_clean(x) for x in fake.street_address().split("\n") if x.strip()]
            state = _clean(getattr(fake, locale.state)()) if locale.state else ""
            addresses.append(
                (
                    lines[0],
                    " ".join(lines[1:]),
                    _clean(fake.city()),
                    state,
                    _clean(fake.postcode()),
                )
            )
        phone_rng = random.Random(rng.getrandbits(64))
        pools.append(
            LocalePool(
                locale=locale,
                female=tuple(_clean(fake.first_name_female()) for _ in range(size)),
                male=tuple(_clean(fake.first_name_male()) for _ in range(size)),
                last=tuple(_clean(fake.last_name()) for _ in range(size * 2)),
                addresses=tuple(addresses),
                companies=tuple(_clean(fake.company()) for _ in range(size // 2)),
                mobiles=_phone_pool(
                    locale.country, phonenumbers.PhoneNumberType.MOBILE, phone_rng, size
                ),
                landlines=_phone_pool(
                    locale.country, phonenumbers.PhoneNumberType.FIXED_LINE, phone_rng, size
                ),
            )
        )
    return tuple(pools)


# --- The generator ------------------------------------------------------------------------------

_SLUG = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=1 << 16)
def _slug(text: str, limit: int = 30) -> str:
    return _SLUG.sub("", fold(text))[:limit]


def _check_digit(digits: str) -> str:
    """Luhn (mod 10) check digit, as on library card barcodes."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _orcid(account_id: int) -> str:
    """A well-formed ORCID iD (ISO 7064 11,2 check character) unique to the account."""
    base = f"0000{3_000_000_000_0 + account_id:011d}"
    total = 0
    for ch in base:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    digits = base + ("X" if check == 10 else str(check))
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))


@dataclass
class Batch:
    """The rows of `users` users, by table name, ready to insert in `TABLES` order."""

    users: int = 0
    staff: int = 0
    rows: dict[str, list[tuple]] = field(default_factory=lambda: {t.name: [] for t in TABLES})
    dates_as_text: bool = False  # see `dates_to_text`


def dates_to_text(batch: Batch) -> Batch:
    """Dates and times as the ISO text peewee stores in SQLite ("YYYY-MM-DD", "YYYY-MM-DD
    HH:MM:SS"), without relying on sqlite3's default adapters (deprecated in Python 3.12)."""
    if batch.dates_as_text:
        return batch
    for table in TABLES:
        batch.rows[table.name] = table.dates_as_text(batch.rows[table.name])
    batch.dates_as_text = True
    return batch


class _Generator:
    def __init__(self, n: int, seed: int | None, ctx: DemoContext) -> None:
        self.n = n
        self.ctx = ctx
        self.rng = random.Random(seed)
        self.pools = build_pools(self.rng.getrandbits(64))
        self.pick_pool = _Picker(self.pools, [p.locale.weight for p in self.pools])
        self.pick_record_type = _Picker(
            [t.value for t in RECORD_TYPE_WEIGHTS], list(RECORD_TYPE_WEIGHTS.values())
        )
        self.pick_staff_role = _Picker(list(STAFF_ROLE_WEIGHTS), list(STAFF_ROLE_WEIGHTS.values()))
        self.group_pickers: dict[str, _Picker | None] = {}
        for rt in RecordType:
            fits = [g for g in ctx.groups if not g.record_types or rt.value in g.record_types]
            self.group_pickers[rt.value] = (
                _Picker(fits, [GROUP_WEIGHTS.get(g.code, 5) for g in fits]) if fits else None
            )
        self.groups_by_id = {g.id: g for g in ctx.groups}
        self.plan = self._plan()
        self.next_loan = ctx.loan_base
        self.next_fee = ctx.fee_base

    def _plan(self) -> list[tuple[str, GroupInfo | None, Role | None]]:
        """The first users: one staff user per staff role, one user of each record type and one of
        each user group (with a record type it applies to), so a small run shows everything."""
        plan: list[tuple[str, GroupInfo | None, Role | None]] = []
        for role in STAFF_ROLE_WEIGHTS:
            plan.append((RecordType.STAFF.value, None, role))
        for rt in RecordType:
            if rt != RecordType.STAFF:
                plan.append((rt.value, None, None))
        for group in self.ctx.groups:
            fits = [t.value for t in RecordType if t.value in group.record_types]
            plan.append((fits[0] if fits else RecordType.PUBLIC.value, group, None))
        return plan

    # -- helpers --

    def _date_between(self, start: dt.date, end: dt.date) -> dt.date:
        days = (end - start).days
        return start + dt.timedelta(days=self.rng.randint(0, days)) if days > 0 else start

    def _moment(self, day: dt.date) -> dt.datetime:
        """A time in opening hours on `day`, never after now."""
        rng = self.rng
        moment = dt.datetime.combine(day, dt.time(rng.randint(8, 19), rng.randrange(60)))
        return min(moment, self.ctx.now)

    def batches(self, chunk_users: int = CHUNK_USERS) -> Iterator[Batch]:
        batch = Batch()
        for i in range(self.n):
            self._user(i, batch)
            if batch.users >= chunk_users:
                yield batch
                batch = Batch()
        if batch.users:
            yield batch

    # -- one user --

    def _user(self, i: int, batch: Batch) -> None:  # noqa: C901 - one straight recipe
        ctx, rng = self.ctx, self.rng
        today, now = ctx.today, ctx.now
        pid, aid = ctx.person_base + i, ctx.account_base + i
        rows = batch.rows
        pool = self.pick_pool(rng)
        loc = pool.locale

        if i < len(self.plan):
            record_type, group, staff_role = self.plan[i]
        else:
            record_type, group, staff_role = self.pick_record_type(rng), None, None
        if record_type == RecordType.STAFF and staff_role is None:
            staff_role = self.pick_staff_role(rng)
        if group is None and (picker := self.group_pickers[record_type]) is not None:
            group = picker(rng)
        group_code = group.code if group else ""
        mandatory = ctx.mandatory.get(record_type, frozenset())
        is_staff = record_type == RecordType.STAFF
        is_org = record_type == RecordType.ORGANIZATION
        is_contact = record_type == RecordType.CONTACT
        is_researcher = record_type == RecordType.RESEARCHER
        patron_like = not (is_org or is_contact)

        # Names.
        first = middle = pref_first = pref_last = gender = title = ""
        company = ""
        if is_org:
            last = rng.choice(pool.companies)
            username = f"{_slug(last)}{pid}"
        else:
            female = rng.random() < 0.52
            names = pool.female if female else pool.male
            gender = "" if rng.random() < 0.015 else ("female" if female else "male")
            first = rng.choice(names)
            last = rng.choice(pool.last)
            if loc.language == "es" and rng.random() < 0.7:
                last = f"{last} {rng.choice(pool.last)}"  # two surnames
            if rng.random() < loc.middle_names:
                middle = rng.choice(pool.last if loc.language == "pt" else names)
            if rng.random() < 0.06:
                pref_first = rng.choice(names)
                if pref_first == first:
                    pref_first = ""
            if rng.random() < 0.025:
                pref_last = rng.choice(pool.last)
            username = f"{_slug(first) or 'user'}.{_slug(last)}{pid}"
            if is_contact:
                company = rng.choice(pool.companies)
        if group_code == "FACULTY" or is_researcher:
            r = rng.random()
            title = "Prof." if r < 0.15 else "Dr." if r < 0.5 else ""
        elif patron_like and rng.random() < 0.01:
            title = "Dr."

        # Ages and dates.
        created_day = today - dt.timedelta(days=rng.randint(30, 2500))
        created = self._moment(created_day)
        birth = None
        if patron_like and ("birth_date" in mandatory or rng.random() < 0.9):
            low, high = AGES.get(group_code) or AGES.get(record_type) or (18, 80)
            age_days = rng.randint(low * 365, high * 365 + 364)
            birth = today - dt.timedelta(days=age_days)

        if is_staff:
            expired, inactive = rng.random() < 0.03, rng.random() < 0.03
        elif patron_like:
            expired, inactive = rng.random() < 0.09, rng.random() < 0.04
        else:
            expired, inactive = rng.random() < 0.04, rng.random() < 0.05
        expiry = None
        if expired:
            expiry = self._date_between(created_day + dt.timedelta(days=1), today)
            if expiry >= today:
                expiry = today - dt.timedelta(days=1)
        elif "expiry_date" in mandatory or patron_like or rng.random() < 0.5:
            if is_staff:
                expiry = today + dt.timedelta(days=rng.randint(365, 1825))
            elif group_code == "CHILD" and birth is not None:
                expiry = max(birth.replace(year=birth.year + 16), today + dt.timedelta(days=30))
            else:
                expiry = today + dt.timedelta(days=rng.randint(30, 1460))
        purge = None
        if expiry is not None and not is_staff and rng.random() < (0.5 if expired else 0.15):
            purge = expiry + dt.timedelta(days=365)
        status_date = self._date_between(created_day, today) if inactive else created_day
        last_activity = None
        if not inactive and rng.random() < 0.7:
            last_activity = max(created, now - dt.timedelta(days=rng.randint(0, 365)))
            last_activity = last_activity.replace(minute=rng.randrange(60))

        # Account kind.
        account_type = AccountType.INTERNAL.value
        owning_system = ""
        if is_staff and rng.random() < 0.4:
            account_type = AccountType.INTERNAL_EXTERNAL_AUTH.value
        elif group_code in STUDENT_GROUPS or group_code == "FACULTY":
            r = rng.random()
            if r < 0.35:
                account_type, owning_system = AccountType.EXTERNAL.value, "SIS"
            elif r < 0.45:
                account_type = AccountType.INTERNAL_EXTERNAL_AUTH.value
        external = account_type == AccountType.EXTERNAL

        # Job, roles, campus.
        job_code = ""
        roles: list[str] = [Role.PATRON.value]
        if is_staff:
            assert staff_role is not None
            jobs = STAFF_JOBS[staff_role]
            job_code = _Picker(list(jobs), list(jobs.values()))(rng)
            roles.append(staff_role.value)
            if rng.random() < 0.12:
                roles.append(self.pick_staff_role(rng).value)
        elif is_researcher or (group_code == "FACULTY" and rng.random() < 0.3):
            job_code = "RESEARCHER"
        job_id = ctx.job_categories.get(job_code) if job_code else None
        if job_id is None:
            job_code = ""
        job_description = ""
        if job_code in JOB_DESCRIPTIONS:
            job_description = rng.choice(JOB_DESCRIPTIONS[job_code])
        elif is_contact:
            job_description = f"Sales representative, {company}"
        if group is not None:
            roles.extend(ctx.group_roles.get(group.id, ()))
        if job_id is not None:
            roles.extend(ctx.job_roles.get(job_id, ()))
        roles = list(dict.fromkeys(roles))
        campus = None
        if ctx.campuses and (is_staff or group_code in STUDENT_GROUPS or group_code == "FACULTY"):
            campus = rng.choice(ctx.campuses)
        researcher = is_researcher or (group_code == "FACULTY" and rng.random() < 0.4)

        # Contact data.
        primary_id = f"U{aid:08d}"
        email = None
        wants_email = EMAIL_SHARE.get(record_type, 0.97)
        if "email" in mandatory or rng.random() < wants_email:
            if is_staff:
                email_type, domain = EmailType.WORK.value, STAFF_DOMAIN
            elif group_code in STUDENT_GROUPS:
                email_type, domain = EmailType.SCHOOL.value, STUDENT_DOMAIN
            elif group_code == "FACULTY" or is_researcher:
                email_type, domain = EmailType.WORK.value, FACULTY_DOMAIN
            elif is_org or is_contact:
                email_type, domain = (
                    EmailType.WORK.value,
                    f"{_slug(company or last, 20) or 'company'}.example",
                )
            else:
                email_type, domain = EmailType.PERSONAL.value, rng.choice(PERSONAL_DOMAINS)
            email = f"{username}@{domain}"
            rows["email"].append(
                EMAIL.row(
                    person_id=pid,
                    address=email,
                    address_key=fold_key(email),
                    email_type=email_type,
                    preferred=True,
                    external=external,
                )
            )
            if rng.random() < 0.08:
                alt = f"{username}@{rng.choice(PERSONAL_DOMAINS)}"
                if alt != email:
                    rows["email"].append(
                        EMAIL.row(
                            person_id=pid,
                            address=alt,
                            address_key=fold_key(alt),
                            email_type=EmailType.ALTERNATIVE.value,
                        )
                    )
            if group_code == "CHILD" and rng.random() < 0.4:
                parent = f"{_slug(rng.choice(pool.female + pool.male))}.{_slug(last)}{pid}"
                cc = f"{parent}@{rng.choice(PERSONAL_DOMAINS)}"
                rows["email"].append(
                    EMAIL.row(
                        person_id=pid,
                        address=cc,
                        address_key=fold_key(cc),
                        email_type=EmailType.CC.value,
                        description="Parent",
                    )
                )
        if "address" in mandatory or rng.random() < (0.95 if is_org else 0.85):
            line1, line2, city, state, postal = rng.choice(pool.addresses)
            if is_org or is_contact:
                address_type = AddressType.WORK.value
            elif group_code in STUDENT_GROUPS and rng.random() < 0.15:
                address_type = AddressType.SCHOOL.value
            else:
                address_type = AddressType.HOME.value
            rows["address"].append(
                ADDRESS.row(
                    person_id=pid,
                    address_type=address_type,
                    line1=line1,
                    line2=line2,
                    city=city,
                    state=state,
                    postal_code=postal,
                    country=loc.country,
                    start_date=created_day if rng.random() < 0.3 else None,
                    preferred=True,
                    external=external,
                )
            )
            if rng.random() < 0.05:
                line1, line2, city, state, postal = rng.choice(pool.addresses)
                rows["address"].append(
                    ADDRESS.row(
                        person_id=pid,
                        address_type=AddressType.ALTERNATIVE.value,
                        line1=line1,
                        line2=line2,
                        city=city,
                        state=state,
                        postal_code=postal,
                        country=loc.country,
                        note="Holiday address",
                    )
                )
        if "phone" in mandatory or rng.random() < 0.75:
            if is_org:
                rows["phone"].append(
                    PHONE.row(
                        person_id=pid,
                        number=rng.choice(pool.landlines),
                        phone_type=PhoneType.OFFICE.value,
                        preferred=True,
                    )
                )
                if rng.random() < 0.2:
                    rows["phone"].append(
                        PHONE.row(
                            person_id=pid,
                            number=rng.choice(pool.landlines),
                            phone_type=PhoneType.OFFICE_FAX.value,
                        )
                    )
            else:
                rows["phone"].append(
                    PHONE.row(
                        person_id=pid,
                        number=rng.choice(pool.mobiles),
                        phone_type=PhoneType.MOBILE.value,
                        preferred=True,
                        preferred_sms=rng.random() < 0.6,
                        external=external,
                    )
                )
                if rng.random() < 0.2:
                    rows["phone"].append(
                        PHONE.row(
                            person_id=pid,
                            number=rng.choice(pool.landlines),
                            phone_type=(PhoneType.OFFICE if is_staff else PhoneType.HOME).value,
                        )
                    )

        website = ""
        if is_org:
            website = f"https://www.{_slug(last, 40)}.example"
        elif is_researcher and rng.random() < 0.3:
            website = f"https://{FACULTY_DOMAIN}/~{username}"

        names = {
            "first_name": first,
            "middle_name": middle,
            "last_name": last,
            "preferred_first_name": pref_first,
            "preferred_last_name": pref_last,
        }
        login = {"username": username, "email": email}
        derived = person_derived({**login, **names})
        rows["person"].append(
            PERSON.row(
                id=pid,
                **login,
                password_hash=ctx.staff_password_hash if is_staff else None,
                **names,
                **derived,
                title=title,
                birth_date=birth,
                gender=gender,
                website=website,
                preferred_language=loc.language,
                keep_history=patron_like and rng.random() < 0.2,
                last_login_at=(
                    max(created, now - dt.timedelta(days=rng.randint(0, 60), minutes=i % 600))
                    if is_staff and not inactive and rng.random() < 0.8
                    else None
                ),
                created_at=created,
                updated_at=created,
            )
        )
        rows["account"].append(
            ACCOUNT.row(
                id=aid,
                organization_id=ctx.organization_id,
                person_id=pid,
                sort_name=derived["sort_name"],
                **primary_id_columns(primary_id),
                account_type=account_type,
                record_type=record_type,
                user_group_id=group.id if group else None,
                job_category_id=job_id,
                job_description=job_description,
                campus_id=campus,
                status=(Status.INACTIVE if inactive else Status.ACTIVE).value,
                status_date=status_date,
                expiry_date=expiry,
                purge_date=purge,
                comm_channel=(Channel.EMAIL if email else Channel.MAIL).value,
                comm_language=loc.language,
                owning_system=owning_system,
                letters_opt_in=rng.random() < 0.9,
                resource_sharing_library_id=ctx.library_id if researcher else None,
                purchase_request_library_id=(
                    ctx.library_id if group_code == "FACULTY" and rng.random() < 0.3 else None
                ),
                cataloger_level=rng.choice(("20", "40", "50")) if job_code == "CATALOGER" else "",
                researcher=researcher,
                last_activity_at=last_activity,
                created_at=created,
                updated_at=created,
            )
        )
        self._identifiers(
            rows,
            aid,
            primary_id,
            username,
            external,
            is_staff,
            account_type,
            group_code,
            researcher,
            loc.country,
        )
        for role in roles:
            scoped = role in LIBRARY_SCOPED_ROLES
            rows["role_assignment"].append(
                ROLE.row(
                    account_id=aid,
                    role=role,
                    scope_id=ctx.library_id if scoped else None,
                    expiry_date=(
                        today + dt.timedelta(days=rng.randint(30, 700))
                        if role != Role.PATRON and rng.random() < 0.05
                        else None
                    ),
                )
            )
        self._notes(rows, aid, created_day)
        self._statistics(rows, aid, group_code, is_researcher)
        balance, overdue_days = 0, 0
        if patron_like:
            balance, overdue_days = self._circulation(rows, aid, created_day, inactive or expired)
        self._blocks(rows, aid, created_day, balance, overdue_days)
        rows["audit_event"].append(
            AUDIT.row(
                account_id=aid, person_id=pid, entity_id=aid, new_value=primary_id, at=created
            )
        )
        batch.users += 1
        batch.staff += is_staff

    def _identifiers(
        self,
        rows: dict,
        aid: int,
        primary_id: str,
        username: str,
        external: bool,
        is_staff: bool,
        account_type: str,
        group_code: str,
        researcher: bool,
        country: str,
    ) -> None:
        rng, types = self.rng, self.ctx.identifier_types

        def add(value: str, code: str | None, **extra) -> None:  # noqa: ANN003
            type_id = types.get(code) if code else None
            if code and type_id is None:
                return  # that identifier type was removed: skip it
            rows["identifier"].append(
                IDENTIFIER.row(
                    account_id=aid,
                    id_type_id=type_id,
                    **identifier_columns(value),
                    external=external,
                    **extra,
                )
            )

        # The primary identifier is an identifier row too, as every writer makes it.
        add(primary_id, None, is_primary=True)
        if rng.random() < 0.75:
            digits = f"2{aid:012d}"
            add(digits + _check_digit(digits), "BARCODE")
            if rng.random() < 0.04:
                old = f"1{aid:012d}"
                add(old + _check_digit(old), "BARCODE", active=False, note="Card reported lost")
        academic = group_code in STUDENT_GROUPS or group_code == "FACULTY" or is_staff
        if academic and rng.random() < 0.6:
            add(f"{rng.randint(10, 26):02d}-{aid:07d}", "UNIV_ID")
        if account_type != AccountType.INTERNAL or rng.random() < 0.02:
            add(f"{username}@sso.{FACULTY_DOMAIN}", "SSO")
        if researcher and rng.random() < 0.6:
            add(_orcid(aid), "ORCID")
        if rng.random() < 0.03:
            add(f"{country}{aid:010d}", "NATIONAL_ID")

    def _notes(self, rows: dict, aid: int, created_day: dt.date) -> None:
        rng, ctx = self.rng, self.ctx
        if not ctx.note_types or rng.random() >= 0.12:
            return
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            code = rng.choice(list(ctx.note_types))
            texts = NOTE_TEXTS.get(code, NOTE_TEXTS["GENERAL"])
            rows["note"].append(
                NOTE.row(
                    account_id=aid,
                    note_type_id=ctx.note_types[code],
                    text=rng.choice(texts),
                    user_viewable=rng.random() < 0.25,
                    popup=rng.random() < 0.2,
                    owner_id=ctx.library_id if rng.random() < 0.6 else None,
                    created_at=self._moment(self._date_between(created_day, ctx.today)),
                )
            )

    def _statistics(self, rows: dict, aid: int, group_code: str, is_researcher: bool) -> None:
        rng, stats = self.rng, self.ctx.stat_categories
        if rng.random() >= 0.3:
            return
        if group_code in STUDENT_GROUPS or group_code == "FACULTY" or is_researcher:
            kind = "DEPARTMENT"
        elif group_code in ("PUBLIC", "ALUMNI", "CHILD"):
            kind = "RESIDENCE"
        else:
            return
        if stats.get(kind):
            rows["statistic"].append(
                STATISTIC.row(
                    account_id=aid,
                    category_id=rng.choice(stats[kind]),
                    owner_id=self.ctx.library_id,
                )
            )

    def _circulation(
        self, rows: dict, aid: int, created_day: dt.date, lapsed: bool
    ) -> tuple[int, int]:
        """Loans (returned, current, overdue) and fees. Returns the active balance and the
        longest overdue in days, which the blocks follow."""
        rng, ctx = self.rng, self.ctx
        today = ctx.today
        balance, longest = 0, 0
        age = (today - created_day).days
        if rng.random() < (0.15 if lapsed else 0.45):
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 3, 4, 5, 8))):
                r = rng.random()
                if r < 0.58:
                    kind, days_ago = "returned", rng.randint(1, min(730, age))
                elif r < 0.9:
                    kind, days_ago = "current", rng.randint(0, 27)
                else:
                    kind, days_ago = "overdue", rng.randint(29, min(240, age))
                loaned = self._moment(today - dt.timedelta(days=days_ago))
                due = loaned.date() + dt.timedelta(days=28)
                returned = None
                late = 0
                if kind == "returned":
                    if rng.random() < 0.12:
                        returned_day = due + dt.timedelta(days=rng.randint(1, 40))
                    else:
                        returned_day = self._date_between(loaned.date(), min(due, today))
                    returned = max(self._moment(min(returned_day, today)), loaned)
                    late = max(0, (returned.date() - due).days)
                elif kind == "overdue":
                    late = (today - due).days
                    longest = max(longest, late)
                loan_id = self.next_loan
                self.next_loan += 1
                title = "{} / {}".format(*rng.choice(TITLES))
                barcode = f"3{loan_id:011d}"
                rows["loan"].append(
                    LOAN.row(
                        id=loan_id,
                        account_id=aid,
                        library_id=ctx.library_id,
                        item_barcode=barcode,
                        title=title,
                        loaned_at=loaned,
                        due_date=due,
                        returned_at=returned,
                    )
                )
                if (
                    late
                    and rng.random() < (0.7 if returned else 0.4)
                    and "OVERDUE" in ctx.fee_types
                ):
                    rate = ctx.fee_types["OVERDUE"][2] or 50
                    at = returned or self._moment(today)
                    balance += self._fee(
                        rows,
                        aid,
                        "OVERDUE",
                        min(late * rate, OVERDUE_FINE_CAP),
                        at,
                        loan_id,
                        barcode,
                        title,
                    )
                if kind == "overdue" and late > 90 and rng.random() < 0.25:
                    amount = rng.randrange(2_500, 12_000, 50)
                    balance += self._fee(
                        rows,
                        aid,
                        "LOST_ITEM",
                        amount,
                        self._moment(today - dt.timedelta(days=late - 90)),
                        loan_id,
                        barcode,
                        title,
                    )
        if rng.random() < 0.04:
            code = rng.choice(("CARD", "DAMAGED_ITEM", "REGISTRATION", "LOST_ITEM"))
            amount = {
                "CARD": 500,
                "REGISTRATION": 2_000,
                "DAMAGED_ITEM": rng.randrange(500, 4_000, 50),
                "LOST_ITEM": rng.randrange(2_500, 12_000, 50),
            }[code]
            at = self._moment(self._date_between(created_day, today))
            balance += self._fee(rows, aid, code, amount, at)
        return balance, longest

    def _fee(
        self,
        rows: dict,
        aid: int,
        code: str,
        amount: int,
        created: dt.datetime,
        loan_id: int | None = None,
        barcode: str = "",
        title: str = "",
    ) -> int:
        """One fee with its transactions; returns its active balance (0 unless active)."""
        rng, ctx = self.rng, self.ctx
        if code not in ctx.fee_types:
            return 0
        type_id, waivable, _ = ctx.fee_types[code]
        fee_id = self.next_fee
        self.next_fee += 1
        tx = rows["fee_transaction"]
        tx.append(
            FEE_TRANSACTION.row(
                fee_id=fee_id, action=FeeAction.CREATE.value, amount_minor=amount, at=created
            )
        )
        balance, status, last = amount, FeeStatus.ACTIVE, created

        def later() -> dt.datetime:
            nonlocal last
            last = min(
                last + dt.timedelta(days=rng.randint(0, 30), minutes=rng.randint(1, 600)), ctx.now
            )
            return last

        def pay(value: int) -> None:
            nonlocal balance
            balance -= value
            tx.append(
                FEE_TRANSACTION.row(
                    fee_id=fee_id,
                    action=FeeAction.PAY.value,
                    amount_minor=value,
                    method=rng.choice(PAY_METHODS),
                    at=later(),
                )
            )

        def waive(value: int) -> None:
            nonlocal balance
            balance -= value
            tx.append(
                FEE_TRANSACTION.row(
                    fee_id=fee_id,
                    action=FeeAction.WAIVE.value,
                    amount_minor=value,
                    reason_id=rng.choice(ctx.waive_reasons),
                    comment="Waived at the desk",
                    at=later(),
                )
            )

        r = rng.random()
        can_waive = waivable and bool(ctx.waive_reasons)
        if r < 0.40 or amount < 2:
            pass  # unpaid
        elif r < 0.65:
            first = amount if rng.random() < 0.7 else rng.randint(1, amount - 1)
            pay(first)
            if balance:
                pay(balance)
            status = FeeStatus.CLOSED
        elif r < 0.77:
            pay(rng.randint(1, amount - 1))
        elif r < 0.87 and can_waive:
            waive(amount)
            status = FeeStatus.WAIVED
        elif r < 0.92 and can_waive:
            waive(rng.randint(1, amount - 1))
        else:
            if rng.random() < 0.3:
                pay(rng.randint(1, amount - 1))
            tx.append(
                FEE_TRANSACTION.row(
                    fee_id=fee_id,
                    action=FeeAction.DISPUTE.value,
                    amount_minor=0,
                    comment="Patron says the item was returned on time",
                    at=later(),
                )
            )
            status = FeeStatus.DISPUTED
        rows["fee"].append(
            FEE.row(
                id=fee_id,
                account_id=aid,
                fee_type_id=type_id,
                owner_id=ctx.library_id,
                loan_id=loan_id,
                status=status.value,
                status_date=last,
                original_minor=amount,
                balance_minor=balance,
                item_barcode=barcode,
                title=title,
                created_at=created,
            )
        )
        return balance if status == FeeStatus.ACTIVE else 0

    def _blocks(
        self, rows: dict, aid: int, created_day: dt.date, balance: int, overdue_days: int
    ) -> None:
        rng, ctx = self.rng, self.ctx
        defs = ctx.block_definitions
        if not defs:
            return
        reasons: list[str] = []
        if overdue_days > 60 and rng.random() < 0.3:
            reasons.append("OVERDUE")
        if balance > 2_000 and rng.random() < 0.5:
            reasons.append("DEBT_LIMIT")
        if rng.random() < 0.03:
            reasons.append(rng.choice(("GENERAL", "LOST_CARD", "ADDRESS")))
        for code in dict.fromkeys(reasons):
            definition = defs.get(code) or rng.choice(list(defs.values()))
            active = rng.random() < 0.9
            rows["block"].append(
                BLOCK.row(
                    account_id=aid,
                    definition_id=definition,
                    expiry_date=(
                        ctx.today + dt.timedelta(days=rng.randint(7, 180))
                        if rng.random() < 0.4
                        else None
                    ),
                    note=BLOCK_NOTES.get(code, ""),
                    owner_id=ctx.library_id,
                    active=active,
                    created_at=self._moment(self._date_between(created_day, ctx.today)),
                )
            )


def demo_batches(
    n: int,
    seed: int | None,
    ctx: DemoContext,
    chunk_users: int = CHUNK_USERS,
    *,
    dates_as_text: bool = False,
) -> Iterator[Batch]:
    """The rows of `n` demo users, `chunk_users` at a time. Pure: reads and writes nothing, and
    gives the same rows for the same `n`, `seed` and `ctx`."""
    for batch in _Generator(n, seed, ctx).batches(chunk_users):
        yield dates_to_text(batch) if dates_as_text else batch


def _worker_main(n, seed, ctx, chunk_users, dates_as_text, conn) -> None:  # noqa: ANN001
    """In the generating process: send each batch, then None (or the exception)."""
    try:
        for batch in demo_batches(n, seed, ctx, chunk_users, dates_as_text=dates_as_text):
            conn.send(batch)
        conn.send(None)
    except BaseException as exc:  # noqa: BLE001 - handed to the writer, raised there
        try:
            conn.send(exc)
        except Exception:  # noqa: BLE001 - the error does not pickle: send it in words
            with contextlib.suppress(Exception):  # the writer is gone: nobody to tell
                conn.send(DemoError(f"The demo generator failed: {type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _can_spawn() -> bool:
    """ "spawn" re-imports the main program by its path: not possible for one read from stdin."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return path is None or os.path.exists(path)


def _from_worker(
    n: int,
    seed: int | None,
    ctx: DemoContext,
    chunk_users: int = CHUNK_USERS,
    *,
    dates_as_text: bool = False,
) -> Iterator[Batch]:
    """`demo_batches` run in a second process, one batch ahead of the caller.

    The writer spends most of its time in the database, the generator in Python: on two cores
    they overlap (about a third faster for 100,000 users). A thread would not help: the GIL
    hands over at every row the driver writes. "spawn" starts a clean interpreter (no inherited
    database connection) on every platform; the pipe holds at most one batch, so memory stays
    bounded. The rows are the same as `demo_batches` gives: the generator is one process.
    """
    mp = multiprocessing.get_context("spawn")
    receiver, sender = mp.Pipe(duplex=False)
    worker = mp.Process(
        target=_worker_main,
        args=(n, seed, ctx, chunk_users, dates_as_text, sender),
        name="patrondesk-demo-generator",
        daemon=True,
    )
    worker.start()
    sender.close()
    received = 0
    try:
        while True:
            try:
                item = receiver.recv()
            except EOFError:
                if received:
                    raise DemoError("The demo data generator stopped unexpectedly.") from None
                # The process could not start (e.g. "spawn" cannot re-import a main program read
                # from standard input): generate here instead, only slower.
                yield from demo_batches(n, seed, ctx, chunk_users, dates_as_text=dates_as_text)
                return
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            received += 1
            yield item
    finally:
        receiver.close()
        if worker.is_alive():
            worker.terminate()
        worker.join()


# --- Writing ------------------------------------------------------------------------------------


def _write(writer: BulkWriter, batch: Batch) -> None:
    if not writer.pg:
        dates_to_text(batch)
    with database.atomic():
        writer.write(TABLES, batch.rows)


def generate_demo(n: int, seed: int | None = None, progress: bool = False) -> DemoReport:
    """Add `n` demo users to the default organization of the open database.

    Staff accounts share the password "Demo-Staff-2026". Written in transactions of
    `CHUNK_USERS` users: an interrupted run keeps the chunks already written.
    """
    from models.setup import default_organization

    if n < 1:
        raise DemoError("The number of demo users must be at least 1.")
    organization = default_organization()
    if organization is None:
        raise DemoError("The database is not initialized: run 'patrondesk init' first.")
    writer = BulkWriter("demo data needs", DemoError)
    # One argon2 hash for every staff account: hashing is slow on purpose.
    staff_hash = hash_secret(STAFF_PASSWORD, load_settings())
    with database.atomic():
        ctx = load_context(organization, staff_hash)
    report = DemoReport(users=0, staff=0)
    make = _from_worker if n >= WORKER_THRESHOLD and _can_spawn() else demo_batches
    batches = make(n, seed, ctx, CHUNK_USERS, dates_as_text=not writer.pg)
    try:
        for batch in batches:
            _write(writer, batch)
            report.users += batch.users
            report.staff += batch.staff
            if progress:
                print(
                    f"\rdemo: {report.users:,} / {n:,} users ({100 * report.users // n}%)",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        batches.close()  # stops the generating process now, even on an error
        if report.users:
            with database.atomic():
                writer.fix_sequences(TABLES)
        if progress:
            print(file=sys.stderr)
    return report


__all__ = [
    "DemoContext",
    "DemoReport",
    "Batch",
    "build_pools",
    "demo_batches",
    "generate_demo",
    "load_context",
    "STAFF_PASSWORD",
    "TABLES",
]
