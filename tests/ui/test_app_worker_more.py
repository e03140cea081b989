"""The UI never waits, screen by screen: each action that reads or writes the database runs in
a `tui.worker.run_service` worker. Behind another writer (another connection holds the SQLite
write lock, and every query of a screen's worker waits), the app still answers F1 and Escape,
and no query runs on the UI thread; once the writer is gone, the action completes."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator

import pytest
from textual.widgets import Checkbox, Input, OptionList, Select, Static
from textual.worker import NoActiveWorker, get_current_worker

from models.access.session import open_session
from models.audit import Actor
from models.enums import Source
from models.fees.fees import add_fee
from models.store.base import database
from models.store.tables import Account, Email, Fee, Identifier, UserGroup
from models.users.rows import add_row
from screens.confirm import ConfirmScreen, InfoScreen
from screens.help import KeysHelpScreen
from screens.user_details import UserDetailsScreen
from screens.user_details.row_form import RowFormScreen
from tests.helpers.ui import SIZE, add_user, settle, type_into
from tui.app import PatronDeskApp

SYSTEM = Actor(None, Source.CLI)


class Writer:
    """Another writer: a connection holding the write lock, and every query of a screen's
    worker held at a gate until `release()` (in WAL mode a writer never blocks a reader:
    the gate makes a read wait as a write would). A query on the UI thread fails at once."""

    def __init__(self, ui_db) -> None:  # noqa: ANN001 - a TestDB
        self.url = ui_db.url
        self.gate = threading.Event()
        self.waiting = 0  # queries of screens' workers held at the gate
        self.on_ui_thread: list[str] = []
        self.ui_thread = threading.get_ident()
        self.other: sqlite3.Connection | None = None

    @contextlib.contextmanager
    def holding(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[Writer]:
        db = database.obj
        real_sql, real_begin = db.execute_sql, db.begin
        lock = threading.Lock()

        def wait(sql: str) -> None:
            if threading.get_ident() == self.ui_thread:
                self.on_ui_thread.append(sql)
                raise AssertionError(f"a query on the UI thread: {sql[:120]}")
            if not self.gate.is_set() and _in_a_screens_worker():
                with lock:
                    self.waiting += 1
                assert self.gate.wait(30), "the gate was never opened"

        def execute_sql(sql, params=None, *args, **kwargs):  # noqa: ANN001, ANN202
            wait(sql)
            return real_sql(sql, params, *args, **kwargs)

        def begin(*args, **kwargs):  # noqa: ANN202 - a transaction begins (cursor, not SQL)
            wait("BEGIN")
            return real_begin(*args, **kwargs)

        self.other = sqlite3.connect(self.url, isolation_level=None, timeout=1)
        self.other.execute("BEGIN IMMEDIATE")
        monkeypatch.setattr(db, "execute_sql", execute_sql)
        monkeypatch.setattr(db, "begin", begin)
        try:
            yield self
        finally:
            self.release()
            monkeypatch.setattr(db, "execute_sql", real_sql)
            monkeypatch.setattr(db, "begin", real_begin)

    def release(self) -> None:
        if self.other is not None:
            self.other.rollback()
            self.other.close()
            self.other = None
        self.gate.set()


def _in_a_screens_worker() -> bool:
    """A query from a worker of a screen or widget (the app's own, as the standing check
    before each key, are not held: they are not the screens' to wait for)."""
    try:
        worker = get_current_worker()
    except NoActiveWorker:
        return False
    return worker.node is not worker.node.app


async def until(pilot, condition: Callable[[], bool], what: str) -> None:
    for _ in range(200):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never: {what}")


async def behind_a_writer(
    pilot,
    ui_db,
    monkeypatch: pytest.MonkeyPatch,
    *keys: str,
    act: Callable[[], object] | None = None,
    meanwhile: Callable[[], bool] | None = None,
    said: str = "",
) -> None:
    """Press `keys` (or call `act()`) behind another writer: the action's query waits in a
    worker; meanwhile (the writer still there) `meanwhile()` holds, F1 opens the keys help and
    Escape closes it, no query runs on the UI thread; then the writer goes and all settles."""
    app = pilot.app
    writer = Writer(ui_db)
    with writer.holding(monkeypatch):
        if act is not None:
            act()
        if keys:
            await pilot.press(*keys)
        await until(pilot, lambda: writer.waiting > 0, "the action's query waits in a worker")
        if meanwhile is not None:
            await until(pilot, meanwhile, f"meanwhile: {said or meanwhile}")
        top = app.screen
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, KeysHelpScreen), "F1 answers")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is top, "Escape closes the keys help")
        assert writer.other is not None and writer.other.in_transaction, "still held"
        assert writer.on_ui_thread == []
    await settle(pilot)
    assert writer.on_ui_thread == []


