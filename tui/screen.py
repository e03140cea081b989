"""What every screen of the app shares with Textual's `Screen`, made cheaper.

Textual restyles every widget of a screen each time the screen is pushed (`ScreenResume` with
`refresh_styles=True`): for User Details, 180 widgets, that was about a third of the CPU time of
opening a user a second time. Nothing a screen's styles depend on changes while it is covered:
a class or pseudo-class set on a covered widget restyles that widget at once, and a new theme or
stylesheet restyles every screen of the stack (`App.refresh_css`, which `push_screen` calls
itself when the CSS changed since the screen was last shown). A freshly mounted screen has just
been styled widget by widget. So a screen of this app skips that second pass; Textual's own pop
(`pop_screen` resumes with `refresh_styles=False`) already does.

A screen covered by another also draws nothing while it is covered (`UnseenWhenCovered`),
and a screen shown again with a new layout is drawn once, not twice (`DrawnOnce`).
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget


class UnseenWhenCovered:
    """Mixin for a `Screen`: while another screen covers it, its changes are not drawn.

    Textual counts the screen right under the top one as showing through it, whatever the
    top one's background (`App._background_screens`), and a change there (Find Users' list
    losing the focus when a user is opened) redrew the whole top screen a second time: a
    full draw of User Details for nothing, on every user opened. Under an opaque screen
    nothing of it shows; it is drawn in full when it is shown again (`Screen`'s resume
    repaints it), so what changed meanwhile is only forgotten. Under a dialog, whose
    background lets it show through, it is drawn as before."""

    def _compositor_refresh(self) -> None:
        app = self.app
        top = app.screen
        if top is not self and not app.is_inline and top.styles.background.a == 1:
            self._compositor._dirty_regions.clear()
            self._dirty_widgets.clear()
            return
        super()._compositor_refresh()


class DrawnOnce:
    """Mixin for a `Screen`: a screen to be laid out and drawn in full in the same update (a
    screen shown again whose new content changed a size) is drawn once.

    Textual lays it out and draws what the layout moved, then draws the whole screen again
    for the repaint (`Screen._on_timer_update`): the first draw, as costly as the second on
    User Details (every field moved or not is cut into the screen's lines), was thrown away
    at once. Here the layout's own draw is the full one and the repaint is done by it."""

    def _on_timer_update(self) -> None:
        if (
            self._layout_required
            and self._repaint_required
            and self.is_current
            and not self.app._batch_count
            and not self.app.is_inline
            and self.outer_size
        ):
            # The screen's repaint region (all of it) goes with the layout's update: its draw
            # is then a full one (`Compositor.render_update`).
            self._repaint_required = False
            self._dirty_widgets.add(self)
        super()._on_timer_update()


class KeepStyles(UnseenWhenCovered, DrawnOnce):
    """Mixin for a `Screen`: resuming it does not restyle every widget again (and a covered
    one draws nothing, `UnseenWhenCovered`; one laid out and repainted is drawn once,
    `DrawnOnce`)."""

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Runs before `Screen._on_screen_resume` (the subclass's handler first, same event).
        event.refresh_styles = False


class ListScreen(Screen[None]):
    """A full screen of one list read in a worker (Sets, Jobs): a title, the list (`TABLE`, a
    `tui.table.RowTable` with the screen's keys, id `LIST_ID`), a count line (`LIST_ID-count`)
    and the key bar. The columns are laid out for the width (`lay_out`) and again on a resize;
    the list is read (`reload`) when the screen opens and when it comes back; keys typed while
    it is read wait for it (they act on a row)."""

    TABLE: ClassVar[type[Widget]]
    LIST_ID: ClassVar[str]
    LIST_TITLE: ClassVar[str]

    def __init__(self) -> None:
        super().__init__()
        self.narrow = False
        self.reading = True

    @property
    def accepting_keys(self) -> bool:
        return not self.reading

    def compose(self) -> ComposeResult:
        from textual.widgets import Header, Static

        from tui.widgets import KeyBar

        yield Header()
        yield Static(self.LIST_TITLE, id=f"{self.LIST_ID}-title", classes="screen-title")
        yield self.TABLE(id=self.LIST_ID)
        yield Static("", id=f"{self.LIST_ID}-count", classes="hint")
        yield KeyBar()

    def on_mount(self) -> None:
        self.lay_out(self.size.width)
        self.reload()

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self.reload()

    def on_resize(self, event: events.Resize) -> None:
        self.lay_out(event.size.width)

    def lay_out(self, width: int) -> None:
        """Set the list's columns for `width` (and fill them again)."""
        raise NotImplementedError

    def reload(self) -> None:
        """Read the list, in a worker."""
        raise NotImplementedError
