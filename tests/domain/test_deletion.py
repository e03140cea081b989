"""Deleting users and the purge job (issue 7): every refusal, named; a deletion that removes
everything about the person and leaves one audit event without personal data; the deletion
notice; purge dry-run against a real run on the same data. Both back ends through `db`."""

from __future__ import annotations

import datetime as dt

import pytest

from models.audit import Actor
from models.enums import Role, Source
from models.errors import ConflictError, PermissionDenied
from models.fees.fees import add_fee, dispute_fee, waive_all
from models.runtime import runtime
from models.search.engine import UserQuery, search_users
from models.store.tables import (
    Account,
    AuditEvent,
    Email,
    Fee,
    FeeTransaction,
    Letter,
    Loan,
    Organization,
    Person,
    ProxyFor,
)
from models.users.accounts import NewUser, create_user
from models.users.deletion import (
    DeletionRefused,
    check_deletion,
    delete_user,
    deletion_problems,
    notify_deletion,
    purge,
)
from tests.helpers.details import admin, as_staff, user

SYSTEM = Actor(None, Source.JOB)


def fee(db, account, amount: str = "12.50", code: str = "LOST_ITEM") -> Fee:
    return add_fee(account.id, admin(db), fee_type=code, amount=amount)


def loan(account, days_overdue: int = 0) -> Loan:
    return Loan.create(account=account, item_barcode=f"I{account.id}-{Loan.select().count()}",
                       due_date=runtime.today() - dt.timedelta(days=days_overdue))  # fmt: skip


def found(db, text: str) -> list[int]:
    return [r.account_id for r in search_users(db.organization.id, UserQuery(text=text)).rows]


def test_a_user_with_a_balance_is_refused_then_deleted_once_the_fees_are_waived(db) -> None:
    anna = user(db, "P0001", last_name="Zanetti")
    first = fee(db, anna, "12.50")
    fee(db, anna, "2.00", "CARD")
    with pytest.raises(DeletionRefused) as err:
        delete_user(anna.id, anna.version, admin(db))
    assert err.value.reasons == ["a balance of 14.50 EUR is due"]
    check = check_deletion(anna.id, admin(db))
    assert (check.allowed, check.has_fees, check.waivable_minor) == (False, True, 1450)
    result = waive_all(anna.id, admin(db), reason="GOODWILL", comment="Leaving town")
    assert (result.waived, result.amount_minor) == (2, 1450)
    assert check_deletion(anna.id, admin(db)).allowed
    deleted = delete_user(anna.id, anna.version, admin(db))
    assert (deleted.primary_id, deleted.person_deleted) == ("P0001", True)
    assert Account.get_or_none(Account.id == anna.id) is None
    assert Person.get_or_none(Person.id == anna.person_id) is None
    assert Email.select().where(Email.person == anna.person_id).count() == 0
    assert Fee.select().count() == 0 and FeeTransaction.select().count() == 0
    assert found(db, "Zanetti") == [] and found(db, "P0001") == []
    assert first.id


def test_only_one_audit_event_survives_and_it_holds_no_personal_data(db) -> None:
    anna = user(db, "P0001", first_name="Annabel", last_name="Zanetti", email="annabel@example.org")
    delete_user(anna.id, anna.version, admin(db))
    left = list(
        AuditEvent.select().where(
            (AuditEvent.account_id == anna.id)
            | (AuditEvent.person_id == anna.person_id)
            | ((AuditEvent.entity == "account") & (AuditEvent.entity_id == anna.id))
        )
    )
    assert [(e.entity, e.action, e.field, e.old_value, e.new_value, e.actor) for e in left] == [
        ("account", "delete", "primary_id", "P0001", None, "admin")
    ]
    assert left[0].account_id is None and left[0].person_id is None
    for text in ("Annabel", "Zanetti", "annabel@example.org"):
        hits = AuditEvent.select().where(
            AuditEvent.old_value.contains(text) | AuditEvent.new_value.contains(text)
        )
        assert not hits.exists(), text


def test_every_reason_is_listed_at_once(db) -> None:
    anna = user(db)
    fee(db, anna, "5.00")
    loan(anna, days_overdue=3)
    loan(anna)
    helper = user(db, "P0002")
    ProxyFor.create(account=helper, target=anna)
    Fee.create(account=anna, fee_type=Fee.select().first().fee_type, status="transferred",
               original_minor=700, balance_minor=700)  # fmt: skip
    assert deletion_problems(anna) == [
        "a balance of 5.00 EUR is due",
        "7.00 EUR transferred to the bursar is not settled",
        "2 loans are still out, 1 overdue",
        "1 proxy user acts for this user, who has open items (P0002)",
    ]
    # The proxy itself has nothing open: it may go, and its proxy link with it.
    delete_user(helper.id, helper.version, admin(db))
    assert ProxyFor.select().count() == 0


def test_a_disputed_balance_is_still_due_and_a_credit_is_still_held(db) -> None:
    anna = user(db)
    due = fee(db, anna, "3.00")
    dispute_fee(due.id, admin(db), comment="Not mine")
    assert deletion_problems(anna) == ["a balance of 3.00 EUR is due"]
    add_fee(anna.id, admin(db), fee_type="CREDIT", amount="5.00", comment="Overpaid")
    assert deletion_problems(anna) == [
        "a credit of 2.00 EUR is held for this user: refund or waive it first"
    ]
    add_fee(anna.id, admin(db), fee_type="CARD", amount="2.00")
    assert deletion_problems(anna) == [], "fees that offset each other owe nothing"


