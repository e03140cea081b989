"""Likely existing people while a new user is typed (issue 24), driven with the pilot: the
issue's "Done when": "Mueller" and a birth date typed in the new-user form show the existing
Müller born that day before anything is saved; the focus stays in the field typed in; a key
opens the person's card, another reuses a person of another organization (reuse rules)."""

from __future__ import annotations

import asyncio
import datetime as dt

from textual.widgets import Input, Static

from models.access.session import open_session
from models.config.seed import seed_code_tables
from models.store.tables import Account, Library, Organization
from screens.confirm import ConfirmScreen
from screens.quick_user import LIKELY_DELAY, QuickUserScreen
from screens.user_card import UserCardScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import SIZE, add_user, log_in, settle, type_into
from tui.app import PatronDeskApp

BORN = dt.date(1984, 3, 7)


async def _form(pilot, ui_db, **options) -> QuickUserScreen:
    pilot.app.session = open_session(ui_db.admin)
    screen = QuickUserScreen(**options)
    pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


async def _typed(pilot) -> None:
    await asyncio.sleep(LIKELY_DELAY + 0.1)
    await settle(pilot)


def _panel(screen) -> str:
    panel = screen.query_one("#likely-people", Static)
    return str(panel.render()) if panel.has_class("shown") else ""


async def test_mueller_and_a_birth_date_show_the_existing_mueller_before_saving(ui_db) -> None:
    existing = add_user("Anna", "Müller", "P4242", birth_date=BORN)
    add_user("Anna", "Schmidt", "P4243", birth_date=BORN)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _form(pilot, ui_db, register=True)
        await type_into(pilot, "#last_name", "Mueller", keys=True)
        await _typed(pilot)
        assert _panel(screen) == ""  # a last name alone looks nobody up
        await type_into(pilot, "#birth_date", BORN.isoformat().replace("-", ""), keys=True)
        await _typed(pilot)
        shown = _panel(screen)
        assert "Müller, Anna  1984-03-07  P4242" in shown
        assert "same last name but for accents, same birth date" in shown
        assert "Schmidt" not in shown
        assert screen.focused is screen.query_one("#birth_date", Input)  # the focus stayed
        assert not Account.select().where(Account.primary_id == "P9001").exists()

        await pilot.press("f4")  # open: the read-only card
        await settle(pilot)
        assert isinstance(app.screen, UserCardScreen)
        assert app.screen.card.account_id == existing.id
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen

        await pilot.press("f5")  # reuse: this person has an account here already
        await settle(pilot)
        assert "already has an account in this organization" in str(
            screen.query_one("#form-message").render()
        )
        assert screen.person_id is None


async def test_a_person_of_another_organization_found_by_email_is_reused(ui_db) -> None:
    org2 = Organization.create(code="SECOND", name="Second")
    Library.create(organization=org2, code="SEC", name="Second library")
    seed_code_tables(org2)
    other = add_user("Jürgen", "Strauß", "X0001", organization=org2, email="js@example.org")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _form(pilot, ui_db, tab="public")
        await type_into(pilot, "#last_name", "Strauss")
        await type_into(pilot, "#email", "JS@example.org")
        await _typed(pilot)
        shown = _panel(screen)
        assert "Strauß, Jürgen" in shown and "another organization" in shown
        assert "same email" in shown
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert screen.person_id == other.person_id
        assert screen.query_one("#first_name", Input).value == "Jürgen"
        assert screen.query_one("#first_name", Input).disabled
        assert _panel(screen) == ""


async def test_the_duplicates_screen_lists_pairs_and_forgets_one_marked_not_a_duplicate(
    ui_db,
) -> None:
    from textual.widgets import DataTable

    from models.store.tables import DuplicateDismissal
    from screens.duplicates import DuplicatesScreen
    from screens.find_users import FindUsersScreen

    add_user("Anna", "Müller", "P4242", birth_date=BORN)
    add_user("Müller", "Anna", "P4243", birth_date=BORN)  # names swapped
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        assert isinstance(app.screen, FindUsersScreen)
        await pilot.press("shift+f8")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DuplicatesScreen)
        table = screen.query_one(DataTable)
        assert table.row_count == 1
        row = [str(c) for c in table.get_row_at(0)]
        assert "P4242" in row[-2] and "P4243" in row[-1]  # at this width: score, the two people
        why = str(screen.query_one("#duplicates-why", Static).render())
        assert "first and last names swapped, same birth date" in why
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert table.row_count == 0
        assert DuplicateDismissal.select().count() == 1


async def test_m_on_a_pair_merges_it_through_the_merge_screen(ui_db) -> None:
    from textual.widgets import DataTable

    from models.store.tables import Account
    from screens.duplicates import DuplicatesScreen
    from screens.merge import MergeScreen

    add_user("Anna", "Müller", "P4252", birth_date=BORN)
    add_user("Anna", "Mueller", "P4253", birth_date=BORN)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        await pilot.press("shift+f8")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DuplicatesScreen)
        assert screen.query_one(DataTable).row_count == 1
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, MergeScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is screen
        assert screen.query_one(DataTable).row_count == 0  # scanned again: one person left
    assert Account.select().where(Account.primary_id.in_(["P4252", "P4253"])).count() == 1
