"""Logging in (models.access.auth): by username or email, lockout and its expiry on a fake clock,
inactive and expired accounts, rehash on login, audit, password setting and unlocking."""

from __future__ import annotations

import datetime as dt

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from models.access.auth import WRONG, find_person, login, refused_message, set_password, unlock
from models.audit import Actor
from models.config.settings import load_settings, set_setting
from models.enums import Role, Source
from models.errors import AuthenticationError, PermissionDenied, ValidationError
from models.runtime import configure, runtime
from models.store.base import utcnow
from models.store.tables import Account, AuditEvent, Person
from models.users.accounts import NewUser, create_user, set_status

PASSWORD = "Harbour-Lantern-57"
CHEAP = PasswordHasher.from_parameters(CHEAPEST)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    c = Clock()
    configure(clock=c, hasher=CHEAP)
    return c


def make_user(db, primary_id: str = "P0001", roles: tuple[str, ...] = (), **changes) -> Account:
    values = dict(
        record_type="staff" if roles else "public",
        first_name="Anna",
        last_name="Müller",
        primary_id=primary_id,
        username=primary_id.lower(),
        user_group="STAFF" if roles else "PUBLIC",
        email=f"{primary_id.lower()}@example.org",
        expiry_date=runtime.today() + dt.timedelta(days=365),
        password=PASSWORD,
        roles=list(roles),
    )
    values.update(changes)
    return create_user(NewUser(**values), Actor(db.admin, Source.SCREEN), db.organization)


