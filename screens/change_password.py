"""Change one's own password: forced after a reset, or by choice. The policy is shown and
checked as the user types."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from models.audit import Actor
from models.auth import set_password
from models.errors import ValidationError
from models.passwords import password_problems, policy_text
from models.settings import load_settings
from tui.keys import FORM, bindings
from tui.screen import KeepStyles
from tui.widgets import Field, KeyBar, Message


class ChangePasswordScreen(KeepStyles, Screen[bool]):
    """Dismisses True when the password was changed. When `forced`, Escape logs out."""

    BINDINGS = bindings(FORM)
    AUTO_FOCUS = "#new_password"

    def __init__(self, person_id: int, actor: Actor, *, forced: bool) -> None:
        super().__init__()
        self.person_id, self.actor, self.forced = person_id, actor, forced

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(), Vertical(id="password-box", classes="card"):
            yield Static("Choose a new password", classes="card-title")
            if self.forced:
                yield Static(
                    "Your password was reset: choose your own before you go on.", classes="hint"
                )
            yield Static(policy_text(load_settings()), id="policy", classes="hint")
            yield Field("New password", Input(id="new_password", password=True), required=True)
            yield Field("New password again", Input(id="confirm", password=True), required=True)
            yield Message(id="password-message")
            cancel = "log out" if self.forced else "cancel"
            yield Static(f"ctrl+s: save  ·  Escape: {cancel}", classes="hint")
        yield KeyBar()

    @on(Input.Changed, "#new_password")
    def _live_policy(self, event: Input.Changed) -> None:
        problems = password_problems(event.value, load_settings()) if event.value else []
        field = self.query_one("#field-new_password", Field)
        field.set_error("needs " + ", ".join(problems) if problems else None)

    @on(Input.Submitted, "#new_password")
    def _next(self) -> None:
        self.query_one("#confirm", Input).focus()

    @on(Input.Submitted, "#confirm")
    def _submit(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        new = self.query_one("#new_password", Input).value
        confirm = self.query_one("#confirm", Input).value
        try:
            set_password(self.person_id, new, self.actor, confirm=confirm)
        except ValidationError as exc:
            self.query_one("#field-new_password", Field).set_error(exc.errors.get("password"))
            self.query_one("#field-confirm", Field).set_error(exc.errors.get("password_confirm"))
            target = "#new_password" if "password" in exc.errors else "#confirm"
            self.query_one(target, Input).focus()
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
