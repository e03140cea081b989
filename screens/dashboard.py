"""The dashboard (issue 25, item 1): the figures of `models.dashboard` as charts, one at a time,
with the list of the chart's bars beside it.

Left and Right go from chart to chart (the tabs say which), Up and Down move in the list of
bars, F5 reads the chart again, Enter on a bar that counts users (a user group, a record type,
a week of expiries, a block type) goes back to Find and Manage Users filtered to them: the screen
is dismissed with the bar's `Target`. Nothing needs a mouse.

The charts are drawn by textual-plotext (Plotext in a Textual widget). No stored text reaches
it: a bar of a user group or a block type is numbered in the chart and named in the list, whose
cells go through `printable` (tui/table.py), as the title and the note through `escape`.
"""

from __future__ import annotations

import datetime as dt
import math

from textual import on
from textual.app import ComposeResult, RenderResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Static, Tab, Tabs
from textual_plotext import PlotextPlot

from models.dashboard import CHART_IDS, Chart, Dashboard, Target, chart, dashboard
from models.errors import PatronDeskError
from models.fees.money import format_money, to_decimal
from models.text import printable
from screens.confirm import CoveredKeys
from tui.keys import DASHBOARD, DASHBOARD_BARS, bindings
from tui.screen import KeepStyles
from tui.table import RowTable, fit
from tui.widgets import KeyBar, escape
from tui.worker import run_service

TAB_LABELS = {
    "groups": "Groups",
    "record_types": "Record types",
    "expiring": "Expiring",
    "registrations": "New",
    "logins": "Logins",
    "blocks": "Blocks",
    "balance": "Balance",
    "letters": "Letters",
}
# Charts over time are labelled by their periods; the others by the bar's number in the list.
TIMELINE = frozenset({"expiring", "registrations", "logins", "letters"})
WIDE = 110  # columns from which the list of bars shows each bar's share
# From this size on (120x40 is one) two charts are drawn side by side, the list of bars under
# them: the chart chosen and its companion (`COMPANION`), which follows the choice.
TWO_CHARTS = (118, 34)
COMPANION = {
    "groups": "record_types",
    "record_types": "groups",
    "expiring": "registrations",
    "registrations": "logins",
    "logins": "registrations",
    "blocks": "balance",
    "balance": "blocks",
    "letters": "logins",
}


class BarTable(RowTable):
    """The list of a chart's bars: Enter finds the users of the bar under the cursor."""

    BINDINGS = bindings(DASHBOARD_BARS)


