"""Creating and changing user records: one function per use case, each one transaction with its
audit events. The CLI, the screens, the demo and the importer all come through here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from peewee import IntegrityError

from models import audit
from models.audit import Actor
from models.base import database, fold_key
from models.codes import find_code
from models.enums import (
    AccountType,
    AddressType,
    Channel,
    EmailType,
    PhoneType,
    RecordType,
    Role,
    Status,
)
from models.errors import (
    ConflictError,
    NotFound,
    PermissionDenied,
    UniquenessError,
    ValidationError,
)
from models.passwords import hash_secret, password_problems, problems_message
from models.permissions import Action, authorize, authorize_grant, can
from models.runtime import runtime
from models.settings import Settings, load_settings
from models.tables import (
    Account,
    Address,
    Campus,
    Email,
    Identifier,
    IdentifierType,
    JobCategory,
    Organization,
    Person,
    Phone,
    RoleAssignment,
    RoleRule,
    UserGroup,
)
from models.text import fold, name_words, username_look_alikes, username_skeleton
from models.validation import (
    FieldError,
    Problems,
    check_birth_date,
    check_country,
    check_email,
    check_identifier,
    check_language,
    check_not_past,
    check_phone,
    check_pin,
    check_regex,
    check_username,
    clean_text,
    parse_date,
)


@dataclass
class NewUser:
    """What Quick User Management (and every other way in) says about a new user.

    Text fields hold what was typed; the service cleans and checks them.
    """

    record_type: str = RecordType.PUBLIC.value
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    preferred_first_name: str = ""
    preferred_middle_name: str = ""
    preferred_last_name: str = ""
    title: str = ""
    username: str = ""  # empty: the primary identifier
    primary_id: str = ""
    pin: str = ""
    user_group: str = ""
    job_category: str = ""
    job_description: str = ""
    campus: str = ""
    preferred_language: str = "en"
    birth_date: str | dt.date | None = ""
    gender: str = ""
    expiry_date: str | dt.date | None = ""
    purge_date: str | dt.date | None = ""
    account_type: str = AccountType.INTERNAL.value
    password: str = ""
    password_confirm: str | None = None  # None: no second entry to compare
    force_password_change: bool = False
    identifier_type: str = ""
    identifier_value: str = ""
    email: str = ""
    email_type: str = EmailType.PERSONAL.value
    phone: str = ""
    phone_type: str = PhoneType.MOBILE.value
    address_type: str = AddressType.HOME.value
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    researcher: bool = False
    roles: list[str] = field(default_factory=list)  # staff roles beyond Patron
    person_id: int | None = None  # reuse this existing person (RERO): create only the account
    # Staff confirmed the person agrees to share their personal data with this organization;
    # required to reuse a person, except for the system (imports, jobs).
    person_consent: bool = False


def full_name(person: Person) -> str:
    first = person.preferred_first_name or person.first_name
    return f"{person.last_name}, {first}" if first else person.last_name


def person_search_text(names: dict) -> str:
    """The search index text of a person from their name fields (a dict or a Person's data)."""
    return name_words(
        *(
            names.get(k)
            for k in (
                "last_name",
                "first_name",
                "middle_name",
                "preferred_first_name",
                "preferred_middle_name",
                "preferred_last_name",
            )
        )
    )


def sort_name(last: str, first: str) -> str:
    return fold(f"{last} {first}")[:210]


def holder_label(account: Account, actor: Actor) -> str:
    """Name the account that holds a value, if the staff user may see it."""
    if can(actor.account, Action.VIEW_USER, account):
        return f"account {account.primary_id} ({full_name(account.person)})"
    return "another account"


_holder = holder_label  # the older private name


def find_duplicate_people(
    first_name: str, last_name: str, birth_date: dt.date | None
) -> list[Person]:
    """People with the same first name, last name and birth date (compared without case or
    accents): staff are warned and may open the existing record instead."""
    if birth_date is None or not last_name:
        return []
    first, last = fold(first_name), fold(last_name)
    return [
        p
        for p in Person.select().where(Person.birth_date == birth_date)
        if fold(p.first_name) == first and fold(p.last_name) == last
    ]


def username_look_alike(username: str, person_id: int | None = None) -> Person | None:
    """Another person whose username looks like `username` ("аdmin" with a Cyrillic a beside
    "admin", "paypa1" beside "paypal"): the same UTS #39 skeleton (`models.text`), found with
    one indexed lookup. Refused wherever a username is chosen, so nobody can pass for another
    person in a list or a letter."""
    query = Person.select().where(
        Person.username_skeleton.in_(sorted(username_look_alikes(username)))
    )
    if person_id is not None:
        query = query.where(Person.id != person_id)
    return query.first()


def identifier_holder(value: str) -> Account | None:
    row = Identifier.select().where(Identifier.value_key == fold_key(value)).first()
    return row.account if row else None


# Fields that belong to the person: when an existing person is reused they are not asked again.
_PERSON_FIELDS = frozenset(
    {"first_name", "middle_name", "last_name", "title", "birth_date", "email", "phone", "address"}
)


def _check_mandatory(data: NewUser, settings: Settings, problems: Problems) -> None:
    reuse = data.person_id is not None
    for name in settings.mandatory_fields.get(data.record_type, []):
        if reuse and name in _PERSON_FIELDS:
            continue
        if name == "address":
            if not any([data.address_line1, data.city, data.postal_code, data.country]):
                problems.add("address_line1", "is required")
            continue
        value = getattr(data, name, "")
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.add(name, "is required")


def validate_new_user(
    data: NewUser, organization: Organization, actor: Actor, settings: Settings | None = None
) -> dict:
    """Check every field; raise one `ValidationError` naming every wrong field. Returns the
    cleaned values. Uniqueness is checked here for the messages and again by the database."""
    settings = settings or load_settings()
    today = runtime.today()
    p = Problems()
    c: dict = {}
    taken: list[Account] = []  # accounts holding a value this user would take

    try:
        c["record_type"] = RecordType(data.record_type).value
    except ValueError:
        p.add("record_type", "is not a record type")
        c["record_type"] = RecordType.PUBLIC.value
    try:
        c["account_type"] = AccountType(data.account_type).value
    except ValueError:
        p.add("account_type", "is not an account type")

    _check_mandatory(data, settings, p)
    reuse = data.person_id is not None
    if reuse:
        person = Person.get_or_none(Person.id == data.person_id)
        if person is None:
            p.add("person_id", "this person no longer exists")
        elif Account.get_or_none(
            (Account.person == person) & (Account.organization == organization)
        ):
            p.add("person_id", "this person already has an account in this organization")
        elif actor.account is not None and not data.person_consent:
            p.add("person_id", "confirm that the person agrees to share their personal data")
        c["person"] = person
    else:
        for name in (
            "first_name",
            "middle_name",
            "last_name",
            "preferred_first_name",
            "preferred_middle_name",
            "preferred_last_name",
        ):
            c[name] = p.check(name, clean_text, getattr(data, name), 100) or ""
        c["title"] = p.check("title", clean_text, data.title, 50) or ""
        c["gender"] = p.check("gender", clean_text, data.gender, 20) or ""
        if not c["last_name"] and "last_name" not in p.errors:
            p.add("last_name", "is required")
        birth = p.check("birth_date", parse_date, data.birth_date)
        c["birth_date"] = p.check("birth_date", check_birth_date, birth, today)
        if data.preferred_language:
            c["preferred_language"] = p.check(
                "preferred_language", check_language, data.preferred_language
            )

    c["primary_id"] = p.check(
        "primary_id", check_identifier, data.primary_id, settings.primary_identifier_regex
    )
    if c["primary_id"] and (holder := identifier_holder(c["primary_id"])):
        p.add("primary_id", f"is already used by {_holder(holder, actor)}")
        taken.append(holder)

    if not reuse:
        username = data.username or data.primary_id
        # An empty username defaults to the primary identifier, whose own message says enough.
        if username or "primary_id" not in p.errors:
            c["username"] = p.check("username", check_username, username)
        else:
            c["username"] = None
        if c["username"] and (
            other := Person.get_or_none(Person.username_key == fold_key(c["username"]))
        ):
            acct = other.accounts.first()
            who = _holder(acct, actor) if acct else "another person"
            p.add("username", f"is already used by {who}")
            taken.extend([acct] if acct else [])
        elif c["username"] and (other := username_look_alike(c["username"])):
            acct = other.accounts.first()
            who = _holder(acct, actor) if acct else "another person"
            p.add("username", f"looks too much like the username of {who}: choose another")

    c["job_description"] = p.check("job_description", clean_text, data.job_description) or ""
    for name, model in (
        ("user_group", UserGroup),
        ("job_category", JobCategory),
        ("campus", Campus),
    ):
        value = getattr(data, name)
        c[name] = find_code(model, organization.id, value) if value else None
        if value and c[name] is None:
            p.add(name, f"is not a known {name.replace('_', ' ')}")
    group = c["user_group"]
    if group is not None and group.record_types:
        allowed = [t.strip() for t in group.record_types.split(",") if t.strip()]
        if c["record_type"] not in allowed:
            p.add("user_group", f"does not apply to {c['record_type']} users")

    expiry = p.check("expiry_date", parse_date, data.expiry_date)
    c["expiry_date"] = p.check("expiry_date", check_not_past, expiry, today)
    purge = p.check("purge_date", parse_date, data.purge_date)
    c["purge_date"] = p.check("purge_date", check_not_past, purge, today)
    if c["expiry_date"] and c["purge_date"] and c["purge_date"] < c["expiry_date"]:
        p.add("purge_date", "must not be before the expiration date")

    c["pin"] = p.check("pin", check_pin, data.pin) if data.pin else None
    if data.password:
        if reuse:
            p.add("password", "this person already has a password: it is kept")
        elif problems := password_problems(data.password, settings):
            p.add("password", problems_message(problems))
        elif data.password_confirm is not None and data.password_confirm != data.password:
            p.add("password_confirm", "does not match the password")
        c["password"] = data.password

    if data.identifier_value:
        value = p.check("identifier_value", check_identifier, data.identifier_value)
        c["identifier_value"] = value
        if value and fold_key(value) == fold_key(c.get("primary_id") or ""):
            p.add("identifier_value", "is the same as the primary identifier")
        elif value and (holder := identifier_holder(value)):
            p.add("identifier_value", f"is already used by {_holder(holder, actor)}")
            taken.append(holder)
        c["identifier_type"] = find_code(IdentifierType, organization.id, data.identifier_type)
        if c["identifier_type"] is None:
            p.add("identifier_type", "choose an identifier type")

    if not reuse:
        if data.email:
            c["email"] = p.check("email", check_email, data.email, settings.email_regex)
            if c["email"] and (
                other := Person.get_or_none(Person.email_key == fold_key(c["email"]))
            ):
                acct = other.accounts.first()
                who = _holder(acct, actor) if acct else "another person"
                p.add("email", f"is already the login email of {who}")
                taken.extend([acct] if acct else [])
            try:
                c["email_type"] = EmailType(data.email_type).value
            except ValueError:
                p.add("email_type", "is not an email type")
        if data.phone:
            c["phone"] = p.check(
                "phone",
                check_phone,
                data.phone,
                settings.phone_default_region,
                settings.phone_regex,
            )
            try:
                c["phone_type"] = PhoneType(data.phone_type).value
            except ValueError:
                p.add("phone_type", "is not a phone type")
        if any([data.address_line1, data.address_line2, data.city, data.postal_code, data.country]):
            for name in ("address_line1", "address_line2"):
                line = p.check(name, clean_text, getattr(data, name))
                if line:
                    p.check(name, check_regex, line, settings.address_line_regex)
                c[name] = line or ""
            c["city"] = p.check("city", clean_text, data.city, 100) or ""
            c["state"] = p.check("state", clean_text, data.state, 100) or ""
            postal = p.check("postal_code", clean_text, data.postal_code, 20) or ""
            if postal:
                p.check("postal_code", check_regex, postal, settings.postal_code_regex)
            c["postal_code"] = postal
            c["country"] = p.check("country", check_country, data.country) if data.country else ""
            try:
                c["address_type"] = AddressType(data.address_type).value
            except ValueError:
                p.add("address_type", "is not an address type")

    roles = []
    for r in data.roles:
        try:
            roles.append(Role(r))
        except ValueError:
            p.add("roles", f"{r!r} is not a role")
    c["roles"] = roles
    c["researcher"] = bool(data.researcher)
    if taken:
        visible = [a for a in taken if can(actor.account, Action.VIEW_USER, a)]
        raise UniquenessError(p.errors, visible[0].id if visible else None)
    p.raise_if_any()
    return c


def create_user(
    data: NewUser,
    actor: Actor,
    organization: Organization,
    *,
    via_register: bool = False,
    settings: Settings | None = None,
) -> Account:
    """Create a person (or reuse one) and their account, identifiers, contact rows and roles in
    one transaction, with an audit event for every field created."""
    settings = settings or load_settings()
    action = Action.REGISTER_USER if via_register else Action.CREATE_USER
    if via_register and data.record_type != RecordType.PUBLIC:
        raise ValidationError({"record_type": "Register New User adds public users only"})
    authorize(actor.account, action, record_type=data.record_type)
    if actor.account is not None and actor.account.organization_id != organization.id:
        # Staff add users to their own organization only (domain.md section 2).
        raise PermissionDenied(
            action.value, f"You may not {action.label}: this is another organization."
        )
    if data.roles and set(data.roles) != {Role.PATRON.value}:
        authorize(actor.account, Action.MANAGE_ROLES)
    for role in data.roles or ():
        if role in Role._value2member_map_:  # an unknown role is the form's error, said below
            authorize_grant(actor.account, role)
    # Hash outside the transaction: argon2 takes tens of milliseconds and must not hold the lock.
    password_hash = hash_secret(data.password, settings) if data.password else None
    pin_hash = hash_secret(data.pin.strip(), settings) if data.pin else None
    try:
        with database.atomic():
            c = validate_new_user(data, organization, actor, settings)
            # A role rule of the group or job category gives roles too: none above the actor's.
            for role in roles_for(c["user_group"], c["job_category"], c["roles"]):
                authorize_grant(actor.account, role.value)
            return _insert_user(c, actor, organization, password_hash, pin_hash, data)
    except IntegrityError:
        # Someone took a value between our check and our insert: say which, as the check would.
        validate_new_user(data, organization, actor, settings)
        raise


def _insert_user(
    c: dict,
    actor: Actor,
    organization: Organization,
    password_hash: str | None,
    pin_hash: str | None,
    data: NewUser,
) -> Account:
    now = runtime.now()
    today = now.date()
    if c.get("person") is not None:
        person = c["person"]
        person_created = False
    else:
        person = Person.create(
            username=c["username"],
            username_key=fold_key(c["username"]),
            username_skeleton=username_skeleton(c["username"]),
            email=c.get("email"),
            email_key=fold_key(c.get("email")),
            password_hash=password_hash,
            first_name=c["first_name"],
            middle_name=c["middle_name"],
            last_name=c["last_name"],
            preferred_first_name=c["preferred_first_name"],
            preferred_middle_name=c["preferred_middle_name"],
            preferred_last_name=c["preferred_last_name"],
            sort_name=sort_name(c["last_name"], c["first_name"]),
            search_text=person_search_text(c),
            title=c["title"],
            birth_date=c["birth_date"],
            gender=c["gender"],
            preferred_language=c.get("preferred_language") or "en",
            force_password_change=bool(data.force_password_change and password_hash),
            created_at=now,
            updated_at=now,
        )
        person_created = True
    has_email = bool(person.email) or Email.select().where(Email.person == person).exists()
    account = Account.create(
        organization=organization,
        person=person,
        sort_name=person.sort_name,
        primary_id=c["primary_id"],
        primary_id_key=fold_key(c["primary_id"]),
        account_type=c["account_type"],
        record_type=c["record_type"],
        user_group=c["user_group"],
        job_category=c["job_category"],
        job_description=c["job_description"],
        campus=c["campus"],
        status=Status.ACTIVE.value,
        status_date=today,
        expiry_date=c["expiry_date"],
        purge_date=c["purge_date"],
        comm_channel=(Channel.EMAIL if has_email else Channel.MAIL).value,
        comm_language=person.preferred_language,
        pin_hash=pin_hash,
        researcher=c["researcher"],
        created_by=actor.name,
        created_at=now,
        updated_by=actor.name,
        updated_at=now,
    )
    ids = dict(account_id=account.id, person_id=person.id)
    rows: list = []
    if person_created:
        rows.append(person)
    rows.append(account)
    external = c["account_type"] == AccountType.EXTERNAL
    rows.append(
        Identifier.create(
            account=account,
            value=c["primary_id"],
            value_key=fold_key(c["primary_id"]),
            is_primary=True,
            external=external,
        )
    )
    if c.get("identifier_value"):
        rows.append(
            Identifier.create(
                account=account,
                id_type=c["identifier_type"],
                value=c["identifier_value"],
                value_key=fold_key(c["identifier_value"]),
                external=external,
            )
        )
    if person_created and c.get("email"):
        rows.append(
            Email.create(
                person=person,
                address=c["email"],
                address_key=fold_key(c["email"]),
                email_type=c["email_type"],
                preferred=True,
            )
        )
    if person_created and c.get("phone"):
        rows.append(
            Phone.create(
                person=person, number=c["phone"], phone_type=c["phone_type"], preferred=True
            )
        )
    if person_created and "address_type" in c:
        rows.append(
            Address.create(
                person=person,
                address_type=c["address_type"],
                line1=c["address_line1"],
                line2=c["address_line2"],
                city=c["city"],
                state=c["state"],
                postal_code=c["postal_code"],
                country=c["country"],
                preferred=True,
            )
        )
    for role in roles_for(c["user_group"], c["job_category"], c["roles"]):
        rows.append(RoleAssignment.create(account=account, role=role.value))
    # The person's snapshot holds password_hash, so a set password is one "create" event,
    # masked by the audit module like every secret.
    for row in rows:
        audit.record_changes(actor, row, None, audit.snapshot(row), **ids)
    return account


def roles_for(
    group: UserGroup | None, category: JobCategory | None, extra: list[Role]
) -> list[Role]:
    """Patron always, the roles given, and those the role-assignment rules add."""
    roles = [Role.PATRON, *extra]
    conditions = []
    if group is not None:
        conditions.append(RoleRule.user_group == group)
    if category is not None:
        conditions.append(RoleRule.job_category == category)
    if conditions:
        where = conditions[0] if len(conditions) == 1 else conditions[0] | conditions[1]
        for rule in RoleRule.select().where(where & (RoleRule.active == True)):  # noqa: E712
            roles.append(Role(rule.role))
    return list(dict.fromkeys(roles))


def save_versioned(account: Account, expected_version: int, changes: dict, actor: Actor) -> None:
    """Write `changes` only if nobody saved the account since `expected_version` was read;
    otherwise raise `ConflictError` naming who saved it and when. Always bumps the version."""
    now = runtime.now()
    updated = (
        Account.update(
            **changes, version=Account.version + 1, updated_by=actor.name, updated_at=now
        )
        .where((Account.id == account.id) & (Account.version == expected_version))
        .execute()
    )
    if updated == 0:
        current = Account.get_or_none(Account.id == account.id)
        if current is None:
            raise NotFound("This user no longer exists.")
        raise ConflictError(current.updated_by, current.updated_at)


def set_status(account_id: int, status: str, expected_version: int, actor: Actor) -> Account:
    """Activate or deactivate an account (deactivating is equivalent to blocking)."""
    try:
        new_status = Status(status)
    except ValueError:
        raise ValidationError({"status": "is not a status"}) from None
    with database.atomic():
        account = Account.get_or_none(Account.id == account_id)
        if account is None:
            raise NotFound("This user no longer exists.")
        authorize(actor.account, Action.CHANGE_STATUS, account)
        before = audit.snapshot(account)
        save_versioned(
            account,
            expected_version,
            {"status": new_status.value, "status_date": runtime.today()},
            actor,
        )
        account = Account.get_by_id(account_id)
        audit.record_changes(
            actor,
            account,
            before,
            audit.snapshot(account),
            account_id=account.id,
            person_id=account.person_id,
        )
        return account


def is_expired(account: Account, today: dt.date | None = None) -> bool:
    today = today or runtime.today()
    return account.expiry_date is not None and account.expiry_date < today


__all__ = [
    "NewUser",
    "create_user",
    "validate_new_user",
    "find_duplicate_people",
    "identifier_holder",
    "holder_label",
    "save_versioned",
    "set_status",
    "roles_for",
    "full_name",
    "sort_name",
    "is_expired",
    "FieldError",
    "UniquenessError",
]
