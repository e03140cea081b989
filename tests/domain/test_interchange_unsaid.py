"""Nothing is dropped unsaid (issue 21, item 7): a CSV column PatronDesk does not know (a
misspelt `emial`) and a source field with no home (Koha's flags, FOLIO's requestPreference and
deactivateMissingUsers) are reported once per field with a count, in the summary and the
report; fields that have a home are mapped (Koha's lang, sort1/sort2, smsalertnumber,
dateenrolled and patron_attributes; FOLIO's enrollmentDate, departments and customFields). A
file or a folder that holds no users says why and imports nothing (exit 2)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from models.errors import PatronDeskError
from models.store.tables import Account, Note, Phone, Statistic
from models.transfer.imports import ImportOptions, import_file


def opts(**kw) -> ImportOptions:
    kw.setdefault("workers", 1)
    return ImportOptions(**kw)


def not_kept(report) -> dict[str, str]:  # noqa: ANN001
    """field -> message of the report's "not kept" lines (one per field and file)."""
    out: dict[str, str] = {}
    for i in report.issues:
        if i.level == "not kept":
            assert i.field not in out, f"{i.field} reported twice"
            out[i.field] = i.message
    return out


def account(primary_id: str) -> Account:
    return Account.get(Account.primary_id == primary_id)


# --- CSV columns --------------------------------------------------------------------------------


def test_an_unknown_or_misspelt_csv_column_is_reported_once_with_its_count(
    db, tmp_path: Path
) -> None:
    path = tmp_path / "users.csv"
    path.write_text(
        "primary_id,last_name,emial,shoe_size\n"
        "P1,Doe,jane@uni.example,\n"
        "P2,Roe,rob@uni.example,\n"
        "P3,Poe,,\n",
        encoding="utf-8",
    )
    report = import_file(path, opts())
    assert report.created == 3
    lines = not_kept(report)
    assert set(lines) == {"emial", "shoe_size"}
    assert "2 values" in lines["emial"] and "emails" in lines["emial"]  # the likely column
    assert "0 values" in lines["shoe_size"]
    assert "emial (2 values" in report.summary()
    out = tmp_path / "report.csv"
    report.write_csv(out)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    reported = [r for r in rows if r["level"] == "not kept"]
    assert [(r["file"], r["field"]) for r in reported] == [
        ("users.csv", "emial"),
        ("users.csv", "shoe_size"),
    ]


# --- Koha ---------------------------------------------------------------------------------------

KOHA = (
    "cardnumber,surname,firstname,borrowernumber,lang,sort1,sort2,smsalertnumber,mobile,"
    "dateenrolled,patron_attributes,flags,initials\n"
    'K1,Dupont,Anne,17,fr,STUDENT,NORTH,+41791234567,+41791234567,2019-09-02,"GRADE:7,HOUSE:Blue",1,\n'
    "K2,Durand,Paul,18,default,,,+41791234568,,2020-01-15,,,PD\n"
)


def test_koha_fields_with_a_home_are_mapped_and_the_rest_reported(db, tmp_path: Path) -> None:
    path = tmp_path / "koha.csv"
    path.write_text(KOHA, encoding="utf-8")
    report = import_file(path, opts())
    assert (report.format, report.created, report.refused) == ("koha-csv", 2, 0)
    anne = account("K1")
    assert anne.person.preferred_language == "fr" and anne.comm_language == "fr"
    assert anne.created_at.date() == dt.date(2019, 9, 2)  # registered then
    stats = {
        (s.category.category_type.code, s.category.code)
        for s in Statistic.select().where(Statistic.account == anne)
    }
    assert stats == {("SORT1", "STUDENT"), ("SORT2", "NORTH")}
    phones = list(Phone.select().where(Phone.person == anne.person))
    # The SMS number is the mobile already there: one row, marked for SMS.
    assert [(p.number, p.preferred_sms) for p in phones] == [("+41791234567", True)]
    notes = sorted(n.text for n in Note.select().where(Note.account == anne))
    assert notes == ["GRADE: 7", "HOUSE: Blue"]
    paul = account("K2")
    assert paul.person.preferred_language == "en"  # Koha's "default"
    assert [
        (p.number, p.preferred_sms) for p in Phone.select().where(Phone.person == paul.person)
    ] == [("+41791234568", True)]
    lines = not_kept(report)
    assert set(lines) == {"borrowernumber", "flags", "initials"}
    assert "2 records" in lines["borrowernumber"] and "1 record" in lines["flags"]
    assert "flags (1)" in report.summary() and "borrowernumber (2)" in report.summary()


