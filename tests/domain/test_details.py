"""User Details, General tab and header actions (models.users.details, models.users.external):
editing with
the creation rules, optimistic locking (also across two processes), audit of every changed
field, external accounts (editable fields, open for update, hand changes kept until "original
value", toggling the account type), password reset and unlock."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from models.access.auth import find_person, login
from models.access.passwords import password_problems, verify_secret
from models.audit import Actor
from models.config.settings import Settings, set_setting
from models.enums import Role, Source
from models.errors import (
    ConflictError,
    PermissionDenied,
    UniquenessError,
    ValidationError,
)
from models.runtime import runtime
from models.store.tables import Account, AuditEvent, Identifier, LocalOverride, Person, UserGroup
from models.text import fold
from models.users.accounts import NewUser, create_user
from models.users.details import (
    general_form,
    open_for_update,
    reset_password,
    restore_original,
    toggle_account_type,
    unlock_login,
    update_user,
)
from models.users.external import EXTERNAL_EDITABLE, overridden_fields
from tests.helpers.details import (
    admin,
    as_staff,
    changes_of,
    events_after,
    fresh,
    future,
    last_event_id,
    staff,
    use_clock,
    user,
)

ROOT = Path(__file__).resolve().parents[2]


# --- Saving the General tab ---------------------------------------------------------------------


def test_changing_the_first_name_saves_audits_and_bumps_both_versions(db) -> None:
    account = user(db)
    person_version = account.person.version
    mark = last_event_id()
    saved = update_user(account.id, account.version, {"first_name": "Béatrice"}, admin(db))
    assert saved.version == account.version + 1
    assert saved.updated_by == "admin"
    person = Person.get_by_id(account.person_id)
    assert person.first_name == "Béatrice"
    assert person.version == person_version + 1
    assert person.sort_name == fold("Müller Béatrice")
    assert "beatrice" in person.search_text.split()
    assert "anna" not in person.search_text.split()
    events = events_after(mark)
    assert changes_of(events) == {("person", "first_name", "Anna", "Béatrice")}
    (event,) = events
    assert (event.account_id, event.person_id) == (account.id, account.person_id)
    assert (event.actor, event.actor_id, event.source, event.action) == (
        "admin",
        db.admin.id,
        "screen",
        "update",
    )


def test_the_form_values_given_back_unchanged_change_nothing(db) -> None:
    account = user(db, job_category="LIBRARIAN", campus="MAIN", pin="4821")
    form = general_form(account.id, admin(db))
    assert form.values["user_group"] == "PUBLIC"
    assert form.values["pin"] == ""
    assert form.values["expiry_date"] == future()
    mark = last_event_id()
    saved = update_user(account.id, form.version, dict(form.values), admin(db))
    assert saved.version == form.version
    assert events_after(mark) == []


def test_account_fields_are_saved_with_codes_dates_and_flags(db) -> None:
    account = user(db)
    changes = {
        "user_group": "grad",  # code, any case
        "job_category": "Librarian",  # or name
        "campus": "NORTH",
        "job_description": "  Reads a lot ",
        "expiry_date": future(200).isoformat(),
        "purge_date": future(400),
        "comm_language": "French",
        "researcher": True,
        "letters_opt_in": "no",
    }
    saved = update_user(account.id, account.version, changes, admin(db))
    assert saved.user_group.code == "GRAD"
    assert saved.job_category.code == "LIBRARIAN"
    assert saved.campus.code == "NORTH"
    assert saved.job_description == "Reads a lot"
    assert (saved.expiry_date, saved.purge_date) == (future(200), future(400))
    assert saved.comm_language == "fr"
    assert (saved.researcher, saved.letters_opt_in) == (True, False)
    cleared = update_user(account.id, saved.version, {"campus": "", "purge_date": ""}, admin(db))
    assert cleared.campus is None and cleared.purge_date is None


def test_every_wrong_field_is_named_and_nothing_is_written(db) -> None:
    account = user(db)
    mark = last_event_id()
    changes = {
        "first_name": "x" * 101,
        "birth_date": (runtime.today() + dt.timedelta(days=1)).isoformat(),
        "expiry_date": "2001-01-01",
        "purge_date": "someday",
        "user_group": "NOPE",
        "preferred_language": "Klingonese",
        "pin": "12a4",
        "username": "has space",
        "email": "not-an-email",
        "comm_channel": "pigeon",
    }
    with pytest.raises(ValidationError) as err:
        update_user(account.id, account.version, changes, admin(db))
    assert set(err.value.errors) == set(changes)
    assert err.value.errors["expiry_date"] == "cannot be in the past"
    assert err.value.errors["birth_date"] == "cannot be in the future"
    assert err.value.errors["pin"] == "must be exactly 4 digits"
    assert err.value.errors["user_group"] == "is not a known user group"
    assert fresh(account).version == account.version
    assert events_after(mark) == []


def test_fields_of_other_places_and_unknown_fields_are_refused(db) -> None:
    account = user(db)
    with pytest.raises(ValidationError) as err:
        update_user(
            account.id,
            account.version,
            {"password": "x", "account_type": "external", "status": "inactive", "shoe": 42},
            admin(db),
        )
    assert err.value.errors == {
        "shoe": "is not a field of the General tab",
        "password": "is changed with Reset password",
        "account_type": "is changed with Toggle account type",
        "status": "is changed with Activate / Deactivate",
    }


def test_a_group_for_another_record_type_and_purge_before_expiry_are_refused(db) -> None:
    account = user(db)
    with pytest.raises(ValidationError) as err:
        update_user(
            account.id,
            account.version,
            {"user_group": "STAFF", "purge_date": future(10), "expiry_date": future(20)},
            admin(db),
        )
    assert err.value.errors == {
        "user_group": "does not apply to public users",
        "purge_date": "must not be before the expiration date",
    }


def test_mandatory_fields_cannot_be_cleared(db) -> None:
    account = user(db)
    with pytest.raises(ValidationError) as err:
        update_user(
            account.id,
            account.version,
            {"first_name": " ", "user_group": "", "expiry_date": "", "last_name": ""},
            admin(db),
        )
    assert err.value.errors == dict.fromkeys(
        ["first_name", "user_group", "expiry_date", "last_name"], "is required"
    )


def test_a_past_expiry_date_left_as_it_is_does_not_block_other_changes(db) -> None:
    account = user(db)
    past = runtime.today() - dt.timedelta(days=3)
    Account.update(expiry_date=past).where(Account.id == account.id).execute()
    saved = update_user(
        account.id, account.version, {"title": "Dr", "expiry_date": past}, admin(db)
    )
    assert saved.expiry_date == past
    assert saved.person.title == "Dr"


def test_username_and_login_email_stay_unique_without_case_and_name_the_holder(db) -> None:
    other = user(db, "P0002", email="Taken@Example.org")
    account = user(db)
    with pytest.raises(UniquenessError) as err:
        update_user(
            account.id,
            account.version,
            {"username": "p0002", "email": "taken@example.ORG"},
            admin(db),
        )
    assert err.value.errors == {
        "username": "is already used by account P0002 (Müller, Anna)",
        "email": "is already the login email of account P0002 (Müller, Anna)",
    }
    assert err.value.holder_account_id == other.id
    saved = update_user(account.id, account.version, {"username": "anna.m", "email": ""}, admin(db))
    person = Person.get_by_id(saved.person_id)
    assert (person.username, person.username_key, person.email, person.email_key) == (
        "anna.m",
        "anna.m",
        None,
        None,
    )
    assert find_person("ANNA.M") == person  # login looks the new username up without case


def test_changing_the_primary_identifier_changes_its_identifier_row(db) -> None:
    user(db, "P0002", identifier="BC-2")
    account = user(db)
    with pytest.raises(UniquenessError) as err:
        update_user(account.id, account.version, {"primary_id": "bc-2"}, admin(db))
    assert err.value.errors == {"primary_id": "is already used by account P0002 (Müller, Anna)"}
    saved = update_user(account.id, account.version, {"primary_id": "P0099"}, admin(db))
    assert (saved.primary_id, saved.primary_id_key) == ("P0099", "p0099")
    row = Identifier.get((Identifier.account == account.id) & Identifier.is_primary)
    assert (row.value, row.value_key) == ("P0099", "p0099")
    same = update_user(account.id, saved.version, {"primary_id": "p0099"}, admin(db))
    assert same.primary_id == "p0099"  # only the case: still this user's own value


def test_the_pin_is_hashed_masked_in_the_audit_and_can_be_removed(db) -> None:
    account = user(db)
    mark = last_event_id()
    saved = update_user(account.id, account.version, {"pin": "2468"}, admin(db))
    assert saved.pin_hash.startswith("$argon2id$")
    assert verify_secret(saved.pin_hash, "2468", Settings())
    # The record's event, and the PIN letter's (issue 22, item 7: no SMTP here, so it failed).
    changes = changes_of(events_after(mark))
    assert ("account", "pin_hash", None, "(changed)") in changes
    assert {c[0] for c in changes} == {"account", "letter"}
    assert "2468" not in str([(e.old_value, e.new_value) for e in AuditEvent.select()])
    removed = update_user(account.id, saved.version, {"pin": None}, admin(db))
    assert removed.pin_hash is None
    untouched = update_user(account.id, removed.version, {"pin": ""}, admin(db))
    assert untouched.version == removed.version


def test_the_channel_email_needs_an_email_row(db) -> None:
    account = user(db, "C0001", "contact")
    assert account.comm_channel == "mail"
    with pytest.raises(ValidationError) as err:
        update_user(account.id, account.version, {"comm_channel": "email"}, admin(db))
    assert "needs an email address" in err.value.errors["comm_channel"]


def test_staff_without_the_right_to_edit_users_are_refused(db) -> None:
    account = user(db)
    operator = as_staff(db, Role.CIRCULATION_DESK_OPERATOR)
    with pytest.raises(PermissionDenied) as err:
        update_user(account.id, account.version, {"title": "Dr"}, operator)
    assert err.value.action == "edit_user"
    assert general_form(account.id, operator).editable == frozenset()
    manager = as_staff(db, Role.CIRCULATION_DESK_MANAGER, "S0002")
    assert update_user(account.id, account.version, {"title": "Dr"}, manager).version == 2


# --- Optimistic locking -------------------------------------------------------------------------


def test_a_stale_version_is_refused_naming_who_saved_and_nothing_is_lost(db) -> None:
    account = user(db)
    manager = as_staff(db, Role.USER_MANAGER)
    read = account.version
    update_user(account.id, read, {"first_name": "Bea"}, manager)
    mark = last_event_id()
    with pytest.raises(ConflictError) as err:
        update_user(account.id, read, {"last_name": "Zed"}, admin(db))
    assert err.value.changed_by == "S0001"
    assert "changed by S0001" in err.value.message
    person = Person.get_by_id(account.person_id)
    assert (person.first_name, person.last_name) == ("Bea", "Müller")
    assert events_after(mark) == []
    # Reload and save again: both changes are kept.
    again = update_user(account.id, fresh(account).version, {"last_name": "Zed"}, admin(db))
    person = Person.get_by_id(account.person_id)
    assert (person.first_name, person.last_name, again.version) == ("Bea", "Zed", read + 2)


def test_a_change_of_personal_data_bumps_the_persons_accounts_elsewhere(db) -> None:
    from tests.domain.test_accounts import second_organization

    org2, admin2 = second_organization()
    account = user(db)
    elsewhere = create_user(
        NewUser(
            primary_id="X-1",
            user_group="PUBLIC",
            expiry_date=future(),
            person_id=account.person_id,
            person_consent=True,
        ),
        Actor(admin2, Source.SCREEN),
        org2,
    )
    update_user(account.id, account.version, {"middle_name": "Maria"}, admin(db))
    with pytest.raises(ConflictError):
        update_user(
            elsewhere.id, elsewhere.version, {"first_name": "Old"}, Actor(admin2, Source.SCREEN)
        )


CONCURRENT_SAVE = """
import sys
from models.audit import Actor
from models.users.details import update_user
from models.enums import Source
from models.store.tables import Account
from models.store.connection import close_database, open_database

