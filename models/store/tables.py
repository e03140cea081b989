"""Every table of PatronDesk (domain.md sections 1 to 9) as peewee models.

Models declare columns and indexes only; the rules live in the service modules beside them.
Case-insensitive uniqueness is kept in `*_key` columns (folded with `fold_key`) under ordinary
unique indexes, which behave the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from peewee import (
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from models.enums import (
    AccountType,
    Channel,
    FeeStatus,
    LetterStatus,
    RecordType,
    Status,
)
from models.store.base import BaseModel, utcnow

# --- Organizations ------------------------------------------------------------------------------


class Organization(BaseModel):
    code = CharField(max_length=50, unique=True)
    name = CharField(max_length=200)
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    # The organization `patrondesk init` made (migration 0011): its User Administrators change
    # the settings of the whole database (models/config/config_settings.py); set only by init.
    hosts_system = BooleanField(default=False)


class Library(BaseModel):
    organization = ForeignKeyField(Organization, backref="libraries", on_delete="RESTRICT")
    code = CharField(max_length=50)
    name = CharField(max_length=200)
    email = CharField(max_length=320, null=True)  # address used for letters sent by post
    active = BooleanField(default=True)

    class Meta:
        indexes = ((("organization", "code"), True),)


# --- Code tables (per organization) -------------------------------------------------------------


class CodeTable(BaseModel):
    """Shared columns of every configurable code table."""

    organization = ForeignKeyField(Organization, on_delete="CASCADE")
    code = CharField(max_length=50)
    name = CharField(max_length=200)
    description = TextField(default="")
    active = BooleanField(default=True)

    class Meta:
        indexes = ((("organization", "code"), True),)


class UserGroup(CodeTable):
    # Comma-separated record types this group applies to; empty means all.
    record_types = CharField(max_length=200, default="")
    # The registration period (Alma's User Registration Terms of Use), in calendar months: a
    # new account's expiry when none is typed, and what Renew adds. None: the setting
    # `default_expiry_days` (models.users.derived.registration_expiry).
    registration_months = IntegerField(null=True)


class JobCategory(CodeTable):
    # The record types it applies to, as a user group's (Alma: "Mapping Job Categories to User
    # Record Types"); empty means all.
    record_types = CharField(max_length=200, default="")


class Campus(CodeTable):
    pass


class IdentifierType(CodeTable):
    # The record types it applies to (Alma: "This list may be different for staff and public
    # users"); empty means all.
    record_types = CharField(max_length=200, default="")


class UserTitle(CodeTable):
    """A title a person may have ("Dr.", "Prof."): Alma's User Titles, configured by an
    administrator. The person's title is stored as text (the entry's name), so a title stored
    before the list (or imported) stays as it is."""


class NoteType(CodeTable):
    pass


class BlockDefinition(CodeTable):
    blocks_loans = BooleanField(default=True)
    blocks_renewals = BooleanField(default=True)
    blocks_requests = BooleanField(default=True)


class FeeType(CodeTable):
    waivable = BooleanField(default=True)
    manual = BooleanField(default=True)  # may be created by hand
    daily_rate_minor = IntegerField(default=0)  # overdue fine per day, in minor units
    library = ForeignKeyField(Library, null=True, on_delete="SET NULL")  # None: every library


class WaiveReason(CodeTable):
    pass


class StatCategoryType(CodeTable):
    pass


class StatCategory(CodeTable):
    category_type = ForeignKeyField(StatCategoryType, backref="categories", on_delete="CASCADE")


class RoleRule(BaseModel):
    """Role-assignment rule: a user group or a job category gives a role."""

    organization = ForeignKeyField(Organization, on_delete="CASCADE")
    user_group = ForeignKeyField(UserGroup, null=True, on_delete="CASCADE")
    job_category = ForeignKeyField(JobCategory, null=True, on_delete="CASCADE")
    role = CharField(max_length=40)
    active = BooleanField(default=True)


# --- People and accounts ------------------------------------------------------------------------


class Person(BaseModel):
    """Personal data: one per human, shared by every organization."""

    username = CharField(max_length=100)
    username_key = CharField(max_length=100, unique=True)
    # What the username looks like (`models.text.username_skeleton`): look-alikes are refused.
    username_skeleton = CharField(max_length=400, default="", index=True)
    email = CharField(max_length=320, null=True)  # login email
    email_key = CharField(max_length=320, null=True, unique=True)
    password_hash = CharField(max_length=255, null=True)
    first_name = CharField(max_length=100, default="")
    middle_name = CharField(max_length=100, default="")
    last_name = CharField(max_length=100)
    preferred_first_name = CharField(max_length=100, default="")
    preferred_middle_name = CharField(max_length=100, default="")
    preferred_last_name = CharField(max_length=100, default="")
    # Folded "last first" for sorting and prefix lookups.
    sort_name = CharField(max_length=210, index=True)
    # Folded words of every name (`models.text.name_words`): what the name search indexes.
    search_text = TextField(default="")
    # The duplicate check's blocking key (`models.duplicates.keys.name_sound_key`, migration
    # 0022): the sounds of the last and first names, sorted ("AN MLR" for Anna Müller).
    name_sound_key = CharField(max_length=100, default="", index=True)
    title = CharField(max_length=50, default="")
    birth_date = DateField(null=True)
    gender = CharField(max_length=20, default="")
    website = CharField(max_length=500, default="")
    preferred_language = CharField(max_length=10, default="en")
    keep_history = BooleanField(default=False)
    force_password_change = BooleanField(default=False)
    failed_logins = IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    last_login_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    version = IntegerField(default=1)

    class Meta:
        indexes = ((("birth_date",), False),)  # duplicate-person check narrows by birth date


class Account(BaseModel):
    """Management data: the person's record in one organization."""

    # (organization, person) is unique: that index serves the organization's look-ups too.
    organization = ForeignKeyField(
        Organization, backref="accounts", on_delete="RESTRICT", index=False
    )
    person = ForeignKeyField(Person, backref="accounts", on_delete="CASCADE")
    primary_id = CharField(max_length=100)
    primary_id_key = CharField(max_length=100, unique=True)
    account_type = CharField(max_length=30, default=AccountType.INTERNAL.value)
    record_type = CharField(max_length=20, default=RecordType.PUBLIC.value)
    # The nullable code columns have partial indexes (`_partial_code_indexes`, migration 0026).
    user_group = ForeignKeyField(UserGroup, null=True, on_delete="RESTRICT", index=False)
    job_category = ForeignKeyField(JobCategory, null=True, on_delete="RESTRICT", index=False)
    job_description = CharField(max_length=200, default="")
    campus = ForeignKeyField(Campus, null=True, on_delete="RESTRICT", index=False)
    status = CharField(max_length=10, default=Status.ACTIVE.value)
    status_date = DateField(null=True)
    expiry_date = DateField(null=True, index=True)
    purge_date = DateField(null=True, index=True)
    comm_channel = CharField(max_length=10, default=Channel.EMAIL.value)
    comm_language = CharField(max_length=10, default="en")
    additional_email = CharField(max_length=320, default="")
    pin_hash = CharField(max_length=255, null=True)
    owning_system = CharField(max_length=100, default="")
    letters_opt_in = BooleanField(default=True)
    # Selected patron letters (Alma): each letter a patron may decline, on or off (migration 0016).
    letter_general = BooleanField(default=True)
    letter_expiry_reminder = BooleanField(default=True)
    # Resource sharing and purchase request libraries: several each, in `AccountLibrary`
    # (migration 0019 moved the single columns there). The old columns stay in the schema,
    # always empty and never read or written (SQLite cannot drop them in place).
    retired_resource_sharing_library = ForeignKeyField(
        Library,
        null=True,
        on_delete="SET NULL",
        index=False,
        column_name="resource_sharing_library_id",
        object_id_name="retired_resource_sharing_library_id",
    )
    retired_purchase_request_library = ForeignKeyField(
        Library,
        null=True,
        on_delete="SET NULL",
        index=False,
        column_name="purchase_request_library_id",
        object_id_name="retired_purchase_request_library_id",
    )
    cataloger_level = CharField(max_length=10, default="")
    local_codes = TextField(default="")
    researcher = BooleanField(default=False)
    # The person's `sort_name`, copied for keyset paging of one organization's list by index;
    # kept in step by triggers (migration 0003): filled on insert when left empty, updated when
    # the person's sort_name changes.
    sort_name = CharField(max_length=210, default="")
    last_activity_at = DateTimeField(null=True)
    created_by = CharField(max_length=100, default="")
    created_at = DateTimeField(default=utcnow)
    updated_by = CharField(max_length=100, default="")
    updated_at = DateTimeField(default=utcnow)
    version = IntegerField(default=1)

    class Meta:
        indexes = (
            (("organization", "person"), True),
            # Keyset paging of Find and Manage Users (models/search/, migration 0003); the
            # trailing columns make the walks covering for the filters.
            (
                (
                    "organization",
                    "record_type",
                    "sort_name",
                    "id",
                    "status",
                    "expiry_date",
                    "account_type",
                    "user_group",
                ),
                False,
            ),
            (
                (
                    "organization",
                    "user_group",
                    "record_type",
                    "sort_name",
                    "id",
                    "status",
                    "expiry_date",
                    "account_type",
                ),
                False,
            ),
            (
                (
                    "organization",
                    "record_type",
                    "expiry_date",
                    "id",
                    "status",
                    "account_type",
                    "user_group",
                ),
                False,
            ),
            (
                (
                    "organization",
                    "user_group",
                    "record_type",
                    "expiry_date",
                    "id",
                    "status",
                    "account_type",
                ),
                False,
            ),
            # New registrations per month on the dashboard (models/dashboard.py, migration 0024).
            (("organization", "created_at"), False),
        )


