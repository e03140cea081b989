"""Import and Export screens (issue 8): a dry-run preview of the first records and the
problems, then the import, and an export, driven with the pilot."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from textual.widgets import Checkbox, DataTable, Static

from models.store.tables import Account, Phone
from screens.transfer import ExportScreen, ImportScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import SIZE, log_in, settle, type_into, until
from tui.app import PatronDeskApp

CSV = (
    "primary_id,first_name,last_name,emails\n"
    "U1,Ada,Lovelace,ada@uni.example\n"
    "U2,Bob,,bob@uni.example\n"
)


async def open_preview(pilot, source: Path) -> None:  # noqa: ANN001
    """Log in as the administrator, open Import users and preview `source` (a dry run)."""
    await log_in(pilot, "admin", ADMIN_PASSWORD)
    pilot.app.action_import()
    await pilot.pause()
    assert isinstance(pilot.app.screen, ImportScreen)
    await type_into(pilot, "#path", str(source))
    await pilot.press("ctrl+d")
    await settle(pilot)


async def test_import_preview_then_import_then_export(ui_db, tmp_path: Path) -> None:
    source = tmp_path / "users.csv"
    source.write_text(CSV, encoding="utf-8")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_preview(pilot, source)
        summary = str(app.screen.query_one("#summary", Static).render())
        assert "Dry run" in summary and "1 refused" in summary
        preview = app.screen.query_one("#preview", DataTable)
        assert preview.row_count == 2
        issues = app.screen.query_one("#issues", DataTable)
        assert any("last_name" in str(issues.get_row_at(i)) for i in range(issues.row_count))
        assert Account.select().count() == 1  # nothing written
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert Account.get(Account.primary_id == "U1").person.last_name == "Lovelace"
        await pilot.press("escape")
        await pilot.pause()
        app.action_export()
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        target = tmp_path / "out.json"
        await type_into(pilot, "#path", str(target))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Exported 2 users" in str(app.screen.query_one("#summary", Static).render())
        users = json.loads(target.read_text(encoding="utf-8"))["users"]
        assert {u["primary_id"] for u in users} == {"admin", "U1"}


async def test_an_export_file_named_csv_is_written_as_csv_and_audited(ui_db, tmp_path) -> None:
    from textual.widgets import Select

    from models.store.tables import AuditEvent

    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        app.action_export()
        await pilot.pause()
        target = tmp_path / "desk.CSV"
        await type_into(pilot, "#path", str(target))
        assert app.screen.query_one("#format", Select).value == "csv"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Exported 1 user (csv)" in str(app.screen.query_one("#summary", Static).render())
    assert target.read_text(encoding="utf-8").startswith("primary_id,")
    event = AuditEvent.select().order_by(AuditEvent.id.desc()).first()
    assert (event.action, event.actor, event.source) == ("export", "admin", "screen")
    assert event.new_value == f"1 user, csv, to {target.resolve()}"


async def test_the_import_screen_takes_the_encoding_date_format_and_force(
    ui_db, tmp_path: Path
) -> None:
    # A library's own CSV: Windows-1252, local dates (issue 21, item 8: --encoding,
    # --date-format, --force of the command line).
    source = tmp_path / "users.csv"
    source.write_bytes(
        "primary_id,first_name,last_name,birth_date,phones\nL1,Zoë,Müller,31/12/1985,+41791234567\n"
        .encode("cp1252")
    )  # fmt: skip
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        app.action_import()
        await pilot.pause()
        await type_into(pilot, "#path", str(source))
        await type_into(pilot, "#encoding", "nonesuch")
        await pilot.press("ctrl+s")
        await settle(pilot)
        summary = str(app.screen.query_one("#summary", Static).render())
        assert "nonesuch" in summary and "encoding" in summary
        await type_into(pilot, "#encoding", "cp1252")
        await type_into(pilot, "#date_format", "%d/%m/%Y")
        await pilot.press("ctrl+s")
        await settle(pilot)
        account = Account.get(Account.primary_id == "L1")
        assert account.person.first_name == "Zoë"
        assert str(account.person.birth_date) == "1985-12-31"
        # A change the fingerprint cannot see (straight in the database): not read again ...
        Phone.delete().execute()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "1 unchanged" in str(app.screen.query_one("#summary", Static).render())
        assert Phone.select().count() == 0
        app.screen.query_one("#force", Checkbox).value = True
        await pilot.press("ctrl+s")  # ... until every record is read again
        await settle(pilot)
        assert "1 updated" in str(app.screen.query_one("#summary", Static).render())
        assert Phone.select().count() == 1


async def test_the_export_screen_asks_before_replacing_and_refuses_a_fifo_and_the_database(
    ui_db, tmp_path, monkeypatch
) -> None:
    """Attacks on the file to write, through the screen: an existing file is replaced only
    once confirmed; a FIFO (it would block a writer) and the database file are refused with
    the reason; nothing is written meanwhile. The file system is asked in a worker thread."""
    import os
    import threading

    import models.store.files as files
    from screens.confirm import ConfirmScreen

    threads: list[bool] = []
    real_check = files.check_target

    def check_target(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        threads.append(threading.current_thread() is threading.main_thread())
        return real_check(*args, **kwargs)

    monkeypatch.setattr(files, "check_target", check_target)

    existing = tmp_path / "old.csv"
    existing.write_text("keep me\n", encoding="utf-8")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        app.action_export()
        await pilot.pause()
        export = app.screen
        await type_into(pilot, "#path", str(existing))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen), "an existing file: asked first"
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is export
        assert existing.read_text(encoding="utf-8") == "keep me\n"
        for target, said in ((fifo, "not a file"), (Path(ui_db.url), "database")):
            await type_into(pilot, "#path", str(target))
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is export
            assert said in str(export.query_one("#summary", Static).render())
    assert existing.read_text(encoding="utf-8") == "keep me\n"
    assert threads == [False, False, False], "checked in a worker, never on the UI thread"


async def test_a_small_terminal_reaches_the_problems_of_a_preview(ui_db, tmp_path: Path) -> None:
    """At 60x20 the options took the whole box and the preview and problem lists had no
    height: which record was refused, and why, could not be read. Now each list keeps a few
    rows, and the box scrolls to the one that has the focus."""
    source = tmp_path / "users.csv"
    source.write_text(CSV, encoding="utf-8")
    app = PatronDeskApp()
    async with app.run_test(size=(60, 20)) as pilot:
        await open_preview(pilot, source)
        screen = app.screen
        box = screen.query_one("#box")
        for name in ("#preview", "#issues"):
            table = screen.query_one(name, DataTable)
            table.focus()  # the box scrolls to it (animated; later on a loaded machine)

            def shown(table: DataTable = table) -> bool:
                return table.region.intersection(box.region) == table.region

            with contextlib.suppress(AssertionError):  # the assertion below says what is wrong
                await until(pilot, shown, timeout=5)
            assert table.region.height >= 3 and shown(), (name, table.region)
        assert "last_name" in str(screen.query_one("#issues", DataTable).get_row_at(0))


async def test_a_records_warnings_show_on_its_preview_row(ui_db, tmp_path: Path) -> None:
    """Found by a usability helper (2026-12-08): a birth date that is no date was left out
    with a warning, the row said "create" and nothing more, and the list of problems sat
    below the preview where nobody looked (80x24): the row now counts its warnings and the
    summary says where they are."""
    source = tmp_path / "users.csv"
    source.write_text(
        "primary_id,last_name,first_name,birth_date\n"
        "IMP-1,Ok,Ann,1985-01-01\n"
        "IMP-2,Bad,Ann\x1b[31mRED,1985-13-01\n",
        encoding="utf-8",
    )
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_preview(pilot, source)
        summary = str(app.screen.query_one("#summary", Static).render())
        assert "2 warnings" in summary and "listed below" in summary, summary
        preview = app.screen.query_one("#preview", DataTable)
        marks = [str(preview.get_row_at(i)[-1]) for i in range(preview.row_count)]
        assert marks == ["create", "create · 2 warnings"], marks
