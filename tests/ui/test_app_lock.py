"""The screen locks after inactivity and opens again with the password; nothing typed is lost."""

from __future__ import annotations

from textual.widgets import Input

from models.config.settings import set_setting
from screens.find_users import FindUsersScreen
from screens.lock import LockScreen
from screens.login import LoginScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import SIZE, log_in, settle, type_into
from tui.app import PatronDeskApp


async def test_inactivity_locks_and_the_password_unlocks(ui_db) -> None:
    set_setting("session_timeout_minutes", 15)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        await type_into(pilot, "#search", "half-typed")
        await settle(pilot)
        app.check_inactivity()
        await settle(pilot)
        assert not isinstance(app.screen, LockScreen), "recent activity: no lock"
        app.last_activity -= 15 * 60 + 1
        app.check_inactivity()
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        await type_into(pilot, "#unlock-password", "Wrong-Password-9")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        assert "Wrong" in str(app.screen.query_one("#unlock-message").render())
        await type_into(pilot, "#unlock-password", ADMIN_PASSWORD)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FindUsersScreen)
        assert app.screen.query_one("#search", Input).value == "half-typed"


async def test_zero_minutes_never_locks_and_ctrl_l_logs_out_from_the_lock(ui_db) -> None:
    set_setting("session_timeout_minutes", 0)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        app.last_activity -= 10_000
        app.check_inactivity()
        await settle(pilot)
        assert not isinstance(app.screen, LockScreen)
        app.lock_screen(5)
        await settle(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and app.session is None
