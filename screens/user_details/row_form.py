"""The modal form of one row of a User Details table tab (add, edit, duplicate).

The form calls `save(values)`; a refusal keeps the form open with each message under its field
and every typed value in place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, MaskedInput, Select, Static

from models.errors import PatronDeskError, ValidationError
from screens.user_details.fields import FormField, RowKind
from tui.keys import FORM, bindings
from tui.widgets import Field, LineInput, Message, escape


class RowFormScreen(ModalScreen[bool]):
    """Dismisses True once `save` accepted the values, False when cancelled."""

    BINDINGS = bindings(FORM)

    def __init__(
        self,
        spec: RowKind,
        title: str,
        values: dict[str, Any],
        organization_id: int,
        save: Callable[[dict[str, Any]], None],
    ) -> None:
        super().__init__()
        self.spec, self.title_text, self.values = spec, title, values
        self.organization_id, self.save = organization_id, save

    def _widget(self, f: FormField):
        value = self.values.get(f.name, f.default)
        wid = f"row-{f.name}"
        if f.kind == "bool":
            return Checkbox(f.label, bool(value), id=wid, compact=True)
        if f.kind == "choice":
            options = f.options(self.organization_id)
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

    def on_mount(self) -> None:
        first = self.spec.form[0].name
        self.query_one(f"#row-{first}").focus()

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
        message = self.query_one("#row-form-message", Message)
        try:
            self.save(self.read())
        except ValidationError as exc:
            self._show(exc.errors)
            return
        except PatronDeskError as exc:
            self._show({})
            message.show(exc.message)
            return
        self.dismiss(True)

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

    @on(Button.Pressed, "#row-cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
