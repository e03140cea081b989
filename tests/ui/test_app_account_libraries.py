"""Resource sharing and purchase request libraries on the General tab (issue 22, item 6d), driven
with the pilot: library codes typed separated by commas, saved with ctrl+s, a wrong code named
at its field with nothing typed lost, and the form at 80x24."""

from __future__ import annotations

from textual.widgets import Input

from models.access.session import open_session
from models.store.tables import Library, Organization
from models.users.libraries import library_codes
from screens.user_details import UserDetailsScreen
from screens.user_details.general import LABELS
from tests.helpers.ui import SIZE, add_user, settle, type_into
from tui.app import PatronDeskApp
from tui.widgets import Field


async def test_libraries_typed_as_codes_are_saved_and_a_wrong_one_is_named(ui_db) -> None:
    org = Organization.get(Organization.code == "MAIN")
    Library.create(organization=org, code="LAW", name="Law Library")
    Library.create(organization=org, code="SCI", name="Science Library")
    anna = add_user("Anna", "Müller", "P100", email="anna@example.org")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        pilot.app.session = open_session(ui_db.admin)
        screen = UserDetailsScreen(anna.id)
        pilot.app.push_screen(screen)
        await settle(pilot)
        rs = screen.query_one("#g-resource_sharing_libraries", Input)
        pr = screen.query_one("#g-purchase_request_libraries", Input)
        assert (rs.value, pr.value) == ("", "")
        assert not rs.disabled and not pr.disabled
        await type_into(pilot, "#g-resource_sharing_libraries", "sci, main")
        await type_into(pilot, "#g-purchase_request_libraries", "LAW, NOPE")
        await pilot.press("ctrl+s")
        await settle(pilot)
        field = screen.query_one("#field-g-purchase_request_libraries", Field)
        assert field.has_class("-invalid")
        assert "'NOPE' is not a library of this organization" in str(
            field.query_one(".field-error").render()
        )
        assert pr.value == "LAW, NOPE"  # nothing typed is lost
        assert rs.value == "sci, main"
        assert library_codes(anna.id, "resource_sharing_libraries") == []  # one transaction
        await type_into(pilot, "#g-purchase_request_libraries", "LAW")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not field.has_class("-invalid")
        assert library_codes(anna.id, "resource_sharing_libraries") == ["SCI", "MAIN"]
        assert library_codes(anna.id, "purchase_request_libraries") == ["LAW"]
        assert rs.value == "SCI, MAIN"  # as stored: the libraries' own codes


async def test_the_library_fields_fit_the_form_at_80x24(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100", email="anna@example.org")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pilot.app.session = open_session(ui_db.admin)
        screen = UserDetailsScreen(anna.id)
        pilot.app.push_screen(screen)
        await settle(pilot)
        for name in ("resource_sharing_libraries", "purchase_request_libraries"):
            widget = screen.query_one(f"#g-{name}", Input)
            widget.focus()
            widget.scroll_visible(animate=False)
            await settle(pilot)
            assert widget.region.width >= 20, name
            assert widget.region.right <= 80, name
            assert "comma-separated" in widget.placeholder
            field = screen.query_one(f"#field-g-{name}", Field)
            label = field.query_one(".field-label")
            assert label.region.width <= field.region.width, name  # the label is not cut
            assert LABELS[name] in str(label.render())
