"""Issue 18, the login and the session (items 2, 6, 9, 10, 11, 12), and issue 19 item 1 (log
out from anywhere), each tried as an attacker or a desk would: through the login service the
screens call, an import file, or the app under the pilot."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from textual.widgets import Input, OptionList

from models.access.auth import ChooseOrganization, login, refused_message, set_password
from models.access.passwords import MAX_MEMORY_KIB, hash_within_bounds
from models.access.session import open_session
from models.audit import Actor
from models.config.configuration import add_organization
from models.config.settings import load_settings, set_setting
from models.enums import Role, Source
from models.errors import AuthenticationError
from models.runtime import configure, runtime
from models.store.base import database
from models.store.tables import Account, AuditEvent, Person
from models.transfer.imports import ImportOptions, import_file
from models.users.accounts import NewUser, create_user, set_status
from screens.change_password import ChangePasswordScreen
from screens.configuration import ConfigurationScreen
from screens.confirm import ConfirmScreen
from screens.find_users import FindUsersScreen
from screens.lock import LockScreen
from screens.login import LoginScreen
from screens.quick_user import QuickUserScreen
from screens.user_details import UserDetailsScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import SIZE, add_user, log_in, settle, type_into
from tui.app import PatronDeskApp
from tui.widgets import Message

PASSWORD = "Harbour-Lantern-57"
SYSTEM = Actor(None, Source.CLI)


class CountingHasher(PasswordHasher):
    """argon2's cheapest profile that counts (and names) every hash it verifies; `delay` makes
    each check take as long as a real one, so that parallel attempts overlap."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(
            time_cost=CHEAPEST.time_cost,
            memory_cost=CHEAPEST.memory_cost,
            parallelism=CHEAPEST.parallelism,
            hash_len=CHEAPEST.hash_len,
            salt_len=CHEAPEST.salt_len,
            type=CHEAPEST.type,
        )
        self.delay = delay
        self.verified: list[str] = []
        self._guard = threading.Lock()

    def verify(self, hash, password):  # noqa: ANN001, ANN201, A002 - argon2's own signature
        encoded = hash if isinstance(hash, str) else hash.decode()
        with self._guard:
            self.verified.append(encoded)
        # The attack itself would take seconds and gigabytes: caught here, not run.
        assert encoded.split("$")[3] == "m=8,t=1,p=1", f"argon2 was handed {encoded[:40]}"
        if self.delay:
            time.sleep(self.delay)
        return super().verify(hash, password)


@pytest.fixture
def spy() -> CountingHasher:
    hasher = CountingHasher()
    configure(hasher=hasher)
    return hasher


def patron(primary_id: str = "P0001", **changes) -> Account:
    values = dict(username=primary_id.lower(), password=PASSWORD)
    values.update(changes)
    return add_user("Anna", "Müller", primary_id, **values)


def staff(primary_id: str = "S0001", role: Role = Role.CIRCULATION_DESK_OPERATOR) -> Account:
    return add_user(
        "Sam",
        "Desk",
        primary_id,
        record_type="staff",
        group="STAFF",
        username=primary_id.lower(),
        password=PASSWORD,
        roles=[role.value],
    )