def test_koha_sample_keeps_its_enrolment_dates_and_sort_fields(db, shared_data: Path) -> None:
    report = import_file(shared_data / "koha" / "patrons.csv", opts())
    assert report.created == 50
    assert not_kept(report) == {}  # every column with a value has a home
    welch = account("23529000152273")
    assert welch.created_at.date() == dt.date(1985, 10, 24)
    assert Statistic.select().where(Statistic.account == welch).count() == 2


# --- FOLIO --------------------------------------------------------------------------------------


def _folio_user(n: int, **extra) -> dict:
    return {
        "id": f"00000000-0000-4000-8000-00000000000{n}",
        "username": f"user{n}",
        "barcode": f"B{n}",
        "active": True,
        "personal": {"lastName": f"Last{n}", "firstName": "First", "pronouns": "they/them"},
        **extra,
    }


def test_folio_fields_with_a_home_are_mapped_and_the_rest_reported(db, tmp_path: Path) -> None:
    data = {
        "users": [
            _folio_user(
                1,
                enrollmentDate="2020-10-07T04:00:00.000+0000",
                departments=["5c2a4c2e-0000-4000-8000-000000000001"],
                customFields={"sierraCheckoutInformation": "42", "alumni": True},
                requestPreference={"holdShelf": True, "delivery": False},
            ),
            _folio_user(2, requestPreference={"holdShelf": True}),
        ],
        "totalRecords": 2,
        "deactivateMissingUsers": True,
        "updateOnlyPresentFields": False,
    }
    path = tmp_path / "user-import.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    report = import_file(path, opts())
    assert (report.format, report.created) == ("folio-json", 2)
    first = account("B1")
    assert first.created_at.date() == dt.date(2020, 10, 7)
    (stat,) = Statistic.select().where(Statistic.account == first)
    assert stat.category.code == "5c2a4c2e-0000-4000-8000-000000000001"
    assert stat.category.category_type.code == "DEPARTMENT"
    notes = sorted(n.text for n in Note.select().where(Note.account == first))
    assert notes == ["alumni: true", "sierraCheckoutInformation: 42"]
    lines = not_kept(report)
    assert set(lines) == {
        "id",
        "personal.pronouns",
        "requestPreference",
        "deactivateMissingUsers",
        "updateOnlyPresentFields",
    }
    assert "2 records" in lines["requestPreference"]
    assert "deactivateMissingUsers" in report.summary()


def test_folio_sample_keeps_its_enrolment_dates(db, shared_data: Path) -> None:
    report = import_file(shared_data / "folio" / "user-import.json", opts())
    assert report.created == 303
    dated = Account.select().where(Account.created_at < dt.datetime(2022, 1, 1)).count()
    assert dated == 302  # every user with an enrollmentDate
    assert set(not_kept(report)) == {"id"}  # FOLIO's own UUIDs (departments and proxyFor empty)
    # The folder of single user files: the same, per file (a user's file has no envelope).
    again = import_file(shared_data / "folio" / "users", opts(force=True))  # read, not skipped
    assert {i.field for i in again.issues if i.level == "not kept"} == {"id"}
    assert again.summary().count("id (303)") == 1


# --- Files and folders that hold no users -------------------------------------------------------