class Identifier(BaseModel):
    """Every identifier of an account, the primary one included (`is_primary`): one unique
    index over `value_key` makes primary and additional identifiers unique across all accounts."""

    account = ForeignKeyField(Account, backref="identifiers", on_delete="CASCADE")
    id_type = ForeignKeyField(IdentifierType, null=True, on_delete="RESTRICT", index=False)
    value = CharField(max_length=100)
    value_key = CharField(max_length=100, unique=True)
    is_primary = BooleanField(default=False)
    note = TextField(default="")
    active = BooleanField(default=True)
    external = BooleanField(default=False)


class Email(BaseModel):
    person = ForeignKeyField(Person, backref="emails", on_delete="CASCADE")
    address = CharField(max_length=320)
    address_key = CharField(max_length=320, index=True)
    email_type = CharField(max_length=20)
    preferred = BooleanField(default=False)
    description = CharField(max_length=200, default="")
    external = BooleanField(default=False)


class Address(BaseModel):
    person = ForeignKeyField(Person, backref="addresses", on_delete="CASCADE")
    address_type = CharField(max_length=20)
    line1 = CharField(max_length=200, default="")
    line2 = CharField(max_length=200, default="")
    line3 = CharField(max_length=200, default="")
    line4 = CharField(max_length=200, default="")
    line5 = CharField(max_length=200, default="")
    city = CharField(max_length=100, default="")
    state = CharField(max_length=100, default="")
    postal_code = CharField(max_length=20, default="")
    country = CharField(max_length=2, default="")  # ISO 3166-1 alpha-2
    note = TextField(default="")
    start_date = DateField(null=True)
    end_date = DateField(null=True)
    preferred = BooleanField(default=False)
    external = BooleanField(default=False)


