"""The registration period (issue 22, item 1; Alma: the user group's User Registration Terms of
Use): a new account left without an expiration date expires its user group's registration
period (calendar months) after today, else the `default_expiry_days` setting later; an
expiration date typed wins. Renew extends the expiry by the group's period from the later of
today and the current expiry, with the right to edit the user, never on an external account's
SIS date unless opened for update; History records it. The configuration holds the period per
group, and an import's new account without an expiry gets it too."""

from __future__ import annotations

import datetime as dt

import pytest

from models.config.configuration import add_entry, entry_values, update_entry
from models.config.settings import set_setting
from models.enums import Role
from models.errors import PermissionDenied, ValidationError
from models.runtime import runtime
from models.store.tables import Account, UserGroup
from models.transfer.exports import export_to_file
from models.transfer.imports import ImportOptions, import_file
from models.users.deletion import delete_user
from models.users.derived import add_months, renewed_expiry
from models.users.details import renew_registration, renewal_date, toggle_account_type
from tests.helpers.details import (
    admin,
    as_staff,
    changes_of,
    events_after,
    fresh,
    last_event_id,
    use_clock,
    user,
)


def _period(db, code: str, months: int | None) -> None:
    UserGroup.update(registration_months=months).where(
        (UserGroup.organization == db.organization.id) & (UserGroup.code == code)
    ).execute()


# --- the rule -------------------------------------------------------------------------------


def test_months_are_calendar_months_and_a_missing_day_is_the_last_of_the_month() -> None:
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2028, 2, 29), 12) == dt.date(2029, 2, 28)
    assert add_months(dt.date(2026, 12, 7), 12) == dt.date(2027, 12, 7)
    assert add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)


def test_renewal_starts_from_the_later_of_today_and_the_current_expiry() -> None:
    today = dt.date(2026, 12, 7)
    assert renewed_expiry(dt.date(2025, 1, 1), 12, 365, today) == dt.date(2027, 12, 7)
    assert renewed_expiry(dt.date(2027, 3, 1), 12, 365, today) == dt.date(2028, 3, 1)
    assert renewed_expiry(None, None, 30, today) == dt.date(2027, 1, 6)


# --- new accounts -------------------------------------------------------------------------------


def test_a_new_account_without_expiry_gets_its_groups_period(db) -> None:
    use_clock()
    _period(db, "PUBLIC", 6)
    account = user(db, expiry_date="")
    assert fresh(account).expiry_date == add_months(runtime.today(), 6)


def test_a_group_without_a_period_uses_the_default_expiry_setting(db) -> None:
    use_clock()
    set_setting("default_expiry_days", 40)
    account = user(db, expiry_date=None)
    assert fresh(account).expiry_date == runtime.today() + dt.timedelta(days=40)
    contact = user(db, "C0001", "contact", expiry_date="")  # no group at all
    assert fresh(contact).expiry_date == runtime.today() + dt.timedelta(days=40)


def test_an_expiry_typed_wins_over_the_period(db) -> None:
    use_clock()
    _period(db, "PUBLIC", 6)
    typed = runtime.today() + dt.timedelta(days=3)
    account = user(db, expiry_date=typed.isoformat())
    assert fresh(account).expiry_date == typed


def test_a_period_that_passes_the_purge_date_is_refused_at_the_purge_date(db) -> None:
    use_clock()
    _period(db, "PUBLIC", 24)
    purge = runtime.today() + dt.timedelta(days=100)
    with pytest.raises(ValidationError) as err:
        user(db, expiry_date="", purge_date=purge.isoformat())
    assert set(err.value.errors) == {"purge_date"}


# --- the configuration --------------------------------------------------------------------------


def test_the_period_is_configured_per_group_and_checked(db) -> None:
    actor = admin(db)
    org = db.organization.id
    row = add_entry(
        "user_groups",
        org,
        {"code": "SEM", "name": "Semester", "registration_months": "6"},
        actor,
    )
    assert UserGroup.get_by_id(row.id).registration_months == 6
    assert entry_values("user_groups", org, row.id, actor)["registration_months"] == 6
    update_entry("user_groups", org, row.id, {"registration_months": 12}, actor)  # TOML: int
    assert UserGroup.get_by_id(row.id).registration_months == 12
    update_entry("user_groups", org, row.id, {"registration_months": ""}, actor)
    assert UserGroup.get_by_id(row.id).registration_months is None
    assert entry_values("user_groups", org, row.id, actor)["registration_months"] == ""
    for bad in ("0", "-3", "twelve", "1201", "١٢", True):
        with pytest.raises(ValidationError) as err:
            update_entry("user_groups", org, row.id, {"registration_months": bad}, actor)
        assert set(err.value.errors) == {"registration_months"}, bad


# --- Renew --------------------------------------------------------------------------------------


def test_renew_from_a_past_expiry_starts_today_and_is_in_history(db) -> None:
    clock = use_clock()
    _period(db, "PUBLIC", 12)
    account = user(db, expiry_date=(runtime.today() + dt.timedelta(days=10)).isoformat())
    clock.advance(days=40)  # expired 30 days ago
    before = last_event_id()
    assert renewal_date(account.id, admin(db)) == add_months(runtime.today(), 12)
    renewed = renew_registration(account.id, fresh(account).version, admin(db))
    assert renewed.expiry_date == add_months(runtime.today(), 12)
    assert renewed.version == account.version + 1
    old = (runtime.today() - dt.timedelta(days=30)).isoformat()
    new = add_months(runtime.today(), 12).isoformat()
    assert ("account", "expiry_date", old, new) in changes_of(events_after(before))


