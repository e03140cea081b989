"""The identifier form of User Details (add, edit, duplicate): the row form, plus Generate
(issue 22, item 8; Esploro: "Selecting Generate will set the value according to the settings in
ID Generation Policy"). ctrl+g, or the button, fills Value with the next identifier of the
ID-generation setting, reserved in a worker (`models.users.idgen.generate_identifier`: the
staff user must be allowed to edit the user's identifiers). Nothing else typed is touched; the
value is saved with the form, as one typed by hand."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.widgets import Button, Input

from models.errors import PatronDeskError
from screens.user_details.row_form import RowFormScreen
from tui.keys import IDENTIFIER_FORM, bindings, hint
from tui.widgets import Field, Message
from tui.worker import run_service


class IdentifierFormScreen(RowFormScreen):
    """`generate()` runs in a worker and returns the identifier to show in Value."""

    BINDINGS = bindings(IDENTIFIER_FORM)

    def __init__(self, *args, generate: Callable[[], str], **kwargs) -> None:  # noqa: ANN002
        super().__init__(*args, **kwargs)
        self.generate = generate
        self.generating = False

    def extra_buttons(self) -> list[Button]:
        key = hint(self.app, "generate_password")
        return [Button(f"Generate ({key})", id="row-generate", compact=True)]

    @on(Button.Pressed, "#row-generate")
    def action_generate_identifier(self) -> None:
        """Reserve the next identifier in a worker; it replaces what Value holds."""
        if self.options is None or self.saving or self.generating:
            return
        self.generating = True
        self.query_one("#row-form-message", Message).show("Generating…", error=False)
        run_service(
            self,
            self.generate,
            on_ok=self._generated,
            on_error=self._not_generated,
            group="row-form-generate",
        )

    def _generated(self, value: str) -> None:
        self.generating = False
        self.query_one("#row-form-message", Message).clear()
        self.query_one("#field-row-value", Field).set_error(None)
        box = self.query_one("#row-value", Input)
        box.value = value
        box.focus()

    def _not_generated(self, exc: PatronDeskError) -> None:
        self.generating = False
        self.query_one("#row-form-message", Message).show(exc.message)