class Phone(BaseModel):
    person = ForeignKeyField(Person, backref="phones", on_delete="CASCADE")
    number = CharField(max_length=40, index=True)  # E.164; indexed for the duplicate check
    phone_type = CharField(max_length=20)
    preferred = BooleanField(default=False)
    preferred_sms = BooleanField(default=False)
    external = BooleanField(default=False)


class Note(BaseModel):
    account = ForeignKeyField(Account, backref="notes", on_delete="CASCADE")
    note_type = ForeignKeyField(NoteType, null=True, on_delete="RESTRICT", index=False)
    text = TextField()
    user_viewable = BooleanField(default=False)
    popup = BooleanField(default=False)
    # None: institution
    owner = ForeignKeyField(Library, null=True, on_delete="RESTRICT", index=False)
    external = BooleanField(default=False)
    created_by = CharField(max_length=100, default="")
    created_at = DateTimeField(default=utcnow)


class Block(BaseModel):
    # (account, active) serves the account's look-ups.
    account = ForeignKeyField(Account, backref="blocks", on_delete="CASCADE", index=False)
    definition = ForeignKeyField(BlockDefinition, on_delete="RESTRICT")
    expiry_date = DateField(null=True)
    note = TextField(default="")
    owner = ForeignKeyField(Library, null=True, on_delete="RESTRICT", index=False)
    active = BooleanField(default=True)
    external = BooleanField(default=False)
    created_by = CharField(max_length=100, default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("account", "active"), False),)


