"""PatronDesk's exports and its CSV read the user record's fields from the field table
(models/users/fields.py, issue 20): a field added there is exported, read back, and given a CSV
column or named below as one the CSV does not carry; the CSV's header stays that of the files
earlier versions wrote."""

from __future__ import annotations

import csv
import io
import json

from models.transfer.exports import export_users
from models.transfer.formats import CSV_CODES, CSV_COLUMNS, CSV_GENERAL, OWN_GENERAL, map_json
from models.transfer.formats.common import SourceContext
from models.users.fields import BY_NAME, CODE_FIELDS, CSV_FIELDS, EXPORTED, FIELDS, IMPORT

# The header of the CSV PatronDesk writes, as earlier versions wrote it (README "PatronDesk CSV"):
# their files must still import, so its order and names never change.
HEADER = (
    "primary_id,record_type,status,username,first_name,middle_name,last_name,"
    "preferred_first_name,preferred_middle_name,preferred_last_name,title,birth_date,gender,"
    "website,preferred_language,job_description,expiry_date,purge_date,comm_channel,"
    "comm_language,additional_email,letters_opt_in,cataloger_level,researcher,user_group,"
    "job_category,campus,password,emails,phones,address_type,address_line1,address_line2,"
    "address_line3,city,state,postal_code,country,identifiers,notes,statistics,blocks,roles"
)

# Fields an import enters that are no column of the CSV, and why (the JSON export carries them
# all; README "PatronDesk CSV": "the JSON export carries everything").
NOT_IN_CSV = {
    "email": "the login email: the CSV's emails column holds the person's email rows",
    "account_type": "an external flag, which the CSV does not carry (README)",
    "keep_history": "the CSV carries no keep_history (README)",
    "status_date": "no column of the CSV of earlier versions: the status only",
    "force_password_change": "no column of the CSV of earlier versions",
    "local_codes": "no column of the CSV of earlier versions",
    "letter_general": "no column of the CSV of earlier versions (letters_opt_in is)",
    "letter_expiry_reminder": "no column of the CSV of earlier versions (letters_opt_in is)",
}
# CSV columns that are not a field of the General part: rows of other tabs, the primary
# identifier and the codes (fields of their own kinds), the password (a plain text to hash).
NOT_GENERAL = {"primary_id", "password", *CODE_FIELDS}
ROWS = {"emails", "phones", "identifiers", "notes", "statistics", "blocks", "roles"}
ADDRESS = {"address_type", "address_line1", "address_line2", "address_line3", "city", "state"}
ADDRESS |= {"postal_code", "country"}
# Plain values of the JSON export that no form enters: the record's bookkeeping.
BOOKKEEPING = {"owning_system", "last_activity_at", "created_by", "created_at", "updated_by"}
BOOKKEEPING |= {"updated_at"}


def test_the_csv_header_is_that_of_earlier_versions() -> None:
    assert ",".join(CSV_COLUMNS) == HEADER


def test_the_csv_general_columns_are_the_field_tables_in_its_csv_order() -> None:
    places = [f.csv for f in FIELDS if f.csv]
    assert sorted(places) == list(range(1, len(places) + 1))  # one place each, none skipped
    assert tuple(f.name for f in CSV_FIELDS) == CSV_GENERAL
    assert CSV_CODES == CODE_FIELDS
    for f in CSV_FIELDS:
        assert IMPORT in f.modes, f"{f.name}: a CSV column the import does not read"


def test_every_field_an_import_enters_is_a_csv_column_or_said_not_to_be() -> None:
    """A field added to the table with the import's mode fails here until it has a `csv` place
    or a reason in NOT_IN_CSV."""
    entered = {f.name for f in FIELDS if IMPORT in f.modes}
    assert entered - set(CSV_COLUMNS) == set(NOT_IN_CSV)
    others = set(CSV_COLUMNS) - set(CSV_GENERAL)
    assert others == NOT_GENERAL | ROWS | ADDRESS
    assert {c for c in others if c in BY_NAME and IMPORT in BY_NAME[c].modes} == {"primary_id"}


def test_every_field_an_import_enters_is_in_the_json_export_and_read_back(db) -> None:  # noqa: ANN001
    out = io.StringIO()
    export_users(out, "json")
    user = next(u for u in json.loads(out.getvalue())["users"] if u["primary_id"] == "admin")
    exported = {f.name for f in EXPORTED}
    assert exported == {f.name for f in FIELDS if IMPORT in f.modes} - {"primary_id"}
    plain = {k for k, v in user.items() if not isinstance(v, list)}
    assert "photo" in plain  # an object of its own (tests/domain/test_photo_transfer.py)
    assert plain - {"password_hash", "pin_hash", "photo"} == (
        exported | set(CODE_FIELDS) | BOOKKEEPING | {"primary_id"}
    )
    # The resource sharing and purchase request libraries: lists of library codes.
    assert (user["resource_sharing_libraries"], user["purchase_request_libraries"]) == ([], [])
    assert exported | BOOKKEEPING == OWN_GENERAL
    general = map_json(user, "admin", SourceContext())["general"]
    assert set(general) == exported | BOOKKEEPING


def test_the_csv_export_writes_the_header_and_a_value_per_column(db) -> None:  # noqa: ANN001
    out = io.StringIO()
    export_users(out, "csv")
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert ",".join(rows[0]) == HEADER
    admin = next(r for r in rows[1:] if r[0] == "admin")
    values = dict(zip(rows[0], admin, strict=True))
    assert (values["record_type"], values["username"], values["status"]) == (
        "staff",
        "admin",
        "active",
    )


def test_the_readme_lists_the_csv_columns() -> None:
    import re
    from pathlib import Path

    readme = Path(__file__).resolve().parents[2] / "README.md"
    listed = re.search(r"`(primary_id, record_type[^`]*)`", readme.read_text(encoding="utf-8"))
    assert listed is not None
    assert listed.group(1).replace("\n", " ").split(", ") == list(CSV_COLUMNS)
