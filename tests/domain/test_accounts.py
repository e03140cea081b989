"""Creating user records (models.users.accounts): record types, mandatory fields, uniqueness,
validation, duplicates, reuse of a person, roles, audit and optimistic locking."""

from __future__ import annotations

import datetime as dt

import pytest
from peewee import IntegrityError

from models.audit import Actor
from models.config.seed import seed_code_tables
from models.config.settings import Settings, load_settings, set_setting
from models.enums import RecordType, Role, Source
from models.errors import ConflictError, UniquenessError, ValidationError
from models.runtime import runtime
from models.store.base import database, fold_key
from models.store.tables import (
    Account,
    Address,
    AuditEvent,
    Email,
    Identifier,
    Library,
    Organization,
    Person,
    Phone,
    RoleAssignment,
    RoleRule,
)
from models.users.accounts import (
    NewUser,
    create_user,
    find_duplicate_people,
    identifier_holder,
    roles_for,
    set_status,
)

PASSWORD = "Harbour-Lantern-57"
PIN = "7395"


def future(days: int = 365) -> dt.date:
    return runtime.today() + dt.timedelta(days=days)


def yesterday() -> dt.date:
    return runtime.today() - dt.timedelta(days=1)


def public(**changes) -> NewUser:
    """A public user with every field the default settings make mandatory."""
    values = dict(
        record_type=RecordType.PUBLIC.value,
        first_name="Anna",
        last_name="Müller",
        primary_id="P0001",
        user_group="PUBLIC",
        email="anna.muller@example.org",
        expiry_date=future(),
    )
    values.update(changes)
    return NewUser(**values)


def staff_actor(db) -> Actor:
    return Actor(db.admin, Source.SCREEN)


def second_organization() -> tuple[Organization, Account]:
    """Another organization with its library, code tables and an administrator of its own."""
    org = Organization.create(code="SECOND", name="Second organization")
    Library.create(organization=org, code="SEC", name="Second library")
    seed_code_tables(org)
    admin2 = create_user(
        NewUser(
            record_type=RecordType.STAFF.value,
            first_name="Sam",
            last_name="Second",
            primary_id="admin2",
            user_group="STAFF",
            email="admin2@second.example",
            expiry_date=future(),
            password="Second-Admin-88",
            roles=[Role.USER_ADMINISTRATOR.value],
        ),
        Actor(None, Source.CLI),
        org,
    )
    return org, admin2


def role_names(account: Account) -> set[str]:
    return {r.role for r in RoleAssignment.select().where(RoleAssignment.account == account)}


# --- Record types and mandatory fields ----------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        public(),
        public(
            record_type="staff",
            primary_id="S0001",
            user_group="STAFF",
            email="s@example.org",
            job_category="LIBRARIAN",
        ),
        NewUser(
            record_type="contact",
            last_name="Binder & Co",
            primary_id="C0001",
            phone="+41 44 268 10 00",
        ),
        NewUser(record_type="organization", last_name="Acme Consortium", primary_id="O0001"),
        NewUser(
            record_type="researcher",
            first_name="Rui",
            last_name="Costa",
            primary_id="R0001",
            email="rui@example.org",
        ),
    ],
    ids=lambda d: d.record_type,
)
def test_a_user_of_each_record_type_can_be_created(db, data: NewUser) -> None:
    account = create_user(data, staff_actor(db), db.organization)
    account = Account.get_by_id(account.id)
    assert account.record_type == data.record_type
    assert account.organization_id == db.organization.id
    assert account.status == "active"
    assert account.version == 1
    assert account.person.last_name == data.last_name
    primary = Identifier.get(Identifier.account == account, Identifier.is_primary == True)  # noqa: E712
    assert primary.value == data.primary_id
    assert identifier_holder(data.primary_id.lower()) == account
    assert role_names(account) == {"patron"}


