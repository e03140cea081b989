"""Benchmark of the bulk jobs (models/jobs/), issue 23.

    python bench/jobs.py --users 100000 [--db PATH_OR_URL]

Builds (or reuses) a demo database of its own (default /tmp/bench_jobsN.db: a job writes, so
the other benchmarks' databases are never used), makes an itemized set of every public user,
then prints one `key: value` line per figure:

- preview_ms: the preview of the update below (every member checked, nothing written);
- update_users_per_s: the update of the user group and the expiry date (+400 days) of every
  member, with its History entries, in chunks;
- undo_users_per_s: the undo of that update;
- set_users, changed, undone: what was done.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ensure_demo_db  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--db", help="file path or postgresql:// URL (default /tmp/bench_jobsN.db)")
    parser.add_argument("--chunk", type=int, default=500)
    args = parser.parse_args(argv)
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
    ids = [
        i
        for (i,) in Account.select(Account.id)
        .where((Account.organization == org.id) & (Account.record_type == "public"))
        .order_by(Account.id)
        .limit(args.users)
        .tuples()
    ]
    name = f"bench {time.time():.0f}"
    set_id = create_itemized_set(name, ids, actor, org).set_id
    fields = parse_update(["user_group=ALUMNI", "expiry=+400d"], org.id)

    started = time.perf_counter()
    shown = preview(UPDATE, set_id, actor, fields=fields, organization=org)
    preview_ms = (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    done = run_update(set_id, fields, actor, organization=org, chunk=args.chunk)
    update_s = time.perf_counter() - started

    started = time.perf_counter()
    undone = undo(done.info.job_id, actor, organization=org, chunk=args.chunk)
    undo_s = time.perf_counter() - started

    print(f"preview_ms: {preview_ms:.2f}")
    print(f"update_users_per_s: {len(ids) / update_s:.2f}")
    print(f"undo_users_per_s: {undone.info.total / undo_s if undo_s else 0:.2f}")
    print(f"set_users: {len(ids)}")
    print(f"would_change: {shown.would_change}")
    print(f"changed: {done.info.changed}")
    print(f"undone: {undone.info.changed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
