"""Alma's question before a save of an external account (alma-managing-users, "Editing Users":
"Alma prompts you to determine whether the following fields will be overridden with the next SIS
synchronization job"): one checkbox per field of `models.users.external.SIS_ASKED` the save
changes. Unticked (the default), the value typed is kept over the next SIS load until "Original
values" restores the SIS value; ticked, the next SIS load overrides it.

Dismisses {field: the next SIS load may override it} (ctrl+s or Enter), or None (Escape: back to
the form, where everything typed is still there). It asks only: the answers go to
`update_user(sis_may_override=...)` with the save itself, in its transaction."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from models.users.fields import BY_NAME
from screens.confirm import Dialog
from tui.keys import SIS_OVERRIDE, bindings, hint
from tui.widgets import (
    Checkbox,
    plain,
)


def field_label(name: str) -> str:
    return BY_NAME[name].label if name in BY_NAME else name


class AnswerBox(Checkbox):
    """A checkbox of the question: Enter answers the question (the screen saves) instead of
    ticking, which space does."""

    def on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.prevent_default()  # not the checkbox's own Enter; the screen sees it


class SisOverrideScreen(Dialog[dict[str, bool] | None]):
    BINDINGS = bindings(SIS_OVERRIDE)

    def __init__(self, fields: tuple[str, ...] | list[str]) -> None:
        """`fields`: the changed fields the question is asked for (`asked_fields`)."""
        super().__init__()
        self.fields = tuple(fields)

    def compose(self) -> ComposeResult:
        save = hint(self.app, "save")
        with Vertical(id="sis-box", classes="card"):
            yield Static("External account: the next SIS load", classes="card-title")
            yield Static(
                "Unticked, the value you typed is kept over SIS loads (until Original values "
                "restores the SIS value). Space ticks, Tab moves.",
                classes="hint",
                id="sis-text",
            )
            for name in self.fields:
                yield AnswerBox(
                    plain(f"The next SIS load may override {field_label(name)}"),
                    False,
                    id=f"sis-{name}",
                    compact=True,
                )
            with Horizontal(classes="form-buttons"):
                yield Button(f"Save ({save})", id="sis-save", variant="primary", compact=True)
                yield Button("Back to the form (Esc)", id="sis-back", compact=True)

    def on_mount(self) -> None:
        self.query(Checkbox).first().focus()

    def answers(self) -> dict[str, bool]:
        return {name: self.query_one(f"#sis-{name}", Checkbox).value for name in self.fields}

    @on(Button.Pressed, "#sis-save")
    def action_save(self) -> None:
        self.dismiss(self.answers())

    def on_key(self, event: events.Key) -> None:
        """Enter on a checkbox saves (`AnswerBox`), once the question is there."""
        focused = self.focused
        if event.key == "enter" and isinstance(focused, AnswerBox):
            event.stop()
            if not self.typed_too_early(event):
                self.action_save()

    def action_enter(self) -> None:
        """Enter saves; on "Back to the form" it goes back, as the button says."""
        if self.focused is self.query_one("#sis-back", Button):
            self.action_cancel()
        else:
            self.action_save()

    @on(Button.Pressed, "#sis-back")
    def action_cancel(self) -> None:
        self.dismiss(None)