def text(widget) -> str:  # noqa: ANN001
    return str(widget.render())


async def open_details(pilot, ui_db, account: Account, tab: str = "") -> UserDetailsScreen:
    pilot.app.session = open_session(ui_db.admin)
    screen = UserDetailsScreen(account.id)
    pilot.app.push_screen(screen)
    await settle(pilot)
    if tab:
        await pilot.press(tab)
        await settle(pilot)
    return screen


def saving(pilot) -> bool:
    """The row form is disabled and says "Saving…"."""
    form = pilot.app.screen
    return (
        isinstance(form, RowFormScreen)
        and form.query_one("#row-form").disabled
        and "Saving…" in text(form.query_one("#row-form-message"))
    )


# --- User Details: row tabs -------------------------------------------------------------------


async def test_a_row_form_saves_in_a_worker_disabled_meanwhile(ui_db, monkeypatch) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, anna, "f3")
        await pilot.press("n")
        await settle(pilot)
        await type_into(pilot, "#row-address", "anna.work@example.org")
        await behind_a_writer(
            pilot, ui_db, monkeypatch, "ctrl+s", meanwhile=lambda: saving(pilot), said="Saving…"
        )
        assert app.screen is screen
    assert Email.select().where(Email.address == "anna.work@example.org").exists()


async def test_a_refused_row_save_keeps_the_form_and_what_was_typed(ui_db, monkeypatch) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, ui_db, anna, "f3")
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        await type_into(pilot, "#row-address", "not an email")
        await behind_a_writer(pilot, ui_db, monkeypatch, "ctrl+s", meanwhile=lambda: saving(pilot))
        assert app.screen is form, "refused: the form stays"
        assert form.query_one("#field-row-address").error
        assert form.query_one("#row-address", Input).value == "not an email"
        assert not form.query_one("#row-form").disabled
        assert "Saving…" not in text(form.query_one("#row-form-message"))


async def test_a_row_form_reads_its_row_and_lists_in_a_worker(ui_db, monkeypatch) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, ui_db, anna, "f3")

        def loading() -> bool:
            return isinstance(app.screen, RowFormScreen) and bool(
                app.screen.query("#row-form-loading")
            )

        await behind_a_writer(pilot, ui_db, monkeypatch, "e", meanwhile=loading)
        assert isinstance(app.screen, RowFormScreen)
        assert app.screen.query_one("#row-address", Input).value == "p100@example.org"
        assert app.screen.query_one("#row-email_type", Select).value == "personal"
        assert app.focused is app.screen.query_one("#row-address")


