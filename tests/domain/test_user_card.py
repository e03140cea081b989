"""The user-information card of Find and Manage Users (issue 22, item 12): `user_card` reads who
the user is, who created and last changed the record (from the audit trail, in the viewer's
library scope), their job, identifiers and contact details; refused as viewing the user is."""

from __future__ import annotations

import pytest

from models.audit import Actor
from models.enums import Role, Source
from models.errors import NotFound, PermissionDenied
from models.store.tables import Account, AuditEvent, Library, RoleAssignment
from models.users.card import user_card
from models.users.details import update_user
from models.users.rows import Kind, add_row
from tests.domain.test_accounts import second_organization
from tests.helpers.details import admin, as_staff, fresh, use_clock, user


def _scoped(db, library: Library, primary_id: str) -> Actor:
    """A User Manager whose role is scoped to `library`."""
    actor = as_staff(db, Role.USER_MANAGER, primary_id)
    RoleAssignment.update(scope=library).where(
        (RoleAssignment.account == actor.account) & (RoleAssignment.role != Role.PATRON.value)
    ).execute()
    return Actor(Account.get_by_id(actor.account.id), Source.SCREEN)


def _patron(db) -> Account:
    return user(
        db,
        "P0001",
        identifier="BC-0001",
        title="Dr.",
        job_description="Reference desk",
        phone="+41446681800",
        address_line1="Rämistrasse 1",
        postal_code="8001",
        city="Zürich",
        country="CH",
    )


def test_the_card_shows_the_record_its_creator_and_its_last_change(db) -> None:
    clock = use_clock()
    patron = _patron(db)
    created_at = fresh(patron).created_at
    clock.advance(hours=2)
    manager = as_staff(db, Role.USER_MANAGER, "S-MGR")
    update_user(patron.id, fresh(patron).version, {"job_description": "Archives"}, manager)

    card = user_card(patron.id, admin(db))

    assert (card.name, card.primary_id, card.record_type) == ("Müller, Anna", "P0001", "public")
    assert (card.status, card.expired, card.user_group) == ("active", False, "Member of the public")
    assert card.expiry_date == fresh(patron).expiry_date
    assert (card.title, card.job_description) == ("Dr.", "Archives")
    assert (card.created.by, card.created.source) == ("admin", "screen")
    assert card.created.at == created_at
    who = manager.account.person.username
    assert (card.updated.by, card.updated.source, card.updated.at) == (who, "screen", clock.now)
    assert card.identifiers[0] == ("primary", "P0001")
    assert card.identifiers[1][1] == "BC-0001"
    assert [e[1] for e in card.emails] == ["p0001@example.org"]
    assert [p[1] for p in card.phones] == ["+41446681800"]
    assert card.address is not None and "Rämistrasse 1" in card.address[1]
    assert "8001 Zürich" in card.address[1]


def test_the_preferred_contacts_come_first_and_the_address_is_the_preferred_one(db) -> None:
    patron = _patron(db)
    me = admin(db)
    saved = add_row(
        Kind.ADDRESS,
        patron.id,
        fresh(patron).version,
        {"address_type": "work", "line1": "Bahnhofstrasse 9", "city": "Bern", "preferred": True},
        me,
    )
    add_row(
        Kind.EMAIL,
        patron.id,
        saved.version,
        {"address": "anna@work.example", "email_type": "work", "preferred": True},
        me,
    )
    card = user_card(patron.id, me)
    assert card.address == ("work", "Bahnhofstrasse 9, Bern")
    assert [e[1] for e in card.emails] == ["anna@work.example", "p0001@example.org"]


def test_a_user_of_another_organization_is_refused(db) -> None:
    patron = _patron(db)
    _, admin2 = second_organization()
    with pytest.raises(PermissionDenied):
        user_card(patron.id, Actor(admin2, Source.SCREEN))
    with pytest.raises(PermissionDenied):
        user_card(admin2.id, admin(db))
    with pytest.raises(NotFound):
        user_card(999_999, admin(db))


def test_a_change_to_another_librarys_row_is_not_the_last_change_seen(db) -> None:
    clock = use_clock()
    patron = _patron(db)
    org = db.organization
    main = Library.get((Library.organization == org) & (Library.code == "MAIN"))
    branch = Library.create(organization=org, code="BRANCH", name="Branch library")
    at_main = _scoped(db, main, "S-MAIN")
    at_branch = _scoped(db, branch, "S-BRANCH")
    clock.advance(hours=1)
    update_user(patron.id, fresh(patron).version, {"job_description": "Archives"}, at_main)
    clock.advance(hours=1)
    note = {"text": "Branch", "owner": "BRANCH"}
    add_row(Kind.NOTE, patron.id, fresh(patron).version, note, at_branch)

    main_user, branch_user = (a.account.person.username for a in (at_main, at_branch))
    assert user_card(patron.id, at_main).updated.by == main_user
    assert user_card(patron.id, at_branch).updated.by == branch_user
    assert user_card(patron.id, admin(db)).updated.by == branch_user


def test_a_pruned_trail_leaves_the_accounts_own_columns(db) -> None:
    patron = _patron(db)
    AuditEvent.delete().where(AuditEvent.account_id == patron.id).execute()
    card = user_card(patron.id, admin(db))
    assert (card.created.by, card.created.source) == ("admin", "")
    assert (card.updated.by, card.updated.at) == ("admin", fresh(patron).updated_at)