url, account_id, version, actor_id = sys.argv[1], *map(int, sys.argv[2:5])
open_database(url)
saved = update_user(account_id, version, {"first_name": "Bea"},
                    Actor(Account.get_by_id(actor_id), Source.SCREEN))
print(saved.version)
close_database()
"""


def test_two_processes_the_second_save_of_a_stale_read_is_refused(db) -> None:
    account = user(db)
    manager = staff(db, Role.USER_MANAGER, "S0002")
    read = general_form(account.id, admin(db)).version  # both staff open the same user
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            CONCURRENT_SAVE,
            db.url,
            str(account.id),
            str(read),
            str(manager.id),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == str(read + 1)
    with pytest.raises(ConflictError) as err:
        update_user(account.id, read, {"last_name": "Zed"}, admin(db))
    assert err.value.changed_by == "S0002"
    assert err.value.message.startswith("This record was changed by S0002 at ")
    person = Person.get_by_id(account.person_id)
    assert (person.first_name, person.last_name) == ("Bea", "Müller")  # the first save is kept
    form = general_form(account.id, admin(db))  # reload, then save again
    update_user(account.id, form.version, {"last_name": "Zed"}, admin(db))
    person = Person.get_by_id(account.person_id)
    assert (person.first_name, person.last_name) == ("Bea", "Zed")


# --- External accounts --------------------------------------------------------------------------


def external(db, primary_id: str = "E0001") -> Account:
    return user(db, primary_id, account_type="external", identifier=f"BC-{primary_id}")


def test_on_an_external_account_only_the_allowed_fields_are_editable(db) -> None:
    account = external(db)
    form = general_form(account.id, admin(db))
    assert form.external and form.editable == EXTERNAL_EDITABLE
    with pytest.raises(ValidationError) as err:
        update_user(account.id, account.version, {"last_name": "Zed", "title": "Dr"}, admin(db))
    assert err.value.errors == {
        "last_name": "comes from the student information system: choose Open for update to "
        "change it"
    }
    saved = update_user(account.id, account.version, {"title": "Dr"}, admin(db))
    assert saved.person.title == "Dr"
    assert overridden_fields(account.id) == {"title"}


def test_open_for_update_unlocks_every_field_but_the_primary_identifier(db) -> None:
    account = external(db)
    fields = open_for_update(account.id, admin(db))
    assert "last_name" in fields and "primary_id" not in fields
    saved = update_user(account.id, account.version, {"last_name": "Zed"}, admin(db), opened=True)
    assert saved.person.last_name == "Zed"
    assert overridden_fields(account.id) == {"last_name"}
    with pytest.raises(ValidationError) as err:
        update_user(account.id, saved.version, {"primary_id": "E9"}, admin(db), opened=True)
    assert "cannot be changed on an external account" in err.value.errors["primary_id"]
    with pytest.raises(PermissionDenied):
        open_for_update(account.id, as_staff(db, Role.CIRCULATION_DESK_OPERATOR))


def test_original_value_restores_the_sis_value_and_ends_the_override(db) -> None:
    account = external(db)
    saved = update_user(account.id, account.version, {"user_group": "GRAD"}, admin(db))
    saved = update_user(account.id, saved.version, {"user_group": "ALUMNI"}, admin(db))
    assert overridden_fields(account.id) == {"user_group"}
    mark = last_event_id()
    restored = restore_original(account.id, saved.version, "user_group", admin(db))
    public = UserGroup.get(UserGroup.code == "PUBLIC")
    assert restored.user_group_id == public.id
    assert overridden_fields(account.id) == frozenset()
    assert changes_of(events_after(mark)) == {
        ("account", "user_group", str(UserGroup.get(UserGroup.code == "ALUMNI").id), str(public.id))
    }
    with pytest.raises(ValidationError) as err:
        restore_original(account.id, restored.version, "user_group", admin(db))
    assert "already follows the SIS" in err.value.errors["user_group"]
    with pytest.raises(ConflictError):
        restore_original(account.id, saved.version, "title", admin(db))


def test_setting_the_sis_value_back_by_hand_ends_the_override(db) -> None:
    account = external(db)
    saved = update_user(account.id, account.version, {"preferred_first_name": "Ann"}, admin(db))
    assert overridden_fields(account.id) == {"preferred_first_name"}
    update_user(account.id, saved.version, {"preferred_first_name": ""}, admin(db))
    assert overridden_fields(account.id) == frozenset()


def test_a_restored_pin_and_birth_date_come_back_as_they_were(db) -> None:
    account = external(db)
    Person.update(birth_date=dt.date(1990, 5, 17)).where(Person.id == account.person_id).execute()
    saved = update_user(
        account.id,
        account.version,
        {"birth_date": "1991-01-01", "pin": "1357"},
        admin(db),
        opened=True,
    )
    assert overridden_fields(account.id) == {"birth_date", "pin"}
    saved = restore_original(account.id, saved.version, "birth_date", admin(db))
    saved = restore_original(account.id, saved.version, "pin", admin(db))
    assert Person.get_by_id(account.person_id).birth_date == dt.date(1990, 5, 17)
    assert saved.pin_hash is None
    assert LocalOverride.select().count() == 0


def test_toggle_account_type_makes_identifiers_external_and_back(db) -> None:
    account = user(db, identifier="BC-1")
    mark = last_event_id()
    toggled = toggle_account_type(account.id, account.version, admin(db))
    assert (toggled.account_type, toggled.owning_system) == ("external", "SIS_temp")
    ids = Identifier.select().where(Identifier.account == account.id)
    assert [i.external for i in ids] == [True, True]
    assert ("account", "account_type", "internal", "external") in changes_of(events_after(mark))
    update_user(account.id, toggled.version, {"title": "Dr"}, admin(db))
    assert overridden_fields(account.id) == {"title"}
    back = toggle_account_type(account.id, toggled.version + 1, admin(db))
    assert (back.account_type, back.owning_system) == ("internal", "")
    assert [i.external for i in Identifier.select().where(Identifier.account == account.id)] == [
        False,
        False,
    ]
    assert overridden_fields(account.id) == frozenset()


@pytest.mark.parametrize(
    "role",
    [Role.CIRCULATION_DESK_MANAGER, Role.CIRCULATION_DESK_OPERATOR],
)
def test_only_user_manager_and_administrator_toggle_the_account_type(db, role: Role) -> None:
    account = user(db)
    with pytest.raises(PermissionDenied) as err:
        toggle_account_type(account.id, account.version, as_staff(db, role))
    assert err.value.action == "toggle_account_type"
    manager = as_staff(db, Role.USER_MANAGER, "S0002")
    assert toggle_account_type(account.id, account.version, manager).account_type == "external"
    with pytest.raises(ConflictError):
        toggle_account_type(account.id, account.version, manager)


# --- Password reset and unlock ------------------------------------------------------------------


def test_reset_password_gives_a_one_time_password_to_change_at_next_login(db) -> None:
    account = user(db)
    mark = last_event_id()
    password = reset_password(account.id, admin(db))
    assert password_problems(password, Settings()) == []
    person = Person.get_by_id(account.person_id)
    assert person.force_password_change is True
    assert login(person.username, password).id == account.id
    (event, *_) = events_after(mark)
    assert (event.field, event.new_value, event.account_id) == (
        "password_hash",
        "(changed)",
        account.id,
    )
    assert password not in str([(e.old_value, e.new_value) for e in AuditEvent.select()])


def test_reset_password_follows_the_policy_settings(db) -> None:
    set_setting("password_min_length", 20)
    password = reset_password(user(db).id, admin(db))
    assert len(password) >= 20


def test_reset_password_needs_the_right(db) -> None:
    account = user(db)
    with pytest.raises(PermissionDenied) as err:
        reset_password(account.id, as_staff(db, Role.CIRCULATION_DESK_OPERATOR))
    assert err.value.action == "reset_password"


def test_unlock_is_audited_on_the_account(db) -> None:
    use_clock()
    account = user(db, password="Harbour-Lantern-57")
    locked_until = runtime.now() + dt.timedelta(minutes=30)
    Person.update(locked_until=locked_until).where(Person.id == account.person_id).execute()
    mark = last_event_id()
    unlock_login(account.id, admin(db))
    assert Person.get_by_id(account.person_id).locked_until is None
    (event,) = events_after(mark)
    assert (event.field, event.account_id, event.person_id) == (
        "locked_until",
        account.id,
        account.person_id,
    )
    with pytest.raises(PermissionDenied):
        unlock_login(account.id, as_staff(db, Role.USER_MANAGER))


def test_a_renamed_user_is_found_by_the_new_name_in_find_users(db) -> None:
    from models.search.engine import UserQuery, search_users

    account = user(db)
    update_user(account.id, account.version, {"last_name": "Zanetti"}, admin(db))
    found = search_users(db.organization.id, UserQuery(text="zanet")).rows
    assert [(r.account_id, r.name) for r in found] == [(account.id, "Zanetti, Anna")]
    assert account.id not in {r.account_id for r in search_users(
        db.organization.id, UserQuery(text="Müller")).rows}  # fmt: skip


def test_an_external_account_with_hand_changes_can_still_be_deleted(db) -> None:
    from models.users.deletion import delete_user

    account = external(db)
    saved = update_user(account.id, account.version, {"title": "Dr"}, admin(db))
    delete_user(account.id, saved.version, admin(db))
    assert LocalOverride.select().count() == 0
    assert Account.get_or_none(Account.id == account.id) is None
