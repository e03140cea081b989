"""Change one's own password: forced after a reset, or by choice. The policy is shown and
checked as the user types. The settings are read, and the password hashed and saved, in
workers (`tui.worker.run_service`): the screen shows at once, and says "Saving…"."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from models.access.auth import set_password
from models.audit import Actor
from models.config.settings import Settings, load_settings
from screens.after_worker import ClosesAfterWorker
from screens.confirm import CoveredKeys, ask_to_discard
from screens.password_pair import PasswordPair
from tui.keys import FORM, bindings
from tui.screen import KeepStyles
from tui.widgets import Field, KeyBar, Message
from tui.worker import run_service


class ChangePasswordScreen(PasswordPair, ClosesAfterWorker, KeepStyles, CoveredKeys, Screen[bool]):
    """Dismisses True when the password was changed. When `forced`, Escape logs out. A
    password typed is not dropped unasked (Escape, ctrl+q: `unsaved_changes`)."""

    BINDINGS = bindings(FORM)
    AUTO_FOCUS = "#new_password"

    def __init__(self, person_id: int, actor: Actor, *, forced: bool) -> None:
        super().__init__()
        self.person_id, self.actor, self.forced = person_id, actor, forced
        self.settings: Settings | None = None  # the password policy, once read
        self.saving = False
        self.changed = False  # saved: nothing left to lose

    @property
    def accepting_keys(self) -> bool:
        return not self.saving  # keys typed during the save wait for its answer

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(), Vertical(id="password-box", classes="card"):
            yield Static("Choose a new password", classes="card-title")
            if self.forced:
                yield Static(
                    "Your password was reset: choose your own before you go on.", classes="hint"
                )
            yield Static("", id="policy", classes="hint")  # read in a worker (`on_mount`)
            yield Field("New password", Input(id="new_password", password=True), required=True)
            yield Field("New password again", Input(id="confirm", password=True), required=True)
            yield Message(id="password-message")
            cancel = "log out" if self.forced else "cancel"
            yield Static(f"ctrl+s: save  ·  Escape: {cancel}", classes="hint")
        yield KeyBar()

    def on_mount(self) -> None:
        run_service(self, load_settings, on_ok=self._policy, group="password-policy")

    def action_save(self) -> None:
        """Hash and save in a worker: the form is disabled and says "Saving…" meanwhile."""
        if self.saving:
            return
        new = self.query_one("#new_password", Input).value
        confirm = self.query_one("#confirm", Input).value
        self._set_saving(True)
        run_service(
            self,
            set_password,
            self.person_id,
            new,
            self.actor,
            confirm=confirm,
            on_ok=self._changed,
            on_error=self._refused,
            group="password-save",
        )

    def _changed(self, _: object) -> None:
        self.changed = True
        self.dismiss_after_worker("password-save", True)

    def unsaved_changes(self) -> str | None:
        """What quitting now would lose (the app asks first), or None."""
        if self.changed:
            return None
        return "The new password is typed but not saved." if self._typed() else None

    def action_cancel(self) -> None:
        if not self.saving:  # the save's answer closes the screen
            yes = "Log out" if self.forced else "Discard"
            ask_to_discard(self, lambda: self.dismiss(False), yes=yes)
