"""Fines and fees (issue 7): every action and its refusals, balances against a hand computation,
the debt limit, accrued fines, and a property over any sequence of valid actions. Both back ends
through `db`."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.config.settings import set_setting
from models.enums import FeeStatus, Role
from models.errors import ConflictError, PermissionDenied, ValidationError
from models.fees import fees
from models.fees.fees import (
    FeeRefused,
    accrued_fines,
    active_balance,
    add_fee,
    borrowing_blocks,
    debt_limit_reached,
    dispute_fee,
    fee_transactions,
    fee_view,
    link_item,
    list_fees,
    pay_fee,
    restore_fee,
    waive_all,
    waive_fee,
    waive_fees,
)
from models.runtime import runtime
from models.store.tables import Fee, FeeTransaction, FeeType, Library, Loan
from models.users.history import history
from tests.helpers.details import admin, as_staff, user


def fine(db, account, amount="12.50", code="LOST_ITEM", **extra) -> Fee:
    return add_fee(account.id, admin(db), fee_type=code, amount=amount, **extra)


def balances(db, account) -> tuple[str, str]:
    view = fee_view(account.id, admin(db), status="all")
    return view.money(view.active_minor), view.money(view.disputed_minor)


def reread(fee: Fee) -> Fee:
    return Fee.get_by_id(fee.id)


def test_the_desk_sequence_leaves_five_active_and_history_shows_each_step(db) -> None:
    """The issue's own scenario: add 12.50, pay 2.50, dispute the rest, restore, waive 5.00."""
    anna = user(db)
    fee = fine(db, anna, "12.50", comment="Lost on the bus")
    assert balances(db, anna) == ("12.50 EUR", "0.00 EUR")
    pay_fee(fee.id, admin(db), amount="2.50", method="cash")
    assert balances(db, anna) == ("10.00 EUR", "0.00 EUR")
    dispute_fee(fee.id, admin(db), comment="Says it was returned")
    assert balances(db, anna) == ("0.00 EUR", "10.00 EUR")
    restore_fee(fee.id, admin(db))
    assert balances(db, anna) == ("10.00 EUR", "0.00 EUR")
    waive_fee(fee.id, admin(db), amount="5.00", reason="GOODWILL", comment="First time")
    assert balances(db, anna) == ("5.00 EUR", "0.00 EUR")
    fee = reread(fee)
    assert (fee.status, fee.original_minor, fee.balance_minor) == ("active", 1250, 500)
    steps = [
        (t.action, t.amount_minor, t.method, t.reason, t.comment)
        for t in fee_transactions(fee.id, admin(db))
    ]
    assert steps == [
        ("create", 1250, "", "", "Lost on the bus"),
        ("pay", 250, "cash", "", ""),
        ("dispute", 0, "", "", "Says it was returned"),
        ("restore", 0, "", "", ""),
        ("waive", 500, "", "Goodwill", "First time"),
    ]
    shown = [
        (r.entity, r.field, r.old, r.new)
        for r in reversed(history(anna.id, admin(db), "all"))
        if r.entity == "fee"
    ]
    assert shown[:3] == [
        ("fee", "fee_type", None, "Lost item replacement"),
        ("fee", "amount", None, "12.50 EUR"),
        ("fee", "owner", None, "Institution"),
    ]
    assert ("fee", "pay", None, "2.50 EUR · cash") in shown
    assert ("fee", "balance", "12.50 EUR", "10.00 EUR") in shown
    assert ("fee", "status", "active", "disputed") in shown
    assert ("fee", "status", "disputed", "active") in shown
    assert ("fee", "balance", "10.00 EUR", "5.00 EUR") in shown
    assert ("fee", "waive", None, "5.00 EUR · Goodwill · First time") in shown