async def test_a_row_is_deleted_and_switched_off_in_a_worker(ui_db, monkeypatch) -> None:
    anna = add_user("Anna", "Müller", "P100", identifier="BC-7781")
    version = Account.get_by_id(anna.id).version
    add_row(
        "email",
        anna.id,
        version,
        {"address": "anna.work@example.org", "email_type": "work"},
        SYSTEM,
    )
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, anna, "f3")
        await pilot.press("down", "delete")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        hint = screen.query_one("#pane-email .hint", Static)
        await behind_a_writer(
            pilot, ui_db, monkeypatch, "y", meanwhile=lambda: "Saving…" in text(hint)
        )
        assert "Saving…" not in text(hint)
        assert not Email.select().where(Email.address == "anna.work@example.org").exists()
        await pilot.press("f4", "down")  # the barcode (the primary identifier stays on)
        await settle(pilot)
        await behind_a_writer(pilot, ui_db, monkeypatch, "space")
    assert not Identifier.get(Identifier.value == "BC-7781").active


# --- User Details: fees and history --------------------------------------------------------------


async def test_fees_are_read_paid_and_listed_in_workers(ui_db, monkeypatch) -> None:
    anna = add_user("Anna", "Müller", "P100")
    add_fee(anna.id, SYSTEM, fee_type="CARD", amount="5.00")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, anna, "f7")
        status = screen.query_one("#fees-status", Select)
        await behind_a_writer(
            pilot, ui_db, monkeypatch, act=lambda: setattr(status, "value", "all")
        )
        assert screen.query_one("#fees-table").row_count == 1
        await behind_a_writer(pilot, ui_db, monkeypatch, "t")  # the fee's transactions
        assert isinstance(app.screen, InfoScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, RowFormScreen)
        await behind_a_writer(pilot, ui_db, monkeypatch, "ctrl+s", meanwhile=lambda: saving(pilot))
        assert app.screen is screen
        assert "Active balance [b]" not in text(screen.query_one("#fees-summary"))
    assert Fee.get().balance_minor == 0


async def test_history_reads_another_period_in_a_worker(ui_db, monkeypatch) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, anna, "f12")
        period = screen.query_one("#history-period", Select)
        table = screen.query_one("#history-table")
        await behind_a_writer(
            pilot, ui_db, monkeypatch, act=lambda: setattr(period, "value", "all")
        )
        assert table.row_count > 0


# --- Configuration ------------------------------------------------------------------------------


async def open_configuration(pilot, ui_db):  # noqa: ANN201
    from screens.configuration import ConfigurationScreen

    pilot.app.session = open_session(ui_db.admin)
    screen = ConfigurationScreen()
    pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


async def test_configuration_reads_sections_and_changes_entries_in_workers(
    ui_db, monkeypatch
) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_configuration(pilot, ui_db)
        sections = screen.query_one("#config-sections", OptionList)

        def highlight() -> None:
            sections.highlighted = sections.get_option_index("user_groups")

        await behind_a_writer(pilot, ui_db, monkeypatch, act=highlight)
        assert "User groups" in text(screen.query_one("#config-title"))
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await type_into(pilot, "#row-code", "VISIT")
        await type_into(pilot, "#row-name", "Visiting scholar")
        app.screen.query_one("#row-rt_researcher", Checkbox).value = True
        await behind_a_writer(pilot, ui_db, monkeypatch, "ctrl+s", meanwhile=lambda: saving(pilot))
        assert app.screen is screen
        table = screen.query_one("#config-table")
        assert table.get_row_at(table.cursor)[0] == "VISIT", "the cursor on the entry added"
        await behind_a_writer(pilot, ui_db, monkeypatch, "space")  # VISIT off
        assert not UserGroup.get(UserGroup.code == "VISIT").active
        await behind_a_writer(pilot, ui_db, monkeypatch, "e")  # its form, read in a worker
        assert isinstance(app.screen, RowFormScreen)
        await pilot.press("escape")
        await settle(pilot)
        await behind_a_writer(pilot, ui_db, monkeypatch, "delete")  # what to ask, read first
        assert isinstance(app.screen, ConfirmScreen)
        await behind_a_writer(pilot, ui_db, monkeypatch, "y")
        assert app.screen is screen
    assert not UserGroup.select().where(UserGroup.code == "VISIT").exists()


