"""Original values of an external account (User Details, shift+F2 or ctrl+a; alma-managing-users,
"Editing Users": "You can select the original value option ... to revert a changed field and
re-synchronize it with the value that is managed in the SIS system"): each General-tab field
staff changed by hand, its value now, the value the SIS supplied, who changed it and when, and
whether the next SIS load may override it (the answer to the question asked at the save).

r puts the SIS value of the highlighted field back, after a confirmation, at the record's
version (`models.users.details.restore_original`): a record changed since is refused in words.
Dismisses the record's version after the last restore (the caller reloads the General tab), or
None when nothing was restored."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from models.audit import Actor
from models.errors import ConflictError, PatronDeskError, ValidationError
from models.users.details import restore_original
from models.users.external import OriginalLine, original_values
from screens.confirm import ConfirmScreen, CoveredKeys, Dialog
from tui.keys import ORIGINAL_VALUES, bindings, hint
from tui.table import RowTable
from tui.widgets import Message, escape, plain
from tui.worker import run_service

# Fit an 80-column terminal (the box's border and padding take 4).
COLUMNS = [
    ("Field", 15),
    ("Value now", 11),
    ("SIS value", 11),
    ("By", 8),
    ("When (UTC)", 16),
    ("Override", 8),
]


class OriginalValuesScreen(CoveredKeys, Dialog[int | None]):
    BINDINGS = bindings(ORIGINAL_VALUES)

    def __init__(self, account_id: int, version: int, name: str, actor: Actor) -> None:
        super().__init__()
        self.account_id, self.version, self.user_name, self.actor = (
            account_id,
            version,
            name,
            actor,
        )
        self.lines: list[OriginalLine] = []
        self.restored = False
        self.restoring = False

    def _on_key(self, event: events.Key) -> None:
        """A key typed before this list appeared is dropped (`Dialog`), and one read for it
        but handled once the confirmation covers it stops here (`CoveredKeys`)."""
        if self.typed_too_early(event):
            Dialog._on_key(self, event)
        else:
            CoveredKeys._on_key(self, event)

    def compose(self) -> ComposeResult:
        restore = hint(self.app, "original_values.restore")
        with Vertical(id="ov-box"):
            yield Static(f"[b]Original values of {escape(self.user_name)}[/b]")
            yield Static(
                f"Fields changed by hand, kept over SIS loads unless Override says yes · "
                f"{restore} restore the SIS value · Esc close",
                classes="hint",
            )
            yield RowTable(id="ov-table")
            yield Static("", id="ov-detail", markup=False)
            yield Message(id="ov-message")

    def on_mount(self) -> None:
        table = self.query_one(RowTable)
        table.set_columns(COLUMNS)
        table.focus()
        self.reload()

    def reload(self) -> None:
        run_service(
            self,
            original_values,
            self.account_id,
            self.actor,
            on_ok=self._show,
            on_error=self._failed,
            group="original-values-read",
            exclusive=True,
        )

    def _failed(self, exc: PatronDeskError) -> None:
        self.query_one("#ov-message", Message).show(exc.message)

    def _show(self, lines: list[OriginalLine]) -> None:
        self.lines = lines
        table = self.query_one(RowTable)
        table.set_rows(
            [
                (
                    line.label,
                    line.current,
                    line.original,
                    line.changed_by,
                    f"{line.changed_at:%Y-%m-%d %H:%M}" if line.changed_at else "",
                    "yes" if line.sis_may_override else "no",
                )
                for line in lines
            ],
            table.cursor,
        )
        self._detail(table.cursor)

    @on(RowTable.Highlighted)
    def _highlighted(self, event: RowTable.Highlighted) -> None:
        self._detail(event.row)

    def _detail(self, row: int) -> None:
        """The highlighted line whole (the table cuts long values)."""
        detail = self.query_one("#ov-detail", Static)
        if not self.lines:
            detail.update("No field of this account was changed by hand: it follows the SIS.")
            return
        line = self.lines[min(row, len(self.lines) - 1)]
        fate = (
            "the next SIS load overrides it"
            if line.sis_may_override
            else "SIS loads keep the value now"
        )
        detail.update(plain(f"{line.label}: now “{line.current}”, SIS “{line.original}” · {fate}."))

    def action_restore(self) -> None:
        if self.restoring:
            return
        if not self.lines:
            self.notify("Nothing to restore: no field was changed by hand.", severity="warning")
            return
        line = self.lines[self.query_one(RowTable).cursor]

        def answer(yes: bool | None) -> None:
            if yes:
                self._restore(line)

        self.app.push_screen(
            ConfirmScreen(
                f"Put back the SIS value of {line.label} (“{line.original}”, now "
                f"“{line.current}”)? SIS loads will update it again.",
                yes="Restore",
            ),
            answer,
        )

    def _restore(self, line: OriginalLine) -> None:
        self.restoring = True
        self.query_one("#ov-message", Message).show("Restoring…", error=False)

        def done(version: int) -> None:
            self.restoring = False
            self.version, self.restored = version, True
            self.query_one("#ov-message", Message).show(
                f"Restored: {line.label} has its SIS value again.", error=False
            )
            self.reload()

        def refused(exc: PatronDeskError) -> None:
            self.restoring = False
            text = exc.message
            if isinstance(exc, ValidationError):
                text = "; ".join(f"{line.label} {msg}" for msg in exc.errors.values())
            elif isinstance(exc, ConflictError):
                text += f" Close this list and reload the record ({hint(self.app, 'actions')}, R)."
            self.query_one("#ov-message", Message).show(f"Not restored: {text}")

        run_service(
            self,
            lambda: restore_original(self.account_id, self.version, line.field, self.actor).version,
            on_ok=done,
            on_error=refused,
            group="original-values-restore",
        )

    def action_close(self) -> None:
        if not self.restoring:
            self.dismiss(self.version if self.restored else None)
