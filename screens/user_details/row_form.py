"""The modal form of one row of a User Details table tab (add, edit, duplicate), and of the
other screens' entries (fees, Configuration, My account, the deletion dialog's waive).

No database call on the UI thread (`tui.worker.run_service`): the choice lists, and with
`load` the values of an existing row, are read in a worker while the form says "Loading…";
`save(values)` runs in a worker while the form is disabled and says "Saving…". A refusal
keeps the form open with each message under its field and every typed value in place.

What was typed is never dropped unasked: `unsaved_changes()` tells the app (ctrl+q, ctrl+l)
that the values differ from those the form showed, and Escape asks before discarding them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, MaskedInput, Select, Static

from models.errors import PatronDeskError, ValidationError
from screens.after_worker import ClosesAfterWorker
from screens.confirm import CoveredKeys, ask_to_discard
from screens.user_details.fields import FormField, RowKind
from tui.keys import FORM, bindings
from tui.widgets import (
    Checkbox,
    Field,
    LineInput,
    Message,
    escape,
)
from tui.worker import run_service


def read_form(
    form: tuple[FormField, ...],
    organization_id: int,
    load: Callable[[], dict[str, Any]] | None,
) -> tuple[dict[str, Any] | None, dict[str, list[tuple[str, str]]]]:
    """What a form needs before it is drawn: the values of `load()` (None without one) and
    the options of each choice field (database calls: run in a worker)."""
    values = load() if load is not None else None
    options = {f.name: f.options(organization_id) for f in form if f.kind == "choice"}
    return values, options


class RowFormScreen(ClosesAfterWorker, CoveredKeys, ModalScreen[bool]):
    """Dismisses True once `save` accepted the values, False when cancelled.

    `save(values)` runs in a worker (it may only call services); `saved(result)` gets what it
    returned, on the UI thread, just before the form closes. `load()`, in a worker too, reads
    the values to show (an existing row), in place of `values`."""

    BINDINGS = bindings(FORM)

    def __init__(
        self,
        spec: RowKind,
        title: str,
        values: dict[str, Any] | None,
        organization_id: int,
        save: Callable[[dict[str, Any]], Any],
        *,
        load: Callable[[], dict[str, Any]] | None = None,
        saved: Callable[[Any], None] | None = None,
    ) -> None:
        super().__init__()
        self.spec, self.title_text, self.values = spec, title, values or {}
        self.organization_id, self.save, self.load, self.saved = (
            organization_id, save, load, saved
        )  # fmt: skip
        # The options of the choice fields: None while they (or the values) are read.
        needs_reading = load is not None or any(f.kind == "choice" for f in spec.form)
        self.options: dict[str, list[tuple[str, str]]] | None = None if needs_reading else {}
        self.saving = False
        self._focus_after: Widget | None = None
        self._shown: dict[str, Any] | None = None  # the values as drawn (`unsaved_changes`)

    @property
    def accepting_keys(self) -> bool:
        """Keys typed while the form loads or saves wait for it (`App._ready_for_keys`): the
        values typed ahead land in its fields, a key typed after ctrl+s in the screen below."""
        return self.options is not None and not self.saving

    def _widget(self, f: FormField):
        value = self.values.get(f.name, f.default)
        wid = f"row-{f.name}"
        if f.kind == "bool":
            return Checkbox(f.label, bool(value), id=wid, compact=True)
        if f.kind == "choice":
            options = self.options[f.name]
            known = {v for _, v in options}
            current = "" if value is None else str(value)
            if current and current not in known:
                options = [*options, (current, current)]
            return Select(options, value=current or Select.NULL, id=wid, prompt="—")
        if f.kind == "secret":
            return LineInput("", id=wid, password=True, placeholder="(unchanged)")
        if f.kind == "date":
            text = value.isoformat() if hasattr(value, "isoformat") else (value or "")
            return MaskedInput("9999-99-99", value=text or None, id=wid, placeholder="YYYY-MM-DD")
        return LineInput("" if value is None else str(value), id=wid)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="row-form"):
            yield Static(f"[b]{escape(self.title_text)}[/b]")
            if self.options is None:  # read in a worker (`on_mount`), then composed again
                yield Static("Loading…", id="row-form-loading", classes="hint")
                with Horizontal(classes="form-buttons"):
                    yield Button("Cancel (Esc)", id="row-cancel", compact=True)
                return
            for f in self.spec.form:
                widget = self._widget(f)
                if isinstance(widget, Checkbox):
                    yield widget
                    yield Static("", id=f"field-row-{f.name}-error", classes="checkbox-error")
                else:
                    yield Field(f.label, widget)
            yield Message(id="row-form-message")
            with Horizontal(classes="form-buttons"):
                yield Button("Save (ctrl+s)", id="row-save", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="row-cancel", compact=True)
                yield from self.extra_buttons()

    def extra_buttons(self) -> list[Button]:
        """The buttons of one kind's own form, after Save and Cancel (none here)."""
        return []

    def on_mount(self) -> None:
        if self.options is None:
            run_service(
                self,
                read_form,
                self.spec.form,
                self.organization_id,
                self.load,
                on_ok=self._loaded,
                on_error=self._not_loaded,
                group="row-form-load",
            )
            return
        self._focus_first()

    def _focus_first(self) -> None:
        self._shown = self.read()  # the form as drawn: what differs from it was typed
        first = self.spec.form[0].name
        self.query_one(f"#row-{first}").focus()

    async def _loaded(
        self, answer: tuple[dict[str, Any] | None, dict[str, list[tuple[str, str]]]]
    ) -> None:
        values, self.options = answer
        if values is not None:
            self.values = values
        await self.recompose()
        self._focus_first()

    def _not_loaded(self, exc: PatronDeskError) -> None:
        self.app.notify(exc.message, severity="error", timeout=8)
        self.dismiss(False)

    def read(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in self.spec.form:
            widget = self.query_one(f"#row-{f.name}")
            if isinstance(widget, Checkbox):
                data[f.name] = widget.value
            elif isinstance(widget, Select):
                data[f.name] = "" if widget.value is Select.NULL else widget.value
            else:
                text = widget.value
                data[f.name] = "" if f.kind == "date" and not text.strip("-_ ") else text
        return data

    @on(Input.Submitted)
    def _next(self) -> None:
        self.focus_next()

    @on(Button.Pressed, "#row-save")
    def action_save(self) -> None:
        """Save in a worker: the form is disabled and says "Saving…" until the answer."""
        if self.options is None or self.saving:
            return
        data = self.read()
        self._set_saving(True)
        run_service(
            self,
            self.save,
            data,
            on_ok=self._accepted,
            on_error=self._refused,
            group="row-form-save",
        )

    def _set_saving(self, saving: bool) -> None:
        form = self.query_one("#row-form")
        message = self.query_one("#row-form-message", Message)
        self.saving = saving
        if saving:
            focused = self.focused
            self._focus_after = focused if focused and form in focused.ancestors else None
            message.show("Saving…", error=False)
            form.disabled = True
            return
        message.clear()
        form.disabled = False
        if self._focus_after is not None and self._focus_after.is_attached:
            self.set_focus(self._focus_after)
        self._focus_after = None

    def _accepted(self, result: Any) -> None:
        self._shown = None  # saved: nothing left to lose
        if self.saved is not None:
            self.saved(result)
        self.dismiss_after_worker("row-form-save", True)

    def _refused(self, exc: PatronDeskError) -> None:
        self._set_saving(False)
        if isinstance(exc, ValidationError):
            self._show(exc.errors)
            return
        self._show({})
        self.query_one("#row-form-message", Message).show(exc.message)

    def _show(self, errors: dict[str, str]) -> None:
        first = None
        left = dict(errors)
        for f in self.spec.form:
            text = left.pop(f.name, None)
            fields = self.query(f"#field-row-{f.name}")
            if fields and isinstance(fields.first(), Field):
                fields.first(Field).set_error(text)
            else:
                self.query_one(f"#field-row-{f.name}-error", Static).update(
                    f"⚠ {text}" if text else ""
                )
            if text and first is None:
                first = f.name
        message = self.query_one("#row-form-message", Message)
        if left:
            message.show("; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in left.items()))
        else:
            message.clear()
        if first:
            self.query_one(f"#row-{first}").focus()

    def unsaved_changes(self) -> str | None:
        """What quitting or logging out now would lose (the app asks first), or None."""
        if self._shown is None:  # loading, or saved
            return None
        try:
            typed = self.read() != self._shown
        except NoMatches:  # being drawn again
            return None
        return f'"{self.title_text}" has unsaved changes.' if typed else None

    @on(Button.Pressed, "#row-cancel")
    def action_cancel(self) -> None:
        if self.saving:  # the save's answer closes the form (or shows why not)
            return
        ask_to_discard(self, lambda: self.dismiss(False))
