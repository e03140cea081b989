"""Reuse an existing person (RERO ILS): find them by email or username; their personal data is
kept and only a new account is created for this organization. The person is looked up in a
worker (`tui.worker.run_service`); keys typed meanwhile wait for the answer."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from models.errors import PatronDeskError
from models.users.reuse import PersonMatch, find_person_to_reuse
from tui.keys import DIALOG, bindings
from tui.widgets import (
    Checkbox,
    Field,
    LineInput,
    Message,
    plain,
)
from tui.worker import run_service


class ReusePersonScreen(ModalScreen[int | None]):
    """Dismisses with the chosen person's id, or None."""

    BINDINGS = bindings(DIALOG)
    AUTO_FOCUS = "#reuse-login"

    def __init__(self, organization_id: int) -> None:
        super().__init__()
        self.organization_id = organization_id
        self.match: PersonMatch | None = None
        self.finding = False  # a look-up runs

    @property
    def accepting_keys(self) -> bool:
        return not self.finding  # Enter typed again (use this person) waits for the match

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
        if self.match and event.value.strip() == self.match.login:
            self._choose()
            return
        if self.finding:
            return
        self.finding = True
        message.show("Looking…", error=False)

        def failed(exc: PatronDeskError) -> None:
            self.finding = False
            message.show(exc.message)

        run_service(
            self,
            find_person_to_reuse,
            event.value,
            self.organization_id,
            on_ok=self._found,
            on_error=failed,
            group="reuse-find",
        )

    def _found(self, match: PersonMatch | None) -> None:
        self.finding = False
        self.match = match
        message = self.query_one("#reuse-message", Message)
        found = self.query_one("#reuse-found", Static)
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
