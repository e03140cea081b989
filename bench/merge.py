"""How long a merge takes (issue 24): the preview (a rolled-back trial of the merge) and the
merge itself, for a merged user with ROWS fees (each with a transaction), loans and notes and
ten times as many History events, in a fresh SQLite database (or --db URL). Prints `key: value`
lines: medians of RUNS pairs, wall and CPU time.

    .venv/bin/python -m bench.merge [--rows 200] [--runs 5] [--db URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time

from bench.common import ADMIN, ADMIN_PASSWORD


def _pair(n: int, rows: int):  # noqa: ANN202
    from models.audit import Actor
    from models.config.setup import default_organization
    from models.enums import Source
    from models.store.tables import AuditEvent, Fee, FeeTransaction, FeeType, Loan, Note
    from models.users.accounts import NewUser, create_user

    system = Actor(None, Source.JOB)
    org = default_organization()
    made = []
    for suffix in ("K", "M"):
        made.append(create_user(NewUser(first_name="Anna", last_name="Müller",
                                        primary_id=f"B{n}{suffix}", user_group="PUBLIC",
                                        email=f"b{n}{suffix.lower()}@example.org",
                                        expiry_date=dt.date.today() + dt.timedelta(365)),
                                system, org))  # fmt: skip
    merged = made[1]
    fee_type = FeeType.get(FeeType.code == "LOST_ITEM")
    due = dt.date.today() + dt.timedelta(7)
    for i in range(rows):
        fee = Fee.create(account=merged, fee_type=fee_type, original_minor=100, balance_minor=0)
        FeeTransaction.create(fee=fee, action="pay", amount_minor=100)
        Loan.create(account=merged, item_barcode=f"I{n}-{i}", due_date=due, returned_at=None)
        Note.create(account=merged, text=f"note {i}")
    AuditEvent.insert_many(
        [{"account_id": merged.id, "person_id": merged.person_id, "entity": "account",
          "entity_id": merged.id, "action": "update", "field": "job_description",
          "old_value": str(i), "new_value": str(i + 1), "source": "job"}
         for i in range(rows * 10)]
    ).execute()  # fmt: skip
    Loan.update(returned_at=dt.datetime.now()).where(Loan.account == merged).execute()
    return made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", default="")
    args = parser.parse_args()
    from models.audit import Actor
    from models.config.setup import initialize, is_initialized
    from models.enums import Source
    from models.store.connection import open_database
    from models.store.tables import Account
    from models.users.merge import merge, merge_preview

    target = args.db or tempfile.mkdtemp(prefix="bench-merge-") + "/merge.db"
    open_database(target, create=True)
    if not is_initialized():
        initialize(ADMIN, ADMIN_PASSWORD)
    admin = Actor(Account.get(Account.primary_id == ADMIN), Source.SCREEN)
    preview_wall, preview_cpu, merge_wall, merge_cpu = [], [], [], []
    for n in range(args.runs):
        kept, merged = _pair(n, args.rows)
        w, c = time.perf_counter(), time.process_time()
        preview = merge_preview(admin, kept.id, merged.id)
        preview_wall.append(time.perf_counter() - w)
        preview_cpu.append(time.process_time() - c)
        w, c = time.perf_counter(), time.process_time()
        merge(admin, kept.id, merged.id, preview.defaults(), preview.keep.version,
              preview.other.version)  # fmt: skip
        merge_wall.append(time.perf_counter() - w)
        merge_cpu.append(time.process_time() - c)
    print(f"rows_per_kind: {args.rows}")
    print(f"history_events: {args.rows * 10}")
    print(f"runs: {args.runs}")
    print(f"preview_ms: {statistics.median(preview_wall) * 1000:.1f}")
    print(f"preview_cpu_ms: {statistics.median(preview_cpu) * 1000:.1f}")
    print(f"merge_ms: {statistics.median(merge_wall) * 1000:.1f}")
    print(f"merge_cpu_ms: {statistics.median(merge_cpu) * 1000:.1f}")


if __name__ == "__main__":
    main()
