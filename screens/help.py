"""F1: the keys that work on the screen under it, read from its live bindings.

Nothing here is written by hand: each line is an active binding the key registry knows
(`tui.palette.live_keys`), with the key it has now (a user's key map applied), so the help
cannot list a key that does nothing there nor miss one that works."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tui.keys import HELP, bindings, shown_key
from tui.palette import live_keys
from tui.widgets import escape


def help_sections(screen: Screen) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(group title, [(binding id, keys as shown, description)]) for `screen`."""
    from textual.binding import Binding

    sections: dict[str, list[tuple[str, str, str]]] = {}
    for live in live_keys(screen):
        # shift+F2 and the F14 terminals send for it are one key (`shown_key`).
        shown = ", ".join(
            dict.fromkeys(
                screen.app.get_key_display(Binding(shown_key(k), live.action)) for k in live.keys
            )
        )
        sections.setdefault(live.group_title, []).append(
            (live.entry.id, shown, live.entry.description)
        )
    return list(sections.items())


class KeysHelpScreen(ModalScreen[None]):
    BINDINGS = bindings(HELP)

    def __init__(self, sections: list[tuple[str, list[tuple[str, str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    @property
    def listed_ids(self) -> list[str]:
        """The binding ids listed, in order (for tests)."""
        return [key_id for _, rows in self.sections for key_id, _, _ in rows]

    def compose(self) -> ComposeResult:
        lines: list[str] = []
        for title, rows in self.sections:
            lines.append(f"[b]{escape(title)}[/b]")
            lines.extend(f"  {escape(keys):<14} {escape(text)}" for _, keys, text in rows)
            lines.append("")
        lines.append("[dim]Escape or F1 closes this help.[/dim]")
        with VerticalScroll(id="help-body"):
            yield Static("\n".join(lines), id="help-text")

    def action_cancel(self) -> None:
        self.dismiss(None)


def toggle_help(screen: Screen) -> None:
    """F1: the keys of `screen`; on the help itself, close it."""
    if isinstance(screen, KeysHelpScreen):
        screen.dismiss(None)
        return
    screen.app.push_screen(KeysHelpScreen(help_sections(screen)))
