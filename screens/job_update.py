"""The form of an update job on a set (issue 23): the fields the domain says an update may set
(`models.jobs.views.update_fields`, read from `models.jobs.types`: a field the jobs learn
appears here by itself), each left empty to keep the members' values. ctrl+d checks the values
(`parse_update`) and works out the preview (`models.jobs.jobs.preview`) in a worker; a wrong
value is said under its field. Under the fields, rows to add or remove on every member
(statistical categories, roles, blocks: `stat=CODE`, `role=ROLE@LIBRARY`, `block=TYPE`, several
separated by commas) and a note to add, checked by `models.jobs.rows.parse_rows` as the command
line's --add, --remove and --note are. The preview, and the run once confirmed, are
`JobRunScreen`."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Select, Static

from models.errors import PatronDeskError, ValidationError
from models.jobs.jobs import parse_update, preview, run_update
from models.jobs.rows import parse_rows
from models.jobs.types import RENEW, UPDATE, Preview
from models.jobs.views import CHOICE, CODE, DATE, UpdateField, update_fields
from screens.confirm import CoveredKeys, ask_to_discard
from screens.job_run import OpensJobRun
from tui.keys import JOB_FORM, bindings
from tui.widgets import (
    Checkbox,
    Field,
    LineInput,
    Message,
    plain,
)
from tui.worker import run_service

GROUP = "job-update"


# The rows a job adds or removes (models/jobs/rows.py), under the fields: (id, label, hint).
ROW_INPUTS = (
    ("add", "Add to each", "stat=CODE, role=ROLE@LIBRARY, block=TYPE (commas between)"),
    ("remove", "Remove from each", "stat=CODE, role=ROLE@LIBRARY, block=TYPE"),
    ("note", "Note to add", "one line, added to every member"),
)


def _items(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def check_and_preview(
    assignments: list[str], row_inputs: dict[str, str], set_id: int, organization_id: int, actor
) -> tuple[dict[str, str], list[dict], Preview]:  # noqa: ANN001
    """The job's fields and rows checked, and its preview (database work: in a worker)."""
    fields = parse_update(assignments, organization_id) if assignments else {}
    note = row_inputs.get("note", "").strip()
    rows = parse_rows(
        _items(row_inputs.get("add", "")),
        _items(row_inputs.get("remove", "")),
        [note] if note else [],
        organization_id=organization_id,
    )
    return fields, rows, preview(UPDATE, set_id, actor, fields=fields, rows=rows)


