"""Fees and loans of an import (issue 21, item 4): those of PatronDesk's JSON export, written
with the account they belong to, and those of Alma's fee and loan files (REST responses),
written to the accounts already here after the users of the load.

A fee keeps its type, status, amounts (minor units), item, owner library, the loan it was
charged for, and its transactions; a loan its item, library and dates. Amounts in another
currency than the database's are not converted: the fees are left out and said. Alma's files
are matched by the user's primary identifier; a fee or loan already here (same type, amount and
creation time; same item and loan time) is not written twice, so a rerun adds nothing.
`models.transfer.imports` calls `write_own` (inside the chunk's transaction) and `load_files`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.access.scope import EVERY_LIBRARY
from models.enums import FeeAction, FeeStatus
from models.store.base import fold_key
from models.store.tables import Account, Fee, FeeTransaction, FeeType, Loan, WaiveReason
from models.transfer.formats import read_alma_circulation

if TYPE_CHECKING:
    from models.transfer.imports import Importer

_STATUSES = frozenset(s.value for s in FeeStatus)
_ACTIONS = frozenset(a.value for a in FeeAction)


def _time(value: Any) -> dt.datetime | None:
    """ISO text (a trailing Z or offset: converted to UTC) as the naive UTC the database keeps."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _day(value: Any) -> dt.date | None:
    text = str(value or "").strip()[:10]
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _pair(value: Any) -> tuple[str, str] | None:
    if isinstance(value, (list, tuple)) and value and str(value[0]).strip():
        return (str(value[0]).strip(), str(value[1] if len(value) > 1 else "").strip())
    if isinstance(value, str) and value.strip():
        return (value.strip(), "")
    return None


class _Codes:
    """Fee types, waive reasons and libraries of the import's organization, by code (cached);
    an unknown fee type or waive reason is created and listed, as the import's other codes
    (under --strict: None)."""

    def __init__(self, imp: Importer) -> None:
        self.imp = imp
        self.loaded = imp.codes.by_code.get("library")
        self.ids: dict[tuple[str, str], int] = {}
        for model, table in ((FeeType, "fee_type"), (WaiveReason, "waive_reason")):
            for row in model.select().where(model.organization == imp.org.id).order_by(model.id):
                self.ids.setdefault((table, row.code.lower()), row.id)

    def get(self, table: str, pair: tuple[str, str] | None) -> int | None:
        if pair is None:
            return None
        if table == "library":
            from models.transfer.imports import _Unknown

            try:
                return self.imp.codes.resolve("library", pair)
            except _Unknown:
                return None
        found = self.ids.get((table, pair[0].lower()))
        if found is None and not self.imp.opts.strict:
            model = FeeType if table == "fee_type" else WaiveReason
            code, name = pair[0][:50], (pair[1] or pair[0])[:200]
            found = model.create(
                organization=self.imp.org.id,
                code=code,
                name=name,
                description="created by an import",
            ).id
            self.ids[(table, code.lower())] = found
            self.imp.codes.created.append((table, code, name))
        return found


def _codes(imp: Importer) -> _Codes:
    """The import's cache, read again after its code tables were (`Codes.reload`, after a
    dry run's or a failed chunk's rollback, assigns new dicts): no id of a rolled-back row."""
    codes = getattr(imp, "_circulation_codes", None)
    if codes is None or codes.loaded is not imp.codes.by_code.get("library"):
        codes = _Codes(imp)
        imp._circulation_codes = codes  # type: ignore[attr-defined]
    return codes


def _currency_problem(imp: Importer, fees: list[dict]) -> str | None:
    currency = next((str(f.get("currency") or "") for f in fees if f.get("currency")), "")
    mine = imp.settings.currency.upper()
    if currency and currency.upper() != mine:
        count = f"{len(fees):,} fee" + ("" if len(fees) == 1 else "s")
        return f"{count} in {currency.upper()}, this database's currency is {mine}: left out"
    return None


def _write_loan(imp: Importer, codes: _Codes, account_id: int, x: dict) -> int | None:
    due = _day(x.get("due_date"))
    barcode = str(x.get("item_barcode") or "").strip()[:100]
    if due is None or not barcode:
        return None
    return Loan.insert(
        account=account_id,
        library=codes.get("library", _pair(x.get("library"))),
        item_barcode=barcode,
        title=str(x.get("title") or "")[:500],
        loaned_at=_time(x.get("loaned_at")) or imp.now,
        due_date=due,
        returned_at=_time(x.get("returned_at")),
    ).execute()


def _write_fee(
    imp: Importer, codes: _Codes, account_id: int, x: dict, loans: dict[str, int]
) -> int | None:
    fee_type = codes.get("fee_type", _pair(x.get("fee_type")))
    status = str(x.get("status") or "")
    if fee_type is None or status not in _STATUSES:
        return None
    try:
        original, balance = int(x.get("original") or 0), int(x.get("balance") or 0)
    except (TypeError, ValueError):
        return None
    created = _time(x.get("created_at")) or imp.now
    fee_id = Fee.insert(
        account=account_id,
        fee_type=fee_type,
        owner=codes.get("library", _pair(x.get("owner"))),
        loan=loans.get(str(x.get("loan"))) if x.get("loan") is not None else None,
        status=status,
        status_date=_time(x.get("status_date")) or created,
        original_minor=original,
        balance_minor=balance,
        item_barcode=str(x.get("item_barcode") or "")[:100],
        title=str(x.get("title") or "")[:500],
        comment=str(x.get("comment") or ""),
        created_by=str(x.get("created_by") or imp.actor.name)[:100],
        created_at=created,
    ).execute()
    rows = []
    for t in x.get("transactions") or []:
        if not isinstance(t, dict) or str(t.get("action") or "") not in _ACTIONS:
            continue
        try:
            amount = int(t.get("amount") or 0)
        except (TypeError, ValueError):
            continue
        rows.append(
            {
                "fee": fee_id,
                "action": t["action"],
                "amount_minor": amount,
                "method": str(t.get("method") or "")[:30],
                "reason": codes.get("waive_reason", _pair(t.get("reason"))),
                "comment": str(t.get("comment") or ""),
                "actor": str(t.get("actor") or "")[:100],
                "at": _time(t.get("at")) or created,
            }
        )
    if rows:
        FeeTransaction.insert_many(rows).execute()
    return fee_id


