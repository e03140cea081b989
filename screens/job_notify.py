"""The form of a notify job on a set (issue 23): the general letter's subject and message,
queued to every member in the outbox (each in their language). ctrl+d checks them
(`check_general_message`) and works out the preview in a worker; the preview and the run are
`JobRunScreen`."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static, TextArea

from models.audit import Actor
from models.errors import PatronDeskError, ValidationError
from models.jobs.jobs import preview, run_notify
from models.jobs.types import NOTIFY, Preview
from models.mail.letters import check_general_message
from screens.confirm import CoveredKeys, ask_to_discard
from screens.job_run import OpensJobRun
from tui.keys import JOB_FORM, bindings
from tui.widgets import Field, LineInput, Message, plain
from tui.worker import run_service

GROUP = "job-notify"


def check_and_preview(subject: str, body: str, set_id: int, actor: Actor) -> Preview:
    """The letter checked, and the job's preview (database work: in a worker)."""
    check_general_message(subject, body)
    return preview(NOTIFY, set_id, actor)


class NotifyJobScreen(OpensJobRun, CoveredKeys, ModalScreen[bool]):
    """Dismisses with True when the job was started, else False."""

    BINDINGS = bindings(JOB_FORM)

    def __init__(self, set_id: int, set_name: str) -> None:
        super().__init__()
        self.set_id, self.set_name = set_id, set_name
        self.busy = False
        self.ran = False  # a job was started from the form: nothing is left unsaved

    @property
    def accepting_keys(self) -> bool:
        return not self.busy

    def compose(self) -> ComposeResult:
        with Vertical(id="job-form", classes="job-dialog"):
            yield Static(plain(f"Message the members of set {self.set_name}"))
            yield Static("A letter to each member, in their language, through the outbox.",
                         classes="hint")  # fmt: skip
            yield Field("Subject", LineInput("", id="job-subject"), required=True)
            yield Field("Message", TextArea("", id="job-body-text"), required=True)
            yield Message(id="job-message")
            with Horizontal(classes="form-buttons"):
                yield Button("Preview (ctrl+d)", id="job-preview", variant="primary",
                             compact=True)  # fmt: skip
                yield Button("Cancel (Esc)", id="job-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#job-subject", Input).focus()

    def _texts(self) -> tuple[str, str]:
        return (
            self.query_one("#job-subject", Input).value,
            self.query_one("#job-body-text", TextArea).text,
        )

    def unsaved_changes(self) -> str | None:
        if self.ran:
            return None
        if any(t.strip() for t in self._texts()):
            return "A message to a set is written, not sent."
        return None

    @on(Button.Pressed, "#job-preview")
    def action_preview(self) -> None:
        if self.busy:
            return
        for field in self.query(Field):
            field.set_error(None)
        self.busy = True
        self.query_one("#job-message", Message).show("Working out the preview…", error=False)
        subject, body = self._texts()
        run_service(
            self,
            check_and_preview,
            subject,
            body,
            self.set_id,
            self.app.session.actor,
            on_ok=lambda p: self._previewed(p, subject, body),
            on_error=self._refused,
            group=GROUP,
        )

    @on(Input.Submitted, "#job-subject")
    def _to_body(self) -> None:
        self.query_one("#job-body-text", TextArea).focus()

    def _previewed(self, p: Preview, subject: str, body: str) -> None:
        set_id, actor = self.set_id, self.app.session.actor
        self.open_run(
            f"Message the members of set {self.set_name}",
            NOTIFY,
            p,
            lambda progress: run_notify(set_id, subject, body, actor, progress=progress),
        )

    def _refused(self, exc: PatronDeskError) -> None:
        self.busy = False
        message = self.query_one("#job-message", Message)
        if isinstance(exc, ValidationError):
            targets = {"subject": "#field-job-subject", "message": "#field-job-body-text"}
            for key, text in exc.errors.items():
                if key in targets:
                    self.query_one(targets[key], Field).set_error(text)
            message.clear()
            return
        message.show(exc.message)

    @on(Button.Pressed, "#job-cancel")
    def action_cancel(self) -> None:
        ask_to_discard(self, lambda: self.dismiss(False))
