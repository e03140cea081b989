"""Staff set a chosen password on an existing user (issue 22, item 2; alma-managing-users:
"Password", "Verify password", "Force password change on next login"):
`models.users.details.set_chosen_password`, on both back ends."""

from __future__ import annotations

import pytest

from models.access.auth import login
from models.access.passwords import verify_secret
from models.audit import Actor
from models.config.configuration import add_organization
from models.config.settings import Settings
from models.enums import Role, Source
from models.errors import PermissionDenied, ValidationError
from models.store.tables import Account, AuditEvent, Person
from models.users.accounts import NewUser, create_user
from models.users.details import set_chosen_password
from tests.helpers.details import admin, as_staff, events_after, future, last_event_id, staff, user

CHOSEN = "Harbour-Lantern-58"


def _hash(account: Account) -> str | None:
    return Person.get_by_id(account.person_id).password_hash


def test_a_chosen_password_is_set_forced_and_recorded_masked(db) -> None:
    account = user(db)
    mark = last_event_id()
    set_chosen_password(account.id, CHOSEN, CHOSEN, admin(db), force_change=True)
    person = Person.get_by_id(account.person_id)
    assert verify_secret(person.password_hash, CHOSEN, Settings())
    assert person.force_password_change is True
    assert login(person.username, CHOSEN).id == account.id
    events = {(e.field, e.old_value, e.new_value, e.account_id) for e in events_after(mark)}
    assert ("password_hash", "(changed)", "(changed)", account.id) in events  # masked
    assert ("force_password_change", "no", "yes", account.id) in events
    assert CHOSEN not in str([(e.old_value, e.new_value) for e in AuditEvent.select()])


def test_without_force_the_flag_is_cleared_and_said_in_history(db) -> None:
    account = user(db)
    Person.update(force_password_change=True).where(Person.id == account.person_id).execute()
    mark = last_event_id()
    set_chosen_password(account.id, CHOSEN, CHOSEN, admin(db), force_change=False)
    assert Person.get_by_id(account.person_id).force_password_change is False
    fields = {(e.field, e.old_value, e.new_value) for e in events_after(mark)}
    assert ("force_password_change", "yes", "no") in fields


@pytest.mark.parametrize(
    ("password", "confirm", "field", "said"),
    [
        ("short1A", "short1A", "password", "at least 8 characters"),
        ("password", "password", "password", "not a commonly used password"),
        (CHOSEN, CHOSEN + "x", "password_confirm", "does not match the password"),
    ],
    ids=["too-short", "common", "mismatch"],
)
def test_the_policy_and_the_second_entry_are_checked(db, password, confirm, field, said) -> None:
    account = user(db, password="Quiet-Meadow-42")
    before, mark = _hash(account), last_event_id()
    with pytest.raises(ValidationError) as err:
        set_chosen_password(account.id, password, confirm, admin(db))
    assert set(err.value.errors) == {field}
    assert said in err.value.errors[field]
    assert _hash(account) == before
    assert events_after(mark) == []


def test_the_right_to_reset_passwords_is_needed(db) -> None:
    account = user(db)
    operator = as_staff(db, Role.CIRCULATION_DESK_OPERATOR)
    with pytest.raises(PermissionDenied) as err:
        set_chosen_password(account.id, CHOSEN, CHOSEN, operator)
    assert err.value.action == "reset_password"
    # A desk manager may, on a public user; never on staff (public users only).
    desk = as_staff(db, Role.CIRCULATION_DESK_MANAGER, "S0002")
    set_chosen_password(account.id, CHOSEN, CHOSEN, desk)
    colleague = staff(db, Role.CIRCULATION_DESK_OPERATOR, "S0003")
    with pytest.raises(PermissionDenied):
        set_chosen_password(colleague.id, CHOSEN, CHOSEN, desk)


def test_no_role_climbs_above_its_own(db) -> None:
    manager = as_staff(db, Role.USER_MANAGER, "S-MGR")
    admin2 = staff(db, Role.USER_ADMINISTRATOR, "S-ADM2")
    before = _hash(admin2)
    with pytest.raises(PermissionDenied, match="user administrator"):
        set_chosen_password(admin2.id, CHOSEN, CHOSEN, manager)
    assert _hash(admin2) == before


def test_ones_own_password_is_changed_in_my_account(db) -> None:
    actor = admin(db)
    before = _hash(actor.account)
    with pytest.raises(PermissionDenied, match="My account"):
        set_chosen_password(actor.account.id, CHOSEN, CHOSEN, actor)
    assert _hash(actor.account) == before


def test_the_login_of_another_organizations_staff_is_out_of_reach(db) -> None:
    """authorize_person: a desk in A must not take over B's administrator through the public
    account B's administrator holds in A; A's own administrator neither."""
    org_b = add_organization(
        "ORGB", "Organization B", admin_username="admin_b", admin_password="Quill-Ledger-43"
    )
    admin_b = Account.get(Account.organization == org_b)
    in_a = create_user(
        NewUser(
            record_type="public",
            person_id=admin_b.person_id,
            person_consent=True,
            primary_id="P-ADMIN-B-IN-A",
            user_group="PUBLIC",
            expiry_date=future(),
        ),
        admin(db),
        db.organization,
    )
    before = _hash(admin_b)
    desk = Actor(staff(db, Role.CIRCULATION_DESK_MANAGER, "S-DESK-A"), Source.SCREEN)
    for actor in (desk, admin(db)):
        with pytest.raises(PermissionDenied, match="staff of another organization"):
            set_chosen_password(in_a.id, CHOSEN, CHOSEN, actor)
    # Refused before the policy is looked at: a weak password gets the same answer.
    with pytest.raises(PermissionDenied, match="staff of another organization"):
        set_chosen_password(in_a.id, "weak", "other", desk)
    assert _hash(admin_b) == before