def test_balances_after_a_mixed_sequence_match_a_hand_computation(db) -> None:
    anna = user(db)
    a = fine(db, anna, "30")  # lost item
    b = fine(db, anna, "5.00", "CARD")
    c = fine(db, anna, "20", "REGISTRATION")
    credit = add_fee(anna.id, admin(db), fee_type="CREDIT", amount="4.00", comment="Overpaid")
    pay_fee(a.id, admin(db), amount="12.35", method="card")
    waive_fee(b.id, admin(db), reason="LIBRARY_ERROR")  # in full: waived
    dispute_fee(c.id, admin(db), comment="Was told it is free")
    pay_fee(a.id, admin(db), method="online")  # the rest: closed
    # By hand: a 30 - 12.35 - 17.65 = 0 (closed); b 0 (waived); c 20 disputed; credit -4 active.
    view = fee_view(anna.id, admin(db), status="all")
    assert (view.active_minor, view.disputed_minor, view.transferred_minor) == (-400, 2000, 0)
    status = {r.fee_id: (r.status, r.balance_minor) for r in view.rows}
    assert status == {
        a.id: ("closed", 0),
        b.id: ("waived", 0),
        c.id: ("disputed", 2000),
        credit.id: ("active", -400),
    }
    assert fee_view(anna.id, admin(db)).filtered_minor == -400  # default filter: active


def test_the_disputed_balance_of_the_fees_listed_follows_the_filters(db) -> None:
    """Alma's "Currently filtered disputed balance": the disputed fees among those listed."""
    anna = user(db)
    Library.create(organization=db.organization, code="BRANCH", name="Branch library")
    a = fine(db, anna, "3.00", owner="MAIN")
    b = fine(db, anna, "4.50", owner="BRANCH")
    fine(db, anna, "1.00", owner="BRANCH")
    dispute_fee(a.id, admin(db), comment="Returned it")
    dispute_fee(b.id, admin(db), comment="Never had it")

    def shown(**filters) -> tuple[int, int, int]:
        view = fee_view(anna.id, admin(db), **filters)
        return view.filtered_minor, view.filtered_disputed_minor, view.disputed_minor

    assert shown() == (100, 0, 750)  # default filter: active, none disputed among them
    assert shown(status="all") == (850, 750, 750)
    assert shown(status="disputed") == (750, 750, 750)
    assert shown(status="all", owner="BRANCH") == (550, 450, 750)
    assert shown(status="disputed", owner="institution") == (0, 0, 750)


def test_a_credit_needs_a_comment_and_counts_negative(db) -> None:
    anna = user(db)
    with pytest.raises(ValidationError) as err:
        add_fee(anna.id, admin(db), fee_type="CREDIT", amount="3.00")
    assert err.value.errors == {"comment": "is required for a credit"}
    fine(db, anna, "10.00")
    credit = add_fee(anna.id, admin(db), fee_type="CREDIT", amount="3.00", comment="Refund due")
    assert (credit.original_minor, credit.balance_minor) == (-300, -300)
    assert active_balance(anna.id) == 700
    with pytest.raises(FeeRefused, match="credit is not paid"):
        pay_fee(credit.id, admin(db), method="cash")
    with pytest.raises(FeeRefused, match="cannot be disputed"):
        dispute_fee(credit.id, admin(db), comment="no")
    waive_fee(credit.id, admin(db), amount="1.00", reason="OTHER", comment="Partly used")
    assert reread(credit).balance_minor == -200
    with pytest.raises(ValidationError, match="more than the balance of 2.00 EUR"):
        waive_fee(credit.id, admin(db), amount="2.01", reason="OTHER")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-1.00", "must not be negative"),
        ("12.345", "EUR has 2 decimal places at most"),
        ("twelve", "Not an amount"),
        ("", "is required"),
        (12.5, "must be exact"),
        ("1e20", "is too large"),
    ],
)
def test_a_wrong_amount_is_refused_at_the_field(db, amount, message) -> None:
    anna = user(db)
    with pytest.raises(ValidationError) as err:
        fine(db, anna, amount)
    assert message in err.value.errors["amount"]
    assert Fee.select().count() == 0


def test_amounts_are_exact_decimals_and_typed_commas(db) -> None:
    anna = user(db)
    assert fine(db, anna, Decimal("0.10")).balance_minor == 10
    assert fine(db, anna, "0,20").balance_minor == 20
    assert fine(db, anna, Decimal("0.1") + Decimal("0.2")).balance_minor == 30
    assert active_balance(anna.id) == 60


