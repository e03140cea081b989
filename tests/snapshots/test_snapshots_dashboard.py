"""SVG snapshots of the dashboard (issue 25, item 1) at 80x24 and 120x40: a fixed clock and fixed
creation and expiry dates, so that the charts never change with the calendar. Update after an
intended change with `pytest tests/snapshots/test_snapshots_dashboard.py --snapshot-update` and
review the SVG files like code."""

from __future__ import annotations

import datetime as dt

import pytest

from models.runtime import configure
from models.store.tables import Account, Block, BlockDefinition
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.details import CHEAP
from tests.helpers.ui import add_user, log_in, settle
from tui.app import PatronDeskApp

NOW = dt.datetime(2026, 3, 15, 10, 30)
SIZES = [(80, 24), (120, 40)]
PEOPLE = [
    ("Anna", "Muster", "UNDERGRAD", 5, dt.datetime(2026, 3, 2)),
    ("Ben", "Keller", "UNDERGRAD", 12, dt.datetime(2026, 1, 10)),
    ("Cleo", "Brun", "PUBLIC", 30, dt.datetime(2025, 11, 20)),
    ("Dora", "Roth", "GRAD", 40, dt.datetime(2025, 6, 1)),
    ("Emil", "Frei", "GRAD", 300, dt.datetime(2024, 6, 1)),
    ("Fritz", "Lang", "ALUMNI", 61, dt.datetime(2025, 9, 9)),
]


def _plant() -> None:
    configure(clock=lambda: NOW, hasher=CHEAP)
    for i, (first, last, group, days, created) in enumerate(PEOPLE):
        account = add_user(first, last, f"P{i:03d}", group=group, expiry_days=days)
        Account.update(created_at=created).where(Account.id == account.id).execute()
        if i % 3 == 1:
            Block.create(
                account=account, definition=BlockDefinition.get(BlockDefinition.code == "OVERDUE")
            )
    Account.update(created_at=dt.datetime(2020, 1, 1), expiry_date=dt.date(2036, 1, 31)).where(
        Account.primary_id == "admin"
    ).execute()


async def _dashboard(pilot, *keys: str) -> None:
    await log_in(pilot, "admin", ADMIN_PASSWORD)
    await pilot.press("shift+f5")
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_users_per_user_group(ui_db, snap_compare, size) -> None:
    _plant()

    async def run_before(pilot) -> None:
        await _dashboard(pilot, "down")

    assert snap_compare(PatronDeskApp(database_label="library.db"), terminal_size=size,
                        run_before=run_before)  # fmt: skip


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_registrations_per_month(ui_db, snap_compare, size) -> None:
    _plant()

    async def run_before(pilot) -> None:
        await _dashboard(pilot, "right", "right", "right")

    assert snap_compare(PatronDeskApp(database_label="library.db"), terminal_size=size,
                        run_before=run_before)  # fmt: skip