def write_own(imp: Importer, rec: dict, account_id: int) -> None:
    """The loans and fees of a new account from PatronDesk's JSON (in the chunk's transaction).
    A fee names its loan by the loan's `ref` in the file."""
    codes = _codes(imp)
    loans: dict[str, int] = {}
    for x in rec.get("loans") or []:
        if not isinstance(x, dict):
            continue
        loan_id = _write_loan(imp, codes, account_id, x)
        if loan_id is None:
            imp._issue(rec, "warning", "loans", f"{x.get('item_barcode')!r}: no item or due date")
            continue
        imp.report.loans += 1
        if x.get("ref") is not None:
            loans[str(x["ref"])] = loan_id
    fees = [x for x in rec.get("fees") or [] if isinstance(x, dict)]
    problem = _currency_problem(imp, fees) if fees else None
    if problem:
        imp._issue(rec, "warning", "fees", problem)
        return
    for x in fees:
        if _write_fee(imp, codes, account_id, x, loans) is None:
            imp._issue(
                rec, "warning", "fees", f"{x.get('fee_type')!r}: unknown type, status or amount"
            )
        else:
            imp.report.fees += 1


def _already(kind: str, account_id: int, x: dict) -> bool:
    """Whether the account has this fee (type, original amount, creation time) or loan (item,
    loan time) already: a rerun of the same Alma file writes nothing twice."""
    if kind == "loans":
        return (
            Loan.select()
            .where(
                (Loan.account == account_id)
                & (Loan.item_barcode == str(x.get("item_barcode") or "")[:100])
                & (Loan.loaned_at == _time(x.get("loaned_at")))
            )
            .exists()
        )
    pair = _pair(x.get("fee_type"))
    return (
        Fee.select()
        .join(FeeType)
        .where(
            (Fee.account == account_id)
            & EVERY_LIBRARY.condition(Fee.owner)  # every library's: a duplicate is one anyway
            & (FeeType.code == (pair[0] if pair else ""))
            & (Fee.original_minor == x.get("original"))
            & (Fee.created_at == _time(x.get("created_at")))
        )
        .exists()
    )


def load_files(imp: Importer, files: list[tuple[Path, str, str]]) -> None:
    """Alma's fee and loan files of the load (path, format, label), after its users: each
    item written to the account of its user's primary identifier. What cannot be written is
    reported with counts: the items of users who are not here, fees in another currency,
    Alma's fields with no home in PatronDesk."""
    from models.transfer.imports import Issue, _atomic, _DryRunRollback

    for path, fmt, label in files:
        read = read_alma_circulation(path, fmt, imp.settings.currency)
        by_user: dict[str, list[dict]] = {}
        for user, item in read.items:
            by_user.setdefault(user, []).append(item)
        noun = read.kind[:-1]

        def say(
            message: str, primary_id: str = "", file: str = label, kind: str = read.kind
        ) -> None:
            imp.report.add(Issue(file, "", primary_id, "warning", kind, message))

        if read.no_home:
            fields = ", ".join(f"{name} ({count:,})" for name, count in read.no_home.items())
            say(f"no home in PatronDesk: {fields}: not kept")
        written = Counter()
        try:
            with _atomic():
                codes = _codes(imp)
                for user, items in by_user.items():
                    n = f"{len(items):,} {noun}" + ("" if len(items) == 1 else "s")
                    account = Account.get_or_none(
                        (Account.primary_id_key == fold_key(user))
                        & (Account.organization == imp.org.id)
                    )
                    if account is None:
                        say(f"{n} of user {user!r}, who is not an account here: left out", user)
                        continue
                    if read.kind == "fees":
                        problem = _currency_problem(imp, items)
                        if problem:
                            say(problem, user)
                            continue
                    for x in items:
                        if _already(read.kind, account.id, x):
                            continue
                        if read.kind == "loans":
                            done = _write_loan(imp, codes, account.id, x) is not None
                        else:
                            done = _write_fee(imp, codes, account.id, x, {}) is not None
                        if done:
                            written[read.kind] += 1
                        else:
                            say(f"{x.get('item_barcode') or x.get('fee_type')!r}: left out", user)
                for table, code, name in imp.codes.created:
                    listed = imp.report.created_codes.setdefault(table, [])
                    if all(c != code for c, _ in listed):
                        listed.append((code, name))
                imp.codes.created = []
                if imp.opts.dry_run:
                    raise _DryRunRollback
        except _DryRunRollback:
            imp.codes.reload()
        imp.report.fees += written["fees"]
        imp.report.loans += written["loans"]


__all__ = ["load_files", "write_own"]