def test_a_zero_fee_is_recorded_closed(db) -> None:
    anna = user(db)
    fee = fine(db, anna, "0")
    assert (fee.status, fee.balance_minor) == ("closed", 0)


def test_only_fee_types_for_manual_creation_can_be_added(db) -> None:
    anna = user(db)
    with pytest.raises(ValidationError) as err:
        fine(db, anna, "1.00", "OVERDUE")
    assert "is not added by hand" in err.value.errors["fee_type"]
    with pytest.raises(ValidationError) as err:
        fine(db, anna, "1.00", "NOPE")
    assert err.value.errors["fee_type"] == "is not a known fee type"
    names = dict(fees.manual_fee_types(db.organization.id))
    assert "Overdue fine" not in names and names["Lost item replacement"] == "LOST_ITEM"


def test_a_fee_type_of_one_library_is_owned_by_that_library(db) -> None:
    anna = user(db)
    branch = Library.create(organization=db.organization, code="BRANCH", name="Branch library")
    FeeType.update(library=branch).where(FeeType.code == "CARD").execute()
    assert fine(db, anna, "5", "CARD").owner_id == branch.id
    with pytest.raises(ValidationError) as err:
        fine(db, anna, "5", "CARD", owner="MAIN")
    assert err.value.errors["owner"] == "must be Branch library: the fee type belongs to it"


def test_waiving_more_than_the_balance_is_refused(db) -> None:
    anna = user(db)
    fee = fine(db, anna, "12.50")
    with pytest.raises(ValidationError) as err:
        waive_fee(fee.id, admin(db), amount="12.51", reason="GOODWILL")
    assert err.value.errors == {"amount": "is more than the balance of 12.50 EUR"}
    with pytest.raises(ValidationError) as err:
        waive_fee(fee.id, admin(db), amount="1", reason="")
    assert "reason" in err.value.errors
    assert reread(fee).balance_minor == 1250
    waive_fee(fee.id, admin(db), reason="GOODWILL")  # no amount: the whole balance
    assert (reread(fee).status, reread(fee).balance_minor) == ("waived", 0)
    with pytest.raises(FeeRefused, match="Nothing is left to waive"):
        waive_fee(fee.id, admin(db), reason="GOODWILL")
    with pytest.raises(FeeRefused, match="Only a disputed fee can be restored"):
        restore_fee(fee.id, admin(db))


def test_a_fee_of_a_type_that_is_not_waivable_cannot_be_waived(db) -> None:
    anna = user(db)
    fee = fine(db, anna, "20.00", "REGISTRATION")
    with pytest.raises(FeeRefused, match="registration fee cannot be waived"):
        waive_fee(fee.id, admin(db), reason="GOODWILL")
    assert FeeTransaction.select().where(FeeTransaction.action == "waive").count() == 0


def test_payments_are_checked_against_the_balance_and_the_status(db) -> None:
    anna = user(db)
    fee = fine(db, anna, "10.00")
    with pytest.raises(ValidationError) as err:
        pay_fee(fee.id, admin(db), amount="10.01", method="cheque")
    assert err.value.errors == {
        "method": "is one of cash, card, online",
        "amount": "is more than the balance of 10.00 EUR",
    }
    with pytest.raises(ValidationError, match="must be more than 0"):
        pay_fee(fee.id, admin(db), amount="0", method="cash")
    dispute_fee(fee.id, admin(db), comment="Not mine")
    with pytest.raises(FeeRefused, match="restore it before taking a payment"):
        pay_fee(fee.id, admin(db), method="cash")
    restore_fee(fee.id, admin(db), comment="Checked: it is")
    pay_fee(fee.id, admin(db), method="cash")
    assert (reread(fee).status, reread(fee).balance_minor) == ("closed", 0)
    with pytest.raises(FeeRefused, match="Nothing is due"):
        pay_fee(fee.id, admin(db), method="cash")


