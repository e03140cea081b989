"""Issue 18 (login and session) and issue 19 item 1 (log out from anywhere), tried as an
attacker or a desk would: through the login service the screens call, or the app under the
pilot."""

from __future__ import annotations

from conftest import ADMIN_PASSWORD
from uihelp import SIZE, add_user, log_in, settle

from screens.configuration import ConfigurationScreen
from screens.find_users import FindUsersScreen
from screens.lock import LockScreen
from screens.login import LoginScreen
from screens.quick_user import QuickUserScreen
from screens.user_details import UserDetailsScreen
from tui.app import PatronDeskApp

# --- Log out from any screen (issue 19 item 1) --------------------------------------------------


async def _logged_in(pilot) -> None:
    await log_in(pilot, "admin", ADMIN_PASSWORD)
    assert isinstance(pilot.app.screen, FindUsersScreen)


async def _assert_logged_out(pilot) -> None:
    await settle(pilot)
    assert isinstance(pilot.app.screen, LoginScreen)
    assert pilot.app.session is None
    assert len(pilot.app.screen_stack) == 2, "nothing of the session is left under the login"


async def test_ctrl_l_from_user_details_returns_to_the_login(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(pilot)
        app.push_screen(UserDetailsScreen(anna.id))
        await settle(pilot)
        assert isinstance(app.screen, UserDetailsScreen)
        await pilot.press("ctrl+l")
        await _assert_logged_out(pilot)


async def test_ctrl_l_from_configuration_returns_to_the_login(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, ConfigurationScreen)
        await pilot.press("ctrl+l")
        await _assert_logged_out(pilot)


async def test_ctrl_l_from_quick_user_returns_to_the_login(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, QuickUserScreen)
        await pilot.press("ctrl+l")
        await _assert_logged_out(pilot)


async def test_ctrl_l_from_the_lock_over_an_open_record_returns_to_the_login(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await _logged_in(pilot)
        app.push_screen(UserDetailsScreen(anna.id))
        await settle(pilot)
        app.lock_screen(5)
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        await pilot.press("ctrl+l")
        await _assert_logged_out(pilot)
