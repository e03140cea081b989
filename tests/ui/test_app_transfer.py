"""Import and Export screens (issue 8): a dry-run preview of the first records and the
problems, then the import, and an export, driven with the pilot."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Checkbox, DataTable, Static

from models.store.tables import Account, Phone
from screens.transfer import ExportScreen, ImportScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import SIZE, log_in, settle, type_into
from tui.app import PatronDeskApp

CSV = (
    "primary_id,first_name,last_name,emails\n"
    "U1,Ada,Lovelace,ada@uni.example\n"
    "U2,Bob,,bob@uni.example\n"
)


async def test_import_preview_then_import_then_export(ui_db, tmp_path: Path) -> None:
    source = tmp_path / "users.csv"
    source.write_text(CSV, encoding="utf-8")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        app.action_import()
        await pilot.pause()
        assert isinstance(app.screen, ImportScreen)
        await type_into(pilot, "#path", str(source))
        await pilot.press("ctrl+d")
        await settle(pilot)
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