def test_staff_cannot_delete_themselves_nor_the_last_administrator(db) -> None:
    manager = as_staff(db, Role.USER_MANAGER)
    assert deletion_problems(manager.account, manager) == ["you cannot delete your own account"]
    # The system (the purge job) is refused the organization's last administrator...
    system = Actor(None, Source.CLI)
    assert deletion_problems(db.admin, system) == [
        "this is the organization's last active User Administrator"
    ]
    with pytest.raises(DeletionRefused):
        delete_user(db.admin.id, db.admin.version, system)
    # ...and a User Manager may not delete any administrator: the role is above their own.
    with pytest.raises(PermissionDenied, match="above your own"):
        delete_user(db.admin.id, db.admin.version, manager)


def test_only_user_managers_and_administrators_may_delete(db) -> None:
    anna = user(db)
    desk = as_staff(db, Role.CIRCULATION_DESK_MANAGER)
    with pytest.raises(PermissionDenied):
        check_deletion(anna.id, desk)
    with pytest.raises(PermissionDenied):
        delete_user(anna.id, anna.version, desk)
    with pytest.raises(PermissionDenied):
        notify_deletion(anna.id, desk)
    assert Account.get_or_none(Account.id == anna.id) is not None


def test_a_stale_version_is_refused_and_nothing_is_deleted(db) -> None:
    from models.users.details import update_user

    anna = user(db)
    update_user(anna.id, anna.version, {"title": "Dr"}, admin(db))
    with pytest.raises(ConflictError):
        delete_user(anna.id, anna.version, admin(db))
    assert Account.get_or_none(Account.id == anna.id) is not None


def test_the_person_stays_while_another_organization_holds_an_account(db) -> None:
    anna = user(db)
    other = Organization.create(code="OTHER", name="Other organization")
    from models.store.tables import Library

    Library.create(organization=other, code="OL", name="Other library")
    from models.config.seed import seed_code_tables

    seed_code_tables(other)
    elsewhere = create_user(
        NewUser(record_type="contact", last_name="Müller", primary_id="OTHER-1",
                person_id=anna.person_id, phone="+41 44 268 10 00"),
        SYSTEM,
        other,
    )  # fmt: skip
    deleted = delete_user(anna.id, anna.version, admin(db))
    assert deleted.person_deleted is False
    assert Person.get_or_none(Person.id == anna.person_id) is not None
    assert Account.get_by_id(elsewhere.id).person_id == anna.person_id


def test_notify_user_records_the_deletion_notice(db) -> None:
    anna = user(db, email="anna@example.org")
    Email.create(person=anna.person_id, address="mum@example.org", address_key="mum@example.org",
                 email_type="cc")  # fmt: skip
    fee(db, anna, "4.00")
    letter = notify_deletion(anna.id, admin(db))
    stored = Letter.get_by_id(letter.id)
    assert (stored.kind, stored.status) == ("deletion_notice", "queued")
    assert stored.recipients == "anna@example.org, cc:mum@example.org"
    assert "a balance of 4.00 EUR is due" in stored.body
    assert (
        AuditEvent.select()
        .where((AuditEvent.account_id == anna.id) & (AuditEvent.entity == "letter"))
        .exists()
    )


def _purge_data(db) -> dict[str, Account]:
    past = runtime.today() - dt.timedelta(days=1)
    accounts = {
        "clean": user(db, "PG-CLEAN"),
        "owes": user(db, "PG-OWES"),
        "loan": user(db, "PG-LOAN"),
        "future": user(db, "PG-FUTURE"),
        "today": user(db, "PG-TODAY"),
    }
    fee(db, accounts["owes"], "1.00")
    loan(accounts["loan"])
    for key, account in accounts.items():
        when = {"future": runtime.today() + dt.timedelta(days=5), "today": runtime.today()}
        Account.update(purge_date=when.get(key, past)).where(Account.id == account.id).execute()
    return accounts


def test_purge_dry_run_reports_what_a_real_run_then_does(db) -> None:
    accounts = _purge_data(db)
    before = Account.select().count()
    preview = purge(SYSTEM, dry_run=True)
    assert Account.select().count() == before, "a dry run deletes nothing"
    assert [i.primary_id for i in preview.purged] == ["PG-CLEAN"]
    assert {i.primary_id: i.reasons for i in preview.skipped} == {
        "PG-OWES": ["a balance of 1.00 EUR is due"],
        "PG-LOAN": ["1 loan is still out"],
    }
    real = purge(SYSTEM)
    assert real.dry_run is False
    assert [(i.primary_id, i.reasons) for i in real.purged] == [
        (i.primary_id, i.reasons) for i in preview.purged
    ]
    assert [(i.primary_id, i.reasons) for i in real.skipped] == [
        (i.primary_id, i.reasons) for i in preview.skipped
    ]
    assert Account.get_or_none(Account.id == accounts["clean"].id) is None
    assert Account.select().count() == before - 1
    event = AuditEvent.get((AuditEvent.entity == "account") & (AuditEvent.action == "delete"))
    assert (event.actor, event.source, event.old_value) == ("system", "job", "PG-CLEAN")
    assert purge(SYSTEM).purged == [], "nothing left to purge"


def test_staff_need_the_right_to_run_jobs_to_purge(db) -> None:
    desk = as_staff(db, Role.CIRCULATION_DESK_MANAGER)
    with pytest.raises(PermissionDenied):
        purge(desk, dry_run=True)
    assert purge(admin(db), dry_run=True).purged == []
