"""Duplicates (issue 24): the organization's likely duplicate people, pairs grouped, with
their score and why (`models.duplicates.scan`, run in a worker). Enter opens the first person
of the pair, o the second; m merges the pair (screens/merge.py: the first kept, s there swaps);
x marks the pair "not a duplicate" (after a confirmation): it is
remembered and never proposed again."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from models.duplicates.marks import mark_not_duplicate
from models.duplicates.scan import Pair, ScanResult, scan
from models.errors import PatronDeskError
from models.text import plural
from screens.confirm import CoveredKeys
from tui.keys import DUPLICATES, bindings
from tui.widgets import plain
from tui.worker import run_service


def _who(person) -> str:  # noqa: ANN001 - a models.duplicates.scan.Person
    name = f"{person.last_name}, {person.first_name}" if person.first_name else person.last_name
    return f"{person.primary_id}  {name}  {person.birth_date}".rstrip()


class DuplicatesScreen(CoveredKeys, ModalScreen[None]):
    BINDINGS = bindings(DUPLICATES)

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[Pair] = []
        self.running = False

    def compose(self) -> ComposeResult:
        with Vertical(id="duplicates-box"):
            yield Static("[b]Likely duplicate people[/b]")
            yield Static("Looking for duplicates…", id="duplicates-summary")
            yield DataTable(id="duplicates-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="duplicates-why")
            yield Static(
                "Enter/o open the first/second · m merge · x not a duplicate · Esc close",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self._scan()

    def _scan(self) -> None:
        self.running = True
        session = self.app.session
        run_service(
            self,
            scan,
            session.organization.id,
            session.actor,
            on_ok=self._show,
            on_error=self._failed,
            group="duplicates-scan",
            exclusive=True,
        )

    def _failed(self, exc: PatronDeskError) -> None:
        self.running = False
        self.query_one("#duplicates-summary", Static).update(plain(exc.message))

    def _show(self, result: ScanResult) -> None:
        self.running = False
        self.pairs = result.pairs
        self._fill()
        self.query_one("#duplicates-summary", Static).update(
            f"{plural(len(result.pairs), 'pair')} in {plural(result.groups, 'group')} "
            f"among {plural(result.people, 'person', 'people')}"
        )

    def _fill(self) -> None:
        """Every column fits the box: the two people share what the score and group leave (the
        why of the highlighted pair is said under the list)."""
        table = self.query_one(DataTable)
        table.clear(columns=True)
        room = max(40, self.query_one("#duplicates-box").content_size.width - 4)
        wide = room >= 110
        fixed = (6 + 5 + 3 + 30) if wide else (5 + 2)
        person = max(14, (room - fixed) // 2)
        table.add_column("Score", width=5)
        if wide:
            table.add_column("Group", width=6)
        table.add_column("First person", width=person)
        table.add_column("Second person", width=person)
        if wide:
            table.add_column("Why", width=30)
        for i, p in enumerate(self.pairs):
            cells = [str(p.score)]
            if wide:
                cells.append(str(p.group))
            cells += [plain(_who(p.a)), plain(_who(p.b))]
            if wide:
                cells.append(plain(p.why))
            table.add_row(*cells, key=str(i))
        self._say_why()

    def on_resize(self) -> None:
        if self.pairs:
            self._fill()

    def on_data_table_row_highlighted(self) -> None:
        self._say_why()

    def _say_why(self) -> None:
        pair = self._selected()
        why = f"Why ({pair.score}): {pair.why}" if pair else ""
        self.query_one("#duplicates-why", Static).update(plain(why))

    def _selected(self) -> Pair | None:
        table = self.query_one(DataTable)
        if not self.pairs or table.cursor_row < 0 or table.cursor_row >= len(self.pairs):
            return None
        return self.pairs[table.cursor_row]

    def action_open_first(self) -> None:
        if pair := self._selected():
            self.app.open_user(pair.a.account_id)

    def action_open_other(self) -> None:
        if pair := self._selected():
            self.app.open_user(pair.b.account_id)

    def action_merge(self) -> None:
        """Merge the highlighted pair (the merge screen checks who may, and says why not)."""
        from screens.merge import MergeScreen

        pair = self._selected()
        if pair is None or self.running:
            return

        def done(kept: int | None) -> None:
            if kept is not None:
                self._scan()

        self.app.push_screen(MergeScreen(pair.a.account_id, pair.b.account_id), done)

    def action_not_duplicate(self) -> None:
        from screens.confirm import ConfirmScreen

        pair = self._selected()
        if pair is None or self.running:
            return

        def answer(yes: bool | None) -> None:
            if not yes:
                return
            session = self.app.session
            run_service(
                self,
                mark_not_duplicate,
                session.organization.id,
                pair.a.person_id,
                pair.b.person_id,
                session.actor,
                on_ok=lambda _: self._scan(),
                on_error=self._failed,
                group="duplicates-mark",
                exclusive=True,
            )

        self.app.push_screen(
            ConfirmScreen(
                f"{_who(pair.a)} and {_who(pair.b)} are two different people?",
                yes="Not a duplicate",
            ),
            answer,
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
