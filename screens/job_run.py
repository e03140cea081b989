"""A bulk job's preview, run and report (issue 23): what the job would do (members, how many
would change, a sample of before/after, every member refused and why; nothing written), then,
confirmed, the job itself in a worker with a progress bar (rows/s, ETA) and its report.

The job runs in a worker of the app, not of this screen: Escape closes the screen and the job
goes on (its end is told in a notification; the Jobs screen lists it). Logging out stops it
after the chunk in progress (`Interrupted`): run again, it continues where it stopped.

`start_job` is the way in from the Sets screen and a set's members: the kind of job first
(update, notify, delete), then the form of an update or a notification."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App, ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import ProgressBar, Static

from models.errors import PatronDeskError
from models.jobs.types import DELETE, NOTIFY, UPDATE, Interrupted, JobReport, Preview, Progress
from screens.confirm import ChoiceScreen, ConfirmScreen, CoveredKeys
from tui.keys import JOB_RUN, bindings
from tui.widgets import plain
from tui.worker import run_service

PREVIEWING, READY, RUNNING, FINISHED = "previewing", "ready", "running", "finished"
VERBS = {UPDATE: "Update", NOTIFY: "Notify", DELETE: "Delete"}

RunFn = Callable[[Callable[[Progress], None]], JobReport]


def start_job(app: App, set_id: int, set_name: str) -> None:
    """Ask which job to run on the set, then open its form (update, notify) or its preview
    (delete)."""

    def chosen(kind: str | None) -> None:
        if kind == UPDATE:
            from screens.job_update import UpdateJobScreen

            app.push_screen(UpdateJobScreen(set_id, set_name))
        elif kind == NOTIFY:
            from screens.job_notify import NotifyJobScreen

            app.push_screen(NotifyJobScreen(set_id, set_name))
        elif kind == DELETE:
            from models.jobs.jobs import preview, run_delete

            actor = app.session.actor
            app.push_screen(
                JobRunScreen(
                    f"Delete the members of set {set_name}",
                    DELETE,
                    preview_fn=lambda progress: preview(DELETE, set_id, actor, progress=progress),
                    run_fn=lambda progress: run_delete(set_id, actor, progress=progress),
                )
            )

    app.push_screen(
        ChoiceScreen(
            f"Which job on set {set_name}?",
            [("u", "Update fields", UPDATE), ("m", "Message", NOTIFY), ("d", "Delete", DELETE)],
        ),
        chosen,
    )


REFUSALS_SHOWN = 1_000  # a window of text, not a file: `job ... --dry-run` lists them all


def preview_text(p: Preview) -> str:
    """The preview in words: the counts first, then the sample and the refusals (the first
    `REFUSALS_SHOWN` of them: a Static of 50,000 lines would hold up the screen)."""
    lines = p.lines()
    shown = len(lines) - len(p.refused) + REFUSALS_SHOWN
    if len(p.refused) > REFUSALS_SHOWN:
        rest = len(p.refused) - REFUSALS_SHOWN
        lines = [*lines[:shown], f"  … and {rest:,} more refused (the command line's "
                 "--dry-run lists them all; the job's report will too)"]  # fmt: skip
    return "\n".join(lines)


class OpensJobRun:
    """Mixin for a job's form (update, notify): its preview shown in `JobRunScreen`, which runs
    the job once confirmed; the form then closes with True and has nothing left unsaved."""

    ran = False

    def open_run(self, title: str, kind: str, preview: Preview, run_fn) -> None:  # noqa: ANN001
        self.busy = False
        self.query_one("#job-message").clear()

        def closed(started: bool | None) -> None:
            if started:
                self.dismiss(True)

        def ran() -> None:
            self.ran = True

        self.app.push_screen(
            JobRunScreen(title, kind, preview=preview, on_start=ran, run_fn=run_fn), closed
        )


class JobRunScreen(CoveredKeys, ModalScreen[bool]):
    """Dismisses with True once the job started (done, or going on in the background), else
    False (the form under it stays, to change what to do). Give `preview` (worked out by
    the form) or `preview_fn(progress)` (run here, in a worker); `run_fn(progress)` runs the job (an
    undo has no preview: `confirmed`, it starts at once)."""

    BINDINGS = bindings(JOB_RUN)

    class Progressed(Message):
        def __init__(self, progress: Progress) -> None:
            super().__init__()
            self.progress = progress

    def __init__(
        self,
        title: str,
        kind: str,
        *,
        run_fn: RunFn,
        preview: Preview | None = None,
        preview_fn: Callable[[Callable[[Progress], None]], Preview] | None = None,
        confirmed: bool = False,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        """`on_start()`: called when the job starts (the form under it has nothing unsaved
        any more: logging out does not ask about it)."""
        super().__init__()
        self.on_start = on_start
        self.title_text, self.kind, self.run_fn = title, kind, run_fn
        self.preview, self.preview_fn, self.confirmed = preview, preview_fn, confirmed
        self.state = PREVIEWING
        self.report: JobReport | None = None
        self.started = False  # the job was confirmed and started

    @property
    def accepting_keys(self) -> bool:
        """Keys typed while the preview is read wait for it (ctrl+s must run what was seen)."""
        return self.state != PREVIEWING

    def compose(self) -> ComposeResult:
        with Vertical(id="job-box"):
            yield Static(plain(self.title_text), id="job-title")
            yield ProgressBar(total=None, show_eta=False, show_percentage=True, id="job-bar")
            yield Static("", id="job-rate")
            with VerticalScroll(id="job-body"):
                yield Static("Reading the members…", id="job-text", markup=False)
            yield Static("", id="job-hint", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#job-bar", ProgressBar).display = False  # shown once the job runs
        self.query_one("#job-body").focus()  # arrows and page keys scroll the text
        if self.confirmed:
            self._run()
        elif self.preview is not None:
            self._previewed(self.preview)
        else:
            screen = self

            def read(p: Progress) -> None:
                screen.post_message(JobRunScreen.Progressed(p))

            run_service(
                self,
                self.preview_fn,
                read,
                on_ok=self._previewed,
                on_error=self._failed,
                group="job-preview",
                exclusive=True,
            )

    def _hint(self, text: str) -> None:
        self.query_one("#job-hint", Static).update(plain(text))

    def _previewed(self, p: Preview) -> None:
        self.preview = p
        self.state = READY
        self.query_one("#job-text", Static).update(plain(preview_text(p)))
        self.query_one("#job-bar", ProgressBar).update(total=max(p.members, 1), progress=0)
        self.query_one("#job-rate", Static).update(f"Preview read in {p.elapsed_ms:,.0f} ms.")
        if p.would_change:
            self._hint(f"ctrl+s: {VERBS[self.kind].lower()} {p.would_change:,} now · Esc back")
        else:
            self._hint("Nothing would change. Esc back")

    def _failed(self, exc: PatronDeskError) -> None:
        self.state = FINISHED if self.state == RUNNING else READY
        self.query_one("#job-text", Static).update(plain(exc.message))
        self._hint("Esc back")

    def action_run(self) -> None:
        p = self.preview
        if self.state != READY or p is None or not p.would_change:
            return

        def answer(yes: bool | None) -> None:
            if yes and self.state == READY:
                self._run()

        noun = "member" if p.would_change == 1 else "members"
        question = f"{VERBS[self.kind]} {p.would_change:,} {noun} now?"
        if self.kind == DELETE:
            question += " Deleted users cannot be brought back."
        self.app.push_screen(ConfirmScreen(question, yes=VERBS[self.kind]), answer)

    def _run(self) -> None:
        """The job, in a worker of the app: it goes on when this screen is closed."""
        self.state = RUNNING
        self.started = True
        if self.on_start is not None:
            self.on_start()
        self.query_one("#job-bar", ProgressBar).display = True
        self.query_one("#job-text", Static).update("Running…")
        self._hint("Esc: close (the job goes on; see Jobs)")
        app, session, run_fn = self.app, self.app.session, self.run_fn
        screen = self

        def progress(p: Progress) -> None:
            if app.session is not session:  # logged out: stop after this chunk
                raise Interrupted
            screen.post_message(JobRunScreen.Progressed(p))

        def done(report: JobReport) -> None:
            info = report.info
            app.notify(
                f"Job {info.job_id} done: changed {info.changed:,}, unchanged "
                f"{info.unchanged:,}, skipped {info.skipped:,}, failed {info.failed:,}."
            )
            if screen.is_attached:
                screen._finished(report)

        def failed(exc: PatronDeskError) -> None:
            app.notify(exc.message, severity="error", timeout=10)
            if screen.is_attached:
                screen._failed(exc)

        run_service(app, run_fn, progress, on_ok=done, on_error=failed, group="bulk-job")

    def on_job_run_screen_progressed(self, message: Progressed) -> None:
        p = message.progress
        if self.state == PREVIEWING:
            self.query_one("#job-text", Static).update(f"Reading the members… {p.done:,} read")
            return
        self.query_one("#job-bar", ProgressBar).update(total=max(p.total, 1), progress=p.done)
        self.query_one("#job-rate", Static).update(plain(p.line()))

    def _finished(self, report: JobReport) -> None:
        self.state = FINISHED
        self.report = report
        info = report.info
        bar = self.query_one("#job-bar", ProgressBar)
        bar.update(total=max(info.total, 1), progress=info.total)
        self.query_one("#job-text", Static).update(plain("\n".join(report.lines())))
        self._hint("Esc close")

    def action_close(self) -> None:
        if self.state == RUNNING:
            self.app.notify("The job goes on; its end will be told here. See Jobs.")
        self.dismiss(self.started)
