"""Reuse an existing person (RERO ILS): find them by email or username; their personal data is
kept and only a new account is created for this organization."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Static

from models.reuse import PersonMatch, find_person_to_reuse
from tui.keys import DIALOG, bindings
from tui.widgets import Field, LineInput, Message, plain


class ReusePersonScreen(ModalScreen[int | None]):
    """Dismisses with the chosen person's id, or None."""

    BINDINGS = bindings(DIALOG)
    AUTO_FOCUS = "#reuse-login"

    def __init__(self, organization_id: int) -> None:
        super().__init__()
        self.organization_id = organization_id
        self.match: PersonMatch | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="reuse-box"):
            yield Static("[b]Reuse an existing person[/b]")
            yield Field("Email or username", LineInput(id="reuse-login"))
            yield Static("", id="reuse-found")
            yield Checkbox("The person agrees to share their personal data", id="consent")
            yield Message(id="reuse-message")
            yield Static(
                "Enter: find, then Enter: use this person  ·  Escape: cancel", classes="hint"
            )

    @on(Input.Submitted, "#reuse-login")
    def _find(self, event: Input.Submitted) -> None:
        message = self.query_one("#reuse-message", Message)
        found = self.query_one("#reuse-found", Static)
        if self.match and event.value.strip() == self.match.login:
            self._choose()
            return
        self.match = find_person_to_reuse(event.value, self.organization_id)
        if self.match is None:
            found.update("")
            message.show("Nobody has this email or username.")
            return
        if self.match.has_account_here:
            found.update(plain(self.match.describe()))
            message.show("This person already has an account in this organization.")
            self.match = None
            return
        message.clear()
        found.update(plain(self.match.describe()))
        self.query_one("#consent", Checkbox).focus()

    @on(Checkbox.Changed, "#consent")
    def _consent_given(self, event: Checkbox.Changed) -> None:
        if event.value and self.match:
            self._choose()

    def _choose(self) -> None:
        if not self.query_one("#consent", Checkbox).value:
            self.query_one("#reuse-message", Message).show(
                "Confirm that the person agrees to share their personal data first."
            )
            self.query_one("#consent", Checkbox).focus()
            return
        self.dismiss(self.match.person_id)

    def action_cancel(self) -> None:
        self.dismiss(None)