async def test_configuration_settings_form_is_read_and_saved_in_workers(ui_db, monkeypatch) -> None:
    from models.config.settings import load_settings

    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_configuration(pilot, ui_db)
        sections = screen.query_one("#config-sections", OptionList)
        sections.highlighted = sections.get_option_index("settings:login")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        await behind_a_writer(pilot, ui_db, monkeypatch, "e")
        assert isinstance(app.screen, RowFormScreen)
        await type_into(pilot, "#row-lockout_attempts", "4")
        await behind_a_writer(pilot, ui_db, monkeypatch, "ctrl+s", meanwhile=lambda: saving(pilot))
        assert app.screen is screen
    assert load_settings().lockout_attempts == 4


# --- My account ---------------------------------------------------------------------------------


async def test_my_account_shows_at_once_and_saves_in_workers(ui_db, monkeypatch) -> None:
    from screens.my_account import MyAccountScreen

    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(Account.get_by_id(anna.id))
        screen = MyAccountScreen()
        head = lambda: text(screen.query_one("#my-head"))  # noqa: E731
        await behind_a_writer(
            pilot,
            ui_db,
            monkeypatch,
            act=lambda: app.push_screen(screen),
            meanwhile=lambda: app.screen is screen and "Loading" in head(),
        )
        assert "Müller, Anna" in head()
        await pilot.press("f5")
        await settle(pilot)
        screen.query_one("#my-language", Select).value = "fr"
        message = screen.query_one("#my-preferences-message")
        await behind_a_writer(
            pilot, ui_db, monkeypatch, "ctrl+s", meanwhile=lambda: "Saving…" in text(message)
        )
        assert "Saved." in text(message)
        assert Account.get_by_id(anna.id).comm_language == "fr"
        await pilot.press("f6")
        await settle(pilot)
        await type_into(pilot, "#my-current", "wrong")
        await type_into(pilot, "#my-new", "Another-Password-9")
        await type_into(pilot, "#my-confirm", "Another-Password-9")
        password = screen.query_one("#password")
        await behind_a_writer(
            pilot, ui_db, monkeypatch, "ctrl+s", meanwhile=lambda: password.disabled
        )
        assert screen.query_one("#field-my-current").error, "refused under the field"
        assert screen.query_one("#my-new", Input).value == "Another-Password-9", "kept"
        assert not password.disabled


# --- The deletion dialog ------------------------------------------------------------------------


async def test_the_deletion_dialog_checks_and_deletes_in_workers(ui_db, monkeypatch) -> None:
    from screens.delete_user import DeleteUserScreen

    rosa = add_user("Rosa", "Quintero", "P500")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(ui_db.admin)
        dialog = DeleteUserScreen(rosa.id)
        closed: list[object] = []
        await behind_a_writer(
            pilot,
            ui_db,
            monkeypatch,
            act=lambda: app.push_screen(dialog, closed.append),
            meanwhile=lambda: "Checking" in text(dialog.query_one("#delete-reasons")),
        )
        assert "Delete Quintero, Rosa (P500)?" in text(dialog.query_one("Static"))
        await behind_a_writer(
            pilot,
            ui_db,
            monkeypatch,
            "y",
            meanwhile=lambda: "Deleting…" in text(dialog.query_one("#delete-message")),
        )
        assert closed == ["deleted"]
    assert Account.get_or_none(Account.id == rosa.id) is None


