"""`patrondesk purge [--dry-run]` as a subprocess: the report, exit 0, nothing deleted by a dry
run, the same accounts purged by the real run; one error line and exit 2 when uninitialized."""

from __future__ import annotations

import datetime as dt

from models.audit import Actor
from models.enums import Source
from models.fees.fees import add_fee
from models.runtime import runtime
from models.store.tables import Account
from tests.cli.test_cli import assert_clean_error, run
from tests.helpers.ui import add_user


def test_purge_dry_run_then_real_run(ui_db, tmp_path) -> None:
    past = runtime.today() - dt.timedelta(days=1)
    gone = add_user("Paul", "Purgeable", "P700")
    owes = add_user("Olga", "Owing", "P701")
    add_fee(owes.id, Actor(None, Source.CLI), fee_type="CARD", amount="5.00")
    Account.update(purge_date=past).where(Account.id.in_([gone.id, owes.id])).execute()

    dry = run(tmp_path, "--db", ui_db.url, "purge", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "Dry run: would purge 1 account whose purge date has passed and skip 1; "
        "nothing was deleted.",
        f"  would purge  P700  (purge date {past.isoformat()})",
        "  skipped  P701  a balance of 5.00 EUR is due",
    ]
    assert Account.select().where(Account.primary_id == "P700").exists()

    real = run(tmp_path, "--db", ui_db.url, "purge")
    assert real.returncode == 0, real.stderr
    assert real.stdout.splitlines()[0] == (
        "Purged 1 account whose purge date has passed; skipped 1."
    )
    assert not Account.select().where(Account.primary_id == "P700").exists()
    assert Account.select().where(Account.primary_id == "P701").exists()


def test_purge_of_an_uninitialized_database_is_one_error_line(tmp_path) -> None:
    (tmp_path / "empty.db").touch(mode=0o600)  # empty: a missing file is refused before
    result = run(tmp_path, "--db", str(tmp_path / "empty.db"), "purge")
    assert_clean_error(result, "not initialized")