class Statistic(BaseModel):
    account = ForeignKeyField(Account, backref="statistics", on_delete="CASCADE")
    category = ForeignKeyField(StatCategory, on_delete="RESTRICT")
    note = TextField(default="")
    owner = ForeignKeyField(Library, null=True, on_delete="RESTRICT", index=False)
    external = BooleanField(default=False)


class Letter(BaseModel):
    account = ForeignKeyField(Account, backref="letters", on_delete="CASCADE")
    kind = CharField(max_length=40)
    language = CharField(max_length=10, default="en")
    subject = CharField(max_length=300)
    body = TextField(default="")
    recipients = TextField(default="")  # comma-separated
    status = CharField(max_length=10, default=LetterStatus.QUEUED.value, index=True)
    error = TextField(default="")
    attempts = IntegerField(default=0)
    created_by = CharField(max_length=100, default="")
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)
    # A letter sent once only carries a key (the expiry reminder: per account and expiry date);
    # NULL for the rest. Unique, so two jobs running at once cannot both queue it.
    once_key = CharField(max_length=100, null=True, unique=True)
    # "Resend": the new letter points at the one it repeats, whose files it sends again.
    resend_of = ForeignKeyField("self", null=True, on_delete="SET NULL", backref="resends")


class Attachment(BaseModel):
    account = ForeignKeyField(Account, backref="attachments", on_delete="CASCADE")
    name = CharField(max_length=255)
    size = BigIntegerField(default=0)
    mime_type = CharField(max_length=100, default="application/octet-stream")
    note = TextField(default="")
    data = BlobField()
    owner = ForeignKeyField(Library, null=True, on_delete="RESTRICT")
    letter = ForeignKeyField(Letter, null=True, on_delete="SET NULL")
    created_by = CharField(max_length=100, default="")
    created_at = DateTimeField(default=utcnow)