def test_renew_from_a_future_expiry_keeps_the_rest_of_the_period(db) -> None:
    use_clock()
    _period(db, "PUBLIC", 12)
    current = runtime.today() + dt.timedelta(days=50)
    account = user(db, expiry_date=current.isoformat())
    renewed = renew_registration(account.id, account.version, admin(db))
    assert renewed.expiry_date == add_months(current, 12)


def test_renew_without_a_group_period_uses_the_default(db) -> None:
    use_clock()
    set_setting("default_expiry_days", 90)
    account = user(db, expiry_date="")
    renewed = renew_registration(account.id, account.version, admin(db))
    assert renewed.expiry_date == runtime.today() + dt.timedelta(days=180)


def test_renew_is_refused_without_the_right_to_edit_the_user(db) -> None:
    use_clock()
    account = user(db)
    operator = as_staff(db, Role.CIRCULATION_DESK_OPERATOR)
    before = fresh(account).expiry_date
    with pytest.raises(PermissionDenied):
        renewal_date(account.id, operator)
    with pytest.raises(PermissionDenied):
        renew_registration(account.id, account.version, operator)
    assert fresh(account).expiry_date == before
    manager = as_staff(db, Role.CIRCULATION_DESK_MANAGER, "S0002")
    assert renew_registration(account.id, account.version, manager).expiry_date > before


def test_renew_refuses_a_stale_version_and_a_purge_date_it_would_pass(db) -> None:
    use_clock()
    _period(db, "PUBLIC", 12)
    account = user(
        db,
        expiry_date=(runtime.today() + dt.timedelta(days=10)).isoformat(),
        purge_date=(runtime.today() + dt.timedelta(days=100)).isoformat(),
    )
    with pytest.raises(ValidationError) as err:
        renew_registration(account.id, account.version, admin(db))
    assert set(err.value.errors) == {"purge_date"}
    assert fresh(account).version == account.version
    # Said before the question too (found by a usability helper, 2026-12-08: Renew asked
    # "until 2027-12-08?", then refused the yes).
    with pytest.raises(ValidationError) as err:
        renewal_date(account.id, admin(db))
    assert set(err.value.errors) == {"purge_date"}
    Account.update(purge_date=None).where(Account.id == account.id).execute()
    from models.errors import ConflictError

    with pytest.raises(ConflictError):
        renew_registration(account.id, account.version - 1, admin(db))


def test_renew_of_an_external_account_needs_open_for_update(db) -> None:
    use_clock()
    account = user(db)
    account = toggle_account_type(account.id, account.version, admin(db))
    with pytest.raises(ValidationError) as err:
        renew_registration(account.id, account.version, admin(db))
    assert "Open for update" in err.value.errors["expiry_date"]
    with pytest.raises(ValidationError):
        renewal_date(account.id, admin(db))
    renewed = renew_registration(account.id, account.version, admin(db), opened=True)
    assert renewed.expiry_date > account.expiry_date
    from models.users.external import overridden_fields

    assert "expiry_date" in overridden_fields(account.id)  # kept on the next SIS load


# --- imports ------------------------------------------------------------------------------------


def test_an_imported_new_account_without_expiry_gets_its_groups_period(db, tmp_path) -> None:
    use_clock()
    _period(db, "PUBLIC", 18)
    path = tmp_path / "users.csv"
    path.write_text("primary_id,last_name,user_group\nI001,Keller,PUBLIC\n", encoding="utf-8")
    import_file(path, ImportOptions(workers=1))
    a = Account.get(Account.primary_id == "I001")
    assert a.expiry_date == add_months(runtime.today(), 18)
    # A file that gives the date, or says it is empty, is followed.
    path.write_text(
        "primary_id,last_name,user_group,expiry_date\nI002,Keller,PUBLIC,\n"
        f"I003,Keller,PUBLIC,{(runtime.today() + dt.timedelta(days=5)).isoformat()}\n",
        encoding="utf-8",
    )
    import_file(path, ImportOptions(workers=1))
    assert Account.get(Account.primary_id == "I002").expiry_date is None
    assert Account.get(Account.primary_id == "I003").expiry_date == runtime.today() + dt.timedelta(
        days=5
    )


@pytest.mark.parametrize("fmt", ["alma-xml", "alma-json"])
def test_an_alma_export_without_expiry_comes_back_without_one(db, tmp_path, fmt) -> None:
    """Alma has no empty date: PatronDesk's export says "no expiry" in its own field, else the
    import would give the account its group's period."""
    use_clock()
    _period(db, "PUBLIC", 12)
    account = user(db)
    Account.update(expiry_date=None).where(Account.id == account.id).execute()
    path = tmp_path / ("users.xml" if fmt == "alma-xml" else "users.json")
    export_to_file(path, fmt, organization=db.organization)
    assert "no_expiry_date" in path.read_text(encoding="utf-8")
    delete_user(account.id, fresh(account).version, admin(db))
    import_file(path, ImportOptions(format=fmt, workers=1))
    assert Account.get(Account.primary_id == "P0001").expiry_date is None
