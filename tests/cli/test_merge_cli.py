"""`patrondesk merge KEEP OTHER [--dry-run]` as a subprocess (issue 24): the preview, a dry run
that changes nothing, the merge with what moved, refusals as one error line, and hostile text
from the database or the command line never printed raw."""

from __future__ import annotations

import datetime as dt

from models.audit import Actor
from models.enums import Source
from models.fees.fees import add_fee
from models.runtime import runtime
from models.store.tables import Account, Fee, Loan, Person
from tests.cli.test_cli import assert_clean_error, run
from tests.helpers.ui import add_user

RAW = ("\x1b", "\u202e", "\x07", "\x9b")


def test_merge_dry_run_then_merge(ui_db, tmp_path) -> None:
    kept = add_user("Anna", "Müller", "P800")
    merged = add_user("Anna", "Mueller", "P801", identifier="BC-801")
    fee = add_fee(merged.id, Actor(None, Source.CLI), fee_type="CARD", amount="5.00")
    Loan.create(account=merged, item_barcode="I-9", due_date=runtime.today() + dt.timedelta(7))
    # A name stored raw by an old version or another tool: never printed as it is.
    Person.update(middle_name="\x1b[2J\u202eEvil\x07").where(
        Person.id == merged.person_id
    ).execute()

    # By default the merged middle name fills the kept one's: the checks refuse its escapes.
    refused = run(tmp_path, "--db", ui_db.url, "merge", "P800", "P801")
    line = assert_clean_error(refused, "middle_name", "control characters")
    assert not any(ch in line + refused.stdout for ch in RAW)
    assert Fee.get_by_id(fee.id).account_id == merged.id

    dry = run(tmp_path, "--db", ui_db.url, "merge", "P800", "P801", "--dry-run",
              "--keep-value", "middle_name")  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    out = dry.stdout
    assert out.splitlines()[0].startswith("Keep:  P800")
    assert "1 fines/fees" in out and "1 loans" in out and "Dry run: nothing was changed." in out
    assert not any(ch in out for ch in RAW)
    assert Fee.get_by_id(fee.id).account_id == merged.id

    real = run(tmp_path, "--db", ui_db.url, "merge", "P800", "P801", "--keep-value", "middle_name")
    assert real.returncode == 0, real.stderr
    assert "Merged P801 into P800." in real.stdout
    assert not any(ch in real.stdout for ch in RAW)
    assert Fee.get_by_id(fee.id).account_id == kept.id
    assert not Account.select().where(Account.primary_id == "P801").exists()
    assert Person.get_by_id(kept.person_id).middle_name == ""


def test_merge_refusals_are_one_clean_line(ui_db, tmp_path) -> None:
    add_user("Anna", "Müller", "P800")
    add_user("Vera", "Vendor", "V800", record_type="contact", group="")
    refused = run(tmp_path, "--db", ui_db.url, "merge", "P800", "V800")
    assert_clean_error(refused, "contact records")
    assert Account.select().where(Account.primary_id == "V800").exists()
    hostile = run(tmp_path, "--db", ui_db.url, "merge", "P800", "X\x1b[31m\u202e")
    line = assert_clean_error(hostile, "No user has the primary identifier")
    assert not any(ch in line for ch in RAW)
