"""SVG snapshots of the screens of sets and bulk jobs (issue 23) at 80x24 and 120x40: Sets, a
set's members, Jobs, Save as set, the update form and a job's preview.

Update after an intended change with
`pytest tests/snapshots/test_snapshots_jobs.py --snapshot-update`, then review the SVG files."""

from __future__ import annotations

import datetime as dt

import pytest

from models.access.session import open_session
from models.audit import Actor
from models.enums import Source
from models.fees.fees import add_fee
from models.jobs.jobs import run_update
from models.jobs.sets import create_itemized_set, create_logical_set
from models.search.engine import UserQuery
from models.store.tables import Account, Job, UserGroup, UserSet
from screens.find_users import FindUsersScreen
from tests.helpers.ui import add_user, settle
from tui.app import PatronDeskApp

SIZES = [(80, 24), (120, 40)]
FIXED = dt.datetime(2026, 1, 15, 9, 30)


def app() -> PatronDeskApp:
    return PatronDeskApp(database_label="library.db")


@pytest.fixture
def sets(ui_db):
    """Two sets and a job, at fixed dates: a snapshot must not change with the calendar."""
    UserGroup.update(registration_months=12).where(UserGroup.code == "GRAD").execute()
    users = [
        add_user(first, last, f"G{i:03d}", group="GRAD", expiry="2026-12-31")
        for i, (first, last) in enumerate(
            [("Ada", "Lovelace"), ("Bo", "Diddley"), ("Cy", "Twombly"), ("Dee", "Snider")]
        )
    ]
    admin = Actor(ui_db.admin, Source.SCREEN)
    add_fee(users[3].id, admin, fee_type="LOST_ITEM", amount="4.00")
    made = create_itemized_set("Graduates ending 2026", [u.id for u in users], admin)
    create_logical_set("Müller search", UserQuery(text="müller"), admin)
    run_update(made.set_id, {"user_group": "PUBLIC"}, admin)
    UserSet.update(created_at=FIXED).execute()
    Job.update(created_at=FIXED, finished_at=FIXED).execute()
    # The administrator's expiry is set at initialization from today (Save as set lists it).
    Account.update(expiry_date=dt.date(2036, 12, 4)).where(Account.id == ui_db.admin.id).execute()
    return made


async def start(pilot, *keys: str) -> None:
    pilot.app.session = open_session(pilot.app_db_admin)
    pilot.app.push_screen(FindUsersScreen())
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)
    await pilot.wait_for_scheduled_animations()
    await settle(pilot)


def before(ui_db, *keys: str):  # noqa: ANN201
    async def run_before(pilot) -> None:
        pilot.app_db_admin = ui_db.admin
        await start(pilot, *keys)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sets_screen(ui_db, sets, snap_compare, size) -> None:
    assert snap_compare(app(), terminal_size=size, run_before=before(ui_db, "f19"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_set_members(ui_db, sets, snap_compare, size) -> None:
    assert snap_compare(app(), terminal_size=size, run_before=before(ui_db, "f19", "enter"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_jobs_screen(ui_db, sets, snap_compare, size) -> None:
    assert snap_compare(app(), terminal_size=size, run_before=before(ui_db, "f19", "h"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_save_as_set(ui_db, sets, snap_compare, size) -> None:
    assert snap_compare(app(), terminal_size=size, run_before=before(ui_db, "f18"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_update_job_form(ui_db, sets, snap_compare, size) -> None:
    assert snap_compare(app(), terminal_size=size, run_before=before(ui_db, "f19", "j", "u"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_delete_job_preview(ui_db, sets, snap_compare, size) -> None:
    async def run_before(pilot) -> None:
        pilot.app_db_admin = ui_db.admin
        await start(pilot, "f19", "j", "d")
        # The preview's own time varies: the line that says it is left out of the picture.
        pilot.app.screen.query_one("#job-rate").update("Preview read in 12 ms.")
        await settle(pilot)

    assert snap_compare(app(), terminal_size=size, run_before=run_before)
