"""Bulk jobs on a set (issue 23): update fields, notify, delete, and undo an update.

Every job has a *preview* that writes nothing (how many members, how many would change, a sample
of before/after, every member refused and why) and a *run*:

- The run first reads the members (a logical set is evaluated by the search now) and freezes
  them, with the version of each account it read, as the job's items, in one transaction with the
  job row (who, when, what, the counts, its state).
- Then it works through the items in chunks, each chunk in its own transaction with the counts:
  a kill loses at most the chunk in progress, and the same command (same set, same job, same
  actor) finds the job still `running` and continues with the items not done: every member is
  done once.
- Per member, before any write, the checks of the one-user service: the permission to edit the
  user (`Action.EDIT_USER`, `CHANGE_STATUS` for the status; a role above the actor's is refused,
  so a desk role cannot raise anyone), an external account's fields the SIS owns, and the check
  of the values (`models.users.check`, through `details.GeneralChecks`, the batch form of
  `check_general`: the values checked once per job, the member's half once per distinct
  reading of a member). Optimistic locking: an account whose version is no longer the one the
  job read (a desk saved it meanwhile) is skipped and reported, never overwritten.
- An update job may also add or remove rows (`models.jobs.rows`: statistical categories, roles
  with their scope, blocks, notes), each through the user's own tab's checks and services; such
  a job writes member by member, each in a savepoint.
- Each changed user gets History entries with source `job` and the job's id
  (`AuditEvent.job_id`). Undo of an update job reads them back and restores the old values, as a
  job of its own, refusing members changed since the job (reported).
- Delete applies the deletion rules of one user (`models.users.deletion`) to each member; those
  that may not be deleted are skipped with their reasons. Notify queues the general letter to
  each member (`models.mail.letters`, in the user's language, through the outbox).

Plain functions taking an `Actor`, returning dataclasses, with a `progress` callback: the Jobs
screen drives them from a worker, the command line directly.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

from peewee import fn

from models.access.permissions import Action, authorize, prime_held_roles
from models.audit import Actor
from models.config.settings import Settings, load_settings
from models.enums import LetterKind, Source
from models.errors import (
    ConflictError,
    NotFound,
    PatronDeskError,
    PermissionDenied,
    ValidationError,
)
from models.jobs import rows as job_rows
from models.jobs.plan import (
    MEMBER_COLUMNS,
    ChunkWrite,
    _changed_since,
    _Codes,
    _prepare,
    _update_plan,
    _write_chunk,
    parse_update,
)
from models.jobs.rows import parse_rows
from models.jobs.sets import Member, iter_members, load_set, organization_of
from models.jobs.types import (
    CHANGED,
    CHUNK,
    CODE_MODELS,
    DATE_COLUMNS,
    DELETE,
    DONE,
    FAILED,
    FK_COLUMNS,
    NOTIFY,
    RUNNING,
    SAMPLE,
    SKIPPED,
    UNCHANGED,
    UNDO,
    UPDATE,
    Interrupted,
    ItemReport,
    JobError,
    JobInfo,
    JobReport,
    Preview,
    Progress,
    ProgressFn,
    Refusal,
)
from models.runtime import runtime
from models.store.base import database, fold_key
from models.store.bulk import BulkWriter, Table
from models.store.reading import id_list, models_by_id, one_reading
from models.store.tables import (
    Account,
    AuditEvent,
    Job,
    JobItem,
    Organization,
    UserSet,
)
from models.users.details import GeneralChecks

# --- Who may run a job ---------------------------------------------------------------------------


def _needed(kind: str, params: dict) -> list[Action]:
    """The rights a job of this kind and these parameters takes, besides `Action.RUN_JOBS`
    (an undo takes those of the job it undoes)."""
    if kind == DELETE:
        return [Action.DELETE_USER]
    if kind == NOTIFY:
        return [Action.MANAGE_ATTACHMENTS]
    fields = params.get("fields") or {}
    out = []
    if set(fields) - {"status"}:
        out.append(Action.EDIT_USER)
    if "status" in fields:
        out.append(Action.CHANGE_STATUS)
    return out + job_rows.needed(params.get("rows") or [])


def authorize_job(actor: Actor, kind: str, params: dict | None = None) -> None:
    """Raise `PermissionDenied` unless `actor` may run this job: the right to run jobs (User
    Manager, User Administrator; never a circulation desk role, which edits one user at a
    time), and the rights the job's work takes (a delete job: deleting users; a role given or
    taken: a role the actor may grant, `authorize_grant`). `authorize` checks the actor's own
    standing first (deactivated or expired: refused). Every entry point
    (preview, start, `run_job`, `undo`) asks it before any item or row is written; each member
    is then checked as editing one user is. The system (the command line) may."""
    if actor.account is None:
        return
    authorize(actor.account, Action.RUN_JOBS)
    for action in _needed(kind, params or {}):
        authorize(actor.account, action)
    job_rows.authorize_grants(actor, (params or {}).get("rows") or [])


def may_run_jobs(actor: Actor, kind: str = UPDATE) -> bool:
    """Whether `actor` may run a job of this kind at all (the screens show or hide the
    command); each member is still checked when it runs."""
    try:
        authorize_job(actor, kind)
    except PermissionDenied:
        return False
    return True


# --- Jobs ---------------------------------------------------------------------------------------


def _job_actor(actor: Actor, job: Job) -> Actor:
    """The actor with the job's id: its History entries have source `job` and name it."""
    return Actor(actor.account, Source.JOB, job_id=job.id)