def test_a_dispute_needs_a_comment_and_a_disputed_fee_may_be_waived(db) -> None:
    anna = user(db)
    fee = fine(db, anna, "8.00")
    with pytest.raises(ValidationError) as err:
        dispute_fee(fee.id, admin(db), comment="  ")
    assert err.value.errors == {"comment": "is required: say what the user disputes"}
    dispute_fee(fee.id, admin(db), comment="Returned on time")
    with pytest.raises(FeeRefused, match="Only an active fee"):
        dispute_fee(fee.id, admin(db), comment="again")
    waive_fee(fee.id, admin(db), amount="3.00", reason="GOODWILL")
    assert (reread(fee).status, reread(fee).balance_minor) == ("disputed", 500)
    waive_fee(fee.id, admin(db), reason="GOODWILL")
    assert reread(fee).status == "waived"


def test_a_transferred_fee_takes_no_action_here(db) -> None:
    anna = user(db)
    fee = fine(db, anna, "8.00")
    Fee.update(status=FeeStatus.TRANSFERRED.value).where(Fee.id == fee.id).execute()
    for action in (
        lambda: pay_fee(fee.id, admin(db), method="cash"),
        lambda: waive_fee(fee.id, admin(db), reason="GOODWILL"),
        lambda: dispute_fee(fee.id, admin(db), comment="x"),
    ):
        with pytest.raises(FeeRefused, match="transferred to the bursar"):
            action()
    assert fee_view(anna.id, admin(db)).transferred_minor == 800


def test_waive_selected_is_refused_above_the_limit_and_waive_all_stops_at_it(db) -> None:
    anna = user(db)
    set_setting("waive_limit", 2)
    made = [fine(db, anna, f"{n}.00") for n in (1, 2, 3)]
    registration = fine(db, anna, "7.00", "REGISTRATION")
    with pytest.raises(ValidationError, match="at most 2 fees"):
        waive_fees([f.id for f in made], admin(db), reason="GOODWILL")
    with pytest.raises(FeeRefused, match="Registration fee of"):
        waive_fees([made[0].id, registration.id], admin(db), reason="GOODWILL")
    assert active_balance(anna.id) == 1300, "a refusal waives nothing"
    result = waive_fees([made[0].id, made[1].id], admin(db), reason="GOODWILL")
    assert (result.waived, result.amount_minor) == (2, 300)
    more = [fine(db, anna, "4.00"), fine(db, anna, "5.00")]
    result = waive_all(anna.id, admin(db), reason="DECEASED")
    assert (result.waived, result.amount_minor, result.left, result.skipped) == (2, 700, 1, 1)
    assert reread(more[1]).balance_minor == 500, "oldest first: the newest waits"
    result = waive_all(anna.id, admin(db), reason="DECEASED")
    assert (result.waived, result.left) == (1, 0)
    assert active_balance(anna.id) == 700, "only the registration fee is left"


def test_link_to_an_item_takes_the_title_from_its_loan(db) -> None:
    anna = user(db)
    Loan.create(account=anna, item_barcode="3100042", title="Dune / Herbert",
                due_date=runtime.today())  # fmt: skip
    fee = fine(db, anna, "3.00")
    link_item(fee.id, admin(db), item_barcode="3100042")
    fee = reread(fee)
    assert (fee.item_barcode, fee.title, fee.loan_id is not None) == (
        "3100042",
        "Dune / Herbert",
        True,
    )
    link_item(fee.id, admin(db), item_barcode="UNKNOWN-1")
    assert (reread(fee).item_barcode, reread(fee).title) == ("UNKNOWN-1", "")
    assert fine(db, anna, "1", item_barcode="3100042").title == "Dune / Herbert"


def test_accrued_fines_grow_on_overdue_loans_less_what_was_billed(db) -> None:
    anna = user(db)
    today = runtime.today()
    # 10 days overdue at the OVERDUE type's 0.50 a day: 5.00; 3 days: 1.50; not yet due: 0.
    first = Loan.create(account=anna, item_barcode="A", due_date=today - dt.timedelta(days=10))
    Loan.create(account=anna, item_barcode="B", due_date=today - dt.timedelta(days=3))
    Loan.create(account=anna, item_barcode="C", due_date=today + dt.timedelta(days=3))
    Loan.create(account=anna, item_barcode="D", due_date=today - dt.timedelta(days=30),
                returned_at=runtime.now())  # fmt: skip
    assert accrued_fines(anna.id) == 650
    overdue = FeeType.get(FeeType.code == "OVERDUE")
    Fee.create(account=anna, fee_type=overdue, loan=first, original_minor=300, balance_minor=300)
    assert accrued_fines(anna.id) == 350  # 5.00 - 3.00 billed + 1.50
    view = fee_view(anna.id, admin(db))
    assert view.accrued_minor == 350 and view.active_minor == 300, "accrued is no balance"


