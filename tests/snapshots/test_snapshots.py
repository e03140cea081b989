"""SVG snapshots of the key screens at 80x24 (thin terminals) and 120x40.

Update after an intended change with
`pytest tests/snapshots/test_snapshots.py --snapshot-update`, then review
the SVG files in tests/snapshots/__snapshots__ like code."""

from __future__ import annotations

import datetime as dt

import pytest

from models.access.session import open_session
from models.store.tables import Account
from screens.quick_user import QuickUserScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import add_user, log_in, settle, until
from tui.app import PatronDeskApp

SIZES = [(80, 24), (120, 40)]


def app() -> PatronDeskApp:
    return PatronDeskApp(database_label="library.db")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_login_screen(ui_db, snap_compare, size) -> None:
    assert snap_compare(app(), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_login_refused(ui_db, snap_compare, size) -> None:
    async def run_before(pilot) -> None:
        await log_in(pilot, "admin", "Wrong-Password-1")

    assert snap_compare(app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_quick_user_form(ui_db, snap_compare, size) -> None:
    async def run_before(pilot) -> None:
        pilot.app.session = open_session(ui_db.admin)
        pilot.app.push_screen(QuickUserScreen(tab="public"))
        await settle(pilot)

    assert snap_compare(app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_find_users_list(ui_db, snap_compare, size) -> None:
    for i, (first, last) in enumerate(
        [("Anna", "Müller"), ("Zoé", "Dupont"), ("Jörg", "Mueller"), ("Li", "Wang")]
    ):
        add_user(first, last, f"P{i:03d}", expiry="2031-06-30")
    # Fixed dates: a snapshot must not change with the calendar.
    Account.update(expiry_date=dt.date(2036, 1, 31)).where(Account.id == ui_db.admin.id).execute()

    async def run_before(pilot) -> None:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        await settle(pilot)

    assert snap_compare(app(), terminal_size=size, run_before=run_before)


DETAIL_TABS = ["f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12"]


@pytest.mark.parametrize("key", DETAIL_TABS)
def test_user_details_tab(ui_db, snap_compare, key) -> None:
    from models.store.tables import AuditEvent, Person

    account = add_user("Anna", "Müller", "P100", expiry="2031-06-30", identifier="BC-7781")
    # Fixed times: a snapshot must not change with the clock.
    fixed = dt.datetime(2026, 1, 15, 9, 30)
    Account.update(created_at=fixed, updated_at=fixed).where(Account.id == account.id).execute()
    Person.update(created_at=fixed, updated_at=fixed).execute()
    AuditEvent.update(at=fixed).execute()

    async def run_before(pilot) -> None:
        from textual.widgets import TabbedContent

        from screens.user_details import TABS, UserDetailsScreen

        pilot.app.session = open_session(ui_db.admin)
        screen = UserDetailsScreen(account.id)
        pilot.app.push_screen(screen)
        await until(pilot, lambda: screen.ctx is not None)  # the record is read
        await pilot.press(key)
        tab = next(tab for tab, *_, tab_key in TABS if tab_key == key)

        def shown() -> bool:  # the tab on top, the focus in it (F2: General is on top already)
            focused = screen.focused
            pane = screen.query_one(f"#{tab}")
            return screen.query_one(TabbedContent).active == tab and (
                focused is not None and pane in focused.ancestors
            )

        await until(pilot, shown)
        # The tab bar's underline slides to the new tab (an animation): a snapshot taken
        # while it moves drew it half way under a loaded machine.
        await pilot.wait_for_scheduled_animations()
        await settle(pilot)
        if key == "f12":
            pilot.app.screen.query_one("#history-period").value = "all"
            await settle(pilot)

    assert snap_compare(app(), terminal_size=(80, 24), run_before=run_before)
