"""A set from a file of identifiers (issue 23): a name, the file (typed path), and for a CSV
file the column (a header name or a number). The file is read as the command line reads it
(`models.store.files.read_user_file`: a regular file of the user's, never a FIFO, a device, a
link, a hidden or system file or the database's own), and made into an itemized set by
`models.jobs.sets.create_set_from_file`, in a worker; the identifiers matching nobody are
listed by the caller."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from models.audit import Actor
from models.errors import PatronDeskError, ValidationError
from models.jobs.sets import FileSet, create_set_from_path
from screens.after_worker import ClosesAfterWorker
from screens.confirm import CoveredKeys, ask_to_discard
from tui.keys import FORM, bindings
from tui.widgets import Field, LineInput, Message
from tui.worker import run_service

GROUP = "set-file"


def set_from_file(name: str, path: str, column: str, actor: Actor) -> FileSet:
    """Read the file and make the set (file and database work: in a worker)."""
    return create_set_from_path(name, path, actor, column=column.strip() or None)


class SetFromFileScreen(ClosesAfterWorker, CoveredKeys, ModalScreen[FileSet | None]):
    """Dismisses with the set made (and the unknown identifiers), or None."""

    BINDINGS = bindings(FORM)

    def __init__(self) -> None:
        super().__init__()
        self.saving = False

    @property
    def accepting_keys(self) -> bool:
        return not self.saving

    def compose(self) -> ComposeResult:
        with Vertical(id="set-box", classes="job-dialog"):
            yield Static("[b]New set from a file of identifiers[/b]")
            yield Static(
                "One identifier, barcode, primary id, username or email a line, or a CSV "
                "file and its column.",
                classes="hint",
            )
            yield Field("Name of the set", LineInput("", id="file-name"), required=True)
            yield Field("File", LineInput("", id="file-path", placeholder="~/ids.txt"),
                        required=True)  # fmt: skip
            yield Field("CSV column (name or number; empty: one a line)",
                        LineInput("", id="file-column"))  # fmt: skip
            yield Message(id="file-message")
            with Horizontal(classes="form-buttons"):
                yield Button("Make the set (ctrl+s)", id="file-save", variant="primary",
                             compact=True)  # fmt: skip
                yield Button("Cancel (Esc)", id="file-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#file-name", Input).focus()

    def _values(self) -> tuple[str, str, str]:
        return tuple(  # type: ignore[return-value]
            self.query_one(f"#file-{n}", Input).value for n in ("name", "path", "column")
        )

    def unsaved_changes(self) -> str | None:
        if any(v.strip() for v in self._values()):
            return "A set from a file is typed, not made."
        return None

    @on(Input.Submitted, "#file-name")
    @on(Input.Submitted, "#file-path")
    def _next(self, event: Input.Submitted) -> None:
        self.focus_next()

    @on(Input.Submitted, "#file-column")
    @on(Button.Pressed, "#file-save")
    def action_save(self) -> None:
        if self.saving:
            return
        for field in self.query(Field):
            field.set_error(None)
        name, path, column = self._values()
        self.saving = True
        self.query_one("#file-message", Message).show("Reading the file…", error=False)
        run_service(
            self,
            set_from_file,
            name,
            path,
            column,
            self.app.session.actor,
            on_ok=lambda made: self.dismiss_after_worker(GROUP, made),
            on_error=self._refused,
            group=GROUP,
        )

    def _refused(self, exc: PatronDeskError) -> None:
        self.saving = False
        message = self.query_one("#file-message", Message)
        targets = {"name": "name", "file": "path", "column": "column"}
        if isinstance(exc, ValidationError):
            rest = []
            for key, text in exc.errors.items():
                if key in targets:
                    self.query_one(f"#field-file-{targets[key]}", Field).set_error(text)
                else:
                    rest.append(f"{key}: {text}")
            message.show("; ".join(rest)) if rest else message.clear()
            return
        message.show(exc.message)

    @on(Button.Pressed, "#file-cancel")
    def action_cancel(self) -> None:
        if not self.saving:
            ask_to_discard(self, lambda: self.dismiss(None))
