"""Forgotten password, from the login screen (issue 9): ask for a code by email, then type it
with a new password. The screen says the same thing whether or not the login exists."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from tui.keys import FORGOT_PASSWORD, bindings
from tui.screen import KeepStyles
from tui.widgets import Field, KeyBar, Message

FIELDS = {"code": "#code", "password": "#new_password", "password_confirm": "#confirm"}


class ForgotPasswordScreen(KeepStyles, Screen[str | None]):
    """Dismisses with the login to fill in once the password was reset; None: back."""

    BINDINGS = bindings(FORGOT_PASSWORD)
    AUTO_FOCUS = "#reset-login"

    def __init__(self, login: str = "") -> None:
        super().__init__()
        self.login = login
        self.asked = False

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
        from models.passwords import password_problems
        from models.settings import load_settings

        problems = password_problems(event.value, load_settings()) if event.value else []
        self.query_one("#field-new_password", Field).set_error(
            "needs " + ", ".join(problems) if problems else None
        )

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
        from models.password_reset import REQUEST_MESSAGE, request_reset_code

        # The answer is the same for everyone and comes at once; the work (and the SMTP
        # exchange, for a real account) goes on in a worker thread.
        self.run_worker(lambda: request_reset_code(login), thread=True, group="reset")
        self.asked = True
        message.show(REQUEST_MESSAGE, error=False)
        self.query_one("#reset-step2").display = True
        self.query_one("#code", Input).focus()

    def reset(self) -> None:
        from models.errors import ValidationError
        from models.password_reset import reset_password_with_code

        login = self.query_one("#reset-login", Input).value.strip()
        values = {name: self.query_one(selector, Input).value for name, selector in FIELDS.items()}
        for selector in FIELDS.values():
            self.query_one(f"#field-{selector[1:]}", Field).set_error(None)
        try:
            reset_password_with_code(
                login, values["code"], values["password"], values["password_confirm"]
            )
        except ValidationError as exc:
            first = None
            for name, selector in FIELDS.items():
                if name in exc.errors:
                    self.query_one(f"#field-{selector[1:]}", Field).set_error(exc.errors[name])
                    first = first or selector
            self.query_one(first or "#code", Input).focus()
            return
        self.dismiss(login)

    def action_cancel(self) -> None:
        self.dismiss(None)