def refusal(login_name: str, password: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as err:
        login(login_name, password)
    return err.value


def message_of(app) -> str:
    return str(app.screen.query_one("#login-message", Message).render())


# --- Item 12: no account enumeration --------------------------------------------------------------


def test_unknown_wrong_and_locked_logins_get_one_answer_after_the_same_work(
    db, spy: CountingHasher
) -> None:
    patron("P0001")
    patron("P0002")
    inactive = patron("P0003")
    set_status(inactive.id, "inactive", inactive.version, SYSTEM)
    for attempt in range(5):
        refusal("p0001", f"Wrong-Guess-{attempt}")
    assert Person.get(Person.username == "p0001").locked_until is not None

    answers = {}
    for label, (name, password) in {
        "unknown login": ("nobody", PASSWORD),
        "unknown email": ("nobody@example.org", "Wrong-Guess-9"),
        "locked, right password": ("p0001", PASSWORD),
        "locked, wrong password": ("p0001", "Wrong-Guess-9"),
        "wrong password": ("p0002", "Wrong-Guess-9"),
        "inactive, wrong password": ("p0003", "Wrong-Guess-9"),
    }.items():
        before = len(spy.verified)
        error = refusal(name, password)
        answers[label] = (error.reason, error.message, error.minutes_left)
        assert len(spy.verified) - before == 1, f"{label}: one argon2 check, as every path"
    assert len(set(answers.values())) == 1, answers
    assert answers["unknown login"][1] == refused_message(load_settings())


# --- Item 11: the lockout cannot be raced -------------------------------------------------------


def test_parallel_wrong_passwords_never_get_past_the_limit(db) -> None:
    account = patron("P0001")
    real_hash = Person.get_by_id(account.person_id).password_hash
    limit = load_settings().lockout_attempts
    hasher = CountingHasher(delay=0.05)  # as long as a real argon2 check: the attempts overlap
    configure(hasher=hasher)
    start = threading.Barrier(12)
    answers: list[str] = []

    def attempt(number: int) -> None:
        database.connect(reuse_if_open=True)  # each thread its own connection
        try:
            start.wait()
            try:
                login("p0001", f"Wrong-Guess-{number}")
            except AuthenticationError as exc:
                answers.append(exc.reason)
        finally:
            database.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers == ["credentials"] * 12
    checked = hasher.verified.count(real_hash)
    assert checked <= limit, f"{checked} guesses were checked against a limit of {limit}"
    person = Person.get_by_id(account.person_id)
    assert person.locked_until is not None and person.locked_until > runtime.now()
    failures = (
        AuditEvent.select()
        .where((AuditEvent.person_id == person.id) & (AuditEvent.action == "login_failure"))
        .count()
    )
    assert failures == checked
    assert refusal("p0001", PASSWORD).reason == "credentials", "locked: the password is refused"


def test_an_attempt_is_counted_before_its_password_is_checked(db, spy: CountingHasher) -> None:
    account = patron("P0001")
    seen: list[int] = []
    verify = spy.verify

    def looking(hash, password):  # noqa: ANN001, ANN202, A002
        seen.append(Person.get_by_id(account.person_id).failed_logins)
        return verify(hash, password)

    spy.verify = looking
    refusal("p0001", "Wrong-Guess-1")
    login("p0001", PASSWORD)
    assert seen == [1, 2], "the count is written before argon2 runs"
    assert Person.get_by_id(account.person_id).failed_logins == 0


# --- Item 9: hostile password hashes -------------------------------------------------------------


def _with_params(encoded: str, params: str) -> str:
    parts = encoded.split("$")
    parts[3] = params
    return "$".join(parts)


def test_the_bounds_of_a_stored_hash(db) -> None:
    settings = load_settings()
    own = PasswordHasher.from_parameters(CHEAPEST).hash("x")
    assert hash_within_bounds(own, settings)
    assert hash_within_bounds(PasswordHasher().hash("x"), settings)  # argon2-cffi's default
    for params in (
        "m=4194304,t=3,p=4",  # 4 GiB
        "m=65536,t=100000,p=1",  # 100,000 passes
        f"m={MAX_MEMORY_KIB + 1},t=1,p=1",
        "m=262144,t=10,p=1",  # within each bound, but 2.5 GiB-passes in all
        "m=65536,t=3,p=255",
        "m=65536,t=0,p=1",
        "m=4,t=1,p=1",  # less than 8 KiB a lane: argon2 itself refuses
        "m=99999999999,t=1,p=1",
        "m=６５５３６,t=3,p=4",  # digits that int() would read
    ):
        assert not hash_within_bounds(_with_params(own, params), settings), params
    for junk in ("", None, own + "$x", own + "\n", " " + own, "$argon2id$" + "A" * 300, "plain"):
        assert not hash_within_bounds(junk, settings), junk
    # An administrator who raised the cost: the app's own hashes stay within bounds.
    configure(hasher=PasswordHasher(time_cost=12, memory_cost=8, parallelism=1))
    own_higher = PasswordHasher(time_cost=12, memory_cost=8, parallelism=1).hash("x")
    assert hash_within_bounds(own_higher, settings)


def test_a_hostile_hash_is_never_handed_to_argon2(db, spy: CountingHasher) -> None:
    account = patron("P0001")
    person = Person.get_by_id(account.person_id)
    hostile = _with_params(person.password_hash, "m=4194304,t=100000,p=4")
    Person.update(password_hash=hostile).where(Person.id == person.id).execute()
    assert refusal("p0001", PASSWORD).message == refused_message(load_settings())
    assert hostile not in spy.verified
    assert len(spy.verified) == 1, "the dummy hash is checked instead: the same work"


def test_an_out_of_bounds_hash_never_verifies_even_with_its_password(db) -> None:
    account = patron("P0001")
    # A real hash of the password, cheap to compute here but with 11 passes (over the bound).
    costly = PasswordHasher(time_cost=11, memory_cost=8, parallelism=1).hash(PASSWORD)
    Person.update(password_hash=costly).where(Person.id == account.person_id).execute()
    assert refusal("p0001", PASSWORD).reason == "credentials"


def test_an_import_keeps_no_out_of_bounds_hash(db, tmp_path: Path) -> None:
    cheap = PasswordHasher.from_parameters(CHEAPEST)
    hostile = _with_params(cheap.hash(PASSWORD), "m=4194304,t=3,p=4")
    slow = PasswordHasher(time_cost=11, memory_cost=8, parallelism=1).hash(PASSWORD)
    good = cheap.hash(PASSWORD)
    path = tmp_path / "users.csv"
    path.write_text(
        "primary_id,username,first_name,last_name,user_group,password\n"
        f'H1,h1,Hal,Hostile,PUBLIC,"{hostile}"\n'
        f'H2,h2,Sid,Slow,PUBLIC,"{slow}"\n'
        f'G1,g1,Gil,Good,PUBLIC,"{good}"\n',
        encoding="utf-8",
    )
    report = import_file(path, ImportOptions(workers=1))
    assert report.created == 3
    for primary_id in ("H1", "H2"):
        assert Account.get(Account.primary_id == primary_id).person.password_hash is None
        warning = [i for i in report.issues if i.primary_id == primary_id and i.level == "warning"]
        assert [i.field for i in warning] == ["password"], warning
    assert report.no_password == 2
    assert login("g1", PASSWORD).primary_id == "G1", "a hash within bounds is kept"


# --- Item 2: the person picks the organization ---------------------------------------------------


@pytest.fixture
def two_organizations(db):
    anna = patron("P0001")
    org2 = add_organization(
        "ORG2", "Second organization", admin_username="admin2", admin_password="Quill-Ledger-43"
    )
    staff2 = Actor(Account.get(Account.organization == org2), Source.SCREEN)
    there = create_user(
        NewUser(
            record_type="public",
            person_id=anna.person_id,
            person_consent=True,
            primary_id="P-ORG2",
            user_group="PUBLIC",
            expiry_date=runtime.today() + dt.timedelta(days=365),
        ),
        staff2,
        org2,
    )
    return anna, there, org2


def test_a_person_in_two_organizations_is_asked_which(db, two_organizations) -> None:
    anna, there, org2 = two_organizations
    with pytest.raises(ChooseOrganization) as err:
        login("p0001", PASSWORD)
    assert sorted(err.value.organizations) == sorted(
        [(db.organization.id, db.organization.name), (org2.id, org2.name)]
    )
    assert login("p0001", PASSWORD, organization=org2).id == there.id
    assert login("p0001", PASSWORD, organization=db.organization).id == anna.id
    # The organizations are named only after the right password.
    assert type(refusal("p0001", "Wrong-Guess-1")) is AuthenticationError
    # One of the two deactivated: the other is the only choice, and taken.
    set_status(anna.id, "inactive", Account.get_by_id(anna.id).version, SYSTEM)
    assert login("p0001", PASSWORD).id == there.id


async def test_the_login_screen_asks_which_organization(ui_db) -> None:
    org2 = add_organization("ORG2", "Second organization")
    anna = patron("P0001")
    create_user(
        NewUser(
            record_type="public",
            person_id=anna.person_id,
            person_consent=True,
            primary_id="P-ORG2",
            user_group="PUBLIC",
            expiry_date=runtime.today() + dt.timedelta(days=365),
        ),
        SYSTEM,
        org2,
    )
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "p0001", PASSWORD)
        assert isinstance(app.screen, LoginScreen) and app.session is None
        choice = app.screen.query_one("#organization", OptionList)
        names = [str(choice.get_option_at_index(i).prompt) for i in range(choice.option_count)]
        assert sorted(names) == sorted([ui_db.organization.name, "Second organization"])
        second = names.index("Second organization")
        assert app.focused is choice
        for _ in range(second):
            await pilot.press("down")
        await pilot.press("enter")
        await settle(pilot)
        assert app.session is not None
        assert app.session.organization.id == org2.id
        # The screen lock opens again for the organization chosen (no second question).
        app.lock_screen(5)
        await settle(pilot)
        await type_into(pilot, "#unlock-password", PASSWORD)
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, LockScreen)
        assert app.session.organization.id == org2.id