class PersonPhoto(BaseModel):
    """A person's photo (issue 25, item 2; Alma's user picture), one per person and shared by
    their accounts, as their name is. Stored once, as `models.users.photos` made it: decoded,
    turned upright, fitted into its box and encoded again as JPEG without any metadata (no
    EXIF: no camera, place or time). A table of its own, so that no read of a person carries
    the picture's bytes."""

    person = ForeignKeyField(Person, unique=True, on_delete="CASCADE")
    mime_type = CharField(max_length=50, default="image/jpeg")
    width = IntegerField()
    height = IntegerField()
    data = BlobField()
    created_by = CharField(max_length=100, default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "person_photo"


class ProxyFor(BaseModel):
    """`account` may act for `target` (the target must have the Patron role)."""

    account = ForeignKeyField(Account, backref="proxy_for", on_delete="CASCADE")
    target = ForeignKeyField(Account, backref="proxies", on_delete="CASCADE")
    note = TextField(default="")

    class Meta:
        table_name = "proxy_for"
        indexes = ((("account", "target"), True),)


class RoleAssignment(BaseModel):
    # (account, role) serves the account's look-ups.
    account = ForeignKeyField(Account, backref="roles", on_delete="CASCADE", index=False)
    role = CharField(max_length=40)
    # None: whole organization
    scope = ForeignKeyField(Library, null=True, on_delete="CASCADE", index=False)
    status = CharField(max_length=10, default=Status.ACTIVE.value)
    expiry_date = DateField(null=True)

    class Meta:
        indexes = (
            (("account", "role"), False),
            (("role", "account"), False),  # a filter on a rare role (models/search/)
        )


class LocalOverride(BaseModel):
    """A General-tab field that staff changed by hand on an external account (domain.md
    section 7): the next SIS load keeps the staff value until "original value" is chosen.
    `original` is the value the SIS had supplied (JSON), written back by that choice.
    `sis_may_override`: staff answered that the next SIS load may override the field (Alma's
    question on Open for update, `models.users.external.SIS_ASKED`): that load writes the SIS
    value and ends the override."""

    account = ForeignKeyField(Account, backref="overrides", on_delete="CASCADE")
    field = CharField(max_length=60)
    original = TextField(null=True)
    changed_by = CharField(max_length=100, default="")
    changed_at = DateTimeField(default=utcnow)
    sis_may_override = BooleanField(default=False)  # migration 0017

    class Meta:
        table_name = "local_override"
        indexes = ((("account", "field"), True),)


class AccountLibrary(BaseModel):
    """One of an account's resource sharing libraries or purchase request libraries (Alma,
    "Managing Users": "You can select one or more resource sharing libraries in this
    multi-select field"; "Purchase request library ... You may select one or more libraries"),
    `kind` "resource_sharing" or "purchase_request" (`models.users.libraries`); each library
    once per account and kind, in the order given (`id`). A library in use cannot be deleted
    (configuration lists these rows); an account's rows go with it. Migration 0019."""

    account = ForeignKeyField(Account, backref="libraries", on_delete="CASCADE")
    kind = CharField(max_length=20)
    library = ForeignKeyField(Library, on_delete="RESTRICT")

    class Meta:
        table_name = "account_library"
        indexes = ((("account", "kind", "library"), True),)


class ResetCode(BaseModel):
    """A one-time password-reset code sent by email (models.access.password_reset): only its hash is
    kept, with its expiry, the wrong tries made with it and when it was used."""

    person = ForeignKeyField(Person, backref="reset_codes", on_delete="CASCADE")
    code_hash = CharField(max_length=255)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    attempts = IntegerField(default=0)
    used_at = DateTimeField(null=True)

    class Meta:
        table_name = "reset_code"


class ImportState(BaseModel):
    """The last import or SIS load of an account (models/transfer/imports/): the fingerprint of
    the
    record it wrote and the account's version after it. A load of the same record to an account
    nobody changed since (same version) skips it without reading the account."""

    account = ForeignKeyField(Account, backref="import_state", on_delete="CASCADE", unique=True)
    source = CharField(max_length=100, default="")
    digest = CharField(max_length=64)
    account_version = IntegerField()
    loaded_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "import_state"


# --- Money and circulation ----------------------------------------------------------------------


class Loan(BaseModel):
    """Only what deletion rules and the fines summary need."""

    account = ForeignKeyField(Account, backref="loans", on_delete="RESTRICT")
    library = ForeignKeyField(Library, null=True, on_delete="SET NULL")
    item_barcode = CharField(max_length=100)
    title = CharField(max_length=500, default="")
    loaned_at = DateTimeField(default=utcnow)
    due_date = DateField()
    returned_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("account", "returned_at"), False),)


