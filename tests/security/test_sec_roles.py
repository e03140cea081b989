"""Attacks on roles and organizations (issue 18, items 2, 3 and 10), each performed through the
service the screen calls, on SQLite and PostgreSQL (`db`).

- No role climbs above its own: a User Manager may not reset, unlock, deactivate or re-email a
  User Administrator, nor give anyone that role; a desk role may not act on a staff account.
- A shared person cannot be taken over from another organization: a desk in A may not reset
  the password, change the login email or add a contact email of a person who is staff in B;
  a reset code goes only to the login email.
- A deactivated or expired staff account loses its rights at once.
"""

from __future__ import annotations

import datetime as dt

import pytest

from models.access.auth import set_password, unlock
from models.access.permissions import Action, can, grantable_roles
from models.audit import Actor
from models.config.configuration import add_organization
from models.enums import Role, Source, Status
from models.errors import PermissionDenied
from models.mail.letters import own_email
from models.runtime import runtime
from models.store.tables import Account, Email, Person, RoleAssignment
from models.users import details
from models.users.accounts import NewUser, create_user, set_status
from models.users.rows import Kind, add_row
from tests.helpers.details import admin, fresh, future, staff, user

NEW_PASSWORD = "Harbor-Lantern-73"


def _actor(account: Account) -> Actor:
    return Actor(Account.get_by_id(account.id), Source.SCREEN)


def _person(account: Account) -> Person:
    return Person.get_by_id(account.person_id)


# --- Item 3: no role climbs above its own ------------------------------------------------------


@pytest.fixture
def manager_and_admin(db):
    manager = staff(db, Role.USER_MANAGER, "S-MGR")
    admin2 = staff(db, Role.USER_ADMINISTRATOR, "S-ADM2")
    return _actor(manager), admin2


def test_a_user_manager_cannot_reset_an_administrators_password(db, manager_and_admin) -> None:
    manager, admin2 = manager_and_admin
    before = _person(admin2).password_hash
    with pytest.raises(PermissionDenied, match="user administrator"):
        details.reset_password(admin2.id, manager)
    with pytest.raises(PermissionDenied):
        set_password(admin2.person_id, NEW_PASSWORD, manager)
    assert _person(admin2).password_hash == before


def test_a_user_manager_cannot_unlock_deactivate_or_reemail_an_administrator(
    db, manager_and_admin
) -> None:
    manager, admin2 = manager_and_admin
    with pytest.raises(PermissionDenied):
        unlock(admin2.person_id, manager)
    with pytest.raises(PermissionDenied):
        set_status(admin2.id, Status.INACTIVE, admin2.version, manager)
    with pytest.raises(PermissionDenied):
        details.update_user(admin2.id, admin2.version, {"email": "evil@example.org"}, manager)
    with pytest.raises(PermissionDenied):
        add_row(
            Kind.EMAIL,
            admin2.id,
            admin2.version,
            {"address": "evil@example.org", "email_type": "personal", "preferred": True},
            manager,
        )
    fresh = Account.get_by_id(admin2.id)
    assert fresh.status == Status.ACTIVE and _person(fresh).email == "s-adm2@example.org"
    assert not Email.select().where(Email.address == "evil@example.org").exists()


def test_a_user_manager_cannot_give_the_administrator_role(db, manager_and_admin) -> None:
    manager, _ = manager_and_admin
    target = user(db, "P-TARGET")
    with pytest.raises(PermissionDenied, match="above your own"):
        add_row(Kind.ROLE, target.id, target.version, {"role": "user_administrator"}, manager)
    with pytest.raises(PermissionDenied, match="above your own"):
        create_user(
            NewUser(
                record_type="staff",
                first_name="Eve",
                last_name="Climber",
                primary_id="S-EVE",
                user_group="STAFF",
                email="eve@example.org",
                expiry_date=future(),
                roles=["user_administrator"],
            ),
            manager,
            db.organization,
        )
    assert (
        not RoleAssignment.select()
        .where(RoleAssignment.role == "user_administrator")
        .where(RoleAssignment.account != db.admin.id)
        .where(RoleAssignment.account.in_([target.id]))
        .exists()
    )
    assert not Account.select().where(Account.primary_id == "S-EVE").exists()


def test_a_user_manager_still_manages_peers_and_patrons(db, manager_and_admin) -> None:
    """The rule refuses what is above, not what is level: the daily work still goes through."""
    manager, _ = manager_and_admin
    peer = staff(db, Role.USER_MANAGER, "S-PEER")
    details.reset_password(peer.id, manager)
    patron = user(db, "P-OK")
    set_status(patron.id, Status.INACTIVE, patron.version, manager)
    assert Account.get_by_id(patron.id).status == Status.INACTIVE
    assert Role.USER_ADMINISTRATOR not in grantable_roles(manager.account)
    assert Role.USER_MANAGER in grantable_roles(manager.account)