# --- Item 6: the forced password change cannot be skipped --------------------------------------


def test_no_session_opens_before_the_forced_change(db) -> None:
    set_password(db.admin.person_id, "Temp-Pass-2026", SYSTEM, force_change=True)
    account = login("admin", "Temp-Pass-2026")
    with pytest.raises(AuthenticationError) as err:
        open_session(account)
    assert err.value.reason == "password_change"


async def test_the_forced_change_has_no_way_around(ui_db) -> None:
    set_password(ui_db.admin.person_id, "Temp-Pass-2026", SYSTEM, force_change=True)
    app = PatronDeskApp()
    staff_screens = (FindUsersScreen, ConfigurationScreen, QuickUserScreen, UserDetailsScreen)

    def nothing_reached() -> None:
        assert app.session is None
        assert not [s for s in app.screen_stack if isinstance(s, staff_screens)]

    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", "Temp-Pass-2026")
        assert isinstance(app.screen, ChangePasswordScreen)
        nothing_reached()
        # The palette: no Find and Manage Users, nor anything else of a session.
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Find")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        nothing_reached()
        await pilot.press("escape")
        await settle(pilot)
        for key in ("ctrl+o", "ctrl+n", "ctrl+b", "ctrl+f", "f2", "f10", "ctrl+r", "f1"):
            await pilot.press(key)
            await settle(pilot)
            nothing_reached()
            if not isinstance(app.screen, ChangePasswordScreen):
                await pilot.press("escape")  # F1's help closes
                await settle(pilot)
        for action in ("show_home", "action_configuration", "action_import", "action_export"):
            getattr(app, action)()
            await settle(pilot)
            nothing_reached()
        assert isinstance(app.screen, ChangePasswordScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        nothing_reached()
        assert Person.get_by_id(ui_db.admin.person_id).force_password_change


async def test_after_the_forced_change_the_session_opens(ui_db) -> None:
    set_password(ui_db.admin.person_id, "Temp-Pass-2026", SYSTEM, force_change=True)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", "Temp-Pass-2026")
        await type_into(pilot, "#new_password", "Brand-New-Pass-7")
        await type_into(pilot, "#confirm", "Brand-New-Pass-7")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, FindUsersScreen)
        assert app.session is not None and app.session.username == "admin"


