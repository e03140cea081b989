"""An empty database: create the first administrator, then log in."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Center, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from models.access.passwords import password_problems, policy_text
from models.config.settings import Settings, load_settings
from models.config.setup import initialize
from models.enums import Source
from models.errors import PatronDeskError, ValidationError
from tui.keys import FIRST_ADMIN, bindings
from tui.screen import KeepStyles
from tui.widgets import Field, KeyBar, Message
from tui.worker import run_service

FIELDS = ("username", "last_name", "first_name", "email", "password", "password_confirm")


class FirstAdminScreen(KeepStyles, Screen[None]):
    BINDINGS = bindings(FIRST_ADMIN)
    AUTO_FOCUS = "#username"

    def __init__(self) -> None:
        super().__init__()
        self._settings: Settings | None = None  # the password policy, read in a worker
        self._saving = False
        self._done = False  # the administrator is created: nothing left to lose

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(), VerticalScroll(id="first-admin-box", classes="card"):
            yield Static("Create the first administrator", classes="card-title")
            yield Static(
                "This database has no users yet. The administrator you create here can add "
                "every other user.",
                classes="hint",
            )
            yield Field("Username", Input(id="username"), required=True)
            yield Field("Last name", Input(id="last_name", value="Administrator"), required=True)
            yield Field("First name", Input(id="first_name"))
            yield Field("Email", Input(id="email"))
            yield Field("Password", Input(id="password", password=True), required=True)
            yield Field(
                "Password again", Input(id="password_confirm", password=True), required=True
            )
            yield Static("", id="policy", classes="hint")
            yield Message(id="first-admin-message")
            yield Static("ctrl+s or Enter in the last field: create", classes="hint")
        yield KeyBar()

    def on_mount(self) -> None:
        run_service(self, load_settings, on_ok=self._policy_read, group="policy")

    def _policy_read(self, settings: Settings) -> None:
        self._settings = settings
        self.query_one("#policy", Static).update(policy_text(settings))
        self._live_policy()

    @on(Input.Changed, "#password")
    def _live_policy(self) -> None:
        value = self._value("password")
        if self._settings is None:
            return  # the policy comes with its worker (and checks what was typed by then)
        problems = password_problems(value, self._settings) if value else []
        self._field("password").set_error("needs " + ", ".join(problems) if problems else None)

    @on(Input.Submitted)
    def _next_or_save(self, event: Input.Submitted) -> None:
        if event.input.id == FIELDS[-1]:
            self.action_save()
        else:
            self.focus_next()

    def _field(self, name: str) -> Field:
        return self.query_one(f"#field-{name}", Field)

    def _value(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value

    def unsaved_changes(self) -> str | None:
        """What quitting now would lose (the app asks first), or None: anything typed that
        the form did not show, until the administrator is created."""
        if self._done:
            return None
        shown = {"last_name": "Administrator"}
        typed = any(self._value(name) != shown.get(name, "") for name in FIELDS)
        return "The first administrator is typed but not created." if typed else None

    def action_save(self) -> None:
        if self._saving:  # one save at a time: ctrl+s again while it runs does nothing
            return
        errors: dict[str, str] = {}
        if not self._value("username").strip():
            errors["username"] = "type a username"
        if self._value("password") != self._value("password_confirm"):
            errors["password_confirm"] = "does not match the password"
        if errors:
            self._show_errors(errors)
            return
        username = self._value("username").strip()
        self._saving = True
        self.query_one("#first-admin-message", Message).show("Creating…", error=False)
        run_service(
            self,
            initialize,
            username,
            self._value("password"),
            source=Source.SCREEN,
            first_name=self._value("first_name").strip(),
            last_name=self._value("last_name").strip(),
            email=self._value("email").strip(),
            on_ok=lambda _: self._created(username),
            on_error=self._refused,
            group="save",
        )

    def _created(self, username: str) -> None:
        self._saving = False
        self._done = True
        self.app.notify("Administrator created: log in with the new password.")
        self.app.show_login(prefill=username)

    def _refused(self, exc: PatronDeskError) -> None:
        self._saving = False
        if isinstance(exc, ValidationError):
            self._show_errors(exc.errors)
        else:
            self.query_one("#first-admin-message", Message).show(exc.message)

    def _show_errors(self, errors: dict[str, str]) -> None:
        mapping = {"primary_id": "username"}
        first = None
        for name in FIELDS:
            self._field(name).set_error(None)
        leftovers = []
        for key, text in errors.items():
            name = mapping.get(key, key)
            if name in FIELDS:
                self._field(name).set_error(text)
                first = first or name
            else:
                leftovers.append(f"{key.replace('_', ' ')}: {text}")
        message = self.query_one("#first-admin-message", Message)
        if leftovers:
            message.show("; ".join(leftovers))
        else:
            message.clear()
        if first:
            self.query_one(f"#{first}", Input).focus()
