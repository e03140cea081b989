"""What demo users are made of: locales, domains, texts and weights; the constants and the error
the other modules of models/demo share."""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from models.enums import (
    RecordType,
    Role,
)
from models.errors import PatronDeskError

STAFF_PASSWORD = "Demo-Staff-2026"
DEMO_ACTOR = "demo"
CHUNK_USERS = 5_000  # users per transaction (about 50,000 rows)
WORKER_THRESHOLD = 20_000  # from this many users, generate in a second process (`_from_worker`)


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

# The persons' titles the demo gives (the generator: "Prof." and "Dr." for faculty and
# researchers), with two more: added to an organization whose list of titles is empty, so Title
# is a choice as Alma's User Titles make it (`write.demo_titles`).
PERSON_TITLES = (("DR", "Dr."), ("PROF", "Prof."), ("MR", "Mr."), ("MS", "Ms."))

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
