"""Forgotten password, from the login screen (issue 9): ask for a code by email, then type it
with a new password. The screen says the same thing whether or not the login exists.
Every database and argon2 call runs in a worker (`tui.worker.run_service`)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from screens.after_worker import ClosesAfterWorker
from screens.confirm import CoveredKeys, ask_to_discard
from tui.keys import FORGOT_PASSWORD, bindings
from tui.screen import KeepStyles
from tui.widgets import Field, KeyBar, Message
from tui.worker import run_service

FIELDS = {"code": "#code", "password": "#new_password", "password_confirm": "#confirm"}


class ForgotPasswordScreen(ClosesAfterWorker, KeepStyles, CoveredKeys, Screen[str | None]):
    """Dismisses with the login to fill in once the password was reset; None: back. A code
    or password typed is not dropped unasked (Escape, ctrl+q: `unsaved_changes`)."""

    BINDINGS = bindings(FORGOT_PASSWORD)
    AUTO_FOCUS = "#reset-login"

    def __init__(self, login: str = "") -> None:
        super().__init__()
        self.login = login
        self.asked = False
        self.settings = None  # the password policy, read once the database is open
        self.saving = False
        self.done = False  # the password was reset: nothing left to lose

    @property
    def accepting_keys(self) -> bool:
        return not self.saving  # keys typed while the password is set wait for the answer

    def compose(self) -> ComposeResult:
        with_login = Input(self.login, id="reset-login", placeholder="username or email")
        yield Header()
        with Center(), Vertical(id="reset-box", classes="card"):
            yield Static("Forgotten password", classes="card-title")
            yield Static("We send a one-time code to the account's email address.", classes="hint")
            yield Field("Username or email", with_login)
            yield Message(id="reset-request-message")
            with Vertical(id="reset-step2"):
                yield Field("Code from the email", Input(id="code", placeholder="8 digits"))
                yield Field("New password", Input(id="new_password", password=True))
                yield Field("New password again", Input(id="confirm", password=True))
                yield Message(id="reset-message")
            yield Static(
                "Enter: next · ctrl+s: send code / set password · Esc: back",
                classes="hint",
            )
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#reset-step2").display = False

    @on(Input.Submitted, "#reset-login")
    def _login_entered(self) -> None:
        self.request_code()

    @on(Input.Submitted, "#code")
    def _code_entered(self) -> None:
        self.query_one("#new_password", Input).focus()

    @on(Input.Submitted, "#new_password")
    def _password_entered(self) -> None:
        self.query_one("#confirm", Input).focus()

    @on(Input.Submitted, "#confirm")
    def _confirm_entered(self) -> None:
        self.reset()

    @on(Input.Changed, "#new_password")
    def _live_policy(self, event: Input.Changed) -> None:
        self._check(event.value)

    def _check(self, password: str) -> None:
        from models.access.passwords import password_problems
        from models.config.settings import load_settings

        if self.settings is None:  # read once, in a worker; then checked
            if self.app.db_ready and not self._reading_policy:
                self._reading_policy = True
                run_service(self, load_settings, on_ok=self._policy, group="reset-policy")
            return
        problems = password_problems(password, self.settings) if password else []
        self.query_one("#field-new_password", Field).set_error(
            "needs " + ", ".join(problems) if problems else None
        )

    _reading_policy = False

    def _policy(self, settings) -> None:  # noqa: ANN001 - Settings
        self.settings = settings
        self._check(self.query_one("#new_password", Input).value)

    def action_save(self) -> None:
        focused = self.focused
        if not self.asked or (focused is not None and focused.id == "reset-login"):
            self.request_code()
        else:
            self.reset()

    def request_code(self) -> None:
        login = self.query_one("#reset-login", Input).value.strip()
        message = self.query_one("#reset-request-message", Message)
        if not login:
            message.show("Type your username or email.")
            return
        if not self.app.db_ready:
            message.show("Opening the database… try again in a moment.")
            return
        from models.access.password_reset import REQUEST_MESSAGE, request_reset_code

        # The answer is the same for everyone and comes at once; the work (and the SMTP
        # exchange, for a real account) goes on in a worker thread, silent whatever happens.
        run_service(self, request_reset_code, login, on_error=lambda _: None, group="reset")
        self.asked = True
        message.show(REQUEST_MESSAGE, error=False)
        self.query_one("#reset-step2").display = True
        self.query_one("#code", Input).focus()

    def reset(self) -> None:
        """Check the code and set the password in a worker (argon2): the form is disabled and
        says "Saving…" meanwhile; a refusal keeps what was typed."""
        from models.access.password_reset import reset_password_with_code

        if self.saving:
            return
        login = self.query_one("#reset-login", Input).value.strip()
        values = {name: self.query_one(selector, Input).value for name, selector in FIELDS.items()}
        for selector in FIELDS.values():
            self.query_one(f"#field-{selector[1:]}", Field).set_error(None)
        self._set_saving(True)
        run_service(
            self,
            reset_password_with_code,
            login,
            values["code"],
            values["password"],
            values["password_confirm"],
            on_ok=lambda _: self._reset_done(login),
            on_error=self._refused,
            group="reset-save",
        )

    def _reset_done(self, login: str) -> None:
        self.done = True
        self.dismiss_after_worker("reset-save", login)

    def _set_saving(self, saving: bool) -> None:
        self.saving = saving
        message = self.query_one("#reset-message", Message)
        if saving:
            message.show("Saving…", error=False)
        else:
            message.clear()
        self.query_one("#reset-box").disabled = saving

    def _refused(self, exc) -> None:  # noqa: ANN001 - a PatronDeskError
        from models.errors import ValidationError

        self._set_saving(False)
        if not isinstance(exc, ValidationError):
            self.query_one("#reset-message", Message).show(exc.message)
            self.query_one("#code", Input).focus()
            return
        first = None
        for name, selector in FIELDS.items():
            if name in exc.errors:
                self.query_one(f"#field-{selector[1:]}", Field).set_error(exc.errors[name])
                first = first or selector
        self.query_one(first or "#code", Input).focus()

    def unsaved_changes(self) -> str | None:
        """What quitting now would lose (the app asks first), or None: the code and the new
        password typed (the login alone is not asked for)."""
        if self.done:
            return None
        typed = any(self.query_one(s, Input).value for s in FIELDS.values())
        return "The reset code or new password is typed but not saved." if typed else None

    def action_cancel(self) -> None:
        if not self.saving:  # the answer of the password being set closes the screen
            ask_to_discard(self, lambda: self.dismiss(None))
