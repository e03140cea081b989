"""Sets and bulk jobs from the app (issue 23), driven with the pilot as a librarian would: save
a search as a set, renew its members by their group's period after the preview, see the change
in a user's History, undo it; message a set; delete a set of users where some are refused;
sets from a file; a job's report saved as CSV."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import Checkbox, Select, Static

from models.audit import Actor
from models.enums import Source
from models.jobs.sets import list_sets
from models.runtime import runtime
from models.store.tables import Account, AuditEvent, Job, UserGroup
from screens.confirm import ChoiceScreen, ConfirmScreen
from screens.find_users import FindUsersScreen
from screens.job_run import JobRunScreen
from screens.job_update import UpdateJobScreen
from screens.jobs import JobsScreen
from screens.save_set import SaveSetScreen
from screens.set_members import SetMembersScreen
from screens.sets import SetsScreen
from screens.user_details import UserDetailsScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import add_user, log_in, settle
from tui.app import PatronDeskApp
from tui.table import RowTable

SMALL = (80, 24)


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def grad_id() -> int:
    return UserGroup.get(UserGroup.code == "GRAD").id


@pytest.fixture
def grads(ui_db):
    """Three graduate students who expire this year, and a public user who is not one."""
    UserGroup.update(registration_months=12).where(UserGroup.code == "GRAD").execute()
    end = dt.date(runtime.today().year, 12, 31)
    users = [
        add_user(first, "Student", f"G{i:03d}", group="GRAD", expiry=end.isoformat())
        for i, first in enumerate(("Ada", "Bo", "Cy"))
    ]
    add_user("Pat", "Public", "P900")
    return users


async def wait(pilot) -> None:
    await settle(pilot)


async def test_save_a_search_as_a_set_renew_by_group_after_preview_see_history_and_undo(
    ui_db, grads
) -> None:
    app = PatronDeskApp()
    before = {
        a.id: a.expiry_date for a in Account.select().where(Account.id << [g.id for g in grads])
    }
    async with app.run_test(size=SMALL) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        assert isinstance(app.screen, FindUsersScreen)
        app.screen.query_one("#group", Select).value = grad_id()  # F9, the graduate group
        await wait(pilot)
        # Save as set (shift+F2): the search and its filters, kept.
        await pilot.press("f14")
        await wait(pilot)
        assert isinstance(app.screen, SaveSetScreen)
        await pilot.press(*"Grads ending this year")
        await pilot.press("ctrl+s")
        await wait(pilot)
        assert isinstance(app.screen, FindUsersScreen)
        [saved] = list_sets(Actor(ui_db.admin, Source.SCREEN))
        assert saved.name == "Grads ending this year" and saved.kind == "logical"

        # Sets (shift+F3), then j: which job? u: update.
        await pilot.press("f15")
        await wait(pilot)
        assert isinstance(app.screen, SetsScreen)
        assert "Grads ending this year" in app.screen.query_one(RowTable).rows[0]
        await pilot.press("j")
        await wait(pilot)
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("u")
        await wait(pilot)
        assert isinstance(app.screen, UpdateJobScreen)
        renew = app.screen.query_one("#job-expiry_date-renew", Checkbox)
        renew.focus()
        await pilot.press("space")
        await pilot.press("ctrl+d")
        await wait(pilot)
        # The preview: nothing written yet.
        assert isinstance(app.screen, JobRunScreen)
        preview = text_of(app, "#job-text")
        assert "3 member(s); would change 3" in preview, preview
        assert "Nothing was written" in preview
        assert Job.select().count() == 0
        after = dict(before)
        assert {
            a.id: a.expiry_date for a in Account.select().where(Account.id << list(before))
        } == after
        await pilot.press("ctrl+s")
        await wait(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait(pilot)
        assert isinstance(app.screen, JobRunScreen)
        assert "changed 3" in text_of(app, "#job-text")
        renewed = {a.id: a.expiry_date for a in Account.select().where(Account.id << list(before))}
        for account_id, old in before.items():
            assert renewed[account_id] == dt.date(old.year + 1, old.month, old.day)
        job = Job.get()
        assert AuditEvent.select().where(AuditEvent.job_id == job.id).count() == 3

        # Escape closes the report and the form: back on Sets. Enter: the members, in Find
        # Users' list; Enter: the user; F12: History shows the job's change.
        await pilot.press("escape")
        await wait(pilot)
        assert isinstance(app.screen, SetsScreen)
        await pilot.press("enter")
        await wait(pilot)
        assert isinstance(app.screen, SetMembersScreen)
        assert len(app.screen.query_one(RowTable).rows) == 3
        await pilot.press("enter")
        await wait(pilot)
        assert isinstance(app.screen, UserDetailsScreen)
        await pilot.press("f12")
        await wait(pilot)
        history = app.screen.query_one("#history-table", RowTable).rows
        assert any("job" in row and "expiry_date" in row for row in history), history
        await pilot.press("escape")
        await wait(pilot)
        await pilot.press("escape")
        await wait(pilot)
        assert isinstance(app.screen, SetsScreen)

        # h: the jobs; u: undo, asked first; the old dates come back.
        await pilot.press("h")
        await wait(pilot)
        assert isinstance(app.screen, JobsScreen)
        row = app.screen.query_one(RowTable).rows[0]
        assert row[0] == str(job.id) and "update" in row[5] and row[6] == "3"
        await pilot.press("u")
        await wait(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait(pilot)
        assert isinstance(app.screen, JobRunScreen)
        assert "changed 3" in text_of(app, "#job-text")
        restored = {a.id: a.expiry_date for a in Account.select().where(Account.id << list(before))}
        assert restored == before
        await pilot.press("escape")
        await wait(pilot)
        assert isinstance(app.screen, JobsScreen)
        assert len(app.screen.query_one(RowTable).rows) == 2  # the update and its undo
