"""Widgets shared by the screens."""

from __future__ import annotations

from typing import Self

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.css.scalar import Unit
from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.widget import Widget
from textual.widgets import Checkbox as _Checkbox
from textual.widgets import Input, Label, MaskedInput, Select, Static
from textual.widgets import RadioButton as _RadioButton
from textual.widgets._select import NonSelectableStatic, SelectCurrent, SelectOverlay

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


def with_held(options: list[tuple[str, str]], held: object) -> list[tuple[str, str]]:
    """A select's options with the value the record holds added when they do not offer it (a
    code retired since, a title not in the list): shown as it is, and kept by a save."""
    current = "" if held is None else str(held)
    if current and current not in {v for _, v in options}:
        return [*options, (current, current)]
    return options


class SafeInput(Input):
    """An input that draws a stored value harmlessly: Textual's Input gives its value to the
    terminal as it is, so an ESC in a name shown for editing would drive the terminal.

    Every field also selects all its text (then typing replaces it) and clears itself with
    the keys of `tui.keys.FIELD`, listed in F1."""

    BINDINGS = bindings(FIELD)
    # An input's virtual size is its value's width, for its own sideways scrolling only (its
    # width is its container's, not its value's: an input of `width: auto` lays out on each
    # value already, `Input._watch_value`). Textual's reactive lays out the whole screen on
    # each change: setting the twenty fields of User Details for another user laid it out
    # once more, about a third of the time of opening a user.
    virtual_size = Reactive(Size(0, 0), layout=False)

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

    def set_label(self, label: str) -> None:
        """Another label (a form shown again for another record)."""
        if label != self.label:
            self.label = label
            if self.is_mounted:
                self.query_one(".field-label", Label).update(self._label_text())

    async def swap(self, widget: Widget) -> None:
        """Another widget in the field's place, with the same id (a typed Title becomes a
        choice once the organization has a list of titles, and back): the old one is removed
        first, so the id stays unique."""
        if hasattr(widget, "compact"):
            widget.compact = True
        old, self.widget = self.widget, widget
        await old.remove()
        await self.mount(widget, after=self.query_one(".field-label"))

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


class DateInput(MaskedInput):
    """A masked input (a date's YYYY-MM-DD) whose new value redraws it without laying out
    the screen (see `SafeInput.virtual_size`)."""

    virtual_size = Reactive(Size(0, 0), layout=False)

    def put(self, text: str) -> None:
        """A value the form puts there (a record shown): marked neither valid nor invalid, as
        when the input is first built. Its template's check marked an empty date "invalid"
        (drawn red) in a kept form refilled with a user without one."""
        checks = self.validate_on
        self.validate_on = checks - {"changed"}  # not checked: no mark set, none to restyle
        try:
            self.value = text
        finally:
            self.validate_on = checks
        self.set_class(False, "-invalid", "-valid")  # a mark left by typing, taken away


def _keeps_height(widget: Widget, *texts: Content) -> bool:
    """Whether each text, drawn in the widget as it is laid out now, takes as many lines as the
    widget has (its min-height counted), so the screen need not be laid out again for it.
    The widget's width must not depend on its text (1fr, or a fixed width)."""
    width = widget.content_size.width
    if width <= 0:
        return False
    styles = widget.styles
    least = styles.min_height
    floor = (
        int(least.value) - widget.gutter.height
        if least is not None and least.unit == Unit.CELLS
        else 0
    )
    height = widget.content_size.height
    return all(max(text.get_height(styles, width), floor) == height for text in texts)


class _StateShown:
    """A toggle whose mark is there only when it is on: Textual draws the same mark either
    way and tells them apart by colour alone, which 16 colours (`TERM=xterm`, `linux`) and
    `NO_COLOR` draw as two greys, or not at all."""

    ON_MARK = "X"

    def render(self) -> Content:
        self.BUTTON_INNER = self.ON_MARK if self.value else " "
        return super().render()


class Checkbox(_StateShown, _Checkbox):
    """A checkbox: X when checked, empty when not (`_StateShown`)."""


class RadioButton(_StateShown, _RadioButton):
    """A radio button: ● when chosen, empty when not (`_StateShown`)."""

    ON_MARK = "●"


