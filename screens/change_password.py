"""Change one's own password: forced after a reset, or by choice. The policy is shown and
checked as the user types. The settings are read, and the password hashed and saved, in
workers (`tui.worker.run_service`): the screen shows at once, and says "Saving…"."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from models.access.auth import set_password
from models.access.passwords import password_problems, policy_text
from models.audit import Actor
from models.config.settings import Settings, load_settings
from models.errors import PatronDeskError, ValidationError
from screens.after_worker import ClosesAfterWorker
from screens.confirm import CoveredKeys, ask_to_discard
from tui.keys import FORM, bindings
from tui.screen import KeepStyles
from tui.widgets import Field, KeyBar, Message
from tui.worker import run_service


class ChangePasswordScreen(ClosesAfterWorker, KeepStyles, CoveredKeys, Screen[bool]):
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

    def _policy(self, settings: Settings) -> None:
        self.settings = settings
        self.query_one("#policy", Static).update(policy_text(settings))
        new = self.query_one("#new_password", Input)
        if new.value:  # typed before the policy came: checked now
            self._check(new.value)

    @on(Input.Changed, "#new_password")
    def _live_policy(self, event: Input.Changed) -> None:
        self._check(event.value)

    def _check(self, password: str) -> None:
        if self.settings is None:
            return
        problems = password_problems(password, self.settings) if password else []
        field = self.query_one("#field-new_password", Field)
        field.set_error("needs " + ", ".join(problems) if problems else None)

    @on(Input.Submitted, "#new_password")
    def _next(self) -> None:
        self.query_one("#confirm", Input).focus()

    @on(Input.Submitted, "#confirm")
    def _submit(self) -> None:
        self.action_save()

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

    def _set_saving(self, saving: bool) -> None:
        self.saving = saving
        message = self.query_one("#password-message", Message)
        if saving:
            message.show("Saving…", error=False)
        else:
            message.clear()
        self.query_one("#password-box").disabled = saving

    def _refused(self, exc: PatronDeskError) -> None:
        self._set_saving(False)
        if not isinstance(exc, ValidationError):
            self.query_one("#password-message", Message).show(exc.message)
            self.query_one("#new_password", Input).focus()
            return
        self.query_one("#field-new_password", Field).set_error(exc.errors.get("password"))
        self.query_one("#field-confirm", Field).set_error(exc.errors.get("password_confirm"))
        target = "#new_password" if "password" in exc.errors else "#confirm"
        self.query_one(target, Input).focus()

    def unsaved_changes(self) -> str | None:
        """What quitting now would lose (the app asks first), or None."""
        if self.changed:
            return None
        typed = any(self.query_one(s, Input).value for s in ("#new_password", "#confirm"))
        return "The new password is typed but not saved." if typed else None

    def action_cancel(self) -> None:
        if not self.saving:  # the save's answer closes the screen
            yes = "Log out" if self.forced else "Discard"
            ask_to_discard(self, lambda: self.dismiss(False), yes=yes)
