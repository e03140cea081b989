"""The History tab: the user's audit events, newest first, by period."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Select, Static

from models.users.history import DEFAULT_PERIOD, PERIOD_LABELS, HistoryRow, history
from screens.user_details.context import RecordContext
from tui.table import RowTable
from tui.worker import run_service

# (label, key, width). Under 80 columns the narrow set leaves the old and new values room to be
# read (at 60 columns the new value was off screen); Enter shows the whole change either way.
FIXED = [("When (UTC)", "when", 16), ("Who", "who", 10), ("Source", "source", 6),
         ("Action", "action", 7), ("Field", "field", 14)]  # fmt: skip
NARROW = [("Date", "date", 10), ("Who", "who", 8), ("Field", "field", 12)]


def columns(width: int) -> list[tuple[str, str, int]]:
    """Old and new values share what the fixed columns leave."""
    fixed = FIXED if width >= 80 else NARROW
    spare = max(width - sum(w + 1 for *_, w in fixed) - 3, 16)
    return [*fixed, ("Old", "old", spare // 2), ("New", "new", spare - spare // 2)]


class HistoryPane(Vertical):
    def __init__(self, ctx: RecordContext) -> None:
        super().__init__(id="pane-history")
        self.ctx = ctx
        self.period = DEFAULT_PERIOD
        self.events: list[HistoryRow] = []
        self.columns = columns(80)

    def compose(self) -> ComposeResult:
        with Horizontal(id="history-bar"):
            yield Select(
                [(label, key) for key, label in PERIOD_LABELS.items()],
                value=DEFAULT_PERIOD,
                allow_blank=False,
                id="history-period",
                compact=True,
            )
            yield Static("⏎ the whole change (values cut to the width)", id="history-hint")
        yield RowTable(id="history-table")

    def on_mount(self) -> None:
        self.reload()

    def on_resize(self) -> None:
        self.columns = columns(self.size.width)
        table = self.query_one("#history-table", RowTable)
        table.set_columns([(label, width) for label, _, width in self.columns])
        self._fill(table.cursor)

    @on(Select.Changed, "#history-period")
    def _period(self, event: Select.Changed) -> None:
        self.period = str(event.value)
        self.reload()

    def reload(self) -> None:
        """Read the events of the period in a worker (the newest reading wins), then show them."""
        run_service(
            self,
            history,
            self.ctx.account_id,
            self.ctx.actor,
            self.period,
            on_ok=self._read,
            on_error=lambda exc: self.app.notify(exc.message, severity="error"),
            group="history-read",
            exclusive=True,
        )

    def _read(self, rows: list[HistoryRow]) -> None:
        self.events = rows
        self._fill(0)

    def _fill(self, cursor: int) -> None:
        self.query_one("#history-table", RowTable).set_rows(
            [self._cells(r) for r in self.events], cursor
        )

    def _cells(self, r: HistoryRow) -> tuple[str, ...]:
        values = {
            "when": f"{r.at:%Y-%m-%d %H:%M}",
            "date": f"{r.at:%Y-%m-%d}",
            "who": r.actor,
            "source": r.source,
            "action": r.action.replace("_", " "),
            "field": _field(r),
            "old": r.old or "",
            "new": r.new or "",
        }
        return tuple(values[key] for _, key, _ in self.columns)

    @on(RowTable.Selected, "#history-table")
    def _show(self, event: RowTable.Selected) -> None:
        """The whole event: a thin terminal cuts the old and new values."""
        from screens.confirm import InfoScreen

        if 0 <= event.row < len(self.events):
            self.app.push_screen(InfoScreen("Change", event_text(self.events[event.row])))


def _field(r: HistoryRow) -> str:
    return f"{r.entity}.{r.field}" if r.entity not in ("account", "person") else r.field


def event_text(r: HistoryRow) -> str:
    """One audit event in full, a line per part."""
    lines = [
        f"When:    {r.at:%Y-%m-%d %H:%M:%S} (UTC)",
        f"Who:     {r.actor} ({r.source})",
        f"Action:  {r.action.replace('_', ' ')}",
        f"Field:   {_field(r)}"
        + (f" (#{r.entity_id})" if r.entity_id is not None and "." in _field(r) else ""),
        f"Old:     {r.old if r.old is not None else '—'}",
        f"New:     {r.new if r.new is not None else '—'}",
    ]
    return "\n".join(lines)
