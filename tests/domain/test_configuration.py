"""Configuration tables (models.config.configuration): each table's rules, the refusal to delete a
code
in use with where it is used, deactivation, audit, and who may configure what."""

from __future__ import annotations

import pytest

from models.audit import Actor
from models.config.codes import code_choices, find_code
from models.config.configuration import (
    TABLES,
    ConfigRefused,
    InUse,
    add_entry,
    add_organization,
    code_usage,
    delete_entry,
    entry_values,
    list_entries,
    set_entry_active,
    update_entry,
)
from models.enums import Role, Source
from models.errors import PermissionDenied, ValidationError
from models.store.tables import (
    Account,
    JobCategory,
    Library,
    Note,
    NoteType,
    Organization,
    RoleAssignment,
    StatCategory,
    UserGroup,
)
from models.users.accounts import NewUser, create_user, roles_for
from models.users.libraries import set_library_ids
from tests.helpers.details import admin, as_staff, events_after, last_event_id, user

SYSTEM = Actor(None, Source.CLI)


def codes(db, key: str) -> list[str]:
    return [e.values["code"] for e in list_entries(key, db.organization.id, admin(db))]


def entry_id(db, key: str, code: str) -> int:
    entries = list_entries(key, db.organization.id, admin(db))
    return next(e.id for e in entries if e.values["code"].lower() == code.lower())


def refused(call, *args, **kwargs) -> dict[str, str]:
    with pytest.raises(ValidationError) as err:
        call(*args, **kwargs)
    return err.value.errors


# --- Every table --------------------------------------------------------------------------------


def test_each_table_lists_adds_edits_deactivates_and_deletes(db) -> None:
    org = db.organization.id
    for key, t in TABLES.items():
        if not t.has_code or key == "organization":
            continue
        data = {"code": "NEW_1", "name": f"A new {t.singular}"}
        if key == "stat_categories":
            data["category_type"] = "DEPARTMENT"
        row = add_entry(key, org, data, admin(db))
        assert "NEW_1" in codes(db, key)
        values = entry_values(key, org, row.id, admin(db))
        assert values["name"] == f"A new {t.singular}" and values["active"] is True
        update_entry(key, org, row.id, {"name": "Renamed"}, admin(db))
        assert entry_values(key, org, row.id, admin(db))["name"] == "Renamed"
        set_entry_active(key, org, row.id, False, admin(db))
        assert not next(e for e in list_entries(key, org, admin(db)) if e.id == row.id).active
        delete_entry(key, org, row.id, admin(db))
        assert "NEW_1" not in codes(db, key), key


def test_codes_are_well_formed_and_unique_whatever_the_case(db) -> None:
    org = db.organization.id
    assert refused(add_entry, "note_types", org, {"code": "", "name": "X"}, admin(db)) == {
        "code": "is required"
    }
    errors = refused(add_entry, "note_types", org, {"code": "two words", "name": "X"}, admin(db))
    assert "letters, digits" in errors["code"]
    errors = refused(add_entry, "note_types", org, {"code": "general", "name": "Y"}, admin(db))
    assert errors == {"code": "another note type has this code"}
    errors = refused(add_entry, "note_types", org, {"code": "NEW", "name": "general"}, admin(db))
    assert errors == {"name": "another note type has this name"}
    # The same code in another table, or in another organization, is fine.
    add_entry("campuses", org, {"code": "GENERAL", "name": "General campus"}, admin(db))
    other = add_organization("OTHER", "Other organization")
    add_entry("note_types", other.id, {"code": "NEW", "name": "Misc"}, SYSTEM)


def test_a_field_of_another_table_is_refused(db) -> None:
    errors = refused(
        add_entry,
        "campuses",
        db.organization.id,
        {"code": "X", "name": "X", "colour": "red"},
        admin(db),
    )
    assert errors == {"colour": "is not a field of a campus"}


