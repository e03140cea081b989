"""Dialogs: a yes/no question, a message to read, a question with several answers.

Every dialog answers only keys typed after it appeared (`Dialog`): text typed ahead into the
screen under it, or a scanner's second Enter, never answers a question nobody has read."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Static

from tui.keys import CHOICE, CONFIRM, INFO, bindings
from tui.widgets import escape, plain

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """A modal dialog that drops, with a bell, every key typed before it was mounted (Escape
    excepted: cancelling is always safe). Such a key was meant for the screen under it: the
    `y` of "maya" typed into a list must not confirm a deactivation the `a` opened."""

    _opened_at: float | None = None

    def _on_mount(self, event: events.Mount) -> None:
        # The Mount event carries the clock Textual stamps key events with.
        self._opened_at = event.time

    def typed_too_early(self, event: events.Key) -> bool:
        return event.key != "escape" and (self._opened_at is None or event.time < self._opened_at)

    def _on_key(self, event: events.Key) -> None:
        if self.typed_too_early(event):
            event.stop()
            event.prevent_default()
            self.app.bell()


class CoveredKeys:
    """For a screen that opens dialogs. A key typed ahead is sent to the widget that had the
    focus when it was read; if a dialog has covered that widget's screen since, the key, once
    handled there, goes on to the app's bindings, which are the dialog's now: the Enter of
    "Enter Enter" pressed the dialog's focused button. Such a key stops at this screen."""

    def _on_key(self, event: events.Key) -> None:
        if self is not self.app.screen and isinstance(self.app.screen, Dialog):
            event.stop()
            event.prevent_default()
            self.app.bell()


class ButtonRow(Horizontal):
    """A dialog's buttons side by side, or one under the other when the dialog is too narrow
    for them side by side (a 60-column terminal): no button is ever cut off."""

    DEFAULT_CSS = """
    ButtonRow { height: auto; margin-top: 1; }
    ButtonRow > Button { margin-right: 2; }
    ButtonRow.-stacked { layout: vertical; }
    ButtonRow.-stacked > Button { width: 100%; margin-right: 0; }
    """

    _natural = 0  # the width the buttons need side by side, measured while side by side

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        if not self.is_attached:
            return
        buttons = [b for b in self.query_children(Button) if b.display]
        if buttons and not self.has_class("-stacked"):
            # The last button's right margin may fall outside: only the buttons must fit.
            self._natural = sum(b.outer_size.width + b.styles.margin.width for b in buttons)
            self._natural -= buttons[-1].styles.margin.right
        self.set_class(self._natural > self.content_size.width, "-stacked")


class ConfirmScreen(Dialog[bool]):
    """A yes/no question. y confirms, Escape or n cancels, Enter presses the focused button:
    yes, or with `keeping` the answer that keeps what was typed (a question whose yes throws
    it away: Enter, typed once too often, must not)."""

    BINDINGS = bindings(CONFIRM)

    def __init__(
        self, question: str, *, yes: str = "Yes", no: str = "Cancel", keeping: bool = False
    ) -> None:
        super().__init__()
        self.question = question
        self.yes, self.no = yes, no
        self.keeping = keeping

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(plain(self.question), id="confirm-question", markup=False)
            with ButtonRow(id="confirm-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="primary")
                yield Button(f"{self.no} (Esc)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no" if self.keeping else "#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class InfoScreen(Dialog[None]):
    """A message that needs reading (e.g. why a user cannot be deleted, a one-time password)."""

    BINDINGS = bindings(INFO)  # Enter presses the focused Close button

    def __init__(self, title: str, text: str, *, extra: str = "") -> None:
        """`extra`: a line shown apart under the text, in bold (a password to read out)."""
        super().__init__()
        self.title_text, self.text, self.extra = title, text, extra

    def compose(self) -> ComposeResult:
        with Vertical(id="info-box"):
            # Questions and texts quote stored text: plain, with controls shown as marks.
            yield Static(f"[b]{escape(self.title_text)}[/b]", id="info-title")
            yield Static(plain(self.text), id="info-text", markup=False)
            if self.extra:
                yield Static(plain(self.extra), id="info-extra", markup=False)
            yield Button("Close (Esc)", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class ChoiceScreen(Dialog[str | None]):
    """A question with several answers, each on a key. Escape answers None."""

    BINDINGS = bindings(CHOICE)

    def __init__(self, question: str, choices: list[tuple[str, str, str]]) -> None:
        """`choices`: (key, label, value)."""
        super().__init__()
        self.question = question
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(plain(self.question), id="confirm-question", markup=False)
            # Up to three answers side by side (stacked when too narrow); more as a list.
            box = (
                ButtonRow(id="confirm-buttons")
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

    def on_key(self, event: events.Key) -> None:
        """Each answer's key, once the dialog is there (`Dialog` drops the others)."""
        if self.typed_too_early(event):
            return
        for key, _label, value in self.choices:
            if event.key == key:
                event.stop()
                self.dismiss(value)
                return

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id.removeprefix("choice-"))

    def action_choose(self, value: str | None) -> None:
        self.dismiss(value)


def ask_to_discard(screen: Screen, leave: Callable[[], None], *, yes: str = "Discard") -> None:
    """Escape on a form: `leave()` at once when nothing typed would be lost (the screen's
    `unsaved_changes()` says None), else after "Discard what you typed?" is answered yes, as
    in Quick User Management (Escape or n keeps editing). The screen should be `CoveredKeys`:
    a key typed ahead for the form must not answer the question."""
    if not screen.unsaved_changes():  # type: ignore[attr-defined] - the form's own
        leave()
        return

    def answer(discard: bool | None) -> None:
        if discard:
            leave()

    screen.app.push_screen(
        ConfirmScreen("Discard what you typed?", yes=yes, no="Keep editing", keeping=True),
        answer,
    )
