"""Sets (issue 23): the organization's sets of users (`models.jobs.sets`), with their kind,
members (an itemized set's count; a logical set is a search, counted when used), owner and
creation. Enter shows the members, `n` makes a set from a file of identifiers, `r` renames,
Delete deletes (asked first), `j` runs a job on the set, `h` lists the jobs. Every read and
write runs in a worker."""

from __future__ import annotations

from textual import on
from textual.widgets import Static

from models.errors import PatronDeskError
from models.jobs.sets import LOGICAL, FileSet, SetInfo, delete_set, list_sets
from models.text import plural
from screens.confirm import ConfirmScreen, CoveredKeys, InfoScreen
from tui.keys import SETS, bindings
from tui.screen import KeepStyles, ListScreen
from tui.table import RowTable
from tui.widgets import plain
from tui.worker import run_service

UNKNOWN_SHOWN = 50  # the unknown identifiers listed after a set is made from a file
FIXED = (("Kind", 9), ("Members", 8), ("Owner", 12), ("Created", 16))
NARROW = 80  # below this width the owner is narrower and the creation a date only
NARROW_FIXED = (("Kind", 9), ("Members", 8), ("Owner", 8), ("Created", 10))


def set_cells(info: SetInfo, narrow: bool = False) -> tuple[str, ...]:
    members = "search" if info.kind == LOGICAL else f"{info.members or 0:,}"
    shape = "%Y-%m-%d" if narrow else "%Y-%m-%d %H:%M"
    created = f"{info.created_at:{shape}}" if hasattr(info.created_at, "year") else ""
    return (info.name, info.kind, members, info.created_by, created)


class SetsTable(RowTable):
    """The list of sets; the screen's keys are its own too (Enter shows the members)."""

    BINDINGS = bindings(SETS)


class SetsScreen(KeepStyles, CoveredKeys, ListScreen):
    BINDINGS = bindings(SETS)
    AUTO_FOCUS = "#sets"
    TABLE = SetsTable
    LIST_ID = "sets"
    LIST_TITLE = "Sets of users"

    def __init__(self) -> None:
        super().__init__()
        self.sets: list[SetInfo] = []

    def lay_out(self, width: int) -> None:
        self.narrow = width < NARROW
        columns = NARROW_FIXED if self.narrow else FIXED
        name = max(12, width - sum(w + 1 for _, w in columns) - 3)
        self.query_one("#sets", RowTable).set_columns([("Name", name), *columns])
        if self.sets:
            table = self.query_one("#sets", RowTable)
            table.set_rows([set_cells(s, self.narrow) for s in self.sets], table.cursor)

    def reload(self, select: int | None = None) -> None:
        self.reading = True
        run_service(
            self,
            list_sets,
            self.app.session.actor,
            on_ok=lambda sets: self._show(sets, select),
            on_error=self._failed,
            group="sets-list",
            exclusive=True,
        )

    def _show(self, sets: list[SetInfo], select: int | None) -> None:
        self.reading = False
        found = self.query("#sets")
        if not found:  # the screen is being taken down (a log out while the sets were read)
            return
        table = found.first(RowTable)
        cursor = table.cursor
        if select is not None:
            cursor = next((i for i, s in enumerate(sets) if s.set_id == select), cursor)
        self.sets = sets
        table.set_rows([set_cells(s, self.narrow) for s in sets], cursor)
        text = plural(len(sets), "set") if sets else "No sets yet: save one from Find Users."
        self.query_one("#sets-count", Static).update(plain(text))

    def _failed(self, exc: PatronDeskError) -> None:
        self.reading = False
        self.query_one("#sets-count", Static).update(plain(exc.message))

    def selected(self) -> SetInfo | None:
        table = self.query_one("#sets", RowTable)
        if not self.sets or not 0 <= table.cursor < len(self.sets):
            self.notify("No set is selected.", severity="warning")
            return None
        return self.sets[table.cursor]

    # --- actions --------------------------------------------------------------------------

    @on(RowTable.Selected, "#sets")
    def action_open_set(self) -> None:
        from screens.set_members import SetMembersScreen

        if info := self.selected():
            self.app.push_screen(SetMembersScreen(info))

    def action_new_from_file(self) -> None:
        from screens.set_file import SetFromFileScreen

        def made(result: FileSet | None) -> None:
            if result is None:
                return
            self.reload(select=result.info.set_id)
            text = f"Set {result.info.name}: {plural(result.found, 'member')}."
            if result.unknown:
                text += f"\n\n{plural(len(result.unknown), 'identifier')} matched nobody:\n"
                text += "\n".join(result.unknown[:UNKNOWN_SHOWN])
                if len(result.unknown) > UNKNOWN_SHOWN:
                    text += f"\n… and {len(result.unknown) - UNKNOWN_SHOWN:,} more"
            self.app.push_screen(InfoScreen("Set made from the file", text))

        self.app.push_screen(SetFromFileScreen(), made)

    def action_rename(self) -> None:
        from screens.rename_set import RenameSetScreen

        info = self.selected()
        if info is None:
            return

        def renamed(new: SetInfo | None) -> None:
            if new is not None:
                self.reload(select=new.set_id)

        self.app.push_screen(RenameSetScreen(info), renamed)

    def action_delete(self) -> None:
        info = self.selected()
        if info is None:
            return

        def deleted(_: object) -> None:
            self.notify(f"Set {info.name} deleted.")
            self.reload()

        def answer(yes: bool | None) -> None:
            if yes:
                run_service(
                    self,
                    delete_set,
                    info.set_id,
                    self.app.session.actor,
                    on_ok=deleted,
                    group="sets-delete",
                )

        self.app.push_screen(
            ConfirmScreen(f"Delete set {info.name}? Its jobs stay.", yes="Delete"), answer
        )

    def action_run_job(self) -> None:
        from screens.job_run import start_job

        if info := self.selected():
            start_job(self.app, info.set_id, info.name)

    def action_back(self) -> None:
        self.dismiss(None)