def refused(login_name: str, password: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as err:
        login(login_name, password)
    return err.value


def person_of(account: Account) -> Person:
    return Person.get_by_id(account.person_id)


def locked_out(login_name: str) -> bool:
    """The right password is refused with the one answer every refusal gets (issue 18: a
    locked login is not told apart from a wrong password or an unknown name)."""
    error = refused(login_name, PASSWORD)
    assert (error.reason, error.message) == ("credentials", refused_message(load_settings()))
    return True


# --- Who logs in --------------------------------------------------------------------------------


def test_the_administrator_logs_in_by_username_whatever_its_case(db) -> None:
    from tests.helpers.db import ADMIN_PASSWORD

    assert login("admin", ADMIN_PASSWORD).id == db.admin.id
    assert login("ADMIN", ADMIN_PASSWORD).id == db.admin.id
    assert login("  Admin ", ADMIN_PASSWORD).id == db.admin.id


def test_a_user_logs_in_by_login_email_whatever_its_case(db) -> None:
    account = make_user(db, email="Anna.Muller@Example.org")
    assert login("anna.muller@EXAMPLE.ORG", PASSWORD).id == account.id
    assert find_person("ANNA.MULLER@example.org").id == account.person_id


def test_a_wrong_password_and_an_unknown_user_get_the_same_message(db) -> None:
    make_user(db)
    wrong = refused("p0001", "Harbour-Lantern-58")
    unknown = refused("nobody", PASSWORD)
    assert wrong.reason == unknown.reason == "credentials"
    assert wrong.message == unknown.message == refused_message(load_settings())
    assert wrong.message.startswith(WRONG) and WRONG == "Wrong username or password."
    assert refused("", PASSWORD).reason == "credentials"


def test_the_password_is_case_sensitive(db) -> None:
    make_user(db)
    assert refused("p0001", PASSWORD.lower()).reason == "credentials"


# --- Lockout ------------------------------------------------------------------------------------


def test_five_failures_lock_the_login_for_thirty_minutes(db, clock: Clock) -> None:
    account = make_user(db)
    for attempt in range(1, 5):
        assert refused("p0001", f"wrong-{attempt}").reason == "credentials"
        assert person_of(account).failed_logins == attempt
    fifth = refused("p0001", "wrong-5")
    assert fifth.reason == "credentials"
    assert "locked for 30 minutes" in fifth.message, "the one message says what may happen"
    assert person_of(account).locked_until == clock.now + dt.timedelta(minutes=30)

    # Even the right password is refused while locked.
    assert locked_out("p0001")
    clock.advance(minutes=12)
    assert locked_out("p0001")


def test_attempts_while_locked_do_not_extend_the_lock(db, clock: Clock) -> None:
    account = make_user(db)
    for attempt in range(5):
        refused("p0001", f"wrong-{attempt}")
    until = person_of(account).locked_until
    clock.advance(minutes=20)
    refused("p0001", "wrong-again")
    assert locked_out("p0001")
    assert person_of(account).locked_until == until


def test_the_lock_expires_after_thirty_minutes(db, clock: Clock) -> None:
    account = make_user(db)
    for attempt in range(5):
        refused("p0001", f"wrong-{attempt}")
    clock.advance(minutes=29, seconds=59)
    assert locked_out("p0001")
    clock.advance(seconds=1)
    assert login("p0001", PASSWORD).id == account.id
    person = person_of(account)
    assert person.locked_until is None
    assert person.failed_logins == 0


def test_lockout_attempts_and_minutes_come_from_settings(db, clock: Clock) -> None:
    set_setting("lockout_attempts", 3)
    set_setting("lockout_minutes", 5)
    make_user(db)
    refused("p0001", "wrong-1")
    refused("p0001", "wrong-2")
    third = refused("p0001", "wrong-3")
    assert "3 failed attempts" in third.message and "locked for 5 minutes" in third.message
    assert locked_out("p0001")
    clock.advance(minutes=5)
    assert login("p0001", PASSWORD)


def test_a_success_resets_the_counter_and_records_the_time(db, clock: Clock) -> None:
    account = make_user(db)
    for attempt in range(4):
        refused("p0001", f"wrong-{attempt}")
    clock.advance(minutes=3)
    assert login("p0001", PASSWORD).id == account.id
    person = person_of(account)
    assert person.failed_logins == 0
    assert person.last_login_at == clock.now
    assert Account.get_by_id(account.id).last_activity_at == clock.now
    # Four more failures: the count started again, so still no lock.
    for attempt in range(4):
        refused("p0001", f"again-{attempt}")
        assert person_of(account).locked_until is None
    refused("p0001", "again-5")
    assert person_of(account).locked_until == clock.now + dt.timedelta(minutes=30)


# --- Inactive and expired accounts --------------------------------------------------------------


def test_an_inactive_account_cannot_log_in_and_says_why(db) -> None:
    account = make_user(db)
    set_status(account.id, "inactive", account.version, Actor(db.admin, Source.SCREEN))
    error = refused("p0001", PASSWORD)
    assert error.reason == "inactive"
    assert "inactive" in error.message
    # A wrong password tells nothing about the account's state.
    assert refused("p0001", "wrong").reason == "credentials"
    # The profile stays intact.
    person = person_of(account)
    assert person.first_name == "Anna"
    assert person.password_hash


def test_an_expired_account_cannot_log_in_and_says_why(db) -> None:
    account = make_user(db)
    Account.update(expiry_date=runtime.today() - dt.timedelta(days=1)).where(
        Account.id == account.id
    ).execute()
    error = refused("p0001", PASSWORD)
    assert error.reason == "expired"
    assert "expired" in error.message
    assert person_of(account).last_login_at is None


def test_an_account_expiring_today_may_still_log_in(db) -> None:
    account = make_user(db)
    Account.update(expiry_date=runtime.today()).where(Account.id == account.id).execute()
    assert login("p0001", PASSWORD).id == account.id


# --- Rehash -------------------------------------------------------------------------------------


def test_login_rehashes_when_the_hasher_parameters_change(db, clock: Clock) -> None:
    account = make_user(db)
    old_hash = person_of(account).password_hash
    assert old_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    configure(clock=clock, hasher=PasswordHasher(time_cost=2, memory_cost=64, parallelism=1))
    assert login("p0001", PASSWORD).id == account.id
    new_hash = person_of(account).password_hash
    assert new_hash != old_hash
    assert new_hash.startswith("$argon2id$v=19$m=64,t=2,p=1$")
    assert login("p0001", PASSWORD).id == account.id
    assert person_of(account).password_hash == new_hash  # no rehash when nothing changed
    assert refused("p0001", "wrong").reason == "credentials"


def test_login_rehashes_to_the_parameters_of_the_settings(db, clock: Clock) -> None:
    account = make_user(db)
    set_setting("argon2_memory_kib", 256)
    set_setting("argon2_time_cost", 1)
    configure(clock=clock, hasher=None)  # parameters from the settings table
    login("p0001", PASSWORD)
    assert person_of(account).password_hash.startswith("$argon2id$v=19$m=256,t=1,p=1$")
    assert login("p0001", PASSWORD).id == account.id


# --- Audit --------------------------------------------------------------------------------------


def test_login_success_failure_and_lockout_are_audited_without_the_password(
    db, clock: Clock
) -> None:
    account = make_user(db)
    tried = [f"Wrong-Guess-{i}" for i in range(5)]
    for password in tried:
        refused("p0001", password)
    clock.advance(minutes=30)
    login("p0001", PASSWORD, source=Source.CLI)
    events = list(
        AuditEvent.select()
        .where(
            (AuditEvent.person_id == account.person_id)
            & AuditEvent.action.in_(["login_success", "login_failure", "lockout"])
        )
        .order_by(AuditEvent.id)
    )
    assert [e.action for e in events] == ["login_failure"] * 5 + ["lockout", "login_success"]
    assert [e.new_value for e in events[:5]] == [f"failure {i}" for i in range(1, 6)]
    assert events[5].new_value == (clock.now).isoformat()
    success = events[-1]
    assert (success.source, success.account_id, success.actor_id) == ("cli", account.id, account.id)
    assert {e.source for e in events[:-1]} == {"screen"}
    password_hash = person_of(account).password_hash
    for e in AuditEvent.select():
        for value in (e.old_value, e.new_value):
            for secret in (*tried, PASSWORD, password_hash):
                assert secret not in (value or "")


# --- Setting a password -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Short1A", "at least 8 characters"),
        ("alllowercase1", "an uppercase letter"),
        ("ALLUPPERCASE1", "a lowercase letter"),
        ("NoDigitsHere", "a digit"),
        ("Aa1" + "x" * 300, "at most 256 characters"),
        ("Password1", "not a commonly used password"),
    ],
)
def test_set_password_applies_the_policy(db, password: str, problem: str) -> None:
    account = make_user(db)
    before = person_of(account).password_hash
    with pytest.raises(ValidationError) as err:
        set_password(account.person_id, password, Actor(db.admin, Source.SCREEN))
    assert problem in err.value.errors["password"]
    assert password not in str(err.value)
    assert person_of(account).password_hash == before