# --- In use -------------------------------------------------------------------------------------


def test_a_code_in_use_cannot_be_deleted_and_the_refusal_says_where(db) -> None:
    user(db, "P0001")
    user(db, "P0002")
    public = entry_id(db, "user_groups", "PUBLIC")
    with pytest.raises(InUse) as err:
        delete_entry("user_groups", db.organization.id, public, admin(db))
    assert err.value.message == (
        "This user group is in use by 2 accounts: deactivate it instead of deleting it."
    )
    assert [(u.table, u.field, u.count) for u in err.value.usages] == [("account", "user_group", 2)]
    assert UserGroup.get_by_id(public).active, "nothing changed"


def test_a_library_in_use_lists_every_table_that_refers_to_it(db) -> None:
    org = db.organization
    branch = add_entry("libraries", org.id, {"code": "BR", "name": "Branch"}, admin(db))
    account = user(db, "P0001")
    Note.create(account=account, text="x", owner=branch.id)
    RoleAssignment.create(account=account, role=Role.CIRCULATION_DESK_OPERATOR.value, scope=branch)
    update_entry(
        "fee_types", org.id, entry_id(db, "fee_types", "OVERDUE"), {"library": "BR"}, admin(db)
    )
    set_library_ids(account.id, "resource_sharing_libraries", [branch.id])
    usage = {(u.table, u.field): u.count for u in code_usage(Library, branch.id)}
    assert usage == {
        ("fee_type", "library"): 1,
        ("account_library", "library"): 1,
        ("note", "owner"): 1,
        ("role_assignment", "scope"): 1,
    }
    with pytest.raises(InUse) as err:
        delete_entry("libraries", org.id, branch.id, admin(db))
    assert "1 account (resource sharing or purchase request library)" in err.value.message
    assert "1 note" in err.value.message and "1 role" in err.value.message


def test_a_role_rule_uses_its_group_and_a_category_its_type(db) -> None:
    org = db.organization.id
    rule = add_entry("role_rules", org, {"user_group": "GRAD", "role": "user_manager"}, admin(db))
    with pytest.raises(InUse) as err:
        delete_entry("user_groups", org, entry_id(db, "user_groups", "GRAD"), admin(db))
    assert "1 role-assignment rule" in err.value.message
    delete_entry("role_rules", org, rule.id, admin(db))
    delete_entry("user_groups", org, entry_id(db, "user_groups", "GRAD"), admin(db))
    with pytest.raises(InUse) as err:
        delete_entry(
            "stat_category_types", org, entry_id(db, "stat_category_types", "RESIDENCE"), admin(db)
        )
    assert "2 statistical categories" in err.value.message


def test_a_deactivated_code_is_not_offered_but_records_keep_it(db) -> None:
    org = db.organization.id
    account = user(db, "P0001")
    public = entry_id(db, "user_groups", "PUBLIC")
    set_entry_active("user_groups", org, public, False, admin(db))
    assert find_code(UserGroup, org, "PUBLIC") is None
    assert "Member of the public" not in [n for n, _ in code_choices("user_group", org)]
    assert Account.get_by_id(account.id).user_group_id == public
    with pytest.raises(ValidationError):
        user(db, "P0002")  # a new user cannot get the deactivated group
    set_entry_active("user_groups", org, public, True, admin(db))
    user(db, "P0002")


# --- Table by table -----------------------------------------------------------------------------


def test_a_user_group_applies_to_the_record_types_chosen(db) -> None:
    org = db.organization.id
    add_entry(
        "user_groups",
        org,
        {"code": "VISIT", "name": "Visiting scholar", "record_types": ["researcher", "public"]},
        admin(db),
    )
    assert UserGroup.get(UserGroup.code == "VISIT").record_types == "public,researcher"
    assert "Visiting scholar" in [
        n for n, _ in code_choices("user_group", org, record_type="public")
    ]
    assert "Visiting scholar" not in [
        n for n, _ in code_choices("user_group", org, record_type="staff")
    ]
    errors = refused(
        add_entry,
        "user_groups",
        org,
        {"code": "X", "name": "X", "record_types": ["pirate"]},
        admin(db),
    )
    assert "'pirate' is not a record type" in errors["record_types"]


