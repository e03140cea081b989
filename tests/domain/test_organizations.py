"""Organizations (issue 6): one person, an account per organization (RERO ILS). Staff see and
edit only their own organization's accounts, learn of accounts elsewhere only as a count, and
reuse the personal data of a person registered elsewhere with the person's consent."""

from __future__ import annotations

import pytest

from models.audit import Actor
from models.config.configuration import add_organization
from models.enums import Source
from models.errors import PermissionDenied, ValidationError
from models.search.engine import UserQuery, count_users, find_exact, search_users
from models.store.tables import Account, Organization, Person
from models.users.accounts import NewUser, create_user
from models.users.details import update_user
from models.users.profile import load_profile
from models.users.reuse import find_person_to_reuse, personal_data
from models.users.rows import Kind, list_rows
from tests.helpers.details import admin, future, user


@pytest.fixture
def two_orgs(db):
    anna = user(
        db, "P-ORG1", email="anna@example.org", birth_date="1990-04-01", identifier="BC-ORG1"
    )
    org2 = add_organization(
        "ORG2", "Second organization", admin_username="admin2", admin_password="Quill-Ledger-43"
    )
    staff2 = Actor(Account.get(Account.organization == org2), Source.SCREEN)
    return anna, org2, staff2


def test_a_person_of_another_organization_is_found_by_email_and_shown_as_a_count(
    db, two_orgs
) -> None:
    anna, org2, _ = two_orgs
    match = find_person_to_reuse("ANNA@example.org", org2.id)
    assert match is not None and match.person_id == anna.person_id
    assert (match.accounts_elsewhere, match.has_account_here) == (1, False)
    assert match.describe() == (
        "Müller, Anna, born 1990-04-01 · has an account in 1 other organization"
    )
    assert "P-ORG1" not in match.describe() and "Main" not in match.describe()
    assert find_person_to_reuse("nobody@example.org", org2.id) is None


def test_registering_a_person_known_elsewhere_reuses_the_personal_data(db, two_orgs) -> None:
    anna, org2, staff2 = two_orgs
    people = Person.select().count()
    data = personal_data(anna.person_id)
    assert (data["last_name"], data["email"]) == ("Müller", "anna@example.org")
    account = create_user(
        NewUser(
            record_type="public",
            person_id=anna.person_id,
            person_consent=True,
            primary_id="P-ORG2",
            user_group="PUBLIC",
            expiry_date=future(),
        ),
        staff2,
        org2,
    )
    assert Person.select().count() == people
    assert account.person_id == anna.person_id and account.organization_id == org2.id
    # Now the person has an account here: reusing again is refused, and said before the form.
    assert find_person_to_reuse("anna@example.org", org2.id).has_account_here
    # The login works from either organization: one person, one username and password.
    assert Person.get_by_id(anna.person_id).accounts.count() == 2


def test_staff_see_and_edit_only_their_own_organizations_accounts(db, two_orgs) -> None:
    anna, org2, staff2 = two_orgs
    mine = create_user(
        NewUser(
            record_type="public",
            person_id=anna.person_id,
            person_consent=True,
            primary_id="P-ORG2",
            user_group="PUBLIC",
            expiry_date=future(),
        ),
        staff2,
        org2,
    )
    found = search_users(org2.id, UserQuery(text="Müller")).rows
    assert [r.account_id for r in found] == [mine.id]
    assert [r.account_id for r in find_exact(org2.id, "anna@example.org")] == [mine.id]
    assert find_exact(org2.id, "BC-ORG1") == [], "another organization's identifier finds nothing"
    assert count_users(org2.id, UserQuery()) == 2  # their administrator and Anna's account
    for call in (
        lambda: load_profile(anna.id, staff2),
        lambda: list_rows(Kind.NOTE, anna.id, staff2),
        lambda: update_user(anna.id, anna.version, {"title": "Dr"}, staff2),
    ):
        with pytest.raises(PermissionDenied, match="another organization"):
            call()
    # And the other way round.
    with pytest.raises(PermissionDenied):
        load_profile(mine.id, admin(db))
    assert load_profile(mine.id, staff2).primary_id == "P-ORG2"


def test_staff_add_users_only_to_their_own_organization(db, two_orgs) -> None:
    _, org2, staff2 = two_orgs
    with pytest.raises(PermissionDenied, match="another organization"):
        create_user(
            NewUser(
                record_type="public",
                last_name="X",
                first_name="Y",
                primary_id="P-X",
                user_group="PUBLIC",
                email="x@example.org",
                expiry_date=future(),
            ),
            staff2,
            Organization.get(Organization.code == "MAIN"),
        )


def test_reusing_needs_the_consent_confirmed(db, two_orgs) -> None:
    anna, org2, staff2 = two_orgs
    with pytest.raises(ValidationError) as err:
        create_user(
            NewUser(
                record_type="public",
                person_id=anna.person_id,
                primary_id="P-ORG2",
                user_group="PUBLIC",
                expiry_date=future(),
            ),
            staff2,
            org2,
        )
    assert "agrees to share" in err.value.errors["person_id"]


def test_organization_add_on_the_command_line(db, monkeypatch, capsys) -> None:
    import io

    from tui.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO("Quill-Ledger-44\n"))
    code = main(
        [
            "--db",
            db.url,
            "organization",
            "add",
            "ORG3",
            "Third organization",
            "--library",
            "Third library",
            "--admin",
            "admin3",
            "--password-stdin",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "Added organization 'ORG3'" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("weak\n"))
    assert (
        main(
            [
                "--db",
                db.url,
                "organization",
                "add",
                "ORG4",
                "Fourth",
                "--admin",
                "admin4",
                "--password-stdin",
            ]
        )
        == 2
    )
    assert "password" in capsys.readouterr().err
