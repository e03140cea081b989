"""User photos on screen (issue 25, item 2), driven with the pilot: shift+F4 on User Details
adds a photo from a file (ctrl+s), which the header shows at once; a file that is no picture is
refused under its field; F8 removes the photo after a question; a role that may not edit the
user is told so and no form opens; the user card shows the photo. Drawn in half-blocks here
(tui/photo.py: nothing asks the terminal in tests)."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from models.access.session import open_session
from models.enums import Role
from models.store.tables import Account, AuditEvent, PersonPhoto
from screens.confirm import ConfirmScreen
from screens.photo import PhotoScreen
from screens.user_details import UserDetailsScreen
from tests.helpers.details import staff
from tests.helpers.pictures import camera_jpeg, write
from tests.helpers.ui import add_user, settle, type_into
from tui.app import PatronDeskApp
from tui.photo import PhotoView
from tui.widgets import Field


@pytest.fixture
def anna(ui_db) -> Account:
    return add_user("Anna", "Müller", "P100")


async def open_details(pilot, account: Account, actor: Account) -> UserDetailsScreen:
    pilot.app.session = open_session(actor)
    screen = UserDetailsScreen(account.id)
    pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


def halfblocks(widget) -> int:  # noqa: ANN001
    """How many cells of the widget are drawn as half-blocks."""
    lines = [widget.render_line(y) for y in range(widget.size.height)]
    return sum(seg.text.count("▀") + seg.text.count("▄") for line in lines for seg in line)


async def test_a_photo_is_added_from_a_file_and_shown_in_the_header(ui_db, anna, tmp_path) -> None:
    source = write(tmp_path / "anna.jpg", camera_jpeg())
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_details(pilot, anna, ui_db.admin)
        photo = screen.query_one("#details-photo", PhotoView)
        assert not photo.display or not photo.has_class("-shown")  # none yet: no room taken
        head = screen.query_one("#details-head")
        assert screen.query_one("#details-head-row").size.height == head.size.height
        await pilot.press("f16")  # shift+F4
        await settle(pilot)
        assert isinstance(app.screen, PhotoScreen)
        assert "No photo." in str(app.screen.query_one("#photo-facts").render())
        await type_into(pilot, "#photo-path", str(source))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        stored = PersonPhoto.get(PersonPhoto.person == anna.person_id)
        assert (stored.width, stored.height) == (240, 180)
        assert photo.has_class("-shown") and photo.size == (10, 5)
        assert screen.query_one("#details-head-row").size.height == 5
        assert head.region.x >= photo.region.right  # the text beside the photo
        assert halfblocks(photo.children[0]) > 10
        assert screen.ctx.version == Account.get_by_id(anna.id).version  # saves go on
        await type_into(pilot, "#g-first_name", "Annette")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert Account.get_by_id(anna.id).person.first_name == "Annette"
        events = AuditEvent.select().where(AuditEvent.field == "photo")
        assert [(e.action, e.actor) for e in events] == [("create", "admin")]


async def test_a_file_that_is_no_picture_is_refused_at_its_field(ui_db, anna, tmp_path) -> None:
    source = write(tmp_path / "anna.jpg", b"#!/bin/sh\necho hello\n")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_details(pilot, anna, ui_db.admin)
        await pilot.press("f16")
        await settle(pilot)
        await type_into(pilot, "#photo-path", str(source))
        await pilot.press("ctrl+s")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, PhotoScreen)
        field = dialog.query_one("#field-photo-path", Field)
        assert "not a JPEG or PNG picture" in str(field.query_one(".field-error").render())
        assert app.focused is dialog.query_one("#photo-path", Input)
        assert PersonPhoto.select().count() == 0


async def test_f8_removes_the_photo_after_a_question(ui_db, anna, tmp_path) -> None:
    from models.audit import Actor
    from models.enums import Source
    from models.users.photos import set_photo

    set_photo(anna.id, anna.version, write(tmp_path / "a.jpg", camera_jpeg()),
              Actor(ui_db.admin, Source.SCREEN))  # fmt: skip
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_details(pilot, anna, ui_db.admin)
        photo = screen.query_one("#details-photo", PhotoView)
        assert photo.has_class("-shown")
        await pilot.press("f16")
        await settle(pilot)
        assert "240 x 180 pixels, added by admin" in str(
            app.screen.query_one("#photo-facts").render()
        )
        assert app.screen.query_one("#photo-view", PhotoView).has_class("-shown")
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is screen
        assert PersonPhoto.select().count() == 0
        assert not photo.has_class("-shown")
        head = screen.query_one("#details-head")
        assert screen.query_one("#details-head-row").size.height == head.size.height < 5


async def test_a_role_that_may_not_edit_the_user_gets_no_form(ui_db, anna) -> None:
    desk = staff(ui_db, Role.CIRCULATION_DESK_OPERATOR, "S-DESK")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_details(pilot, anna, desk)
        await pilot.press("f16")
        await settle(pilot)
        assert app.screen is screen
        said = [n.message for n in app._notifications]
        assert any("You may not edit user" in m for m in said), said


async def test_the_user_card_shows_the_photo(ui_db, anna, tmp_path) -> None:
    from models.audit import Actor
    from models.enums import Source
    from models.users.photos import set_photo
    from tests.ui.test_app_user_card import open_card

    set_photo(anna.id, anna.version, write(tmp_path / "a.jpg", camera_jpeg()),
              Actor(ui_db.admin, Source.SCREEN))  # fmt: skip
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        card = await open_card(pilot, "p100")
        photo = card.query_one("#card-photo", PhotoView)
        assert photo.has_class("-shown") and photo.size == (12, 6)
        assert halfblocks(photo.children[0]) > 10


def test_the_graphics_are_chosen_without_asking_where_asking_is_wrong(monkeypatch) -> None:
    """Said outright, they are used; TERM=linux and a process without a terminal (tests, the
    browser's app) get half-blocks; the terminal is never asked (its answer would come on the
    input a scanner types into right after launch)."""
    import textual_image.renderable.sixel as sixel

    import tui.photo as photo

    asked: list[str] = []
    monkeypatch.setattr(sixel, "query_terminal_support", lambda: asked.append("asked") or True)
    monkeypatch.setattr(photo, "GRAPHICS", photo.HALFCELL)
    try:
        assert photo.choose_graphics({"PATRONDESK_GRAPHICS": "Sixel"}) == photo.SIXEL
        assert photo.choose_graphics({"PATRONDESK_GRAPHICS": "kitty"}) == photo.KITTY
        monkeypatch.setattr(photo, "_terminal", lambda: True)
        assert photo.choose_graphics({"TERM": "linux"}) == photo.HALFCELL
        assert photo.choose_graphics({"TERM": "xterm-kitty"}) == photo.KITTY
        assert photo.choose_graphics({"TERM": "xterm-256color"}) == photo.HALFCELL
        assert asked == []  # none of these asked the terminal
        monkeypatch.setattr(photo, "_terminal", lambda: False)
        assert photo.choose_graphics({"TERM": "xterm-256color"}) == photo.HALFCELL
        assert asked == []
    finally:
        photo.GRAPHICS = photo.HALFCELL