def _info(job: Job) -> JobInfo:
    return JobInfo(
        job_id=job.id,
        kind=job.kind,
        set_name=job.set_name,
        params=json.loads(job.params),
        state=job.state,
        actor=job.actor,
        created_at=job.created_at,
        finished_at=job.finished_at,
        total=job.total,
        changed=job.changed,
        unchanged=job.unchanged,
        skipped=job.skipped,
        failed=job.failed,
        undo_of=job.undo_of,
    )


def _load_job(job_id: int, actor: Actor, organization: Organization | int | None = None) -> Job:
    org_id = organization_of(actor, organization)
    job = Job.get_or_none((Job.id == job_id) & (Job.organization == org_id))
    if job is None:
        raise NotFound(f"No job {job_id} in this organization.")
    return job


class _Item(NamedTuple):
    """A job's item as a chunk reads it (a tuple: a chunk's items made models cost more
    than their work)."""

    id: int
    seq: int
    account_id: int
    primary_id: str
    version: int
    outcome: str


_ITEM_COLUMNS = (
    JobItem.id, JobItem.seq, JobItem.account_id, JobItem.primary_id, JobItem.version,
    JobItem.outcome,
)  # fmt: skip


@functools.cache
def _item_table() -> Table:
    return Table(JobItem, explicit_id=False)


def _freeze(
    kind: str,
    params: dict,
    actor: Actor,
    members: Iterable[list[Member]],
    *,
    org_id: int,
    user_set: UserSet | None,
    undo_of: int | None = None,
) -> Job:
    """The job row and its items (the members and the versions read), in one transaction."""
    now = runtime.now()
    table, writer = _item_table(), BulkWriter("a job needs")
    with database.atomic():
        job = Job.create(
            organization=org_id,
            user_set=user_set.id if user_set else None,
            set_name=user_set.name if user_set else "",
            kind=kind,
            params=json.dumps(params, sort_keys=True),
            state=RUNNING,
            actor_id=actor.account_id,
            actor=actor.name,
            source=actor.source.value,
            created_at=now,
            undo_of=undo_of,
        )
        seq, row = 0, table.row
        for chunk in members:
            rows = [
                row(job_id=job.id, seq=seq + n, account_id=m.account_id,
                    primary_id=m.primary_id, version=m.version)
                for n, m in enumerate(chunk)
            ]  # fmt: skip
            seq += len(rows)
            writer.insert(table, rows)
        Job.update(total=seq).where(Job.id == job.id).execute()
    return Job.get_by_id(job.id)


def _unfinished(
    kind: str, params: dict, actor: Actor, org_id: int, set_id: int | None
) -> Job | None:
    return (
        Job.select()
        .where(
            (Job.organization == org_id)
            & (Job.kind == kind)
            & (Job.state == RUNNING)
            & (Job.params == json.dumps(params, sort_keys=True))
            & (Job.user_set == set_id)
            & (
                Job.actor_id.is_null()
                if actor.account is None
                else Job.actor_id == actor.account_id
            )
        )
        .order_by(Job.id.desc())
        .first()
    )


