"""RERO's organisations stay apart (issue 21, item 5): a RERO ILS users file of several
organisations is imported one organisation at a time, each into its own PatronDesk
organization (created, named from organisations.json and libraries.json when they are beside
the file); patron types of one name stay one user group per organization; a person with an
account in two organisations (RERO's `simonetta`, pids 4 and 54) gets one account in each,
one person; staff-only accounts get no patron role; RERO roles PatronDesk has no counterpart
for (catalogue, statistics, acquisitions) are reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from models.config.configuration import add_organization
from models.store.tables import (
    Account,
    Email,
    Library,
    Organization,
    Person,
    Phone,
    RoleAssignment,
    UserGroup,
)
from models.transfer.imports import ImportError_, import_file
from tests.domain.test_interchange_csv import opts
from tests.helpers.db import ADMIN_PASSWORD

RERO_ORGS = {"RERO-1", "RERO-2", "RERO-3", "RERO-4"}


def _org_of(primary_id: str) -> str:
    return Account.get(Account.primary_id == primary_id).organization.code


def _roles(account: Account) -> set[tuple[str, str]]:
    return {
        (r.role, r.scope.code if r.scope_id else "")
        for r in RoleAssignment.select().where(RoleAssignment.account == account)
    }


def test_the_rero_sample_keeps_its_organisations_apart(db, shared_data: Path) -> None:
    report = import_file(shared_data / "rero" / "users.json", opts())
    assert (report.rows, report.created, report.refused) == (54, 54, 0), report.summary()
    codes = {o.code for o in Organization.select()}
    assert codes == {"MAIN"} | RERO_ORGS
    assert {c for c, _ in report.created_codes["organization"]} == RERO_ORGS
    # simonetta (pids 4 and 54): one person, an account in each of her two organisations.
    person = Person.get(Person.username == "simonetta")
    accounts = {a.primary_id: a for a in Account.select().where(Account.person == person)}
    assert set(accounts) == {"2050124311", "2100154311"}
    assert {a.organization.code for a in accounts.values()} == {"RERO-1", "RERO-2"}
    # Patron types 1 and 4 are both "Standard", of organisations 1 and 2: two user groups.
    for account in accounts.values():
        assert account.user_group.name == "Standard"
        assert account.user_group.organization_id == account.organization_id
    standard = UserGroup.select().where(UserGroup.code == "Standard")
    assert sorted(g.organization.code for g in standard) == ["RERO-1", "RERO-2", "RERO-4"]
    # Her second record's address is added to the person (not preferred); her first stays hers.
    assert {(a.city, a.preferred) for a in person.addresses} == {("Aosta", True), ("Roma", False)}
    # Staff-only accounts (24, "pro_*" roles and libraries): staff, no patron role.
    staff = Account.select().where(
        (Account.record_type == "staff") & (Account.primary_id != "admin")
    )
    assert staff.count() == 24
    for account in staff:
        assert "patron" not in {r for r, _ in _roles(account)}, account.primary_id
    assert _roles(Account.get(Account.primary_id == "test")) == {("user_administrator", "4")}
    assert Library.get(Library.code == "4").name == "RERO library 4"  # no libraries.json here
    # RERO's catalogue and statistics roles have no PatronDesk role: reported with counts.
    assert report.not_kept[("users.json", "role pro_catalog_manager")] == 20
    assert report.not_kept[("users.json", "role pro_statistic_manager")] == 1
    assert "role pro_catalog_manager (20)" in report.summary()
    said = " ".join(i.message for i in report.issues if i.level == "warning")
    assert "organisations.json is not beside the file" in said
    assert "libraries.json is not beside the file" in said
    # A rerun changes nothing and creates no organization.
    again = import_file(shared_data / "rero" / "users.json", opts())
    assert (again.created, again.unchanged, again.refused) == (0, 54, 0), again.summary()
    assert Organization.select().count() == 5


def _with_reference(shared_data: Path, tmp_path: Path) -> Path:
    """The RERO sample beside reference files in RERO's format (made up for this test):
    organisations 1 to 4 and libraries 1 to 23, five or six of each organisation."""
    folder = tmp_path / "rero"
    folder.mkdir()
    for name in ("users.json", "patron_types.json"):
        shutil.copy(shared_data / "rero" / name, folder / name)
    orgs = [
        {"pid": str(n), "code": code, "name": name}
        for n, code, name in (
            (1, "valley", "Valley network"),
            (2, "ministry", "Ministry libraries"),
            (3, "fiction", "Fictional libraries"),
            (4, "tests", "Test institute"),
        )
    ]
    api = "https://bib.rero.ch/api"
    libraries = [
        {
            "pid": str(n),
            "code": f"L{n:02d}",
            "name": f"Branch {n} — Bibliothèque {n}",
            "organisation": {"$ref": f"{api}/organisations/{1 + (n - 1) // 6}"},
        }
        for n in range(1, 24)
    ]
    (folder / "organisations.json").write_text(json.dumps(orgs), encoding="utf-8")
    (folder / "libraries.json").write_text(json.dumps(libraries), encoding="utf-8")
    return folder / "users.json"


def test_reference_files_name_the_organizations_and_libraries(
    db, shared_data: Path, tmp_path: Path
) -> None:
    path = _with_reference(shared_data, tmp_path)
    report = import_file(path, opts())
    assert (report.created, report.refused) == (54, 0), report.summary()
    names = {o.code: o.name for o in Organization.select()}
    assert names == {
        "MAIN": "Main organization",
        "valley": "Valley network",
        "ministry": "Ministry libraries",
        "fiction": "Fictional libraries",
        "tests": "Test institute",
    }
    # Each new organization's main library is its first one of libraries.json.
    assert Library.get(Library.code == "L01").organization.code == "valley"
    assert Library.get(Library.code == "L07").name == "Branch 7 — Bibliothèque 7"
    # Staff go to their libraries' organisation, their roles scoped to those libraries.
    assert _org_of("test") == "valley"  # library 4
    assert _org_of("spock") == "tests"  # library 23
    assert _roles(Account.get(Account.primary_id == "jean")) == {
        (role, lib)
        for role in ("user_manager", "circulation_desk_manager", "fulfillment_services_operator")
        for lib in ("L02", "L04")
    }
    for account in Account.select().where(Account.primary_id != "admin"):
        for r in RoleAssignment.select().where(RoleAssignment.account == account):
            if r.scope_id:
                assert r.scope.organization_id == account.organization_id, account.primary_id
    assert Account.select().where(Account.organization == db.organization).count() == 1  # admin
    assert not [i for i in report.issues if "is not beside the file" in i.message]


def test_a_library_of_another_organisation_gives_no_role(
    db, shared_data: Path, tmp_path: Path
) -> None:
    path = _with_reference(shared_data, tmp_path)
    users = json.loads(path.read_text(encoding="utf-8"))
    jean = next(u for u in users if u["username"] == "jean")
    api = "https://bib.rero.ch/api/libraries"
    # Library 4 is of organisation 1 (jean's, by his first library), 8 of organisation 2.
    jean["libraries"] = [{"$ref": f"{api}/4"}, {"$ref": f"{api}/8"}]
    # A patron of organisation 1 (her patron type) who is staff in organisation 2 only: no
    # role at all, never one of every library.
    simonetta = next(u for u in users if u["pid"] == "4")
    simonetta["roles"] = ["patron", "pro_user_manager"]
    simonetta["libraries"] = [{"$ref": f"{api}/8"}]
    path.write_text(json.dumps(users), encoding="utf-8")
    report = import_file(path, opts())
    assert report.refused == 0, report.summary()
    assert {lib for _, lib in _roles(Account.get(Account.primary_id == "jean"))} == {"L04"}
    said = [i.message for i in report.issues if i.primary_id == "jean" and i.field == "roles"]
    assert said == [
        "libraries 8 are of another RERO organisation than the user's (1): no role given there"
    ]
    assert _roles(Account.get(Account.primary_id == "2050124311")) == {("patron", "")}


def test_an_import_into_one_organization_takes_its_own_rero_organisation(
    db, shared_data: Path
) -> None:
    path = shared_data / "rero" / "users.json"
    # A staff member's import (their own organization, MAIN): none of the file's organisations.
    admin = Account.get(Account.primary_id == "admin")
    with pytest.raises(ImportError_, match="none of which is organization MAIN"):
        import_file(path, opts(), actor_account=admin)
    assert Account.select().count() == 1
    # The command line naming organization RERO-2: its 3 patrons, and the 24 staff whose
    # organisation the file does not tell; the other organisations' records are refused.
    org = add_organization("RERO-2", "Ministry")
    report = import_file(path, opts(), organization=org)
    assert (report.created, report.refused) == (27, 27), report.summary()
    refused = [i.message for i in report.refusals]
    assert len(refused) == 3
    assert "17 records of RERO organisation RERO-3" in " ".join(refused)
    assert Person.get(Person.username == "simonetta").accounts.count() == 1
    assert _org_of("2100154311") == "RERO-2"


def test_a_dry_run_creates_no_organization(db, shared_data: Path) -> None:
    report = import_file(shared_data / "rero" / "users.json", opts(dry_run=True))
    assert (report.created, report.refused) == (54, 0), report.summary()
    assert any("RERO-1 (RERO organisation 1) would be created" in i.message for i in report.issues)
    assert Organization.select().count() == 1
    assert Account.select().count() == 1


def test_other_rero_staff_roles_are_reported_never_given(db, tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(
        json.dumps(
            [
                {
                    "pid": "1",
                    "username": "acq",
                    "first_name": "Ann",
                    "last_name": "Buyer",
                    "roles": ["pro_acquisition_manager", "pro_user_manager", "pro_entity_manager"],
                }
            ]
        ),
        encoding="utf-8",
    )
    report = import_file(path, opts())
    assert report.created == 1
    assert _roles(Account.get(Account.primary_id == "acq")) == {("user_manager", "")}
    assert report.not_kept[("users.json", "role pro_acquisition_manager")] == 1
    assert report.not_kept[("users.json", "role pro_entity_manager")] == 1


# --- One person, an account per organization (any format) ---------------------------------------


def _csv(tmp_path: Path, name: str, rows: str) -> Path:
    path = tmp_path / name
    header = "primary_id,username,first_name,last_name,birth_date,emails,phones\n"
    path.write_text(header + rows, encoding="utf-8")
    return path


def test_a_person_known_in_another_organization_gets_an_account_here(db, tmp_path: Path) -> None:
    second = add_organization(
        "SECOND", "Second network", admin_username="second.admin", admin_password=ADMIN_PASSWORD
    )
    first = _csv(tmp_path, "a.csv", "A1,ann,Ann,Lee,1980-02-03,ann@example.org,+41791234567\n")
    assert import_file(first, opts()).created == 1
    again = _csv(
        tmp_path,
        "b.csv",
        "B1,ANN,Ann,Lee,1980-02-03,ann@example.org|work:lee@uni.example,+41791234568\n"
        "B2,bob,Bob,Lee,1980-02-03,,\n",
    )
    report = import_file(again, opts(), organization=second)
    assert (report.created, report.refused) == (2, 0), report.summary()
    person = Person.get(Person.username == "ann")
    assert {a.primary_id for a in person.accounts} == {"A1", "B1"}
    # The contact rows she had not are added, not preferred: her own stay her preferred ones.
    assert {(e.address, e.preferred) for e in Email.select().where(Email.person == person)} == {
        ("ann@example.org", True),
        ("lee@uni.example", False),
    }
    assert Phone.select().where(Phone.person == person).count() == 2
    # Another person of the same username (another birth date) is refused, as before.
    other = _csv(tmp_path, "c.csv", "C1,bob,Bob,Lee,1990-01-01,,\n")
    report = import_file(other, opts())
    assert report.refused == 1
    assert "'bob' is already used by another person" in report.refusals[0].message
    # A staff member's import does not reuse a person: that takes their consent (F3).
    cat = _csv(tmp_path, "d.csv", "D1,cat,Cat,Lee,1980-02-03,,\n")
    assert import_file(cat, opts()).created == 1  # in MAIN
    staff = Account.get(Account.primary_id == "second.admin")
    report = import_file(_csv(tmp_path, "e.csv", "E1,cat,Cat,Lee,1980-02-03,,\n"), opts(),
                         actor_account=staff)  # fmt: skip
    assert report.refused == 1
    assert "with their consent" in report.refusals[0].message


def test_the_command_line_keeps_the_organisations_apart_without_organization(
    db, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by a round-trip helper (2026-12-08): `patrondesk import users.json` always named
    the first organization (the command line's default), so RERO's sample was refused with
    "import it from the command line without --organization", which it was."""
    from tui.cli import main

    assert main(["--db", db.url, "import", str(shared_data / "rero" / "users.json")]) == 0, (
        capsys.readouterr().err
    )
    assert {o.code for o in Organization.select()} == {"MAIN"} | RERO_ORGS
    rero = Account.select().join(Organization).where(Organization.code != "MAIN")
    assert rero.count() == 8 + 3 + 17 + 2  # the four organisations' (the others name none)
    assert Account.select().count() == 1 + 54


def test_a_rero_file_in_a_hidden_folder_is_refused_before_it_is_read(
    db, tmp_path, shared_data
) -> None:
    """Found by a review (2026-12-08): an import from the app read a RERO file of several
    organisations for them before the path was checked (a hidden one answered with its
    organisations instead of a refusal)."""
    import shutil

    from models.enums import Role
    from models.store.files import FileRefused
    from tests.helpers.details import staff

    manager = staff(db, Role.USER_MANAGER, "S-UM")
    hidden = tmp_path / ".secret"
    shutil.copytree(shared_data / "rero", hidden)
    with pytest.raises(FileRefused, match="hidden"):
        import_file(hidden / "users.json", opts(), actor_account=manager)
