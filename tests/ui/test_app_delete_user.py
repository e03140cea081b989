"""The deletion dialog driven with the pilot from Find and Manage Users: refused with the balance
as the reason, waive fees then confirm again, notify user, view user, and the purge preview."""

from __future__ import annotations

import datetime as dt

from textual.widgets import Button, Select, Static

from models.audit import Actor
from models.enums import Source
from models.fees.fees import add_fee
from models.runtime import runtime
from models.store.tables import Account, Letter, Loan
from screens.delete_user import DeleteUserScreen
from screens.find_users import FindUsersScreen, ResultsTable
from screens.purge import PurgeScreen
from screens.user_details import UserDetailsScreen
from screens.user_details.row_form import RowFormScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import SIZE, add_user, log_in, settle, type_into
from tui.app import PatronDeskApp


def with_fee(primary_id: str, amount: str = "12.50") -> Account:
    account = add_user("Rosa", "Quintero", primary_id)
    add_fee(account.id, Actor(None, Source.CLI), fee_type="LOST_ITEM", amount=amount)
    return account


async def open_dialog(pilot, text: str) -> DeleteUserScreen:
    await log_in(pilot, "admin", ADMIN_PASSWORD)
    await type_into(pilot, "#search", text)
    await settle(pilot)
    await pilot.press("enter", "delete")
    await settle(pilot)
    assert isinstance(pilot.app.screen, DeleteUserScreen)
    return pilot.app.screen


def reasons(screen) -> str:
    return str(screen.query_one("#delete-reasons", Static).render())


def buttons(screen) -> list[str]:
    return [b.id for b in screen.query(Button)]


async def test_refused_for_the_balance_then_waived_and_deleted_on_a_second_confirm(ui_db) -> None:
    with_fee("P500")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(pilot, "Quintero")
        assert reasons(dialog).splitlines()[0] == "• a balance of 12.50 EUR is due"
        assert buttons(dialog) == ["view", "waive", "notify", "cancel"], "no delete yet"
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, RowFormScreen)
        app.screen.query_one("#row-reason", Select).value = "GOODWILL"
        await type_into(pilot, "#row-comment", "Moving abroad")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog, "back to the dialog, which asks again"
        assert buttons(dialog) == ["delete", "cancel"]
        assert "Waived 1 fee: 12.50 EUR" in str(dialog.query_one("#delete-message").render())
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, FindUsersScreen)
        await type_into(pilot, "#search", "Quintero")
        await settle(pilot)
        assert app.screen.query_one("#results", ResultsTable).row_count == 0
    assert Account.get_or_none(Account.primary_id == "P500") is None


async def test_notify_user_queues_the_deletion_notice_and_the_dialog_stays(ui_db) -> None:
    account = with_fee("P501", "3.00")
    Loan.create(account=account, item_barcode="I-9", due_date=runtime.today())
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(pilot, "P501")
        assert reasons(dialog).splitlines()[:2] == [
            "• a balance of 3.00 EUR is due",
            "• 1 loan is still out",
        ]
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is dialog and "notify" not in buttons(dialog)
        assert "queued" in str(dialog.query_one("#delete-message").render())
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, UserDetailsScreen)
        assert app.screen.account_id == account.id
    letter = Letter.get()
    assert (letter.account_id, letter.kind) == (account.id, "deletion_notice")


async def test_escape_cancels_and_nothing_is_deleted(ui_db) -> None:
    add_user("Rosa", "Quintero", "P502")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(pilot, "P502")
        assert buttons(dialog) == ["delete", "cancel"]
        assert app.focused is dialog.query_one("#cancel"), "Enter does not delete by accident"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, FindUsersScreen)
    assert Account.get_or_none(Account.primary_id == "P502") is not None


async def test_the_purge_preview_lists_both_sides_and_purges_on_confirm(ui_db) -> None:
    past = runtime.today() - dt.timedelta(days=2)
    gone = add_user("Paul", "Purgeable", "P600")
    kept = with_fee("P601", "1.00")
    Account.update(purge_date=past).where(Account.id.in_([gone.id, kept.id])).execute()
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, PurgeScreen)
        text = str(app.screen.query_one("#purge-report", Static).render())
        assert "P600" in text and "P601  a balance of 1.00 EUR is due" in text
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        text = str(app.screen.query_one("#purge-report", Static).render())
        assert "Purged 1" in text
    assert Account.get_or_none(Account.id == gone.id) is None
    assert Account.get_or_none(Account.id == kept.id) is not None
