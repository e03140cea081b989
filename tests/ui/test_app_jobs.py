"""Sets and bulk jobs from the app (issue 23), driven with the pilot as a librarian would: save
a search as a set, renew its members by their group's period after the preview, see the change
in a user's History, undo it; message a set; delete a set of users where some are refused;
sets from a file; a job's report saved as CSV."""

from __future__ import annotations

import datetime as dt
import os
import stat

import pytest
from textual.widgets import Checkbox, Select, Static

from models.audit import Actor
from models.enums import Source
from models.jobs.sets import create_itemized_set, list_sets
from models.runtime import runtime
from models.store.tables import Account, AuditEvent, Job, Letter, UserGroup
from screens.confirm import ChoiceScreen, ConfirmScreen, InfoScreen
from screens.find_users import FindUsersScreen
from screens.job_notify import NotifyJobScreen
from screens.job_report_save import SaveReportScreen
from screens.job_run import JobRunScreen
from screens.job_update import UpdateJobScreen
from screens.jobs import JobsScreen
from screens.rename_set import RenameSetScreen
from screens.save_set import SaveSetScreen
from screens.set_file import SetFromFileScreen
from screens.set_members import SetMembersScreen
from screens.sets import SetsScreen
from screens.user_details import UserDetailsScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import add_user, log_in, settle, type_into
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
        # Save as set (shift+F6): the search and its filters, kept.
        await pilot.press("f18")
        await wait(pilot)
        assert isinstance(app.screen, SaveSetScreen)
        await pilot.press(*"Grads ending this year")
        await pilot.press("ctrl+s")
        await wait(pilot)
        assert isinstance(app.screen, FindUsersScreen)
        [saved] = list_sets(Actor(ui_db.admin, Source.SCREEN))
        assert saved.name == "Grads ending this year" and saved.kind == "logical"

        # Sets (shift+F7), then j: which job? u: update.
        await pilot.press("f19")
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
        assert "3 members; would change 3" in preview, preview
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
        assert "3/3 rows" in text_of(app, "#job-rate") and "rows/s, ETA" in text_of(
            app, "#job-rate"
        )
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
        assert any(f"job {job.id}" in row and "expiry_date" in row for row in history), history
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
        assert row[0] == str(job.id) and "update" in row[5] and row[6] == "3/0/0/0"
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


async def open_sets(pilot) -> None:
    await log_in(pilot, "admin", ADMIN_PASSWORD)
    await pilot.press("f19")
    await wait(pilot)
    assert isinstance(pilot.app.screen, SetsScreen)


def itemized(ui_db, name: str, accounts) -> int:  # noqa: ANN001
    return create_itemized_set(
        name, [a.id for a in accounts], Actor(ui_db.admin, Source.CLI)
    ).set_id


async def test_message_a_set_queues_one_letter_per_member_after_the_preview(ui_db, grads) -> None:
    itemized(ui_db, "Grads", grads)
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        await open_sets(pilot)
        await pilot.press("j", "m")
        await wait(pilot)
        assert isinstance(app.screen, NotifyJobScreen)
        await pilot.press("ctrl+d")  # nothing typed: said under each field
        await wait(pilot)
        assert "required" in str(app.screen.query_one("#field-job-subject").error)
        await type_into(pilot, "#job-subject", "Library closed on Friday")
        app.screen.query_one("#job-body-text").focus()
        await pilot.press(*"We are closed.")
        await pilot.press("ctrl+d")
        await wait(pilot)
        assert isinstance(app.screen, JobRunScreen)
        assert "would notify 3" in text_of(app, "#job-text")
        assert Letter.select().count() == 0
        await pilot.press("ctrl+s", "y")
        await wait(pilot)
        assert "changed 3" in text_of(app, "#job-text")
        assert Letter.select().where(Letter.subject == "Library closed on Friday").count() == 3


