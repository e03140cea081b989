"""Shared by the benchmarks: the demo database they measure, percentiles, memory.

A benchmark database is built once and reused: `ensure_demo_db(users, target)` initializes it
and adds demo users (`models.demo.generate_demo`) until it holds at least `users` accounts. The
building runs in a child process, so the measuring process's peak memory is its own.

    python -m bench.common build /tmp/bench1m.db 1000000   # what ensure_demo_db runs
"""

from __future__ import annotations

import math
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ADMIN = "admin"
ADMIN_PASSWORD = "Bench-Quill-Ledger-42"
DEMO_SEED = 20_260_101


def default_db(users: int) -> str:
    """/tmp/bench1m.db for a million users, /tmp/bench100k.db for 100,000, else /tmp/benchN.db."""
    if users % 1_000_000 == 0:
        label = f"{users // 1_000_000}m"
    elif users % 1_000 == 0:
        label = f"{users // 1_000}k"
    else:
        label = str(users)
    return f"/tmp/bench{label}.db"


def ensure_demo_db(users: int, target: str) -> None:
    """Make `target` a PatronDesk database of at least `users` accounts (in a child process)."""
    subprocess.run(
        [sys.executable, "-m", "bench.common", "build", target, str(users)],
        cwd=REPO,
        check=True,
    )


def _build(target: str, users: int) -> None:
    from models.config.setup import default_organization, initialize, is_initialized
    from models.demo import generate_demo
    from models.store.connection import open_database
    from models.store.tables import Account

    db = open_database(target)
    if not is_initialized():
        initialize(ADMIN, ADMIN_PASSWORD)
    org = default_organization()
    have = Account.select().where(Account.organization == org).count()
    if have >= users:
        print(f"bench: {target} has {have:,} users: reused", file=sys.stderr)
        return
    start = time.perf_counter()
    generate_demo(users - have, seed=DEMO_SEED + have, progress=True)
    print(
        f"bench: added {users - have:,} demo users in {time.perf_counter() - start:.0f} s",
        file=sys.stderr,
    )
    from peewee import PostgresqlDatabase

    if isinstance(db, PostgresqlDatabase):  # statistics now, not when autovacuum wakes up
        db.execute_sql("ANALYZE")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of `values`."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    """(milliseconds, result) of one call."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return (time.perf_counter() - start) * 1000, result


def median_ms(fn, *args, runs: int = 3, **kwargs) -> float:
    """Median milliseconds of `runs` calls in a row: one sample, steadier on a shared machine
    than a single call."""
    return sorted(timed(fn, *args, **kwargs)[0] for _ in range(runs))[runs // 2]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "build":
        _build(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("usage: python -m bench.common build TARGET USERS")
