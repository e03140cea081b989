"""The app's way in: first administrator, login messages, lockout and forced password change,
driven with the pilot."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from models.access.auth import set_password
from models.audit import Actor
from models.config.setup import is_initialized
from models.enums import Source
from models.store.tables import Person
from screens.change_password import ChangePasswordScreen
from screens.first_admin import FirstAdminScreen
from screens.login import LoginScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import log_in, settle, type_into
from tui.app import PatronDeskApp
from tui.widgets import Field, Message

SIZE = (100, 34)


def message_text(app) -> str:
    return str(app.screen.query_one(Message).render())


@pytest.fixture
def empty_db(tmp_path: Path):
    from models.store.connection import close_database, open_database

    open_database(str(tmp_path / "empty.db"))
    yield
    close_database()


async def test_empty_database_opens_create_first_administrator(empty_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)  # the database is read in a thread at start
        assert isinstance(app.screen, FirstAdminScreen)
        await type_into(pilot, "#username", "head")
        await type_into(pilot, "#password", "short")
        await type_into(pilot, "#password_confirm", "short")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, FirstAdminScreen), "a weak password must be refused"
        assert "at least 8 characters" in app.screen.query_one("#field-password", Field).error
        assert app.screen.query_one("#username", Input).value == "head", "typed input is kept"
        await type_into(pilot, "#password", "Quill-Ledger-42")
        await type_into(pilot, "#password_confirm", "Quill-Ledger-42")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert app.screen.query_one("#login", Input).value == "head"
    assert is_initialized()


async def test_wrong_password_is_refused_and_the_username_kept(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, LoginScreen)
        await log_in(pilot, "admin", "Not-The-Password-1")
        assert isinstance(app.screen, LoginScreen)
        assert "Wrong username or password" in message_text(app)
        assert app.screen.query_one("#login", Input).value == "admin"
        assert app.screen.query_one("#password", Input).value == ""


async def test_empty_fields_say_what_is_missing(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert "username or email" in message_text(app)


async def test_five_failures_lock_the_login_with_the_minutes_left(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(5):
            await log_in(pilot, "admin", "Not-The-Password-1")
        assert "locked for 30 minutes" in message_text(app)
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        assert isinstance(app.screen, LoginScreen), "the right password is refused while locked"
        assert "locked for" in message_text(app) and "minute" in message_text(app)


async def test_flagged_account_must_change_password_before_going_on(ui_db) -> None:
    admin = ui_db.admin
    set_password(admin.person_id, "Temp-Pass-2026", Actor(None, Source.CLI), force_change=True)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", "Temp-Pass-2026")
        assert isinstance(app.screen, ChangePasswordScreen)
        await type_into(pilot, "#new_password", "abc", keys=True)
        field = app.screen.query_one("#field-new_password", Field)
        assert "uppercase" in field.error and "digit" in field.error, "policy checked as typed"
        await type_into(pilot, "#new_password", "Brand-New-Pass-7")
        assert field.error == ""
        await type_into(pilot, "#confirm", "Brand-New-Pass-8")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "does not match" in app.screen.query_one("#field-confirm", Field).error
        await type_into(pilot, "#confirm", "Brand-New-Pass-7")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, ChangePasswordScreen)
    person = Person.get_by_id(admin.person_id)
    assert not person.force_password_change


async def test_leaving_the_forced_change_logs_out(ui_db) -> None:
    set_password(
        ui_db.admin.person_id, "Temp-Pass-2026", Actor(None, Source.CLI), force_change=True
    )
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", "Temp-Pass-2026")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert app.session is None


async def test_the_session_heap_is_frozen_while_it_runs_and_thawed_when_the_app_ends(
    ui_db,
) -> None:
    """Opening a user must not wait on full garbage collections (tui.app `_freeze_heap`), but
    an app that ends, logged in or not, leaves nothing frozen for ever behind it."""
    import gc

    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
