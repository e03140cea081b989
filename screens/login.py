"""Login: username or email, and password. Enter logs in. A person with accounts in several
organizations is asked which one to work in (the login service never chooses for them)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.keys import LOGIN, bindings, hint
from tui.screen import KeepStyles
from tui.widgets import Field, KeyBar, Message


class LoginScreen(KeepStyles, Screen[None]):
    BINDINGS = bindings(LOGIN)

    def __init__(self, prefill: str = "", notice: str | None = None) -> None:
        """`notice`: why the last session ended (shown until the next attempt)."""
        super().__init__()
        self.prefill = prefill
        self.notice = notice
        self.AUTO_FOCUS = "#password" if prefill else "#login"
        self.checking = False  # a login is being checked (argon2, in a worker)

    @property
    def accepting_keys(self) -> bool:
        """Keys typed while a login is checked wait (`PatronDeskApp`): they are for the screen
        that comes next (Find Users once logged in, this one again after a refusal)."""
        return not self.checking

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(), Vertical(id="login-box", classes="card"):
            yield Static("Log in to PatronDesk", classes="card-title")
            yield Field(
                "Username or email",
                Input(self.prefill, id="login", placeholder="username or email"),
            )
            yield Field("Password", Input(id="password", password=True, placeholder="password"))
            yield OptionList(id="organization")
            yield Message(id="login-message")
            forgot, leave = hint(self.app, "login.forgot_password"), hint(self.app, "quit")
            yield Static(
                f"Enter: log in · {forgot}: forgotten password · {leave}: quit", classes="hint"
            )
        yield KeyBar()

    def on_mount(self) -> None:
        if self.notice:
            self.query_one("#login-message", Message).show(self.notice)

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

    @on(Input.Changed)
    def _credentials_changed(self) -> None:
        """Another name or password: the organizations offered for the last one go."""
        self._offer_organizations([])

    @on(OptionList.OptionSelected, "#organization")
    def _organization_chosen(self, event: OptionList.OptionSelected) -> None:
        self.submit(organization_id=int(event.option.id))

    def _offer_organizations(self, organizations: list[tuple[int, str]]) -> None:
        choice = self.query_one("#organization", OptionList)
        choice.clear_options()
        choice.add_options([Option(name, id=str(org_id)) for org_id, name in organizations])
        choice.set_class(bool(organizations), "-shown")
        if organizations:
            choice.highlighted = 0
            choice.focus()

    def submit(self, organization_id: int | None = None) -> None:
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
        if self.checking:  # one check at a time: Enter again while it runs does nothing
            return
        from models.access.auth import login  # the database loads after the paint
        from tui.worker import run_service

        login_name, secret = name.value.strip(), password.value

        def check():  # argon2 and the database, in a worker: the terminal keeps answering
            return login(login_name, secret, organization=organization_id)

        self.checking = True
        message.show("Checking…", error=False)
        run_service(self, check, on_ok=self._logged_in, on_error=self._refused, group="login")

    def _logged_in(self, account) -> None:
        self.checking = False
        self.query_one("#login-message", Message).clear()
        self.query_one("#password", Input).value = ""
        self.app.logged_in(account)

    def _refused(self, exc) -> None:
        from models.access.auth import ChooseOrganization
        from models.errors import AuthenticationError

        self.checking = False
        message = self.query_one("#login-message", Message)
        password = self.query_one("#password", Input)
        if isinstance(exc, ChooseOrganization):
            # The password was right: it stays (masked) for the second try with the choice.
            message.show(exc.message, error=False)
            self._offer_organizations(exc.organizations)
        elif isinstance(exc, AuthenticationError):
            message.show(exc.message)
            password.value = ""
            self._offer_organizations([])
            password.focus()
        else:  # e.g. a read-only database: said in words
            message.show(exc.message)
