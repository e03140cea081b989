"""Desk-ready app (issue 19, items 4, 5, 7, 9 and 11): keys typed at start land where they
would have landed had the screen been ready, ctrl+q asks before dropping unsaved edits, the
import preview marks each record as its summary counts it, the app reads in 16 colours, and the
command palette lists each command once. Driven with the pilot."""

from __future__ import annotations

from pathlib import Path

from conftest import ADMIN_PASSWORD
from textual.widgets import DataTable, Input, Static
from uihelp import SIZE, add_user, log_in, settle, type_into

from models.tables import Account
from screens.transfer import ImportScreen
from tui.app import PatronDeskApp

# --- Item 7: the import preview marks what the summary counts ----------------------------------

FIRST_LOAD = (
    "primary_id,first_name,last_name,emails\n"
    "U1,Ada,Lovelace,ada@uni.example\n"
    "U2,Bob,Marley,bob@uni.example\n"
    "U8,Cy,Young,cy@uni.example\n"
)
SECOND_LOAD = (
    "primary_id,first_name,last_name,emails\n"
    "U1,Ada,Lovelace,ada@uni.example\n"  # the same row: unchanged (its fingerprint)
    "U8,Cy ,Young,cy@uni.example\n"  # another row, the same values once cleaned: unchanged
    "U2,Bob,Dylan,bob@uni.example\n"  # changed: update
    "U3,Cid,Moore,cid@uni.example\n"  # new: create
    "U3,Cid,Moore,cid@uni.example\n"  # twice in the file: refused by the database checks
    "U4,Dee,,dee@uni.example\n"  # no last name: refused by the file checks
)
EXPECTED_MARKS = {
    "row 2": "unchanged",
    "row 3": "unchanged",
    "row 4": "update",
    "row 5": "create",
    "row 6": "refused",
    "row 7": "refused",
}


async def _import(pilot, path: Path, key: str) -> tuple[str, dict[str, str]]:
    """Run the Import screen on `path` (ctrl+d: dry run, ctrl+s: import); the summary and the
    preview's marks by record."""
    app = pilot.app
    await type_into(pilot, "#path", str(path))
    await pilot.press(key)
    await settle(pilot)
    summary = str(app.screen.query_one("#summary", Static).render())
    table = app.screen.query_one("#preview", DataTable)
    marks = {}
    for i in range(table.row_count):
        row = [str(cell) for cell in table.get_row_at(i)]
        marks[row[0]] = row[-1]
    return summary, marks


def _counted(marks: dict[str, str]) -> dict[str, int]:
    return {mark: list(marks.values()).count(mark) for mark in set(marks.values())}


async def test_the_import_preview_marks_each_record_as_its_summary_counts_it(
    ui_db, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(FIRST_LOAD, encoding="utf-8")
    second.write_text(SECOND_LOAD, encoding="utf-8")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        app.action_import()
        await pilot.pause()
        assert isinstance(app.screen, ImportScreen)
        summary, _marks = await _import(pilot, first, "ctrl+s")
        assert "3 created" in summary

        summary, marks = await _import(pilot, second, "ctrl+d")
        assert "Dry run" in summary
        assert "1 to create, 1 updated, 2 unchanged, 2 refused" in summary, summary
        # Before: U8 (unchanged) and the second U3 (refused) were marked update and create,
        # and U1 (unchanged) was missing.
        assert marks == EXPECTED_MARKS
        assert _counted(marks) == {"create": 1, "update": 1, "unchanged": 2, "refused": 2}

        summary, _marks = await _import(pilot, second, "ctrl+s")
        assert "1 created, 1 updated, 2 unchanged, 2 refused" in summary, summary
    assert Account.get(Account.primary_id == "U2").person.last_name == "Dylan"
    assert Account.select().where(Account.primary_id == "U3").count() == 1


async def test_the_import_preview_shows_file_text_as_text(ui_db, tmp_path: Path) -> None:
    """A name in the file is never read as markup by the preview table."""
    source = tmp_path / "hostile.csv"
    source.write_text(
        "primary_id,first_name,last_name,emails\nU9,[b]Bold[/b],[@click=app.quit]Quit,u9@x.org\n",
        encoding="utf-8",
    )
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        app.action_import()
        await pilot.pause()
        _summary, marks = await _import(pilot, source, "ctrl+d")
        assert marks == {"row 2": "create"}
        table = app.screen.query_one("#preview", DataTable)
        drawn = "\n".join(table.render_line(y).text for y in range(table.size.height))
        assert "[@click=app.quit]Quit, [b]Bold[/b]" in drawn, drawn


# --- Item 5: ctrl+q asks before dropping unsaved edits -------------------------------------------


async def _open_details(pilot, ui_db, account: Account):
    from models.session import open_session
    from screens.user_details import UserDetailsScreen

    pilot.app.session = open_session(ui_db.admin)
    screen = UserDetailsScreen(account.id)
    pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


def _question(app) -> str:
    return str(app.screen.query_one("#confirm-question", Static).render())


async def test_ctrl_q_over_unsaved_general_changes_asks_first(ui_db) -> None:
    from screens.confirm import ConfirmScreen

    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_details(pilot, ui_db, anna)
        await type_into(pilot, "#g-middle_name", "Maria")
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert app.return_code is None, "ctrl+q quit at once and dropped the edit"
        assert isinstance(app.screen, ConfirmScreen)
        assert "The General tab has unsaved changes." in _question(app)
        await pilot.press("escape")  # keep editing
        await settle(pilot)
        assert app.screen is screen
        assert screen.query_one("#g-middle_name", Input).value == "Maria"
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert app.return_code == 0


async def test_ctrl_q_twice_quits_over_unsaved_changes(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await _open_details(pilot, ui_db, anna)
        await type_into(pilot, "#g-middle_name", "Maria")
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert app.return_code is None
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert app.return_code == 0


async def test_ctrl_q_with_nothing_unsaved_quits_at_once(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await _open_details(pilot, ui_db, anna)
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert app.return_code == 0


async def test_ctrl_q_over_a_new_user_form_with_text_asks(ui_db) -> None:
    from models.session import open_session
    from screens.confirm import ConfirmScreen
    from screens.quick_user import QuickUserScreen

    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        app.session = open_session(ui_db.admin)
        app.push_screen(QuickUserScreen(tab="public"))
        await settle(pilot)
        await type_into(pilot, "#last_name", "Dupont")
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert app.return_code is None
        assert isinstance(app.screen, ConfirmScreen)
        assert "new user's form" in _question(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QuickUserScreen)
        assert app.screen.query_one("#last_name", Input).value == "Dupont"