def _accounts_of(
    items: list[JobItem], columns: tuple[str, ...] | None = None
) -> dict[int, Account]:
    """The members' accounts by id: only those still the accounts the job read, with the
    primary identifier the item keeps. An id freed by a deletion or a merge is given again by
    SQLite to the next account created (the highest one): that newcomer is not the member, and
    a resumed job must never delete, write or mail it (the member "no longer exists"). An
    account whose primary identifier changed since was saved since, which the job skips anyway;
    an item that kept no primary identifier is taken by its id."""
    wanted = {i.account_id: fold_key(i.primary_id) for i in items}
    rows = models_by_id(Account, wanted, columns=columns).values()
    return {a.id: a for a in rows if wanted[a.id] in (a.primary_id_key, "", None)}


def _apply_one(
    job: Job, params: dict, item: JobItem, account: Account | None, actor: Actor
) -> tuple[str, str, int | None]:
    """Do a delete or notify job on one member: (outcome, reason, version after)."""
    if account is None:
        return FAILED, "no longer exists", None
    if job.kind == DELETE:
        from models.users.deletion import DeletionRefused, delete_user

        try:
            delete_user(account.id, item.version, actor)
        except DeletionRefused as exc:
            return SKIPPED, "; ".join(exc.reasons), None
        return CHANGED, "", None
    # Notify: a letter overwrites nothing, no version to hold.
    from models.mail.letters import queue_general_message

    queue_general_message(account.id, params["subject"], params["body"], actor)
    return CHANGED, "", None


class _Changes:
    """What an update or undo job writes, worked out for a chunk of members: the job's values
    checked once (`_prepare`), the undo's History read once per chunk."""

    def __init__(self, job: Job, params: dict, actor: Actor, settings: Settings) -> None:
        self.job, self.actor, self.settings = job, actor, settings
        self.fields = dict(params.get("fields") or {})
        self.checks = (
            _prepare(self.fields, job.organization_id, actor, settings)
            if job.kind == UPDATE
            else None
        )
        self.retired = _RetiredCodes()
        self.rows = list(params.get("rows") or [])
        if job.kind == UNDO:
            original = Job.get_or_none(Job.id == job.undo_of)
            self.rows_mode = bool(original and json.loads(original.params).get("rows"))
        else:
            self.rows_mode = bool(self.rows)
        # A job with rows writes member by member (`_write_member`): item id -> its steps.
        self.steps: dict[int, list[job_rows.Step]] = {}

    def chunk(
        self, items: list[JobItem], accounts: dict[int, Account]
    ) -> tuple[dict[int, tuple[str, str, int | None]], list]:
        """(item id -> outcome, reason, version after) of the members settled without a
        write, and the others planned as (item, account, new, old). Reads only: the roles
        the members hold are read with one query (`prime_held_roles`), the actor's once."""
        with one_reading():
            if self.actor.account is not None:  # the system acts over every role
                prime_held_roles(list(accounts))
            return self._chunk(items, accounts)

    def _chunk(
        self, items: list[JobItem], accounts: dict[int, Account]
    ) -> tuple[dict[int, tuple[str, str, int | None]], list]:
        events = _undo_events(self.job, list(accounts)) if self.job.kind == UNDO else {}
        outcomes: dict[int, tuple[str, str, int | None]] = {}
        planned = []
        for item in items:
            account = accounts.get(item.account_id)
            if account is None:
                outcomes[item.id] = (FAILED, "no longer exists", None)
                continue
            if account.version != item.version:
                outcomes[item.id] = (SKIPPED, _changed_since(account), None)
                continue
            try:
                new, old, steps = self._plan(account, events.get(account.id, []))
            except PatronDeskError as exc:
                outcomes[item.id] = (SKIPPED, exc.message, None)
                continue
            if not new and not steps:
                outcomes[item.id] = (UNCHANGED, "", item.version)
                continue
            if steps:
                self.steps[item.id] = steps
            planned.append((item, account, new, old))
        return outcomes, planned

    def _plan(self, account: Account, events: list[tuple]) -> tuple[dict, dict, list]:
        return _plan_member(
            self.job.kind, account, self.fields, self.rows, self.actor, self.settings,
            self.checks, events, self.retired,
        )  # fmt: skip


