"""Fields the record kept but no screen showed (issue 22, item 10): status date, last patron
activity (with Alma's "Record Last Patron Activity Date" setting), owning system read only on
the General tab; RERO's "Keep history" and local codes editable there; RERO's "Affiliation
libraries: required for professional users" as a setting the Roles tab enforces."""

from __future__ import annotations

import datetime as dt

import pytest

from models.access.auth import login
from models.audit import Actor
from models.config.config_settings import update_settings
from models.config.settings import load_settings
from models.enums import Source
from models.errors import ValidationError
from models.runtime import runtime
from models.store.tables import Account, AuditEvent, Person
from models.users.accounts import set_status
from models.users.details import general_form, toggle_account_type, update_user
from models.users.fields import SHOWN_ON_GENERAL
from models.users.rows import Kind, add_row, set_row_active
from models.users.validation import FieldError, check_local_codes
from tests.helpers.details import admin, fresh, last_event_id, use_clock, user

PASSWORD = "Harbour-Lantern-58"
CLI = Actor(None, Source.CLI)


def test_status_date_last_activity_and_owning_system_are_shown_read_only(db) -> None:
    clock = use_clock()
    account = user(db, username="anna", password=PASSWORD)
    form = general_form(account.id, admin(db))
    assert SHOWN_ON_GENERAL == ("status_date", "last_activity_at", "owning_system")
    assert form.shown == {
        "status_date": runtime.today().isoformat(),  # registered today
        "last_activity_at": "",
        "owning_system": "",
    }
    assert not set(form.shown) & form.editable and not set(form.shown) & set(form.values)
    login("anna", PASSWORD)
    clock.advance(days=3)
    account = set_status(account.id, "inactive", fresh(account).version, admin(db))
    account = toggle_account_type(account.id, account.version, admin(db))
    form = general_form(account.id, admin(db))
    assert form.shown["status_date"] == runtime.today().isoformat()  # the last change
    assert form.shown["last_activity_at"].endswith(" UTC")
    assert form.shown["last_activity_at"][:10] == (runtime.today() - dt.timedelta(3)).isoformat()
    assert form.shown["owning_system"] == "SIS_temp"


def test_the_read_only_fields_cannot_be_saved(db) -> None:
    account = user(db)
    with pytest.raises(ValidationError) as err:
        update_user(
            account.id,
            account.version,
            {"status_date": "2020-01-01", "last_activity_at": None, "owning_system": "SIS"},
            admin(db),
        )
    assert set(err.value.errors) == {"status_date", "last_activity_at", "owning_system"}
    assert "last status change" in err.value.errors["status_date"]
    assert fresh(account).version == account.version


def test_an_owning_system_from_a_file_is_shown_without_control_characters(db) -> None:
    account = user(db)
    Account.update(owning_system="SIS\x1b[31m\u202e").where(Account.id == account.id).execute()
    shown = general_form(account.id, admin(db)).shown["owning_system"]
    assert "\x1b" not in shown and "\u202e" not in shown and shown.startswith("SIS")


def test_tracking_off_records_no_activity_and_deletes_what_was_kept(db) -> None:
    use_clock()
    anna = user(db, username="anna", password=PASSWORD)
    login("anna", PASSWORD)
    assert fresh(anna).last_activity_at is not None
    mark = last_event_id()
    assert update_settings({"record_last_activity": False}, admin(db)) == ["record_last_activity"]
    assert fresh(anna).last_activity_at is None  # Alma: "all data collected ... deleted"
    events = AuditEvent.select().where(AuditEvent.id > mark)
    assert [(e.entity, e.field) for e in events] == [("setting", "record_last_activity")]
    login("anna", PASSWORD)
    assert fresh(anna).last_activity_at is None
    assert Person.get_by_id(anna.person_id).last_login_at is not None  # the login itself is
    update_settings({"record_last_activity": True}, admin(db))
    login("anna", PASSWORD)
    assert fresh(anna).last_activity_at is not None
    assert load_settings().record_last_activity


def test_keep_history_and_local_codes_are_saved_from_the_general_tab(db) -> None:
    account = user(db)
    form = general_form(account.id, admin(db))
    assert form.values["keep_history"] is False and form.values["local_codes"] == ""
    assert {"keep_history", "local_codes"} <= form.editable
    mark = last_event_id()
    saved = update_user(
        account.id,
        account.version,
        {"keep_history": True, "local_codes": " stat-A ,  ,walk in\nILL "},
        admin(db),
    )
    assert saved.local_codes == "stat-A, walk in, ILL"
    assert Person.get_by_id(account.person_id).keep_history is True
    fields = {e.field for e in AuditEvent.select().where(AuditEvent.id > mark)}
    assert {"keep_history", "local_codes"} <= fields
    form = general_form(account.id, admin(db))
    assert form.values["keep_history"] is True
    # Given back unchanged: nothing is written.
    assert update_user(account.id, saved.version, form.values, admin(db)).version == saved.version


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("a, b, A", "names A twice"),
        ("x" * 51, "a code has at most 50 characters"),
        ("ok, bad\x1bcode", "control character"),
    ],
)
def test_wrong_local_codes_are_named_at_the_field_and_nothing_is_saved(
    db, typed: str, message: str
) -> None:
    account = user(db)
    with pytest.raises(ValidationError) as err:
        update_user(account.id, account.version, {"local_codes": typed}, admin(db))
    assert message in err.value.errors["local_codes"]
    assert fresh(account).local_codes == "" and fresh(account).version == account.version


def test_local_codes_from_a_list() -> None:
    assert check_local_codes(["a", "b"]) == "a, b"
    assert check_local_codes(None) == ""
    with pytest.raises(FieldError):
        check_local_codes(["a", "a"])


def test_keep_history_and_local_codes_stay_editable_on_an_external_account(db) -> None:
    account = user(db)
    account = toggle_account_type(account.id, account.version, admin(db))
    form = general_form(account.id, admin(db))
    assert {"keep_history", "local_codes"} <= form.editable
    saved = update_user(account.id, account.version, {"local_codes": "ILL"}, admin(db))
    assert saved.local_codes == "ILL"


def test_a_staff_role_needs_an_affiliation_library_when_the_setting_says_so(db) -> None:
    account = user(db)
    role = {"role": "circulation_desk_operator"}
    # Off (the default): a staff role may be given for the whole organization.
    whole = add_row(Kind.ROLE, account.id, account.version, role, admin(db))
    assert whole.row.scope_id is None
    update_settings({"staff_role_needs_library": True}, admin(db))
    with pytest.raises(ValidationError) as err:
        add_row(Kind.ROLE, account.id, whole.version, {"role": "user_manager"}, admin(db))
    assert list(err.value.errors) == ["scope"]
    assert "affiliation library" in err.value.errors["scope"]
    # With a library it is given; Patron needs none.
    scoped = add_row(
        Kind.ROLE, account.id, whole.version, {"role": "user_manager", "scope": "MAIN"}, admin(db)
    )
    assert scoped.row.scope.code == "MAIN"
    # A whole-organization staff role kept from before cannot be switched on again as it is.
    off = set_row_active(Kind.ROLE, account.id, whole.row.id, scoped.version, False, admin(db))
    with pytest.raises(ValidationError) as err:
        set_row_active(Kind.ROLE, account.id, whole.row.id, off.version, True, admin(db))
    assert "affiliation library" in err.value.errors["scope"]
