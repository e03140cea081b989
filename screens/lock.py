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

from screens.after_worker import ClosesAfterWorker
from tui.keys import LOCK, bindings
from tui.widgets import Field, Message, plain

if TYPE_CHECKING:
    from models.errors import PatronDeskError
    from models.store.tables import Organization


class LockScreen(ClosesAfterWorker, ModalScreen[bool]):
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
        self._checking = False

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
        from models.access.auth import login
        from tui.worker import run_service

        if self._checking:  # one check at a time: Enter again while it runs does nothing
            return
        self._checking = True
        self.query_one("#unlock-message", Message).show("Checking…", error=False)
        run_service(  # argon2 and the database in a worker: the terminal keeps answering
            self,
            login,
            self.username,
            event.value,
            organization=self.organization,
            on_ok=lambda _: self.dismiss_after_worker("unlock", True),
            on_error=self._refused,
            group="unlock",
        )

    def _refused(self, exc: PatronDeskError) -> None:
        self._checking = False
        self.query_one("#unlock-password", Input).value = ""
        self.query_one("#unlock-message", Message).show(exc.message)

    def action_log_out(self) -> None:
        self.dismiss(False)