def _plan_member(
    kind: str,
    account: Account,
    fields: dict[str, str],
    rows: list[dict],
    actor: Actor,
    settings: Settings,
    checks: GeneralChecks | None,
    events: list[tuple] = (),  # type: ignore[assignment]
    retired: _RetiredCodes | None = None,
) -> tuple[dict, dict, list[job_rows.Step]]:
    """What an update (or undo) job writes on one member: (column -> new value, column -> old
    value, the rows' steps); raises the member's refusal. Reads only."""
    if kind == UNDO:
        retired = retired or _RetiredCodes()
        account_events = [(f, old) for entity, _, _, f, old in events if entity == "account"]
        new, old = (
            _undo_plan(account, actor, account_events, retired) if account_events else ({}, {})
        )
        return new, old, job_rows.undo_steps(list(events), retired.problem)
    new, old = _update_plan(account, fields, actor, settings, checks) if fields else ({}, {})
    steps = job_rows.plan(account, rows, actor, settings) if rows else []
    return new, old, steps


def _write_member(
    entry: tuple[JobItem, Account, dict, dict],
    steps: list[job_rows.Step],
    actor: Actor,
    settings: Settings,
) -> tuple[str, str, int | None]:
    """Write one member of a job with rows, in a savepoint: its fields at the version the job
    read (`_write_chunk`), then its rows through the one-user services (`job_rows.apply`),
    each from the version the last write left. A refusal undoes that member only."""
    item, account, new, _old = entry
    try:
        with database.atomic():
            version = item.version
            if new:
                refused = _write_chunk([entry], actor)
                if item.id in refused:
                    outcome, reason = refused[item.id]
                    return outcome, reason, None
                version += 1
            version = job_rows.apply(account.id, version, steps, actor, settings)
            return CHANGED, "", version
    except ConflictError:
        now = Account.get_or_none(Account.id == account.id)
        return (SKIPPED, _changed_since(now), None) if now else (FAILED, "no longer exists", None)
    except PatronDeskError as exc:
        return SKIPPED, exc.message, None


def _apply_guarded(
    job: Job, params: dict, item: JobItem, account: Account | None, actor: Actor
) -> tuple[str, str, int | None]:
    """`_apply_one` in a savepoint: one member's failure undoes that member only."""
    try:
        with database.atomic():
            return _apply_one(job, params, item, account, actor)
    except ConflictError:
        return SKIPPED, _changed_since(Account.get_by_id(item.account_id)), None
    except PatronDeskError as exc:
        return SKIPPED, exc.message, None


def _record_outcomes(
    items: list[JobItem], outcomes: dict[int, tuple[str, str, int | None]]
) -> dict[str, int]:
    """Store the chunk's outcomes on its items: one UPDATE per kind of outcome without a
    reason (the version after is the version read, plus one when changed), one per item with
    a reason. Returns the counts."""
    counts = {CHANGED: 0, UNCHANGED: 0, SKIPPED: 0, FAILED: 0}
    # Items of the same outcome, reason and version step (none, +0, +1) take one statement
    # (the members refused for the same reason: an SIS-owned field, a role above the actor's).
    same: dict[tuple[str, str, int | None], list[int]] = defaultdict(list)
    for item in items:
        outcome, reason, after = outcomes[item.id]
        counts[outcome] += 1
        reason = reason[:2000]
        if after is None or after - item.version in (0, 1):
            same[(outcome, reason, None if after is None else after - item.version)].append(item.id)
        else:
            JobItem.update(outcome=outcome, reason=reason, version_after=after).where(
                JobItem.id == item.id
            ).execute()
    for (outcome, reason, bump), ids in same.items():
        after = None if bump is None else JobItem.version + bump
        for start in range(0, len(ids), 500):
            JobItem.update(outcome=outcome, reason=reason, version_after=after).where(
                JobItem.id.in_(id_list(ids[start : start + 500]))
            ).execute()
    return counts


def _first_pending(job_id: int) -> int:
    """The seq of the job's first item not done (its chunks are done in seq order; a kill
    loses the chunk in progress whole), past the last when every one is done."""
    first = (
        JobItem.select(fn.MIN(JobItem.seq))
        .where((JobItem.job == job_id) & (JobItem.outcome == ""))
        .scalar()
    )
    return first if first is not None else 1 << 62


