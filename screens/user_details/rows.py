"""A table tab of User Details (contact rows, identifiers, notes, blocks, statistics,
attachments, proxies, roles): list, add, edit, duplicate, delete, activate / deactivate.

Every change is saved at once, in one transaction, through `models.rows`."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from models.errors import PatronDeskError
from models.rows import (
    add_row,
    delete_row,
    duplicate_row,
    list_rows,
    row_values,
    set_row_active,
    update_row,
)
from screens.user_details.context import RecordContext
from screens.user_details.fields import KINDS, display
from screens.user_details.row_form import RowFormScreen
from tui.keys import ROWS, bindings
from tui.table import RowTable
from tui.worker import run_service


class RowsTable(RowTable):
    BINDINGS = bindings(ROWS)

    def action_add(self) -> None:
        self.parent.action_add()

    def action_edit(self) -> None:
        self.parent.action_edit()

    def action_duplicate(self) -> None:
        self.parent.action_duplicate()

    def action_remove(self) -> None:
        self.parent.action_remove()

    def action_toggle_active(self) -> None:
        self.parent.action_toggle_active()


class RowsPane(Vertical):
    """One kind of row. Posts `Changed` after every saved change."""

    class Changed(Message):
        pass

    def __init__(self, kind: str, ctx: RecordContext) -> None:
        super().__init__(id=f"pane-{kind}", classes="rows-pane")
        self.spec = KINDS[kind]
        self.ctx = ctx
        self.ids: list[int] = []

    def compose(self) -> ComposeResult:
        hint = "n add · e/Enter edit · c duplicate · Delete delete"
        if self.spec.can_activate:
            hint += " · Space active on/off"
        yield Static(hint, classes="hint")
        yield RowsTable(id=f"table-{self.spec.kind}")

    def on_mount(self) -> None:
        table = self.query_one(RowsTable)
        table.set_columns([(label, width) for label, _, width in self.spec.columns])
        self.reload()

    def reload(self, cursor: int | None = None) -> None:
        """Read the rows in a worker (the newest reload wins) and show them, the cursor kept."""
        spec, ctx = self.spec, self.ctx

        def read() -> tuple[list[int], list[tuple[str, ...]]]:
            rows = list_rows(spec.kind, ctx.account_id, ctx.actor)
            cells = []
            for row in rows:
                values = {
                    **row.__data__,
                    **row_values(spec.kind, ctx.account_id, row.id, ctx.actor),
                }
                cells.append(
                    tuple(display(values.get(field), field) for _, field, _ in spec.columns)
                )
            return [row.id for row in rows], cells

        run_service(
            self,
            read,
            on_ok=lambda result: self._show(*result, cursor),
            on_error=lambda exc: self.app.notify(exc.message, severity="error"),
            group="rows",
            exclusive=True,
        )

    def _show(self, ids: list[int], cells: list[tuple[str, ...]], cursor: int | None) -> None:
        table = self.query_one(RowsTable)
        keep = table.cursor if cursor is None else cursor
        self.ids = ids
        table.set_rows(cells, keep)

    def _values(self, row_id: int) -> dict[str, Any]:
        return row_values(self.spec.kind, self.ctx.account_id, row_id, self.ctx.actor)

    def _selected(self) -> int | None:
        table = self.query_one(RowsTable)
        if not self.ids:
            self.app.notify(f"No {self.spec.title.lower()} row to act on.", severity="warning")
            return None
        return self.ids[table.cursor]

    def _saved(self, version: int) -> None:
        self.ctx.version = version
        self.reload()
        self.post_message(self.Changed())

    def _form(self, title: str, values: dict[str, Any], save) -> None:
        def done(saved: bool | None) -> None:
            if saved:
                self.reload()
                self.post_message(self.Changed())

        self.app.push_screen(
            RowFormScreen(self.spec, title, values, self.ctx.organization_id, save), done
        )

    def action_add(self) -> None:
        def save(data: dict[str, Any]) -> None:
            saved = add_row(self.spec.kind, self.ctx.account_id, self.ctx.version, data,
                            self.ctx.actor)  # fmt: skip
            self.ctx.version = saved.version

        self._form(f"Add: {self.spec.title}", {}, save)

    def action_edit(self) -> None:
        row_id = self._selected()
        if row_id is None:
            return

        def save(data: dict[str, Any]) -> None:
            saved = update_row(self.spec.kind, self.ctx.account_id, row_id, self.ctx.version,
                               data, self.ctx.actor)  # fmt: skip
            self.ctx.version = saved.version

        self._form(f"Edit: {self.spec.title}", self._values(row_id), save)

    def action_duplicate(self) -> None:
        row_id = self._selected()
        if row_id is None:
            return
        values = self._values(row_id)
        for name in ("preferred", "preferred_sms"):
            values[name] = False
        if self.spec.kind == "identifier":
            values["value"] = ""

        def save(data: dict[str, Any]) -> None:
            saved = duplicate_row(self.spec.kind, self.ctx.account_id, row_id, self.ctx.version,
                                  self.ctx.actor, changes=data)  # fmt: skip
            self.ctx.version = saved.version

        self._form(f"Duplicate: {self.spec.title}", values, save)

    def action_remove(self) -> None:
        from screens.confirm import ConfirmScreen

        row_id = self._selected()
        if row_id is None:
            return

        def answer(yes: bool | None) -> None:
            if not yes:
                return
            try:
                version = delete_row(self.spec.kind, self.ctx.account_id, row_id,
                                     self.ctx.version, self.ctx.actor)  # fmt: skip
            except PatronDeskError as exc:
                self.app.notify(exc.message, severity="error", timeout=8)
                return
            self._saved(version)

        self.app.push_screen(ConfirmScreen("Delete this row?", yes="Delete"), answer)

    def action_toggle_active(self) -> None:
        if not self.spec.can_activate:
            return
        row_id = self._selected()
        if row_id is None:
            return
        values = self._values(row_id)
        active = values.get("active", values.get("status") == "active")
        try:
            saved = set_row_active(self.spec.kind, self.ctx.account_id, row_id, self.ctx.version,
                                   not active, self.ctx.actor)  # fmt: skip
        except PatronDeskError as exc:
            self.app.notify(exc.message, severity="error", timeout=8)
            return
        self._saved(saved.version)
