"""SVG snapshots of the two dialogs of external accounts (issue 22, item 4) at 80x24: the
question asked before a save changes fields a SIS load may override, and Original values.

Update after an intended change with
`pytest tests/snapshots/test_snapshots_sis.py --snapshot-update`, then review the SVG files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from textual.widgets import Checkbox, Select

from models.access.session import open_session
from models.audit import Actor
from models.enums import Source
from models.store.tables import Account, LocalOverride, Person
from models.transfer.imports import ImportOptions, import_file
from models.users.details import update_user
from screens.original_values import OriginalValuesScreen
from tests.helpers.ui import settle, type_into, until
from tui.app import PatronDeskApp

SIS = (
    "primary_id,first_name,last_name,title,expiry_date,user_group,emails\n"
    "S1,Ada,Lovelace,Dr,2030-01-31,UNDERGRAD,school:ada@uni.example\n"
)
FIXED = dt.datetime(2026, 1, 15, 9, 30)  # a snapshot must not change with the clock


@pytest.fixture
def ada(ui_db, tmp_path: Path) -> Account:
    path = tmp_path / "sis.csv"
    path.write_text(SIS, encoding="utf-8")
    import_file(path, ImportOptions(workers=1, external=True, source="CAMPUS"))
    return Account.get(Account.primary_id == "S1")


def fix_times() -> None:
    Account.update(created_at=FIXED, updated_at=FIXED).execute()
    Person.update(created_at=FIXED, updated_at=FIXED).execute()
    LocalOverride.update(changed_at=FIXED).execute()


async def open_details(pilot, ui_db, account: Account) -> None:
    from screens.user_details import UserDetailsScreen

    pilot.app.session = open_session(ui_db.admin)
    screen = UserDetailsScreen(account.id)
    pilot.app.push_screen(screen)
    await until(pilot, lambda: screen.ctx is not None)  # the record is read


def test_the_next_sis_load_question(ui_db, ada, snap_compare) -> None:
    fix_times()

    async def run_before(pilot) -> None:
        await open_details(pilot, ui_db, ada)
        screen = pilot.app.screen
        await type_into(pilot, "#g-title", "Prof")
        screen.query_one("#g-user_group", Select).value = "GRAD"
        box = screen.query_one("#g-letter_general", Checkbox)
        box.value = not box.value
        await pilot.press("ctrl+s")
        await settle(pilot)

    app = PatronDeskApp(database_label="library.db")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_original_values(ui_db, ada, snap_compare) -> None:
    admin = Actor(ui_db.admin, Source.SCREEN)
    update_user(
        ada.id,
        ada.version,
        {"title": "Professor emeritus", "user_group": "GRAD"},
        admin,
        sis_may_override={"user_group": True},
    )
    fix_times()

    async def run_before(pilot) -> None:
        await open_details(pilot, ui_db, ada)
        await pilot.press("shift+f2")
        await until(pilot, lambda: isinstance(pilot.app.screen, OriginalValuesScreen))

    app = PatronDeskApp(database_label="library.db")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