def run_job(
    job_id: int,
    actor: Actor,
    *,
    progress: ProgressFn = None,
    chunk: int = CHUNK,
    organization: Organization | int | None = None,
    resumed: bool = False,
) -> JobReport:
    """Work through the job's items not done yet, `chunk` at a time, each chunk's writes in
    their own transaction with the job's counts (an update or undo reads and checks the chunk
    before it: the transaction holds only its writes). `progress` is called after each chunk (raise
    `Interrupted` in it to stop: the job continues when run again)."""
    authorize_job(actor, "")  # the right to run jobs, before the job is even read
    job = _load_job(job_id, actor, organization)
    params = json.loads(job.params)
    authorize_job(actor, *_what_it_takes(job, params))
    if job.state == DONE:
        return report(job.id, actor, organization=organization)
    settings = load_settings()
    acting = _job_actor(actor, job)
    changes = _Changes(job, params, acting, settings) if job.kind in (UPDATE, UNDO) else None
    started, done_now = time.perf_counter(), 0
    done = JobItem.select().where((JobItem.job == job.id) & (JobItem.outcome != "")).count()
    last_seq = _first_pending(job.id) - 1
    while True:
        # The next chunk after the last one, by the (job, seq) index: a range read of the
        # chunk, not a scan of the pending items (or of the done ones) for each chunk.
        query = (
            JobItem.select(*_ITEM_COLUMNS)
            .where((JobItem.job == job.id) & (JobItem.seq > last_seq))
            .order_by(JobItem.seq)
            .limit(chunk)
        )
        items = list(map(_Item._make, database.execute_sql(*query.sql()).fetchall()))
        if not items:
            break
        last_seq = items[-1].seq
        items = [i for i in items if i.outcome == ""]
        if not items:
            continue
        if changes is not None:
            # Read, check and work out the writes before the write transaction, which holds
            # only the writes: a desk's save waits for at most that (SQLite has one writer at
            # a time). Safe: each account is written only at the version read (`ChunkWrite`).
            accounts = _accounts_of(items, None if changes.rows_mode else MEMBER_COLUMNS)
            outcomes, planned = changes.chunk(items, accounts)
            writes = None if changes.rows_mode else ChunkWrite(planned, acting)
        with database.atomic():
            if changes is not None and changes.rows_mode:
                for entry in planned:
                    steps = changes.steps.pop(entry[0].id, [])
                    outcomes[entry[0].id] = _write_member(entry, steps, acting, settings)
            elif changes is not None:
                refused = writes.write()
                for item, _account, _new, _old in planned:
                    outcome, reason = refused.get(item.id, (CHANGED, ""))
                    after = item.version + 1 if outcome == CHANGED else None
                    outcomes[item.id] = (outcome, reason, after)
            else:
                accounts = _accounts_of(items)
                outcomes = {}
                for item in items:
                    outcomes[item.id] = _apply_guarded(
                        job, params, item, accounts.get(item.account_id), acting
                    )
            counts = _record_outcomes(items, outcomes)
            Job.update(
                changed=Job.changed + counts[CHANGED],
                unchanged=Job.unchanged + counts[UNCHANGED],
                skipped=Job.skipped + counts[SKIPPED],
                failed=Job.failed + counts[FAILED],
            ).where(Job.id == job.id).execute()
        done += len(items)
        done_now += len(items)
        if progress:
            progress(Progress(done, job.total, time.perf_counter() - started, done_now))
    with database.atomic():
        Job.update(state=DONE, finished_at=runtime.now()).where(Job.id == job.id).execute()
    return report(job.id, actor, organization=organization, resumed=resumed)


def _what_it_takes(job: Job, params: dict) -> tuple[str, dict]:
    """(kind, params) whose rights running `job` takes: an undo's are its original's."""
    if job.kind == UNDO:
        original = Job.get_or_none(Job.id == job.undo_of)
        return UPDATE, json.loads(original.params) if original else {}
    return job.kind, params


def _start(
    kind: str,
    params: dict,
    set_ref: int | str,
    actor: Actor,
    progress: ProgressFn,
    chunk: int,
    organization: Organization | int | None,
) -> JobReport:
    authorize_job(actor, kind, params)
    row = load_set(set_ref, actor, organization)
    job = _unfinished(kind, params, actor, row.organization_id, row.id)
    resumed = job is not None
    if job is None:
        job = _freeze(kind, params, actor, iter_members(row, actor), org_id=row.organization_id,
                      user_set=row)  # fmt: skip
    return run_job(job.id, actor, progress=progress, chunk=chunk,
                   organization=row.organization_id, resumed=resumed)  # fmt: skip