def test_the_debt_limit_blocks_borrowing_and_disputes_do_not_count(db) -> None:
    from models.search.engine import UserQuery, search_users

    anna = user(db)
    set_setting("debt_limit_minor", 1000)
    fee = fine(db, anna, "6.00")
    second = fine(db, anna, "4.00")
    assert debt_limit_reached(anna.id)
    assert borrowing_blocks(anna.id) == [
        "the active balance 10.00 EUR has reached the debt limit of 10.00 EUR"
    ]
    rows = search_users(db.organization.id, UserQuery(text="P0001")).rows
    assert [r.blocked for r in rows] == [True], "the list's block mark shows it"
    dispute_fee(second.id, admin(db), comment="Not mine")
    assert not debt_limit_reached(anna.id)
    assert borrowing_blocks(anna.id) == []
    assert [r.blocked for r in search_users(db.organization.id, UserQuery(text="P0001")).rows] == [
        False
    ]
    set_setting("debt_limit_minor", 0)
    restore_fee(second.id, admin(db))
    assert not debt_limit_reached(anna.id), "0: no debt limit"
    assert fee.id


def test_list_filters_by_status_and_owner(db) -> None:
    anna = user(db)
    branch = Library.create(organization=db.organization, code="BRANCH", name="Branch library")
    a = fine(db, anna, "1.00", owner="MAIN")
    b = fine(db, anna, "2.00", owner="BRANCH")
    c = fine(db, anna, "3.00")
    dispute_fee(c.id, admin(db), comment="x")

    def ids(**filters) -> set[int]:
        return {r.fee_id for r in list_fees(anna.id, admin(db), **filters)}

    assert ids() == {a.id, b.id}
    assert ids(status="all") == {a.id, b.id, c.id}
    assert ids(status="disputed") == {c.id}
    assert ids(status="all", owner="institution") == {c.id}
    assert ids(owner=branch.id) == {b.id}
    assert fee_view(anna.id, admin(db), owner="BRANCH").filtered_minor == 200
    with pytest.raises(ValidationError):
        list_fees(anna.id, admin(db), status="lost")


def test_a_desk_operator_takes_payments_but_may_not_add_or_waive(db) -> None:
    anna = user(db)
    fee = fine(db, anna, "6.00")
    desk = as_staff(db, Role.CIRCULATION_DESK_OPERATOR)
    pay_fee(fee.id, desk, amount="1.00", method="cash")
    with pytest.raises(PermissionDenied):
        add_fee(anna.id, desk, fee_type="CARD", amount="1")
    for action in (
        lambda: waive_fee(fee.id, desk, reason="GOODWILL"),
        lambda: dispute_fee(fee.id, desk, comment="x"),
    ):
        with pytest.raises(PermissionDenied):
            action()
    assert FeeTransaction.select().where(FeeTransaction.actor == desk.name).count() == 1


def test_a_fee_changed_meanwhile_is_not_overwritten(db) -> None:
    anna = user(db)
    fee = fine(db, anna, "6.00")
    stale = reread(fee)
    pay_fee(fee.id, admin(db), amount="1.00", method="cash")  # another desk, meanwhile
    with pytest.raises(ConflictError, match="admin"):
        fees._change(admin(db), stale, anna, "EUR", balance_minor=0)
    assert reread(fee).balance_minor == 500


# --- The money invariant, for any sequence of valid actions -------------------------------------