@pytest.mark.parametrize("record_type", [t.value for t in RecordType])
def test_an_empty_form_names_every_mandatory_field_of_its_record_type(db, record_type) -> None:
    mandatory = Settings().mandatory_fields[record_type]
    people = Person.select().count()
    with pytest.raises(ValidationError) as err:
        create_user(NewUser(record_type=record_type), staff_actor(db), db.organization)
    for name in mandatory:
        if name == "expiry_date":  # an empty one is the registration period's end (issue 22)
            assert name not in err.value.errors
            continue
        assert name in err.value.errors, f"{name} not reported for {record_type}"
        assert err.value.errors[name]
    if record_type in ("contact", "organization"):
        assert "first_name" not in err.value.errors
        assert "email" not in err.value.errors
    assert Person.select().count() == people


def test_mandatory_fields_changed_in_settings_are_enforced(db) -> None:
    mandatory = load_settings().mandatory_fields
    mandatory["public"] = [*mandatory["public"], "phone", "birth_date", "address"]
    set_setting("mandatory_fields", mandatory)
    with pytest.raises(ValidationError) as err:
        create_user(public(), staff_actor(db), db.organization)
    assert err.value.errors == {
        "phone": "is required",
        "birth_date": "is required",
        "address_line1": "is required",
    }
    account = create_user(
        public(
            phone="+41 22 379 00 00",
            birth_date="1990-05-01",
            address_line1="Rue du Rhône 1",
            city="Genève",
            country="CH",
        ),
        staff_actor(db),
        db.organization,
    )
    assert Phone.get(Phone.person == account.person).number == "+41223790000"
    assert Address.get(Address.person == account.person).country == "CH"


def test_a_field_no_longer_mandatory_may_be_left_empty(db) -> None:
    mandatory = load_settings().mandatory_fields
    mandatory["public"] = [f for f in mandatory["public"] if f != "email"]
    set_setting("mandatory_fields", mandatory)
    account = create_user(public(email=""), staff_actor(db), db.organization)
    assert account.person.email is None
    assert account.comm_channel == "mail"


def test_primary_identifier_format_from_settings_is_enforced(db) -> None:
    set_setting("primary_identifier_regex", r"P[0-9]{4}")
    with pytest.raises(ValidationError) as err:
        create_user(public(primary_id="X-12"), staff_actor(db), db.organization)
    assert err.value.errors["primary_id"] == "does not have the expected format"
    assert create_user(public(primary_id="P1234"), staff_actor(db), db.organization)


# --- Uniqueness ---------------------------------------------------------------------------------


def test_username_is_unique_whatever_its_case(db) -> None:
    first = create_user(public(username="Anna.M"), staff_actor(db), db.organization)
    with pytest.raises(UniquenessError) as err:
        create_user(
            public(primary_id="P0002", username="anna.m", email="other@example.org"),
            staff_actor(db),
            db.organization,
        )
    assert set(err.value.errors) == {"username"}
    assert "account P0001" in err.value.errors["username"]
    assert "Müller" in err.value.errors["username"]
    assert err.value.holder_account_id == first.id
    assert Account.select().where(Account.primary_id == "P0002").count() == 0


def test_login_email_is_unique_whatever_its_case(db) -> None:
    first = create_user(public(email="Anna.Muller@Example.org"), staff_actor(db), db.organization)
    with pytest.raises(UniquenessError) as err:
        create_user(
            public(primary_id="P0002", email="ANNA.MULLER@example.ORG"),
            staff_actor(db),
            db.organization,
        )
    assert "email" in err.value.errors
    assert "login email of account P0001" in err.value.errors["email"]
    assert err.value.holder_account_id == first.id


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"primary_id": "p0001"}, "primary_id"),  # another account's primary id
        ({"primary_id": "bc-77"}, "primary_id"),  # another account's additional identifier
        ({"identifier_type": "UNIV_ID", "identifier_value": "P0001"}, "identifier_value"),
        ({"identifier_type": "UNIV_ID", "identifier_value": "Bc-77"}, "identifier_value"),
    ],
)
def test_identifiers_are_unique_across_all_accounts_whatever_their_case(
    db, changes: dict, field: str
) -> None:
    holder = create_user(
        public(identifier_type="BARCODE", identifier_value="BC-77"),
        staff_actor(db),
        db.organization,
    )
    data = public(email="second@example.org", primary_id="P0002")
    for name, value in changes.items():
        setattr(data, name, value)
    with pytest.raises(UniquenessError) as err:
        create_user(data, staff_actor(db), db.organization)
    assert "is already used by account P0001" in err.value.errors[field]
    assert err.value.holder_account_id == holder.id
    assert Account.select().count() == 2  # the administrator and the holder