# --- User Details: the actions (ctrl+a) -----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "shown"),
    [("s", "Status: inactive."), ("p", "One-time password"), ("t", "Account type changed."),
     ("l", "Outstanding loans")],
    ids=["status", "reset-password", "account-type", "loans"],
)  # fmt: skip
async def test_the_actions_of_a_record_run_in_workers(ui_db, monkeypatch, key, shown) -> None:
    from screens.confirm import ChoiceScreen

    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        said: list[str] = []
        app.notify = lambda message, **_: said.append(str(message))  # type: ignore[method-assign]
        screen = await open_details(pilot, ui_db, anna)
        await behind_a_writer(pilot, ui_db, monkeypatch, "ctrl+a")  # the rights read first
        assert isinstance(app.screen, ChoiceScreen)
        await behind_a_writer(pilot, ui_db, monkeypatch, key)
        if isinstance(app.screen, InfoScreen):
            assert shown in text(app.screen.query_one("Static"))
            await pilot.press("escape")
            await settle(pilot)
        else:
            assert shown in said
        assert app.screen is screen
    account = Account.get_by_id(anna.id)
    if key == "s":
        assert account.status == "inactive"
    elif key == "t":
        assert account.account_type != "internal"


# --- Find and Manage Users ----------------------------------------------------------------------


async def find_users(pilot, ui_db):  # noqa: ANN201
    from screens.find_users import FindUsersScreen

    pilot.app.session = open_session(ui_db.admin)
    screen = FindUsersScreen()
    pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


def cells(screen) -> list[str]:  # noqa: ANN001
    table = screen.query_one("#results")
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


async def test_find_users_reads_its_user_groups_in_a_worker(ui_db, monkeypatch) -> None:
    from screens.find_users import FindUsersScreen

    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(ui_db.admin)
        screen = FindUsersScreen()
        await behind_a_writer(pilot, ui_db, monkeypatch, act=lambda: app.push_screen(screen))
        groups = [value for _, value in screen.query_one("#group", Select)._options[1:]]
        assert UserGroup.get(UserGroup.code == "PUBLIC").id in groups


async def test_find_users_pages_and_ends_in_workers(ui_db, monkeypatch) -> None:
    import screens.find_users as find

    monkeypatch.setattr(find, "PAGE", 5)
    monkeypatch.setattr(find, "EDGE", 2)
    for i in range(24):
        add_user("Test", f"Person{i:02d}", f"T{i:02d}")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await find_users(pilot, ui_db)
        table = screen.query_one("#results")
        table.focus()
        await settle(pilot)
        assert len(cells(screen)) == 5
        await pilot.press("down", "down")
        await settle(pilot)
        assert len(cells(screen)) == 5
        await behind_a_writer(pilot, ui_db, monkeypatch, "down")  # near the end: the next page
        assert len(cells(screen)) == 10 and table.cursor == 3
        await behind_a_writer(pilot, ui_db, monkeypatch, "end")
        assert cells(screen)[table.cursor] == "Person23, Test"
        await behind_a_writer(pilot, ui_db, monkeypatch, "home")
        assert cells(screen)[table.cursor] == "Administrator"


async def test_find_users_switches_a_user_off_in_a_worker(ui_db, monkeypatch) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await find_users(pilot, ui_db)
        await type_into(pilot, "#search", "P100")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await behind_a_writer(pilot, ui_db, monkeypatch, "ctrl+t")  # the rights read first
        assert isinstance(app.screen, ConfirmScreen)
        await behind_a_writer(pilot, ui_db, monkeypatch, "y")
        assert app.screen is screen
        assert cells(screen) == ["Müller, Anna"]
        assert str(screen.query_one("#results").get_row_at(0)[0]) == "○", "shown inactive"
    assert Account.get_by_id(anna.id).status == "inactive"


# --- Quick User Management ----------------------------------------------------------------------