async def test_a_forced_change_left_waiting_ends_at_the_inactivity_timeout(ui_db) -> None:
    set_password(ui_db.admin.person_id, "Temp-Pass-2026", SYSTEM, force_change=True)
    set_setting("session_timeout_minutes", 15)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", "Temp-Pass-2026")
        assert isinstance(app.screen, ChangePasswordScreen)
        app.last_activity -= 15 * 60 + 1
        app.check_inactivity()
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and app.pending_change is None


# --- Item 10: a deactivated account's open session ends on its next action ------------------------


@pytest.mark.parametrize("how", ["deactivated", "expired"])
async def test_an_open_session_ends_when_its_account_stops(ui_db, how: str) -> None:
    operator = staff()
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "s0001", PASSWORD)
        assert isinstance(app.screen, FindUsersScreen)
        # An administrator, from another desk.
        if how == "deactivated":
            set_status(operator.id, "inactive", operator.version, Actor(ui_db.admin, Source.CLI))
        else:
            Account.update(expiry_date=runtime.today() - dt.timedelta(days=1)).where(
                Account.id == operator.id
            ).execute()
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert app.session is None
        assert how in message_of(app)
        assert len(app.screen_stack) == 2


async def test_a_deactivated_account_is_logged_out_from_under_a_dialog(ui_db) -> None:
    operator = staff()
    anna = patron("P0001")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "s0001", PASSWORD)
        app.push_screen(UserDetailsScreen(anna.id))
        await settle(pilot)
        app.lock_screen(5)
        await settle(pilot)
        set_status(operator.id, "inactive", operator.version, Actor(ui_db.admin, Source.CLI))
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and app.session is None