class Fee(BaseModel):
    """Amounts are integer minor units (cents): exact, never floats."""

    account = ForeignKeyField(Account, backref="fees", on_delete="RESTRICT")
    fee_type = ForeignKeyField(FeeType, on_delete="RESTRICT")
    owner = ForeignKeyField(Library, null=True, on_delete="RESTRICT")
    loan = ForeignKeyField(Loan, null=True, on_delete="SET NULL")
    status = CharField(max_length=12, default=FeeStatus.ACTIVE.value)
    status_date = DateTimeField(default=utcnow)
    original_minor = BigIntegerField()
    balance_minor = BigIntegerField()
    item_barcode = CharField(max_length=100, default="")
    title = CharField(max_length=500, default="")
    comment = TextField(default="")
    created_by = CharField(max_length=100, default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("account", "status"), False),)


class FeeTransaction(BaseModel):
    fee = ForeignKeyField(Fee, backref="transactions", on_delete="CASCADE")
    action = CharField(max_length=12)
    amount_minor = BigIntegerField()
    method = CharField(max_length=30, default="")
    reason = ForeignKeyField(WaiveReason, null=True, on_delete="RESTRICT")
    comment = TextField(default="")
    actor = CharField(max_length=100, default="")
    at = DateTimeField(default=utcnow)


# --- Audit and settings -------------------------------------------------------------------------


class AuditEvent(BaseModel):
    """One changed field, login event or deletion. No foreign keys: the trail outlives records."""

    account_id = IntegerField(null=True)  # (account_id, at) serves its look-ups
    person_id = IntegerField(null=True, index=True)
    entity = CharField(max_length=40)  # table of the changed row
    entity_id = IntegerField(null=True)
    action = CharField(max_length=20)
    field = CharField(max_length=60, default="")
    old_value = TextField(null=True)
    new_value = TextField(null=True)
    actor_id = IntegerField(null=True)
    actor = CharField(max_length=100, default="")
    source = CharField(max_length=10)
    at = DateTimeField(default=utcnow, index=True)
    # The bulk job that made the change (models/jobs/, migration 0020); None: anything else.
    job_id = IntegerField(null=True, index=True)

    class Meta:
        indexes = ((("account_id", "at"), False),)


# --- Duplicates (issue 24, migration 0022) -----------------------------------------------------


class DuplicateDismissal(BaseModel):
    """A pair of people staff of an organization marked "not a duplicate"
    (models/duplicates/marks.py): never proposed again there. `person_low` < `person_high`."""

    organization = ForeignKeyField(Organization, on_delete="CASCADE")
    person_low = ForeignKeyField(Person, on_delete="CASCADE", backref="+")
    person_high = ForeignKeyField(Person, on_delete="CASCADE", backref="+")
    marked_by = CharField(max_length=100, default="")
    marked_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "duplicate_dismissal"
        indexes = ((("organization", "person_low", "person_high"), True),)


class LoginMonth(BaseModel):
    """Logins per organization and calendar month ("YYYY-MM"), kept by a trigger on
    `audit_event` (migration 0024): the dashboard's logins chart (models/dashboard.py) reads
    twelve rows instead of a year of audit events."""

    organization = ForeignKeyField(Organization, on_delete="CASCADE")
    month = CharField(max_length=7)
    logins = IntegerField()

    class Meta:
        table_name = "login_month"
        indexes = ((("organization", "month"), True),)


# --- Sets and bulk jobs (issue 23, migration 0020) ----------------------------------------------


class UserSet(BaseModel):
    """A named set of users of one organization (models/jobs/sets.py): `logical` keeps the search
    text and filters of Find and Manage Users (`query`, JSON), re-evaluated when used;
    `itemized` keeps its members (`UserSetMember`)."""

    organization = ForeignKeyField(Organization, on_delete="CASCADE")
    name = CharField(max_length=100)
    name_key = CharField(max_length=100)
    kind = CharField(max_length=10)
    query = TextField(default="")
    created_by = CharField(max_length=100, default="")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "user_set"
        indexes = ((("organization", "name_key"), True),)


class UserSetMember(BaseModel):
    user_set = ForeignKeyField(UserSet, backref="members", on_delete="CASCADE")
    account = ForeignKeyField(Account, on_delete="CASCADE")

    class Meta:
        table_name = "user_set_member"
        indexes = ((("user_set", "account"), True),)


