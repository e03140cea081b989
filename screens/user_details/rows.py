"""A table tab of User Details (contact rows, identifiers, notes, blocks, statistics,
attachments, proxies, roles): list, add, edit, duplicate, delete, activate / deactivate; on
the Attachments tab also open the attachment (`screens.attachment_viewer`) and save it to a file
(`screens.attachment_save`).

Every change is saved at once, in one transaction, through `models.users.rows`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from models.errors import PatronDeskError
from models.users.idgen import generate_identifier
from models.users.rows import (
    add_row,
    delete_row,
    duplicate_row,
    list_rows,
    row_values,
    set_row_active,
    update_row,
)
from screens.user_details.context import RecordContext
from screens.user_details.fields import KINDS, display, for_record_type
from screens.user_details.identifier_form import IdentifierFormScreen
from screens.user_details.row_form import RowFormScreen
from tui.keys import ATTACHMENTS, ROWS, bindings
from tui.keys import hint as key_hint
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


class AttachmentsTable(RowsTable):
    """The Attachments tab's table: the row keys, and open / save the attachment."""

    BINDINGS = bindings(ATTACHMENTS)

    def action_view(self) -> None:
        self.parent.action_view()

    def action_save_file(self) -> None:
        self.parent.action_save_file()


class RowsPane(Vertical):
    """One kind of row. Posts `Changed` after every saved change."""

    class Changed(Message):
        pass

    def __init__(self, kind: str, ctx: RecordContext) -> None:
        super().__init__(id=f"pane-{kind}", classes="rows-pane")
        self.spec = KINDS[kind]
        self.ctx = ctx
        self.ids: list[int] = []
        self.names: list[str] = []  # the attachments' names (the viewer's title)
        self.changing = False  # a delete or an active on/off is being saved

    def _hint(self) -> str:
        hint = "n add · e/Enter edit · c duplicate · Delete delete"
        if self.spec.can_activate:
            hint += " · Space active on/off"
        if self.spec.kind == "attachment":
            view = key_hint(self.app, "attachments.view")
            hint += f" · {view} open · {key_hint(self.app, 'attachments.save')} save to a file"
        return hint

    def compose(self) -> ComposeResult:
        yield Static(self._hint(), classes="hint")
        table = AttachmentsTable if self.spec.kind == "attachment" else RowsTable
        yield table(id=f"table-{self.spec.kind}")

    def on_mount(self) -> None:
        table = self.query_one(RowsTable)
        table.set_columns([(label, width) for label, _, width in self.spec.columns])
        self.reload()

    def reload(self, cursor: int | None = None) -> None:
        """Read the rows in a worker (the newest reload wins) and show them, the cursor kept."""
        spec, ctx = self.spec, self.ctx

        def read() -> tuple[list[int], list[str], list[tuple[str, ...]]]:
            rows = list_rows(spec.kind, ctx.account_id, ctx.actor)
            # A block or a role by its name ("Lost card", "Circulation desk operator"), as
            # the form offers it; a code no longer offered (retired) as stored.
            names = {
                f.name: {value: label for label, value in f.options(ctx.organization_id)}
                for f in spec.form
                if f.named and f.options is not None
            }
            cells = []
            for row in rows:
                values = {
                    **row.__data__,
                    **row_values(spec.kind, ctx.account_id, row.id, ctx.actor),
                }
                cells.append(
                    tuple(
                        display(names.get(field, {}).get(values.get(field), values.get(field)),
                                field)
                        for _, field, _ in spec.columns
                    )
                )  # fmt: skip
            return [row.id for row in rows], [str(getattr(r, "name", "")) for r in rows], cells

        run_service(
            self,
            read,
            on_ok=lambda result: self._show(*result, cursor),
            on_error=lambda exc: self.app.notify(exc.message, severity="error"),
            group="rows",
            exclusive=True,
        )

    def _show(
        self, ids: list[int], names: list[str], cells: list[tuple[str, ...]], cursor: int | None
    ) -> None:
        table = self.query_one(RowsTable)
        keep = table.cursor if cursor is None else cursor
        self.ids, self.names = ids, names
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

    def _form(
        self,
        title: str,
        save: Callable[[dict[str, Any]], int],
        load: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        """The row form: `save(values)` runs in its worker and returns the account's new
        version; `load()`, in a worker too, reads the values of the row shown."""

        def done(saved: bool | None) -> None:
            if saved:
                self.reload()
                self.post_message(self.Changed())

        def saved(version: int) -> None:
            self.ctx.version = version

        spec = for_record_type(self.spec, self.ctx.record_type)
        args = (spec, title, {}, self.ctx.organization_id, save)
        if self.spec.kind == "identifier":  # Generate fills the value (ID-generation setting)
            account_id, actor = self.ctx.account_id, self.ctx.actor
            form: RowFormScreen = IdentifierFormScreen(
                *args,
                load=load,
                saved=saved,
                generate=lambda: generate_identifier(account_id, actor),
            )
        else:
            form = RowFormScreen(*args, load=load, saved=saved)
        self.app.push_screen(form, done)

    def action_add(self) -> None:
        kind, ctx = self.spec.kind, self.ctx

        def save(data: dict[str, Any]) -> int:
            return add_row(kind, ctx.account_id, ctx.version, data, ctx.actor).version

        self._form(f"Add: {self.spec.title}", save)

    def action_edit(self) -> None:
        row_id = self._selected()
        if row_id is None:
            return
        kind, ctx = self.spec.kind, self.ctx

        def save(data: dict[str, Any]) -> int:
            return update_row(kind, ctx.account_id, row_id, ctx.version, data, ctx.actor).version

        self._form(
            f"Edit: {self.spec.title}",
            save,
            load=lambda: row_values(kind, ctx.account_id, row_id, ctx.actor),
        )

    def action_duplicate(self) -> None:
        row_id = self._selected()
        if row_id is None:
            return
        kind, ctx = self.spec.kind, self.ctx

        def load() -> dict[str, Any]:
            values = row_values(kind, ctx.account_id, row_id, ctx.actor)
            for name in ("preferred", "preferred_sms"):
                values[name] = False
            if kind == "identifier":
                values["value"] = ""
            return values

        def save(data: dict[str, Any]) -> int:
            return duplicate_row(kind, ctx.account_id, row_id, ctx.version, ctx.actor,
                                 changes=data).version  # fmt: skip

        self._form(f"Duplicate: {self.spec.title}", save, load=load)

    def action_view(self) -> None:
        """Open the attachment under the cursor in the viewer (it reads it in a worker)."""
        from screens.attachment_viewer import AttachmentViewerScreen

        row_id = self._selected()
        if row_id is None:
            return
        name = self.names[self.ids.index(row_id)]
        self.app.push_screen(
            AttachmentViewerScreen(self.ctx.account_id, row_id, name, self.ctx.actor)
        )

    def action_save_file(self) -> None:
        """Save the attachment under the cursor to a file; the save is in History."""
        from screens.attachment_save import SaveAttachmentScreen

        row_id = self._selected()
        if row_id is None:
            return

        def done(written: object) -> None:
            if written is not None:
                self.post_message(self.Changed())  # History shows the save

        name = self.names[self.ids.index(row_id)]
        self.app.push_screen(SaveAttachmentScreen(row_id, name, self.ctx.actor), done)

    def action_remove(self) -> None:
        from screens.confirm import ConfirmScreen

        row_id = self._selected()
        if row_id is None:
            return
        kind, ctx = self.spec.kind, self.ctx

        def answer(yes: bool | None) -> None:
            if yes:
                self._change(delete_row, kind, ctx.account_id, row_id, ctx.version, ctx.actor)

        self.app.push_screen(ConfirmScreen("Delete this row?", yes="Delete"), answer)

    def action_toggle_active(self) -> None:
        if not self.spec.can_activate:
            return
        row_id = self._selected()
        if row_id is None:
            return
        kind, ctx = self.spec.kind, self.ctx
        self._change(toggle_row, kind, ctx.account_id, row_id, ctx.version, ctx.actor)

    def _change(self, service: Callable[..., int], *args: Any) -> None:
        """A change without a form (delete, active on/off), in a worker; the table says
        "Saving…" meanwhile. The answer is the account's new version."""
        if self.changing:  # one at a time: the next one needs this one's version
            self.app.notify("Saving… wait for the last change.", severity="warning")
            return
        self.changing = True
        hint = self.query_one(".hint", Static)
        hint.update(self._hint() + " · Saving…")

        def done() -> None:
            self.changing = False
            hint.update(self._hint())

        def ok(version: int) -> None:
            done()
            self._saved(version)

        def refused(exc: PatronDeskError) -> None:
            done()
            self.app.notify(exc.message, severity="error", timeout=8)

        run_service(self, service, *args, on_ok=ok, on_error=refused, group="rows-change")


def toggle_row(kind: str, account_id: int, row_id: int, version: int, actor) -> int:  # noqa: ANN001
    """Active on/off for a row (identifiers, blocks, roles), read then changed (in a worker);
    the account's new version."""
    values = row_values(kind, account_id, row_id, actor)
    active = values.get("active", values.get("status") == "active")
    return set_row_active(kind, account_id, row_id, version, not active, actor).version