def test_narrowing_a_group_is_refused_while_accounts_of_other_types_hold_it(db) -> None:
    org = db.organization.id
    faculty = entry_id(db, "user_groups", "FACULTY")
    user(db, "S0001", "staff", user_group="FACULTY")
    errors = refused(
        update_entry, "user_groups", org, faculty, {"record_types": ["public"]}, admin(db)
    )
    assert errors == {
        "record_types": "accounts of other record types hold this group (1 staff): move them to "
        "another group first"
    }
    update_entry("user_groups", org, faculty, {"record_types": ["staff"]}, admin(db))
    # The same types in another order change nothing (no audit event).
    last = last_event_id()
    update_entry(
        "user_groups",
        org,
        entry_id(db, "user_groups", "CONTACT"),
        {"record_types": "contact"},
        admin(db),
    )
    assert events_after(last) == []


def test_a_block_definition_blocks_something(db) -> None:
    org = db.organization.id
    errors = refused(
        add_entry,
        "block_definitions",
        org,
        {
            "code": "NOTHING",
            "name": "Blocks nothing",
            "blocks_loans": False,
            "blocks_renewals": False,
            "blocks_requests": False,
        },
        admin(db),
    )
    assert errors == {"blocks_loans": "a block blocks at least one of loans, renewals and requests"}
    row = add_entry(
        "block_definitions",
        org,
        {"code": "ILL", "name": "Owes an ILL item", "blocks_loans": False, "blocks_renewals": "no"},
        admin(db),
    )
    assert (row.blocks_loans, row.blocks_renewals, row.blocks_requests) == (False, False, True)


def test_a_fee_type_has_a_rate_in_the_currency_and_an_optional_library(db) -> None:
    org = db.organization.id
    row = add_entry(
        "fee_types",
        org,
        {
            "code": "LATE_DVD",
            "name": "Late DVD",
            "daily_rate": "1.25",
            "waivable": False,
            "manual": False,
            "library": "main",
        },
        admin(db),
    )
    assert (row.daily_rate_minor, row.waivable, row.manual) == (125, False, False)
    assert row.library.code == "MAIN"
    assert entry_values("fee_types", org, row.id, admin(db))["daily_rate"] == "1.25"
    errors = refused(
        update_entry,
        "fee_types",
        org,
        row.id,
        {"daily_rate": "-1", "library": "NOWHERE"},
        admin(db),
    )
    assert errors == {
        "daily_rate": "must not be negative",
        "library": "is not a library of this organization",
    }
    errors = refused(update_entry, "fee_types", org, row.id, {"daily_rate": "0.125"}, admin(db))
    assert errors == {"daily_rate": "EUR has 2 decimal places at most"}
    # Another organization's library is not this organization's.
    add_organization("OTHER", "Other", library_code="FAR", library_name="Far library")
    assert refused(update_entry, "fee_types", org, row.id, {"library": "FAR"}, admin(db))


def test_a_statistical_category_belongs_to_a_type_of_the_organization(db) -> None:
    org = db.organization.id
    errors = refused(add_entry, "stat_categories", org, {"code": "X", "name": "X"}, admin(db))
    assert errors == {"category_type": "is required"}
    add_entry(
        "stat_categories",
        org,
        {"category_type": "RESIDENCE", "code": "CROSS", "name": "History"},
        admin(db),
    )
    errors = refused(
        add_entry,
        "stat_categories",
        org,
        {"category_type": "DEPARTMENT", "code": "H2", "name": "history"},
        admin(db),
    )
    assert errors == {"name": "another statistical category of this type has this name"}
    cross = StatCategory.get(StatCategory.code == "CROSS")
    assert cross.category_type.code == "RESIDENCE"


