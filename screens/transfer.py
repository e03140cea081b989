"""Import and Export screens (administrators; issue 8): a file path, the options of
`patrondesk import` / `export`, a dry-run preview of the first records and of the problems, a
progress bar, and the report at the end. The work is `models.transfer.imports` /
`models.transfer.exports`', run
off the UI thread."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, ProgressBar, Select, Static

from models.errors import PatronDeskError
from models.text import plural, printable
from models.transfer.imports import preview_mark
from screens.confirm import CoveredKeys
from tui.keys import EXPORT, IMPORT, bindings
from tui.widgets import (
    Checkbox,
    escape,
)
from tui.worker import run_service

_FORMATS = ("csv", "koha-csv", "json", "alma-xml", "alma-json", "folio-json", "rero-json")


def _cells(*values: object) -> list[Text]:
    """Cells quoting the imported file: plain text (a DataTable reads a str as markup), every
    control, bidi or invisible character shown as a visible mark."""
    return [Text(printable(value)) for value in values]


class _Progress(Message):
    def __init__(self, share: float, text: str) -> None:
        super().__init__()
        self.share, self.text = share, text


class _Done(Message):
    def __init__(self, report: object | None, error: str = "") -> None:
        super().__init__()
        self.report, self.error = report, error


class ImportScreen(ModalScreen[bool]):
    BINDINGS = bindings(IMPORT)

    class Progress(_Progress):
        pass

    class Done(_Done):
        pass

    def __init__(self) -> None:
        super().__init__()
        self.running = False
        self.imported = False

    def compose(self) -> ComposeResult:
        # The box scrolls: on a small terminal the options take most of it, and the lists keep
        # a few rows each below them (styles/transfer.tcss), brought into view with the focus.
        with VerticalScroll(id="box"):
            yield Static("[b]Import users[/b]")
            with Horizontal(classes="row"):
                yield Label("File or folder")
                yield Input(placeholder="/path/to/users.csv", id="path")
            with Horizontal(classes="row"):
                yield Select([(f, f) for f in _FORMATS], prompt="format: auto", id="format")
                yield Checkbox("SIS load (external)", id="external")
                yield Input(placeholder="source (SIS)", id="source")
            with Horizontal(classes="row"):  # CSV files as libraries have them (issue 21)
                yield Input(placeholder="encoding: auto", id="encoding")
                yield Input(placeholder="dates %Y-%m-%d", id="date_format")
                yield Checkbox("Read every record again", id="force")
            yield ProgressBar(total=100, show_eta=False, id="bar")
            yield Static("ctrl+d preview · ctrl+s import · Esc close", id="summary")
            yield DataTable(id="preview", zebra_stripes=True, cursor_type="row")
            yield DataTable(id="issues", zebra_stripes=True, cursor_type="row")

    def on_mount(self) -> None:
        preview = self.query_one("#preview", DataTable)
        preview.add_columns("record", "primary id", "name", "user group", "action")
        issues = self.query_one("#issues", DataTable)
        issues.add_columns("record", "primary id", "level", "field", "message")
        self.query_one("#path", Input).focus()

    def _options(self, dry_run: bool):  # noqa: ANN202
        from models.transfer.imports import ImportOptions

        fmt = self.query_one("#format", Select).value
        external = self.query_one("#external", Checkbox).value
        return ImportOptions(
            format=fmt if isinstance(fmt, str) else None,
            external=external,
            source=self.query_one("#source", Input).value.strip() if external else "",
            dry_run=dry_run,
            preview=50 if dry_run else 0,
            encoding=self.query_one("#encoding", Input).value.strip(),
            date_format=self.query_one("#date_format", Input).value.strip(),
            force=self.query_one("#force", Checkbox).value,
        )

    def action_preview(self) -> None:
        self._start(dry_run=True)

    def action_run(self) -> None:
        self._start(dry_run=False)

    def _start(self, *, dry_run: bool) -> None:
        if self.running:
            return
        path = self.query_one("#path", Input).value.strip()
        if not path:
            self.query_one("#summary", Static).update("Give the file (or folder) to import.")
            return
        self.running = True
        self.query_one("#summary", Static).update("Reading…")
        self._import(Path(path).expanduser(), self._options(dry_run))

    def _import(self, path: Path, options) -> None:  # noqa: ANN001
        from models.transfer.imports import import_file

        def progress(p) -> None:  # noqa: ANN001
            self.post_message(self.Progress(p.position, f"{p.rows:,} rows, {p.rate:,.0f} rows/s"))

        options.progress = progress
        actor = getattr(self.app.session, "actor", None)
        account = getattr(actor, "account", None)
        if account is None:  # never the system's rights (every organization) from a screen
            self.post_message(self.Done(None, "Log in to import users."))
            return

        def work():  # noqa: ANN202
            try:  # in the actor's own organization, checked by the actor's rights
                return import_file(path, options, actor_account=account)
            except OSError as exc:
                raise PatronDeskError(f"cannot read {path}: {exc.strerror or exc}") from exc

        run_service(
            self,
            work,
            on_ok=lambda report: self.post_message(self.Done(report)),
            on_error=lambda exc: self.post_message(self.Done(None, exc.message)),
            group="import",
            exclusive=True,
        )

    def on_import_screen_progress(self, message: _Progress) -> None:
        self.query_one("#bar", ProgressBar).update(progress=message.share * 100)
        self.query_one("#summary", Static).update(escape(message.text))

    def on_import_screen_done(self, message: _Done) -> None:
        self.running = False
        summary = self.query_one("#summary", Static)
        if message.report is None:
            summary.update(escape(message.error))
            return
        report = message.report
        self.imported = self.imported or not report.dry_run
        self.query_one("#bar", ProgressBar).update(progress=100)
        # Each record's warnings counted beside its mark, and the problems' list named: at
        # 80x24 it is below the preview, reached with Tab (a warning that left a value out
        # was not seen: the row said "create" and nothing more).
        warned = Counter(
            (i.where, i.primary_id) for i in report.issues if i.level not in ("refused", "skipped")
        )
        listed = " Tab: each problem, listed below." if report.issues else ""
        summary.update(escape(report.summary() + listed))
        preview = self.query_one("#preview", DataTable)
        preview.clear()
        for rec in report.preview:
            person = rec.get("person") or {}
            name = ", ".join(x for x in (person.get("last_name"), person.get("first_name")) if x)
            group = (rec.get("codes") or {}).get("user_group") or ""
            if isinstance(group, (list, tuple)):
                group = group[0] if group else ""
            # The mark the summary counts the record under (created, updated, unchanged,
            # refused), not a guess from the file alone.
            mark = preview_mark(rec)
            if count := warned[(rec.get("label", ""), rec.get("primary_id", ""))]:
                mark += f" · {plural(count, 'warning')}"
            preview.add_row(
                *_cells(rec.get("label", ""), rec.get("primary_id", ""), name, group), mark
            )
        issues = self.query_one("#issues", DataTable)
        issues.clear()
        for issue in report.issues[:500]:
            where = " ".join(x for x in (issue.file, issue.where) if x)
            issues.add_row(
                *_cells(where, issue.primary_id, issue.level, issue.field, issue.message)
            )

    def action_cancel(self) -> None:
        if not self.running:
            self.dismiss(self.imported)


class ExportScreen(CoveredKeys, ModalScreen[None]):
    BINDINGS = bindings(EXPORT)

    class Progress(_Progress):
        pass

    class Done(_Done):
        pass

    def __init__(self) -> None:
        super().__init__()
        self.running = False

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static("[b]Export users[/b]")
            with Horizontal(classes="row"):
                yield Label("File")
                yield Input(placeholder="/path/to/users.json", id="path")
            with Horizontal(classes="row"):
                yield Select(
                    [
                        ("json (every field)", "json"),
                        ("csv", "csv"),
                        ("alma-xml", "alma-xml"),
                        ("alma-json", "alma-json"),
                        ("folio-json", "folio-json"),
                        ("rero-json", "rero-json"),
                    ],
                    value="json",
                    allow_blank=False,
                    id="format",
                )
                yield Input(placeholder="search (empty: all)", id="query")
            yield ProgressBar(total=None, show_eta=False, id="bar")
            yield Static("ctrl+s export · Esc close", id="summary")

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    def action_run(self) -> None:
        if self.running:
            return
        path = self.query_one("#path", Input).value.strip()
        if not path:
            self.query_one("#summary", Static).update("Give the file to write.")
            return
        from models.store.files import check_target

        # In a worker: an existing file is replaced only when confirmed, a device or the
        # database never; the file system is not asked on the UI thread (a stalled mount).
        run_service(
            self,
            check_target,
            Path(path).expanduser(),
            on_ok=lambda _target: self._start(path, overwrite=False),
            on_error=lambda exc: self._target_refused(path, exc),
            group="check",
            exclusive=True,
        )

    def _target_refused(self, path: str, exc: PatronDeskError) -> None:
        from models.store.files import TargetExists
        from screens.confirm import ConfirmScreen

        if isinstance(exc, TargetExists):

            def answered(replace: bool | None) -> None:
                if replace:
                    self._start(path, overwrite=True)

            self.app.push_screen(
                ConfirmScreen(f"{exc.path} already exists. Replace it?", yes="Replace"), answered
            )
            return
        self.query_one("#summary", Static).update(escape(exc.message))

    def _start(self, path: str, *, overwrite: bool) -> None:
        if self.running:
            return
        self.running = True
        fmt = str(self.query_one("#format", Select).value)
        self.query_one("#summary", Static).update("Writing…")
        query = self.query_one("#query", Input).value
        self._export(Path(path).expanduser(), fmt, query, overwrite)

    def _export(self, path: Path, fmt: str, query: str, overwrite: bool) -> None:
        from models.access.scope import scope_of
        from models.transfer.exports import ExportFilter, export_to_file, users

        actor = self.app.session.actor

        def work() -> str:
            try:
                count = export_to_file(
                    path,
                    fmt,
                    flt=ExportFilter(query=query.strip()),
                    # library independence: only the rows this user may see
                    scope=scope_of(actor.account),
                    actor=actor,  # the right to run jobs; the export is audited
                    overwrite=overwrite,  # confirmed by the user
                    progress=lambda n: self.post_message(self.Progress(0, f"{n:,} users written")),
                )
            except OSError as exc:
                raise PatronDeskError(f"cannot write {path}: {exc.strerror or exc}") from exc
            return f"Exported {users(count)} ({fmt}) to {path}."

        run_service(
            self,
            work,
            on_ok=lambda text: self.post_message(self.Done(None, text)),
            on_error=lambda exc: self.post_message(self.Done(None, exc.message)),
            group="export",
            exclusive=True,
        )

    def on_input_changed(self, event: Input.Changed) -> None:
        """A file name ending in .csv, .xml or .json chooses its format (as on the command
        line); the list still changes it."""
        from models.transfer.exports import format_for_path

        if event.input.id == "path" and (fmt := format_for_path(event.value.strip())):
            self.query_one("#format", Select).value = fmt

    def on_export_screen_progress(self, message: _Progress) -> None:
        self.query_one("#summary", Static).update(escape(message.text))

    def on_export_screen_done(self, message: _Done) -> None:
        self.running = False
        self.query_one("#bar", ProgressBar).update(total=1, progress=1)
        self.query_one("#summary", Static).update(escape(message.error))

    def action_cancel(self) -> None:
        if not self.running:
            self.dismiss(None)
