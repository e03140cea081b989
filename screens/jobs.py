"""Jobs (issue 23): every bulk job of the organization, newest first: when, who, state, the
set, what it did, and its counts (changed, unchanged, skipped, failed). Enter shows its report
(every member skipped or failed, and why), `x` saves that report as a CSV file, `u` undoes an
update job (asked first; run in a worker with its progress, members changed since are refused
and reported). Every read and write runs in a worker."""

from __future__ import annotations

from textual import on
from textual.widgets import Static

from models.errors import PatronDeskError
from models.jobs.jobs import JobInfo, JobReport, list_jobs, report, run_job, undo
from models.jobs.types import DONE, RUNNING, UNDO, UPDATE
from models.text import plural
from screens.confirm import ConfirmScreen, CoveredKeys, InfoScreen
from tui.keys import JOBS, bindings
from tui.screen import KeepStyles, ListScreen
from tui.table import RowTable
from tui.widgets import plain
from tui.worker import run_service

REPORT_SHOWN = 200  # members listed in the report dialog (the CSV file has them all)
NARROW = 110  # below this width the four counts share one column, and the date is shorter
# (label, width; None: what is left)
WIDE_COLUMNS = (
    ("Job", 5),
    ("When", 16),
    ("Who", 10),
    ("State", 7),
    ("Set", 14),
    ("What", None),
    ("Changed", 8),
    ("Same", 6),
    ("Skipped", 7),
    ("Failed", 6),
)
NARROW_COLUMNS = (
    ("Job", 4),
    ("When", 11),
    ("Who", 8),
    ("State", 7),
    ("Set", 10),
    ("What", None),
    ("Chg/same/skip/fail", 18),
)


def job_cells(info: JobInfo, narrow: bool = False) -> tuple[str, ...]:
    counts = (info.changed, info.unchanged, info.skipped, info.failed)
    head = (
        str(info.job_id),
        f"{info.created_at:%m-%d %H:%M}" if narrow else f"{info.created_at:%Y-%m-%d %H:%M}",
        info.actor,
        info.state,
        info.set_name,
        info.what(),
    )
    if narrow:
        return (*head, "/".join(f"{c:,}" for c in counts))
    return (*head, *(f"{c:,}" for c in counts))


def report_text(r: JobReport) -> str:
    lines = r.lines()
    head, items = lines[0], lines[1:]
    if len(items) > REPORT_SHOWN:
        rest = len(items) - REPORT_SHOWN
        items = [*items[:REPORT_SHOWN], f"  … and {rest:,} more (x: save the report as CSV)"]
    return "\n".join([head, *items])


class JobsTable(RowTable):
    """The list of jobs; the screen's keys are its own too (Enter shows the report)."""

    BINDINGS = bindings(JOBS)


