"""External accounts on User Details (issue 22, item 4; alma-managing-users, "Editing Users"):
the question asked when a save changes a field the next SIS load may override (Title, PIN, Job
category, User group, Campus, Preferred language, Cataloger level, Selected patron letters),
and "Original values", which lists the fields changed by hand and puts the SIS value back."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Checkbox, Input, Select, Static

from models.access.session import open_session
from models.audit import Actor
from models.enums import Source
from models.store.tables import Account
from models.transfer.imports import ImportOptions, import_file
from models.users.details import update_user
from models.users.external import overridden_fields, sis_yielding_fields
from screens.confirm import ChoiceScreen, ConfirmScreen
from screens.help import KeysHelpScreen
from screens.original_values import OriginalValuesScreen
from screens.sis_override import SisOverrideScreen
from screens.user_details import UserDetailsScreen
from tests.helpers.ui import SIZE, add_user, settle, type_into
from tui.app import PatronDeskApp
from tui.table import RowTable

SIS = (
    "primary_id,first_name,last_name,title,expiry_date,user_group,emails\n"
    "S1,Ada,Lovelace,Dr,2030-01-31,UNDERGRAD,school:ada@uni.example\n"
)


@pytest.fixture
def ada(ui_db, tmp_path: Path) -> Account:
    """An external account, as the SIS loaded it."""
    path = tmp_path / "sis.csv"
    path.write_text(SIS, encoding="utf-8")
    import_file(path, ImportOptions(workers=1, external=True, source="CAMPUS"))
    return Account.get(Account.primary_id == "S1")


async def open_details(pilot, ui_db, account: Account) -> UserDetailsScreen:
    pilot.app.session = open_session(ui_db.admin)
    screen = UserDetailsScreen(account.id)
    pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


def fresh(account: Account) -> Account:
    return Account.get_by_id(account.id)


def question_fields(app) -> list[str]:
    return [box.id.removeprefix("sis-") for box in app.screen.query(Checkbox)]


async def test_a_save_of_asked_fields_asks_per_field_and_stores_the_answers(ui_db, ada) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, ada)
        await type_into(pilot, "#g-title", "Prof")
        screen.query_one("#g-user_group", Select).value = "GRAD"
        await type_into(pilot, "#g-local_codes", "x1")  # not a field the question is about
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SisOverrideScreen)
        assert question_fields(app) == ["title", "user_group"]
        labels = [str(box.label) for box in app.screen.query(Checkbox)]
        assert labels[0] == "The next SIS load may override Title"
        assert not any(box.value for box in app.screen.query(Checkbox)), "kept by default"
        assert fresh(ada).person.title == "Dr", "nothing saved before the answer"
        await pilot.press("tab", "space")  # User group: the next SIS load may override it
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
    account = fresh(ada)
    assert account.person.title == "Prof" and account.user_group.code == "GRAD"
    assert account.local_codes == "x1"
    assert sis_yielding_fields(ada.id) == {"user_group"}
    assert {"title", "user_group"} <= overridden_fields(ada.id)


async def test_escape_goes_back_to_the_form_with_everything_typed(ui_db, ada) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, ada)
        await type_into(pilot, "#g-title", "Prof")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SisOverrideScreen)
        await pilot.press("space")  # ticked, then abandoned
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert screen.query_one("#g-title", Input).value == "Prof"
        assert fresh(ada).person.title == "Dr", "not saved"
        # Asked again, and Enter saves with the value kept (nothing ticked this time).
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SisOverrideScreen)
        assert not app.screen.query_one("#sis-title", Checkbox).value
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
    assert fresh(ada).person.title == "Prof"
    assert "title" in overridden_fields(ada.id) and sis_yielding_fields(ada.id) == set()


async def test_no_question_without_asked_fields_nor_on_an_internal_account(ui_db, ada) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, ada)
        await type_into(pilot, "#g-local_codes", "x1")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen, "local codes are not asked about"
        assert fresh(ada).local_codes == "x1"
        await pilot.press("escape")
        await settle(pilot)
        screen = await open_details(pilot, ui_db, anna)
        await type_into(pilot, "#g-title", "Dr")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen, "an internal account has no SIS load"
    assert fresh(anna).person.title == "Dr"


async def test_original_values_lists_a_hand_change_and_restore_puts_the_sis_value_back(
    ui_db, ada
) -> None:
    update_user(
        ada.id,
        ada.version,
        {"user_group": "GRAD"},
        Actor(ui_db.admin, Source.SCREEN),
        sis_may_override={"user_group": True},
    )
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, ada)
        await pilot.press("shift+f2")
        await settle(pilot)
        assert isinstance(app.screen, OriginalValuesScreen)
        table = app.screen.query_one(RowTable)
        assert table.rows == [("User group", "GRAD", "UNDERGRAD", "admin", table.rows[0][4], "yes")]
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, OriginalValuesScreen)
        assert app.screen.query_one(RowTable).rows == []
        assert "User group" in str(app.screen.query_one("#ov-message", Static).render())
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert screen.query_one("#g-user_group", Select).value == "UNDERGRAD"
        # The General tab is at the restored record's version: a save goes through.
        await type_into(pilot, "#g-local_codes", "x1")
        await pilot.press("ctrl+s")
        await settle(pilot)
    account = fresh(ada)
    assert account.user_group.code == "UNDERGRAD" and account.local_codes == "x1"
    assert "user_group" not in overridden_fields(ada.id)


async def test_a_stale_restore_is_refused_in_words(ui_db, ada) -> None:
    admin = Actor(ui_db.admin, Source.SCREEN)
    saved = update_user(ada.id, ada.version, {"title": "Prof"}, admin)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, ui_db, ada)
        await pilot.press("shift+f2")
        await settle(pilot)
        assert isinstance(app.screen, OriginalValuesScreen)
        update_user(ada.id, saved.version, {"local_codes": "x1"}, admin)  # someone else saves
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, OriginalValuesScreen)
        text = str(app.screen.query_one("#ov-message", Static).render())
        assert "Not restored" in text and "was changed by" in text
    assert fresh(ada).person.title == "Prof"


async def test_original_values_key_on_internal_account_and_dirty_form_and_in_f1(ui_db, ada) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, ada)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, KeysHelpScreen)
        text = str(app.screen.query_one("#help-text").render())
        assert "Original values" in text and "shift+f2" in text
        await pilot.press("f1")
        await settle(pilot)
        await pilot.press("ctrl+a")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, OriginalValuesScreen)
        assert app.screen.query_one(RowTable).rows == []
        await pilot.press("escape")
        await settle(pilot)
        # Something typed and unsaved: restoring would reload the form over it.
        await type_into(pilot, "#g-title", "Prof")
        await pilot.press("shift+f2")
        await settle(pilot)
        assert app.screen is screen
        assert any("unsaved" in n.message for n in app._notifications)
        assert screen.query_one("#g-title", Input).value == "Prof"
        screen.query_one("#g-title", Input).value = "Dr"
        await pilot.press("escape")
        await settle(pilot)
        screen = await open_details(pilot, ui_db, anna)
        app._notifications.clear()
        await pilot.press("shift+f2")
        await settle(pilot)
        assert app.screen is screen
        assert any("internal account" in n.message for n in app._notifications)


async def test_the_keys_of_both_dialogs_come_from_the_registry(ui_db, ada) -> None:
    from tests.ui.test_keymap import check_screen

    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, ada)
        await type_into(pilot, "#g-title", "Prof")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await check_screen(pilot, SisOverrideScreen)
        await pilot.press("escape")
        await settle(pilot)
        screen.query_one("#g-title", Input).value = "Dr"
        await pilot.press("shift+f2")
        await settle(pilot)
        await check_screen(pilot, OriginalValuesScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
