"""The attachment viewer of User Details' Attachments tab (issue 22, item 3): one attachment,
read only. What it shows is `models.users.attachment_view.open_attachment`'s answer, read in a
worker (the permission, the stored bytes, a PDF's text): a text file's text, a PDF's text, a
picture's type and dimensions, or the type and size of anything else; every text is already
made safe to draw there. The attachment's save key opens the save form
(`screens.attachment_save`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from models.audit import Actor
from models.errors import PatronDeskError
from models.users.attachment_view import AttachmentView, open_attachment
from screens.confirm import CoveredKeys
from tui.keys import ATTACHMENT_VIEWER, bindings, hint
from tui.widgets import plain
from tui.worker import run_service


class AttachmentViewerScreen(CoveredKeys, ModalScreen[None]):
    """Shows one attachment of `account_id`; Escape closes it."""

    BINDINGS = bindings(ATTACHMENT_VIEWER)

    def __init__(self, account_id: int, attachment_id: int, name: str, actor: Actor) -> None:
        super().__init__()
        self.account_id, self.attachment_id, self.file_name, self.actor = (
            account_id, attachment_id, name, actor
        )  # fmt: skip
        self.view: AttachmentView | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="viewer-box"):
            yield Static(plain(f"Attachment: {self.file_name}"), id="viewer-title", markup=False)
            yield Static("Reading…", id="viewer-facts", markup=False)
            area = TextArea("", read_only=True, soft_wrap=True, id="viewer-text")
            area.display = False
            yield area
            notice = Static("", id="viewer-notice", markup=False)
            notice.display = False
            yield notice
            save = hint(self.app, "attachments.save")
            yield Static(f"{save} save to a file · Esc close", id="viewer-hint", classes="hint")

    def on_mount(self) -> None:
        run_service(
            self,
            open_attachment,
            self.account_id,
            self.attachment_id,
            self.actor,
            on_ok=self._show,
            on_error=self._failed,
            group="viewer-open",
            exclusive=True,
        )

    def _show(self, view: AttachmentView) -> None:
        self.view = view
        self.query_one("#viewer-facts", Static).update(
            plain(" · ".join(f"{label}: {value}" for label, value in view.facts))
        )
        notice = self.query_one("#viewer-notice", Static)
        notice.update(plain(view.notice))
        notice.display = bool(view.notice)
        if view.text:
            area = self.query_one("#viewer-text", TextArea)
            area.load_text(view.text)  # printable already: no control reaches the terminal
            area.display = True
            area.focus()

    def _failed(self, exc: PatronDeskError) -> None:
        self.query_one("#viewer-facts", Static).update(plain(exc.message))

    def action_save_attachment(self) -> None:
        from screens.attachment_save import SaveAttachmentScreen

        self.app.push_screen(SaveAttachmentScreen(self.attachment_id, self.file_name, self.actor))

    def action_close(self) -> None:
        self.dismiss(None)
