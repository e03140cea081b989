"""A new user made a fulfillment proxy of an existing user at its creation (issue 22, item 9;
alma-managing-users, Quick User Management's "Add as fulfillment proxy"): `NewUser.proxy_for`,
checked by the rules of the Proxy for tab and saved in the same transaction, on both back ends."""

from __future__ import annotations

import pytest

from models.audit import Actor
from models.enums import Role, Source
from models.errors import ValidationError
from models.store.tables import Account, AuditEvent, Person, ProxyFor, RoleAssignment
from models.users.accounts import NewUser, create_user, validate_new_user
from tests.helpers.details import admin, future, staff, user


def new(primary_id: str = "P0100", **changes) -> NewUser:
    values = dict(
        record_type="public",
        first_name="Jonas",
        last_name="Keller",
        primary_id=primary_id,
        user_group="PUBLIC",
        email=f"{primary_id.lower()}@example.org",
        expiry_date=future(),
    )
    values.update(changes)
    return NewUser(**values)


def nothing_created(primary_id: str = "P0100") -> bool:
    return (
        not Account.select().where(Account.primary_id == primary_id).exists()
        and not Person.select().where(Person.last_name == "Keller").exists()
        and ProxyFor.select().count() == 0
    )


def test_the_new_user_is_a_proxy_of_the_sponsor_recorded_in_history(db) -> None:
    sponsor = user(db, "P0001", identifier="BC-77")
    account = create_user(new(proxy_for="bc-77"), admin(db), db.organization)
    (row,) = ProxyFor.select().where(ProxyFor.account == account)
    assert row.target_id == sponsor.id
    created = AuditEvent.select().where(
        (AuditEvent.account_id == account.id) & (AuditEvent.entity == "proxy_for")
    )
    assert {(e.field, e.new_value) for e in created} >= {("target", str(sponsor.id))}


def test_no_proxy_for_given_no_proxy_row(db) -> None:
    user(db, "P0001")
    create_user(new(), admin(db), db.organization)
    assert ProxyFor.select().count() == 0


@pytest.mark.parametrize(
    ("sponsor", "said"),
    [
        ("NOBODY", "no user of this organization has this identifier"),
        ("P0100", "a user cannot be their own proxy"),
        ("inactive", "does not have an active Patron role"),
        ("other-org", "no user of this organization has this identifier"),
    ],
)
def test_a_wrong_sponsor_is_said_at_the_field_and_nothing_is_created(db, sponsor, said) -> None:
    if sponsor == "inactive":
        target = user(db, "P0002")
        RoleAssignment.update(status="inactive").where(
            (RoleAssignment.account == target) & (RoleAssignment.role == "patron")
        ).execute()
        sponsor = "P0002"
    elif sponsor == "other-org":
        from tests.domain.test_accounts import second_organization

        second_organization()
        sponsor = "admin2"
    data = new(proxy_for=sponsor)
    with pytest.raises(ValidationError) as err:
        validate_new_user(data, db.organization, admin(db))
    assert err.value.errors == {"proxy_for": said}
    with pytest.raises(ValidationError) as err:
        create_user(data, admin(db), db.organization)
    assert err.value.errors == {"proxy_for": said}
    assert nothing_created()


def test_the_right_to_manage_proxies_is_needed_before_any_work(db) -> None:
    user(db, "P0001")
    operator = Actor(staff(db, Role.CIRCULATION_DESK_OPERATOR, "S-OP"), Source.SCREEN)
    with pytest.raises(ValidationError) as err:
        create_user(new(proxy_for="P0001"), operator, db.organization, via_register=True)
    assert "manage proxies" in err.value.errors["proxy_for"]
    assert nothing_created()
    # A desk manager has the right: Register New User adds the proxy too.
    manager = Actor(staff(db, Role.CIRCULATION_DESK_MANAGER, "S-MAN"), Source.SCREEN)
    account = create_user(new(proxy_for="P0001"), manager, db.organization, via_register=True)
    assert ProxyFor.select().where(ProxyFor.account == account).count() == 1


def test_the_user_and_the_proxy_row_are_one_transaction(db, monkeypatch) -> None:
    user(db, "P0001")

    def fail(*_args, **_kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(ProxyFor, "create", fail)
    with pytest.raises(RuntimeError):
        create_user(new(proxy_for="P0001"), admin(db), db.organization)
    assert nothing_created()
