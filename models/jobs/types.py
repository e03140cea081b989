"""What bulk jobs share (issue 23; `models.jobs.jobs`): the kinds of job and of outcome, the
chunking, the fields an update may set, the errors and the results handed to the screens and
the command line."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from models.errors import PatronDeskError
from models.store.tables import (
    Campus,
    JobCategory,
    UserGroup,
)
from models.text import plural

UPDATE, DELETE, NOTIFY, UNDO = "update", "delete", "notify", "undo"
RUNNING, DONE = "running", "done"
CHANGED, UNCHANGED, SKIPPED, FAILED = "changed", "unchanged", "skipped", "failed"
# Members a chunk writes in its one transaction. A chunk's cost is mostly the pages it
# dirties, the member indexes' most of all, wherever its members sit in them: 1,000 a chunk
# write half the pages per member that 500 do, and a desk's save still waits for one chunk
# only (bench/jobs.py: desk_save_p95_ms_during_job).
CHUNK = 1000
SAMPLE = 10

# `--set FIELD=VALUE` of an update job: the name given -> the field changed.
UPDATE_FIELDS = {
    "user_group": "user_group",
    "expiry": "expiry_date",
    "expiry_date": "expiry_date",
    "purge": "purge_date",
    "purge_date": "purge_date",
    "status": "status",
    "campus": "campus",
    "job_category": "job_category",
}
CODE_MODELS = {"user_group": UserGroup, "campus": Campus, "job_category": JobCategory}
DATE_COLUMNS = frozenset({"expiry_date", "purge_date", "status_date"})
FK_COLUMNS = frozenset({"user_group", "campus", "job_category"})
RENEW = "renew"
_RELATIVE = re.compile(r"^\+(\d{1,5})d$")


class JobError(PatronDeskError):
    pass


class Interrupted(PatronDeskError):  # noqa: N818 - raised by a progress callback to stop
    """Raised by a `progress` callback to stop a run after the chunk just written (the Jobs
    screen's Cancel; the tests' kill): the job stays `running` and continues when run again."""

    def __init__(self) -> None:
        super().__init__("The job was stopped; run it again to continue where it stopped.")


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    elapsed: float  # seconds since this run started
    done_this_run: int = 0

    @property
    def rate(self) -> float:
        return self.done_this_run / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate else None

    def line(self) -> str:
        eta = f"{self.eta:.0f} s" if self.eta is not None else "?"
        return f"{self.done:,}/{self.total:,} rows, {self.rate:,.0f} rows/s, ETA {eta}"


ProgressFn = Callable[[Progress], None] | None


@dataclass(frozen=True)
class Refusal:
    account_id: int
    primary_id: str
    reason: str


@dataclass(frozen=True)
class Preview:
    """What a run would do now; nothing was written."""

    kind: str
    members: int
    would_change: int
    unchanged: int
    refused: list[Refusal]
    sample: list[tuple[str, dict[str, tuple[str, str]]]]  # (primary id, field -> (before, after))
    elapsed_ms: float = 0.0

    def lines(self) -> list[str]:
        verb = {UPDATE: "would change", DELETE: "would delete", NOTIFY: "would notify"}[self.kind]
        out = [
            f"Preview: {plural(self.members, 'member')}; {verb} {self.would_change}; "
            f"{self.unchanged} unchanged; {len(self.refused)} refused. Nothing was written."
        ]
        for primary_id, diff in self.sample:
            changes = ", ".join(f"{k}: {a or '-'} -> {b or '-'}" for k, (a, b) in diff.items())
            out.append(f"  {primary_id}  {changes}")
        out += [f"  refused  {r.primary_id}  {r.reason}" for r in self.refused]
        return out


@dataclass(frozen=True)
class JobInfo:
    job_id: int
    kind: str
    set_name: str
    params: dict
    state: str
    actor: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    total: int
    changed: int
    unchanged: int
    skipped: int
    failed: int
    undo_of: int | None

    def what(self) -> str:
        if self.kind == UPDATE:
            parts = [f"{k}={v}" for k, v in self.params["fields"].items()]
            if self.params.get("rows"):
                from models.jobs.rows import describe

                parts.append(describe(self.params["rows"]))
            return "update " + ", ".join(parts)
        if self.kind == NOTIFY:
            return f"notify ({self.params.get('letter')}: {self.params.get('subject')})"
        if self.kind == UNDO:
            return f"undo of job {self.undo_of}"
        return self.kind

    def line(self) -> str:
        return (
            f"{self.job_id}  {self.created_at:%Y-%m-%d %H:%M}  {self.actor}  {self.state}  "
            f"{self.set_name}  {self.what()}  changed {self.changed}, unchanged "
            f"{self.unchanged}, skipped {self.skipped}, failed {self.failed} of {self.total}"
        )


@dataclass(frozen=True)
class ItemReport:
    account_id: int
    primary_id: str
    outcome: str
    reason: str


@dataclass(frozen=True)
class JobReport:
    info: JobInfo
    items: list[ItemReport] = field(default_factory=list)  # skipped and failed, in order
    resumed: bool = False

    def lines(self) -> list[str]:
        i = self.info
        head = (
            f"Job {i.job_id} ({i.what()}) on set {i.set_name!r}: {i.state}; changed "
            f"{i.changed}, unchanged {i.unchanged}, skipped {i.skipped}, failed {i.failed} "
            f"of {i.total}."
        )
        if self.resumed:
            head += " (continued where it stopped)"
        return [head, *(f"  {r.outcome}  {r.primary_id}  {r.reason}" for r in self.items)]

    def csv_rows(self) -> list[list[str]]:
        """The report as CSV rows (the Jobs screen saves it)."""
        return [["account_id", "primary_id", "outcome", "reason"]] + [
            [str(r.account_id), r.primary_id, r.outcome, r.reason] for r in self.items
        ]
