"""External stays external (issue 21, item 6): an Alma record that says account_type EXTERNAL
and external_id SIS is imported as an external account owned by SIS, its rows external or
internal as their segment_type says, so that the SIS's next load (--external --source SIS)
takes it over instead of refusing it as an internal account."""

from __future__ import annotations

from pathlib import Path

from models.store.tables import Account, Email, Identifier, Note
from models.transfer.imports import import_file
from tests.domain.test_interchange_csv import opts

RECORD = """<?xml version="1.0" encoding="UTF-8"?>
<users>
<user>
  <record_type>PUBLIC</record_type><primary_id>{pid}</primary_id>
  <first_name>Ada</first_name><last_name>Lovelace</last_name>
  <account_type desc="{kind}">{kind_code}</account_type><external_id>SIS</external_id>
  <status>ACTIVE</status>
  <contact_info><emails>
    <email preferred="true" segment_type="External">
      <email_address>{pid}@uni.example</email_address>
      <email_types><email_type>work</email_type></email_types></email>
    <email preferred="false" segment_type="Internal">
      <email_address>{pid}@home.example</email_address>
      <email_types><email_type>personal</email_type></email_types></email>
  </emails></contact_info>
  <user_identifiers>
    <user_identifier segment_type="External">
      <id_type>BARCODE</id_type><value>B-{pid}</value></user_identifier>
  </user_identifiers>
  <user_notes>
    <user_note segment_type="Internal">
      <note_type>GENERAL</note_type><note_text>Desk note</note_text>
      <user_viewable>false</user_viewable><popup_note>false</popup_note></user_note>
  </user_notes>
</user>
</users>
"""


def _write(tmp_path: Path, pid: str, kind: str = "External") -> Path:
    path = tmp_path / f"{pid}.xml"
    path.write_text(RECORD.format(pid=pid, kind=kind, kind_code=kind.upper()), encoding="utf-8")
    return path


def test_an_external_alma_record_is_imported_as_external_with_its_source(
    db, tmp_path: Path
) -> None:
    report = import_file(_write(tmp_path, "EXT1"), opts())
    assert (report.created, report.refused) == (1, 0)
    account = Account.get(Account.primary_id == "EXT1")
    assert (account.account_type, account.owning_system) == ("external", "SIS")
    # Each row as its segment_type says: the SIS's rows external, staff's internal.
    emails = {e.address: e.external for e in Email.select().where(Email.person == account.person)}
    assert emails == {"EXT1@uni.example": True, "EXT1@home.example": False}
    assert Identifier.get(Identifier.value == "B-EXT1").external is True
    assert Note.get(Note.account == account).external is False
    # The SIS's next load takes it over.
    again = import_file(_write(tmp_path, "EXT1"), opts(external=True, source="SIS"))
    assert again.refused == 0 and again.updated + again.unchanged == 1
    # Another SIS may not.
    other = import_file(_write(tmp_path, "EXT1"), opts(external=True, source="HR"))
    assert [i.message for i in other.refusals] == ["matches an external account managed by 'SIS'"]


def test_an_internal_alma_record_stays_internal(db, tmp_path: Path) -> None:
    report = import_file(_write(tmp_path, "INT1", kind="Internal"), opts())
    assert (report.created, report.refused) == (1, 0)
    account = Account.get(Account.primary_id == "INT1")
    assert account.account_type == "internal"
    assert not Email.select().where((Email.person == account.person) & Email.external).exists()
    # A SIS load refuses an internal account, as before.
    sis = import_file(_write(tmp_path, "INT1"), opts(external=True, source="SIS"))
    assert sis.refused == 1


def test_the_mit_sis_files_then_a_sis_load(db, shared_data: Path) -> None:
    alma = shared_data / "alma"
    first = import_file(alma / "mit_student_patrons.xml", opts())
    assert (first.created, first.refused) == (1, 1)  # the second student has no names
    (account,) = Account.select().where(Account.primary_id != "admin")
    assert (account.account_type, account.owning_system) == ("external", "SIS")
    assert all(i.external for i in Identifier.select().where(Identifier.account == account))
    # The same student from the SIS, as a SIS load: accepted, not refused as internal.
    single = alma / "mit_student_patron_record_all_values.xml"
    again = import_file(single, opts(external=True, source="SIS"))
    assert again.refused == 0 and again.updated + again.unchanged == 1


MULTI_TYPES = """<?xml version="1.0" encoding="UTF-8"?>
<users total_record_count="1"><user>
<record_type>PUBLIC</record_type><primary_id>AM1</primary_id><first_name>Multi</first_name>
<last_name>Types</last_name><user_group>UNDERGRAD</user_group><status>ACTIVE</status>
<contact_info><addresses><address preferred="true"><line1>1 Main St</line1><city>Boston</city>
<address_types><address_type>home</address_type><address_type>work</address_type></address_types>
</address></addresses><emails><email preferred="true"><email_address>m@example.org</email_address>
<email_types><email_type>personal</email_type><email_type>work</email_type></email_types>
</email></emails></contact_info></user></users>
"""


def test_a_row_of_several_alma_types_keeps_the_first_and_says_so(db, tmp_path: Path) -> None:
    """Found by a round-trip helper (2026-12-08): an address or email with two Alma types kept
    the first, and the report said nothing ("nothing is dropped unsaid")."""
    path = tmp_path / "multi.xml"
    path.write_text(MULTI_TYPES, encoding="utf-8")
    report = import_file(path, opts())
    assert report.created == 1, report.summary()
    said = {(i.field, i.message) for i in report.issues if i.level == "warning"}
    assert said == {
        ("address_type", "types home, work: home kept (PatronDesk keeps one a row)"),
        ("email_type", "types personal, work: personal kept (PatronDesk keeps one a row)"),
    }, said
    assert Email.get().email_type == "personal"
