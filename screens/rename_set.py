"""Rename a set (issue 23): one field, `models.jobs.sets.rename_set` in a worker; a name
taken by another set is said under the field."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from models.errors import PatronDeskError, ValidationError
from models.jobs.sets import SetInfo, rename_set
from screens.after_worker import ClosesAfterWorker
from screens.confirm import CoveredKeys, ask_to_discard
from tui.keys import FORM, bindings
from tui.widgets import Field, LineInput, Message, plain
from tui.worker import run_service

GROUP = "set-rename"


class RenameSetScreen(ClosesAfterWorker, CoveredKeys, ModalScreen[SetInfo | None]):
    """Dismisses with the set renamed, or None."""

    BINDINGS = bindings(FORM)

    def __init__(self, info: SetInfo) -> None:
        super().__init__()
        self.info = info
        self.saving = False

    @property
    def accepting_keys(self) -> bool:
        return not self.saving

    def compose(self) -> ComposeResult:
        with Vertical(id="set-box", classes="job-dialog"):
            yield Static(plain(f"Rename set {self.info.name}"), id="rename-title")
            yield Field("New name", LineInput(self.info.name, id="rename-name"), required=True)
            yield Message(id="rename-message")
            with Horizontal(classes="form-buttons"):
                yield Button("Save (ctrl+s)", id="rename-save", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="rename-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#rename-name", Input).focus()

    def unsaved_changes(self) -> str | None:
        if self.query_one("#rename-name", Input).value != self.info.name:
            return "A set's new name is typed, not saved."
        return None

    @on(Input.Submitted)
    @on(Button.Pressed, "#rename-save")
    def action_save(self) -> None:
        if self.saving:
            return
        self.saving = True
        run_service(
            self,
            rename_set,
            self.info.set_id,
            self.query_one("#rename-name", Input).value,
            self.app.session.actor,
            on_ok=lambda info: self.dismiss_after_worker(GROUP, info),
            on_error=self._refused,
            group=GROUP,
        )

    def _refused(self, exc: PatronDeskError) -> None:
        self.saving = False
        field = self.query_one("#field-rename-name", Field)
        if isinstance(exc, ValidationError) and "name" in exc.errors:
            field.set_error(exc.errors["name"])
            return
        field.set_error(None)
        self.query_one("#rename-message", Message).show(exc.message)

    @on(Button.Pressed, "#rename-cancel")
    def action_cancel(self) -> None:
        if not self.saving:
            ask_to_discard(self, lambda: self.dismiss(None))