def _ticks(top: float, *, whole: bool = True) -> list[float]:
    """Up to five round y-axis ticks from 0 to at least `top` (`whole`: counts, a step of at
    least 1)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if whole:
        step = max(1, math.ceil(step))
    count = math.ceil(top / step)
    return [i * step for i in range(count + 1)]


def _tick_label(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 10_000:
        return f"{value / 1_000:g}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:g}"


def described(target: Target, label: str) -> str:
    """What Find and Manage Users says it shows for a bar ("users with the block Lost card")."""
    if target.record_type is not None:
        return f"record type {label}"
    if target.expiry_from is not None and target.expiry_to is not None:
        last = target.expiry_to - dt.timedelta(days=1)
        return f"active accounts expiring {target.expiry_from:%Y-%m-%d} to {last:%Y-%m-%d}"
    if target.block_definition_id is not None:
        return f"users with the block {label}"
    return f"user group {label}"


class ChartPlot(PlotextPlot):
    """A chart drawn afresh at each render, for the size it has then: the labels of the time
    axis are chosen here (every one that fits), not left to Plotext, whose choice depended on
    the sizes the widget had been drawn at before (a snapshot changed from run to run)."""

    def __init__(self, *, named: bool = False, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.chart: Chart | None = None
        # Bars named under the axis (cut to their room, through `printable`), not numbered:
        # the companion chart, which has no list beside it.
        self.named = named

    def render(self) -> RenderResult:
        c = self.chart
        plt = self.plt
        plt.clear_figure()
        if c is not None:
            self._draw(c)
        return super().render()

    def _draw(self, c: Chart) -> None:
        plt = self.plt
        count = len(c.labels)
        timeline = c.id in TIMELINE
        scale = (lambda v: float(to_decimal(v, c.currency))) if c.currency else float
        series = [[scale(v) for v in s.values] for s in c.series]
        if not count:
            series = [[0.0] for _ in c.series] or [[0.0]]
            count = 1
        positions = list(range(1, count + 1))
        if len(series) == 1:
            plt.bar(positions, series[0], width=0.6)
        else:
            plt.multiple_bar(positions, series, labels=[s.name for s in c.series])
        inner = max(self.size.width - 8, 1)
        if timeline:
            names = list(c.labels)
        elif self.named:
            room = max(inner // count - 1, 3)
            names = [fit(printable(n), room).rstrip() for n in c.labels]
        else:
            names = [str(p) for p in positions]
        if not c.labels:
            names = ["-"]
        # Every `step`-th label, so that they never run into each other.
        widest = max(len(n) for n in names) + 1
        step = max(1, math.ceil(widest * count / inner))
        shown = [i for i in range(count) if i % step == 0]
        plt.xticks([positions[i] for i in shown], [names[i] for i in shown])
        top = max((v for s in series for v in s), default=0.0)
        ticks = _ticks(top, whole=not c.currency)
        plt.yticks(ticks, [_tick_label(t) for t in ticks])
        plt.ylim(0, ticks[-1])
        if c.currency:
            plt.ylabel(c.currency)


class DashboardScreen(KeepStyles, CoveredKeys, Screen[tuple[Target, str] | None]):
    BINDINGS = bindings(DASHBOARD)
    AUTO_FOCUS = "#dashboard-bars"

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, Chart] = {}
        self.current = CHART_IDS[0]
        self.reading = True

    def compose(self) -> ComposeResult:
        yield Header()
        yield Tabs(
            *(Tab(TAB_LABELS[cid], id=f"tab-{cid}") for cid in CHART_IDS),
            id="dashboard-tabs",
        )
        yield Static("Reading the figures…", id="dashboard-title")
        with Vertical(id="dashboard-body"):
            with Horizontal(id="dashboard-charts"):
                yield ChartPlot(id="dashboard-plot")
                with Vertical(id="dashboard-side"):
                    yield Static("", id="dashboard-side-title")
                    yield ChartPlot(named=True, id="dashboard-side-plot")
            yield BarTable(id="dashboard-bars")
        yield Static("", id="dashboard-note", classes="hint")
        yield KeyBar()

    def on_mount(self) -> None:
        self._lay_out()
        self._columns()
        self._read_all()

    def on_resize(self) -> None:
        if not self.is_mounted:
            return
        self._lay_out()
        if self.current in self.charts:
            self._show(self.charts[self.current], keep_cursor=True)

    def _lay_out(self) -> None:
        """Two charts and the list under them from TWO_CHARTS on; else one, the list beside."""
        width, height = TWO_CHARTS
        self.set_class(self.size.width >= width and self.size.height >= height, "-two-charts")

    # --- reading ----------------------------------------------------------------------------------

    def _read_all(self) -> None:
        self.reading = True
        run_service(
            self,
            dashboard,
            self.app.session.actor,
            on_ok=self._loaded,
            on_error=self._failed,
            group="dashboard-read",
            exclusive=True,
        )

    def _loaded(self, board: Dashboard) -> None:
        self.reading = False
        self.charts = {c.id: c for c in board.charts}
        self._show(self.charts[self.current])

    def _failed(self, exc: PatronDeskError) -> None:
        self.reading = False
        self.query_one("#dashboard-title", Static).update(escape(exc.message))
        self.notify(exc.message, severity="error", timeout=8)

    def action_refresh_chart(self) -> None:
        """F5: the chart on screen read again (the others keep what they showed)."""
        if not self.charts:
            self._read_all()
            return
        chart_id = self.current
        self.query_one("#dashboard-note", Static).update("Reading the figures again…")

        def answered(fresh: Chart) -> None:
            self.charts[fresh.id] = fresh
            if self.current == fresh.id:
                self._show(fresh, keep_cursor=True)
            self.notify(f"{fresh.title}: read again.", timeout=3)

        run_service(
            self,
            chart,
            self.app.session.actor,
            chart_id,
            on_ok=answered,
            on_error=self._failed,
            group="dashboard-read",
            exclusive=True,
        )

    # --- showing ----------------------------------------------------------------------------------

    def _columns(
        self, rows: list[tuple[str, ...]] | None = None, value_name: str = "Value"
    ) -> None:
        """The list's columns: the bar's number, its name, its value (as wide as the widest,
        a money amount included) and, from WIDE columns on, its share of the total."""
        bars = self.query_one(BarTable)
        wide = self.size.width >= WIDE
        value = min(max([5, len(value_name), *(len(r[2]) for r in rows or [])]), 18)
        # Narrow: the list keeps 34 columns, the name what the value leaves (at least 16).
        name = 28 if wide else max(16, 25 - value)
        columns = [("#", 2), ("Bar", name), (value_name, value)]
        if wide:
            columns.append(("Share", 5))
        bars.set_columns(columns)
        # Each cell and its gap, the position mark, the border.
        if self.has_class("-two-charts"):
            bars.styles.width = "1fr"
        else:
            bars.styles.width = sum(w for _, w in columns) + len(columns) + 2

    def _show(self, c: Chart, *, keep_cursor: bool = False) -> None:
        self.query_one("#dashboard-tabs", Tabs).active = f"tab-{c.id}"
        self.query_one("#dashboard-title", Static).update(f"[b]{escape(c.title)}[/b]")
        bars = self.query_one(BarTable)
        cursor = bars.cursor_row if keep_cursor else 0
        rows = self._rows(c)
        # Several series: the value column names them ("Sent / Failed").
        self._columns(rows, " / ".join(s.name for s in c.series) if len(c.series) > 1 else "Value")
        bars.set_rows(rows, cursor)
        note = c.note
        if c.empty:
            note = "Nothing to show. " + note
        if any(t is not None for t in c.targets):
            note += " Enter on a bar: its users in Find Users."
        self.query_one("#dashboard-note", Static).update(escape(note))
        self._draw(c)

    def _value(self, c: Chart, minor: int) -> str:
        return format_money(minor, c.currency) if c.currency else f"{minor:,}"

    def _rows(self, c: Chart) -> list[tuple[str, ...]]:
        wide = self.size.width >= WIDE
        rows: list[tuple[str, ...]] = []
        if len(c.series) == 1:
            values = c.series[0].values
            total = sum(values) or 1
            for i, (label, value) in enumerate(zip(c.labels, values, strict=True)):
                row = (str(i + 1), label, self._value(c, value))
                if wide:
                    row += (f"{100 * value / total:.0f}%",)
                rows.append(row)
            return rows
        # Several series (per month): one row per month, the series side by side.
        for i, label in enumerate(c.labels):
            values = " / ".join(f"{s.values[i]:,}" for s in c.series)
            rows.append((str(i + 1), label, values) + (("",) if wide else ()))
        return rows

    def _draw(self, c: Chart) -> None:
        plot = self.query_one("#dashboard-plot", ChartPlot)
        plot.chart = c
        plot.refresh()
        side = self.charts.get(COMPANION[c.id])
        if side is not None:
            self.query_one("#dashboard-side-title", Static).update(f"[b]{escape(side.title)}[/b]")
            side_plot = self.query_one("#dashboard-side-plot", ChartPlot)
            side_plot.chart = side
            side_plot.refresh()

    # --- keys -------------------------------------------------------------------------------------

    def action_chart(self, step: int) -> None:
        index = (CHART_IDS.index(self.current) + step) % len(CHART_IDS)
        self.current = CHART_IDS[index]
        if self.current in self.charts:
            self._show(self.charts[self.current])

    @on(Tabs.TabActivated, "#dashboard-tabs")
    def _tab(self, event: Tabs.TabActivated) -> None:
        chart_id = (event.tab.id or "").removeprefix("tab-")
        if chart_id in CHART_IDS and chart_id != self.current:
            self.current = chart_id
            if chart_id in self.charts:
                self._show(self.charts[chart_id])
            self.query_one(BarTable).focus()

    def action_open_bar(self) -> None:
        c = self.charts.get(self.current)
        if c is None:
            return
        row = self.query_one(BarTable).cursor_row
        target = c.targets[row] if 0 <= row < len(c.targets) else None
        if target is None:
            self.notify("No list of users fits this bar.", severity="warning", timeout=4)
            return
        self.dismiss((target, described(target, c.labels[row])))

    def action_back(self) -> None:
        self.dismiss(None)
