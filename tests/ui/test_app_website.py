"""The website on Quick User Management and the General tab (issue 22, item 13): a value that is
not a web address is refused at its field with the reason, the text typed kept; a good one is
saved."""

from __future__ import annotations

from textual.widgets import Input, Select

from models.store.tables import Account
from screens.quick_user import QuickUserScreen
from tests.helpers.ui import SIZE, add_user, settle, type_into
from tests.ui.test_app_quick_user import error, fill, open_form, public_values
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


async def test_quick_user_says_a_wrong_website_at_its_field_and_saves_a_good_one(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, ui_db, tab="public")
        await fill(pilot, public_values(website="javascript:alert(1)"))
        screen.query_one("#user_group", Select).value = "PUBLIC"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, QuickUserScreen), "a failed save stays on the form"
        assert "must start with http:// or https://" in error(screen, "website")
        assert screen.query_one("#website", Input).value == "javascript:alert(1)"
        assert app.focused is screen.query_one("#website"), "the wrong field has the focus"
        assert not Account.select().where(Account.primary_id == "P9001").exists()
        await type_into(pilot, "#website", "https://lea.example.org/")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.results
    lea = Account.get(Account.primary_id == "P9001")
    assert lea.person.website == "https://lea.example.org/"
