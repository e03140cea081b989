"""A rerun after a settings change re-reads (issue 21, item 9): the fingerprint that lets a
rerun skip an unchanged record covers the settings the checks use (phone_default_region, the
field formats, the password policy) and the reference files beside the file (FOLIO's ref-data,
RERO's patron_types.json) as well as the record and the options (--map's contents included);
`--force` re-reads every record whatever its fingerprint."""

from __future__ import annotations

import json
from pathlib import Path

from models.config.settings import set_setting
from models.store.tables import Account, Phone
from models.transfer.imports import ImportOptions, import_file

KOHA = "cardnumber,surname,firstname,phone\n" + "".join(
    f"K{i},Doe{i},Ann,(212) 555-12{i:02d}\n" for i in range(5)
)


def opts(**kw) -> ImportOptions:
    kw.setdefault("workers", 1)
    return ImportOptions(**kw)


def phones() -> int:
    return Phone.select().count()


def test_a_rerun_after_the_phone_region_is_set_reads_the_phones(db, tmp_path: Path) -> None:
    path = tmp_path / "koha.csv"
    path.write_text(KOHA, encoding="utf-8")
    first = import_file(path, opts())
    assert first.created == 5 and phones() == 0  # no country: each phone left out, said
    again = import_file(path, opts())
    assert again.unchanged == 5  # nothing changed: skipped
    set_setting("phone_default_region", "US")
    third = import_file(path, opts())
    assert (third.updated, third.unchanged) == (5, 0)
    assert phones() == 5
    assert import_file(path, opts()).unchanged == 5  # and skipped again after


def test_koha_sample_phones_come_after_the_region_is_set(db, shared_data: Path) -> None:
    path = shared_data / "koha" / "patrons.csv"
    import_file(path, opts())
    assert phones() == 0
    set_setting("phone_default_region", "US")
    report = import_file(path, opts())
    assert report.updated == 49 and phones() == 49


def _folio(tmp_path: Path, group: str) -> Path:
    folder = tmp_path / "folio"
    (folder / "ref-data" / "groups").mkdir(parents=True, exist_ok=True)
    (folder / "ref-data" / "groups" / "g.json").write_text(
        json.dumps({"id": "aaaaaaaa-0000-4000-8000-000000000001", "group": group, "desc": group}),
        encoding="utf-8",
    )
    users = folder / "users.json"
    users.write_text(
        json.dumps(
            {
                "users": [
                    {
                        "username": "ann",
                        "barcode": "F1",
                        "active": True,
                        "patronGroup": "aaaaaaaa-0000-4000-8000-000000000001",
                        "personal": {"lastName": "Doe"},
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    return users


def test_a_rerun_after_a_reference_file_changed_reads_the_records_again(db, tmp_path: Path) -> None:
    users = _folio(tmp_path, "walk-in")
    assert import_file(users, opts()).created == 1
    assert Account.get(Account.primary_id == "F1").user_group.code == "walk-in"
    _folio(tmp_path, "alumnus")  # the group's UUID now names another group
    report = import_file(users, opts())
    assert report.updated == 1
    assert Account.get(Account.primary_id == "F1").user_group.code == "alumnus"


def test_a_rerun_after_the_map_file_changed_reads_the_records_again(db, tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("primary_id,last_name,user_group,emial\nP1,Doe,27,\n", encoding="utf-8")
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"user_group": {"27": "STAFF"}}), encoding="utf-8")
    import_file(path, opts(map_file=mapping))
    assert Account.get(Account.primary_id == "P1").user_group.code == "STAFF"
    mapping.write_text(json.dumps({"user_group": {"27": "FACULTY"}}), encoding="utf-8")
    assert import_file(path, opts(map_file=mapping)).updated == 1
    assert Account.get(Account.primary_id == "P1").user_group.code == "FACULTY"


def test_force_reads_every_record_again(db, tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("primary_id,last_name,phones\nP1,Doe,+41791234567\n", encoding="utf-8")
    import_file(path, opts())
    # A change the fingerprint cannot see (made straight in the database): skipped ...
    Phone.delete().execute()
    assert import_file(path, opts()).unchanged == 1 and phones() == 0
    # ... until --force reads the record again.
    report = import_file(path, opts(force=True))
    assert (report.updated, report.unchanged) == (1, 0) and phones() == 1


def test_the_cli_force_rereads_and_replaces_the_report(db, tmp_path: Path) -> None:
    from tui.cli import build_parser
    from tui.transfer_cli import run_import

    path = tmp_path / "users.csv"
    path.write_text("primary_id,last_name,phones\nP1,Doe,+41791234567\n", encoding="utf-8")
    out = tmp_path / "report.csv"
    parse = build_parser().parse_args
    assert run_import(parse(["import", str(path), "--report", str(out)]), RuntimeError) == 0
    Phone.delete().execute()
    assert run_import(parse(["import", str(path), "--force"]), RuntimeError) == 0
    assert phones() == 1
    assert (
        run_import(parse(["import", str(path), "--report", str(out), "--force"]), RuntimeError) == 0
    )


def test_a_record_fingerprint_keeps_its_meaning() -> None:
    """A load hashes its options once and copies the hash for each record: the same
    fingerprint as hashing the options' text with the record, so that a rerun after an upgrade
    still finds an unchanged record unchanged (the value is the one earlier versions stored)."""
    from models.transfer.imports.checking import digest, seeded

    record, salt = {"primary_id": "S1", "first_name": "Solène"}, '[2, "x"]csv'
    assert digest(record, salt) == "acd3f1f6d96144a09db60a8f5a1cd78d"
    seed = seeded(salt)
    assert digest(record, seed) == digest(record, seed) == digest(record, salt)
    assert digest({**record, "first_name": "Solene"}, seed) != digest(record, salt)