def test_a_role_rule_has_one_source_and_gives_a_staff_role(db) -> None:
    org = db.organization.id
    errors = refused(add_entry, "role_rules", org, {"role": "user_manager"}, admin(db))
    assert errors == {"user_group": "choose a user group or a job category"}
    errors = refused(
        add_entry,
        "role_rules",
        org,
        {"user_group": "FACULTY", "job_category": "IT", "role": "user_manager"},
        admin(db),
    )
    assert "not both" in errors["job_category"]
    for role in ("user_administrator", "patron", "wizard"):
        errors = refused(
            add_entry, "role_rules", org, {"job_category": "IT", "role": role}, admin(db)
        )
        assert "role" in errors
    add_entry("role_rules", org, {"job_category": "IT", "role": "user_manager"}, admin(db))
    errors = refused(
        add_entry, "role_rules", org, {"job_category": "it", "role": "user_manager"}, admin(db)
    )
    assert errors == {"role": "a rule already gives this role from the same source"}
    # The rule gives the role to a new account of that job category.
    it = JobCategory.get((JobCategory.code == "IT") & (JobCategory.organization == org))
    assert Role.USER_MANAGER in roles_for(None, it, [])


def test_a_library_has_an_email_for_letters_by_post_and_one_stays_active(db) -> None:
    org = db.organization.id
    errors = refused(
        add_entry,
        "libraries",
        org,
        {"code": "BR", "name": "Branch", "email": "not an address"},
        admin(db),
    )
    assert "email" in errors
    add_entry(
        "libraries", org, {"code": "BR", "name": "Branch", "email": "br@lib.example"}, admin(db)
    )
    assert Library.get(Library.code == "BR").email == "br@lib.example"
    main = entry_id(db, "libraries", "MAIN")
    set_entry_active("libraries", org, main, False, admin(db))
    with pytest.raises(ConfigRefused, match="last active library"):
        set_entry_active("libraries", org, entry_id(db, "libraries", "BR"), False, admin(db))


def test_the_own_organization_is_renamed_but_not_deactivated_or_deleted(db) -> None:
    org = db.organization.id
    assert [e.values for e in list_entries("organization", org, admin(db))] == [
        {"code": "MAIN", "name": "Main organization"}
    ]
    update_entry("organization", org, org, {"name": "City libraries"}, admin(db))
    assert Organization.get_by_id(org).name == "City libraries"
    with pytest.raises(ConfigRefused):
        set_entry_active("organization", org, org, False, admin(db))
    with pytest.raises(ConfigRefused):
        delete_entry("organization", org, org, admin(db))
    with pytest.raises(ConfigRefused, match="patrondesk organization add"):
        add_entry("organization", org, {"code": "X", "name": "X"}, admin(db))


# --- Who, and the trail -------------------------------------------------------------------------


def test_only_user_administrators_configure(db) -> None:
    org = db.organization.id
    manager = as_staff(db, Role.USER_MANAGER)
    with pytest.raises(PermissionDenied):
        list_entries("note_types", org, manager)
    with pytest.raises(PermissionDenied):
        add_entry("note_types", org, {"code": "X", "name": "X"}, manager)
    assert not NoteType.select().where(NoteType.code == "X").exists()


def test_an_administrator_configures_their_own_organization_only(db) -> None:
    other = add_organization(
        "OTHER", "Other", admin_username="otheradmin", admin_password="Quill-Ledger-43"
    )
    other_admin = Actor(Account.get(Account.organization == other), Source.SCREEN)
    with pytest.raises(PermissionDenied, match="another organization"):
        add_entry("note_types", db.organization.id, {"code": "X", "name": "X"}, other_admin)
    with pytest.raises(PermissionDenied, match="another organization"):
        list_entries("note_types", db.organization.id, other_admin)
    add_entry("note_types", other.id, {"code": "X", "name": "X"}, other_admin)
    with pytest.raises(PermissionDenied):
        add_organization("THIRD", "Third", actor=admin(db))