# --- Log out from any screen (issue 19 item 1) --------------------------------------------------


async def _logged_in(pilot) -> None:
    await log_in(pilot, "admin", ADMIN_PASSWORD)
    assert isinstance(pilot.app.screen, FindUsersScreen)


async def _assert_logged_out(pilot) -> None:
    await settle(pilot)
    assert isinstance(pilot.app.screen, LoginScreen)
    assert pilot.app.session is None
    assert len(pilot.app.screen_stack) == 2, "nothing of the session is left under the login"
    assert pilot.app.screen.query_one("#login", Input).value == ""


async def _log_out_from(reach) -> None:
    """Log in, `reach(app, pilot, anna)` a screen, press ctrl+l: the login screen, nothing left."""
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(pilot)
        await reach(app, pilot, anna)
        await settle(pilot)
        await pilot.press("ctrl+l")
        await _assert_logged_out(pilot)


async def test_ctrl_l_from_user_details_returns_to_the_login(ui_db) -> None:
    async def reach(app, pilot, anna) -> None:
        app.push_screen(UserDetailsScreen(anna.id))
        await settle(pilot)
        assert isinstance(app.screen, UserDetailsScreen)

    await _log_out_from(reach)


async def test_ctrl_l_from_configuration_returns_to_the_login(ui_db) -> None:
    async def reach(app, pilot, anna) -> None:
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, ConfigurationScreen)

    await _log_out_from(reach)


async def test_ctrl_l_from_quick_user_returns_to_the_login(ui_db) -> None:
    async def reach(app, pilot, anna) -> None:
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, QuickUserScreen)

    await _log_out_from(reach)


async def test_ctrl_l_from_two_dialogs_over_a_record_returns_to_the_login(ui_db) -> None:
    async def reach(app, pilot, anna) -> None:
        app.push_screen(UserDetailsScreen(anna.id))
        await settle(pilot)
        app.push_screen(ConfirmScreen("First question?"))
        app.push_screen(ConfirmScreen("Second question?"))

    await _log_out_from(reach)


async def test_ctrl_l_from_the_lock_over_an_open_record_returns_to_the_login(ui_db) -> None:
    async def reach(app, pilot, anna) -> None:
        app.push_screen(UserDetailsScreen(anna.id))
        await settle(pilot)
        app.lock_screen(5)
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)

    await _log_out_from(reach)


# --- Log out from the screens of sets and jobs (issue 23) ---------------------------------------


def _a_set_and_a_job(app, anna) -> None:
    from models.jobs.jobs import run_update
    from models.jobs.sets import create_itemized_set

    admin = app.session.actor
    made = create_itemized_set("Readers", [anna.id], admin)
    run_update(made.set_id, {"user_group": "GRAD"}, admin)


SETS_AND_JOBS = [
    ("save_set", ["f18"], "SaveSetScreen"),
    ("sets", ["f19"], "SetsScreen"),
    ("set_from_file", ["f19", "n"], "SetFromFileScreen"),
    ("rename_set", ["f19", "r"], "RenameSetScreen"),
    ("delete_set", ["f19", "delete"], "ConfirmScreen"),
    ("job_choice", ["f19", "j"], "ChoiceScreen"),
    ("job_update", ["f19", "j", "u"], "UpdateJobScreen"),
    ("job_notify", ["f19", "j", "m"], "NotifyJobScreen"),
    ("job_preview", ["f19", "j", "d"], "JobRunScreen"),
    ("set_members", ["f19", "enter"], "SetMembersScreen"),
    ("jobs", ["f19", "h"], "JobsScreen"),
    ("job_report_save", ["f19", "h", "x"], "SaveReportScreen"),
    ("undo_question", ["f19", "h", "u"], "ConfirmScreen"),
]


@pytest.mark.parametrize(("keys", "kind"), [(k, c) for _, k, c in SETS_AND_JOBS],
                         ids=[n for n, _, _ in SETS_AND_JOBS])  # fmt: skip
async def test_ctrl_l_from_sets_and_jobs_returns_to_the_login(ui_db, keys, kind) -> None:
    async def reach(app, pilot, anna) -> None:
        _a_set_and_a_job(app, anna)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        assert type(app.screen).__name__ == kind, app.screen

    await _log_out_from(reach)