class SizedByLayout:
    """Mixin for a widget: a new size given by the screen's layout asks for no second layout.

    Textual keeps a widget's virtual size in a reactive that lays the whole screen out again
    when it changes (`Widget.virtual_size`, set for every widget the layout resized): a second
    layout, and a second draw, for nothing, since the layout that resized the widget arranged
    what it holds for that size. The scrollbars of a scrolling one still follow (`Widget.
    _scroll_update`, called either way). User Details' General tab grew by a line for an
    external account's SIS note: each such user opened was laid out twice."""

    def _size_updated(self, size, virtual_size, container_size, layout: bool = True) -> bool:  # noqa: ANN001
        return super()._size_updated(size, virtual_size, container_size, layout=False)


class Line(SizedByLayout, Static):
    """A Static updated in place: a new text that takes as many lines as the old one did
    (`_keeps_height`) is redrawn without laying out the screen again (Static.update lays out
    the whole screen, a tenth of the time of a save on User Details)."""

    def __init__(
        self,
        content: str | Content = "",
        *,
        id: str | None = None,  # noqa: A002 - Textual's own parameter
        classes: str | None = None,
    ) -> None:
        """`content`: a Content, or markup (as Static reads a string)."""
        super().__init__(content, id=id, classes=classes)
        self._shown = content if isinstance(content, Content) else Content.from_markup(content)

    def set(self, text: str | Content, *, markup: bool = False) -> None:
        """Show `text` (plain text, never markup, unless `markup`)."""
        if isinstance(text, Content):
            content = text
        else:
            content = Content.from_markup(text) if markup else plain(text)
        if content == self._shown:
            return
        in_place = _keeps_height(self, content, self._shown)
        self._shown = content
        self.update(content, layout=not in_place)


class _SelectLabel(NonSelectableStatic):
    """The text of a select's current value: a new text that takes as many lines as the old
    one did is redrawn in place (as `Line`); one that wraps anew lays the screen out."""

    def update(self, content: object = "", *, layout: bool = True) -> None:
        old = self.visual
        super().update(content, layout=False)
        new = self.visual
        if layout and not (
            isinstance(old, Content) and isinstance(new, Content) and _keeps_height(self, old, new)
        ):
            self.refresh(layout=True)


class _SelectCurrent(SelectCurrent):
    def compose(self) -> ComposeResult:  # as SelectCurrent's, with the label above
        yield _SelectLabel(self.placeholder, id="label")
        yield NonSelectableStatic("▼", classes="arrow down-arrow")
        yield NonSelectableStatic("▲", classes="arrow up-arrow")


class FormSelect(Select):
    """A Select whose value shown for another record is redrawn in place when it keeps to one
    line (Textual's lays out the whole screen for each new value: eight of them on User
    Details' General tab)."""

    def compose(self) -> ComposeResult:  # as Select's, with the current value above
        yield _SelectCurrent(self.prompt)
        yield _FormOverlay(type_to_search=self._type_to_search).data_bind(compact=Select.compact)


class _FormOverlay(SelectOverlay):
    """A select's list of choices that, while hidden, lays nothing out for new choices: the
    list is laid out when it opens (its display changes), and another record's choices (a held
    value among them) laid the whole screen out for a list nobody sees."""

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        if layout and not self.display:
            layout = False
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


class Message(Static):
    """A one-line status or error message under a form (empty: hidden, or, with `reserve`,
    an empty line kept for it, so the form under it does not move when a message comes)."""

    DEFAULT_CSS = """
    Message { height: auto; display: none; }
    Message.-shown, Message.-reserved { display: block; }
    Message.-reserved { min-height: 1; }
    Message.-error { color: $text-error; }
    Message.-ok { color: $text-success; }
    """

    _shown: Content = Content("")

    def __init__(self, *, id: str | None = None, reserve: bool = False) -> None:  # noqa: A002
        super().__init__(id=id, classes="-reserved" if reserve else "")

    def _set(self, content: Content) -> None:
        drawn = self.has_class("-shown") or self.has_class("-reserved")
        in_place = drawn and _keeps_height(self, content, self._shown)
        self._shown = content
        self.update(content, layout=not in_place)

    def show(self, text: str, *, error: bool = True) -> None:
        self._set(plain(text))  # messages quote stored text: never markup, never a control
        self.set_class(True, "-shown")
        self.set_class(error, "-error")
        self.set_class(not error, "-ok")

    def clear(self) -> None:
        self._set(Content(""))
        self.set_class(False, "-shown", "-error", "-ok")


