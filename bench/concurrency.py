"""Many staff at once: N processes on one database doing a desk's mix of work.

    python -m bench.concurrency [--procs 8] [--seconds 60] [--users 20000] [--db PATH_OR_URL]

Each process searches, opens records, and edits random users through the same services as the
screens (`models.users.details.update_user` with the version it read), a few of them from a small
set
of "hot" users so that two processes edit the same user at once. Fee actions run when the fees
module is there. Every edit writes a unique value; at the end every successful save must be in
the database (or overwritten by a later successful save of the same user) and in History, and no
refused save may be. Alongside, another desk imports users (`patrondesk import`, a new file of
`IMPORT_BATCH` users each time, one after the other until the end): every import that says it
wrote its users must have all of them in the database.

Prints one `key: value` line per figure: `operations`, `busy_errors` (any "database is locked"
that reached a caller, the importer included), `lost_updates` (saves and imported users),
`conflicts_refused`, `errors`, `imports`, `imported_users`, `p95_ms_<kind>` for each kind
(`import`: one whole import of a file).
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing as mp
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import ADMIN, default_db, ensure_demo_db, percentile

HOT_USERS = 40
IMPORT_BATCH = 500


def _importer(target: str, seconds: float, folder: str, run: str, out: list[dict]) -> None:
    """Another desk's imports, one after the other until `seconds` have passed: each a new
    CSV of `IMPORT_BATCH` users through the command line, as staff run it."""
    generate = importlib.import_module("bench.import").generate
    deadline = time.perf_counter() + seconds
    k = 0
    while time.perf_counter() < deadline:
        k += 1
        tag = f"{run}i{k:04d}"  # fixed width: no tag starts another
        path = Path(folder) / f"import-{tag}.csv"
        generate(path, IMPORT_BATCH, tag)
        record: dict = {"kind": "import", "tag": tag}
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "tui.cli", "--db", target, "import", str(path)],
            capture_output=True,
            text=True,
        )
        record["ms"] = (time.perf_counter() - start) * 1000
        if done.returncode == 0:
            record["imported"] = True
        else:
            said = (done.stderr.strip() or done.stdout.strip()).splitlines()
            message = said[-1] if said else f"exit status {done.returncode}"
            if done.returncode == 1:
                record["refused"] = message
            else:
                record["error"] = message
        out.append(record)


def _worker(args: tuple[str, int, float, str, list[int]]) -> str:
    """One staff member's session; writes its log as JSON lines and returns the log path."""
    target, number, seconds, log_dir, account_ids, run = args
    from models.audit import Actor
    from models.enums import Source
    from models.errors import ConflictError, PatronDeskError
    from models.runtime import configure
    from models.search.engine import UserQuery, search_users
    from models.store.connection import open_database
    from models.store.tables import Account, Person
    from models.users.details import general_form, update_user
    from models.users.profile import load_profile

    configure()
    open_database(target, upgrade=False)
    admin = Account.select().join(Person).where(Person.username == ADMIN).get()
    actor = Actor(admin, Source.SCREEN)
    org = admin.organization_id
    rng = random.Random(number)
    fees = _fee_action()
    hot = account_ids[:HOT_USERS]
    log_path = Path(log_dir) / f"worker{number}.jsonl"
    prefixes = ["a", "b", "ma", "mu", "sch", "de", "lo", "ber", "fr", "k", "san", "wa"]
    n = 0
    deadline = time.perf_counter() + seconds
    with log_path.open("w") as log:
        while time.perf_counter() < deadline:
            kind = rng.choices(["search", "open", "edit", "fee"], weights=[5, 3, 3, 1])[0]
            if kind == "fee" and fees is None:
                kind = "edit"
            account_id = rng.choice(hot if rng.random() < 0.5 else account_ids)
            record = {"kind": kind, "account": account_id}
            start = time.perf_counter()
            try:
                if kind == "search":
                    search_users(org, UserQuery(text=rng.choice(prefixes)), limit=50)
                elif kind == "open":
                    load_profile(account_id, actor)
                elif kind == "edit":
                    form = general_form(account_id, actor)
                    time.sleep(rng.random() * 0.01)  # the staff member types
                    n += 1
                    value = f"{run}-w{number}-{n}"  # unique across runs on a reused database
                    record["value"] = value
                    update_user(account_id, form.version, {"job_description": value}, actor)
                    record["saved"] = True
                elif kind == "fee":
                    fees(account_id, actor, rng)  # a desk's fee action
            except ConflictError:
                record["conflict"] = True
            except PatronDeskError as exc:
                record["refused"] = exc.message
            except Exception as exc:  # noqa: BLE001 - counted, shown in the report
                record["error"] = f"{type(exc).__name__}: {exc}"
            record["ms"] = (time.perf_counter() - start) * 1000
            log.write(json.dumps(record) + "\n")
    return str(log_path)


