"""An account's resource sharing libraries and purchase request libraries, several of each (issue
22, item 6d; Alma's "Managing Users": "You can select one or more resource sharing libraries in
this multi-select field", "You may select one or more libraries"): the General tab's fields
(models/users/libraries.py), History, the version check, the exports and imports, and
migration 0019, which moved the single columns into `account_library`."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree

import pytest

from models.errors import ConflictError, ValidationError
from models.store.tables import Account, AccountLibrary, Library, Organization, Person
from models.transfer.exports import export_users
from models.transfer.imports import import_file
from models.users.details import general_form, restore_original, update_user
from models.users.external import SIS_ASKED, editable_fields, overridden_fields
from models.users.libraries import library_codes, set_library_ids
from tests.domain.test_interchange_csv import _empty_database, opts
from tests.helpers.db import PG_BASE, missing, pg_probe
from tests.helpers.details import admin, changes_of, events_after, fresh, last_event_id, user

RS, PR = "resource_sharing_libraries", "purchase_request_libraries"


def _libraries(db) -> None:  # noqa: ANN001
    org = db.organization
    Library.create(organization=org, code="LAW", name="Law Library")
    Library.create(organization=org, code="SCI", name="Science Library")
    Library.create(organization=org, code="OLD", name="Closed Library", active=False)
    other = Organization.create(code="OTHER", name="Other organization")
    Library.create(organization=other, code="FAR", name="Far Library")


def _error(exc: pytest.ExceptionInfo, field: str) -> str:
    return exc.value.errors[field]


# --- The General tab ----------------------------------------------------------------------------


def test_several_libraries_of_each_are_saved_in_their_order_and_shown_as_codes(db) -> None:
    _libraries(db)
    account = user(db)
    saved = update_user(
        account.id, account.version, {RS: "sci, MAIN", PR: "LAW,SCI ,MAIN"}, admin(db)
    )
    assert library_codes(account.id, RS) == ["SCI", "MAIN"]  # the libraries' own codes
    assert library_codes(account.id, PR) == ["LAW", "SCI", "MAIN"]
    form = general_form(account.id, admin(db))
    assert (form.values[RS], form.values[PR]) == ("SCI, MAIN", "LAW, SCI, MAIN")
    assert form.version == saved.version == account.version + 1
    # Given back unchanged, nothing changes; emptied, none is left.
    assert update_user(account.id, saved.version, {RS: "SCI, MAIN"}, admin(db)).version == (
        saved.version
    )
    update_user(account.id, saved.version, {PR: ""}, admin(db))
    assert library_codes(account.id, PR) == []
    assert AccountLibrary.select().where(AccountLibrary.account == account.id).count() == 2


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("MAIN, NOPE", "'NOPE' is not a library of this organization"),
        ("FAR", "'FAR' is not a library of this organization"),  # another organization's
        ("OLD", "'OLD' is an inactive library"),
        ("SCI, MAIN, sci", "names SCI twice"),
        ("MAIN, LAW\u202e", "text-direction marks"),
    ],
)
def test_a_wrong_code_is_refused_at_its_field_and_nothing_is_saved(db, typed, message) -> None:
    _libraries(db)
    account = user(db)
    set_library_ids(account.id, RS, [Library.get(Library.code == "LAW").id])
    with pytest.raises(ValidationError) as exc:
        update_user(account.id, account.version, {RS: typed, "title": "Dr"}, admin(db))
    assert message in _error(exc, RS)
    assert library_codes(account.id, RS) == ["LAW"]
    assert fresh(account).version == account.version
    assert fresh(account).person.title == ""


def test_a_library_deactivated_since_it_was_chosen_stays(db) -> None:
    _libraries(db)
    account = user(db)
    sci = Library.get(Library.code == "SCI")
    set_library_ids(account.id, PR, [sci.id])
    Library.update(active=False).where(Library.id == sci.id).execute()
    update_user(account.id, account.version, {PR: "SCI, LAW"}, admin(db))
    assert library_codes(account.id, PR) == ["SCI", "LAW"]


def test_history_records_the_old_and_the_new_list(db) -> None:
    _libraries(db)
    account = user(db)
    v = update_user(account.id, account.version, {RS: "MAIN"}, admin(db)).version
    mark = last_event_id()
    update_user(account.id, v, {RS: "MAIN, LAW", PR: "SCI"}, admin(db))
    assert changes_of(events_after(mark)) == {
        ("account", RS, "MAIN", "MAIN, LAW"),
        ("account", PR, None, "SCI"),
    }
    assert all(e.account_id == account.id for e in events_after(mark))


def test_a_concurrent_save_is_refused_by_version(db) -> None:
    _libraries(db)
    account = user(db)
    update_user(account.id, account.version, {"title": "Dr"}, admin(db))  # someone else
    with pytest.raises(ConflictError):
        update_user(account.id, account.version, {RS: "LAW"}, admin(db))
    assert library_codes(account.id, RS) == []


def test_on_an_external_account_they_are_staff_fields_alma_asks_about(db) -> None:
    _libraries(db)
    account = user(db)
    Account.update(account_type="external", owning_system="SIS").where(
        Account.id == account.id
    ).execute()
    set_library_ids(account.id, RS, [Library.get(Library.code == "MAIN").id])
    account = fresh(account)
    assert RS in SIS_ASKED and PR not in SIS_ASKED
    assert {RS, PR} <= editable_fields(account)  # no "Open for update" needed
    saved = update_user(account.id, account.version, {RS: "LAW, SCI"}, admin(db))
    assert RS in overridden_fields(account.id)
    restore_original(account.id, saved.version, RS, admin(db))
    assert library_codes(account.id, RS) == ["MAIN"]


# --- Exports and imports ------------------------------------------------------------------------


def _export(fmt: str) -> str:
    out = io.StringIO()
    export_users(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["alma-xml", "alma-json", "json"])
def test_a_round_trip_keeps_every_library(db, tmp_path: Path, request, fmt: str) -> None:  # noqa: ANN001
    _libraries(db)
    account = user(db)
    update_user(account.id, account.version, {RS: "SCI, MAIN, LAW", PR: "LAW, SCI"}, admin(db))
    text = _export(fmt)
    if fmt == "alma-xml":
        user_el = next(
            u for u in ElementTree.fromstring(text) if u.findtext("primary_id") == "P0001"
        )
        assert [c.text for c in user_el.iter("code") if c.text in {"SCI", "MAIN", "LAW"}] == [
            "SCI",
            "MAIN",
            "LAW",
        ]
        assert len(list(user_el.iter("rs_library"))) == 3
    if fmt == "json":
        rec = next(u for u in json.loads(text)["users"] if u["primary_id"] == "P0001")
        assert (rec[RS], rec[PR]) == (["SCI", "MAIN", "LAW"], ["LAW", "SCI"])
    path = tmp_path / f"users.{'xml' if fmt == 'alma-xml' else 'json'}"
    path.write_text(text, encoding="utf-8")
    _empty_database(db, tmp_path, request)
    _libraries(db)
    report = import_file(path, opts())
    assert report.refused == 0, report.summary()
    again = Account.get(Account.primary_id == "P0001")
    assert library_codes(again.id, RS) == ["SCI", "MAIN", "LAW"]
    assert library_codes(again.id, PR) == ["LAW", "SCI"]


def test_an_update_by_import_replaces_the_lists_with_a_history_line(db, tmp_path: Path) -> None:
    _libraries(db)
    account = user(db)
    update_user(account.id, account.version, {RS: "MAIN"}, admin(db))
    out = json.loads(_export("json"))
    rec = next(u for u in out["users"] if u["primary_id"] == "P0001")
    rec[RS] = ["LAW", "SCI"]
    out["users"] = [rec]
    path = tmp_path / "users.json"
    path.write_text(json.dumps(out), encoding="utf-8")
    mark = last_event_id()
    report = import_file(path, opts())
    assert report.updated == 1, report.summary()
    assert library_codes(account.id, RS) == ["LAW", "SCI"]
    assert ("account", RS, "MAIN", "LAW, SCI") in changes_of(events_after(mark))


def test_an_older_file_with_one_library_each_is_read_as_a_list_of_one(db, tmp_path: Path) -> None:
    _libraries(db)
    out = json.loads(_export("json"))
    rec = next(u for u in out["users"] if u["primary_id"] == "admin")
    rec.pop(RS)
    rec.pop(PR)
    rec.update(primary_id="P0009", username="p0009", emails=[], identifiers=[], roles=[])
    rec.update(resource_sharing_library="SCI", purchase_request_library="LAW")
    out["users"] = [rec]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(out), encoding="utf-8")
    report = import_file(path, opts())
    assert report.created == 1, report.summary()
    account = Account.get(Account.primary_id == "P0009")
    assert (library_codes(account.id, RS), library_codes(account.id, PR)) == (["SCI"], ["LAW"])


def test_the_csv_does_not_carry_them() -> None:
    from models.transfer.formats.patrondesk import CSV_COLUMNS

    assert not {c for c in CSV_COLUMNS if "librar" in c}


# --- Migration 0019 -----------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path):  # noqa: ANN201
    """A database with no schema yet, bound to the models; dropped at the end."""
    from models.store.connection import close_database, open_database

    if request.param == "sqlite":
        yield open_database(str(tmp_path / "old.db"), upgrade=False)
        close_database()
        return
    if problem := pg_probe():
        missing(problem)
    import psycopg2

    schema = f"pd_mig_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(PG_BASE)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_BASE else "?"
    try:
        yield open_database(
            f"{PG_BASE}{sep}options={quote(f'-csearch_path={schema}')}", upgrade=False
        )
    finally:
        close_database()
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()


def test_the_migration_moves_the_single_libraries_into_the_lists(empty_database) -> None:
    from models.store.schema import migrate, migration_names, runner

    db = empty_database
    names = migration_names()
    mine = "0019_account_libraries"
    runner(db).up(target=names[names.index(mine) - 1])
    org = Organization.create(code="MAIN", name="Main")
    main = Library.create(organization=org, code="MAIN", name="Main library")
    law = Library.create(organization=org, code="LAW", name="Law library")
    ids = []

    class PersonThen(Person):  # the person table as it was then: no sound key yet (0022)
        class Meta:
            table_name = "person"

    PersonThen._meta.remove_field("name_sound_key")
    for n, (rs, pr) in enumerate([(main, law), (None, main), (None, None)]):
        person = PersonThen.create(
            username=f"p{n}", username_key=f"p{n}", last_name=f"P{n}", sort_name=f"p{n}"
        )
        account = Account.create(
            organization=org,
            person=person,
            primary_id=f"P{n}",
            primary_id_key=f"p{n}",
            retired_resource_sharing_library=rs,
            retired_purchase_request_library=pr,
        )
        ids.append(account.id)
    assert mine in migrate(db)

    def kept(account_id: int) -> list[tuple[str, str]]:
        query = (
            AccountLibrary.select(AccountLibrary.kind, Library.code)
            .join(Library)
            .where(AccountLibrary.account == account_id)
            .order_by(AccountLibrary.kind)
        )
        return [(r.kind, r.library.code) for r in query]

    assert kept(ids[0]) == [("purchase_request", "LAW"), ("resource_sharing", "MAIN")]
    assert kept(ids[1]) == [("purchase_request", "MAIN")]
    assert kept(ids[2]) == []
    # One home: the old columns are emptied.
    assert (
        not Account.select()
        .where(
            Account.retired_resource_sharing_library.is_null(False)
            | Account.retired_purchase_request_library.is_null(False)
        )
        .exists()
    )
