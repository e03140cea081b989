"""Files as libraries have them (issue 21, item 8): Windows-1252 and Latin-1 CSV files (told
apart from UTF-8, or named with --encoding; a byte that cannot be read is reported at its
line), local dates with --date-format, columns renamed by --map, an unterminated quote
reported at its line without swallowing the rows after it, phone extensions kept, an email or
phone given twice in one record reported, the report's file column filled for a single file,
and Koha's password column read as the plain text it is (hashed, never stored as it is)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from models.access.passwords import verify_secret
from models.config.settings import load_settings
from models.errors import PatronDeskError
from models.store.tables import Account, Block, Email, Phone
from models.transfer.imports import ImportOptions, import_file


def opts(**kw) -> ImportOptions:
    kw.setdefault("workers", 1)
    return ImportOptions(**kw)


def account(primary_id: str) -> Account:
    return Account.get(Account.primary_id == primary_id)


def warnings(report) -> list[tuple[str, str, str]]:  # noqa: ANN001
    return [(i.primary_id, i.field, i.message) for i in report.issues if i.level == "warning"]


ROWS = "primary_id,first_name,last_name,city\nP1,Zoé,Müller,Genève\nP2,Chloë,Señor,Zürich\n"


# --- Encodings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_a_windows_or_latin_1_file_is_read_and_said(db, tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "users.csv"
    text = ROWS + ("P3,Jean,Dupont € 2,Paris\n" if encoding == "cp1252" else "")
    path.write_bytes(text.encode(encoding))
    report = import_file(path, opts())
    assert report.refused == 0 and report.created == (3 if encoding == "cp1252" else 2)
    assert account("P1").person.last_name == "Müller"
    assert account("P1").person.first_name == "Zoé"
    if encoding == "cp1252":
        assert account("P3").person.last_name == "Dupont € 2"
    # Said once, with the first line that is not UTF-8.
    (said,) = [i for i in report.issues if i.field == "encoding"]
    assert said.level == "warning" and "line 2" in said.message and "cp1252" in said.message


def test_the_encoding_option_reads_the_file_or_names_the_line_it_cannot(db, tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_bytes(("primary_id,last_name\nP1,Doe\nP2,Roe\nP3,Müller\n").encode("latin-1"))
    with pytest.raises(PatronDeskError, match=r"line 4.*utf-8.*0xfc"):
        import_file(path, opts(encoding="utf-8"))
    assert Account.select().count() == 1  # nothing written
    report = import_file(path, opts(encoding="latin-1"))
    assert report.created == 3 and account("P3").person.last_name == "Müller"
    assert not [i for i in report.issues if i.field == "encoding"]
    with pytest.raises(PatronDeskError, match="--encoding"):
        import_file(path, opts(encoding="no-such-codec"))


def test_a_json_file_that_is_not_utf8_names_its_line(db, tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_bytes(
        '{"users": [\n{"primary_id": "A1",\n "last_name": "Müller"}]}'.encode("latin-1")
    )
    with pytest.raises(PatronDeskError, match=r"line 3.*0xfc"):
        import_file(path, opts())
    with pytest.raises(PatronDeskError, match=r"line 3.*0xfc"):
        import_file(path, opts(format="alma-json"))


# --- Dates --------------------------------------------------------------------------------------

LOCAL = (
    "primary_id,last_name,birth_date,expiry_date,blocks\n"
    "P1,Doe,31/12/1985,01/02/2030,GENERAL:desk;until=28/02/2031\n"
    "P2,Roe,1990-05-04,,\n"
)


def test_local_dates_are_read_with_the_date_format(db, tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(LOCAL, encoding="utf-8")
    report = import_file(path, opts(date_format="%d/%m/%Y"))
    assert (report.created, report.refused, report.warnings) == (2, 0, 0)
    doe = account("P1")
    assert doe.person.birth_date == dt.date(1985, 12, 31)
    assert doe.expiry_date == dt.date(2030, 2, 1)
    assert Block.get(Block.account == doe).expiry_date == dt.date(2031, 2, 28)
    assert account("P2").person.birth_date == dt.date(1990, 5, 4)  # ISO dates still read


def test_local_dates_without_a_date_format_say_how_to_read_them(db, tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(LOCAL, encoding="utf-8")
    report = import_file(path, opts())
    said = [m for _, field, m in warnings(report) if field in ("birth_date", "expiry_date")]
    assert len(said) == 2 and all("--date-format" in m for m in said)
    with pytest.raises(PatronDeskError, match="--date-format"):
        import_file(path, opts(date_format="%d/%m"))  # no year: refused before anything


def test_koha_dates_are_read_with_the_date_format(db, tmp_path: Path) -> None:
    path = tmp_path / "koha.csv"
    path.write_text(
        "cardnumber,surname,dateofbirth,dateexpiry,dateenrolled\nK1,Doe,24.10.1985,31.12.2099,02.09.2019\n",
        encoding="utf-8",
    )
    report = import_file(path, opts(date_format="%d.%m.%Y"))
    assert report.warnings == 0
    k1 = account("K1")
    assert k1.person.birth_date == dt.date(1985, 10, 24)
    assert k1.expiry_date == dt.date(2099, 12, 31)
    assert k1.created_at.date() == dt.date(2019, 9, 2)


# --- Renamed columns ----------------------------------------------------------------------------


def test_map_renames_columns(db, tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("primary_id,surname,emial\nP1,Doe,jane@uni.example\n", encoding="utf-8")
    mapping = tmp_path / "map.json"
    mapping.write_text(
        json.dumps({"columns": {"emial": "emails", "surname": "last_name"}}), encoding="utf-8"
    )
    report = import_file(path, opts(format="csv", map_file=mapping))
    assert (report.created, report.refused) == (1, 0)
    assert [e.address for e in Email.select().where(Email.person == account("P1").person)] == [
        "jane@uni.example"
    ]
    assert not [i for i in report.issues if i.level == "not kept"]
    mapping.write_text(json.dumps({"columns": {"emial": "emales"}}), encoding="utf-8")
    with pytest.raises(PatronDeskError, match="emales"):
        import_file(path, opts(format="csv", map_file=mapping))


# --- Broken rows --------------------------------------------------------------------------------


def test_an_unterminated_quote_is_reported_at_its_line_and_the_rows_after_it_are_read(
    db, tmp_path: Path
) -> None:
    path = tmp_path / "users.csv"
    path.write_text(
        "primary_id,first_name,last_name,city\n"
        'P1,Ann,Doe,"Springfield, MA"\n'
        'P2,"Bob,Roe,Boston\n'
        "P3,Cid,Poe,Salem\n"
        "P4,Dan,Loe,Lowell\n",
        encoding="utf-8",
    )
    report = import_file(path, opts())
    assert report.created == 3
    assert {a.primary_id for a in Account.select()} >= {"P1", "P3", "P4"}
    (refused,) = report.refusals
    assert "line 3" in refused.message and "quote" in refused.message
    # Past the CSV field limit (131,072 characters) too: the rows after it are read.
    rows = "".join(f"Q{i},First{i},Last{i},Some town {i}\n" for i in range(5000))
    path.write_text('primary_id,first_name,last_name,city\nQX,"Open,Quote,Town\n' + rows)
    report = import_file(path, opts())
    assert (report.created, report.refused) == (5000, 1)
    assert "line 2" in report.refusals[0].message
    # A quoted cell that spans lines on purpose is still one cell.
    path.write_text(
        'primary_id,last_name,notes\nP5,Moe,"GENERAL:first line\nsecond line"\nP6,Noe,\n',
        encoding="utf-8",
    )
    report = import_file(path, opts())
    assert (report.created, report.refused) == (2, 0)


# --- Phones and emails --------------------------------------------------------------------------


def test_phone_extensions_are_kept_and_repeated_contacts_reported(db, tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text(
        "primary_id,last_name,emails,phones\n"
        "P1,Doe,work:ann@uni.example|personal:ANN@uni.example,"
        "office:+1 865-406-8773 x12|mobile:+41 79 123 45 67|home:+41791234567\n",
        encoding="utf-8",
    )
    report = import_file(path, opts())
    person = account("P1").person
    numbers = [p.number for p in Phone.select().where(Phone.person == person).order_by(Phone.id)]
    assert numbers == ["+18654068773 ext. 12", "+41791234567"]
    assert Email.select().where(Email.person == person).count() == 1
    said = {field: m for _, field, m in warnings(report)}
    assert "ANN@uni.example" in said["email 2"] and "already" in said["email 2"]
    assert "+41791234567" in said["phone 3"] and "already" in said["phone 3"]


# --- The report's file column -------------------------------------------------------------------


def test_the_report_names_the_file_of_a_single_file(db, tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("primary_id,last_name,emails\nP1,,\nP2,Roe,not-an-email\n", encoding="utf-8")
    report = import_file(path, opts())
    assert report.issues and {i.file for i in report.issues} == {"users.csv"}


# --- Koha's passwords ---------------------------------------------------------------------------


def test_koha_passwords_are_plain_text_hashed_by_the_policy(db, tmp_path: Path) -> None:
    path = tmp_path / "koha.csv"
    path.write_text(
        "cardnumber,surname,password\n"
        "K1,Doe,Quill-Ledger-42\n"
        "K2,Roe,0123456789abcdef0123456789abcdef\n",  # looks like an MD5: Koha's is plain text
        encoding="utf-8",
    )
    report = import_file(path, opts())
    assert report.created == 2
    doe = account("K1").person
    assert doe.password_hash.startswith("$argon2")
    assert verify_secret(doe.password_hash, "Quill-Ledger-42", load_settings())
    assert account("K2").person.password_hash is None
    said = {pid: m for pid, field, m in warnings(report) if field == "password"}
    assert "policy" in said["K2"] and "hash" not in said["K2"]
    assert report.no_password == 1


# --- The command line ---------------------------------------------------------------------------


def test_the_cli_takes_encoding_and_date_format(db, tmp_path: Path) -> None:
    from tui.cli import build_parser
    from tui.transfer_cli import run_import

    path = tmp_path / "users.csv"
    path.write_bytes("primary_id,last_name,birth_date\nP1,Müller,31/12/1985\n".encode("cp1252"))
    args = build_parser().parse_args(
        ["import", str(path), "--encoding", "cp1252", "--date-format", "%d/%m/%Y"]
    )
    assert run_import(args, RuntimeError) == 0
    assert account("P1").person.birth_date == dt.date(1985, 12, 31)