def test_an_alma_file_of_user_records_that_are_not_user_elements_says_why(
    db, tmp_path: Path
) -> None:
    path = tmp_path / "sis.xml"
    path.write_text(
        "<userRecords><userRecord><primary_id>X1</primary_id><last_name>Doe</last_name>"
        "</userRecord><userRecord><primary_id>X2</primary_id></userRecord></userRecords>",
        encoding="utf-8",
    )
    with pytest.raises(PatronDeskError, match=r"2 <userRecord>.*<user>"):
        import_file(path, opts())
    assert Account.select().count() == 1


def test_the_cli_exits_2_for_a_file_or_folder_with_no_users(db, tmp_path: Path) -> None:
    from tui.cli import CliError, build_parser
    from tui.transfer_cli import run_import

    def run(*argv: str) -> None:
        run_import(build_parser().parse_args(["import", *argv]), CliError)

    xml = tmp_path / "one" / "sis.xml"
    xml.parent.mkdir()
    xml.write_text("<userRecords><userRecord/></userRecords>", encoding="utf-8")
    with pytest.raises(CliError, match="userRecord"):
        run(str(xml))
    # A folder whose files hold no users: each file's reason, and nothing done.
    (tmp_path / "one" / "notes.yml").write_text("---\na: 1\n", encoding="utf-8")
    with pytest.raises(CliError, match=r"holds no users.*notes\.yml.*YAML.*sis\.xml.*userRecord"):
        run(str(tmp_path / "one"))
    # A folder of folders: subfolders are not read, and it says so.
    nested = tmp_path / "nested"
    (nested / "2024").mkdir(parents=True)
    (nested / "2024" / "users.csv").write_text("primary_id,last_name\nP1,Doe\n", encoding="utf-8")
    with pytest.raises(CliError, match="subfolder"):
        run(str(nested))
    assert Account.select().count() == 1


# --- Alma ---------------------------------------------------------------------------------------


def test_alma_fields_with_no_home_are_reported(db, tmp_path: Path, shared_data: Path) -> None:
    path = tmp_path / "alma.json"
    path.write_text(
        json.dumps(
            {
                "user": [
                    {
                        "primary_id": "A1",
                        "last_name": "Doe",
                        "full_name": "Ann Doe",
                        "link": "https://alma.invalid/users/A1",
                        "proxy_for_user": [{"primary_id": "A2"}],
                        "pref_name_suffix": "Jr.",
                        "contact_info": {"email": [], "fax": "123"},
                    },
                    {"primary_id": "A2", "last_name": "Roe", "pref_name_suffix": "Sr."},
                ],
                "total_record_count": 2,
            }
        ),
        encoding="utf-8",
    )
    report = import_file(path, opts())
    assert report.created == 2
    lines = not_kept(report)
    assert set(lines) == {"proxy_for_user", "pref_name_suffix", "contact_info.fax"}
    assert "2 records" in lines["pref_name_suffix"]
    # The real files: every field with a value has a home.
    for name in ("user_response.json", "mit_staff_patrons.xml", "mit_student_patrons.xml"):
        assert not_kept(import_file(shared_data / "alma" / name, opts())) == {}, name


def test_hostile_field_names_are_shown_safe_and_bounded(db, tmp_path: Path) -> None:
    from models.transfer.imports import MAX_NOT_KEPT

    columns = ["bad\x1b[31mname", *(f"c{i}" for i in range(MAX_NOT_KEPT + 100))]
    path = tmp_path / "wide.csv"
    path.write_text(
        "primary_id,last_name,"
        + ",".join(columns)
        + "\nP1,Doe,"
        + ",".join("x" for _ in columns)
        + "\n",
        encoding="utf-8",
    )
    report = import_file(path, opts())
    assert report.created == 1
    lines = not_kept(report)
    assert len(lines) == MAX_NOT_KEPT + 1  # the rest counted together
    assert lines["(other fields)"].startswith("101 values of fields past the first 500")
    assert not any("\x1b" in name for name in lines) and "bad␛[31mname" in lines
    assert report.warnings == 0
    assert "\x1b" not in report.summary() and "more (see --report)" in report.summary()