def run_update(
    set_ref: int | str,
    fields: dict[str, str],
    actor: Actor,
    *,
    progress: ProgressFn = None,
    chunk: int = CHUNK,
    organization: Organization | int | None = None,
    rows: list[dict] | None = None,
) -> JobReport:
    """Update these fields (`parse_update`) and add or remove these rows (`parse_rows`:
    statistical categories, roles, blocks, notes) on every member; a killed run of the same
    job is continued instead of started again."""
    return _start(UPDATE, _update_params(fields, rows), set_ref, actor, progress, chunk,
                  organization)  # fmt: skip


def _update_params(fields: dict[str, str] | None, rows: list[dict] | None) -> dict:
    if not fields and not rows:
        raise ValidationError({"set": "say what to change: --set FIELD=VALUE, --add, --remove"})
    params: dict = {"fields": dict(fields or {})}
    if rows:  # only then: a job without rows keeps the parameters it always had
        params["rows"] = list(rows)
    return params


def _notify_params(letter: str, subject: str, body: str) -> dict:
    if letter != LetterKind.GENERAL.value:
        raise ValidationError({"letter": "is general (the letter written by staff)"})
    return {"letter": letter, "subject": subject, "body": body}


def run_notify(
    set_ref: int | str,
    subject: str,
    body: str,
    actor: Actor,
    *,
    letter: str = LetterKind.GENERAL.value,
    progress: ProgressFn = None,
    chunk: int = CHUNK,
    organization: Organization | int | None = None,
) -> JobReport:
    """Queue the letter to every member, in each one's language (the outbox sends it)."""
    from models.mail.letters import check_general_message

    subject, body = check_general_message(subject, body)
    params = _notify_params(letter, subject, body)
    return _start(NOTIFY, params, set_ref, actor, progress, chunk, organization)


def run_delete(
    set_ref: int | str,
    actor: Actor,
    *,
    progress: ProgressFn = None,
    chunk: int = CHUNK,
    organization: Organization | int | None = None,
) -> JobReport:
    """Delete every member the deletion rules allow; the others are skipped with reasons."""
    return _start(DELETE, {}, set_ref, actor, progress, chunk, organization)


# --- Preview ------------------------------------------------------------------------------------


def _preview_one(  # noqa: ANN202
    kind: str,
    params: dict,
    account: Account,
    actor: Actor,
    settings: Settings,
    checks: GeneralChecks | None = None,
):
    """(new, old) for an update; ({"delete"/"notify": ...}, {}) for the others; raises the
    refusal."""
    if kind == UPDATE:
        new, old, steps = _plan_member(
            UPDATE, account, params["fields"], params.get("rows") or [], actor, settings, checks
        )
        if steps:
            for k, (before, after) in job_rows.diff(steps).items():
                new[k], old[k] = after, before
        return new, old
    if kind == DELETE:
        from models.users.deletion import DeletionRefused, deletion_problems

        authorize(actor.account, Action.DELETE_USER, account)
        if reasons := deletion_problems(account, actor):
            raise DeletionRefused(reasons)
        return {"deleted": "yes"}, {"deleted": ""}
    from models.mail.letters import LetterRefused, receives

    authorize(actor.account, Action.MANAGE_ATTACHMENTS, account)
    if not receives(account, LetterKind.GENERAL):
        raise LetterRefused("opted out of this letter")
    return {"letter": "queued"}, {"letter": ""}