def _fee_action():
    """A desk's fee action (add a small fee, pay part of it) through `models.fees.fees`, or None
    while that module is not there."""
    try:
        from models.fees.fees import add_fee, pay_fee
    except ImportError:
        return None

    def act(account_id: int, actor, rng) -> None:  # noqa: ANN001
        fee = add_fee(account_id, actor, fee_type="LOST_ITEM", amount="3.50", comment="bench")
        pay_fee(fee.id, actor, method=rng.choice(["cash", "card"]), amount="1.00")

    return act


def check(target: str, records: list[dict]) -> tuple[int, int]:
    """(lost updates and imported users, refused saves that landed anyway)."""
    from models.store.connection import close_database, open_database
    from models.store.tables import Account, AuditEvent

    open_database(target, upgrade=False)
    try:
        saved = [r for r in records if r.get("saved")]
        refused = [r for r in records if r.get("conflict")]
        values = {r["value"] for r in saved}
        in_history = {
            e.new_value
            for e in AuditEvent.select(AuditEvent.new_value).where(
                (AuditEvent.field == "job_description") & AuditEvent.new_value.in_(list(values))
            )
        } if values else set()  # fmt: skip
        lost = len(values - in_history)
        # The value in the database must be one that a successful save wrote.
        touched = {r["account"] for r in saved}
        for account in Account.select(Account.id, Account.job_description).where(
            Account.id.in_(list(touched))
        ):
            if account.job_description not in values:
                lost += 1
        for r in records:
            if r.get("imported"):
                found = Account.select().where(Account.primary_id.startswith(f"S{r['tag']}"))
                lost += IMPORT_BATCH - found.count()
        wrongly = 0
        refused_values = [r["value"] for r in refused]
        for chunk in range(0, len(refused_values), 500):
            wrongly += (
                AuditEvent.select()
                .where(
                    (AuditEvent.field == "job_description")
                    & AuditEvent.new_value.in_(refused_values[chunk : chunk + 500])
                )
                .count()
            )
        return lost, wrongly
    finally:
        close_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--db", help="database path or URL (default: the bench file for --users)")
    args = parser.parse_args()
    target = args.db or default_db(args.users)
    ensure_demo_db(args.users, target)

    from models.store.connection import close_database, open_database
    from models.store.tables import Account

    open_database(target)
    ids = [a.id for a in Account.select(Account.id).order_by(Account.id).limit(5_000)]
    close_database()
    random.Random(0).shuffle(ids)
    log_dir = tempfile.mkdtemp(prefix="patrondesk-concurrency-")
    run = f"r{random.randrange(16**6):06x}"
    jobs = [(target, i, args.seconds, log_dir, ids, run) for i in range(args.procs)]
    imports: list[dict] = []
    importer = threading.Thread(
        target=_importer, args=(target, args.seconds, log_dir, run, imports), daemon=True
    )
    importer.start()
    with mp.get_context("spawn").Pool(args.procs) as pool:
        paths = pool.map(_worker, jobs)
    importer.join()
    records = [json.loads(line) for p in paths for line in Path(p).read_text().splitlines()]
    records += imports
    lost, wrongly = check(target, records)
    busy = sum(1 for r in records if "locked" in (r.get("error", "") + r.get("refused", "")))
    errors = [r["error"] for r in records if "error" in r]
    print(f"operations: {len(records)}")
    print(f"busy_errors: {busy}")
    print(f"lost_updates: {lost + wrongly}")
    print(f"conflicts_refused: {sum(1 for r in records if r.get('conflict'))}")
    print(f"errors: {len(errors)}")
    imported = sum(1 for r in imports if r.get("imported"))
    print(f"imports: {imported}")
    print(f"imported_users: {IMPORT_BATCH * imported}")
    refused_imports = [r["refused"] for r in imports if "refused" in r]
    print(f"imports_refused: {len(refused_imports)}")
    if refused_imports:
        print(f"first_import_refusal: {refused_imports[0]}", file=sys.stderr)
    for kind in sorted({r["kind"] for r in records}):
        times = [r["ms"] for r in records if r["kind"] == kind]
        print(f"p95_ms_{kind}: {percentile(times, 95):.1f}")
    if errors:
        print(f"first_error: {errors[0]}", file=sys.stderr)


if __name__ == "__main__":
    main()