class UpdateJobScreen(OpensJobRun, CoveredKeys, ModalScreen[bool]):
    """Dismisses with True when the job was started, else False."""

    BINDINGS = bindings(JOB_FORM)

    def __init__(self, set_id: int, set_name: str) -> None:
        super().__init__()
        self.set_id, self.set_name = set_id, set_name
        self.fields: list[UpdateField] = []
        self.busy = True  # reading the fields, then working out a preview
        self.ran = False  # a job was started from the form: nothing is left unsaved

    @property
    def accepting_keys(self) -> bool:
        return not self.busy

    def compose(self) -> ComposeResult:
        with Vertical(id="job-form", classes="job-dialog"):
            yield Static(plain(f"Update the members of set {self.set_name}"), id="job-form-title")
            yield Static("Leave a field empty to keep each member's value.", classes="hint")
            yield VerticalScroll(id="job-fields")
            yield Message(id="job-message")
            with Horizontal(classes="form-buttons"):
                yield Button("Preview (ctrl+d)", id="job-preview", variant="primary",
                             compact=True)  # fmt: skip
                yield Button("Cancel (Esc)", id="job-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#job-message", Message).show("Reading the fields…", error=False)
        run_service(
            self,
            update_fields,
            self.app.session.actor,
            on_ok=self._show_fields,
            on_error=self._refused,
            group=GROUP,
        )

    def _widget(self, f: UpdateField) -> Widget:
        wid = f"job-{f.column}"
        if f.kind in (CODE, CHOICE):
            return Select(list(f.options), prompt="(keep)", id=wid, compact=True)
        placeholder = "YYYY-MM-DD or +Nd (days from today)" if f.kind == DATE else ""
        return LineInput("", id=wid, placeholder=placeholder)

    def _show_fields(self, fields: list[UpdateField]) -> None:
        self.fields = fields
        box = self.query_one("#job-fields", VerticalScroll)
        widgets: list[Widget] = []
        for f in fields:
            widgets.append(Field(f.label, self._widget(f)))
            if f.renew:
                widgets.append(
                    Checkbox(
                        f"Renew by the user group's period ({f.label.lower()})",
                        id=f"job-{f.column}-renew",
                        compact=True,
                    )  # fmt: skip
                )
        for name, label, hint in ROW_INPUTS:
            widgets.append(Field(label, LineInput("", id=f"job-{name}", placeholder=hint)))
        box.mount_all(widgets)
        self.busy = False
        self.query_one("#job-message", Message).clear()
        self.call_after_refresh(self._focus_first)

    def _focus_first(self) -> None:
        if self.fields:
            self.query_one(f"#job-{self.fields[0].column}").focus()

    def _value(self, f: UpdateField) -> str:
        if f.renew and self.query_one(f"#job-{f.column}-renew", Checkbox).value:
            return RENEW
        widget = self.query_one(f"#job-{f.column}")
        if isinstance(widget, Select):
            return "" if widget.value is Select.NULL else str(widget.value)
        return widget.value.strip() if isinstance(widget, Input) else ""

    def assignments(self) -> list[str]:
        return [f"{f.name}={value}" for f in self.fields if (value := self._value(f))]

    def row_inputs(self) -> dict[str, str]:
        out = {}
        for name, _label, _hint in ROW_INPUTS:
            found = self.query(f"#job-{name}")
            if found and (value := found.first(Input).value.strip()):
                out[name] = value
        return out

    def unsaved_changes(self) -> str | None:
        if self.ran:
            return None
        if self.fields and (self.assignments() or self.row_inputs()):
            return "An update job's fields are filled in, not run."
        return None

    @on(Input.Submitted)
    @on(Button.Pressed, "#job-preview")
    def action_preview(self) -> None:
        if self.busy:
            return
        for field in self.query(Field):
            field.set_error(None)
        assignments, row_inputs = self.assignments(), self.row_inputs()
        message = self.query_one("#job-message", Message)
        if not assignments and not row_inputs:
            message.show("Choose at least one field to change, or a row to add or remove.")
            return
        self.busy = True
        message.show("Working out the preview…", error=False)
        session = self.app.session
        run_service(
            self,
            check_and_preview,
            assignments,
            row_inputs,
            self.set_id,
            session.organization.id,
            session.actor,
            on_ok=self._previewed,
            on_error=self._refused,
            group=GROUP,
        )

    def _previewed(self, answer: tuple[dict[str, str], list[dict], Preview]) -> None:
        fields, rows, p = answer
        set_id, actor = self.set_id, self.app.session.actor
        self.open_run(
            f"Update the members of set {self.set_name}",
            UPDATE,
            p,
            lambda progress: run_update(
                set_id, fields, actor, progress=progress, rows=rows or None
            ),
        )

    def _refused(self, exc: PatronDeskError) -> None:
        self.busy = False
        message = self.query_one("#job-message", Message)
        if not isinstance(exc, ValidationError):
            message.show(exc.message)
            return
        rest = []
        for key, text in exc.errors.items():
            column = key.removesuffix("_id")
            found = self.query(f"#field-job-{column}")
            if found:
                found.first(Field).set_error(text)
            else:
                rest.append(f"{key.replace('_', ' ')}: {text}")
        if rest:
            message.show("; ".join(rest))
        else:
            message.clear()

    @on(Button.Pressed, "#job-cancel")
    def action_cancel(self) -> None:
        ask_to_discard(self, lambda: self.dismiss(False))
