"""Benchmark of the dashboard's figures (models/dashboard.py), issue 25.

    python bench/dashboard.py --users 1000000 [--db PATH_OR_URL] [--samples 15]
                              [--plant-logins N]

Builds (or reuses, when it already holds at least N users) a demo database, then prints one
`key: value` line per figure:

- dashboard_ms: median wall time of `dashboard(actor)`, every chart's data for the
  administrator (target <= 500 at 1,000,000 users); dashboard_p95_ms; dashboard_cpu_ms, the
  median CPU time of this process for the same calls (the machine is shared: wall time waits
  for the other processes, CPU time does not, and SQLite runs in this process);
- chart_<id>_ms and chart_<id>_cpu_ms: the medians of each chart read alone (`chart(actor,
  id)`), wall and CPU time;
- floor_count_accounts_ms: `SELECT count(*)` of the organization's accounts, the cheapest
  statement that reads every account's index entry, in the same run: the machine's speed of
  the moment (compare the figures with it, not across days);
- floor_logins_from_audit_ms: logins per month counted straight from the audit trail (one
  event a login, joined to its account for the organization): what the `login_month` table
  (migration 0024) saves; logins_in_audit says how many events it counted.
- users, blocks, fees, letters: the rows the charts read.

`--plant-logins N` first adds N login events spread over the last year, each for a random
account, through the audit table's trigger (as real logins would), unless the database already
holds that many: the demo data has none. A warm-up call runs first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ADMIN, default_db, ensure_demo_db, percentile  # noqa: E402


def _plant_logins(count: int, seed: int) -> None:
    from models.enums import AuditAction
    from models.runtime import runtime
    from models.store.base import database
    from models.store.tables import Account, AuditEvent

    have = AuditEvent.select().where(AuditEvent.action == AuditAction.LOGIN_SUCCESS.value).count()
    if have >= count:
        return
    rng = random.Random(seed)
    top = Account.select(Account.id).order_by(Account.id.desc()).scalar()
    now = runtime.now()
    batch: list[dict] = []
    start = time.perf_counter()
    for i in range(count - have):
        account_id = rng.randint(1, top)
        batch.append(
            {
                "account_id": account_id,
                "person_id": None,
                "entity": "person",
                "entity_id": None,
                "action": AuditAction.LOGIN_SUCCESS.value,
                "field": "login",
                "new_value": "success",
                "actor": "bench",
                "source": "screen",
                "at": now - dt.timedelta(seconds=rng.randint(0, 365 * 86400)),
            }
        )
        if len(batch) == 5000 or i == count - have - 1:
            with database.atomic():
                AuditEvent.insert_many(batch).execute()
            batch.clear()
    print(
        f"bench: planted {count - have:,} logins in {time.perf_counter() - start:.0f} s",
        file=sys.stderr,
    )


def _logins_from_audit(organization_id: int, since: dt.datetime) -> int:
    from models.dashboard import _run, _stamp

    rows = _run(
        "SELECT count(*) FROM audit_event e JOIN account a ON a.id = e.account_id "
        "WHERE e.action = ? AND e.at >= ? AND a.organization_id = ?",
        ["login_success", _stamp(since.date()), organization_id],
    )
    return rows[0][0]


def _count_accounts(organization_id: int) -> int:
    from models.dashboard import _run

    return _run("SELECT count(*) FROM account WHERE organization_id = ?", [organization_id])[0][0]


def _sample(fn, *args) -> tuple[float, float]:  # noqa: ANN001
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--db", help="file path or postgresql:// URL (default /tmp/benchN.db)")
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--plant-logins", type=int, default=0)
    parser.add_argument("--seed", type=int, default=25)
    args = parser.parse_args(argv)
    target = args.db or default_db(args.users)
    ensure_demo_db(args.users, target)

    from models.audit import Actor
    from models.dashboard import CHART_IDS, chart, dashboard, month_starts
    from models.enums import Source
    from models.runtime import runtime
    from models.store.connection import open_database
    from models.store.tables import Account, Block, Fee, Letter, Person

    open_database(target)
    if args.plant_logins:
        _plant_logins(args.plant_logins, args.seed)
    admin = Account.select().join(Person).where(Person.username == ADMIN).get()
    actor = Actor(admin, Source.SCREEN)
    dashboard(actor)  # warm-up: the pages into the cache, as a desk's second look

    walls, cpus = [], []
    for _ in range(args.samples):
        wall, cpu = _sample(dashboard, actor)
        walls.append(wall)
        cpus.append(cpu)
    per_chart: dict[str, list[tuple[float, float]]] = {cid: [] for cid in CHART_IDS}
    floor_all = []
    for _ in range(max(3, args.samples // 3)):
        for cid in CHART_IDS:
            per_chart[cid].append(_sample(chart, actor, cid))
        floor_all.append(_sample(_count_accounts, admin.organization_id))
    since = dt.datetime.combine(month_starts(runtime.today())[0], dt.time())
    floor = []
    for _ in range(3):
        wall, _cpu = _sample(_logins_from_audit, admin.organization_id, since)
        floor.append(wall)
    counted = _logins_from_audit(admin.organization_id, since)

    print(f"users: {Account.select().count()}")
    print(f"blocks: {Block.select().count()}")
    print(f"fees: {Fee.select().count()}")
    print(f"letters: {Letter.select().count()}")
    print(f"samples: {args.samples}")
    print(f"dashboard_ms: {statistics.median(walls):.1f}")
    print(f"dashboard_p95_ms: {percentile(walls, 95):.1f}")
    print(f"dashboard_cpu_ms: {statistics.median(cpus):.1f}")
    for cid, values in per_chart.items():
        print(f"chart_{cid}_ms: {statistics.median(v[0] for v in values):.1f}")
        print(f"chart_{cid}_cpu_ms: {statistics.median(v[1] for v in values):.1f}")
    print(f"floor_count_accounts_ms: {statistics.median(v[0] for v in floor_all):.1f}")
    print(f"floor_count_accounts_cpu_ms: {statistics.median(v[1] for v in floor_all):.1f}")
    print(f"floor_logins_from_audit_ms: {statistics.median(floor):.1f}")
    print(f"logins_in_audit: {counted}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
