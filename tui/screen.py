"""What every screen of the app shares with Textual's `Screen`, made cheaper.

Textual restyles every widget of a screen each time the screen is pushed (`ScreenResume` with
`refresh_styles=True`): for User Details, 180 widgets, that was about a third of the CPU time of
opening a user a second time. Nothing a screen's styles depend on changes while it is covered:
a class or pseudo-class set on a covered widget restyles that widget at once, and a new theme or
stylesheet restyles every screen of the stack (`App.refresh_css`, which `push_screen` calls
itself when the CSS changed since the screen was last shown). A freshly mounted screen has just
been styled widget by widget. So a screen of this app skips that second pass; Textual's own pop
(`pop_screen` resumes with `refresh_styles=False`) already does.
"""

from __future__ import annotations

from textual import events


class KeepStyles:
    """Mixin for a `Screen`: resuming it does not restyle every widget again."""

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Runs before `Screen._on_screen_resume` (the subclass's handler first, same event).
        event.refresh_styles = False
