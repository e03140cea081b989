"""Creating and changing user records: one function per use case, each one transaction with its
audit events. The CLI, the screens, the demo and the importer all come through here."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from peewee import IntegrityError

from models import audit
from models.access.passwords import hash_secret
from models.access.permissions import Action, authorize, authorize_grant
from models.audit import Actor
from models.config.settings import Settings, load_settings
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
from models.runtime import runtime
from models.store.base import database, fold_key
from models.store.tables import (
    Account,
    Address,
    Email,
    Identifier,
    JobCategory,
    Organization,
    Person,
    Phone,
    ProxyFor,
    RoleAssignment,
    RoleRule,
    UserGroup,
)
from models.text import fold
from models.users.check import NEW, Context, check_record
from models.users.derived import (
    full_name,
    identifier_columns,
    person_derived,
    person_search_text,
    primary_id_columns,
    primary_identifier_row,
    sort_name,
)
from models.users.fields import NAME_FIELDS
from models.users.lookups import (
    holder_label,
    identifier_holder,
    username_look_alike,
)
from models.users.proxies import SELF, sponsor_problem
from models.users.validation import FieldError


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
    website: str = ""
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
    # Alma's "Add as fulfillment proxy": the new user is made a proxy for the user this
    # identifier names (the sponsor), in the same transaction (`models.users.proxies`).
    proxy_for: str = ""


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


def validate_new_user(
    data: NewUser, organization: Organization, actor: Actor, settings: Settings | None = None
) -> dict:
    """Check every field (`models.users.check_record`, mode NEW); raise one `ValidationError`
    naming every wrong field. Returns the cleaned values. Uniqueness is checked here for the
    messages and again by the database."""
    context = Context(
        settings or load_settings(),
        runtime.today(),
        actor,
        organization.id,
        reuse_person_id=data.person_id,
        person_consent=data.person_consent,
    )
    checked = check_record(asdict(data), context, NEW)
    if data.proxy_for and data.proxy_for.strip():
        _check_sponsor(data, organization, actor, checked)
    checked.raise_errors(actor)
    return checked.values


def proxy_refusal(actor: Actor, record_type: str) -> str | None:
    """Why `actor` may not make a new user of `record_type` a proxy (None: they may): the
    right to manage proxies, as on the Proxy for tab."""
    try:
        authorize(actor.account, Action.MANAGE_PROXIES, record_type=record_type)
    except PermissionDenied as exc:
        return exc.message
    return None


def _check_sponsor(data: NewUser, organization: Organization, actor: Actor, checked) -> None:  # noqa: ANN001
    """ "Proxy for" at creation: the rules of the Proxy for tab (the right, the sponsor exists
    in view, of this organization, with the Patron role, not the new user itself); the
    sponsor's account goes into the values (`proxy_for`), the message under the field."""
    if refusal := proxy_refusal(actor, data.record_type):
        checked.add("proxy_for", refusal)
        return
    own = {fold_key(v) for v in (data.primary_id, data.identifier_value) if v and v.strip()}
    target, problem = sponsor_problem(data.proxy_for, actor.account, organization.id)
    if target is None and fold_key(data.proxy_for.strip()) in own:
        problem = SELF
    if problem:
        checked.add("proxy_for", problem)
    else:
        checked.values["proxy_for"] = target


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
    if (
        data.proxy_for
        and data.proxy_for.strip()
        and (refusal := proxy_refusal(actor, data.record_type))
    ):
        raise ValidationError({"proxy_for": refusal})  # before any work, said at the field
    # Hash outside the transaction: argon2 takes tens of milliseconds and must not hold the lock.
    password_hash = hash_secret(data.password, settings) if data.password else None
    pin_hash = hash_secret(data.pin.strip(), settings) if data.pin else None
    try:
        with database.atomic():
            c = validate_new_user(data, organization, actor, settings)
            # A role rule of the group or job category gives roles too: none above the actor's.
            for role in roles_for(c["user_group"], c["job_category"], c["roles"]):
                authorize_grant(actor.account, role.value)
            account = _insert_user(c, actor, organization, password_hash, pin_hash, data)
    except IntegrityError:
        # Someone took a value between our check and our insert: say which, as the check would.
        validate_new_user(data, organization, actor, settings)
        raise
    if pin_hash:
        # Alma: "The PIN number is sent in the PIN Number Generation Letter" (after the save).
        from models.mail.letters import send_pin_letter

        send_pin_letter(account.id, data.pin.strip(), actor)
    return account


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
        names = {n: c[n] for n in NAME_FIELDS}
        login = {"username": c["username"], "email": c.get("email")}
        person = Person.create(
            **login,
            password_hash=password_hash,
            **names,
            **person_derived({**login, **names}),
            title=c["title"],
            birth_date=c["birth_date"],
            gender=c["gender"],
            website=c.get("website") or "",
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
        **primary_id_columns(c["primary_id"]),
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
            account=account, **primary_identifier_row(c["primary_id"]), external=external
        )
    )
    if c.get("identifier_value"):
        rows.append(
            Identifier.create(
                account=account,
                id_type=c["identifier_type"],
                **identifier_columns(c["identifier_value"]),
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
    if c.get("proxy_for") is not None:  # a fulfillment proxy of this sponsor from the start
        rows.append(ProxyFor.create(account=account, target=c["proxy_for"], note=""))
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
    "proxy_refusal",
    "find_duplicate_people",
    "identifier_holder",
    "holder_label",
    "save_versioned",
    "set_status",
    "roles_for",
    "full_name",
    "sort_name",
    "person_search_text",
    "username_look_alike",
    "is_expired",
    "FieldError",
    "UniquenessError",
]