async def test_delete_a_set_skips_the_members_with_a_balance_and_says_why(ui_db) -> None:
    from models.fees.fees import add_fee

    users = [add_user("Test", f"User{i}", f"T{i:03d}") for i in range(4)]
    admin = Actor(ui_db.admin, Source.CLI)
    add_fee(users[1].id, admin, fee_type="LOST_ITEM", amount="12.50")
    add_fee(users[3].id, admin, fee_type="LOST_ITEM", amount="3.00")
    itemized(ui_db, "Purged test users", users)
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        await open_sets(pilot)
        await pilot.press("j", "d")
        await wait(pilot)
        assert isinstance(app.screen, JobRunScreen)
        preview = text_of(app, "#job-text")
        assert "would delete 2" in preview and "2 refused" in preview
        assert "refused  T001" in preview and "refused  T003" in preview
        assert Account.select().where(Account.id << [u.id for u in users]).count() == 4
        await pilot.press("ctrl+s")
        await wait(pilot)
        assert "cannot be brought back" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("y")
        await wait(pilot)
        report = text_of(app, "#job-text")
        assert "changed 2" in report and "skipped 2" in report
        assert "skipped  T001" in report and "skipped  T003" in report
        left = {a.primary_id for a in Account.select().where(Account.id << [u.id for u in users])}
        assert left == {"T001", "T003"}


