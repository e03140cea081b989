"""The members of a set (issue 23), in Find and Manage Users' list (`tui.table.RowTable` with
its columns, `screens.find_users.row_cells`): a logical set as its search finds them now, an
itemized one by account. Pages of `models.jobs.sets.set_members` are read in a worker as the
cursor nears the end. Enter opens the user, `j` runs a job on the set, Escape goes back."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Header, Static

from models.errors import PatronDeskError
from models.jobs.sets import LOGICAL, MemberPage, SetInfo, set_members
from models.search.engine import UserRow
from models.text import plural
from screens.confirm import CoveredKeys
from screens.find_users import COLUMNS, EDGE, GAP, column_widths, row_cells
from tui.keys import SET_MEMBERS, bindings
from tui.screen import KeepStyles
from tui.table import RowTable
from tui.widgets import KeyBar, plain
from tui.worker import run_service


class MembersTable(RowTable):
    """Find Users' list of a set's members; the screen's keys are its own too."""

    BINDINGS = bindings(SET_MEMBERS)


class SetMembersScreen(KeepStyles, CoveredKeys, Screen[None]):
    BINDINGS = bindings(SET_MEMBERS)
    AUTO_FOCUS = "#members"

    def __init__(self, info: SetInfo) -> None:
        super().__init__()
        self.info = info
        self.rows: list[UserRow] = []
        self.next_cursor: object | None = None  # the next page's; None: every page read
        self.reading = True
        self.widths = column_widths(80)

    @property
    def accepting_keys(self) -> bool:
        return not (self.reading and not self.rows)

    def compose(self) -> ComposeResult:
        kind = "a search, as it finds them now" if self.info.kind == LOGICAL else "itemized"
        yield Header()
        yield Static(plain(f"Set {self.info.name} ({kind})"), id="members-title",
                     classes="screen-title")  # fmt: skip
        yield MembersTable(id="members", gap=GAP)
        yield Static("Reading the members…", id="members-count", classes="hint")
        yield KeyBar()

    def on_mount(self) -> None:
        self._lay_out(self.size.width)
        self._read(None)

    def on_resize(self, event) -> None:  # noqa: ANN001
        if self.is_mounted:
            self._lay_out(event.size.width)
            self._fill(self.query_one("#members", RowTable).cursor)

    def _lay_out(self, width: int) -> None:
        self.widths = column_widths(width)
        self.query_one("#members", RowTable).set_columns(
            [(label, self.widths[key]) for label, key, _ in COLUMNS if key in self.widths]
        )

    def _read(self, after: object | None) -> None:
        self.reading = True
        run_service(
            self,
            set_members,
            self.info.set_id,
            self.app.session.actor,
            after=after,
            on_ok=self._page,
            on_error=self._failed,
            group="set-members",
            exclusive=True,
        )

    def _page(self, page: MemberPage) -> None:
        self.reading = False
        self.rows += page.rows
        self.next_cursor = page.cursor
        self._fill(self.query_one("#members", RowTable).cursor)
        more = "+" if self.next_cursor is not None else ""
        text = f"{plural(len(self.rows), 'member')}{more} shown" if self.rows else "No members."
        self.query_one("#members-count", Static).update(plain(text))

    def _fill(self, cursor: int) -> None:
        table = self.query_one("#members", RowTable)
        table.set_rows([row_cells(row, self.widths) for row in self.rows], cursor)

    def _failed(self, exc: PatronDeskError) -> None:
        self.reading = False
        self.query_one("#members-count", Static).update(plain(exc.message))

    @on(RowTable.Highlighted, "#members")
    def _moved(self, event: RowTable.Highlighted) -> None:
        if not self.reading and self.next_cursor is not None and event.row >= len(self.rows) - EDGE:
            self._read(self.next_cursor)

    @on(RowTable.Selected, "#members")
    def action_open_user(self) -> None:
        table = self.query_one("#members", RowTable)
        if self.rows and 0 <= table.cursor < len(self.rows):
            self.app.open_user(self.rows[table.cursor].account_id)

    def action_run_job(self) -> None:
        from screens.job_run import start_job

        start_job(self.app, self.info.set_id, self.info.name)

    def action_back(self) -> None:
        self.dismiss(None)
