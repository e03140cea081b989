"""Benchmark of duplicate people (models/duplicates/), issue 24.

    python bench/duplicates.py --users 1000000 [--db PATH] [--plants K] [--typing 300]

Builds (or reuses) a demo database of N users (`bench.common`), copies it (the demo database
stays as it was), and plants duplicates into the copy itself: for K people drawn at random
(default 2 % of N), a second person and account of the same organization, with the same birth
date and one change each, in turn: a typo in the last name (one letter replaced), two letters
transposed, first and last names swapped, accents dropped (plain ASCII names), a changed email.
The planted copies keep the original's contact email one time in two (but the changed-email
ones). Then it prints `key: value` lines:

- typing_check_p50_ms, typing_check_p95_ms: `models.duplicates.typing.likely_people` for what a
  clerk types of a planted person (its last name with its birth date, its first name or its
  email, in turn), median of 3 calls each; typing_found: the share of them whose original is
  in the panel.
- scan_s (and scan_1m_s at 1,000,000 users), scan_cpu_s: `models.duplicates.scan.scan` of the
  whole organization (wall and CPU seconds, the median of the runs: 3 below 1M, 1 at 1M).
- precision, recall: of the pairs the scan reports at the default minimum score against the
  planted pairs (a pair of demo people that happen to share a name and birth date counts as
  a false positive).
- pairs_reported, planted, users, peak_rss_mb.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import default_db, ensure_demo_db, peak_rss_mb, percentile, timed  # noqa: E402

KINDS = ("typo", "transposed", "swapped", "accents", "email")


def _typo(rng: random.Random, name: str) -> str:
    if len(name) < 3:
        return name + "e"
    i = rng.randrange(1, len(name))
    letters = "aeioulnrst"
    repl = rng.choice([c for c in letters if c != name[i].lower()])
    return name[:i] + repl + name[i + 1 :]


def _transposed(rng: random.Random, name: str) -> str:
    if len(name) < 3:
        return name[::-1]
    i = rng.randrange(1, len(name) - 1)
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def plant(org_id: int, count: int, seed: int) -> tuple[set[tuple[int, int]], list[dict]]:
    """Insert `count` planted duplicates; returns the true pairs and what a clerk would type."""
    from anyascii import anyascii

    from models.store.base import database, fold_key
    from models.store.tables import Account, Email, Identifier, Person
    from models.users.derived import person_derived, primary_id_columns, primary_identifier_row

    rng = random.Random(seed)
    ids = [
        pid
        for (pid,) in Account.select(Account.person)
        .where((Account.organization == org_id) & (Account.record_type == "public"))
        .tuples()
    ]
    chosen = rng.sample(ids, min(count, len(ids)))
    truth: set[tuple[int, int]] = set()
    typed: list[dict] = []
    with database.atomic():
        for n, pid in enumerate(chosen):
            p = Person.get_by_id(pid)
            kind = KINDS[n % len(KINDS)]
            last, first = p.last_name, p.first_name
            if kind == "typo":
                last = _typo(rng, last)
            elif kind == "transposed":
                last = _transposed(rng, last)
            elif kind == "swapped":
                last, first = first or last, last if first else ""
            elif kind == "accents":
                last, first = anyascii(last), anyascii(first)
            username = f"planted.{n}.{pid}"
            email = f"{username}@example.net" if kind == "email" else None
            names = {"first_name": first, "last_name": last}
            login = {"username": username, "email": email}
            new = Person.create(**login, **names, **person_derived({**login, **names}),
                                birth_date=p.birth_date)  # fmt: skip
            primary = f"DUP{n:07d}"
            account = Account.create(organization=org_id, person=new, **primary_id_columns(primary))
            Identifier.create(account=account, **primary_identifier_row(primary))
            kept = Email.select().where(Email.person == pid).first()
            if kind != "email" and kept is not None and rng.random() < 0.5:
                Email.create(person=new, address=kept.address, address_key=kept.address_key,
                             email_type=kept.email_type)  # fmt: skip
            truth.add((min(pid, new.id), max(pid, new.id)))
            clerk = {"last_name": last}
            which = n % 3
            if which == 0 and p.birth_date:
                clerk["birth_date"] = p.birth_date.isoformat()
            elif which == 1 and first:
                clerk["first_name"] = first
            elif p.email:
                clerk["email"] = email or fold_key(p.email)
            else:
                clerk["birth_date"] = p.birth_date.isoformat() if p.birth_date else ""
                clerk["first_name"] = first
            typed.append({"typed": clerk, "original": pid})
    return truth, typed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--db", help="the demo SQLite file (default /tmp/benchN.db)")
    parser.add_argument("--plants", type=int, help="duplicates planted (default 2 %% of N)")
    parser.add_argument("--typing", type=int, default=300, help="typing checks timed")
    parser.add_argument("--seed", type=int, default=24)
    args = parser.parse_args(argv)
    base = args.db or default_db(args.users)
    ensure_demo_db(args.users, base)
    work = f"{base}.duplicates.db"
    for suffix in ("", "-wal", "-shm"):
        Path(work + suffix).unlink(missing_ok=True)
    shutil.copy(base, work)

    from models.audit import Actor
    from models.config.setup import default_organization
    from models.duplicates.match import MIN_SCORE
    from models.duplicates.scan import scan
    from models.duplicates.typing import likely_people
    from models.enums import Source
    from models.store.connection import close_database, open_database

    open_database(work)
    try:
        org = default_organization()
        plants = args.plants or max(10, args.users // 50)
        truth, typed = plant(org.id, plants, args.seed)
        rng = random.Random(args.seed)
        sample = rng.sample(typed, min(args.typing, len(typed)))
        for t in sample[:20]:  # warm-up
            likely_people(org.id, None, t["typed"])
        times, found = [], 0
        for t in sample:
            runs = [timed(likely_people, org.id, None, t["typed"]) for _ in range(3)]
            runs.sort(key=lambda r: r[0])
            times.append(runs[1][0])
            found += any(c.person_id == t["original"] for c in runs[1][1])
        actor = Actor(None, Source.CLI)
        scans = []
        for _ in range(1 if args.users >= 1_000_000 else 3):
            wall, cpu = time.perf_counter(), time.process_time()
            result = scan(org.id, actor, min_score=MIN_SCORE)
            scans.append((time.perf_counter() - wall, time.process_time() - cpu))
        reported = {(min(p.a.person_id, p.b.person_id), max(p.a.person_id, p.b.person_id))
                    for p in result.pairs}  # fmt: skip
        hits = len(reported & truth)
        print(f"users: {args.users}")
        print(f"planted: {len(truth)}")
        print(f"typing_check_p50_ms: {percentile(times, 50):.1f}")
        print(f"typing_check_p95_ms: {percentile(times, 95):.1f}")
        print(f"typing_found: {found / max(1, len(sample)):.3f}")
        scan_s = statistics.median(s for s, _ in scans)
        print(f"scan_s: {scan_s:.2f}")
        if args.users >= 1_000_000:
            print(f"scan_1m_s: {scan_s:.1f}")
        print(f"scan_cpu_s: {statistics.median(c for _, c in scans):.2f}")
        print(f"pairs_compared: {result.compared}")
        print(f"pairs_reported: {len(reported)}")
        print(f"precision: {hits / max(1, len(reported)):.3f}")
        print(f"recall: {hits / max(1, len(truth)):.3f}")
        print(f"peak_rss_mb: {peak_rss_mb():.0f}")
    finally:
        close_database()
    return 0


if __name__ == "__main__":
    sys.exit(main())