def test_an_account_cannot_hold_one_identifier_twice(db) -> None:
    with pytest.raises(ValidationError) as err:
        create_user(
            public(identifier_type="BARCODE", identifier_value="p0001"),
            staff_actor(db),
            db.organization,
        )
    assert err.value.errors["identifier_value"] == "is the same as the primary identifier"


def test_the_database_itself_refuses_a_second_identifier_with_the_same_value(db) -> None:
    account = create_user(public(), staff_actor(db), db.organization)
    with pytest.raises(IntegrityError), database.atomic():
        Identifier.create(account=account, value="p0001", value_key=fold_key("p0001"))
    assert Identifier.select().where(Identifier.account == account).count() == 1


def test_a_value_held_in_another_organization_does_not_name_its_holder(db) -> None:
    _, admin2 = second_organization()
    with pytest.raises(UniquenessError) as err:
        create_user(public(primary_id="ADMIN2"), staff_actor(db), db.organization)
    assert err.value.errors["primary_id"] == "is already used by another account"
    assert err.value.holder_account_id is None
    assert "Second" not in str(err.value)
    assert identifier_holder("ADMIN2") == admin2


# --- Validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["expiry_date", "purge_date"])
def test_expiry_and_purge_dates_in_the_past_are_refused(db, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        create_user(public(**{field: yesterday()}), staff_actor(db), db.organization)
    assert err.value.errors == {field: "cannot be in the past"}
    today = runtime.today().isoformat()  # today is not the past
    account = create_user(
        public(expiry_date=today, purge_date=today if field == "purge_date" else ""),
        staff_actor(db),
        db.organization,
    )
    assert getattr(account, field) == runtime.today()


def test_purge_date_before_expiry_is_refused(db) -> None:
    with pytest.raises(ValidationError) as err:
        create_user(
            public(expiry_date=future(30), purge_date=future(10)), staff_actor(db), db.organization
        )
    assert "before the expiration date" in err.value.errors["purge_date"]


def test_a_form_with_many_mistakes_reports_every_one_at_once(db) -> None:
    people, accounts = Person.select().count(), Account.select().count()
    with pytest.raises(ValidationError) as err:
        create_user(
            public(
                first_name="",
                email="anna@@example",
                phone="+41 22 379",
                address_line1="Rue du Rhône 1",
                country="Narnia",
                expiry_date=yesterday(),
                birth_date="1990-13-45",
                pin="12a",
                password="weak",
            ),
            staff_actor(db),
            db.organization,
        )
    errors = err.value.errors
    assert errors["first_name"] == "is required"
    assert "not a valid email address" in errors["email"]
    assert "not a valid phone number" in errors["phone"]
    assert "not a known country" in errors["country"]
    assert errors["expiry_date"] == "cannot be in the past"
    assert "not a date" in errors["birth_date"]
    assert errors["pin"] == "must be exactly 4 digits"
    assert "at least 8 characters" in errors["password"]
    for name in errors:
        assert name in str(err.value)
    assert "weak" not in str(err.value)  # no secret in a message
    assert (Person.select().count(), Account.select().count()) == (people, accounts)


# --- Duplicates and reuse -----------------------------------------------------------------------


def test_same_first_last_name_and_birth_date_is_found_as_a_duplicate(db) -> None:
    account = create_user(public(birth_date="1990-05-01"), staff_actor(db), db.organization)
    found = find_duplicate_people("ANNA", "muller", dt.date(1990, 5, 1))
    assert [p.id for p in found] == [account.person_id]
    assert find_duplicate_people("Anna", "Müller", dt.date(1990, 5, 2)) == []
    assert find_duplicate_people("Anne", "Müller", dt.date(1990, 5, 1)) == []
    assert find_duplicate_people("Anna", "Müller", None) == []


def test_reusing_a_person_in_another_organization_creates_only_an_account(db) -> None:
    first = create_user(
        public(phone="+41 22 379 00 00", address_line1="Rue du Rhône 1", city="Genève"),
        staff_actor(db),
        db.organization,
    )
    org2, admin2 = second_organization()
    counts = [m.select().count() for m in (Person, Email, Phone, Address)]
    account = create_user(
        NewUser(
            record_type="public",
            person_id=first.person_id,
            person_consent=True,
            primary_id="SEC-0001",
            user_group="PUBLIC",
            expiry_date=future(),
        ),
        Actor(admin2, Source.SCREEN),
        org2,
    )
    assert [m.select().count() for m in (Person, Email, Phone, Address)] == counts
    assert account.person_id == first.person_id
    assert account.organization_id == org2.id
    assert Account.select().where(Account.person == first.person_id).count() == 2

    with pytest.raises(ValidationError) as err:
        create_user(
            NewUser(
                record_type="public",
                person_id=first.person_id,
                person_consent=True,
                primary_id="SEC-0002",
                user_group="PUBLIC",
                expiry_date=future(),
            ),
            Actor(admin2, Source.SCREEN),
            org2,
        )
    assert "already has an account in this organization" in err.value.errors["person_id"]


# --- Roles --------------------------------------------------------------------------------------


def test_every_new_user_is_a_patron(db) -> None:
    account = create_user(public(), staff_actor(db), db.organization)
    assert role_names(account) == {"patron"}
    assert roles_for(None, None, []) == [Role.PATRON]


def test_role_rules_add_roles_from_the_job_category(db) -> None:
    rule = RoleRule.get(RoleRule.organization == db.organization)
    assert rule.job_category.code == "CIRC_ASSISTANT"
    desk = create_user(
        public(
            record_type="staff",
            primary_id="S0001",
            user_group="STAFF",
            job_category="CIRC_ASSISTANT",
        ),
        staff_actor(db),
        db.organization,
    )
    assert role_names(desk) == {"patron", "circulation_desk_operator"}
    librarian = create_user(
        public(
            record_type="staff",
            primary_id="S0002",
            email="lib@example.org",
            user_group="STAFF",
            job_category="LIBRARIAN",
            roles=["user_manager"],
        ),
        staff_actor(db),
        db.organization,
    )
    assert role_names(librarian) == {"patron", "user_manager"}


def test_an_inactive_role_rule_adds_nothing(db) -> None:
    RoleRule.update(active=False).execute()
    desk = create_user(
        public(record_type="staff", user_group="STAFF", job_category="CIRC_ASSISTANT"),
        staff_actor(db),
        db.organization,
    )
    assert role_names(desk) == {"patron"}


def test_an_unknown_role_is_refused(db) -> None:
    with pytest.raises(ValidationError) as err:
        create_user(public(roles=["overlord"]), staff_actor(db), db.organization)
    assert "'overlord' is not a role" in err.value.errors["roles"]


# --- Audit --------------------------------------------------------------------------------------


def all_audit_values() -> list[str]:
    return [
        v
        for e in AuditEvent.select()
        for v in (e.old_value, e.new_value, e.field, e.actor)
        if v is not None
    ]


def test_creating_a_user_writes_one_audit_event_per_field_with_its_source(db) -> None:
    account = create_user(
        public(
            identifier_type="BARCODE",
            identifier_value="BC-77",
            phone="+41 22 379 00 00",
            password=PASSWORD,
            pin=PIN,
        ),
        staff_actor(db),
        db.organization,
    )
    events = list(
        AuditEvent.select().where(
            (AuditEvent.account_id == account.id) & (AuditEvent.entity != "letter")
        )
    )
    assert events
    # The PIN letter (issue 22, item 7) has its own events: queued, then its delivery.
    assert AuditEvent.select().where(AuditEvent.entity == "letter").count() == 2
    assert {e.action for e in events} == {"create"}
    assert {e.source for e in events} == {"screen"}
    assert {e.actor for e in events} == {"admin"}
    assert {e.actor_id for e in events} == {db.admin.id}
    assert {e.person_id for e in events} == {account.person_id}
    by_entity: dict[str, dict[str, AuditEvent]] = {}
    for e in events:
        by_entity.setdefault(e.entity, {})[e.field] = e
    person = by_entity["person"]
    assert person["first_name"].new_value == "Anna"
    assert person["last_name"].new_value == "Müller"
    assert person["email"].new_value == "anna.muller@example.org"
    assert person["first_name"].old_value is None
    assert person["password_hash"].new_value == "(changed)"
    assert [e.field for e in events].count("password_hash") == 1
    acct = by_entity["account"]
    assert acct["primary_id"].new_value == "P0001"
    assert acct["record_type"].new_value == "public"
    assert acct["expiry_date"].new_value == future().isoformat()
    assert acct["pin_hash"].new_value == "(changed)"
    assert {e.new_value for e in events if e.entity == "identifier" and e.field == "value"} == {
        "P0001",
        "BC-77",
    }
    assert by_entity["email"]["address"].new_value == "anna.muller@example.org"
    assert by_entity["phone"]["number"].new_value == "+41223790000"
    assert by_entity["role_assignment"]["role"].new_value == "patron"


def test_the_source_of_a_change_is_recorded(db) -> None:
    account = create_user(public(), Actor(db.admin, Source.IMPORT), db.organization)
    sources = {e.source for e in AuditEvent.select().where(AuditEvent.account_id == account.id)}
    assert sources == {"import"}


def test_no_password_or_pin_ever_reaches_the_audit_trail(db) -> None:
    from tests.helpers.db import ADMIN_PASSWORD

    account = create_user(public(password=PASSWORD, pin=PIN), staff_actor(db), db.organization)
    person = Person.get_by_id(account.person_id)
    account = Account.get_by_id(account.id)
    admin_hash = db.admin.person.password_hash
    secrets = [PASSWORD, PIN, ADMIN_PASSWORD]
    for h in (person.password_hash, account.pin_hash, admin_hash):
        assert h and h.startswith("$argon2id$")
        salt, digest = h.split("$")[-2:]
        secrets += [h, salt, digest]
    values = all_audit_values()
    assert len(values) > 20
    for value in values:
        for secret in secrets:
            assert secret not in value


# --- Status and optimistic locking --------------------------------------------------------------


def test_set_status_writes_an_audit_event_and_bumps_the_version(db) -> None:
    account = create_user(public(), staff_actor(db), db.organization)
    before = AuditEvent.select().count()
    updated = set_status(account.id, "inactive", account.version, staff_actor(db))
    assert updated.status == "inactive"
    assert updated.version == account.version + 1
    assert updated.updated_by == "admin"
    events = list(AuditEvent.select().where(AuditEvent.id > 0).order_by(AuditEvent.id))[before:]
    assert [(e.entity, e.field, e.old_value, e.new_value) for e in events] == [
        ("account", "status", "active", "inactive")
    ]
    assert events[0].action == "update"
    assert events[0].source == "screen"
    assert events[0].account_id == account.id


def test_a_stale_version_is_refused_and_changes_nothing(db) -> None:
    account = create_user(public(), staff_actor(db), db.organization)
    read_version = account.version
    set_status(account.id, "inactive", read_version, staff_actor(db))  # someone else saves first
    events = AuditEvent.select().count()
    with pytest.raises(ConflictError) as err:
        set_status(account.id, "active", read_version, staff_actor(db))
    assert err.value.changed_by == "admin"
    assert "Reload" in err.value.message
    current = Account.get_by_id(account.id)
    assert current.status == "inactive"
    assert current.version == read_version + 1
    assert AuditEvent.select().count() == events


def test_an_unknown_status_is_refused(db) -> None:
    account = create_user(public(), staff_actor(db), db.organization)
    with pytest.raises(ValidationError) as err:
        set_status(account.id, "frozen", account.version, staff_actor(db))
    assert err.value.errors == {"status": "is not a status"}


# --- Search text --------------------------------------------------------------------------------


def test_person_search_text_holds_the_folded_words_of_every_name(db) -> None:
    account = create_user(
        public(first_name="Anna-Lena", preferred_first_name="Änni", last_name="Müller"),
        staff_actor(db),
        db.organization,
    )
    person = Person.get_by_id(account.person_id)
    words = person.search_text.split()
    assert "muller" in words
    assert {"anna", "lena", "anni"} <= set(words)
    assert "Müller" not in person.search_text
    assert person.sort_name.startswith("muller anna")
