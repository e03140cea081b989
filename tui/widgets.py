"""Widgets shared by the screens."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from models.text import printable
from tui.keys import FIELD, bindings


def escape(text: object) -> str:
    """Stored text made safe to put inside markup: no control, bidi or invisible character
    reaches the terminal (`models.text.printable`: ESC shows as ␛), and no "[b]" or
    "[@click=...]" in a name is read as markup. Line breaks are kept.

    Every "[" is escaped: Rich's `escape` leaves "[ @click=app.quit]", "[$accent]" and "[B]",
    which Textual's markup reads as tags. Textual keeps other backslashes as they are, so none
    is doubled; a trailing one, which would escape the tag after the text, gets a space."""
    text = printable(text, multiline=True).replace("[", "\\[")
    return text + " " if text.endswith("\\") else text


def plain(text: object) -> Content:
    """Stored text for a Static or Label as it is, never read as markup, with every control,
    bidi or invisible character shown as a visible mark (line breaks kept)."""
    return Content(printable(text, multiline=True))


def plural(count: int, noun: str, nouns: str = "") -> str:
    """The count with its noun: "1 fee", "2 fees", "3 people" (`nouns`: an irregular plural)."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


class SafeInput(Input):
    """An input that draws a stored value harmlessly: Textual's Input gives its value to the
    terminal as it is, so an ESC in a name shown for editing would drive the terminal.

    Every field also selects all its text (then typing replaces it) and clears itself with
    the keys of `tui.keys.FIELD`, listed in F1."""

    BINDINGS = bindings(FIELD)

    def action_clear_field(self) -> None:
        """Empty the field (the cursor at its start), as typing over a selection would."""
        self.value = ""
        self.cursor_position = 0

    @property
    def _value(self) -> Text:
        """The value as drawn (Textual's `Input._value`): a control, bidi or invisible
        character of a stored value shows as one visible mark (`printable` replaces one
        character by one, so the cursor and selection offsets still hold), never reaching the
        terminal. The value itself is left as it is: saving it is refused with the field's
        message until the mark is removed."""
        if self.password:
            return super()._value
        text = Text(printable(self.value), no_wrap=True, overflow="ignore", end="")
        return self.highlighter(text) if self.highlighter is not None else text


class LineInput(SafeInput):
    """A one-line input that says what it did with a paste of several lines (Textual's Input
    keeps the first line and drops the rest without a word): their lines joined with spaces,
    or, in a password field, the first line only."""

    def _on_paste(self, event: events.Paste) -> None:
        lines = [line for line in event.text.splitlines() if line.strip()]
        if len(lines) < 2:
            event.text = lines[0] if lines else ""  # not the empty line before it
            return
        if self.password:
            event.text = lines[0]
            said = f"The pasted text had {len(lines)} lines: only the first one was kept."
        else:
            event.text = " ".join(line.strip() for line in lines)
            said = f"The pasted text had {len(lines)} lines: they are joined with spaces."
        self.notify(said, severity="warning")
        # Input's own handler (next in the class order) inserts event.text.


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
        # The message may quote stored text ("is already used by ..."): drawn as plain text.
        self.query_one(".field-error", Static).update(plain(f"⚠ {message}" if message else ""))
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
        self.update(plain(text))  # messages quote stored text: never markup, never a control
        self.set_class(True, "-shown")
        self.set_class(error, "-error")
        self.set_class(not error, "-ok")

    def clear(self) -> None:
        self.update("")
        self.set_class(False, "-shown")