def test_every_change_is_audited_without_an_account(db) -> None:
    org = db.organization.id
    last = last_event_id()
    row = add_entry("waive_reasons", org, {"code": "STORM", "name": "Storm damage"}, admin(db))
    update_entry("waive_reasons", org, row.id, {"name": "Flood"}, admin(db))
    set_entry_active("waive_reasons", org, row.id, False, admin(db))
    delete_entry("waive_reasons", org, row.id, admin(db))
    events = events_after(last)
    assert {(e.entity, e.entity_id, e.account_id, e.actor) for e in events} == {
        ("waive_reason", row.id, None, "admin")
    }
    assert [(e.action, e.field, e.old_value, e.new_value) for e in events if e.field == "name"] == [
        ("create", "name", None, "Storm damage"),
        ("update", "name", "Storm damage", "Flood"),
        ("delete", "name", "Flood", None),
    ]
    assert ("update", "active", "yes", "no") in [
        (e.action, e.field, e.old_value, e.new_value) for e in events
    ]


def test_a_new_organization_has_its_library_code_tables_and_administrator(db) -> None:
    org = add_organization(
        "ORG2",
        "Second organization",
        library_code="L2",
        library_name="Second library",
        admin_username="admin2",
        admin_password="Quill-Ledger-43",
    )
    assert [lib.code for lib in org.libraries] == ["L2"]
    assert find_code(UserGroup, org.id, "PUBLIC") is not None
    account = Account.get(Account.organization == org)
    assert account.person.username == "admin2"
    assert {r.role for r in account.roles} == {"patron", "user_administrator"}
    errors = refused(add_organization, "org2", "Again")
    assert errors == {"organization_code": "another organization has this code"}
    errors = refused(add_organization, "ORG3", "Third", admin_username="a3", admin_password="weak")
    assert (
        "password" in errors
        and not Organization.select().where(Organization.code == "ORG3").exists()
    )


def test_create_user_refuses_reuse_without_consent(db) -> None:
    first = user(db, "P0001")
    org2 = add_organization(
        "ORG2", "Second", admin_username="admin2", admin_password="Quill-Ledger-43"
    )
    staff2 = Actor(Account.get(Account.organization == org2), Source.SCREEN)
    data = dict(
        record_type="public",
        person_id=first.person_id,
        primary_id="SEC-1",
        user_group="PUBLIC",
        expiry_date="2031-01-31",
    )
    errors = refused(create_user, NewUser(**data), staff2, org2)
    assert errors == {"person_id": "confirm that the person agrees to share their personal data"}
    account = create_user(NewUser(**data, person_consent=True), staff2, org2)
    assert account.person_id == first.person_id


def test_the_history_of_changes_shows_this_organizations_and_the_settings(db) -> None:
    from models.config.config_settings import update_settings
    from models.config.configuration import config_history

    org = db.organization.id
    add_entry("campuses", org, {"code": "EAST", "name": "East campus"}, admin(db))
    update_settings({"lockout_minutes": 20}, admin(db))
    other = add_organization(
        "OTHER", "Other", admin_username="otheradmin", admin_password="Quill-Ledger-43"
    )
    other_admin = Actor(Account.get(Account.organization == other), Source.SCREEN)
    add_entry("campuses", other.id, {"code": "FAR", "name": "Far campus"}, other_admin)
    events = config_history(org, admin(db))
    changes = [(e.entity, e.field, e.new) for e in events]
    assert changes[0] == ("setting", "lockout_minutes", "20")
    assert ("campus", "code", "EAST") in changes
    assert ("campus", "code", "FAR") not in changes
    with pytest.raises(PermissionDenied):
        config_history(org, other_admin)
