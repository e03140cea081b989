"""The Fines/fees tab (accounts with the Patron role): balances and every fee, read-only
until the fees issue brings its actions."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from models.errors import PatronDeskError
from models.money import format_money
from models.profile import fee_summary
from screens.user_details.context import RecordContext
from tui.table import RowTable

COLUMNS = [("Created", 10), ("Type", 16), ("Status", 9), ("Title", 18), ("Barcode", 12),
           ("Original", 11), ("Balance", 11), ("Owner", 12)]  # fmt: skip


class FeesPane(Vertical):
    def __init__(self, ctx: RecordContext) -> None:
        super().__init__(id="pane-fees")
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        yield Static("", id="fees-summary")
        yield RowTable(id="fees-table")

    def on_mount(self) -> None:
        self.query_one("#fees-table", RowTable).set_columns(COLUMNS)
        self.reload()

    def reload(self) -> None:
        try:
            s = fee_summary(self.ctx.account_id, self.ctx.actor)
        except PatronDeskError as exc:
            self.query_one("#fees-summary", Static).update(exc.message)
            return
        money = lambda m: format_money(m, s.currency)  # noqa: E731
        self.query_one("#fees-summary", Static).update(
            f"Active balance {money(s.active_minor)} · disputed {money(s.disputed_minor)} · "
            f"transferred {money(s.transferred_minor)}"
        )
        self.query_one("#fees-table", RowTable).set_rows(
            [
                (
                    f"{f.created_at:%Y-%m-%d}",
                    f.fee_type,
                    f.status,
                    f.title,
                    f.item_barcode,
                    money(f.original_minor),
                    money(f.balance_minor),
                    f.owner,
                )
                for f in s.lines
            ]
        )
