"""The purge job from the app (administrators): a preview of what `patrondesk purge` would do in
this organization, then, on confirmation, the purge itself and its report. The rules are
`models.users.deletion.purge`'s; the work runs off the UI thread."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from models.text import plural
from models.users.deletion import PurgeReport, purge
from screens.confirm import CoveredKeys
from tui.keys import PURGE, bindings
from tui.widgets import escape
from tui.worker import run_service


class PurgeScreen(CoveredKeys, ModalScreen[None]):
    BINDINGS = bindings(PURGE)

    class Done(Message):
        def __init__(self, report: PurgeReport | None, error: str = "") -> None:
            super().__init__()
            self.report, self.error = report, error

    def __init__(self) -> None:
        super().__init__()
        self.report: PurgeReport | None = None
        self.running = False

    def compose(self) -> ComposeResult:
        with Vertical(id="purge-box"):
            yield Static("[b]Purge users whose purge date has passed[/b]")
            with VerticalScroll(id="purge-body"):
                yield Static("Reading the accounts due for purge…", id="purge-report")
            yield Static("p purge now · Esc close", classes="hint", id="purge-hint")

    def on_mount(self) -> None:
        self.query_one("#purge-body").focus()  # arrows and page keys scroll the report
        self._run(dry_run=True)

    def _run(self, *, dry_run: bool) -> None:
        self.running = True
        self._purge(dry_run)

    def _purge(self, dry_run: bool) -> None:
        run_service(
            self,
            purge,
            self.app.session.actor,
            dry_run=dry_run,
            on_ok=lambda report: self.post_message(self.Done(report)),
            on_error=lambda exc: self.post_message(self.Done(None, exc.message)),
            group="purge",
            exclusive=True,
        )

    def on_purge_screen_done(self, message: Done) -> None:
        self.running = False
        text = self.query_one("#purge-report", Static)
        if message.report is None:
            text.update(escape(message.error))
            return
        self.report = message.report
        text.update(escape("\n".join(message.report.lines())))
        if not message.report.dry_run or not message.report.purged:
            self.query_one("#purge-hint", Static).update("Esc close")

    def action_purge(self) -> None:
        from screens.confirm import ConfirmScreen

        report = self.report
        if self.running or report is None or not report.dry_run or not report.purged:
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.query_one("#purge-report", Static).update("Purging…")
                self._run(dry_run=False)

        self.app.push_screen(
            ConfirmScreen(
                f"Delete {plural(len(report.purged), 'account')} for good? This cannot be undone.",
                yes="Purge",
            ),
            answer,
        )

    def action_cancel(self) -> None:
        if not self.running:
            self.dismiss(None)
