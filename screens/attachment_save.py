"""Save an attachment to a file (issue 22, item 3): a folder (the attachment keeps its name
there) or a file name, typed by the staff user. The save is
`models.users.rows.save_attachment`, in a worker: the right to manage attachments, a file
written 0600, never a device, a FIFO, a symbolic link or the database's own files
(`models.store.files`, the rules of every export), and an existing file replaced only once the
user said so here; each save is recorded in the user's History."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from models.audit import Actor
from models.errors import PatronDeskError, ValidationError
from models.users.rows import SaveTargetExists, save_attachment
from screens.after_worker import ClosesAfterWorker
from screens.confirm import CoveredKeys
from tui.keys import FORM, bindings
from tui.widgets import Field, LineInput, Message, escape, plain
from tui.worker import run_service

GROUP = "attachment-save"


class SaveAttachmentScreen(ClosesAfterWorker, CoveredKeys, ModalScreen[Path | None]):
    """Dismisses with the file written, or None when cancelled."""

    BINDINGS = bindings(FORM)

    def __init__(self, attachment_id: int, name: str, actor: Actor) -> None:
        super().__init__()
        self.attachment_id, self.file_name, self.actor = attachment_id, name, actor
        self.saving = False

    @property
    def accepting_keys(self) -> bool:
        """Keys typed while it saves wait for the answer (`App._ready_for_keys`)."""
        return not self.saving

    def compose(self) -> ComposeResult:
        with Vertical(id="save-box"):
            yield Static(plain(f"Save {self.file_name} to a file"), id="save-title", markup=False)
            yield Field(
                "Folder or file (on this computer)",
                LineInput("", id="save-path", placeholder="~/Documents"),
            )
            yield Message(id="save-message")
            with Horizontal(classes="form-buttons"):
                yield Button("Save (ctrl+s)", id="save-save", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="save-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#save-path", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#save-save")
    def action_save(self) -> None:
        if self.saving:  # one save at a time: the first one's answer decides
            return
        path = self.query_one("#save-path", Input).value
        if not path.strip():
            self._refused(ValidationError({"path": "is required: give a folder or a file"}))
            return
        self._save(path, overwrite=False)

    def _save(self, path: str | Path, *, overwrite: bool) -> None:
        self._set_saving(True)
        run_service(
            self,
            save_attachment,
            self.attachment_id,
            path,
            self.actor,
            overwrite=overwrite,
            on_ok=self._saved,
            on_error=self._refused,
            group=GROUP,
        )

    def _set_saving(self, saving: bool) -> None:
        self.saving = saving
        box = self.query_one("#save-box")
        message = self.query_one("#save-message", Message)
        if saving:
            message.show("Saving…", error=False)
        else:
            message.clear()
        box.disabled = saving
        if not saving:
            self.query_one("#save-path", Input).focus()

    def _saved(self, written: Path) -> None:
        self.app.notify(f"Saved to {escape(str(written))}", timeout=6)
        self.dismiss_after_worker(GROUP, written)

    def _refused(self, exc: PatronDeskError) -> None:
        from screens.confirm import ConfirmScreen

        self._set_saving(False)
        field = self.query_one("#field-save-path", Field)
        if isinstance(exc, SaveTargetExists):
            target = exc.path

            def answered(replace: bool | None) -> None:
                if replace:
                    self._save(target, overwrite=True)

            field.set_error(None)
            self.app.push_screen(
                ConfirmScreen(f"{target} already exists. Replace it?", yes="Replace"), answered
            )
            return
        if isinstance(exc, ValidationError) and "path" in exc.errors:
            field.set_error(exc.errors["path"])
            return
        field.set_error(None)
        self.query_one("#save-message", Message).show(exc.message)

    @on(Button.Pressed, "#save-cancel")
    def action_cancel(self) -> None:
        if not self.saving:  # the save's answer closes the form (or says why not)
            self.dismiss(None)
