"""Widgets shared by the screens."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Label, Static


class Field(Vertical):
    """A labelled form field with its message underneath, in words (not colour alone).

    The wrapped widget keeps its own id, so screens query the input directly; the field's id is
    "field-<input id>".
    """

    DEFAULT_CSS = """
    Field { height: auto; margin: 0 0 0 0; }
    Field > .field-label { color: $text-muted; }
    Field > .field-error { color: $text-error; display: none; }
    Field.-invalid > .field-error { display: block; }
    """

    def __init__(self, label: str, widget: Widget, *, required: bool = False) -> None:
        super().__init__(id=f"field-{widget.id}" if widget.id else None)
        self.label = label
        self.required = required
        self.widget = widget
        if hasattr(widget, "compact"):
            widget.compact = True  # one line per input: forms must fit 80x24

    def compose(self) -> ComposeResult:
        yield Label(self._label_text(), classes="field-label")
        yield self.widget
        yield Static("", classes="field-error")

    def _label_text(self) -> str:
        return f"{self.label} *" if self.required else self.label

    def set_required(self, required: bool) -> None:
        """Mark the field mandatory (a star after the label) or not."""
        self.required = required
        if self.is_mounted:
            self.query_one(".field-label", Label).update(self._label_text())

    def set_error(self, message: str | None) -> None:
        self.query_one(".field-error", Static).update(f"⚠ {message}" if message else "")
        self.set_class(bool(message), "-invalid")

    @property
    def error(self) -> str:
        return (
            str(self.query_one(".field-error", Static).render())
            if self.has_class("-invalid")
            else ""
        )


class Message(Static):
    """A one-line status or error message under a form (empty: hidden)."""

    DEFAULT_CSS = """
    Message { height: auto; display: none; }
    Message.-shown { display: block; }
    Message.-error { color: $text-error; }
    Message.-ok { color: $text-success; }
    """

    def show(self, text: str, *, error: bool = True) -> None:
        self.update(text)
        self.set_class(True, "-shown")
        self.set_class(error, "-error")
        self.set_class(not error, "-ok")

    def clear(self) -> None:
        self.update("")
        self.set_class(False, "-shown")