def preview(
    kind: str,
    set_ref: int | str,
    actor: Actor,
    *,
    fields: dict[str, str] | None = None,
    organization: Organization | int | None = None,
    progress: ProgressFn = None,
    rows: list[dict] | None = None,
) -> Preview:
    """What the job would do now, member by member, with the same checks as the run; nothing
    is written."""
    started = time.perf_counter()
    params = _update_params(fields, rows) if kind == UPDATE else {}
    authorize_job(actor, kind, params)
    row = load_set(set_ref, actor, organization)
    settings = load_settings()
    checks = (
        _prepare(params["fields"], row.organization_id, actor, settings) if kind == UPDATE else None
    )
    codes = _Codes()
    # An update's members are read with the columns its checks read; a delete's, a notify's
    # and rows' checks read more (the one-user services'): the whole row.
    columns = MEMBER_COLUMNS if kind == UPDATE and not params.get("rows") else None
    members = would = unchanged = 0
    refused: list[Refusal] = []
    sample: list[tuple[str, dict[str, tuple[str, str]]]] = []
    for chunk in iter_members(row, actor):
        # (a thousand at a time: a statement of 10,000 ids read them slower)
        ids = [m.account_id for m in chunk]
        accounts = models_by_id(Account, ids, columns=columns, batch=CHUNK)
        with one_reading():  # a preview writes nothing: the members' roles read once a chunk
            if actor.account is not None:  # the system acts over every role
                prime_held_roles(list(accounts))
            for m in chunk:
                members += 1
                account = accounts.get(m.account_id)
                if account is None:
                    refused.append(Refusal(m.account_id, m.primary_id, "no longer exists"))
                    continue
                try:
                    new, old = _preview_one(kind, params, account, actor, settings, checks)
                except PatronDeskError as exc:
                    reason = "; ".join(exc.reasons) if hasattr(exc, "reasons") else exc.message
                    refused.append(Refusal(m.account_id, m.primary_id, reason))
                    continue
                if not new:
                    unchanged += 1
                    continue
                would += 1
                if len(sample) < SAMPLE:
                    diff = {
                        k: (codes.show(k, old.get(k)), codes.show(k, v)) for k, v in new.items()
                    }
                    sample.append((account.primary_id, diff))
        if progress:
            progress(Progress(members, members, time.perf_counter() - started, members))
    return Preview(
        kind=kind,
        members=members,
        would_change=would,
        unchanged=unchanged,
        refused=refused,
        sample=sample,
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


# --- Undo ---------------------------------------------------------------------------------------


def _decode(column: str, text: str | None) -> object:
    if text is None:
        return None
    if column in FK_COLUMNS:
        return int(text) if text.isdigit() else None
    if column in DATE_COLUMNS:
        return dt.date.fromisoformat(text) if text else None
    return text


def _undo_events(job: Job, account_ids: list[int]) -> dict[int, list[tuple]]:
    """The History entries the update job `job.undo_of` wrote on these accounts (account id ->
    (entity, entity id, action, field, old value) in the order written: the account's fields,
    and the rows it added or removed), read with one query for a chunk."""
    out: dict[int, list[tuple]] = defaultdict(list)
    if not account_ids:
        return out
    rows = (
        AuditEvent.select(
            AuditEvent.account_id, AuditEvent.entity, AuditEvent.entity_id, AuditEvent.action,
            AuditEvent.field, AuditEvent.old_value,
        )
        .where(
            # `job_id + 0`: found by the accounts' index (the chunk's members' events), not
            # by the job's (every event of the job, read again for each chunk: SQLite chose it)
            ((AuditEvent.job_id + 0) == job.undo_of)
            & AuditEvent.account_id.in_(id_list(account_ids))
            & AuditEvent.entity.in_(["account", *job_rows.ENTITIES])
        )
        .order_by(AuditEvent.id)
    )  # fmt: skip
    # (the driver's rows as they are: plain columns, two or more a member)
    for account_id, *event in database.execute_sql(*rows.sql()).fetchall():
        out[account_id].append(tuple(event))
    return out


class _RetiredCodes:
    """Why a code may not be written back by an undo (deactivated or deleted since the job),
    each code read once per job."""

    def __init__(self) -> None:
        self.seen: dict[tuple[type, int], str | None] = {}

    def problem(self, model: type, code_id: int) -> str | None:
        key = (model, code_id)
        if key not in self.seen:
            row = model.get_or_none(model.id == code_id)
            label = model._meta.table_name.replace("_", " ")
            if row is None:
                self.seen[key] = f"the {label} it had was deleted since the job: not restored"
            elif not row.active:
                self.seen[key] = (
                    f"the {label} it had, {row.name} ({row.code}), was deactivated since the "
                    "job: not restored"
                )
            else:
                self.seen[key] = None
        return self.seen[key]


def _undo_plan(
    account: Account,
    actor: Actor,
    events: list[tuple[str, str | None]],
    retired: _RetiredCodes | None = None,
) -> tuple[dict, dict]:
    """The old values the update job wrote over on this account, from its History entries
    (`_undo_events`). Raises `JobError` when one of them is a code (user group, campus, job
    category) deactivated or deleted since: nothing of the member is restored."""
    fields = {f for f, _ in events}
    authorize(actor.account, Action.EDIT_USER, account)
    if "status" in fields:
        authorize(actor.account, Action.CHANGE_STATUS, account)
    retired = retired or _RetiredCodes()
    new, old = {}, {}
    for f, text in events:
        if f not in new:
            new[f] = _decode(f, text)
            old[f] = getattr(account, f"{f}_id" if f in FK_COLUMNS else f)
            if (
                f in CODE_MODELS
                and new[f] is not None
                and (why := retired.problem(CODE_MODELS[f], new[f]))
            ):
                raise JobError(why)
    return new, old


def undo(
    job_id: int,
    actor: Actor,
    *,
    progress: ProgressFn = None,
    chunk: int = CHUNK,
    organization: Organization | int | None = None,
) -> JobReport:
    """Undo an update job: every member it changed gets its old values back (History source
    `job`, naming the undo job), unless the member changed since the job (skipped, reported).
    Run again after a kill, it continues."""
    authorize_job(actor, "")  # the right to run jobs, before the job is even read
    original = _load_job(job_id, actor, organization)
    authorize_job(actor, UPDATE, json.loads(original.params))
    if original.kind != UPDATE:
        raise JobError(f"Job {job_id} is a {original.kind} job: only update jobs can be undone.")
    if original.state != DONE:
        raise JobError(f"Job {job_id} has not finished: run it to the end first, then undo it.")
    previous = Job.get_or_none((Job.undo_of == original.id) & (Job.kind == UNDO))
    if previous is not None:
        if previous.state == DONE:
            raise JobError(f"Job {job_id} was undone already (job {previous.id}).")
        return run_job(previous.id, actor, progress=progress, chunk=chunk,
                       organization=original.organization_id, resumed=True)  # fmt: skip
    changed = (
        JobItem.select(JobItem.account_id, JobItem.version_after, JobItem.primary_id)
        .where((JobItem.job == original.id) & (JobItem.outcome == CHANGED))
        .order_by(JobItem.seq)
    )

    def members():  # noqa: ANN202
        # (the driver's rows as they are: three plain columns, 1,000 at a time)
        cursor = database.execute_sql(*changed.sql())
        while batch := cursor.fetchmany(1000):
            yield list(map(Member._make, batch))

    user_set = UserSet.get_or_none(UserSet.id == original.user_set_id)
    job = _freeze(
        UNDO,
        {"undo_of": original.id},
        actor,
        members(),
        org_id=original.organization_id,
        user_set=user_set,
        undo_of=original.id,
    )
    if user_set is None:
        Job.update(set_name=original.set_name).where(Job.id == job.id).execute()
    return run_job(job.id, actor, progress=progress, chunk=chunk,
                   organization=original.organization_id)  # fmt: skip


# --- Reading jobs -------------------------------------------------------------------------------


def list_jobs(
    actor: Actor, *, organization: Organization | int | None = None, limit: int = 200
) -> list[JobInfo]:
    """The organization's jobs, newest first."""
    org_id = organization_of(actor, organization)
    rows = Job.select().where(Job.organization == org_id).order_by(Job.id.desc()).limit(limit)
    return [_info(j) for j in rows]


def report(
    job_id: int,
    actor: Actor,
    *,
    organization: Organization | int | None = None,
    resumed: bool = False,
) -> JobReport:
    """The job with every member skipped or failed, and why (identifiers only)."""
    job = _load_job(job_id, actor, organization)
    query = (
        JobItem.select(JobItem.account_id, JobItem.primary_id, JobItem.outcome, JobItem.reason)
        .where((JobItem.job == job.id) & JobItem.outcome.in_([SKIPPED, FAILED]))
        .order_by(JobItem.seq)
    )
    # (the driver's rows as they are: four plain columns, a row per member refused)
    items = [ItemReport(*r) for r in database.execute_sql(*query.sql()).fetchall()]
    return JobReport(info=_info(job), items=items, resumed=resumed)


__all__ = [
    "CHANGED",
    "DELETE",
    "FAILED",
    "NOTIFY",
    "SKIPPED",
    "UNCHANGED",
    "UNDO",
    "UPDATE",
    "Interrupted",
    "JobError",
    "JobInfo",
    "JobReport",
    "Preview",
    "Progress",
    "Refusal",
    "authorize_job",
    "list_jobs",
    "may_run_jobs",
    "parse_rows",
    "parse_update",
    "preview",
    "report",
    "run_delete",
    "run_job",
    "run_notify",
    "run_update",
    "undo",
]
