"""A yes/no question. Enter or y confirms, Escape or n cancels."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.widgets import escape, plain


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        ("escape,n", "answer(False)", "Cancel"),
        ("y", "answer(True)", "Yes"),
    ]

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "Cancel") -> None:
        super().__init__()
        self.question = question
        self.yes, self.no = yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(plain(self.question), id="confirm-question", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="primary")
                yield Button(f"{self.no} (Esc)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class InfoScreen(ModalScreen[None]):
    """A message that needs reading (e.g. why a user cannot be deleted)."""

    BINDINGS = [("escape,enter", "close", "Close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with Vertical(id="info-box"):
            # Questions and texts quote stored text: plain, with controls shown as marks.
            yield Static(f"[b]{escape(self.title_text)}[/b]", id="info-title")
            yield Static(plain(self.text), id="info-text", markup=False)
            yield Button("Close (Esc)", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen[str | None]):
    """A question with several answers, each on a key. Escape answers None."""

    BINDINGS = [("escape", "choose(None)", "Cancel")]

    def __init__(self, question: str, choices: list[tuple[str, str, str]]) -> None:
        """`choices`: (key, label, value)."""
        super().__init__()
        self.question = question
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(plain(self.question), id="confirm-question", markup=False)
            # Up to three answers side by side; more stack as a list so 80 columns hold them.
            box = (
                Horizontal(id="confirm-buttons")
                if len(self.choices) <= 3
                else Vertical(id="choice-list")
            )
            with box:
                for key, label, value in self.choices:
                    yield Button(
                        f"{label} ({key})", id=f"choice-{value}", compact=len(self.choices) > 3
                    )

    def on_mount(self) -> None:
        self.query(Button).first().focus()
        for key, _label, value in self.choices:
            self._bindings.bind(key, f"choose('{value}')", show=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id.removeprefix("choice-"))

    def action_choose(self, value: str | None) -> None:
        self.dismiss(value)