async def test_quick_user_shows_at_once_and_reads_its_lists_in_a_worker(ui_db, monkeypatch) -> None:
    from models.store.tables import JobCategory
    from screens.quick_user import QuickUserScreen

    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(ui_db.admin)
        form = QuickUserScreen(tab="public")
        await behind_a_writer(
            pilot,
            ui_db,
            monkeypatch,
            act=lambda: app.push_screen(form),
            meanwhile=lambda: app.screen is form and not form.accepting_keys,
        )
        assert "characters" in text(form.query_one("#password-policy"))
        jobs = [value for _, value in form.query_one("#job_category", Select)._options[1:]]
        assert jobs == [j.code for j in JobCategory.select().order_by(JobCategory.name)]
        assert form.query_one("#field-last_name").required
        await behind_a_writer(
            pilot, ui_db, monkeypatch, act=lambda: form.use_person(anna.person_id)
        )
        assert form.query_one("#first_name", Input).value == "Anna"
        assert form.query_one("#first_name", Input).disabled
        await behind_a_writer(pilot, ui_db, monkeypatch, "ctrl+g")
        assert isinstance(app.screen, InfoScreen)
        assert form.query_one("#password", Input).value == form.generated_password


# --- Register New User --------------------------------------------------------------------------


async def test_register_looks_up_and_reserves_an_identifier_in_workers(ui_db, monkeypatch) -> None:
    from screens.quick_user import QuickUserScreen
    from screens.register_user import RegisterUserScreen

    add_user("Anna", "Müller", "P100", identifier="BC-7781")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(ui_db.admin)
        screen = RegisterUserScreen(ui_db.organization.id)
        app.push_screen(screen)
        await settle(pilot)
        await type_into(pilot, "#register-value", "BC-7781")
        await behind_a_writer(pilot, ui_db, monkeypatch, "enter")
        assert screen.matches and screen.matches[0].primary_id == "P100"
        await type_into(pilot, "#register-value", "Zoé Nouvelle")
        await behind_a_writer(pilot, ui_db, monkeypatch, "enter")  # nobody: the form, for Zoé
        form = app.screen
        assert isinstance(form, QuickUserScreen)
        assert form.query_one("#primary_id", Input).value, "an identifier reserved"
        assert form.query_one("#last_name", Input).value == "Nouvelle"
        await pilot.press("escape", "y")  # discard
        await settle(pilot)
        assert app.screen is screen
        message = screen.query_one("#register-message")
        await behind_a_writer(  # ctrl+n: a new user anyway, the identifier reserved first
            pilot, ui_db, monkeypatch, "ctrl+n", meanwhile=lambda: "Reserving" in text(message)
        )
        assert isinstance(app.screen, QuickUserScreen)


# --- Letters ------------------------------------------------------------------------------------


async def test_letters_are_read_and_queued_in_workers(ui_db, monkeypatch) -> None:
    from models.mail.letters import queue_general_message
    from models.store.tables import Letter
    from screens.letters import ComposeLetterScreen, OutboxScreen, UserLettersScreen

    anna = add_user("Anna", "Müller", "P100")
    queue_general_message(anna.id, "Your card", "It is ready.", SYSTEM)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(ui_db.admin)
        letters = UserLettersScreen(anna.id, "Müller, Anna")
        await behind_a_writer(pilot, ui_db, monkeypatch, act=lambda: app.push_screen(letters))
        assert letters.query_one("#letters-table").row_count == 1
        await behind_a_writer(pilot, ui_db, monkeypatch, "enter")  # read it
        assert isinstance(app.screen, InfoScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ComposeLetterScreen)
        await type_into(pilot, "#letter-subject", "Opening hours")
        form.query_one("#letter-message").insert("We open at nine.")
        message = form.query_one("#letter-form-message")
        await behind_a_writer(
            pilot, ui_db, monkeypatch, "ctrl+s", meanwhile=lambda: "Saving…" in text(message)
        )
        assert app.screen is letters
        assert Letter.select().where(Letter.subject == "Opening hours").exists()
        assert letters.query_one("#letters-table").row_count == 2
        await pilot.press("escape")
        await settle(pilot)
        outbox = OutboxScreen()
        await behind_a_writer(pilot, ui_db, monkeypatch, act=lambda: app.push_screen(outbox))
        assert "Outbox" in text(outbox.query_one("#outbox-title"))
        await behind_a_writer(pilot, ui_db, monkeypatch, "a")  # every letter: read again
        assert outbox.query_one("#outbox-table").row_count == 2


