"""What the two password forms share (Change password, Set password…): a password typed twice,
the policy read in a worker and checked as the password is typed (also what was typed before
it came), Enter going from the first field to the second, the save's "Saving…" with the form
disabled, and a refusal shown under the field it names. A mixin, not a screen: each form has
its own compose, its own save service and its own ids, named by the class attributes."""

from __future__ import annotations

from textual.widgets import Input, Static

from models.access.passwords import password_problems, policy_text
from models.config.settings import Settings
from models.errors import PatronDeskError, ValidationError
from tui.widgets import Field, Message


class PasswordPair:
    """Mix into a screen that composes the two inputs, a policy Static, a Message and a box.
    The screen sets `settings = None` and `saving = False` and defines `action_save`."""

    PASSWORD_ID = "new_password"
    CONFIRM_ID = "confirm"
    POLICY = "#policy"
    MESSAGE = "#password-message"
    BOX = "#password-box"

    settings: Settings | None
    saving: bool

    def _policy(self, settings: Settings) -> None:
        self.settings = settings
        self.query_one(self.POLICY, Static).update(policy_text(settings))
        typed = self.query_one(f"#{self.PASSWORD_ID}", Input).value
        if typed:  # typed before the policy came: checked now
            self._check(typed)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == self.PASSWORD_ID:
            self._check(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == self.PASSWORD_ID:
            self.query_one(f"#{self.CONFIRM_ID}", Input).focus()
        elif event.input.id == self.CONFIRM_ID:
            self.action_save()

    def _check(self, password: str) -> None:
        if self.settings is None:
            return
        problems = password_problems(password, self.settings) if password else []
        field = self.query_one(f"#field-{self.PASSWORD_ID}", Field)
        field.set_error("needs " + ", ".join(problems) if problems else None)

    def _set_saving(self, saving: bool) -> None:
        self.saving = saving
        message = self.query_one(self.MESSAGE, Message)
        if saving:
            message.show("Saving…", error=False)
        else:
            message.clear()
        self.query_one(self.BOX).disabled = saving

    def _refused(self, exc: PatronDeskError) -> None:
        self._set_saving(False)
        if not isinstance(exc, ValidationError):
            self.query_one(self.MESSAGE, Message).show(exc.message)
            self.query_one(f"#{self.PASSWORD_ID}", Input).focus()
            return
        for name, wid in (("password", self.PASSWORD_ID), ("password_confirm", self.CONFIRM_ID)):
            self.query_one(f"#field-{wid}", Field).set_error(exc.errors.get(name))
        target = self.PASSWORD_ID if "password" in exc.errors else self.CONFIRM_ID
        self.query_one(f"#{target}", Input).focus()

    def _typed(self) -> bool:
        """A password is typed in either field (what closing the form would lose)."""
        ids = (self.PASSWORD_ID, self.CONFIRM_ID)
        return any(self.query_one(f"#{i}", Input).value for i in ids)
