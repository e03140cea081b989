"""The Fines/fees tab driven with the pilot: the issue's desk sequence key by key, refusals shown
at the field with the form kept, marked fees waived together, waive all, the debt-limit mark."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import Select, Static

from models.access.session import open_session
from models.audit import Actor
from models.config.settings import set_setting
from models.enums import Source
from models.fees.fees import add_fee, dispute_fee
from models.store.tables import Account, Fee
from screens.confirm import InfoScreen
from screens.user_details import UserDetailsScreen
from screens.user_details.fees import FeesPane, FeesTable
from screens.user_details.row_form import RowFormScreen
from tests.helpers.ui import SIZE, add_user, settle, type_into
from tui.app import PatronDeskApp
from tui.table import RowTable


@pytest.fixture
def anna(ui_db) -> Account:
    return add_user("Anna", "Müller", "P100", email="anna@example.org")


async def open_fees(pilot, ui_db, account: Account) -> UserDetailsScreen:
    pilot.app.session = open_session(ui_db.admin)
    screen = UserDetailsScreen(account.id)
    pilot.app.push_screen(screen)
    await settle(pilot)
    await pilot.press("f7")
    await settle(pilot)
    assert isinstance(pilot.app.focused, FeesTable), "the table has the keys at once"
    return screen


async def form(pilot, key: str, **values: str) -> None:
    """Open a fee form with `key`, fill it (selects by value) and save with ctrl+s."""
    await pilot.press(key)
    await settle(pilot)
    assert isinstance(pilot.app.screen, RowFormScreen)
    for name, value in values.items():
        widget = pilot.app.screen.query_one(f"#row-{name}")
        if isinstance(widget, Select):
            widget.value = value
        else:
            await type_into(pilot, f"#row-{name}", value)
    await pilot.press("ctrl+s")
    await settle(pilot)


def summary(screen) -> str:
    return str(screen.query_one("#fees-summary", Static).render())


def rows(screen) -> list[tuple[str, ...]]:
    table = screen.query_one("#fees-table", RowTable)
    return [table.get_row_at(i) for i in range(table.row_count)]


async def test_the_desk_sequence_reads_five_active_and_history_shows_each_step(ui_db, anna) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_fees(pilot, ui_db, anna)
        await form(pilot, "n", fee_type="DAMAGED_ITEM", amount="12.50", comment="Torn pages")
        assert app.screen is screen
        assert "Active balance 12.50 EUR" in summary(screen)
        await form(pilot, "p", amount="2.50", method="card")
        assert "Active balance 10.00 EUR" in summary(screen)
        await form(pilot, "d", comment="Says it was torn already")
        assert "Active balance 0.00 EUR" in summary(screen)
        assert "disputed 10.00 EUR" in summary(screen)
        assert "s changes the status shown" in str(screen.query_one("#fees-detail").render())
        await pilot.press("s", "down", "enter")  # the status filter: Disputed
        await settle(pilot)
        assert screen.query_one("#fees-status", Select).value == "disputed"
        assert isinstance(app.focused, FeesTable), "back to the table's keys"
        await form(pilot, "r", comment="Checked the return note")
        await pilot.press("s", "up", "enter")  # Active again
        await settle(pilot)
        await form(pilot, "w", amount="5.00", reason="GOODWILL", comment="First time")
        assert "Active balance 5.00 EUR" in summary(screen)
        assert "disputed 0.00 EUR" in summary(screen)
        assert "balance 5.00 EUR" in str(screen.query_one("#details-head").render())
        assert [r[-2:] for r in rows(screen)] == [("     12.50", "      5.00")]
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, InfoScreen)
        steps = str(app.screen.query_one("#info-text", Static).render())
        for step in ("create", "pay", "dispute", "restore", "waive", "Goodwill · First time"):
            assert step in steps
        await pilot.press("escape")
        await pilot.press("f12")
        await settle(pilot)
        app.screen.query_one("#history-period", Select).value = "all"
        await settle(pilot)
        history = [r[4:] for r in app.screen.query_one("#history-table", RowTable).rows]
        assert ("fee.pay", "", "2.50 EUR · card") in history
        assert ("fee.status", "disputed", "active") in history
        assert ("fee.balance", "10.00 EUR", "5.00 EUR") in history
    fee = Fee.get()
    assert (fee.original_minor, fee.balance_minor, fee.status) == (1250, 500, "active")


async def test_the_summary_shows_the_disputed_balance_of_the_fees_listed(ui_db, anna) -> None:
    system = Actor(None, Source.CLI)
    add_fee(anna.id, system, fee_type="CARD", amount="5.00")
    torn = add_fee(anna.id, system, fee_type="DAMAGED_ITEM", amount="12.50", comment="Torn")
    dispute_fee(torn.id, system, comment="Was torn already")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_fees(pilot, ui_db, anna)
        lines = summary(screen).split("\n")
        assert lines[0].startswith("Active balance 5.00 EUR · filtered 5.00 EUR")
        assert "disputed 12.50 EUR" in lines[0]
        assert lines[1].startswith("Filtered disputed 0.00 EUR · transferred 0.00 EUR")
        await pilot.press("s", "end", "enter")  # the status filter: All statuses
        await settle(pilot)
        assert screen.query_one("#fees-status", Select).value == "all"
        assert "Filtered disputed 12.50 EUR" in summary(screen)
        assert "filtered 17.50 EUR" in summary(screen)


def fees_of(account: Account, *amounts: str, code: str = "CARD") -> None:
    """Fees made through the service (the forms are tested once, in the desk sequence)."""
    for amount in amounts:
        add_fee(account.id, Actor(None, Source.CLI), fee_type=code, amount=amount)


async def test_a_refused_waive_keeps_the_form_with_the_message_at_the_field(ui_db, anna) -> None:
    fees_of(anna, "5")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_fees(pilot, ui_db, anna)
        await form(pilot, "w", amount="7.00", reason="GOODWILL")
        assert isinstance(app.screen, RowFormScreen), "refused: the form stays"
        assert (
            "more than the balance of 5.00 EUR" in app.screen.query_one("#field-row-amount").error
        )
        assert app.screen.query_one("#row-amount").value == "7.00"
        await pilot.press("escape", "y")  # what was typed is dropped only when confirmed
        await settle(pilot)
        assert app.screen is screen
        await form(pilot, "n", fee_type="CREDIT", amount="3")
        assert "required for a credit" in app.screen.query_one("#field-row-comment").error
        await pilot.press("escape", "y")
        await form(pilot, "n", fee_type="REGISTRATION", amount="-1")
        assert "must not be negative" in app.screen.query_one("#field-row-amount").error
    assert Fee.select().count() == 1


async def test_marked_fees_are_waived_together_and_waive_all_takes_the_rest(ui_db, anna) -> None:
    fees_of(anna, "1.00", "2.00", "4.00")
    for fee in Fee.select():  # a distinct time each: the list is newest first
        Fee.update(created_at=fee.created_at + dt.timedelta(minutes=fee.id)).where(
            Fee.id == fee.id
        ).execute()
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_fees(pilot, ui_db, anna)
        await pilot.press("home", "space", "space")  # marks the two newest: 4.00 and 2.00
        await settle(pilot)
        assert [r[0] for r in rows(screen)] == ["✓", "✓", ""]
        assert "2 marked" in summary(screen)
        await form(pilot, "w", reason="LIBRARY_ERROR")
        assert "Active balance 1.00 EUR" in summary(screen)
        await form(pilot, "W", reason="GOODWILL")
        assert "Active balance 0.00 EUR" in summary(screen)
        assert rows(screen) == []
        assert "No fees with this filter" in str(screen.query_one("#fees-detail").render())
    assert {f.status for f in Fee.select()} == {"waived"}


async def test_the_debt_limit_shows_in_the_tab_and_the_header(ui_db, anna) -> None:
    set_setting("debt_limit_minor", 1000)
    fees_of(anna, "10", code="LOST_ITEM")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_fees(pilot, ui_db, anna)
        assert "DEBT LIMIT 10.00 EUR REACHED" in summary(screen)
        assert "DEBT LIMIT" in str(screen.query_one("#details-head").render())
        assert isinstance(screen.query_one(FeesPane), FeesPane)


async def test_a_desk_operator_is_offered_only_the_fee_actions_it_may_take(ui_db, anna) -> None:
    """Found by a usability helper (2026-12-08): a circulation desk operator (pay, not add
    or waive) saw "n add ... w waive" on the tab and in the footer, filled a fee form in, and
    was refused at ctrl+s. The keys it may not use are not offered, and do nothing."""
    from models.enums import Role
    from tests.helpers.details import staff
    from tui.widgets import KeyBar

    add_fee(anna.id, Actor(None, Source.CLI), fee_type="LOST_ITEM", amount="30.00")
    desk = staff(ui_db, Role.CIRCULATION_DESK_OPERATOR, "S0001")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(Account.get_by_id(desk.id))
        screen = UserDetailsScreen(anna.id)
        app.push_screen(screen)
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        hint = str(screen.query_one("#fees-hint", Static).render())
        assert "p pay" in hint and "n add" not in hint and "w waive" not in hint, hint
        footer = " ".join(d for _, _, d, _ in screen.query_one(KeyBar)._shown_keys())
        assert "Pay" in footer and "Add fee" not in footer and "Waive" not in footer, footer
        for key in ("n", "w", "d"):
            await pilot.press(key)
            await settle(pilot)
            assert app.screen is screen, key  # no form to fill in and be refused
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, RowFormScreen)  # paying is a desk's
