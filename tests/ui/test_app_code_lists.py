"""Code tables that are lists in Alma (issue 22, item 6 a-c), driven with the pilot: Title a
choice of the organization's titles on Quick User and the General tab (free text without
any), the job categories and identifier types offered following the record type."""

from __future__ import annotations

import datetime as dt

from textual.widgets import Input, Select

from models.access.session import open_session
from models.runtime import runtime
from models.store.tables import Account, IdentifierType, JobCategory, Person, UserTitle
from screens.quick_user import QuickUserScreen
from screens.user_details import UserDetailsScreen
from tests.helpers.ui import SIZE, add_user, settle, type_into
from tui.app import PatronDeskApp

NEXT_YEAR = (runtime.today() + dt.timedelta(days=365)).isoformat()


def titles(ui_db, *names: str) -> None:
    for name in names:
        UserTitle.create(organization=ui_db.organization, code=name.strip(".").upper(), name=name)


def options(screen, selector: str) -> list[str]:
    return [str(value) for _, value in screen.query_one(selector, Select)._options[1:]]


async def quick_user(pilot, ui_db, **kwargs) -> QuickUserScreen:
    pilot.app.session = open_session(ui_db.admin)
    screen = QuickUserScreen(**kwargs)
    pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


async def details(pilot, ui_db, account: Account) -> UserDetailsScreen:
    pilot.app.session = open_session(ui_db.admin)
    pilot.app.open_user(account.id)
    await settle(pilot)
    return next(s for s in pilot.app.screen_stack if isinstance(s, UserDetailsScreen))


def staff_only(model, code: str) -> None:
    model.update(record_types="staff").where(model.code == code).execute()


# --- Quick User ---------------------------------------------------------------------------------


async def test_quick_user_types_a_title_when_there_is_no_list(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await quick_user(pilot, ui_db, tab="public")
        assert isinstance(screen.query_one("#title"), Input)


async def test_quick_user_offers_the_active_titles(ui_db) -> None:
    titles(ui_db, "Dr.", "Prof.", "Rev.")
    UserTitle.update(active=False).where(UserTitle.code == "REV").execute()
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await quick_user(pilot, ui_db, tab="public")
        title = screen.query_one("#title", Select)
        assert options(screen, "#title") == ["Dr.", "Prof."]
        assert title.value is Select.NULL, "empty allowed"
        title.value = "Prof."
        for name, value in {
            "first_name": "Léa",
            "last_name": "Fontaine",
            "primary_id": "P9001",
            "expiry_date": NEXT_YEAR,
            "email": "lea@example.org",
        }.items():
            await type_into(pilot, f"#{name}", value)
        screen.query_one("#user_group", Select).value = "PUBLIC"
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert Account.get(Account.primary_id == "P9001").person.title == "Prof."


async def test_quick_user_job_categories_and_identifier_types_follow_the_record_type(
    ui_db,
) -> None:
    staff_only(JobCategory, "CATALOGER")
    staff_only(IdentifierType, "UNIV_ID")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await quick_user(pilot, ui_db, tab="all")
        assert "CATALOGER" not in options(screen, "#job_category")
        assert "UNIV_ID" not in options(screen, "#identifier_type")
        assert "LIBRARIAN" in options(screen, "#job_category")
        screen.query_one("#record_type", Select).value = "staff"
        await settle(pilot)
        assert "CATALOGER" in options(screen, "#job_category")
        assert "UNIV_ID" in options(screen, "#identifier_type")
        screen.query_one("#job_category", Select).value = "CATALOGER"
        screen.query_one("#record_type", Select).value = "public"
        await settle(pilot)
        assert "CATALOGER" not in options(screen, "#job_category")
        assert screen.query_one("#job_category", Select).value is Select.NULL


# --- The General tab ----------------------------------------------------------------------------


async def test_the_general_tab_offers_titles_and_keeps_a_title_not_listed(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100", title="Herr Doktor")
    bruno = add_user("Bruno", "Keller", "P101")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await details(pilot, ui_db, anna)
        assert isinstance(screen.query_one("#g-title"), Input), "no list: typed"
        await pilot.press("escape")
        await settle(pilot)
        titles(ui_db, "Dr.", "Prof.")
        # The kept screen, built with a typed Title, shows the next user with the choice.
        screen = await details(pilot, ui_db, bruno)
        assert options(screen, "#g-title") == ["Dr.", "Prof."]
        await pilot.press("escape")
        await settle(pilot)
        screen = await details(pilot, ui_db, anna)
        title = screen.query_one("#g-title", Select)
        assert options(screen, "#g-title") == ["Dr.", "Prof.", "Herr Doktor"]
        assert title.value == "Herr Doktor", "a title from before the list is shown"
        await type_into(pilot, "#g-job_description", "Reader")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert Person.get_by_id(anna.person_id).title == "Herr Doktor", "kept on save"
        title.value = "Dr."
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert Person.get_by_id(anna.person_id).title == "Dr."


async def test_the_general_tab_offers_the_job_categories_of_the_record_type(ui_db) -> None:
    staff_only(JobCategory, "CATALOGER")
    anna = add_user("Anna", "Müller", "P100")
    bruno = add_user("Bruno", "Keller", "S200", record_type="staff", group="STAFF")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await details(pilot, ui_db, anna)
        assert "CATALOGER" not in options(screen, "#g-job_category")
        assert "LIBRARIAN" in options(screen, "#g-job_category")
        await pilot.press("escape")
        await settle(pilot)
        screen = await details(pilot, ui_db, bruno)
        assert "CATALOGER" in options(screen, "#g-job_category")


# --- The identifier form ------------------------------------------------------------------------


async def test_the_identifier_form_offers_the_types_of_the_record_type(ui_db) -> None:
    staff_only(IdentifierType, "UNIV_ID")
    anna = add_user("Anna", "Müller", "P100")
    bruno = add_user("Bruno", "Keller", "S200", record_type="staff", group="STAFF")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        for account, offered in ((anna, False), (bruno, True)):
            await details(pilot, ui_db, account)
            await pilot.press("f4")
            await settle(pilot)
            await pilot.press("n")
            await settle(pilot)
            types = options(app.screen, "#row-id_type")
            assert "BARCODE" in types
            assert ("UNIV_ID" in types) is offered
            await pilot.press("escape")
            await settle(pilot)
            await pilot.press("escape")
            await settle(pilot)


async def test_ctrl_n_from_find_users_shows_the_titles_once(ui_db) -> None:
    """Seen in tmux at 120x40: ctrl+n with a list of titles ended the app with DuplicateIds,
    the typed Title being swapped for a choice twice at once (two reads of the lists)."""
    from screens.find_users import FindUsersScreen

    titles(ui_db, "Dr.", "Prof.")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(ui_db.admin)
        app.push_screen(FindUsersScreen())
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, QuickUserScreen)
        assert len(app.screen.query("#title")) == 1
        assert options(app.screen, "#title") == ["Dr.", "Prof."]
