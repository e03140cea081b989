"""RowTable: a light table for long result lists on thin terminals.

Textual's DataTable measures and re-renders every cell of every row it is given; a search that
replaces the rows on each keystroke paid about 30 ms for it. This widget draws each visible line
as one strip of pre-cut text (Textual's line API), so replacing the rows costs only the lines on
screen, and moving the cursor redraws two lines. The screen gives it a window of rows; the
`Highlighted` message tells the screen where the cursor is, so it can fetch the next window.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.events import Click, MouseScrollDown, MouseScrollUp
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from models.text import printable
from tui.keys import TABLE, bindings


def fit(text: str, width: int) -> str:
    """`text` cut to `width` cells (with an ellipsis) or padded to it."""
    if len(text) > width:
        return text[: max(width - 1, 0)] + "…"
    return text.ljust(width)


class RowTable(Widget, can_focus=True):
    """Rows of text cells under a fixed header line; one row has the cursor."""

    COMPONENT_CLASSES = {
        "row-table--header",
        "row-table--cursor",
        "row-table--cursor-blurred",
        "row-table--odd",
    }
    DEFAULT_CSS = """
    RowTable { height: 1fr; }
    RowTable > .row-table--header { text-style: bold; background: $panel; }
    RowTable > .row-table--cursor { background: $accent; color: $text; }
    RowTable > .row-table--cursor-blurred { background: $accent 30%; }
    RowTable > .row-table--odd { background: $boost; }
    """
    BINDINGS = bindings(TABLE)

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class Highlighted(Message):
        def __init__(self, table: RowTable, row: int) -> None:
            super().__init__()
            self.table, self.row = table, row

        @property
        def control(self) -> RowTable:
            return self.table

    class Selected(Message):
        def __init__(self, table: RowTable, row: int) -> None:
            super().__init__()
            self.table, self.row = table, row

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(self, *, gap: int = 1, id: str | None = None) -> None:
        super().__init__(id=id)
        self.gap = gap
        self.columns: list[tuple[str, int]] = []  # (label, width)
        self.rows: list[tuple[str, ...]] = []
        self.top = 0  # first row shown
        self._lines: dict[int, str] = {}  # row -> its text, cut to the columns

    # --- data ---------------------------------------------------------------------------------

    def set_columns(self, columns: list[tuple[str, int]]) -> None:
        self.columns = columns
        self._lines.clear()
        self.refresh()

    def set_rows(self, rows: list[tuple[str, ...]], cursor: int = 0) -> None:
        """Replace every row and put the cursor on `cursor` (kept in range)."""
        self.rows = rows
        self._lines.clear()
        self.top = 0
        self.cursor = max(0, min(cursor, len(rows) - 1))
        self.refresh()

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def cursor_row(self) -> int:
        return self.cursor

    def get_row_at(self, index: int) -> tuple[str, ...]:
        return self.rows[index]

    # --- geometry -----------------------------------------------------------------------------

    @property
    def body_height(self) -> int:
        return max(self.size.height - 1, 1)

    def _scroll_to_cursor(self) -> bool:
        """Move `top` so the cursor is visible; True when the view moved."""
        top = self.top
        if self.cursor < self.top:
            self.top = self.cursor
        elif self.cursor >= self.top + self.body_height:
            self.top = self.cursor - self.body_height + 1
        self.top = max(0, min(self.top, max(len(self.rows) - self.body_height, 0)))
        return top != self.top

    def watch_cursor(self, old: int, new: int) -> None:
        if self._scroll_to_cursor():
            self.refresh()
        else:
            for row in (old, new):
                self.refresh(Region(0, row - self.top + 1, self.size.width, 1))
        if self.rows:
            self.post_message(self.Highlighted(self, new))

    def on_resize(self) -> None:
        self._scroll_to_cursor()
        self.refresh()

    # --- keys and mouse -----------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        if self.rows:
            self.cursor = max(0, min(self.cursor + delta, len(self.rows) - 1))

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(self.body_height - 1, 1))

    def action_move_to(self, row: int) -> None:
        if self.rows:
            self.cursor = row % len(self.rows)

    def action_select_row(self) -> None:
        if self.rows:
            self.post_message(self.Selected(self, self.cursor))

    def on_click(self, event: Click) -> None:
        row = self.top + event.y - 1
        if event.y >= 1 and 0 <= row < len(self.rows):
            self.cursor = row
            if event.chain == 2:
                self.post_message(self.Selected(self, row))

    def on_mouse_scroll_down(self, event: MouseScrollDown) -> None:
        self.action_move(3)

    def on_mouse_scroll_up(self, event: MouseScrollUp) -> None:
        self.action_move(-3)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # --- drawing ------------------------------------------------------------------------------

    def _text(self, cells: tuple[str, ...]) -> str:
        """One line of cells; each cell through `printable`, since a segment goes to the
        terminal as it is: an ESC in a stored name would drive the terminal (retitle it,
        clear it, write its clipboard), a bidi mark would reorder the line."""
        pad = " " * self.gap
        return "".join(
            fit(printable(cell), width) + pad
            for cell, (_, width) in zip(cells, self.columns, strict=False)
        )

    def _line(self, row: int) -> str:
        line = self._lines.get(row)
        if line is None:
            line = self._lines[row] = self._text(self.rows[row])
        return line

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("row-table--header")
            text = self._text(tuple(label for label, _ in self.columns))
            return Strip([Segment(fit(text, width), style)], width)
        row = self.top + y - 1
        if row >= len(self.rows):
            return Strip.blank(width, base)
        if row == self.cursor:
            name = "row-table--cursor" if self.has_focus else "row-table--cursor-blurred"
            style = base + self.get_component_rich_style(name)
        elif row % 2:
            style = base + self.get_component_rich_style("row-table--odd")
        else:
            style = base
        text = fit(self._line(row), width - 1)
        return Strip([Segment(text, style), self._scrollbar(y, base)], width)

    def _scrollbar(self, y: int, base: Style) -> Segment:
        """A one-cell position mark in the last column, for the rows held."""
        height, total = self.body_height, len(self.rows)
        if total <= height:
            return Segment(" ", base)
        mark = 1 + round(self.cursor / max(total - 1, 1) * (height - 1))
        return Segment("▐" if y == mark else " ", base)
