"""Code tables that are lists in Alma (issue 22, item 6 a-c): Title from the organization's list
of titles, job categories and identifier types mapped to record types (as user groups are).
Both back ends (the `db` fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.audit import Actor
from models.config.codes import applies_to, code_options, title_options
from models.config.config_file import export_config, import_config
from models.config.configuration import add_entry, list_entries, update_entry
from models.enums import Source
from models.errors import ValidationError
from models.store.tables import Account, IdentifierType, JobCategory, Person, UserTitle
from models.transfer.imports import ImportOptions, import_file
from models.users.details import update_user
from models.users.rows import Kind, add_row, update_row
from tests.helpers.details import admin, fresh, user

SYSTEM = Actor(None, Source.CLI)


def refused(call, *args, **kwargs) -> dict[str, str]:
    with pytest.raises(ValidationError) as err:
        call(*args, **kwargs)
    return err.value.errors


def titles(db, *names: tuple[str, str]) -> None:
    for code, name in names:
        add_entry("titles", db.organization.id, {"code": code, "name": name}, admin(db))


def entry_id(db, key: str, code: str) -> int:
    entries = list_entries(key, db.organization.id, admin(db))
    return next(e.id for e in entries if e.values["code"] == code)


# --- (a) Title ----------------------------------------------------------------------------------


def test_titles_are_a_code_table_of_the_configuration(db) -> None:
    org = db.organization.id
    titles(db, ("DR", "Dr."), ("PROF", "Prof."))
    assert [e.values for e in list_entries("titles", org, admin(db))] == [
        {"code": "DR", "name": "Dr.", "active": True},
        {"code": "PROF", "name": "Prof.", "active": True},
    ]
    # The name is the text a person's title stores: at most its 50 characters.
    errors = refused(add_entry, "titles", org, {"code": "LONG", "name": "x" * 51}, admin(db))
    assert errors == {"name": "is at most 50 characters, as a person's title"}
    update_entry("titles", org, entry_id(db, "titles", "PROF"), {"active": False}, admin(db))
    assert title_options(org) == [("Dr.", "Dr.")]


def test_without_titles_a_title_is_any_text(db) -> None:
    account = user(db, title="Herr Doktor")
    assert account.person.title == "Herr Doktor"
    update_user(account.id, fresh(account).version, {"title": "Maître"}, admin(db))
    assert Person.get_by_id(account.person_id).title == "Maître"


def test_with_titles_a_new_user_takes_one_of_the_active_ones(db) -> None:
    titles(db, ("DR", "Dr."), ("MS", "Ms."))
    update_entry("titles", db.organization.id, entry_id(db, "titles", "MS"), {"active": False},
                 admin(db))  # fmt: skip
    errors = refused(user, db, title="Herr Doktor")
    assert errors == {"title": "choose a title from the list"}
    assert refused(user, db, title="Ms.") == {"title": "choose a title from the list"}
    # By name or code, without regard to case: stored as the title's name. Empty is allowed.
    assert user(db, "P0001", title="dr").person.title == "Dr."
    assert user(db, "P0002", title="").person.title == ""


def test_a_stored_title_not_in_the_list_is_kept_on_save(db) -> None:
    account = user(db, title="Herr Doktor")  # before the list
    titles(db, ("DR", "Dr."))
    # Saving the General tab with the title as it is (and another change) keeps it.
    update_user(
        account.id,
        fresh(account).version,
        {"title": "Herr Doktor", "job_description": "Reader"},
        admin(db),
    )
    assert Person.get_by_id(account.person_id).title == "Herr Doktor"
    errors = refused(update_user, account.id, fresh(account).version, {"title": "Mx"}, admin(db))
    assert errors == {"title": "choose a title from the list"}
    update_user(account.id, fresh(account).version, {"title": "Dr."}, admin(db))
    assert Person.get_by_id(account.person_id).title == "Dr."


def test_an_import_takes_any_title(db, tmp_path: Path) -> None:
    titles(db, ("DR", "Dr."))
    path = tmp_path / "users.csv"
    path.write_text("primary_id,last_name,title\nT1,One,Herr Doktor\n", encoding="utf-8")
    report = import_file(path, ImportOptions(workers=1))
    assert report.created == 1
    assert Account.get(Account.primary_id == "T1").person.title == "Herr Doktor"


def test_the_configuration_file_carries_titles_and_record_types(db) -> None:
    org = db.organization.id
    titles(db, ("DR", "Dr."))
    update_entry("job_categories", org, entry_id(db, "job_categories", "CATALOGER"),
                 {"record_types": ["staff"]}, admin(db))  # fmt: skip
    text = export_config(org)
    assert "[[titles]]" in text
    moved = text.replace('name = "Dr."', 'name = "Dr"').replace(
        'record_types = ["staff"]', 'record_types = ["staff", "public"]'
    )
    UserTitle.delete().execute()
    import_config(moved, org, SYSTEM)
    assert [(t.code, t.name) for t in UserTitle.select()] == [("DR", "Dr")]
    assert JobCategory.get(JobCategory.code == "CATALOGER").record_types == "staff,public"


# --- (b) Job categories -------------------------------------------------------------------------


def test_job_categories_apply_to_the_record_types_chosen(db) -> None:
    org = db.organization.id
    cataloger = entry_id(db, "job_categories", "CATALOGER")
    update_entry("job_categories", org, cataloger, {"record_types": ["staff"]}, admin(db))
    row = JobCategory.get_by_id(cataloger)
    assert row.record_types == "staff"
    assert applies_to(row, "staff") and not applies_to(row, "public") and applies_to(row, "")
    for record_type, offered in (("staff", True), ("public", False)):
        options = code_options("job_category", org, record_type=record_type)
        assert ("CATALOGER" in [c for _, c in options]) is offered
    errors = refused(user, db, "P0009", job_category="CATALOGER")
    assert errors == {"job_category": "does not apply to public users"}
    staff = user(db, "S0001", "staff", job_category="CATALOGER")
    assert staff.job_category.code == "CATALOGER"
    account = user(db)
    errors = refused(
        update_user, account.id, account.version, {"job_category": "CATALOGER"}, admin(db)
    )
    assert errors == {"job_category": "does not apply to public users"}
    # Narrowing a category held by accounts of another record type is refused, as for groups.
    errors = refused(
        update_entry, "job_categories", org, cataloger, {"record_types": ["public"]}, admin(db)
    )
    assert errors == {
        "record_types": "accounts of other record types hold this job category (1 staff): "
        "move them to another job category first"
    }


# --- (c) Identifier types -----------------------------------------------------------------------


def test_identifier_types_apply_to_the_record_types_chosen(db) -> None:
    org = db.organization.id
    univ = entry_id(db, "identifier_types", "UNIV_ID")
    update_entry("identifier_types", org, univ, {"record_types": ["staff"]}, admin(db))
    assert IdentifierType.get_by_id(univ).record_types == "staff"
    assert "UNIV_ID" not in [
        c for _, c in code_options("identifier_type", org, record_type="public")
    ]
    account = user(db)
    errors = refused(
        add_row, Kind.IDENTIFIER, account.id, account.version,
        {"id_type": "UNIV_ID", "value": "U-1"}, admin(db),
    )  # fmt: skip
    assert errors == {"id_type": "does not apply to public users"}
    # Quick User's identifier too.
    errors = refused(user, db, "P0002", identifier_type="UNIV_ID", identifier_value="U-2")
    assert errors == {"identifier_type": "does not apply to public users"}
    staff = user(db, "S0001", "staff")
    saved = add_row(
        Kind.IDENTIFIER, staff.id, staff.version, {"id_type": "UNIV_ID", "value": "U-3"},
        admin(db),
    )  # fmt: skip
    # A row keeps the type it has when the type is narrowed later (refused while held).
    errors = refused(
        update_entry, "identifier_types", org, univ, {"record_types": ["public"]}, admin(db)
    )
    assert errors == {
        "record_types": "identifiers of accounts of other record types have this type "
        "(1 staff): move them to another type first"
    }
    barcode = add_row(
        Kind.IDENTIFIER, account.id, account.version, {"id_type": "BARCODE", "value": "B-1"},
        admin(db),
    )  # fmt: skip
    IdentifierType.update(record_types="staff").where(IdentifierType.code == "BARCODE").execute()
    kept = update_row(
        Kind.IDENTIFIER, account.id, barcode.row.id, barcode.version, {"note": "old card"},
        admin(db),
    )  # fmt: skip
    assert kept.row.id_type.code == "BARCODE"
    assert saved.row.id_type.code == "UNIV_ID"


# --- Demo data ----------------------------------------------------------------------------------


def test_the_demo_gives_a_few_titles_once(db) -> None:
    from models.demo import generate_demo

    generate_demo(40, seed=5)
    names = {t.name for t in UserTitle.select()}
    assert {"Dr.", "Prof."} <= names
    assert {p.title for p in Person.select()} <= names | {""}
    generate_demo(10, seed=6)  # a list already there is left as it is
    assert UserTitle.select().count() == len(names)