def test_a_desk_manager_cannot_reset_a_staff_members_password(db) -> None:
    desk = _actor(staff(db, Role.CIRCULATION_DESK_MANAGER, "S-DESK"))
    # A public account that holds a staff role: the record type alone must not let it through.
    clerk = user(db, "P-CLERK", roles=["circulation_desk_operator"])
    before = _person(clerk).password_hash
    with pytest.raises(PermissionDenied, match="above your own"):
        details.reset_password(clerk.id, desk)
    assert _person(clerk).password_hash == before
    assert grantable_roles(desk.account) == frozenset({Role.PATRON})


# --- Item 2: a shared person is not another organization's to take over ------------------------


@pytest.fixture
def admin_of_b_with_a_public_account_in_a(db):
    """B's User Administrator, who is also a public user of A (one person, two accounts)."""
    org_b = add_organization(
        "ORGB", "Organization B", admin_username="admin_b", admin_password="Quill-Ledger-43"
    )
    admin_b = Account.get(Account.organization == org_b)
    Person.update(email="admin-b@example.org", email_key="admin-b@example.org").where(
        Person.id == admin_b.person_id
    ).execute()
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
    return admin_b, in_a


def test_a_desk_in_a_cannot_reset_the_password_of_bs_administrator(
    db, admin_of_b_with_a_public_account_in_a
) -> None:
    admin_b, in_a = admin_of_b_with_a_public_account_in_a
    desk_a = _actor(staff(db, Role.CIRCULATION_DESK_MANAGER, "S-DESK-A"))
    before = _person(admin_b).password_hash
    with pytest.raises(PermissionDenied, match="staff of another organization"):
        details.reset_password(in_a.id, desk_a)
    with pytest.raises(PermissionDenied, match="staff of another organization"):
        set_password(in_a.person_id, NEW_PASSWORD, desk_a)
    # Even A's own administrator may not: the login is B's administrator's.
    with pytest.raises(PermissionDenied, match="staff of another organization"):
        details.reset_password(in_a.id, admin(db))
    assert _person(admin_b).password_hash == before


def test_a_desk_in_a_cannot_redirect_bs_administrators_mail(
    db, admin_of_b_with_a_public_account_in_a
) -> None:
    admin_b, in_a = admin_of_b_with_a_public_account_in_a
    desk_a = _actor(staff(db, Role.CIRCULATION_DESK_OPERATOR, "S-OP-A"))
    with pytest.raises(PermissionDenied, match="staff of another organization"):
        add_row(
            Kind.EMAIL,
            in_a.id,
            in_a.version,
            {"address": "attacker@example.org", "email_type": "personal", "preferred": True},
            desk_a,
        )
    with pytest.raises(PermissionDenied, match="staff of another organization"):
        details.update_user(in_a.id, in_a.version, {"email": "attacker@example.org"}, admin(db))
    assert _person(admin_b).email == "admin-b@example.org"
    assert not Email.select().where(Email.address == "attacker@example.org").exists()


def test_a_reset_code_goes_only_to_the_login_email(db) -> None:
    """A contact email a desk added (or an import brought) never receives a reset code."""
    anna = user(db, "P-ANNA")
    add_row(
        Kind.EMAIL,
        anna.id,
        anna.version,
        {"address": "added-by-desk@example.org", "email_type": "personal", "preferred": True},
        admin(db),
    )
    assert own_email(_person(anna)) == "p-anna@example.org"
    Person.update(email=None, email_key=None).where(Person.id == anna.person_id).execute()
    assert own_email(_person(anna)) is None


def test_a_patron_only_person_elsewhere_stays_in_reach(db) -> None:
    """The rule protects staff logins; a patron of two libraries is served by either desk."""
    org_b = add_organization(
        "ORGB", "Organization B", admin_username="admin_b", admin_password="Quill-Ledger-43"
    )
    anna = user(db, "P-SHARED")
    create_user(
        NewUser(
            record_type="public",
            person_id=anna.person_id,
            person_consent=True,
            primary_id="P-SHARED-B",
            user_group="PUBLIC",
            expiry_date=future(),
        ),
        Actor(Account.get(Account.organization == org_b), Source.SCREEN),
        org_b,
    )
    desk_a = _actor(staff(db, Role.CIRCULATION_DESK_MANAGER, "S-DESK-A"))
    details.reset_password(anna.id, desk_a)
    assert _person(anna).force_password_change


# --- Item 10: an actor who is no longer active has no rights -------------------------------------


@pytest.mark.parametrize("how", ["deactivated", "expired"])
def test_a_deactivated_or_expired_staff_account_loses_its_rights_at_once(db, how) -> None:
    manager = staff(db, Role.USER_MANAGER, "S-GONE")
    session_copy = Account.get_by_id(manager.id)  # what an open session holds
    patron = user(db, "P-VICTIM")
    assert can(session_copy, Action.CHANGE_STATUS, patron)
    if how == "deactivated":
        Account.update(status=Status.INACTIVE.value).where(Account.id == manager.id).execute()
    else:
        yesterday = runtime.today() - dt.timedelta(days=1)
        Account.update(expiry_date=yesterday).where(Account.id == manager.id).execute()
    assert not can(session_copy, Action.VIEW_USER, patron)
    with pytest.raises(PermissionDenied, match=how):
        set_status(patron.id, Status.INACTIVE, patron.version, Actor(session_copy, Source.SCREEN))
    assert Account.get_by_id(patron.id).status == Status.ACTIVE