def test_a_unicode_password_is_accepted_and_works(db) -> None:
    account = make_user(db)
    set_password(account.person_id, "Grüße-Straße-9", Actor(account, Source.SCREEN))
    assert login("p0001", "Grüße-Straße-9").id == account.id
    assert refused("p0001", PASSWORD).reason == "credentials"


def test_the_confirmation_must_match(db) -> None:
    account = make_user(db)
    with pytest.raises(ValidationError) as err:
        set_password(
            account.person_id, "New-Lantern-58", Actor(account, Source.SCREEN), confirm="other"
        )
    assert err.value.errors == {"password_confirm": "does not match the password"}


def test_staff_reset_forces_a_change_clears_the_lock_and_is_audited(db, clock: Clock) -> None:
    account = make_user(db)
    for attempt in range(5):
        refused("p0001", f"wrong-{attempt}")
    set_password(
        account.person_id, "Reset-Lantern-60", Actor(db.admin, Source.SCREEN), force_change=True
    )
    person = person_of(account)
    assert person.force_password_change is True
    assert person.locked_until is None
    assert login("p0001", "Reset-Lantern-60").id == account.id
    event = (
        AuditEvent.select()
        .where((AuditEvent.person_id == account.person_id) & (AuditEvent.action == "update"))
        .order_by(AuditEvent.id.desc())
        .first()
    )
    assert (event.field, event.new_value) == ("password_hash", "(changed)")
    assert event.old_value in (None, "(changed)", "(set)")
    assert event.actor == "admin"


def test_a_desk_operator_may_not_reset_another_users_password(db) -> None:
    patron = make_user(db)
    operator = make_user(db, "S0001", roles=(Role.CIRCULATION_DESK_OPERATOR.value,))
    with pytest.raises(PermissionDenied) as err:
        set_password(patron.person_id, "Reset-Lantern-60", Actor(operator, Source.SCREEN))
    assert err.value.action == "reset_password"
    assert login("p0001", PASSWORD)
    # Their own password they may change.
    set_password(operator.person_id, "Own-Lantern-61", Actor(operator, Source.SCREEN))
    assert login("s0001", "Own-Lantern-61").id == operator.id


def test_a_desk_manager_may_reset_a_public_users_password(db) -> None:
    patron = make_user(db)
    manager = make_user(db, "S0001", roles=(Role.CIRCULATION_DESK_MANAGER.value,))
    set_password(patron.person_id, "Reset-Lantern-60", Actor(manager, Source.SCREEN))
    assert login("p0001", "Reset-Lantern-60").id == patron.id


# --- Unlock -------------------------------------------------------------------------------------


def test_an_administrator_unlocks_a_locked_login(db, clock: Clock) -> None:
    account = make_user(db)
    for attempt in range(5):
        refused("p0001", f"wrong-{attempt}")
    assert locked_out("p0001")
    unlock(account.person_id, Actor(db.admin, Source.SCREEN))
    person = person_of(account)
    assert (person.locked_until, person.failed_logins) == (None, 0)
    event = AuditEvent.select().order_by(AuditEvent.id.desc()).first()
    assert (event.field, event.new_value, event.actor) == ("locked_until", None, "admin")
    assert login("p0001", PASSWORD).id == account.id


@pytest.mark.parametrize(
    "role",
    [Role.USER_MANAGER, Role.CIRCULATION_DESK_MANAGER, Role.CIRCULATION_DESK_OPERATOR],
)
def test_only_an_administrator_may_unlock(db, clock: Clock, role: Role) -> None:
    account = make_user(db)
    staff = make_user(db, "S0001", roles=(role.value,))
    for attempt in range(5):
        refused("p0001", f"wrong-{attempt}")
    with pytest.raises(PermissionDenied) as err:
        unlock(account.person_id, Actor(staff, Source.SCREEN))
    assert err.value.action == "unlock_login"
    assert locked_out("p0001")
