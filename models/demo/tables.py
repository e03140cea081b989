"""The tables demo data fills, as `models.store.bulk.Table`s: every column with its demo default."""

from __future__ import annotations

from models.demo.data import DEMO_ACTOR
from models.enums import (
    AddressType,
    AuditAction,
    EmailType,
    FeeStatus,
    PhoneType,
    Source,
    Status,
)
from models.store.bulk import Table
from models.store.tables import (
    Account,
    AccountLibrary,
    Address,
    AuditEvent,
    Block,
    Email,
    Fee,
    FeeTransaction,
    Identifier,
    Loan,
    Note,
    Person,
    Phone,
    RoleAssignment,
    Statistic,
)

# The person and the account: the model's columns and defaults (a field added to the user record
# with its migration is a column here too).
PERSON = Table(Person, explicit_id=True)
ACCOUNT = Table(
    Account, explicit_id=True, overrides={"created_by": DEMO_ACTOR, "updated_by": DEMO_ACTOR}
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
        "line4": "",
        "line5": "",
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
# An account's resource sharing and purchase request libraries (issue 22, item 6d).
ACCOUNT_LIBRARY = Table(
    AccountLibrary,
    explicit_id=False,
    defaults={"account_id": None, "kind": None, "library_id": None},
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
        "job_id": None,
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
    ACCOUNT_LIBRARY,
    NOTE,
    BLOCK,
    STATISTIC,
    LOAN,
    FEE,
    FEE_TRANSACTION,
    AUDIT,
)
