"""Benchmark of the bulk jobs (models/jobs/), issue 23.

    python bench/jobs.py --users 100000 [--db PATH_OR_URL]

Builds (or reuses) a demo database of its own (default /tmp/bench_jobsN.db: a job writes, so
the other benchmarks' databases are never used), makes an itemized set of every public user,
then prints one `key: value` line per figure:

- preview_ms: the preview of the update below (every member checked, nothing written);
- update_users_per_s: the update of the user group and the expiry date (+400 days) of every
  member, with its History entries, in chunks;
- undo_users_per_s: the undo of that update;
- desk_save_p95_ms_during_job: a desk meanwhile (another process) saving one user's General
  tab in a loop (`models.users.details.update_user`, with the version it read) while the
  update and the undo run: the 95th percentile of its save time (a chunk's transaction is all
  it may wait for); desk_saves: how many;
- *_cpu_s beside each wall-clock figure: this process's CPU time (the machine is shared: wall
  time includes waiting for a core);
- with --floor, floor_users_per_s: the floor of an update with this chunking: the same
  statements as a job's chunk (the members read with one query, one grouped UPDATE, the History
  rows with one bulk insert, the items' outcomes with one UPDATE), by a bare loop without the
  checks;
- set_users, changed, undone: what was done.

With --actor USERNAME the jobs are run by that staff user (from a screen) instead of the
system: each member is then checked against the user's roles (a role above the user's is
refused), as a job started in the app is.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ADMIN, REPO, ensure_demo_db, percentile  # noqa: E402

DESK_PAUSE_S = 0.02  # between two saves of the desk (a person does not save faster)


def desk(target: str, account_id: int) -> None:
    """The desk process: save `account_id`'s General tab until stdin closes, then print the
    save times (ms) as JSON."""
    import threading

    from models.audit import Actor
    from models.enums import Source
    from models.errors import ConflictError
    from models.runtime import configure
    from models.store.connection import open_database
    from models.store.tables import Account, Person
    from models.users.details import general_form, update_user

    configure()
    open_database(target, upgrade=False)
    admin = Account.select().join(Person).where(Person.username == ADMIN).get()
    actor = Actor(admin, Source.SCREEN)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    print("ready", flush=True)
    times, n = [], 0
    while not stop.is_set():
        form = general_form(account_id, actor)
        n += 1
        start = time.perf_counter()
        with contextlib.suppress(ConflictError):
            update_user(account_id, form.version, {"job_description": f"desk {n}"}, actor)
        times.append((time.perf_counter() - start) * 1000)
        time.sleep(DESK_PAUSE_S)
    print(json.dumps(times), flush=True)


def _start_desk(target: str, account_id: int) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--desk", target, str(account_id)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "ready"
    return child


def _stop_desk(child: subprocess.Popen) -> list[float]:
    out, _ = child.communicate("")
    return json.loads(out.strip().splitlines()[-1])


def floor(ids: list[int], chunk: int, job_id: int) -> None:
    """The bare statements of an update job's chunks (user group and expiry of every member,
    two History rows each), without any check: what no job with this chunking can beat."""
    import datetime as dt

    from models.store.base import database
    from models.store.bulk import BulkWriter, Table
    from models.store.tables import Account, AuditEvent, JobItem, UserGroup

    table, writer = Table(AuditEvent, explicit_id=False), BulkWriter("the floor needs")
    group = UserGroup.get(UserGroup.code == "PUBLIC").id
    expiry = dt.date.today() + dt.timedelta(days=500)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        rows = list(Account.select().where(Account.id.in_(part)))
        with database.atomic():
            Account.update(
                user_group=group, expiry_date=expiry, version=Account.version + 1,
                updated_by="floor", updated_at=now,
            ).where(Account.id.in_(part)).execute()  # fmt: skip
            history = []
            for a in rows:
                for f, old, new in (
                    ("user_group", a.user_group_id, group),
                    ("expiry_date", a.expiry_date, expiry),
                ):
                    history.append(
                        table.row(
                            account_id=a.id, person_id=a.person_id, entity="account",
                            entity_id=a.id, action="update", field=f, old_value=str(old),
                            new_value=str(new), actor_id=None, actor="floor", source="job",
                            at=now, job_id=None,
                        )
                    )  # fmt: skip
            writer.insert(table, history if writer.pg else table.dates_as_text(history))
            JobItem.update(reason="").where(
                (JobItem.job == job_id) & JobItem.account_id.in_(part)
            ).execute()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--desk"]:
        desk(argv[1], int(argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--db", help="file path or postgresql:// URL (default /tmp/bench_jobsN.db)")
    parser.add_argument("--chunk", type=int, help="members a chunk (default: the jobs' own)")
    parser.add_argument("--floor", action="store_true", help="also measure the bare floor")
    parser.add_argument("--actor", help="run the jobs as this staff user (default: the system)")
    args = parser.parse_args(argv)
    if args.chunk is None:
        from models.jobs.types import CHUNK

        args.chunk = CHUNK
    target = args.db or f"/tmp/bench_jobs{args.users}.db"
    ensure_demo_db(args.users, target)

    from models.audit import Actor
    from models.config.setup import default_organization
    from models.enums import Source
    from models.jobs.jobs import UPDATE, parse_update, preview, run_update, undo
    from models.jobs.sets import create_itemized_set
    from models.store.connection import open_database
    from models.store.tables import Account

    open_database(target)
    org = default_organization()
    actor = Actor(None, Source.JOB)
    if args.actor:
        from models.store.tables import Person

        staff = Account.select().join(Person).where(Person.username == args.actor).get()
        actor = Actor(staff, Source.SCREEN)
    ids = [
        i
        for (i,) in Account.select(Account.id)
        .where((Account.organization == org.id) & (Account.record_type == "public"))
        .order_by(Account.id)
        .limit(args.users)
        .tuples()
    ]
    internal = Account.select(Account.id).where(
        Account.id.in_(ids[-50:]) & (Account.account_type != "external")
    )
    desk_user = max(i for (i,) in internal.tuples())  # saved by the desk: not in the set
    ids.remove(desk_user)
    name = f"bench {time.time():.0f}"
    set_id = create_itemized_set(name, ids, actor, org).set_id
    fields = parse_update(["user_group=ALUMNI", "expiry=+400d"], org.id)

    def timed(fn):  # noqa: ANN001, ANN202 - (wall s, cpu s, result)
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        return time.perf_counter() - wall, time.process_time() - cpu, result

    preview_s, preview_cpu, shown = timed(
        lambda: preview(UPDATE, set_id, actor, fields=fields, organization=org)
    )
    child = _start_desk(target, desk_user)
    try:
        update_s, update_cpu, done = timed(
            lambda: run_update(set_id, fields, actor, organization=org, chunk=args.chunk)
        )
        undo_s, undo_cpu, undone = timed(
            lambda: undo(done.info.job_id, actor, organization=org, chunk=args.chunk)
        )
    finally:
        saves = _stop_desk(child)

    print(f"preview_ms: {preview_s * 1000:.2f}")
    print(f"preview_cpu_s: {preview_cpu:.2f}")
    print(f"update_users_per_s: {len(ids) / update_s:.2f}")
    print(f"update_cpu_s: {update_cpu:.2f} (wall {update_s:.2f})")
    print(f"undo_users_per_s: {undone.info.total / undo_s if undo_s else 0:.2f}")
    print(f"undo_cpu_s: {undo_cpu:.2f} (wall {undo_s:.2f})")
    print(f"desk_save_p95_ms_during_job: {percentile(saves, 95):.2f}")
    print(f"desk_save_max_ms_during_job: {max(saves) if saves else float('nan'):.2f}")
    print(f"desk_saves: {len(saves)}")
    if args.floor:
        floor_s, floor_cpu, _ = timed(lambda: floor(ids, args.chunk, done.info.job_id))
        print(f"floor_users_per_s: {len(ids) / floor_s:.2f}")
        print(f"floor_cpu_s: {floor_cpu:.2f} (wall {floor_s:.2f})")
    print(f"set_users: {len(ids)}")
    print(f"would_change: {shown.would_change}")
    print(f"changed: {done.info.changed}")
    print(f"undone: {undone.info.changed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
