"""Deleting a user (domain.md section 8): one dialog that either confirms the deletion or lists
every reason it is refused, and offers what can be done about them: view the user, waive the
fees (then confirm again) or notify the user (the deletion notice, queued for the letters).

The rules are `models.users.deletion`'s; this screen only shows them and calls, off the UI thread
(`tui.worker.run_service`): the dialog opens at once saying it checks, and fills in."""

from __future__ import annotations

from textual import on
from textual._time import get_time
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Static

from models.access.permissions import Action
from models.config.codes import code_options
from models.errors import PatronDeskError
from models.fees.fees import waive_all
from models.fees.money import format_money
from models.text import plural
from models.users.deletion import DeletionCheck, check_deletion, delete_user, notify_deletion
from screens.after_worker import ClosesAfterWorker
from screens.confirm import ButtonRow, Dialog
from tui.keys import DELETE_USER, bindings
from tui.widgets import Message, escape
from tui.worker import run_service

DELETED, VIEW = "deleted", "view"


class DeleteUserScreen(ClosesAfterWorker, Dialog[str | None]):
    """Dismisses "deleted", "view" (the caller opens the user) or None (cancelled)."""

    BINDINGS = bindings(DELETE_USER)

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.check: DeletionCheck | None = None
        self.error = ""
        self.notified = False
        self.said = ""  # what the last action did, kept across a recompose
        self.loaded = False  # the check has been read (`_load`)
        self.may_waive = False  # the session may waive fees (read with the check)
        self.busy = False  # a deletion or a notice is being saved

    # --- layout ---------------------------------------------------------------------------------

    def _load(self) -> None:
        """Check the deletion (and whether the session may waive fees) in a worker, then
        show the answer."""
        session, account_id = self.app.session, self.account_id

        def read() -> tuple[DeletionCheck, bool]:
            return check_deletion(account_id, session.actor), session.can(Action.WAIVE_FEE)

        run_service(
            self,
            read,
            on_ok=lambda answer: self._loaded(*answer, ""),
            on_error=lambda exc: self._loaded(None, False, exc.message),
            group="delete-check",
            exclusive=True,
        )

    async def _loaded(self, check: DeletionCheck | None, may_waive: bool, error: str) -> None:
        self.check, self.may_waive, self.error, self.loaded = check, may_waive, error, True
        self._opened_at = get_time()  # keys typed before the answer showed answer nothing
        await self.recompose()
        self._focus()

    def _can_waive(self) -> bool:
        c = self.check
        return bool(c and c.waivable_minor > 0 and self.may_waive)

    def compose(self) -> ComposeResult:
        c = self.check
        with Vertical(id="delete-box"):
            if not self.loaded:
                yield Static("[b]Delete this user?[/b]")
                yield Static("Checking whether this user can be deleted…", id="delete-reasons")
            elif c is None:
                yield Static("[b]This user cannot be deleted[/b]")
                yield Static(escape(self.error), id="delete-reasons")
            elif c.allowed:
                yield Static(f"[b]Delete {escape(c.name)} ({escape(c.primary_id)})?[/b]")
                yield Static(
                    "The account goes, and the person with everything about them unless "
                    "another organization holds an account for them. This cannot be undone.",
                    id="delete-reasons",
                )
            else:
                yield Static(f"[b]{escape(c.name)} ({escape(c.primary_id)}) cannot be deleted:[/b]")
                text = "\n".join(f"• {escape(r)}" for r in c.reasons)
                if self._can_waive():
                    text += (
                        f"\n\nWaive fees clears {format_money(c.waivable_minor, c.currency)} "
                        "of waivable debts; credits stay."
                    )
                yield Static(text, id="delete-reasons")
            yield Message(id="delete-message")
            with ButtonRow(id="delete-buttons"):
                if c is not None and c.allowed:
                    yield Button("Delete (y)", id="delete", variant="error", compact=True)
                if c is not None and c.has_fees:
                    yield Button("View user (v)", id="view", compact=True)
                if self._can_waive():
                    yield Button("Waive fees (w)", id="waive", compact=True)
                if c is not None and c.has_fees and not self.notified:
                    yield Button("Notify user (n)", id="notify", compact=True)
                yield Button("Cancel (Esc)", id="cancel", variant="primary", compact=True)

    def on_mount(self) -> None:
        self._focus()
        self._load()

    def _focus(self) -> None:
        if self.said:
            self.query_one("#delete-message", Message).show(self.said, error=False)
        self.query_one("#cancel", Button).focus()

    def _refresh(self, said: str) -> None:
        """Say what was done, and check again (the reasons may have gone)."""
        self.said = said
        self._load()

    def _set_busy(self, busy: bool, doing: str = "") -> None:
        """While a deletion or a notice is saved: the buttons are disabled, the dialog says
        what it does, and only its answer closes the dialog."""
        self.busy = busy
        for button in self.query(Button):
            button.disabled = busy
        message = self.query_one("#delete-message", Message)
        if busy:
            message.show(doing, error=False)
        else:
            message.clear()
            self._focus()

    # --- actions --------------------------------------------------------------------------------

    @on(Button.Pressed)
    async def _pressed(self, event: Button.Pressed) -> None:
        await self.run_action(event.button.id or "cancel")

    def action_cancel(self) -> None:
        if not self.busy:  # the answer of a deletion under way closes the dialog
            self.dismiss(None)

    def action_view(self) -> None:
        if self.check is not None and self.check.has_fees and not self.busy:
            self.dismiss(VIEW)

    def action_delete(self) -> None:
        if self.check is None or not self.check.allowed or self.busy:
            return
        self._set_busy(True, "Deleting…")
        run_service(
            self,
            delete_user,
            # The version the dialog read: a change made since is refused, not overwritten.
            self.account_id,
            self.check.version,
            self.app.session.actor,
            on_ok=lambda _: self.dismiss_after_worker("delete-save", DELETED),
            on_error=self._refused,
            group="delete-save",
        )

    def _refused(self, exc: PatronDeskError) -> None:
        self._set_busy(False)
        self.query_one("#delete-message", Message).show(exc.message)

    def action_waive(self) -> None:
        from screens.user_details.fields import FormField, RowKind
        from screens.user_details.row_form import RowFormScreen

        if not self._can_waive() or self.busy:
            return
        c = self.check
        actor = self.app.session.actor
        result: list[str] = []

        def save(data: dict) -> str:  # in the form's worker
            done = waive_all(c.account_id, actor, reason=data["reason"], comment=data["comment"])
            amount = format_money(done.amount_minor, c.currency)
            said = f"Waived {plural(done.waived, 'fee')}: {amount}."
            if done.left:
                said += f" {done.left} more: waive again (the limit per action)."
            return said

        def after(saved: bool | None) -> None:
            if saved:
                self._refresh(result[-1])

        fields = (
            FormField("reason", "Reason", "choice", lambda org: code_options("waive_reason", org)),
            FormField("comment", "Comment"),
        )
        title = f"Waive the fees of {c.name}: {format_money(c.waivable_minor, c.currency)}"
        spec = RowKind("waive_all", title, (), fields)
        organization_id = self.app.session.organization.id
        form = RowFormScreen(spec, title, {}, organization_id, save, saved=result.append)
        self.app.push_screen(form, after)

    def action_notify(self) -> None:
        if self.check is None or not self.check.has_fees or self.notified or self.busy:
            return

        def queued(_: object) -> None:
            self.busy = False
            self.notified = True
            self._refresh("The deletion notice is queued for sending.")

        self._set_busy(True, "Queueing the deletion notice…")
        run_service(
            self,
            notify_deletion,
            self.account_id,
            self.app.session.actor,
            on_ok=queued,
            on_error=self._refused,
            group="delete-save",
        )
