"""Find and Manage Users: the screen staff live in all day (domain.md section 4).

One search box searches as you type (coalesced: one query in flight, then the latest). The
table holds a window of at most `MAX_PAGES` pages; moving past either end fetches the next page
by keyset cursor and drops the far one, so a million rows scroll with flat memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Input, Select, Static, Tab, Tabs
from textual.worker import Worker

from models.access.permissions import Action
from models.config.codes import code_choices
from models.dashboard import Target
from models.enums import AccountType, Role, Status
from models.errors import PatronDeskError
from models.search.engine import (
    CONTAINS_PREFIX,
    BackPage,
    Page,
    UserQuery,
    UserRow,
    contains_text,
    count_users,
    page_before,
    search_users,
)
from models.search.query import TAB_RECORD_TYPES
from screens.confirm import CoveredKeys
from tui.keys import FIND_USERS, RESULTS, SEARCH_BOX, bindings, hint
from tui.screen import KeepStyles
from tui.table import RowTable
from tui.widgets import KeyBar, LineInput, escape, plain
from tui.worker import close_thread_connection, run_service

PAGE = 50
MAX_PAGES = 4  # rows in the table: at most PAGE * MAX_PAGES
EDGE = 5  # fetch the next page when the cursor comes this close to the window's end
COUNT_CAP = 1_000  # "1,000+ users": an exact count of a broad query costs as much as a page

ACCOUNT_TYPES = {
    AccountType.INTERNAL.value: "Internal",
    AccountType.EXTERNAL.value: "External",
    AccountType.INTERNAL_EXTERNAL_AUTH.value: "Int+ext",
}
RECORD_TYPES = {
    "staff": "Staff",
    "public": "Public",
    "contact": "Contact",
    "organization": "Org.",
    "researcher": "Resrch.",
}
STATUS_CHOICES = [
    ("Any status", "any"),
    ("Active, not expired", "active"),
    ("Inactive or expired", "inactive"),
]
# The tab that shows a record type (a dashboard bar of that type opens it).
TYPE_TAB = {t: tab for tab, types in TAB_RECORD_TYPES.items() if types is not None for t in types}
# (label, key, width; None: a share of what is left, as a weight)
COLUMNS = (
    ("", "active", 1),
    ("Name", "name", None),
    ("Identifier", "primary_id", 12),  # from WIDE columns on (ID_MIN, growing to ID_MAX)
    ("Account", "account_type", 8),
    ("Record", "record_type", 7),
    ("Job category", "job_category", None),
    ("User group", "user_group", None),
    ("Expires", "expiry", 10),
    ("B", "blocked", 1),
    ("N", "notes", 1),
    ("R", "researcher", 1),
)
SHARES = {"name": 5, "job_category": 2, "user_group": 3}
GAP = 1  # spaces after each column (the table's own cell padding is off)
# On a narrow terminal these columns go, in this order, until the name has NAME_MIN cells:
# a name cut to "Müller,…" finds nobody at the desk (60 columns showed 8 cells of it).
OPTIONAL = ("account_type", "job_category", "record_type")
NAME_MIN = 18
WIDE = 100  # the identifier column from this width on
ID_MIN, ID_MAX = 12, 24


def column_widths(total: int) -> dict[str, int]:
    """The width of each column shown (a column left out is not in the answer). Every column
    fits the terminal: fixed columns keep their width, name, job category and user group share
    the rest (the name gets half). From `WIDE` columns on the primary identifier is shown too,
    `ID_MIN` cells wide, growing with the width up to `ID_MAX`."""
    dropped: set[str] = set() if total >= WIDE else {"primary_id"}
    widths = _widths(total, dropped)
    for key in OPTIONAL:
        if widths["name"] >= NAME_MIN:
            break
        dropped.add(key)
        widths = _widths(total, dropped)
    return widths


def _widths(total: int, dropped: set[str]) -> dict[str, int]:
    kept = [(key, w) for _, key, w in COLUMNS if key not in dropped]
    fixed = sum((w or 0) + GAP for _, w in kept) + sum(GAP for _, w in kept if not w)
    spare = max(total - fixed - 2, 12)  # 2: the vertical scrollbar
    shares = {key: share for key, share in SHARES.items() if key not in dropped}
    weights = sum(shares.values())
    widths = {key: w for key, w in kept if w}
    if "primary_id" in widths:  # a cell more for every 8 spare, until it holds ID_MAX
        grow = min(ID_MAX - ID_MIN, max(0, (spare - 60) // 8))
        widths["primary_id"] += grow
        spare -= grow
    for key, share in shares.items():
        widths[key] = max(4, spare * share // weights)
    return widths


def row_cells(row: UserRow, widths: dict[str, int]) -> tuple[str, ...]:
    """The cells of one user in the list, for the columns `widths` keeps (`column_widths`):
    Find Users' list and a set's members (screens/set_members.py) show users alike."""
    values = {
        "active": "●" if row.active else "○",
        "name": row.name,
        "primary_id": row.primary_id,
        "account_type": ACCOUNT_TYPES.get(row.account_type, row.account_type),
        "record_type": RECORD_TYPES.get(row.record_type, row.record_type),
        "job_category": row.job_category,
        "user_group": row.user_group,
        "expiry": row.expiry_date.isoformat() if row.expiry_date else "",
        "blocked": "B" if row.blocked else "",
        "notes": "N" if row.has_notes else "",
        "researcher": "R" if row.researcher else "",
    }
    return tuple(values[key] for _, key, _ in COLUMNS if key in widths)


def read_page(
    organization_id: int,
    query: UserQuery,
    scope,
    tail: bool,
    key: object | None,  # noqa: ANN001
) -> Page | BackPage:
    """One page of the search (database calls: run in a worker): after the cursor `key`, or,
    `tail`, before it counted from the end (None: the first page, or the last)."""
    if tail:
        return page_before(organization_id, query, key, limit=PAGE, scope=scope)
    return search_users(organization_id, query, after=key, limit=PAGE, scope=scope)


class SearchBox(LineInput):
    """The search box: Down (or Enter) goes to the results."""

    BINDINGS = bindings(SEARCH_BOX)

    def type_ahead(self, character: str) -> None:
        """A key typed while the results had the focus: appended to the search, and the box
        takes the focus at once (`set_focus`: `focus()` would wait behind the keys already
        typed, and those would go on to the list) without selecting its text, or the next key
        would replace it."""
        self.insert(character, len(self.value))
        if not self.has_focus:
            self.select_on_focus = False
            self.screen.set_focus(self)

    def on_blur(self) -> None:
        self.select_on_focus = True  # ctrl+f or a click: typing replaces the last search


class ResultsTable(RowTable):
    """The results; its keys act on the highlighted user. Up on the first row goes back to
    the search box, and so does any printable key, appended to the search: a name typed while
    the list has the focus is a search, never a command (no row action is on a printable key)."""

    BINDINGS = bindings(RESULTS)

    def action_move_to(self, row: int) -> None:
        """Home: the first user of the search; End: the last one (the table holds a window)."""
        self.screen.go_to_end(last=row != 0)

    def action_move(self, delta: int) -> None:
        if delta == -1 and self.cursor == 0:
            self.screen.query_one("#search", Input).focus()
            return
        super().action_move(delta)

    def on_key(self, event: events.Key) -> None:
        if not (event.is_printable and event.character):
            return
        event.stop()
        event.prevent_default()
        self.screen.query_one(SearchBox).type_ahead(event.character)


class FindUsersScreen(KeepStyles, CoveredKeys, Screen[None]):
    BINDINGS = bindings(FIND_USERS)
    AUTO_FOCUS = "#search"

    class Results(Message):
        def __init__(
            self, generation: int, page: Page | None, count: int | None, error: str = ""
        ) -> None:
            super().__init__()
            self.generation, self.page, self.count, self.error = generation, page, count, error

    class Counted(Message):
        def __init__(self, generation: int, count: int, exact: bool = False) -> None:
            super().__init__()
            self.generation, self.count, self.exact = generation, count, exact

    def __init__(self) -> None:
        super().__init__()
        self.query_state = UserQuery()
        self.generation = 0
        self.cursors: list[object | None] = [None]  # cursors[i]: `after` of page i
        self.window_start = 0  # page number of the first page in the table
        # After End the window is read from the end ("tail"): back_cursors[i] is the `before`
        # of page i counted from the end (page 0 is the last page), and window_start the
        # number of the window's bottom page.
        self.tail = False
        self.back_cursors: list[object | None] = [None]
        self.exact_total = False  # `total` is exact (counted on demand, ctrl+k)
        self.window: list[list[UserRow]] = []
        self.rows: list[UserRow] = []
        self.total = 0
        self.select_after: int | None = None  # a new user to select when results arrive
        self._searching = False  # a search worker is running
        self._paging: Worker | None = None  # a page of the window is being read (`_read`)
        self._reload_pending = False  # the window is read again after that page
        self._jumping = False  # that page replaces the window (Home, End, a reload)
        self._asking = False  # the session's rights are read (`_if_allowed`)
        self._pending = False  # the query changed while it ran
        self.widths = column_widths(80)

    # --- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield Tabs(
            Tab("Staff F2", id="staff"),
            Tab("Public F3", id="public"),
            Tab("Contact F4", id="contact"),
            Tab("All F5", id="all"),
            active="all",
            id="tabs",
        )
        with Horizontal(id="filters"):
            yield Select(
                [(label, value) for value, label in ACCOUNT_TYPES.items()],
                prompt="Account type",
                id="account-type",
                compact=True,
            )
            yield Select([(r.label, r.value) for r in Role], prompt="Role", id="role", compact=True)
            yield Select(STATUS_CHOICES, value="any", allow_blank=False, id="status", compact=True)
            # The user groups are read in a worker (`_read_groups`).
            yield Select([], prompt="User group", id="group", compact=True)
        # A bar of the dashboard narrows the list beyond these filters: said here (ctrl+r ends it).
        yield Static("", id="narrowed")
        with Horizontal(id="search-row"):
            yield SearchBox(
                placeholder="Search: name, identifier, barcode or email", id="search", compact=True
            )
            yield Static("", id="count")
        yield ResultsTable(id="results", gap=GAP)
        yield KeyBar()

    # The list's keys that need a right of their own (the registry's `needs`): not offered to
    # a session none of whose roles grants it (a desk saw Activate/deactivate and Delete).
    _NEEDS = {
        entry.action.removeprefix("screen."): entry.needs
        for entry in RESULTS.actions
        if isinstance(entry.needs, Action) and entry.needs != Action.VIEW_USER
    }

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        need = self._NEEDS.get(action)
        session = self.app.session
        return need is None or session is None or session.offers(need)

    def on_screen_resume(self) -> None:
        """Back from another screen (Configuration, say): the user groups may have changed."""
        self._read_groups()

    def _read_groups(self) -> None:
        """The user groups of the filter, read in a worker (the newest reading wins)."""
        session = self.app.session
        if session is None:  # logging out
            return
        run_service(
            self,
            code_choices,
            "user_group",
            session.organization.id,
            on_ok=self._show_groups,
            group="find-users-groups",
            exclusive=True,
        )

    def _show_groups(self, choices: list[tuple[str, int]]) -> None:
        found = self.query("#group")
        if not found:  # the screen is being taken down (a log out while the groups were read)
            return
        group = found.first(Select)
        if [value for _, value in choices] != [value for _, value in group._options[1:]]:
            current = group.value
            group.set_options(choices)
            if current in {value for _, value in choices}:
                group.value = current

    def on_mount(self) -> None:
        self._lay_out_columns(self.size.width)
        self.run_search()

    def on_resize(self, event) -> None:
        if self.is_mounted:
            self._lay_out_columns(event.size.width)
            self._render_window(self.query_one(ResultsTable).cursor_row)

    def _lay_out_columns(self, width: int) -> None:
        self.widths = column_widths(width)
        self.query_one(ResultsTable).set_columns(
            [(label, self.widths[key]) for label, key, _ in COLUMNS if key in self.widths]
        )

    # --- searching ------------------------------------------------------------------------------

    @on(Input.Changed, "#search")
    def _typed(self, event: Input.Changed) -> None:
        self.query_state = replace(self.query_state, text=event.value)
        self.run_search()

    @on(Input.Submitted, "#search")
    def action_to_results(self) -> None:
        if self.rows:
            self.query_one(ResultsTable).focus()

    @on(Tabs.TabActivated, "#tabs")
    def _tab(self, event: Tabs.TabActivated) -> None:
        if event.tab.id and event.tab.id != self.query_state.tab:
            self.query_state = replace(self.query_state, tab=event.tab.id)
            if self.query_state.record_type is not None:  # a record type of the tab left
                self._narrow_to(None, "")
            self.run_search()

    @on(Select.Changed)
    def _filter(self, event: Select.Changed) -> None:
        value = None if event.value is Select.NULL else event.value
        field = {
            "account-type": "account_type",
            "role": "role",
            "status": "status",
            "group": "user_group_id",
        }[event.select.id]
        if getattr(self.query_state, field) != value:
            self.query_state = replace(self.query_state, **{field: value})
            self.run_search()

    def run_search(self) -> None:
        """Search now if no search is running; else remember to search once more, with the
        latest query, when it ends. A fast typist gets one query in flight at a time and the
        last keystroke always searched, with no fixed delay added to any keystroke."""
        self.generation += 1
        if self._searching:
            self._pending = True
            return
        self._searching = True
        self._search(self.generation, self.query_state)

    @work(thread=True, group="search")
    def _search(self, generation: int, query: UserQuery) -> None:
        organization_id, scope = self.app.session.organization.id, self.app.session.scope
        try:
            page = search_users(organization_id, query, limit=PAGE, scope=scope)
            # The rows first: the count of a broad query takes as long as the page again.
            self.post_message(self.Results(generation, page, None))
            if page.cursor is not None and generation == self.generation:
                count = count_users(organization_id, query, cap=COUNT_CAP, scope=scope)
                self.post_message(self.Counted(generation, count))
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
            self.post_message(self.Results(generation, None, 0, error=str(exc)))
        finally:
            close_thread_connection()  # this thread's own connection (tui.worker)

    def on_find_users_screen_results(self, message: Results) -> None:
        self._searching = False
        if self._pending:
            self._pending = False
            self.generation += 1
            self._searching = True
            self._search(self.generation, self.query_state)
            return  # these results are already stale
        if message.generation != self.generation:
            return
        if message.page is None:
            self.query_one("#count", Static).update("Search failed: " + message.error[:60])
            self.notify(f"Search failed: {message.error}", severity="error", timeout=10)
            return
        if message.page.cursor is None:  # one page holds every hit: the count is known
            self.total = len(message.page.rows)
        self.cursors = [None, message.page.cursor]
        self.window_start = 0
        self.tail = False
        self.exact_total = False
        self.window = [message.page.rows]
        self._render_window(None)
        self._show_count()
        target = self.select_after
        if target is not None:
            if self._row_of(target) is None:
                # The new user is beyond the first page: show them by their identifier.
                from models.users.profile import primary_id_of

                run_service(
                    self,
                    primary_id_of,
                    target,
                    on_ok=lambda wanted: self._search_for(target, wanted),
                    group="find-users-new",
                    exclusive=True,
                )
                return
            self.select_after = None

    def _search_for(self, account_id: int, primary_id: str) -> None:
        """The new user `account_id`, beyond the first page, searched by their identifier."""
        if self.select_after != account_id:
            return
        search = self.query_one("#search", Input)
        if search.value != primary_id:
            search.value = primary_id
        else:
            self.select_after = None

    def on_find_users_screen_counted(self, message: Counted) -> None:
        if message.generation == self.generation:
            self.total = message.count
            self.exact_total = self.exact_total or message.exact
            self._show_count()

    def action_count_exact(self) -> None:
        """Count every user of the search, without the cap (ctrl+k): in a worker, shown when
        done (a broad search at a million users takes a while; the list works meanwhile)."""
        self.query_one("#count", Static).update("Counting…")
        self._count_exact(self.generation, self.query_state)

    @work(thread=True, group="count", exclusive=True)
    def _count_exact(self, generation: int, query: UserQuery) -> None:
        try:
            session = self.app.session
            count = count_users(session.organization.id, query, scope=session.scope)
            self.post_message(self.Counted(generation, count, exact=True))
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
            self.app.call_from_thread(
                self.notify, f"Counting failed: {exc}", severity="error", timeout=10
            )
            self.post_message(self.Counted(generation, self.total))
        finally:
            close_thread_connection()  # this thread's own connection (tui.worker)

    def _row_of(self, account_id: int | None) -> int | None:
        for i, row in enumerate(self.rows if account_id is not None else []):
            if row.account_id == account_id:
                return i
        return None

    def _show_count(self) -> None:
        q = self.query_state
        capped = self.total > COUNT_CAP and not self.exact_total
        shown = f"{COUNT_CAP:,}+" if capped else f"{self.total:,}"
        noun = "user" if self.total == 1 else "users"
        arrow = "↓" if q.descending else "↑"
        text = f"{shown} {noun} · by {q.sort} {arrow}"
        if capped:
            text += " · ^k: count"
        if self.total == 0 and q.text.strip():
            text = f"No user matches “{q.text.strip()[:30]}”"
            if q.text.strip().startswith(CONTAINS_PREFIX) and not contains_text(q.text):
                text = "Contains search: type at least 3 characters after ~"
        self.query_one("#count", Static).update(plain(text))  # quotes the search typed

    # --- the window of rows ---------------------------------------------------------------------

    def _render_window(self, cursor_row: int | None) -> None:
        table = self.query_one(ResultsTable)
        self.rows = [row for page in self.window for row in page]
        if cursor_row is None:
            cursor_row = self._row_of(self.select_after) or 0
        table.set_rows([self._cells(row) for row in self.rows], cursor_row)

    def _cells(self, row: UserRow) -> tuple[str, ...]:
        return row_cells(row, self.widths)

    # Pages are read in a worker, one at a time (`_read`), from EDGE rows before the window's
    # end: the cursor moves on meanwhile. Keys typed once the cursor is on the window's first
    # or last row, or while Home, End or a reload reads, wait for the page (`accepting_keys`):
    # Up held down walks the list as if it were all there, never into the search box.

    @property
    def paging(self) -> bool:
        """A page of the window is being read."""
        return self._paging is not None and not self._paging.is_finished

    @property
    def accepting_keys(self) -> bool:
        if self._asking:  # the session's rights, for the action of the last key
            return False
        if not self.paging:
            return True
        if self._jumping:
            return False
        return 0 < self._cursor() < len(self.rows) - 1

    def _read(
        self,
        tail: bool,
        numbers: list[int],
        then: Callable[[list[Page | BackPage]], None],
        *,
        jump: bool = False,
    ) -> None:
        """Read pages `numbers` (from the end when `tail`) in a worker, then `then(pages)`,
        unless another search has started since. The cursors of the pages read are learned."""
        keys = self.back_cursors if tail else self.cursors
        wanted = [(n, keys[n] if n < len(keys) else None) for n in numbers]
        session, query, generation = self.app.session, self.query_state, self.generation
        organization_id, scope = session.organization.id, session.scope

        def read() -> list[Page | BackPage]:
            return [read_page(organization_id, query, scope, tail, key) for _, key in wanted]

        def answered(pages: list[Page | BackPage]) -> None:
            self._paging = None
            if generation == self.generation:  # else another search has started since
                then(pages)
            self._after_page()

        def failed(exc: PatronDeskError) -> None:
            self._paging = None
            self.notify(exc.message, severity="error", timeout=10)
            self._after_page()

        self._jumping = jump  # the window is replaced: every key waits for it
        self._paging = run_service(
            self, read, on_ok=answered, on_error=failed, group="find-users-page"
        )

    def _learn(self, tail: bool, page_number: int, page: Page | BackPage) -> None:
        """Keep the cursor of the page after `page_number` (before it, from the end)."""
        keys = self.back_cursors if tail else self.cursors
        if page_number + 1 == len(keys):
            keys.append(page.before if tail else page.cursor)

    def go_to_end(self, last: bool) -> None:
        """Home (`last` false) or End: the cursor on the first or last user of the search,
        reading that end of the list (in a worker) when the window does not hold it."""
        table = self.query_one(ResultsTable)
        if not self.rows or self.paging:
            return
        if self.tail:
            at_end = self.window_start == 0
            at_start = self.back_cursors[self.window_start + len(self.window)] is None
        else:
            at_start = self.window_start == 0
            at_end = self.cursors[self.window_start + len(self.window)] is None
        if at_end if last else at_start:
            table.cursor = len(self.rows) - 1 if last else 0
            return

        def shown(pages: list[Page | BackPage]) -> None:
            self.tail = last
            self.window_start = 0
            if last:
                self.back_cursors = [None]
            else:
                self.cursors = [None]
            self._learn(last, 0, pages[0])
            self.window = [pages[0].rows]
            self._render_window(len(pages[0].rows) - 1 if last else 0)

        self._read(last, [0], shown, jump=True)

    @on(RowTable.Highlighted, "#results")
    def _moved(self, event: RowTable.Highlighted) -> None:
        if event.row != event.table.cursor:
            return  # a stale event from re-filling the window: the cursor has moved since
        if self.paging:
            return  # the page on its way is the one wanted: its answer looks again
        row = event.row
        if self.tail:
            self._moved_in_tail(row)
            return
        next_page = self.window_start + len(self.window)
        if row >= len(self.rows) - EDGE and next_page < len(self.cursors):
            if self.cursors[next_page] is None:
                return  # the last page is in the window already
            self._read(False, [next_page], lambda pages: self._append(next_page, pages[0]))
        elif row < EDGE and self.window_start > 0:
            above = self.window_start - 1
            self._read(False, [above], lambda pages: self._prepend(above, pages[0]))

    def _cursor(self) -> int:
        return self.query_one(ResultsTable).cursor

    def _append(self, page_number: int, page: Page) -> None:
        """The page after the window (in reading order) read: it joins the window, the
        first page goes if the window holds too many."""
        self._learn(False, page_number, page)
        if self.tail or page_number != self.window_start + len(self.window) or not page.rows:
            return
        row = self._cursor()
        self.window.append(page.rows)
        if len(self.window) > MAX_PAGES:
            row -= len(self.window.pop(0))
            self.window_start += 1
        self._render_window(row)

    def _prepend(self, page_number: int, page: Page) -> None:
        if self.tail or page_number != self.window_start - 1:
            return
        self.window_start -= 1
        self.window.insert(0, page.rows)
        if len(self.window) > MAX_PAGES:
            self.window.pop()
        self._render_window(self._cursor() + len(page.rows))

    def _moved_in_tail(self, row: int) -> None:
        """`_moved` for a window read from the end: the pages above are read backwards."""
        above = self.window_start + len(self.window)  # the page above the window
        if row < EDGE and above < len(self.back_cursors):
            if self.back_cursors[above] is None:
                return  # the first page is in the window already
            self._read(True, [above], lambda pages: self._prepend_tail(above, pages[0]))
        elif row >= len(self.rows) - EDGE and self.window_start > 0:
            below = self.window_start - 1
            self._read(True, [below], lambda pages: self._append_tail(below, pages[0]))

    def _prepend_tail(self, page_number: int, page: BackPage) -> None:
        self._learn(True, page_number, page)
        if not self.tail or page_number != self.window_start + len(self.window) or not page.rows:
            return
        self.window.insert(0, page.rows)
        if len(self.window) > MAX_PAGES:
            self.window.pop()
            self.window_start += 1
        self._render_window(self._cursor() + len(page.rows))

    def _append_tail(self, page_number: int, page: BackPage) -> None:
        if not self.tail or page_number != self.window_start - 1:
            return
        row = self._cursor()
        self.window_start -= 1
        self.window.append(page.rows)
        if len(self.window) > MAX_PAGES:
            row -= len(self.window.pop(0))
        self._render_window(row)

    def _reload_window(self) -> None:
        """Read the pages of the window again (after a change, in a worker), keeping the
        cursor's place."""
        tail, start = self.tail, self.window_start
        numbers = [start + i for i in range(len(self.window))]
        if tail:  # the window's pages from the top: the highest number first
            numbers.reverse()

        def shown(pages: list[Page | BackPage]) -> None:
            if tail != self.tail or start != self.window_start:
                return  # the window moved meanwhile
            for number, page in zip(numbers, pages, strict=True):
                self._learn(tail, number, page)
            self.window = [page.rows for page in pages if page.rows]
            self._render_window(self._cursor())

        if self.paging:  # after the page on its way (`_after_page`)
            self._reload_pending = True
            return
        self._read(tail, numbers, shown, jump=True)

    def _after_page(self) -> None:
        if self._reload_pending:
            self._reload_pending = False
            self._reload_window()

    def selected(self) -> UserRow | None:
        table = self.query_one(ResultsTable)
        if not self.rows or not (0 <= table.cursor_row < len(self.rows)):
            self.notify("No user is selected.", severity="warning")
            return None
        return self.rows[table.cursor_row]

    # --- actions --------------------------------------------------------------------------------

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_escape(self) -> None:
        search = self.query_one("#search", Input)
        if search.value:
            search.value = ""
        search.focus()

    def action_tab(self, tab: str) -> None:
        self.query_one("#tabs", Tabs).active = tab

    def action_focus_filter(self, name: str) -> None:
        select = self.query_one(f"#{name}", Select)
        select.focus()
        select.action_show_overlay()

    def action_clear_filters(self) -> None:
        for name in ("account-type", "role", "group"):
            self.query_one(f"#{name}", Select).clear()
        self.query_one("#status", Select).value = "any"
        if self._narrowed():
            self._narrow_to(None, "")
            self.run_search()

    # --- the dashboard -------------------------------------------------------------------------

    def action_dashboard(self) -> None:
        """The dashboard's charts (shift+F5); Enter on a bar there comes back here with the
        users it counts."""
        from screens.dashboard import DashboardScreen

        self._if_allowed(
            (Action.VIEW_USER, None),
            then=lambda: self.app.push_screen(DashboardScreen(), self._from_dashboard),
            refused="Your roles do not allow viewing users.",
        )

    def _narrowed(self) -> bool:
        q = self.query_state
        return any(
            v is not None
            for v in (q.record_type, q.expiry_from, q.expiry_to, q.block_definition_id)
        )

    def _narrow_to(self, target: Target | None, said: str) -> None:
        """Set (or end, `target` None) the dashboard's narrowing of the query, and say it."""
        t = target or Target()
        self.query_state = replace(
            self.query_state,
            record_type=t.record_type,
            expiry_from=t.expiry_from,
            expiry_to=t.expiry_to,
            block_definition_id=t.block_definition_id,
        )
        label = self.query_one("#narrowed", Static)
        label.set_class(target is not None and bool(said), "shown")
        key = hint(self.app, "reset_filters")
        label.update(f"Only {escape(said)} · {key} all users" if said else "")

    def _from_dashboard(self, chosen: tuple[Target, str] | None) -> None:
        """Back from the dashboard with a bar: the users it counts, every other filter and the
        search text cleared (what the bar counted)."""
        if chosen is None:
            return
        target, said = chosen
        tab = TYPE_TAB.get(target.record_type or "", "all")
        status = "active" if target.expiry_from is not None else "any"
        self.query_state = UserQuery(
            tab=tab,
            status=status,
            user_group_id=target.user_group_id,
            sort="expiry" if target.expiry_from is not None else "name",
        )
        self._narrow_to(None if target.user_group_id is not None else target, said)
        self.query_one("#search", Input).value = ""
        self.query_one("#tabs", Tabs).active = tab
        for name in ("account-type", "role"):
            self.query_one(f"#{name}", Select).clear()
        self.query_one("#status", Select).value = status
        group = self.query_one("#group", Select)
        known = {value for _, value in group._options[1:]}
        if target.user_group_id in known:
            group.value = target.user_group_id
        else:  # no group, or one added since the list was read: the query has it all the same
            group.clear()
        self.run_search()
        self.query_one(ResultsTable).focus()

    def action_sort(self, key: str) -> None:
        q = self.query_state
        descending = not q.descending if q.sort == key else False
        self.query_state = replace(q, sort=key, descending=descending)
        self.run_search()

    # The session's rights are read from the database (its roles as they are now): each
    # action asks in a worker (`_if_allowed`), and keys typed meanwhile wait for the answer.

    def _if_allowed(
        self, *rights: tuple[Action, str | None], then: Callable[[], None], refused: str = ""
    ) -> None:
        """`then()` when the session has every right of `rights` (read in a worker), else
        `refused` is said (nothing when empty)."""
        session = self.app.session

        def allowed() -> bool:
            return all(session.can(action, record_type) for action, record_type in rights)

        def answered(yes: bool) -> None:
            self._asking = False
            if yes:
                then()
            elif refused:
                self.notify(refused, severity="error")

        def failed(exc: PatronDeskError) -> None:
            self._asking = False
            self.notify(exc.message, severity="error", timeout=8)

        self._asking = True
        run_service(self, allowed, on_ok=answered, on_error=failed, group="find-users-rights")

    def action_new_user(self) -> None:
        """Quick User Management; staff who may only register (circulation desk) get Register
        New User instead."""
        session, tab = self.app.session, self.query_state.tab

        def chosen(may_create: bool) -> None:
            self._asking = False
            if may_create:
                self.app.new_user_form(self._added, tab=tab)
            else:
                self.action_register_user()

        self._asking = True
        run_service(
            self,
            session.can,
            Action.CREATE_USER,
            on_ok=chosen,
            on_error=lambda exc: chosen(False),
            group="find-users-rights",
        )

    def action_register_user(self) -> None:
        """Register New User: it opens a match itself, or the form (public users only), and
        answers as the form does."""
        from screens.register_user import RegisterUserScreen

        organization_id = self.app.session.organization.id
        self._if_allowed(
            (Action.REGISTER_USER, "public"),
            then=lambda: self.app.push_screen(RegisterUserScreen(organization_id), self._added),
            refused="Your roles do not allow adding users.",
        )

    def _added(self, result: tuple[int, bool] | None) -> None:
        """Back from the form: show the new user selected (and open it if asked)."""
        if result is None:
            return
        account_id, open_details = result
        self.select_after = account_id
        self.run_search()
        if open_details:
            self.app.open_user(account_id)

    def action_open_user(self) -> None:
        if row := self.selected():
            self.app.open_user(row.account_id, lambda _: self._reload_window())

    def action_user_card(self) -> None:
        """The highlighted user's card (read in a worker, refused as viewing the user is);
        Enter there opens the record, as Enter here does. Keys typed while it is read wait."""
        from models.users.card import user_card
        from screens.user_card import UserCardScreen

        row = self.selected()
        if row is None:
            return
        account_id = row.account_id

        def closed(open_record: bool | None) -> None:
            if open_record:
                self.app.open_user(account_id, lambda _: self._reload_window())

        def answered(card) -> None:  # noqa: ANN001 - a models.users.card.UserCard
            self._asking = False
            self.app.push_screen(UserCardScreen(card), closed)

        def failed(exc: PatronDeskError) -> None:
            self._asking = False
            self.notify(exc.message, severity="error", timeout=8)

        self._asking = True
        run_service(
            self,
            user_card,
            account_id,
            self.app.session.actor,
            on_ok=answered,
            on_error=failed,
            group="find-users-card",
            exclusive=True,
        )

    def action_toggle_active(self) -> None:
        from models.users.accounts import set_status
        from screens.confirm import ConfirmScreen

        row = self.selected()
        if row is None:
            return
        new = Status.INACTIVE if row.status == Status.ACTIVE else Status.ACTIVE
        verb = "Deactivate" if new == Status.INACTIVE else "Activate"

        def done(_: object) -> None:
            self.notify(f"{row.name}: {new.value}.")
            self._reload_window()

        def refused(exc: PatronDeskError) -> None:
            self.notify(exc.message, severity="error", timeout=8)
            self._reload_window()

        def answer(yes: bool | None) -> None:
            if yes:  # in a worker; the list works meanwhile
                run_service(
                    self,
                    set_status,
                    row.account_id,
                    new.value,
                    row.version,
                    self.app.session.actor,
                    on_ok=done,
                    on_error=refused,
                    group="find-users-status",
                )

        self._if_allowed(
            (Action.CHANGE_STATUS, row.record_type),
            then=lambda: self.app.push_screen(
                ConfirmScreen(f"{verb} {row.name}?", yes=verb), answer
            ),
            refused="Your roles do not allow changing this user's status.",
        )

    def action_delete_user(self) -> None:
        """The deletion dialog: it confirms, or lists every reason it is refused with what can
        be done about them (view the user, waive the fees, notify the user)."""
        from screens.delete_user import DELETED, VIEW, DeleteUserScreen

        row = self.selected()
        if row is None:
            return

        def done(result: str | None) -> None:
            if result == DELETED:
                self.notify(f"{row.name} deleted.")
                self.run_search()
            elif result == VIEW:
                self.app.open_user(row.account_id, lambda _: self._reload_window())

        self._if_allowed(
            (Action.DELETE_USER, row.record_type),
            then=lambda: self.app.push_screen(DeleteUserScreen(row.account_id), done),
            refused="Only a User Manager or Administrator may delete users.",
        )

    def action_merge_with(self) -> None:
        """Merge with… (issue 24): the highlighted user is kept; the merge screen asks for the
        other's identifier, then shows both side by side."""
        from screens.merge import MergeScreen

        row = self.selected()
        if row is None:
            return

        def done(kept: int | None) -> None:
            if kept is not None:
                self.select_after = kept
                self.run_search()

        self._if_allowed(
            (Action.MERGE_USERS, row.record_type),
            then=lambda: self.app.push_screen(MergeScreen(row.account_id), done),
            refused="Only a User Manager or Administrator may merge users.",
        )

    def action_duplicates(self) -> None:
        """The organization's likely duplicates (shift+F8), for User Managers and Administrators."""
        from screens.duplicates import DuplicatesScreen

        self._if_allowed(
            (Action.FIND_DUPLICATES, None),
            then=lambda: self.app.push_screen(DuplicatesScreen(), lambda _: self.run_search()),
            refused="Only a User Manager or Administrator may look for duplicates.",
        )

    def action_save_set(self) -> None:
        """Save as set: the search and its filters, or the users it finds now (issue 23)."""
        from screens.save_set import SaveSetScreen

        group = self.query_one("#group", Select)
        label = ""
        if self.query_state.user_group_id is not None:
            label = next((str(text) for text, value in group._options if value == group.value), "")

        def saved(info) -> None:  # noqa: ANN001 - a models.jobs.sets.SetInfo or None
            if info is not None:
                what = "a search" if info.members is None else f"{info.members:,} users"
                self.notify(f"Set {info.name} saved ({what}). Sets: shift+F7.")

        self.app.push_screen(SaveSetScreen(self.query_state, label), saved)

    def action_purge_users(self) -> None:
        """The purge job's preview, then the purge on confirmation (F10)."""
        from screens.purge import PurgeScreen

        self._if_allowed(
            (Action.RUN_JOBS, None),
            (Action.DELETE_USER, None),
            then=lambda: self.app.push_screen(PurgeScreen(), lambda _: self.run_search()),
            refused="Only a User Manager or Administrator may purge users.",
        )