_users = itertools.count()
action = st.tuples(
    st.sampled_from(["pay", "waive", "dispute", "restore"]),
    st.integers(min_value=1, max_value=100),  # percent of the balance
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(st.integers(min_value=0, max_value=500_000), min_size=1, max_size=3),
    credit=st.integers(min_value=0, max_value=50_000),
    steps=st.lists(st.tuples(st.integers(min_value=0, max_value=3), action), max_size=12),
)
def test_balances_always_equal_the_sum_of_transactions(db, amounts, credit, steps) -> None:
    account = user(db, f"H{next(_users):05d}")
    actor = admin(db)
    made = [fine(db, account, Decimal(a).scaleb(-2)) for a in amounts]
    if credit:
        made.append(add_fee(account.id, actor, fee_type="CREDIT", amount=Decimal(credit).scaleb(-2),
                            comment="credit"))  # fmt: skip
    for index, (kind, percent) in steps:
        fee = reread(made[index % len(made)])
        part = Decimal(max(1, abs(fee.balance_minor) * percent // 100)).scaleb(-2)
        try:
            if kind == "pay":
                pay_fee(fee.id, actor, amount=part, method="cash")
            elif kind == "waive":
                waive_fee(fee.id, actor, amount=part, reason="GOODWILL")
            elif kind == "dispute":
                dispute_fee(fee.id, actor, comment="why")
            else:
                restore_fee(fee.id, actor)
        except (FeeRefused, ValidationError):
            pass  # not valid in this state: refused, nothing changed
    for fee in made:
        fee = reread(fee)
        txs = list(FeeTransaction.select().where(FeeTransaction.fee == fee.id))
        first = [t.amount_minor for t in txs if t.action in ("create", "credit")]
        moved = sum(t.amount_minor for t in txs if t.action in ("pay", "waive"))
        assert first == [fee.original_minor]
        assert fee.original_minor - fee.balance_minor == moved
        if fee.original_minor >= 0:
            assert 0 <= fee.balance_minor <= fee.original_minor
        else:  # a credit: never below its original, never above zero
            assert fee.original_minor <= fee.balance_minor <= 0
        assert (fee.balance_minor == 0) == (fee.status in ("closed", "waived"))
    view = fee_view(account.id, actor, status="all")
    assert view.active_minor + view.disputed_minor == sum(reread(f).balance_minor for f in made)


def test_the_tabs_fee_actions_need_the_rights_the_services_ask(db) -> None:  # noqa: ANN001
    """`FEE_ACTIONS` (the keys the Fines/fees tab offers, models/fees/balances.py) says which
    right each action needs; each service asks its own. Tied here: a circulation desk operator
    (pay, not add or waive) is refused by exactly the services whose right it lacks."""
    from models.access.permissions import MATRIX
    from models.audit import Actor
    from models.enums import Source
    from models.fees.fees import (
        FEE_ACTIONS,
        add_fee,
        dispute_fee,
        link_item,
        pay_fee,
        restore_fee,
        waive_all,
        waive_fee,
    )
    from tests.helpers.details import as_staff, user

    patron = user(db)
    system = Actor(None, Source.CLI)
    desk = as_staff(db, Role.CIRCULATION_DESK_OPERATOR)
    fee = add_fee(patron.id, system, fee_type="LOST_ITEM", amount="10.00")
    disputed = add_fee(patron.id, system, fee_type="LOST_ITEM", amount="5.00")
    dispute_fee(disputed.id, system, comment="Returned")
    calls = {
        "add": lambda: add_fee(patron.id, desk, fee_type="LOST_ITEM", amount="1.00"),
        "link": lambda: link_item(fee.id, desk, item_barcode=""),
        "pay": lambda: pay_fee(fee.id, desk, amount="1.00", method="cash"),
        "waive": lambda: waive_fee(fee.id, desk, reason="GOODWILL", amount="1.00"),
        "waive_all": lambda: waive_all(patron.id, desk, reason="GOODWILL"),
        "dispute": lambda: dispute_fee(fee.id, desk, comment="Not mine"),
        "restore": lambda: restore_fee(disputed.id, desk),
    }
    assert set(calls) == set(FEE_ACTIONS) - {"mark"}  # (mark only marks, for waive)
    rights = MATRIX[Role.CIRCULATION_DESK_OPERATOR]
    for name, call in calls.items():
        refused = False
        try:
            call()
        except PermissionDenied:
            refused = True
        except Exception:  # noqa: BLE001 - another refusal (a value): the right was granted
            refused = False
        assert refused == (FEE_ACTIONS[name] not in rights), name
