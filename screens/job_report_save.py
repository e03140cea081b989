"""Save a job's report as a CSV file (issue 23): the file typed by the staff user, written by
`models.jobs.views.save_report` in a worker through the project's file writer
(`models.store.files.write_private`: 0600, never over an existing file, never a device, a
FIFO, a link or the database's own files)."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from models.errors import PatronDeskError
from models.jobs.views import save_report
from screens.after_worker import ClosesAfterWorker
from screens.confirm import CoveredKeys
from tui.keys import FORM, bindings
from tui.widgets import Field, LineInput, Message
from tui.worker import run_service

GROUP = "job-report-save"


class SaveReportScreen(ClosesAfterWorker, CoveredKeys, ModalScreen[Path | None]):
    """Dismisses with the file written, or None."""

    BINDINGS = bindings(FORM)

    def __init__(self, job_id: int) -> None:
        super().__init__()
        self.job_id = job_id
        self.saving = False

    @property
    def accepting_keys(self) -> bool:
        return not self.saving

    def compose(self) -> ComposeResult:
        with Vertical(id="set-box", classes="job-dialog"):
            yield Static(f"[b]Save the report of job {self.job_id} as CSV[/b]")
            yield Field(
                "File (a new one: an existing file is never replaced)",
                LineInput(f"job-{self.job_id}-report.csv", id="report-path"),
                required=True,
            )
            yield Message(id="report-message")
            with Horizontal(classes="form-buttons"):
                yield Button("Save (ctrl+s)", id="report-save", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="report-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#report-path", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#report-save")
    def action_save(self) -> None:
        if self.saving:
            return
        self.saving = True
        self.query_one("#report-message", Message).show("Saving…", error=False)
        run_service(
            self,
            save_report,
            self.job_id,
            self.query_one("#report-path", Input).value,
            self.app.session.actor,
            on_ok=self._saved,
            on_error=self._refused,
            group=GROUP,
        )

    def _saved(self, written: Path) -> None:
        self.app.notify(f"Report saved to {written}", timeout=6)
        self.dismiss_after_worker(GROUP, written)

    def _refused(self, exc: PatronDeskError) -> None:
        self.saving = False
        self.query_one("#report-message", Message).clear()
        self.query_one("#field-report-path", Field).set_error(exc.message)
        self.query_one("#report-path", Input).focus()

    @on(Button.Pressed, "#report-cancel")
    def action_cancel(self) -> None:
        if not self.saving:
            self.dismiss(None)
