"""Default code tables for a new organization: a working library on day one, every entry
editable later from the configuration screens."""

from __future__ import annotations

from models.enums import RecordType, Role
from models.store.tables import (
    BlockDefinition,
    Campus,
    FeeType,
    IdentifierType,
    JobCategory,
    NoteType,
    Organization,
    RoleRule,
    StatCategory,
    StatCategoryType,
    UserGroup,
    WaiveReason,
)

_STAFF, _PUBLIC = RecordType.STAFF.value, RecordType.PUBLIC.value

USER_GROUPS = [
    ("UNDERGRAD", "Undergraduate student", _PUBLIC),
    ("GRAD", "Graduate student", _PUBLIC),
    ("FACULTY", "Faculty", f"{_PUBLIC},{_STAFF}"),
    ("STAFF", "Library staff", _STAFF),
    ("PUBLIC", "Member of the public", _PUBLIC),
    ("ALUMNI", "Alumni", _PUBLIC),
    ("CHILD", "Child (under 16)", _PUBLIC),
    ("CONTACT", "Contact", RecordType.CONTACT.value),
]
JOB_CATEGORIES = [
    ("LIBRARIAN", "Librarian"),
    ("CIRC_ASSISTANT", "Circulation assistant"),
    ("CATALOGER", "Cataloger"),
    ("IT", "IT support"),
    ("STUDENT_WORKER", "Student worker"),
    ("RESEARCHER", "Researcher"),
]
CAMPUSES = [("MAIN", "Main campus"), ("NORTH", "North campus")]
IDENTIFIER_TYPES = [
    ("BARCODE", "Barcode"),
    ("UNIV_ID", "University ID"),
    ("NATIONAL_ID", "National ID"),
    ("SSO", "Single sign-on ID"),
    ("ORCID", "ORCID iD"),
]
# domain.md section 6: note types.
NOTE_TYPES = [
    ("GENERAL", "General"),
    ("ADDRESS", "Address"),
    ("BARCODE", "Barcode"),
    ("CIRCULATION", "Circulation"),
    ("LIBRARY", "Library"),
    ("REGISTRAR", "Registrar"),
    ("OTHER", "Other"),
]
# (code, name, blocks loans, renewals, requests)
BLOCK_DEFINITIONS = [
    ("GENERAL", "General block", True, True, True),
    ("LOST_CARD", "Lost library card", True, True, True),
    ("OVERDUE", "Overdue items", True, True, False),
    ("DEBT_LIMIT", "Debt limit reached", True, True, True),
    ("ADDRESS", "Address unknown", True, False, True),
]
# (code, name, waivable, manual creation, daily overdue rate in minor units)
FEE_TYPES = [
    ("OVERDUE", "Overdue fine", True, False, 50),
    ("LOST_ITEM", "Lost item replacement", True, True, 0),
    ("DAMAGED_ITEM", "Damaged item", True, True, 0),
    ("CARD", "Card replacement", True, True, 0),
    ("REGISTRATION", "Registration fee", False, True, 0),
    ("CREDIT", "Credit", True, True, 0),
]
WAIVE_REASONS = [
    ("LIBRARY_ERROR", "Library error"),
    ("GOODWILL", "Goodwill"),
    ("ITEM_RETURNED", "Item returned"),
    ("DECEASED", "Patron deceased"),
    ("OTHER", "Other"),
]
STAT_CATEGORIES = {
    ("DEPARTMENT", "Department"): [
        ("HIST", "History"),
        ("LAW", "Law"),
        ("MED", "Medicine"),
        ("SCI", "Sciences"),
        ("LETTERS", "Letters"),
    ],
    ("RESIDENCE", "Residence"): [("LOCAL", "Local resident"), ("NONLOCAL", "Non-resident")],
}
ROLE_RULES = [("job_category", "CIRC_ASSISTANT", Role.CIRCULATION_DESK_OPERATOR)]


def seed_code_tables(organization: Organization) -> None:
    org = organization
    for code, name, types in USER_GROUPS:
        UserGroup.create(organization=org, code=code, name=name, record_types=types)
    for model, rows in (
        (JobCategory, JOB_CATEGORIES),
        (Campus, CAMPUSES),
        (IdentifierType, IDENTIFIER_TYPES),
        (NoteType, NOTE_TYPES),
        (WaiveReason, WAIVE_REASONS),
    ):
        for code, name in rows:
            model.create(organization=org, code=code, name=name)
    for code, name, loans, renewals, requests in BLOCK_DEFINITIONS:
        BlockDefinition.create(
            organization=org,
            code=code,
            name=name,
            blocks_loans=loans,
            blocks_renewals=renewals,
            blocks_requests=requests,
        )
    for code, name, waivable, manual, rate in FEE_TYPES:
        FeeType.create(
            organization=org,
            code=code,
            name=name,
            waivable=waivable,
            manual=manual,
            daily_rate_minor=rate,
        )
    for (tcode, tname), categories in STAT_CATEGORIES.items():
        ctype = StatCategoryType.create(organization=org, code=tcode, name=tname)
        for code, name in categories:
            StatCategory.create(organization=org, category_type=ctype, code=code, name=name)
    for kind, code, role in ROLE_RULES:
        target = JobCategory if kind == "job_category" else UserGroup
        row = target.get((target.organization == org) & (target.code == code))
        RoleRule.create(organization=org, role=role.value, **{kind: row})
