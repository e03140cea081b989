"""SVG snapshots of the merge screen (issue 24) at 80x24 and 120x40: the kept and the merged
user side by side, the value that wins marked, what moves.

Update after an intended change with
`pytest tests/snapshots/test_snapshots_merge.py --snapshot-update`, then review the SVG files."""

from __future__ import annotations

import datetime as dt

import pytest

from models.access.session import open_session
from models.audit import Actor
from models.enums import Source
from models.fees.fees import add_fee
from models.store.tables import Account, Loan
from screens.merge import MergeScreen
from tests.helpers.ui import add_user, settle
from tui.app import PatronDeskApp


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_the_merge_screen(ui_db, snap_compare, size) -> None:
    kept = add_user("Anna", "Müller", "P600", expiry="2030-01-31")
    merged = add_user("Anna", "Mueller", "P601", birth_date="1990-04-01", expiry="2029-06-30",
                      job_description="Student assistant")  # fmt: skip
    add_fee(merged.id, Actor(None, Source.CLI), fee_type="LOST_ITEM", amount="12.50")
    Loan.create(account=merged, item_barcode="I-6", due_date=dt.date(2030, 1, 1))

    async def run_before(pilot) -> None:
        pilot.app.session = open_session(Account.get_by_id(ui_db.admin.id))
        pilot.app.push_screen(MergeScreen(kept.id, merged.id))
        await settle(pilot)

    app = PatronDeskApp(database_label="library.db")
    assert snap_compare(app, terminal_size=size, run_before=run_before)
