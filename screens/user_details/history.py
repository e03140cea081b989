"""The History tab: the user's audit events, newest first, by period."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Select

from models.errors import PatronDeskError
from models.history import DEFAULT_PERIOD, PERIOD_LABELS, history
from screens.user_details.context import RecordContext
from tui.table import RowTable

FIXED = [("When (UTC)", 16), ("Who", 10), ("Source", 6), ("Action", 7), ("Field", 14)]


def columns(width: int) -> list[tuple[str, int]]:
    """Old and new values share what the fixed columns leave."""
    spare = max(width - sum(w + 1 for _, w in FIXED) - 3, 16)
    return [*FIXED, ("Old", spare // 2), ("New", spare - spare // 2)]


class HistoryPane(Vertical):
    def __init__(self, ctx: RecordContext) -> None:
        super().__init__(id="pane-history")
        self.ctx = ctx
        self.period = DEFAULT_PERIOD

    def compose(self) -> ComposeResult:
        yield Select(
            [(label, key) for key, label in PERIOD_LABELS.items()],
            value=DEFAULT_PERIOD,
            allow_blank=False,
            id="history-period",
            compact=True,
        )
        yield RowTable(id="history-table")

    def on_mount(self) -> None:
        self.reload()

    def on_resize(self) -> None:
        self.query_one("#history-table", RowTable).set_columns(columns(self.size.width))

    @on(Select.Changed, "#history-period")
    def _period(self, event: Select.Changed) -> None:
        self.period = str(event.value)
        self.reload()

    def reload(self) -> None:
        try:
            rows = history(self.ctx.account_id, self.ctx.actor, self.period)
        except PatronDeskError as exc:
            self.app.notify(exc.message, severity="error")
            return
        self.query_one("#history-table", RowTable).set_rows(
            [
                (
                    f"{r.at:%Y-%m-%d %H:%M}",
                    r.actor,
                    r.source,
                    r.action.replace("_", " "),
                    f"{r.entity}.{r.field}" if r.entity not in ("account", "person") else r.field,
                    r.old or "",
                    r.new or "",
                )
                for r in rows
            ]
        )