class Job(BaseModel):
    """A bulk job on a set (models/jobs/jobs.py): who, when, what, its counts and its state
    (`running` until every item is done: the same command continues a killed one)."""

    organization = ForeignKeyField(Organization, on_delete="CASCADE")
    user_set = ForeignKeyField(UserSet, null=True, on_delete="SET NULL")
    set_name = CharField(max_length=100, default="")
    kind = CharField(max_length=10)  # update | delete | notify | undo
    params = TextField(default="{}")  # JSON: what the job does
    state = CharField(max_length=10, default="running")  # running | done
    actor_id = IntegerField(null=True)
    actor = CharField(max_length=100, default="")
    source = CharField(max_length=10, default="")
    created_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)
    total = IntegerField(default=0)
    changed = IntegerField(default=0)
    unchanged = IntegerField(default=0)
    skipped = IntegerField(default=0)
    failed = IntegerField(default=0)
    undo_of = IntegerField(null=True)  # an undo job: the update job it undoes


class JobItem(BaseModel):
    """One member of a job: the account version the job read, its outcome once done ("" while
    pending) and why it was skipped or failed."""

    job = ForeignKeyField(Job, backref="items", on_delete="CASCADE")
    seq = IntegerField()
    account_id = IntegerField()
    primary_id = CharField(max_length=100, default="")
    version = IntegerField(default=0)
    version_after = IntegerField(null=True)
    outcome = CharField(max_length=10, default="")
    reason = TextField(default="")

    class Meta:
        table_name = "job_item"
        indexes = ((("job", "seq"), True), (("job", "outcome"), False))


class Setting(BaseModel):
    """One configuration value, stored as JSON text."""

    key = CharField(max_length=100, primary_key=True)
    value = TextField()
    updated_at = DateTimeField(default=utcnow)


def _partial_code_indexes() -> None:
    """The nullable code columns' indexes hold only the rows that have a code (migration
    0026): a look-up by a value (`col = ?`, a code's delete checking its foreign key) implies
    `col IS NOT NULL`, so both back ends use them; most users have no value there."""
    for model, field, name in (
        (Account, Account.user_group, "account_user_group_id"),
        (Account, Account.job_category, "account_job_category_id"),
        (Account, Account.campus, "account_campus_id"),
        (
            Account,
            Account.retired_resource_sharing_library,
            "account_resource_sharing_library_id",
        ),
        (
            Account,
            Account.retired_purchase_request_library,
            "account_purchase_request_library_id",
        ),
        (Identifier, Identifier.id_type, "identifier_id_type_id"),
        (Note, Note.note_type, "note_note_type_id"),
        (Note, Note.owner, "note_owner_id"),
        (Block, Block.owner, "block_owner_id"),
        (Statistic, Statistic.owner, "statistic_owner_id"),
        (RoleAssignment, RoleAssignment.scope, "roleassignment_scope_id"),
    ):
        model.add_index(model.index(field, name=name, where=field.is_null(False)))


_partial_code_indexes()


ALL_TABLES: list[type[BaseModel]] = [
    Organization,
    Library,
    UserGroup,
    JobCategory,
    Campus,
    IdentifierType,
    UserTitle,
    NoteType,
    BlockDefinition,
    FeeType,
    WaiveReason,
    StatCategoryType,
    StatCategory,
    RoleRule,
    Person,
    Account,
    Identifier,
    Email,
    Address,
    Phone,
    Note,
    Block,
    Statistic,
    Letter,
    Attachment,
    PersonPhoto,
    ProxyFor,
    RoleAssignment,
    LocalOverride,
    AccountLibrary,
    ResetCode,
    Loan,
    Fee,
    FeeTransaction,
    AuditEvent,
    LoginMonth,
    Setting,
    UserSet,
    UserSetMember,
    Job,
    JobItem,
    DuplicateDismissal,
]
