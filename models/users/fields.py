"""The fields of a user record, one entry each: what the forms, the General tab, the import and
the checks (`models.users.check`) read. Adding a field is one entry here plus its migration.

Each `Field` says:
- `name`, `label` (as the General tab shows it; Quick User adds typing hints to a few), `kind`
  (which rule checks it), `limit` (texts: the most characters), `owner` (the person's data,
  shared by their accounts, or the account's, one per organization);
- `mandatable`: whether the settings may make it mandatory per record type (`MANDATABLE_NOW`:
  always; `AT_CREATION`: only when the user is created, as afterwards the email, phone and
  address are rows of Contact information and the password is reset apart);
- `modes`: where it is entered (`NEW` Quick User and every creation, `EDIT` the General tab,
  `IMPORT` the General part of an imported record);
- `required`: a record without it cannot stand, imported or not;
- `default`: at creation and in imports an empty value means this (a language, or the primary
  identifier for the username): it is not checked, the writer puts the default;
- `on_import`: what an import does with a value its rule refuses (README, "Rules": a migration
  keeps what it can): `REFUSE` the record, `LEAVE_OUT` the value with a warning, `CLEAR` it
  (stored empty) with a warning, or `DEFAULT` (the default, with a warning); `import_note` is
  what the warning says after the rule's message. Past expiration and purge dates are loaded
  as they are (`DATE_NOT_PAST` checks only new and edited dates);
- `sis`: on an external account, a SIS load owns it: staff change it only after "Open for
  update" (`models.users.external`; the others, as Alma's manual lists them, always);
- `asked`: saving a hand change to it on an external account, Alma asks whether the next SIS
  load may override it ("Title, PIN number, Job category, User group, Campus, Preferred
  language, Resource sharing libraries, Cataloger level, Selected patron letters",
  alma-managing-users; `external.SIS_ASKED`);
- `csv`: the field's place among the general columns of PatronDesk's CSV (1 the first; 0 not a
  column; the header is the field's name). Every field an import enters is also written by
  PatronDesk's exports (`EXPORTED`);
- `shown`: on the General tab read only (status date, last patron activity, owning system: the
  record keeps them, nobody types them).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from models.enums import AccountType, AddressType, Channel, EmailType, PhoneType, RecordType, Status

# Where a field is entered (`check_record`'s modes).
NEW, EDIT, IMPORT = "new", "edit", "import"
ALL_MODES = frozenset({NEW, EDIT, IMPORT})

# Kinds: the rule that checks a value (models/users/check.py).
TEXT = "text"
USERNAME = "username"
IDENTIFIER = "identifier"  # the primary identifier: the settings' pattern applies
OTHER_IDENTIFIER = "other_identifier"
DATE_BIRTH = "birth_date"  # not in the future, not before 1900
DATE_NOT_PAST = "date_not_past"  # not in the past when typed (an old date kept as is stays)
DATE = "date"
DATE_KINDS = frozenset({DATE_BIRTH, DATE_NOT_PAST, DATE})
LANGUAGE = "language"
EMAIL = "email"
URL = "url"  # a web address: http:// or https:// and a host (`validation.check_url`)
PHONE = "phone"
COUNTRY = "country"
CODE = "code"  # an entry of the organization's code table (user group, ...)
ENUM = "enum"
BOOL = "bool"
PIN = "pin"
PASSWORD = "password"
CONFIRM = "confirm"  # typed again, compared with the password
ROLES = "roles"
LOCAL_CODES = "local_codes"  # RERO's local codes: several codes, comma-separated
LIBRARIES = "libraries"  # several library codes of the organization (models/users/libraries.py)

# `mandatable`
NEVER, MANDATABLE_NOW, AT_CREATION = "", "always", "at_creation"
# `on_import`
REFUSE, LEAVE_OUT, CLEAR, DEFAULT = "refuse", "leave_out", "clear", "default"

PERSON, ACCOUNT = "person", "account"


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str
    owner: str
    limit: int = 0
    mandatable: str = NEVER
    modes: frozenset[str] = ALL_MODES
    required: bool = False
    default: str | None = None
    enum: type[StrEnum] | None = None
    message: str = ""  # an enum's message for a value it does not know
    pattern: str = ""  # the `Settings` attribute holding the pattern a value must match
    on_import: str = LEAVE_OUT
    import_note: str = "left out"
    empty: object = None  # what an empty (or, in imports, cleared) value is stored as
    unique: str = ""  # the value is refused when another record holds it (`check.UNIQUE`)
    needs: str = ""  # checked only when this field (or "address": any address field) has a value
    csv: int = 0  # place among the CSV's general columns (models/transfer/formats/patrondesk.py)
    sis: bool = False  # owned by a SIS load on an external account
    asked: bool = False  # Alma asks whether the next SIS load may override a hand change
    tab: int = 0  # place on the General tab (names first, then the account, as Alma shows them)
    shown: bool = False  # on the General tab, read only
    # A text chosen from the organization's list of this code table when it has active entries
    # (`check._listed`; Title: Alma's User Titles); any text when the list is empty.
    listed: str = ""

    @property
    def general(self) -> bool:
        """On the General tab."""
        return EDIT in self.modes


_NEW_EDIT = frozenset({NEW, EDIT})
_EDIT_IMPORT = frozenset({EDIT, IMPORT})
_NEW_IMPORT = frozenset({NEW, IMPORT})
_NEW = frozenset({NEW})
_EDIT = frozenset({EDIT})
_IMPORT = frozenset({IMPORT})
_NOWHERE: frozenset[str] = frozenset()  # kept by the record itself (login, status changes, loads)


def _text(name: str, label: str, owner: str, limit: int, **kw) -> Field:  # noqa: ANN003
    return Field(name, label, TEXT, owner, limit, empty="", **kw)


# In the order the checks run (an import's warnings follow it; errors are shown in the order of
# each form): the primary identifier first, as the username defaults to it.
FIELDS: tuple[Field, ...] = (
    Field(
        "primary_id",
        "Primary identifier",
        IDENTIFIER,
        ACCOUNT,
        100,
        mandatable=MANDATABLE_NOW,
        required=True,
        pattern="primary_identifier_regex",
        on_import=REFUSE,
        unique="identifier",
        sis=True,
        tab=14,
    ),
    # Person: names and personal data.
    _text(
        "first_name", "First name", PERSON, 100, mandatable=MANDATABLE_NOW, csv=4, sis=True, tab=1
    ),
    _text(
        "middle_name", "Middle name", PERSON, 100, mandatable=MANDATABLE_NOW, csv=5, sis=True, tab=2
    ),
    _text(
        "last_name",
        "Last name",
        PERSON,
        100,
        mandatable=MANDATABLE_NOW,
        required=True,
        on_import=REFUSE,
        csv=6,
        sis=True,
        tab=3,
    ),  # fmt: skip
    _text("preferred_first_name", "Preferred first name", PERSON, 100, csv=7, tab=4),
    _text("preferred_middle_name", "Preferred middle", PERSON, 100, csv=8, tab=5),
    _text("preferred_last_name", "Preferred last name", PERSON, 100, csv=9, tab=6),
    # Alma: "A user title. These can be configured by an administrator" (alma-managing-users):
    # from the list of titles when there is one. An import takes any title (a migration loads
    # what it can); a title stored before stays.
    _text(
        "title",
        "Title",
        PERSON,
        50,
        mandatable=MANDATABLE_NOW,
        csv=10,
        tab=7,
        listed="user_title",
        asked=True,
    ),
    _text("gender", "Gender", PERSON, 20, csv=12, sis=True, tab=9),
    # Alma's "Website URL", on Quick User Management and the General tab; an import leaves out
    # a value that is not a web address, with a warning.
    Field("website", "Website", URL, PERSON, 500, empty="", csv=13, sis=True, tab=11),
    Field(
        "username",
        "Username",
        USERNAME,
        PERSON,
        100,
        default="primary_id",
        import_note="the primary identifier is the username",
        unique="username",
        csv=3,
        sis=True,
        tab=12,
    ),
    Field(
        "birth_date",
        "Birth date",
        DATE_BIRTH,
        PERSON,
        mandatable=MANDATABLE_NOW,
        on_import=CLEAR,
        csv=11,
        sis=True,
        tab=8,
    ),
    Field(
        "preferred_language",
        "Language",
        LANGUAGE,
        PERSON,
        default="en",
        csv=14,
        tab=10,
        asked=True,
    ),
    # RERO's "Keep history": the person's choice, on the General tab.
    Field("keep_history", "Keeps history", BOOL, PERSON, modes=_EDIT_IMPORT, tab=31),
    Field("force_password_change", "Must change password", BOOL, PERSON, modes=_IMPORT),
    Field(
        "email",
        "Login email",
        EMAIL,
        PERSON,
        mandatable=AT_CREATION,
        pattern="email_regex",
        unique="login_email",
        sis=True,
        tab=13,
    ),
    # Account: management data.
    Field(
        "record_type",
        "Record type",
        ENUM,
        ACCOUNT,
        modes=_NEW_IMPORT,
        default=RecordType.PUBLIC.value,
        enum=RecordType,
        message="is not a record type",
        on_import=DEFAULT,
        csv=1,
    ),
    Field(
        "status",
        "Status",
        ENUM,
        ACCOUNT,
        modes=_IMPORT,
        default=Status.ACTIVE.value,
        enum=Status,
        message="is not a status",
        on_import=DEFAULT,
        csv=2,
    ),
    Field("status_date", "Status date", DATE, ACCOUNT, modes=_IMPORT, on_import=CLEAR, shown=True),
    # Alma's "Last Patron Activity Date" (a login; tracked while the setting says so) and
    # "Owning system" (the SIS of an external account): read only on the General tab.
    Field("last_activity_at", "Last patron activity", DATE, ACCOUNT, modes=_NOWHERE, shown=True),
    Field("owning_system", "Owning system", TEXT, ACCOUNT, 100, modes=_NOWHERE, shown=True),
    Field(
        "expiry_date",
        "Expiration date",
        DATE_NOT_PAST,
        ACCOUNT,
        mandatable=MANDATABLE_NOW,
        on_import=CLEAR,
        csv=16,
        sis=True,
        tab=19,
    ),  # fmt: skip
    Field(
        "purge_date",
        "Purge date",
        DATE_NOT_PAST,
        ACCOUNT,
        mandatable=MANDATABLE_NOW,
        on_import=CLEAR,
        csv=17,
        sis=True,
        tab=20,
    ),  # fmt: skip
    _text("job_description", "Job description", ACCOUNT, 200, csv=15, sis=True, tab=17),
    _text(
        "cataloger_level",
        "Cataloger level",
        ACCOUNT,
        10,
        modes=_EDIT_IMPORT,
        csv=22,
        tab=27,
        asked=True,
    ),
    # RERO's local codes ("optional, repetitive selection code for local use"): a list.
    Field(
        "local_codes",
        "Local codes",
        LOCAL_CODES,
        ACCOUNT,
        2000,
        modes=_EDIT_IMPORT,
        empty="",
        tab=30,
    ),  # fmt: skip
    # Alma's resource sharing and purchase request libraries ("You can select one or more ...
    # in this multi-select field", alma-managing-users): lists of library codes, rows of
    # `account_library`; not SIS-owned (Alma asks before a load overrides the resource sharing
    # libraries: `external.SIS_ASKED`). Imports read them as codes (models/transfer/imports/).
    Field(
        "resource_sharing_libraries",
        "Resource sharing libraries",
        LIBRARIES,
        ACCOUNT,
        2000,
        modes=_EDIT,
        empty=(),
        tab=32,
        asked=True,
    ),
    Field(
        "purchase_request_libraries",
        "Purchase request libraries",
        LIBRARIES,
        ACCOUNT,
        2000,
        modes=_EDIT,
        empty=(),
        tab=33,
    ),
    Field(
        "comm_channel",
        "Communication channel",
        ENUM,
        ACCOUNT,
        modes=_EDIT_IMPORT,
        default=Channel.EMAIL.value,
        enum=Channel,
        message="is email or mail",
        on_import=DEFAULT,
        csv=18,
        sis=True,
        tab=21,
    ),
    Field(
        "comm_language",
        "Letters language",
        LANGUAGE,
        ACCOUNT,
        modes=_EDIT_IMPORT,
        default="en",
        csv=19,
        tab=22,
    ),
    Field(
        "additional_email",
        "Additional (CC) email",
        EMAIL,
        ACCOUNT,
        modes=_EDIT_IMPORT,
        pattern="email_regex",
        on_import=CLEAR,
        empty="",
        csv=20,
        sis=True,
        tab=23,
    ),
    Field("letters_opt_in", "Receives letters", BOOL, ACCOUNT, modes=_EDIT_IMPORT, csv=21, tab=24),
    # Selected patron letters (Alma): each letter a patron may decline (models.mail.letters
    # OPTIONAL_KINDS), sent when it and "Receives letters" are both on.
    Field(
        "letter_general", "Letter: general", BOOL, ACCOUNT, modes=_EDIT_IMPORT, tab=25, asked=True
    ),
    Field(
        "letter_expiry_reminder",
        "Letter: expiry reminder",
        BOOL,
        ACCOUNT,
        modes=_EDIT_IMPORT,
        tab=26,
        asked=True,
    ),
    Field("researcher", "Researcher", BOOL, ACCOUNT, csv=23, sis=True, tab=28),
    Field(
        "account_type",
        "Account type",
        ENUM,
        ACCOUNT,
        modes=_NEW_IMPORT,
        default=AccountType.INTERNAL.value,
        enum=AccountType,
        message="is not an account type",
        on_import=DEFAULT,
    ),
    # Code tables (an import resolves its codes apart: models/transfer/imports/ `Codes`).
    Field(
        "user_group",
        "User group",
        CODE,
        ACCOUNT,
        mandatable=MANDATABLE_NOW,
        modes=_NEW_EDIT,
        tab=15,
        asked=True,
    ),
    Field(
        "job_category",
        "Job category",
        CODE,
        ACCOUNT,
        mandatable=MANDATABLE_NOW,
        modes=_NEW_EDIT,
        tab=16,
        asked=True,
    ),
    Field(
        "campus",
        "Campus",
        CODE,
        ACCOUNT,
        mandatable=MANDATABLE_NOW,
        modes=_NEW_EDIT,
        tab=18,
        asked=True,
    ),
    # Secrets (an import reads hashes too: models/transfer/imports/ `_secret`).
    Field(
        "pin",
        "PIN",
        PIN,
        ACCOUNT,
        mandatable=MANDATABLE_NOW,
        modes=_NEW_EDIT,
        tab=29,
        asked=True,
    ),
    Field("password", "Password", PASSWORD, PERSON, mandatable=AT_CREATION, modes=_NEW),
    Field("password_confirm", "Password again", CONFIRM, PERSON, modes=_NEW),
    # Created with the user by Quick User; rows of their own tabs afterwards (models/users/rows/).
    Field(
        "identifier_value",
        "Identifier",
        OTHER_IDENTIFIER,
        ACCOUNT,
        100,
        modes=_NEW,
        unique="identifier",
    ),  # fmt: skip
    Field(
        "identifier_type",
        "Identifier type",
        CODE,
        ACCOUNT,
        modes=_NEW,
        message="choose an identifier type",
        needs="identifier_value",
    ),  # fmt: skip
    Field(
        "email_type",
        "Email type",
        ENUM,
        PERSON,
        modes=_NEW,
        enum=EmailType,
        message="is not an email type",
        needs="email",
    ),
    Field(
        "phone", "Phone", PHONE, PERSON, mandatable=AT_CREATION, modes=_NEW, pattern="phone_regex"
    ),
    Field(
        "phone_type",
        "Phone type",
        ENUM,
        PERSON,
        modes=_NEW,
        enum=PhoneType,
        message="is not a phone type",
        needs="phone",
    ),
    Field(
        "address_line1",
        "Address",
        TEXT,
        PERSON,
        200,
        mandatable=AT_CREATION,
        modes=_NEW,
        pattern="address_line_regex",
        empty="",
        needs="address",
    ),
    _text(
        "address_line2",
        "Address line 2",
        PERSON,
        200,
        modes=_NEW,
        pattern="address_line_regex",
        needs="address",
    ),  # fmt: skip
    _text("city", "City", PERSON, 100, modes=_NEW, needs="address"),
    _text("state", "State", PERSON, 100, modes=_NEW, needs="address"),
    _text(
        "postal_code",
        "Postal code",
        PERSON,
        20,
        modes=_NEW,
        pattern="postal_code_regex",
        needs="address",
    ),  # fmt: skip
    Field("country", "Country", COUNTRY, PERSON, modes=_NEW, empty="", needs="address"),
    Field(
        "address_type",
        "Address type",
        ENUM,
        PERSON,
        modes=_NEW,
        enum=AddressType,
        message="is not an address type",
        needs="address",
    ),
    Field("roles", "Roles", ROLES, ACCOUNT, modes=_NEW),
)
BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

# The settings' mandatory field "address" is any of these (`Settings.mandatory_fields`); its
# message goes under the first line.
ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "state", "postal_code", "country")
ADDRESS_PRESENCE = ("address_line1", "address_line2", "city", "postal_code", "country")
# The settings' mandatory "address" is met by any of these (`check`; the message under line 1).
ADDRESS_GIVEN = ("address_line1", "city", "postal_code", "country")

# Views of the table.
NAME_FIELDS: tuple[str, ...] = (
    "first_name",
    "middle_name",
    "last_name",
    "preferred_first_name",
    "preferred_middle_name",
    "preferred_last_name",
)
MANDATABLE: tuple[str, ...] = tuple(
    "address" if f.name == "address_line1" else f.name for f in FIELDS if f.mandatable
)
MANDATABLE_ON_GENERAL: frozenset[str] = frozenset(
    f.name for f in FIELDS if f.mandatable == MANDATABLE_NOW and f.general
)
CODE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == CODE and f.general)
# Lists of library codes on the General tab, stored as rows of `account_library`.
LIBRARY_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == LIBRARIES)
# On the General tab read only, in the table's order.
SHOWN_ON_GENERAL: tuple[str, ...] = tuple(f.name for f in FIELDS if f.shown)
# What PatronDesk's exports write and its import reads back as plain values of the person and the
# account (the primary identifier is a column apart; codes are `CODE_FIELDS`), and the general
# columns of its CSV, in their order.
EXPORTED: tuple[Field, ...] = tuple(
    f for f in FIELDS if IMPORT in f.modes and f.name != "primary_id"
)
CSV_FIELDS: tuple[Field, ...] = tuple(sorted((f for f in FIELDS if f.csv), key=lambda f: f.csv))


def text_limits(owner: str, mode: str) -> dict[str, int]:
    """Field -> most characters, of the text fields (web addresses included) of `owner`
    entered in `mode`."""
    return {
        f.name: f.limit
        for f in FIELDS
        if f.kind in (TEXT, URL) and f.owner == owner and mode in f.modes
    }


def bool_fields(owner: str | None, mode: str) -> tuple[str, ...]:
    return tuple(
        f.name
        for f in FIELDS
        if f.kind == BOOL and (owner is None or f.owner == owner) and mode in f.modes
    )


# The genders the forms offer (stored as the value; an import may bring another, kept as text).
GENDERS = [("Female", "female"), ("Male", "male"), ("Other", "other")]
# The languages offered in a choice list (any ISO 639 code is accepted where one is typed).
LANGUAGES = [("English", "en"), ("French", "fr"), ("German", "de"), ("Italian", "it"),
             ("Spanish", "es"), ("Portuguese", "pt"), ("Dutch", "nl"), ("Polish", "pl"),
             ("Swedish", "sv")]  # fmt: skip
