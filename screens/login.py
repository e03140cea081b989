"""Login: username or email, and password. Enter logs in."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from tui.keys import LOGIN, bindings
from tui.widgets import Field, Message


class LoginScreen(Screen[None]):
    BINDINGS = bindings(LOGIN)
    KEY_GROUPS = (("Login", LOGIN),)

    def __init__(self, prefill: str = "") -> None:
        super().__init__()
        self.prefill = prefill
        self.AUTO_FOCUS = "#password" if prefill else "#login"

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(), Vertical(id="login-box", classes="card"):
            yield Static("Log in to PatronDesk", classes="card-title")
            yield Field(
                "Username or email",
                Input(self.prefill, id="login", placeholder="username or email"),
            )
            yield Field("Password", Input(id="password", password=True, placeholder="password"))
            yield Message(id="login-message")
            yield Static(
                "Enter: log in · ctrl+r: forgotten password · ctrl+q: quit", classes="hint"
            )
        yield Footer()

    def action_forgot_password(self) -> None:
        from screens.forgot_password import ForgotPasswordScreen

        def back(login: str | None) -> None:
            if login:
                self.query_one("#login", Input).value = login
                self.query_one("#login-message", Message).show(
                    "Password changed: log in with the new one.", error=False
                )
                self.query_one("#password", Input).focus()

        login = self.query_one("#login", Input).value.strip()
        self.app.push_screen(ForgotPasswordScreen(login), back)

    @on(Input.Submitted, "#login")
    def _next(self) -> None:
        if self.query_one("#password", Input).value or not self.query_one("#login", Input).value:
            self.submit()
        else:
            self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    def _submit(self) -> None:
        self.submit()

    def submit(self) -> None:
        name = self.query_one("#login", Input)
        password = self.query_one("#password", Input)
        message = self.query_one("#login-message", Message)
        if not name.value.strip():
            message.show("Type your username or email.")
            name.focus()
            return
        if not password.value:
            message.show("Type your password.")
            password.focus()
            return
        if not self.app.db_ready:
            message.show("Opening the database… try again in a moment.")
            return
        from models.auth import login  # the database layer loads after the first paint
        from models.errors import AuthenticationError, PatronDeskError

        try:
            account = login(name.value.strip(), password.value)
        except AuthenticationError as exc:
            message.show(exc.message)
            password.value = ""
            password.focus()
            return
        except PatronDeskError as exc:  # e.g. a read-only database: said in words
            message.show(exc.message)
            return
        message.clear()
        password.value = ""
        self.app.logged_in(account)
