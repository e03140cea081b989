"""User Details and the keyboard (found by a usability helper, 2026-12-08).

- A kept User Details screen asked for a user the staff member may not see: a desk operator
  opened a public user, went back, then opened a staff member's record: the refusal showed,
  and from then on no key did anything (Escape, log out, quit): the app had to be killed.
- The first Tab from the tabs went to the General tab's pane, which shows no focus.
"""

from __future__ import annotations

import contextlib

from models.access.session import open_session
from models.enums import RecordType, Role
from models.store.tables import Account
from screens.user_details import UserDetailsScreen
from tests.helpers.details import staff
from tests.helpers.ui import add_user, settle
from tui.app import PatronDeskApp


def anna() -> Account:
    return add_user("Anna", "Müller", "P100", email="anna@example.org")


@contextlib.asynccontextmanager
async def details_of(account: Account, actor: Account, size: tuple[int, int] = (80, 24)):
    """The app at `size`, `actor` logged in, `account` open in User Details."""
    app = PatronDeskApp()
    async with app.run_test(size=size) as pilot:
        app.session = open_session(actor)
        app.open_user(account.id)
        await settle(pilot)
        yield app, pilot


async def test_a_refused_record_after_another_one_leaves_the_keys_working(ui_db) -> None:
    patron = add_user("Anna", "Müller", "P100", email="anna@example.org")
    colleague = add_user(
        "Bruno", "Keller", "S200", record_type=RecordType.STAFF.value, group="STAFF"
    )
    desk = staff(ui_db, Role.CIRCULATION_DESK_OPERATOR, "S0001")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.session = open_session(Account.get_by_id(desk.id))
        home = app.screen
        app.open_user(patron.id)
        await settle(pilot)
        assert isinstance(app.screen, UserDetailsScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is home
        app.open_user(colleague.id)
        await settle(pilot)
        assert isinstance(app.screen, UserDetailsScreen)
        assert "may not view" in str(app.screen.error)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is home, app.screen_stack


async def test_tab_from_the_tabs_goes_to_the_first_field_of_the_general_tab(ui_db) -> None:
    """Found by a usability helper (2026-12-08): the first Tab from the tab bar landed on the
    General tab's scrolling pane, which shows no focus; the second reached First name."""
    from textual.widgets import Input
    from textual.widgets._tabs import Tabs

    patron = anna()
    async with details_of(patron, ui_db.admin, (80, 24)) as (app, pilot):
        app.screen.query_one(Tabs).focus()
        await settle(pilot)
        await pilot.press("tab")
        await settle(pilot)
        assert isinstance(app.focused, Input), app.focused


async def test_a_wrong_date_is_said_when_its_field_is_left(ui_db) -> None:
    """Found by a usability helper (2026-12-08): on the General tab a birth date "2013-13-45"
    was said wrong only at ctrl+s (Quick User Management says it as the field is left); a
    field not visited yet gets no message, and what was typed stays."""
    from textual.widgets import Input

    from tui.widgets import Field

    patron = anna()
    async with details_of(patron, ui_db.admin, (120, 40)) as (app, pilot):
        screen = app.screen
        birth = screen.query_one("#g-birth_date", Input)
        birth.focus()
        birth.value = "2013-13-45"
        screen.query_one("#g-last_name", Input).value = ""  # wrong too, but not visited
        await settle(pilot)
        await pilot.press("tab")
        await settle(pilot)
        assert screen.query_one("#field-g-birth_date", Field).error
        assert not screen.query_one("#field-g-last_name", Field).error
        assert birth.value == "2013-13-45"
        assert app.focused is not birth  # the message does not take the focus back


async def test_a_block_and_a_role_show_by_name(ui_db) -> None:
    """Found by a usability helper (2026-12-08): the Blocks tab showed LOST_CARD and the
    Roles tab circulation_desk_operator; coded values show by name, as the forms offer them."""
    from models.audit import Actor
    from models.enums import Source
    from models.users.rows import Kind, add_row
    from tui.table import RowTable

    patron = anna()
    system = Actor(None, Source.CLI)
    add_row(Kind.BLOCK, patron.id, Account.get_by_id(patron.id).version,
            {"definition": "LOST_CARD"}, system)  # fmt: skip
    async with details_of(patron, ui_db.admin, (120, 40)) as (app, pilot):
        for key, shown in (("f6", "Lost library card"), ("f11", "Patron")):
            await pilot.press(key)
            await settle(pilot)
            table = app.screen.query_one(
                f"#{'block' if key == 'f6' else 'role'} RowTable", RowTable
            )
            assert shown in str(table.get_row_at(0)), (key, table.get_row_at(0))


async def test_a_view_only_role_still_scrolls_the_general_tab(ui_db) -> None:
    """Found by a review (2026-12-08): with the pane no Tab stop, a view-only role (every
    field disabled) had nothing to focus on the General tab and could not scroll it at 80x24
    without a mouse. With no field to edit, the pane takes the focus and scrolls."""
    from textual.widgets._tabs import Tabs

    from models.enums import Role
    from screens.user_details.general import GeneralPane
    from tests.helpers.details import staff

    patron = anna()
    viewer = staff(ui_db, Role.FULFILLMENT_SERVICES_OPERATOR, "S0001")
    async with details_of(patron, Account.get_by_id(viewer.id), (80, 24)) as (app, pilot):
        pane = app.screen.query_one(GeneralPane)
        app.screen.query_one(Tabs).focus()
        await settle(pilot)
        await pilot.press("tab")
        await settle(pilot)
        assert app.focused is pane, app.focused
        await pilot.press("pagedown")
        await settle(pilot)
        assert pane.scroll_y > 0 and pane.max_scroll_y > 0


async def test_leaving_a_wrong_pin_keeps_its_message(ui_db) -> None:
    """Found by a review (2026-12-08): the PIN is checked at the save only, and leaving its
    field after a refused save cleared its message while the PIN was still wrong."""
    from textual.widgets import Input

    from tui.widgets import Field

    patron = anna()
    async with details_of(patron, ui_db.admin, (120, 40)) as (app, pilot):
        pin = app.screen.query_one("#g-pin", Input)
        pin.focus()
        pin.value = "12"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen.query_one("#field-g-pin", Field).error
        app.screen.query_one("#g-pin", Input).focus()
        await settle(pilot)
        await pilot.press("tab")
        await settle(pilot)
        assert app.screen.query_one("#field-g-pin", Field).error