def test_a_role_rule_does_not_lift_quick_user_above_its_actor(db, manager_and_admin) -> None:
    """A User Manager picks a job category whose role rule gives User Administrator: the new
    account would be an administrator made by someone who may not make one."""
    from models.store.tables import JobCategory, RoleRule

    manager, _ = manager_and_admin
    rule = RoleRule.get(RoleRule.organization == db.organization)
    RoleRule.update(role=Role.USER_ADMINISTRATOR.value).where(RoleRule.id == rule.id).execute()
    category = JobCategory.get_by_id(rule.job_category_id).code
    with pytest.raises(PermissionDenied, match="above your own"):
        create_user(
            NewUser(
                record_type="staff",
                first_name="Eve",
                last_name="Rule",
                primary_id="S-RULE",
                user_group="STAFF",
                job_category=category,
                email="rule@example.org",
                expiry_date=future(),
            ),
            manager,
            db.organization,
        )
    assert not Account.select().where(Account.primary_id == "S-RULE").exists()


def test_a_login_name_names_one_person(db, tmp_path) -> None:  # noqa: ANN001
    """Found by an attack (2026-12-08): a desk operator registered a patron whose username was
    a User Manager's login email (and whose login email was the attacker's): logins looked
    usernames up first, so the attacker logged in by typing the manager's email, the manager's
    own login by email was refused, and "forgotten password" for that email mailed the code to
    the attacker. A username may not be another person's login email, nor a login email
    another person's username, on every path (forms, imports); a login name two people hold
    (an older database) logs nobody in."""
    from models.access.auth import find_person
    from models.errors import ValidationError
    from models.transfer.imports import ImportOptions, import_file

    manager = staff(db, Role.USER_MANAGER, "S-UM", email="manager@library.example")
    desk = _actor(staff(db, Role.CIRCULATION_DESK_OPERATOR, "S-OP"))
    new = NewUser(first_name="Eve", last_name="Mallory", username="manager@library.example",
                  primary_id="EVE-1", user_group="PUBLIC", email="eve@evil.example")  # fmt: skip
    with pytest.raises(ValidationError) as err:
        create_user(new, desk, desk.account.organization, via_register=True)
    assert "login email" in err.value.errors["username"]
    bob = user(db, "P-BOB", username="bob.k")
    with pytest.raises(ValidationError) as err:  # a username that is an address
        details.update_user(bob.id, bob.version, {"username": "manager@library.example"},
                            admin(db))  # fmt: skip
    assert "login email" in err.value.errors["username"]
    path = tmp_path / "users.csv"
    path.write_text(
        "primary_id,last_name,username,emails\n"
        "EVE-2,Mallory,manager@library.example,personal:eve2@evil.example\n",
        encoding="utf-8",
    )
    report = import_file(path, ImportOptions(workers=1))
    assert report.refused == 1 and "login email" in report.refusals[0].message, report.summary()
    # The other way round: a login email that is another person's username.
    details.update_user(bob.id, bob.version, {"email": "bob.k@x.org"}, admin(db))  # no one's
    carol = user(db, "P-CAROL", username="carol@library.example", email="c2@example.org")
    with pytest.raises(ValidationError) as err:
        details.update_user(bob.id, fresh(bob).version, {"email": "carol@library.example"},
                            admin(db))  # fmt: skip
    assert "username of" in err.value.errors["email"]
    path.write_text(
        "primary_id,last_name,username,emails\n"
        "EVE-3,Mallory,eve3,personal:carol@library.example\n"  # not made a login email
        "EVE-4,Mallory,eve4@evil.example,personal:eve4b@evil.example\n"
        "EVE-5,Mallory,eve4b@evil.example,\n",  # an earlier row's login email
        encoding="utf-8",
    )
    report = import_file(path, ImportOptions(workers=1))
    said = {(i.primary_id, i.level, i.message) for i in report.issues}
    assert any(p == "EVE-3" and "username of another person" in m for p, _, m in said), said
    assert Person.get(Person.username == "eve3").email != "carol@library.example"
    assert any(p == "EVE-5" and lvl == "refused" and "login email of row 3" in m
               for p, lvl, m in said), said  # fmt: skip
    # An older database holding the collision: nobody is found by that name, and the person
    # whose username it is still gets updated by an import (the name unchanged).
    Person.update(username="manager@library.example", username_key="manager@library.example"
                  ).where(Person.id == carol.person_id).execute()  # fmt: skip
    assert find_person("manager@library.example") is None
    assert find_person("s-um").id == manager.person_id
    path.write_text(
        "primary_id,last_name,username\nP-CAROL,Renamed,manager@library.example\n", "utf-8"
    )
    again = import_file(path, ImportOptions(workers=1))
    assert again.updated == 1, [(i.field, i.message) for i in again.issues]