async def test_a_set_from_a_file_lists_the_identifiers_matching_nobody(
    ui_db, grads, tmp_path
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("G000\nnobody-42\nG002\n\ng002\n", encoding="utf-8")
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        await open_sets(pilot)
        await pilot.press("n")
        await wait(pilot)
        assert isinstance(app.screen, SetFromFileScreen)
        await type_into(pilot, "#file-name", "From the registrar")
        await type_into(pilot, "#file-path", str(tmp_path / "missing.txt"))
        await pilot.press("ctrl+s")
        await wait(pilot)
        assert app.screen.query_one("#field-file-path").error  # said at the field
        await type_into(pilot, "#file-path", str(ids))
        await pilot.press("ctrl+s")
        await wait(pilot)
        assert isinstance(app.screen, InfoScreen)
        text = str(app.screen.query_one("#info-text").render())
        assert "2 members" in text and "nobody-42" in text and "G000" not in text
        await pilot.press("escape")
        await wait(pilot)
        rows = app.screen.query_one(RowTable).rows
        assert rows[app.screen.query_one(RowTable).cursor][:3] == (
            "From the registrar",
            "itemized",
            "2",
        )


async def test_rename_and_delete_a_set(ui_db, grads) -> None:
    itemized(ui_db, "Grads", grads)
    itemized(ui_db, "Others", grads[:1])
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        await open_sets(pilot)
        await pilot.press("r")
        await wait(pilot)
        assert isinstance(app.screen, RenameSetScreen)
        await type_into(pilot, "#rename-name", "others")  # another set's name, in any case
        await pilot.press("ctrl+s")
        await wait(pilot)
        assert "another set" in app.screen.query_one("#field-rename-name").error
        await type_into(pilot, "#rename-name", "Graduates 2026")
        await pilot.press("enter")
        await wait(pilot)
        assert isinstance(app.screen, SetsScreen)
        names = [row[0] for row in app.screen.query_one(RowTable).rows]
        assert names == ["Graduates 2026", "Others"]
        await pilot.press("down", "delete")
        await wait(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait(pilot)
        assert [row[0] for row in app.screen.query_one(RowTable).rows] == ["Graduates 2026"]


async def test_a_wrong_value_is_said_under_its_field_and_nothing_runs(ui_db, grads) -> None:
    itemized(ui_db, "Grads", grads)
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        await open_sets(pilot)
        await pilot.press("j", "u")
        await wait(pilot)
        await pilot.press("ctrl+d")  # nothing chosen
        await wait(pilot)
        assert "at least one field" in str(app.screen.query_one("#job-message").render())
        await type_into(pilot, "#job-purge_date", "31.12.2030")
        await pilot.press("ctrl+d")
        await wait(pilot)
        assert isinstance(app.screen, UpdateJobScreen)
        assert "YYYY-MM-DD" in app.screen.query_one("#field-job-purge_date").error
        assert Job.select().count() == 0


async def test_the_form_adds_a_block_and_a_note_and_says_a_wrong_row_at_its_field(
    ui_db, grads
) -> None:
    from models.store.tables import Block, Note

    itemized(ui_db, "Grads", grads)
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        await open_sets(pilot)
        await pilot.press("j", "u")
        await wait(pilot)
        await type_into(pilot, "#job-add", "block=NOPE")
        await pilot.press("ctrl+d")
        await wait(pilot)
        assert isinstance(app.screen, UpdateJobScreen)
        assert "NOPE" in app.screen.query_one("#field-job-add").error
        app.screen.query_one("#job-add").value = ""
        await type_into(pilot, "#job-add", "block=GENERAL")
        await type_into(pilot, "#job-note", "Checked at the desk")
        await pilot.press("ctrl+d")
        await wait(pilot)
        assert isinstance(app.screen, JobRunScreen)
        assert "would change 3" in text_of(app, "#job-text")
        assert Block.select().count() == 0
        await pilot.press("ctrl+s")
        await wait(pilot)
        await pilot.press("y")
        await wait(pilot)
        assert "changed 3" in text_of(app, "#job-text")
    ids = [g.id for g in grads]
    assert Block.select().where(Block.account << ids).count() == 3
    assert (
        Note.select().where((Note.account << ids) & (Note.text == "Checked at the desk")).count()
        == 3
    )


async def test_the_update_form_offers_every_field_the_domain_supports(ui_db, grads) -> None:
    from models.jobs.types import UPDATE_FIELDS

    itemized(ui_db, "Grads", grads)
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        await open_sets(pilot)
        await pilot.press("j", "u")
        await wait(pilot)
        for column in set(UPDATE_FIELDS.values()):
            assert app.screen.query(f"#job-{column}"), column


async def test_the_report_is_saved_as_csv_0600_and_never_over_a_file(
    ui_db, grads, tmp_path
) -> None:
    from models.fees.fees import add_fee
    from models.jobs.jobs import run_delete

    admin = Actor(ui_db.admin, Source.CLI)
    add_fee(grads[1].id, admin, fee_type="LOST_ITEM", amount="2.00")
    set_id = itemized(ui_db, "Grads", grads)
    run_delete(set_id, admin)  # G001 owes a fee: skipped, and the report says why
    target = tmp_path / "report.csv"
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        await open_sets(pilot)
        await pilot.press("h")
        await wait(pilot)
        assert isinstance(app.screen, JobsScreen)
        await pilot.press("x")
        await wait(pilot)
        assert isinstance(app.screen, SaveReportScreen)
        await type_into(pilot, "#report-path", str(target))
        await pilot.press("ctrl+s")
        await wait(pilot)
        assert isinstance(app.screen, JobsScreen)
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
        lines = target.read_text().splitlines()
        assert lines[0] == "account_id,primary_id,outcome,reason"
        assert len(lines) == 2 and f"{grads[1].id},G001,skipped," in lines[1]
        target.write_text("mine", encoding="utf-8")
        await pilot.press("x")
        await wait(pilot)
        await type_into(pilot, "#report-path", str(target))
        await pilot.press("ctrl+s")
        await wait(pilot)
        assert isinstance(app.screen, SaveReportScreen)
        assert "exists" in app.screen.query_one("#field-report-path").error
        assert target.read_text() == "mine"


async def test_escape_on_save_as_set_with_a_name_typed_asks_first(ui_db, grads) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        await pilot.press("f18")
        await wait(pilot)
        await pilot.press(*"Half")
        await pilot.press("escape")
        await wait(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # keep editing
        await wait(pilot)
        assert isinstance(app.screen, SaveSetScreen)


async def test_usable_at_60x20_every_form_button_and_hint_on_screen(ui_db, grads) -> None:
    itemized(ui_db, "Graduates ending this year", grads)
    app = PatronDeskApp()

    def on_screen(selector: str) -> None:
        region = app.screen.query_one(selector).region
        assert region.width > 0 and region.bottom <= 20 and region.right <= 60, (selector, region)

    async with app.run_test(size=(60, 20)) as pilot:
        await open_sets(pilot)
        on_screen("#sets")
        await pilot.press("j", "u")
        await wait(pilot)
        on_screen("#job-preview")
        on_screen("#job-expiry_date-renew")
        await pilot.press("escape", "j", "d")
        await wait(pilot)
        assert isinstance(app.screen, JobRunScreen)
        on_screen("#job-hint")
        await pilot.press("escape", "h")
        await wait(pilot)
        assert isinstance(app.screen, JobsScreen)
        await pilot.press("escape", "escape", "f18")
        await wait(pilot)
        on_screen("#set-save")


async def test_logging_out_stops_a_running_job_after_its_chunk_and_it_continues_later(
    ui_db, grads, monkeypatch
) -> None:
    import asyncio
    import threading

    import screens.job_update
    from models.jobs.jobs import run_update
    from models.store.tables import JobItem

    set_id = itemized(ui_db, "Grads", grads)
    first_chunk, go_on = threading.Event(), threading.Event()

    def one_at_a_time(set_ref, fields, actor, *, progress, rows=None):  # noqa: ANN001, ANN202
        def slow(p) -> None:  # noqa: ANN001
            progress(p)
            first_chunk.set()
            go_on.wait(10)

        return run_update(set_ref, fields, actor, progress=slow, chunk=1, rows=rows)

    monkeypatch.setattr(screens.job_update, "run_update", one_at_a_time)
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        await open_sets(pilot)
        await pilot.press("j", "u")
        await wait(pilot)
        await type_into(pilot, "#job-purge_date", "2040-01-01")
        await pilot.press("ctrl+d")
        await wait(pilot)
        await pilot.press("ctrl+s", "y")
        for _ in range(500):
            if first_chunk.is_set():
                break
            await asyncio.sleep(0.01)
        assert first_chunk.is_set()
        await pilot.press("ctrl+l")
        for _ in range(500):
            if app.session is None:
                break
            await asyncio.sleep(0.01)
        assert app.session is None
        go_on.set()
        await wait(pilot)
    job = Job.get()
    assert job.state == "running"
    done = JobItem.select().where((JobItem.job == job.id) & (JobItem.outcome != "")).count()
    assert 1 <= done < 3
    # The same job run again continues where it stopped: every member changed once.
    again = run_update(set_id, {"purge_date": "2040-01-01"}, Actor(ui_db.admin, Source.SCREEN))
    assert again.resumed and again.info.state == "done" and again.info.changed == 3
    assert Job.select().count() == 1


async def test_a_set_name_with_markup_is_shown_as_typed_never_run(ui_db, grads) -> None:
    name = "[@click=app.quit]Grads[/] [b]x"
    itemized(ui_db, name, grads)
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        await open_sets(pilot)
        assert app.screen.query_one(RowTable).rows[0][0] == name
        await pilot.press("j")
        await wait(pilot)
        assert name in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("d")
        await wait(pilot)
        assert name in text_of(app, "#job-title")
        await pilot.click("#job-title")
        await wait(pilot)
        assert app.is_running


async def test_a_stopped_job_is_continued_from_the_jobs_screen(ui_db, grads) -> None:
    from models.jobs.jobs import Interrupted, run_update
    from models.store.tables import JobItem

    set_id = itemized(ui_db, "Grads", grads)

    def stop(p) -> None:  # noqa: ANN001 - the kill after the first chunk
        raise Interrupted

    with pytest.raises(Interrupted):
        run_update(set_id, {"purge_date": "2040-01-01"}, Actor(ui_db.admin, Source.SCREEN),
                   progress=stop, chunk=1)  # fmt: skip
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        await open_sets(pilot)
        await pilot.press("h")
        await wait(pilot)
        assert app.screen.query_one(RowTable).rows[0][3] == "running"
        await pilot.press("c")
        await wait(pilot)
        assert "1 of 3 done" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("y")
        await wait(pilot)
        assert "continued where it stopped" in text_of(app, "#job-text")
        await pilot.press("escape")
        await wait(pilot)
        assert app.screen.query_one(RowTable).rows[0][3] == "done"
    assert JobItem.select().where(JobItem.outcome == "changed").count() == 3


def test_a_preview_with_many_refusals_shows_the_first_thousand_and_says_how_many_more() -> None:
    from models.jobs.types import DELETE, Preview, Refusal
    from screens.job_run import REFUSALS_SHOWN, preview_text

    refused = [Refusal(i, f"P{i:05d}", "a balance is due") for i in range(REFUSALS_SHOWN + 5)]
    text = preview_text(Preview(DELETE, len(refused), 0, 0, refused, []))
    assert f"refused  P{REFUSALS_SHOWN - 1:05d}" in text
    assert f"refused  P{REFUSALS_SHOWN:05d}" not in text
    assert "and 5 more refused" in text
    few = preview_text(Preview(DELETE, 2, 0, 0, refused[:2], []))
    assert "more refused" not in few and "refused  P00001" in few
