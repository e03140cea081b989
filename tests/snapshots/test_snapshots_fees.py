"""SVG snapshots of the Fines/fees tab and the deletion dialog at 80x24 (issue 7), with fixed
dates so that they never change with the calendar. Update after an intended change with
`pytest tests/snapshots/test_snapshots_fees.py --snapshot-update` and review the SVG files
like code."""

from __future__ import annotations

import datetime as dt

from models.access.session import open_session
from models.audit import Actor
from models.enums import Source
from models.fees.fees import add_fee, dispute_fee, pay_fee
from models.runtime import runtime
from models.store.tables import Account, Fee, FeeTransaction, Loan
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import add_user, log_in, settle, type_into
from tui.app import PatronDeskApp

FIXED = dt.datetime(2026, 1, 15, 9, 30)


def app() -> PatronDeskApp:
    return PatronDeskApp(database_label="library.db")


def patron_with_fees() -> Account:
    account = add_user("Anna", "Müller", "P100", expiry="2031-06-30")
    system = Actor(None, Source.CLI)
    # An overdue loan of 10 days at the overdue fine's 0.50 a day: 5.00 accrued, whatever the day.
    Loan.create(account=account, item_barcode="31000042", title="Der Zauberberg / Mann",
                due_date=runtime.today() - dt.timedelta(days=10))  # fmt: skip
    lost = add_fee(account.id, system, fee_type="LOST_ITEM", amount="45.00",
                   item_barcode="31000042", comment="Replacement copy")  # fmt: skip
    pay_fee(lost.id, system, amount="15.00", method="card")
    card = add_fee(account.id, system, fee_type="CARD", amount="5.00")
    dispute_fee(card.id, system, comment="Card was never lost")
    add_fee(account.id, system, fee_type="DAMAGED_ITEM", amount="12.50", comment="Torn pages")
    add_fee(account.id, system, fee_type="CREDIT", amount="2.00", comment="Overpaid in 2025")
    Fee.update(created_at=FIXED, status_date=FIXED).execute()
    FeeTransaction.update(at=FIXED).execute()
    return account


def test_fees_tab(ui_db, snap_compare) -> None:
    account = patron_with_fees()

    async def run_before(pilot) -> None:
        from screens.user_details import UserDetailsScreen

        pilot.app.session = open_session(ui_db.admin)
        pilot.app.push_screen(UserDetailsScreen(account.id))
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)

    assert snap_compare(app(), terminal_size=(80, 24), run_before=run_before)


def test_deletion_dialog_refused(ui_db, snap_compare) -> None:
    patron_with_fees()
    Account.update(expiry_date=dt.date(2036, 1, 31)).where(Account.id == ui_db.admin.id).execute()

    async def run_before(pilot) -> None:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        await type_into(pilot, "#search", "P100")
        await settle(pilot)
        await pilot.press("enter", "delete")
        await settle(pilot)

    assert snap_compare(app(), terminal_size=(80, 24), run_before=run_before)
