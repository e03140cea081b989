"""Fees and loans travel (issue 21, item 4): PatronDesk's JSON export ("every field") carries
each user's loans and fees (with their transactions) and its import reads them back, amounts,
statuses, balances and transactions kept; Alma's fee and loan files are read for the users
that are here, and what has no home (another currency, a user who is not here, Alma's fields
PatronDesk has no column for) is reported with counts."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from models.config.settings import set_setting
from models.store.tables import Account, Fee, FeeTransaction, FeeType, Loan
from models.transfer.exports import export_users
from models.transfer.imports import import_file
from tests.domain.test_interchange_csv import _empty_database, opts


def _circulation() -> dict[str, dict]:
    """primary id -> its loans and fees (with transactions), as comparable tuples."""
    out: dict[str, dict] = {}
    accounts = {a.id: a.primary_id for a in Account.select()}
    loans = {}
    for x in Loan.select():
        loans[x.id] = x.item_barcode
        out.setdefault(accounts[x.account_id], {"loans": [], "fees": []})["loans"].append(
            (
                x.item_barcode,
                x.title,
                x.loaned_at,
                x.due_date,
                x.returned_at,
                x.library.code if x.library_id else "",
            )
        )
    transactions: dict[int, list] = {}
    for t in FeeTransaction.select().order_by(FeeTransaction.id):
        transactions.setdefault(t.fee_id, []).append(
            (
                t.action,
                t.amount_minor,
                t.method,
                t.reason.code if t.reason_id else "",
                t.comment,
                t.actor,
                t.at,
            )
        )
    for f in Fee.select():
        out.setdefault(accounts[f.account_id], {"loans": [], "fees": []})["fees"].append(
            (
                f.fee_type.code,
                f.status,
                f.status_date,
                f.original_minor,
                f.balance_minor,
                f.item_barcode,
                f.title,
                f.comment,
                f.owner.code if f.owner_id else "",
                loans.get(f.loan_id, ""),
                f.created_by,
                f.created_at,
                tuple(transactions.get(f.id, [])),
            )
        )
    return {k: {kind: sorted(v, key=repr) for kind, v in rows.items()} for k, rows in out.items()}


def test_a_json_round_trip_keeps_fees_loans_and_their_transactions(
    db, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from models.demo import generate_demo

    generate_demo(300, seed=7)
    before = _circulation()
    fees = sum(len(v["fees"]) for v in before.values())
    loans = sum(len(v["loans"]) for v in before.values())
    assert fees >= 20 and loans >= 100
    assert {f[1] for v in before.values() for f in v["fees"]} >= {"active", "closed", "waived"}
    out = io.StringIO()
    export_users(out, "json")
    data = json.loads(out.getvalue())
    assert data["currency"] == "EUR"
    assert {"fee_type", "waive_reason"} <= set(data["code_tables"])
    assert sum(len(u["fees"]) for u in data["users"]) == fees
    assert sum(len(u["loans"]) for u in data["users"]) == loans
    path = tmp_path / "users.json"
    path.write_text(out.getvalue(), encoding="utf-8")
    _empty_database(db, tmp_path, request)
    report = import_file(path, opts())
    assert (report.created, report.refused) == (300, 0), report.summary()
    assert (report.fees, report.loans) == (fees, loans)
    assert f"{fees:,} fees and {loans:,} loans were written" in report.summary()
    after = _circulation()
    assert after == before
    # The balances the Fines/fees tab sums are the same.
    active = Fee.select().where(Fee.status == "active")
    assert sum(f.balance_minor for f in active) == sum(
        f[4] for v in before.values() for f in v["fees"] if f[1] == "active"
    )


def test_fees_in_another_currency_are_reported_not_converted(
    db, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from models.demo import generate_demo

    generate_demo(40, seed=7)
    out = io.StringIO()
    export_users(out, "json")
    text = out.getvalue().replace('"currency": "EUR"', '"currency": "JPY"', 1)
    data = json.loads(text)
    with_fees = sum(1 for u in data["users"] if u["fees"])
    assert with_fees >= 1
    path = tmp_path / "jpy.json"
    path.write_text(text, encoding="utf-8")
    _empty_database(db, tmp_path, request)
    report = import_file(path, opts())
    assert report.created == 40 and report.fees == 0 and Fee.select().count() == 0
    said = [i for i in report.issues if i.field == "fees"]
    assert len(said) == with_fees
    assert said[0].message.endswith("in JPY, this database's currency is EUR: left out")


def test_almas_fee_and_loan_files_are_read_for_the_users_that_are_here(
    db, tmp_path: Path, shared_data: Path
) -> None:
    folder = tmp_path / "alma"
    folder.mkdir()
    for name in (
        "fee_response.json",
        "fees_response.json",
        "loans_response.json",
        "user_response.json",
    ):
        shutil.copy(shared_data / "alma" / name, folder / name)
    set_setting("currency", "NOK")
    report = import_file(folder, opts())
    # The user file comes after the fee files in name order: fees and loans are read last.
    assert report.created == 1 and report.refused == 0
    banan = Account.get(Account.primary_id == "12345")
    (fee,) = Fee.select().where(Fee.account == banan)  # the same Alma fee in two files: once
    assert (fee.fee_type.code, fee.status, fee.original_minor, fee.balance_minor) == (
        "LOSTITEMREPLACEMENTFEE",
        "active",
        75000,
        75000,
    )
    assert fee.owner.code == "1030310" and fee.title == "Knowledge concepts"
    assert FeeType.get(FeeType.code == "LOSTITEMREPLACEMENTFEE").name == "Lost item replacement fee"
    assert [t.action for t in fee.transactions] == ["create"]
    assert report.fees == 1 and report.loans == 0
    # The loans are of user 123435, who is not here: said with their count, nothing written.
    said = {(i.field, i.message) for i in report.issues}
    assert ("loans", "2 loans of user '123435', who is not an account here: left out") in said
    assert any(f == "loans" and m.startswith("no home in PatronDesk: author (2)") for f, m in said)
    assert Loan.select().count() == 0
    again = import_file(folder, opts())
    assert again.fees == 0 and Fee.select().where(Fee.account == banan).count() == 1
    # A user that is here gets the loans; Alma's loan fields without a home are named.
    loans = json.loads((folder / "loans_response.json").read_text(encoding="utf-8"))
    for loan in loans["item_loan"]:
        loan["user_id"] = "12345"
    single = tmp_path / "loans.json"
    single.write_text(json.dumps(loans), encoding="utf-8")
    third = import_file(single, opts())
    assert third.loans == 2 and third.format == "alma-loans"
    rows = sorted(Loan.select().where(Loan.account == banan), key=lambda x: x.item_barcode)
    assert [(x.item_barcode, x.due_date.isoformat(), x.returned_at) for x in rows] == [
        ("025986na0", "2018-08-14", None),
        ("303011kj0", "2018-08-20", None),
    ]
    assert rows[0].library.code == "1030310"
    assert import_file(single, opts()).loans == 0  # a rerun adds none


def test_alma_fees_in_another_currency_are_reported(db, shared_data: Path) -> None:
    import_file(shared_data / "alma" / "user_response.json", opts())
    report = import_file(shared_data / "alma" / "fees_response.json", opts())
    assert report.fees == 0 and Fee.select().count() == 0
    assert any(
        i.field == "fees" and i.message == "1 fee in NOK, this database's currency is EUR: left out"
        for i in report.issues
    )
