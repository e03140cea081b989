"""Set password… (User Details, ctrl+a; issue 22, item 2; alma-managing-users: "Password",
"Verify password", "Force password change on next login"): staff give a user a password they
chose, typed twice, checked against the password policy as it is typed, with Force password
change ticked by default. The save is `models.users.details.set_chosen_password` in a worker
(the rights first, then the policy; argon2 never on the UI thread); History gets it masked."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from models.access.passwords import password_problems
from models.audit import Actor
from models.config.settings import Settings, load_settings
from models.users.details import set_chosen_password
from screens.after_worker import ClosesAfterWorker
from screens.confirm import CoveredKeys, ask_to_discard
from screens.password_pair import PasswordPair
from tui.keys import FORM, bindings
from tui.widgets import (
    Checkbox,
    Field,
    LineInput,
    Message,
    plain,
)
from tui.worker import run_service

GROUP = "set-password-save"


def read_policy() -> Settings:
    """The settings (the password policy), read in a worker; the list of common passwords the
    policy refuses is loaded here too, not on the first key typed."""
    settings = load_settings()
    password_problems("", settings)
    return settings


class SetPasswordScreen(PasswordPair, ClosesAfterWorker, CoveredKeys, ModalScreen[bool]):
    """Dismisses True once the password is set, False when cancelled. A password typed is not
    dropped unasked (Escape, ctrl+q: `unsaved_changes`)."""

    BINDINGS = bindings(FORM)
    AUTO_FOCUS = "#sp-password"
    PASSWORD_ID, CONFIRM_ID = "sp-password", "sp-confirm"
    POLICY, MESSAGE, BOX = "#sp-policy", "#sp-message", "#set-password-box"

    def __init__(self, account_id: int, name: str, actor: Actor) -> None:
        super().__init__()
        self.account_id, self.user_name, self.actor = account_id, name, actor
        self.settings: Settings | None = None
        self.saving = False
        self.done = False

    @property
    def accepting_keys(self) -> bool:
        """Keys typed during the save wait for its answer (`App._ready_for_keys`)."""
        return not self.saving

    def compose(self) -> ComposeResult:
        with Vertical(id="set-password-box", classes="card"):
            yield Static(plain(f"Set password for {self.user_name}"), classes="card-title")
            yield Static("", id="sp-policy", classes="hint")  # read in a worker
            yield Field("Password", LineInput(id="sp-password", password=True), required=True)
            yield Field("Password again", LineInput(id="sp-confirm", password=True), required=True)
            yield Checkbox("Force password change at next login", True, id="sp-force", compact=True)
            yield Message(id="sp-message")
            with Horizontal(classes="form-buttons"):
                yield Button("Save (ctrl+s)", id="sp-save", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="sp-cancel", compact=True)

    def on_mount(self) -> None:
        run_service(self, read_policy, on_ok=self._policy, group="set-password-policy")

    @on(Button.Pressed, "#sp-save")
    def action_save(self) -> None:
        """Set in a worker (rights, policy, argon2, History): the form is disabled and says
        "Saving…" meanwhile; one save at a time."""
        if self.saving:
            return
        password = self.query_one("#sp-password", Input).value
        confirm = self.query_one("#sp-confirm", Input).value
        force = self.query_one("#sp-force", Checkbox).value
        self._set_saving(True)
        run_service(
            self,
            set_chosen_password,
            self.account_id,
            password,
            confirm,
            self.actor,
            force_change=force,
            on_ok=self._set,
            on_error=self._refused,
            group=GROUP,
        )

    def _set(self, _: object) -> None:
        self.done = True
        force = self.query_one("#sp-force", Checkbox).value
        self.app.notify(
            "Password set: the user must choose their own at the next login."
            if force
            else "Password set."
        )
        self.dismiss_after_worker(GROUP, True)

    def unsaved_changes(self) -> str | None:
        """What closing now would lose (the app asks first), or None."""
        if self.done:
            return None
        return "A password is typed but not set." if self._typed() else None

    @on(Button.Pressed, "#sp-cancel")
    def action_cancel(self) -> None:
        if not self.saving:  # the save's answer closes the form (or says why not)
            ask_to_discard(self, lambda: self.dismiss(False))
