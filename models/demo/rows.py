"""The rows around one demo user: identifiers, notes, statistics, loans and fees, blocks."""

from __future__ import annotations

import datetime as dt

from models.demo.data import (
    BLOCK_NOTES,
    FACULTY_DOMAIN,
    NOTE_TEXTS,
    OVERDUE_FINE_CAP,
    PAY_METHODS,
    STUDENT_GROUPS,
    TITLES,
)
from models.demo.tables import (
    BLOCK,
    FEE,
    FEE_TRANSACTION,
    IDENTIFIER,
    LOAN,
    NOTE,
    STATISTIC,
)
from models.enums import (
    AccountType,
    FeeAction,
    FeeStatus,
)
from models.users.derived import identifier_columns


def _check_digit(digits: str) -> str:
    """Luhn (mod 10) check digit, as on library card barcodes."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _orcid(account_id: int) -> str:
    """A well-formed ORCID iD (ISO 7064 11,2 check character) unique to the account."""
    base = f"0000{3_000_000_000_0 + account_id:011d}"
    total = 0
    for ch in base:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    digits = base + ("X" if check == 10 else str(check))
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))


class UserRows:
    """The rows around one user (a mixin of the generator, which holds `rng`, `ctx`, the
    next loan and fee ids, `_moment` and `_date_between`)."""

    def _identifiers(
        self,
        rows: dict,
        aid: int,
        primary_id: str,
        username: str,
        external: bool,
        is_staff: bool,
        account_type: str,
        group_code: str,
        researcher: bool,
        country: str,
    ) -> None:
        rng, types = self.rng, self.ctx.identifier_types

        def add(value: str, code: str | None, **extra) -> None:  # noqa: ANN003
            type_id = types.get(code) if code else None
            if code and type_id is None:
                return  # that identifier type was removed: skip it
            rows["identifier"].append(
                IDENTIFIER.row(
                    account_id=aid,
                    id_type_id=type_id,
                    **identifier_columns(value),
                    external=external,
                    **extra,
                )
            )

        # The primary identifier is an identifier row too, as every writer makes it.
        add(primary_id, None, is_primary=True)
        if rng.random() < 0.75:
            digits = f"2{aid:012d}"
            add(digits + _check_digit(digits), "BARCODE")
            if rng.random() < 0.04:
                old = f"1{aid:012d}"
                add(old + _check_digit(old), "BARCODE", active=False, note="Card reported lost")
        academic = group_code in STUDENT_GROUPS or group_code == "FACULTY" or is_staff
        if academic and rng.random() < 0.6:
            add(f"{rng.randint(10, 26):02d}-{aid:07d}", "UNIV_ID")
        if account_type != AccountType.INTERNAL or rng.random() < 0.02:
            add(f"{username}@sso.{FACULTY_DOMAIN}", "SSO")
        if researcher and rng.random() < 0.6:
            add(_orcid(aid), "ORCID")
        if rng.random() < 0.03:
            add(f"{country}{aid:010d}", "NATIONAL_ID")

    def _notes(self, rows: dict, aid: int, created_day: dt.date) -> None:
        rng, ctx = self.rng, self.ctx
        if not ctx.note_types or rng.random() >= 0.12:
            return
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            code = rng.choice(list(ctx.note_types))
            texts = NOTE_TEXTS.get(code, NOTE_TEXTS["GENERAL"])
            rows["note"].append(
                NOTE.row(
                    account_id=aid,
                    note_type_id=ctx.note_types[code],
                    text=rng.choice(texts),
                    user_viewable=rng.random() < 0.25,
                    popup=rng.random() < 0.2,
                    owner_id=ctx.library_id if rng.random() < 0.6 else None,
                    created_at=self._moment(self._date_between(created_day, ctx.today)),
                )
            )

    def _statistics(self, rows: dict, aid: int, group_code: str, is_researcher: bool) -> None:
        rng, stats = self.rng, self.ctx.stat_categories
        if rng.random() >= 0.3:
            return
        if group_code in STUDENT_GROUPS or group_code == "FACULTY" or is_researcher:
            kind = "DEPARTMENT"
        elif group_code in ("PUBLIC", "ALUMNI", "CHILD"):
            kind = "RESIDENCE"
        else:
            return
        if stats.get(kind):
            rows["statistic"].append(
                STATISTIC.row(
                    account_id=aid,
                    category_id=rng.choice(stats[kind]),
                    owner_id=self.ctx.library_id,
                )
            )

    def _circulation(
        self, rows: dict, aid: int, created_day: dt.date, lapsed: bool
    ) -> tuple[int, int]:
        """Loans (returned, current, overdue) and fees. Returns the active balance and the
        longest overdue in days, which the blocks follow."""
        rng, ctx = self.rng, self.ctx
        today = ctx.today
        balance, longest = 0, 0
        age = (today - created_day).days
        if rng.random() < (0.15 if lapsed else 0.45):
            for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 3, 4, 5, 8))):
                r = rng.random()
                if r < 0.58:
                    kind, days_ago = "returned", rng.randint(1, min(730, age))
                elif r < 0.9:
                    kind, days_ago = "current", rng.randint(0, 27)
                else:
                    kind, days_ago = "overdue", rng.randint(29, min(240, age))
                loaned = self._moment(today - dt.timedelta(days=days_ago))
                due = loaned.date() + dt.timedelta(days=28)
                returned = None
                late = 0
                if kind == "returned":
                    if rng.random() < 0.12:
                        returned_day = due + dt.timedelta(days=rng.randint(1, 40))
                    else:
                        returned_day = self._date_between(loaned.date(), min(due, today))
                    returned = max(self._moment(min(returned_day, today)), loaned)
                    late = max(0, (returned.date() - due).days)
                elif kind == "overdue":
                    late = (today - due).days
                    longest = max(longest, late)
                loan_id = self.next_loan
                self.next_loan += 1
                title = "{} / {}".format(*rng.choice(TITLES))
                barcode = f"3{loan_id:011d}"
                rows["loan"].append(
                    LOAN.row(
                        id=loan_id,
                        account_id=aid,
                        library_id=ctx.library_id,
                        item_barcode=barcode,
                        title=title,
                        loaned_at=loaned,
                        due_date=due,
                        returned_at=returned,
                    )
                )
                if (
                    late
                    and rng.random() < (0.7 if returned else 0.4)
                    and "OVERDUE" in ctx.fee_types
                ):
                    rate = ctx.fee_types["OVERDUE"][2] or 50
                    at = returned or self._moment(today)
                    balance += self._fee(
                        rows,
                        aid,
                        "OVERDUE",
                        min(late * rate, OVERDUE_FINE_CAP),
                        at,
                        loan_id,
                        barcode,
                        title,
                    )
                if kind == "overdue" and late > 90 and rng.random() < 0.25:
                    amount = rng.randrange(2_500, 12_000, 50)
                    balance += self._fee(
                        rows,
                        aid,
                        "LOST_ITEM",
                        amount,
                        self._moment(today - dt.timedelta(days=late - 90)),
                        loan_id,
                        barcode,
                        title,
                    )
        if rng.random() < 0.04:
            code = rng.choice(("CARD", "DAMAGED_ITEM", "REGISTRATION", "LOST_ITEM"))
            amount = {
                "CARD": 500,
                "REGISTRATION": 2_000,
                "DAMAGED_ITEM": rng.randrange(500, 4_000, 50),
                "LOST_ITEM": rng.randrange(2_500, 12_000, 50),
            }[code]
            at = self._moment(self._date_between(created_day, today))
            balance += self._fee(rows, aid, code, amount, at)
        return balance, longest

    def _fee(
        self,
        rows: dict,
        aid: int,
        code: str,
        amount: int,
        created: dt.datetime,
        loan_id: int | None = None,
        barcode: str = "",
        title: str = "",
    ) -> int:
        """One fee with its transactions; returns its active balance (0 unless active)."""
        rng, ctx = self.rng, self.ctx
        if code not in ctx.fee_types:
            return 0
        type_id, waivable, _ = ctx.fee_types[code]
        fee_id = self.next_fee
        self.next_fee += 1
        tx = rows["fee_transaction"]
        tx.append(
            FEE_TRANSACTION.row(
                fee_id=fee_id, action=FeeAction.CREATE.value, amount_minor=amount, at=created
            )
        )
        balance, status, last = amount, FeeStatus.ACTIVE, created

        def later() -> dt.datetime:
            nonlocal last
            last = min(
                last + dt.timedelta(days=rng.randint(0, 30), minutes=rng.randint(1, 600)), ctx.now
            )
            return last

        def pay(value: int) -> None:
            nonlocal balance
            balance -= value
            tx.append(
                FEE_TRANSACTION.row(
                    fee_id=fee_id,
                    action=FeeAction.PAY.value,
                    amount_minor=value,
                    method=rng.choice(PAY_METHODS),
                    at=later(),
                )
            )

        def waive(value: int) -> None:
            nonlocal balance
            balance -= value
            tx.append(
                FEE_TRANSACTION.row(
                    fee_id=fee_id,
                    action=FeeAction.WAIVE.value,
                    amount_minor=value,
                    reason_id=rng.choice(ctx.waive_reasons),
                    comment="Waived at the desk",
                    at=later(),
                )
            )

        r = rng.random()
        can_waive = waivable and bool(ctx.waive_reasons)
        if r < 0.40 or amount < 2:
            pass  # unpaid
        elif r < 0.65:
            first = amount if rng.random() < 0.7 else rng.randint(1, amount - 1)
            pay(first)
            if balance:
                pay(balance)
            status = FeeStatus.CLOSED
        elif r < 0.77:
            pay(rng.randint(1, amount - 1))
        elif r < 0.87 and can_waive:
            waive(amount)
            status = FeeStatus.WAIVED
        elif r < 0.92 and can_waive:
            waive(rng.randint(1, amount - 1))
        else:
            if rng.random() < 0.3:
                pay(rng.randint(1, amount - 1))
            tx.append(
                FEE_TRANSACTION.row(
                    fee_id=fee_id,
                    action=FeeAction.DISPUTE.value,
                    amount_minor=0,
                    comment="Patron says the item was returned on time",
                    at=later(),
                )
            )
            status = FeeStatus.DISPUTED
        rows["fee"].append(
            FEE.row(
                id=fee_id,
                account_id=aid,
                fee_type_id=type_id,
                owner_id=ctx.library_id,
                loan_id=loan_id,
                status=status.value,
                status_date=last,
                original_minor=amount,
                balance_minor=balance,
                item_barcode=barcode,
                title=title,
                created_at=created,
            )
        )
        return balance if status == FeeStatus.ACTIVE else 0

    def _blocks(
        self, rows: dict, aid: int, created_day: dt.date, balance: int, overdue_days: int
    ) -> None:
        rng, ctx = self.rng, self.ctx
        defs = ctx.block_definitions
        if not defs:
            return
        reasons: list[str] = []
        if overdue_days > 60 and rng.random() < 0.3:
            reasons.append("OVERDUE")
        if balance > 2_000 and rng.random() < 0.5:
            reasons.append("DEBT_LIMIT")
        if rng.random() < 0.03:
            reasons.append(rng.choice(("GENERAL", "LOST_CARD", "ADDRESS")))
        for code in dict.fromkeys(reasons):
            definition = defs.get(code) or rng.choice(list(defs.values()))
            active = rng.random() < 0.9
            rows["block"].append(
                BLOCK.row(
                    account_id=aid,
                    definition_id=definition,
                    expiry_date=(
                        ctx.today + dt.timedelta(days=rng.randint(7, 180))
                        if rng.random() < 0.4
                        else None
                    ),
                    note=BLOCK_NOTES.get(code, ""),
                    owner_id=ctx.library_id,
                    active=active,
                    created_at=self._moment(self._date_between(created_day, ctx.today)),
                )
            )