class KeyBar(Widget):
    """The footer: the keys of the focused widget and its screen on one line, as Textual's
    `Footer` shows them, drawn by one widget.

    Textual's Footer rebuilds a widget per key each time the bindings change (every move of
    the focus): opening a user rebuilt it a dozen times, a tenth of the time. This bar only
    redraws its line, and only when the keys shown change. A click on a key presses it."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-foreground;
    }
    """
    ALLOW_SELECT = False

    KEY_STYLE = "bold $footer-key-foreground"
    DISABLED_STYLE = "dim"

    def __init__(self) -> None:
        super().__init__()
        self._keys: tuple[tuple[str, str, str, bool], ...] | None = None
        self._palette = False  # the last of `_keys` is the palette's key

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def _shown_keys(self) -> tuple[tuple[str, str, str, bool], ...]:
        """(key, how it is shown, description, enabled) of each binding shown, one per action
        (the first key of an action, as Footer does), then the palette's key, if it has one."""
        app = self.app
        active = self.screen.active_bindings
        seen: set[str] = set()
        keys = []
        for _node, binding, enabled, _tooltip in active.values():
            if binding.show and binding.action not in seen:
                seen.add(binding.action)
                keys.append(
                    (binding.key, app.get_key_display(binding), binding.description, enabled)
                )
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            _node, binding, enabled, _tooltip = active[app.COMMAND_PALETTE_BINDING]
            keys.append((binding.key, app.get_key_display(binding), binding.description, enabled))
            self._palette = True
        else:
            self._palette = False
        return tuple(keys)

    def _bindings_changed(self, screen) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        keys = self._shown_keys()
        if keys != self._keys:
            self._keys = keys
            self.refresh()

    @staticmethod
    def _part(shown: str, description: str, enabled: bool) -> list[tuple[str, str]]:
        key_style = KeyBar.KEY_STYLE if enabled else f"{KeyBar.KEY_STYLE} {KeyBar.DISABLED_STYLE}"
        return [(f" {shown} ", key_style), (f"{description} ", "" if enabled else "dim")]

    def _layout(self) -> list[tuple[int, int, str, list[tuple[str, str]]]]:
        """(start, end, key, styled parts) of each key drawn: the keys from the left, cut
        where the palette's key starts; the palette's key at the right end, after a thin bar,
        as Textual's Footer docks it."""
        keys = list(self._keys or ())
        palette = keys.pop() if self._palette and keys else None
        room = self.size.width
        spans = []
        if palette is not None:
            _key, shown, description, enabled = palette
            (key_text, key_style), (text, style) = self._part(shown, description, enabled)
            parts = [("▏", "$foreground 20%"), (key_text[1:], key_style), (text.rstrip(), style)]
            width = sum(len(text) for text, _ in parts)
            room = max(0, room - width)
            spans.append((room, room + width, palette[0], parts))
        x = 0
        for key, shown, description, enabled in keys:
            if x >= room:
                break
            width = len(shown) + len(description) + 3
            parts = self._part(shown, description, enabled)
            if x + width > room:  # cut, as the docked palette key covers it in Footer
                key_text, key_style = parts[0]
                text = (key_text + parts[1][0])[: room - x]
                parts = [(text[: len(key_text)], key_style), (text[len(key_text) :], parts[1][1])]
                width = room - x
            spans.insert(len(spans) - (palette is not None), (x, x + width, key, parts))
            x += width
        return spans

    def render(self) -> Content:
        parts: list[tuple[str, str] | str] = []
        x = 0
        for start, end, _key, styled in self._layout():
            if start > x:
                parts.append(" " * (start - x))
            parts += styled
            x = end
        return Content.assemble(*parts)

    def key_at(self, x: int) -> str | None:
        """The key drawn at column `x`, if any."""
        for start, end, key, _parts in self._layout():
            if start <= x < end:
                return key
        return None

    def on_click(self, event: events.Click) -> None:
        key = self.key_at(event.x)
        if key is not None:
            self.app.simulate_key(key)
