"""The screen lock after inactivity: the staff user's password opens it again; nothing on the
screens below is lost. Failed attempts count towards the login lockout. ctrl+l logs out (the
app ends the session once the screens under the lock are gone)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.keys import LOCK, bindings
from tui.widgets import Field, Message, plain

if TYPE_CHECKING:
    from models.tables import Organization


class LockScreen(ModalScreen[bool]):
    """Dismisses True when unlocked; False when the user chose to log out."""

    BINDINGS = bindings(LOCK)
    AUTO_FOCUS = "#unlock-password"

    def __init__(
        self, username: str, minutes: int, organization: Organization | None = None
    ) -> None:
        """`organization`: the session's, so that a person with accounts in several
        organizations opens the lock of the one they work in."""
        super().__init__()
        self.username, self.minutes, self.organization = username, minutes, organization

    def compose(self) -> ComposeResult:
        with Vertical(id="lock-box", classes="card"):
            yield Static("Screen locked", classes="card-title")
            yield Static(
                plain(
                    f"No activity for {self.minutes} minutes. Type the password of "
                    f"{self.username} to go on, or ctrl+l to log out."
                ),
                classes="hint",
                markup=False,
            )
            yield Field("Password", Input(id="unlock-password", password=True))
            yield Message(id="unlock-message")

    def on_mount(self) -> None:
        # The lock hides the data (issue 18): the screen is opaque (styles/app.tcss), and a
        # notification still up ("Müller, Anna saved.") would show over it: gone.
        self.app.clear_notifications()

    @on(Input.Submitted, "#unlock-password")
    def _unlock(self, event: Input.Submitted) -> None:
        from models.auth import login
        from models.errors import AuthenticationError

        try:
            login(self.username, event.value, organization=self.organization)
        except AuthenticationError as exc:
            event.input.value = ""
            self.query_one("#unlock-message", Message).show(exc.message)
            return
        self.dismiss(True)

    def action_log_out(self) -> None:
        self.dismiss(False)