class JobsScreen(KeepStyles, CoveredKeys, ListScreen):
    BINDINGS = bindings(JOBS)
    AUTO_FOCUS = "#jobs"
    TABLE = JobsTable
    LIST_ID = "jobs"
    LIST_TITLE = "Jobs"

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[JobInfo] = []

    def lay_out(self, width: int) -> None:
        """Every column fits: narrower than `NARROW`, the counts share one column."""
        self.narrow = width < NARROW
        columns = NARROW_COLUMNS if self.narrow else WIDE_COLUMNS
        fixed = sum(w + 1 for _, w in columns if w)
        what = max(8, width - fixed - 3)
        self.query_one("#jobs", RowTable).set_columns([(k, w or what) for k, w in columns])
        if self.jobs:
            self._fill()

    def _fill(self) -> None:
        table = self.query_one("#jobs", RowTable)
        table.set_rows([job_cells(info, self.narrow) for info in self.jobs], table.cursor)

    def reload(self) -> None:
        self.reading = True
        run_service(
            self,
            list_jobs,
            self.app.session.actor,
            on_ok=self._show,
            on_error=self._failed,
            group="jobs-list",
            exclusive=True,
        )

    def _show(self, jobs: list[JobInfo]) -> None:
        self.reading = False
        self.jobs = jobs
        self._fill()
        text = plural(len(jobs), "job") if jobs else "No jobs yet: run one on a set (Sets, j)."
        self.query_one("#jobs-count", Static).update(plain(text))

    def _failed(self, exc: PatronDeskError) -> None:
        self.reading = False
        self.query_one("#jobs-count", Static).update(plain(exc.message))

    def selected(self) -> JobInfo | None:
        table = self.query_one("#jobs", RowTable)
        if not self.jobs or not 0 <= table.cursor < len(self.jobs):
            self.notify("No job is selected.", severity="warning")
            return None
        return self.jobs[table.cursor]

    # --- actions --------------------------------------------------------------------------

    @on(RowTable.Selected, "#jobs")
    def action_show_report(self) -> None:
        info = self.selected()
        if info is None:
            return
        run_service(
            self,
            report,
            info.job_id,
            self.app.session.actor,
            on_ok=lambda r: self.app.push_screen(InfoScreen(f"Job {info.job_id}", report_text(r))),
            group="jobs-report",
            exclusive=True,
        )

    def action_save_report(self) -> None:
        from screens.job_report_save import SaveReportScreen

        if info := self.selected():
            self.app.push_screen(SaveReportScreen(info.job_id))

    def action_undo(self) -> None:
        from screens.job_run import JobRunScreen

        info = self.selected()
        if info is None:
            return
        if info.kind != UPDATE:
            kind = "an undo" if info.kind == UNDO else f"a {info.kind} job"
            self.notify(f"Job {info.job_id} is {kind}: only an update job can be undone.",
                        severity="warning")  # fmt: skip
            return
        if info.state != DONE:
            self.notify(f"Job {info.job_id} has not finished: it cannot be undone yet.",
                        severity="warning")  # fmt: skip
            return
        job_id, actor = info.job_id, self.app.session.actor

        def answer(yes: bool | None) -> None:
            if yes:
                self.app.push_screen(
                    JobRunScreen(
                        f"Undo job {job_id} ({info.what()})",
                        UPDATE,
                        run_fn=lambda progress: undo(job_id, actor, progress=progress),
                        confirmed=True,
                    ),
                    lambda _: self.reload(),
                )

        self.app.push_screen(
            ConfirmScreen(
                f"Undo job {job_id}: give its {plural(info.changed, 'changed member')} their old "
                "values back? Members changed since are left as they are and reported.",
                yes="Undo",
            ),
            answer,
        )

    def action_resume(self) -> None:
        """Continue a job that was stopped (a logout, a kill) where it stopped, asked first;
        not while a job this session started is still running (it may be that one)."""
        from screens.job_run import JobRunScreen

        info = self.selected()
        if info is None:
            return
        if info.state != RUNNING:
            self.notify(f"Job {info.job_id} has finished: nothing to continue.",
                        severity="warning")  # fmt: skip
            return
        if any(w.group == "bulk-job" and not w.is_finished for w in self.app.workers):
            self.notify("A job of this session is running: wait for its end, then continue.",
                        severity="warning")  # fmt: skip
            return
        job_id, actor = info.job_id, self.app.session.actor
        done = info.changed + info.unchanged + info.skipped + info.failed

        def answer(yes: bool | None) -> None:
            if yes:
                self.app.push_screen(
                    JobRunScreen(
                        f"Continue job {job_id} ({info.what()})",
                        info.kind,
                        run_fn=lambda progress: run_job(
                            job_id, actor, progress=progress, resumed=True
                        ),
                        confirmed=True,
                    ),
                    lambda _: self.reload(),
                )

        self.app.push_screen(
            ConfirmScreen(
                f"Continue job {job_id} where it stopped ({done:,} of {info.total:,} done)?",
                yes="Continue",
            ),
            answer,
        )

    def action_back(self) -> None:
        self.dismiss(None)
