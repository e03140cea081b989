"""A staff member changes their own password (found by a usability helper, 2026-12-08: the
README sent staff to My account, which only a patron-only login could reach; their own record
in User Details is refused to a desk role). "My account" in the palette opens it over the
screen they were on; Escape goes back, asking first when something is typed."""

from __future__ import annotations

from textual.widgets import Input

from models.access.auth import login, set_password
from models.access.session import open_session
from models.audit import Actor
from models.enums import Role, Source
from models.store.tables import Account
from screens.confirm import ConfirmScreen
from screens.find_users import FindUsersScreen
from screens.my_account import MyAccountScreen
from tests.helpers.details import staff
from tests.helpers.ui import settle, type_into
from tui.app import PatronDeskApp
from tui.palette import commands, needed_rights, session_rights

OLD, NEW = "Desk-Pass-2026x", "Harbor-Lantern-73"


async def test_a_desk_operator_changes_their_own_password_in_my_account(ui_db) -> None:
    desk = staff(ui_db, Role.CIRCULATION_DESK_OPERATOR, "S0001", username="dana")
    set_password(desk.person_id, OLD, Actor(None, Source.CLI), force_change=False)
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.session = open_session(Account.get_by_id(desk.id))
        app.show_home()
        await settle(pilot)
        home = app.screen
        assert isinstance(home, FindUsersScreen)
        titles = {c.title for c in commands(home, session_rights(app.session, needed_rights(home)))}
        assert "My account (my password, my letters)" in titles, titles
        app.action_my_account()
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MyAccountScreen)
        await pilot.press("f6")
        await settle(pilot)
        await type_into(pilot, "#my-current", OLD)
        await pilot.press("escape")  # something typed: asked first
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # keep editing
        await settle(pilot)
        await type_into(pilot, "#my-new", NEW)
        await type_into(pilot, "#my-confirm", NEW)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.query_one("#my-current", Input).value == ""
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is home
    assert login("dana", NEW).id == desk.id