# --- Reuse a person, passwords ------------------------------------------------------------------


async def test_a_person_to_reuse_is_looked_up_in_a_worker(ui_db, monkeypatch) -> None:
    from models.config.seed import seed_code_tables
    from models.store.tables import Library, Organization
    from screens.reuse_person import ReusePersonScreen

    other = Organization.create(code="OTHER", name="Other organization")
    Library.create(organization=other, code="O1", name="Other library")
    seed_code_tables(other)
    lena = add_user("Lena", "Other", "O100", email="lena@example.org", organization=other)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(ui_db.admin)
        chosen: list[object] = []
        app.push_screen(ReusePersonScreen(ui_db.organization.id), chosen.append)
        await settle(pilot)
        await type_into(pilot, "#reuse-login", "lena@example.org")
        await behind_a_writer(pilot, ui_db, monkeypatch, "enter")
        assert "Other, Lena" in text(app.screen.query_one("#reuse-found"))
        await pilot.press("space")  # the consent box has the focus: ticked, chosen
        await settle(pilot)
        assert chosen == [lena.person_id]


async def test_a_new_password_is_checked_and_saved_in_workers(ui_db, monkeypatch) -> None:
    from screens.change_password import ChangePasswordScreen

    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        changed: list[object] = []
        screen = ChangePasswordScreen(anna.person_id, Actor(anna, Source.SCREEN), forced=False)
        await behind_a_writer(
            pilot, ui_db, monkeypatch, act=lambda: app.push_screen(screen, changed.append)
        )
        assert "characters" in text(screen.query_one("#policy"))
        await type_into(pilot, "#new_password", "short")
        assert screen.query_one("#field-new_password").error, "checked as typed"
        await type_into(pilot, "#new_password", "A-new-Password-42")
        await type_into(pilot, "#confirm", "A-new-Password-42")
        message = screen.query_one("#password-message")
        await behind_a_writer(
            pilot, ui_db, monkeypatch, "ctrl+s", meanwhile=lambda: "Saving…" in text(message)
        )
        assert changed == [True]


async def test_a_forgotten_password_is_set_in_a_worker(ui_db, monkeypatch) -> None:
    from screens.forgot_password import ForgotPasswordScreen

    add_user("Anna", "Müller", "P100", email="anna@example.org")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = ForgotPasswordScreen("anna@example.org")
        app.push_screen(screen)
        await settle(pilot)
        await pilot.press("enter")  # the code is asked for (in a worker, whatever happens)
        await settle(pilot)
        await type_into(pilot, "#code", "00000000")
        await type_into(pilot, "#new_password", "A-new-Password-42")
        await type_into(pilot, "#confirm", "A-new-Password-42")
        await behind_a_writer(pilot, ui_db, monkeypatch, "ctrl+s")
        assert app.screen is screen, "a wrong code: refused"
        assert screen.query_one("#field-code").error
        assert screen.query_one("#new_password", Input).value == "A-new-Password-42", "kept"
        assert not screen.query_one("#reset-box").disabled


async def test_find_users_reads_the_rights_for_new_and_delete_in_workers(
    ui_db, monkeypatch
) -> None:
    from screens.delete_user import DeleteUserScreen
    from screens.quick_user import QuickUserScreen

    add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await find_users(pilot, ui_db)
        await behind_a_writer(pilot, ui_db, monkeypatch, "ctrl+n")
        assert isinstance(app.screen, QuickUserScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        await type_into(pilot, "#search", "P100")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await behind_a_writer(pilot, ui_db, monkeypatch, "delete")
        dialog = app.screen
        assert isinstance(dialog, DeleteUserScreen)
        assert "Delete Müller, Anna (P100)?" in text(dialog.query_one("Static"))
