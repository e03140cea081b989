"""Find and Manage Users, driven with the pilot as a librarian would: keys only."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import Input

from models.enums import RecordType, Status
from models.runtime import runtime
from models.store.tables import Account, AuditEvent, Fee, FeeType, Loan
from screens.confirm import ConfirmScreen
from screens.delete_user import DeleteUserScreen
from screens.find_users import MAX_PAGES, PAGE, FindUsersScreen, ResultsTable
from screens.user_details import UserDetailsScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import SIZE, add_user, log_in, settle, type_into
from tui.app import PatronDeskApp


@pytest.fixture
def people(ui_db):
    add_user("Anna", "Müller", "P100", identifier="BC-7781")
    add_user("Jörg", "Mueller-Lüdenscheidt", "P101")
    add_user("Zoé", "Dupont", "P102", email="zoe.dupont@uni.example")
    add_user("Björn", "Staffsson", "S200", record_type=RecordType.STAFF.value, group="STAFF")
    add_user("", "ACME Books", "C300", record_type=RecordType.CONTACT.value, group="CONTACT")
    old = add_user("Otto", "Expired", "P103", expiry_days=30)
    Account.update(expiry_date=runtime.today() - dt.timedelta(days=3)).where(
        Account.id == old.id
    ).execute()
    return ui_db


def names(app) -> list[str]:
    table = app.screen.query_one("#results", ResultsTable)
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


async def search(pilot, text: str) -> list[str]:
    await type_into(pilot, "#search", text)
    await settle(pilot)
    return names(pilot.app)


async def start(pilot) -> None:
    await log_in(pilot, "admin", ADMIN_PASSWORD)
    assert isinstance(pilot.app.screen, FindUsersScreen)


async def test_after_login_the_search_box_has_the_focus_and_everyone_is_listed(people) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        assert app.focused is app.screen.query_one("#search", Input)
        assert len(names(app)) == 7  # six users and the administrator
        assert "7 users" in str(app.screen.query_one("#count").render())


async def test_surname_prefix_without_accents_finds_muller(people) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        found = await search(pilot, "mul")
        assert found == ["Müller, Anna"]
        found = await search(pilot, "MUE")
        assert found == ["Mueller-Lüdenscheidt, Jörg"]
        assert await search(pilot, "anna mü") == ["Müller, Anna"]
        assert await search(pilot, "ludensch") == ["Mueller-Lüdenscheidt, Jörg"]


async def test_typing_key_by_key_searches_as_you_type(people) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await pilot.press(*"dup")
        await settle(pilot)
        assert names(app) == ["Dupont, Zoé"]


async def test_identifier_barcode_and_email_match_exactly(people) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        assert await search(pilot, "bc-7781") == ["Müller, Anna"]
        assert await search(pilot, "p102") == ["Dupont, Zoé"]
        assert await search(pilot, "ZOE.DUPONT@uni.example") == ["Dupont, Zoé"]
        assert await search(pilot, "nobody-at-all") == []
        assert "No user matches" in str(app.screen.query_one("#count").render())


async def test_tabs_on_keys_show_one_record_type(people) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await pilot.press("f2")
        await settle(pilot)
        assert set(names(app)) == {"Staffsson, Björn", "Administrator"}
        await pilot.press("f4")
        await settle(pilot)
        assert names(app) == ["ACME Books"]
        await pilot.press("f3")
        await settle(pilot)
        assert "Staffsson, Björn" not in names(app) and "Müller, Anna" in names(app)
        await pilot.press("f5")
        await settle(pilot)
        assert len(names(app)) == 7


async def test_status_filter_separates_expired_users(people) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        screen = app.screen
        screen.query_one("#status").value = "inactive"
        await settle(pilot)
        assert names(app) == ["Expired, Otto"]
        screen.query_one("#status").value = "active"
        await settle(pilot)
        assert "Expired, Otto" not in names(app) and len(names(app)) == 6
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert len(names(app)) == 7


async def test_deactivate_from_the_keyboard_asks_then_records_history(people) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await search(pilot, "dupont")
        await pilot.press("enter")  # from the search box to the results
        await pilot.pause()
        assert isinstance(app.focused, ResultsTable)
        await pilot.press("ctrl+t")  # not a letter: letters typed in the list are a search
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, FindUsersScreen)
    account = Account.get(Account.primary_id == "P102")
    assert account.status == Status.INACTIVE
    event = AuditEvent.get(
        (AuditEvent.account_id == account.id)
        & (AuditEvent.field == "status")
        & (AuditEvent.action == "update")
    )
    assert (event.old_value, event.new_value, event.source) == ("active", "inactive", "screen")


async def test_delete_is_refused_with_every_reason_while_a_balance_or_loan_is_open(people) -> None:
    account = Account.get(Account.primary_id == "P100")
    fee_type = FeeType.get(FeeType.code == "LOST_ITEM")
    Fee.create(account=account, fee_type=fee_type, original_minor=1250, balance_minor=1250)
    Loan.create(account=account, item_barcode="I-1", due_date=runtime.today())
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await search(pilot, "müller")
        await pilot.press("enter", "delete")
        await settle(pilot)
        await pilot.press("y")  # refused: the dialog lists the reasons and offers no delete
        await settle(pilot)
        assert isinstance(app.screen, DeleteUserScreen)
        text = str(app.screen.query_one("#delete-reasons").render())
        assert "12.50" in text and "1 loan" in text
    assert Account.get_or_none(Account.primary_id == "P100") is not None


async def test_delete_of_a_settled_user_removes_them(people) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await search(pilot, "dupont")
        await pilot.press("enter", "delete")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert await search(pilot, "dupont") == []
    assert Account.get_or_none(Account.primary_id == "P102") is None
    assert AuditEvent.select().where(AuditEvent.action == "delete").exists()


async def test_enter_opens_the_record_and_escape_comes_back(people) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await search(pilot, "bc-7781")
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, UserDetailsScreen)
        head = str(app.screen.query_one("#details-head").render())
        assert "Müller, Anna" in head and "P100" in head
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, FindUsersScreen)
        await pilot.press("ctrl+f")
        assert app.focused is app.screen.query_one("#search", Input)


async def test_down_from_the_search_box_goes_to_the_results_and_up_comes_back(people) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await settle(pilot)  # everyone listed
        results = app.screen.query_one(ResultsTable)
        await pilot.press("down")
        assert app.focused is results and results.cursor == 0
        await pilot.press("down")
        assert results.cursor == 1
        await pilot.press("up", "up")  # the first row, then the search box
        assert app.focused is app.screen.query_one("#search", Input)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, UserDetailsScreen)


async def test_sort_by_expiry_on_a_key(people) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        app.screen.query_one("#results").focus()
        await pilot.press("f12")  # sort by expiry (a letter would go to the search box)
        await settle(pilot)
        assert names(app)[0] == "Expired, Otto"
        await pilot.press("f12")  # again: reversed
        await settle(pilot)
        assert names(app)[-1] == "Expired, Otto"


async def test_scrolling_to_the_end_keeps_a_small_window(ui_db) -> None:
    total = PAGE * MAX_PAGES + 150
    for i in range(total - 1):
        add_user("Test", f"Person{i:04d}", f"T{i:04d}")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        app.screen.query_one("#results").focus()
        seen: set[str] = set()
        for _ in range(total // 10):
            await pilot.press("pagedown")
            seen.update(names(app))
            assert len(names(app)) <= PAGE * MAX_PAGES
        assert len(seen) == total, "every row was reached, none twice"
        assert names(app)[-1] == f"Person{total - 2:04d}, Test"
        for _ in range(total // 10):
            await pilot.press("pageup")
        assert names(app)[0] == "Administrator"


async def test_a_new_user_group_appears_in_the_filter_when_coming_back(people) -> None:
    from textual.widgets import Select

    from models.store.tables import Organization, UserGroup

    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        screen = app.screen
        org = Organization.get(Organization.code == "MAIN")
        UserGroup.create(organization=org, code="VISITING", name="Visiting scholar")
        await pilot.press("f1")  # another screen on top, then back
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        labels = [str(label) for label, _ in screen.query_one("#group", Select)._options]
        assert "Visiting scholar" in labels
