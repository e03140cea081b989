"""User Details' Attachments tab driven with the pilot (issue 22, item 3): `v` opens the
attachment under the cursor in the read-only viewer (its text with no control character),
`x` saves it to a folder or file typed by the user (0600; an existing file replaced only once
confirmed; a FIFO refused with the reason at the field); both keys are in the footer and F1.
Every read and write runs in a worker: the suite's uiguard fails a database call on the loop."""

from __future__ import annotations

import os
import stat

import pytest
from textual.widgets import Input, Static, TextArea

from models.access.session import open_session
from models.store.tables import Account, Attachment, AuditEvent
from screens.attachment_save import SaveAttachmentScreen
from screens.attachment_viewer import AttachmentViewerScreen
from screens.confirm import ConfirmScreen
from screens.help import KeysHelpScreen
from screens.user_details import UserDetailsScreen
from tests.domain.test_attachment_view import HOSTILE, tiny_pdf
from tests.helpers.ui import SIZE, add_user, settle, type_into
from tui.app import PatronDeskApp
from tui.table import RowTable

TEXT = "Dear Anna,\n\x1b[2J\x1b]0;pwned\x07invoice\u202egnp.exe\nregards\n"


@pytest.fixture
def anna(ui_db) -> Account:
    patron = add_user("Anna", "Müller", "P100", email="anna@example.org")
    Attachment.create(
        account=patron, name="letter.txt", size=len(TEXT.encode()), mime_type="text/plain",
        data=TEXT.encode(),
    )  # fmt: skip
    pdf = tiny_pdf("Consent form signed by Anna")
    Attachment.create(
        account=patron, name="consent.pdf", size=len(pdf), mime_type="application/pdf", data=pdf
    )
    return patron


async def open_attachments(pilot, ui_db, account: Account) -> UserDetailsScreen:
    pilot.app.session = open_session(ui_db.admin)
    screen = UserDetailsScreen(account.id)
    pilot.app.push_screen(screen)
    await settle(pilot)
    await pilot.press("f9")
    await settle(pilot)
    table = screen.query_one("#table-attachment", RowTable)
    table.focus()
    await settle(pilot)
    assert table.row_count == 2
    return screen


async def test_v_opens_the_text_and_the_pdf_read_only_and_x_saves(ui_db, anna, tmp_path) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_attachments(pilot, ui_db, anna)
        # Both keys are on the footer, with their registry ids.
        ids = {b.binding.id for b in screen.active_bindings.values() if b.binding.show}
        assert {"attachments.view", "attachments.save"} <= ids
        hint = str(screen.query_one("#pane-attachment .hint", Static).render())
        assert "v open" in hint and "x save to a file" in hint

        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, AttachmentViewerScreen)
        area = app.screen.query_one("#viewer-text", TextArea)
        assert area.read_only and area.display
        assert "Dear Anna" in area.text and "regards" in area.text
        assert not HOSTILE.search(area.text), repr(area.text)
        assert "␛[2J␛]0;pwned␇" in area.text
        facts = str(app.screen.query_one("#viewer-facts", Static).render())
        assert "text/plain" in facts and "UTF-8" in facts
        await pilot.press("a", "b")  # read only: typing changes nothing
        assert "ab" not in area.text
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen

        await pilot.press("down", "v")  # the PDF: its text
        await settle(pilot)
        assert isinstance(app.screen, AttachmentViewerScreen)
        area = app.screen.query_one("#viewer-text", TextArea)
        assert "Consent form signed by Anna" in area.text
        assert "Pages: 1" in str(app.screen.query_one("#viewer-facts", Static).render())

        # x in the viewer: the save form; a folder keeps the attachment's name.
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, SaveAttachmentScreen)
        await type_into(pilot, "#save-path", str(tmp_path))
        await pilot.press("ctrl+s")
        await settle(pilot)
        written = tmp_path / "consent.pdf"
        assert written.read_bytes() == tiny_pdf("Consent form signed by Anna")
        assert stat.S_IMODE(os.stat(written).st_mode) == 0o600
        assert isinstance(app.screen, AttachmentViewerScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
    events = AuditEvent.select().where(
        (AuditEvent.entity == "attachment") & (AuditEvent.action == "export")
    )
    assert [e.account_id for e in events] == [anna.id]


async def test_x_on_the_tab_asks_before_replacing_and_refuses_a_fifo(ui_db, anna, tmp_path) -> None:
    target = tmp_path / "kept.txt"
    target.write_text("older")
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_attachments(pilot, ui_db, anna)
        await pilot.press("x")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, SaveAttachmentScreen)
        # A FIFO: refused at the field, the path kept, nothing written.
        await type_into(pilot, "#save-path", str(fifo))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert "pipe (FIFO)" in form.query_one("#field-save-path").error
        assert form.query_one("#save-path", Input).value == str(fifo)
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
        # An existing file: asked first; No keeps it, Yes replaces it.
        await type_into(pilot, "#save-path", str(target))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is form and target.read_text() == "older"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is screen
        assert target.read_text() == TEXT and stat.S_IMODE(os.stat(target).st_mode) == 0o600


async def test_f1_lists_the_attachment_keys(ui_db, anna) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_attachments(pilot, ui_db, anna)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, KeysHelpScreen)
        text = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert "Open" in text and "Save as" in text


async def test_a_view_only_role_reads_the_attachment_but_may_not_save_it(
    ui_db, anna, tmp_path
) -> None:
    from models.enums import Role

    viewer = add_user("Vera", "Viewer", "S-VIEW", record_type="staff", group="STAFF",
                      roles=[Role.FULFILLMENT_SERVICES_OPERATOR.value])  # fmt: skip
    folder = tmp_path / "out"
    folder.mkdir()
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        pilot.app.session = open_session(viewer)
        screen = UserDetailsScreen(anna.id)
        pilot.app.push_screen(screen)
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        screen.query_one("#table-attachment", RowTable).focus()
        await pilot.press("v")
        await settle(pilot)
        assert "Dear Anna" in app.screen.query_one("#viewer-text", TextArea).text
        await pilot.press("x")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, SaveAttachmentScreen)
        await type_into(pilot, "#save-path", str(folder))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form  # refused in words, the form kept
        message = str(form.query_one("#save-message", Static).render())
        assert "manage attachments" in message
    assert list(folder.iterdir()) == []
