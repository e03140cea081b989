"""The website on the General tab (issue 22, item 13): a value that is not a web address is
refused at its field with the reason, the text typed kept; a good one is saved."""

from __future__ import annotations

from textual.widgets import Input

from models.store.tables import Account
from tests.helpers.ui import SIZE, add_user, settle, type_into
from tests.ui.test_app_user_details import open_details
from tui.app import PatronDeskApp


async def test_a_wrong_website_is_said_at_its_field_and_a_good_one_saved(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100", email="anna@example.org")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, anna)
        await type_into(pilot, "#g-website", "www.anna.example")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "must start with http:// or https://" in screen.query_one("#field-g-website").error
        assert screen.query_one("#g-website", Input).value == "www.anna.example"
        assert Account.get_by_id(anna.id).person.website == ""
        await type_into(pilot, "#g-website", "https://www.anna.example/")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not screen.query_one("#field-g-website").error
    assert Account.get_by_id(anna.id).person.website == "https://www.anna.example/"
