"""F1: the keys of the current screen and of the app, from the key registry."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.keys import DIALOG, KeyAction, bindings


class KeysHelpScreen(ModalScreen[None]):
    BINDINGS = [*bindings(DIALOG), ("f1", "cancel", "Close")]

    def __init__(self, sections: list[tuple[str, tuple[KeyAction, ...]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        lines: list[str] = []
        for title, actions in self.sections:
            lines.append(f"[b]{title}[/b]")
            lines.extend(f"  {a.key_label:<14} {a.description}" for a in actions)
            lines.append("")
        lines.append("[dim]Escape or F1 closes this help.[/dim]")
        with VerticalScroll(id="help-body"):
            yield Static("\n".join(lines), id="help-text")

    def action_cancel(self) -> None:
        self.dismiss(None)
