"""Contact records (issue 22, item 5; alma-managing-users): the claim, order, payment and returns
email / phone / address types are a contact's only, and the types of people (school, alternative,
office fax) are not a contact's; a phone is mandatory for contacts by default; a contact has no
Identifiers or Blocks tab, so no such rows are added to it; a contact is not deleted (nor
purged); an address has five lines, kept by the exports and imports that have them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from models.config.settings import Settings, set_setting
from models.enums import RecordType
from models.errors import ValidationError
from models.store.tables import Account, Address, Phone
from models.transfer.exports import export_users
from models.transfer.imports import import_file
from models.users.accounts import NewUser, create_user
from models.users.contact_types import allowed_types, type_problem
from models.users.deletion import DeletionRefused, check_deletion, delete_user, purge
from models.users.rows import Kind, Refused, absent_kinds, add_row, delete_row
from tests.domain.test_interchange_csv import _empty_database, opts
from tests.helpers.details import admin, fresh, future, user

PHONE = "+41 44 268 10 00"


# --- Types ----------------------------------------------------------------------------------------


def test_the_contact_only_types_are_a_contacts_and_the_peoples_types_are_not() -> None:
    assert allowed_types("email", "contact") == [
        "personal", "work", "cc", "claim", "order", "payment", "returns",
    ]  # fmt: skip
    assert allowed_types("address", "contact") == [
        "home", "work", "claim", "order", "payment", "returns",
    ]  # fmt: skip
    assert "office_fax" not in allowed_types("phone", "contact")
    assert {"claim_fax", "claim_phone", "order_fax", "payment_fax", "payment_phone",
            "returns_fax", "returns_phone"} <= set(allowed_types("phone", "contact"))  # fmt: skip
    for record_type in ("public", "staff", "researcher", "organization"):
        assert allowed_types("email", record_type) == [
            "personal", "work", "school", "alternative", "cc",
        ]  # fmt: skip
        assert allowed_types("phone", record_type) == ["home", "mobile", "office", "office_fax"]
    assert type_problem("email", "claim", "public") == "is for contact records only"
    assert type_problem("phone", "office_fax", "contact") == "is not a type for contact records"
    assert type_problem("address", "work", "contact") is None


def test_contact_rows_take_a_contacts_types_and_refuse_the_others(db) -> None:
    contact = user(db, "C0001", "contact")
    anna = user(db)
    actor = admin(db)

    def refused(account: Account, kind: Kind, data: dict) -> dict[str, str]:
        with pytest.raises(ValidationError) as err:
            add_row(kind, account.id, fresh(account).version, data, actor)
        return err.value.errors

    add_row(Kind.EMAIL, contact.id, fresh(contact).version,
            {"address": "claims@binder.example", "email_type": "claim"}, actor)  # fmt: skip
    add_row(Kind.PHONE, contact.id, fresh(contact).version,
            {"number": "+41 44 268 10 01", "phone_type": "order_fax"}, actor)  # fmt: skip
    add_row(Kind.ADDRESS, contact.id, fresh(contact).version,
            {"address_type": "returns", "line1": "Dock 4", "city": "Zürich"}, actor)  # fmt: skip
    assert refused(contact, Kind.EMAIL, {"address": "kid@school.example", "email_type": "school"}) \
        == {"email_type": "is not a type for contact records"}  # fmt: skip
    fax = {"number": "+41 44 268 10 02", "phone_type": "office_fax"}
    assert refused(contact, Kind.PHONE, fax) == {"phone_type": "is not a type for contact records"}
    assert refused(anna, Kind.EMAIL, {"address": "anna@claims.example", "email_type": "claim"}) \
        == {"email_type": "is for contact records only"}  # fmt: skip
    assert refused(anna, Kind.ADDRESS, {"address_type": "payment", "city": "Bern"}) \
        == {"address_type": "is for contact records only"}  # fmt: skip
    assert refused(anna, Kind.PHONE, {"number": "+41 44 268 10 03", "phone_type": "claim_phone"}) \
        == {"phone_type": "is for contact records only"}  # fmt: skip


def test_a_new_user_gets_the_types_of_its_record_type(db) -> None:
    binder = create_user(
        NewUser(record_type="contact", last_name="Binder & Co", primary_id="C0002", phone=PHONE,
                phone_type="payment_phone", email="orders@binder.example", email_type="order"),
        admin(db),
        db.organization,
    )  # fmt: skip
    assert Phone.get(Phone.person == binder.person_id).phone_type == "payment_phone"
    with pytest.raises(ValidationError) as err:
        create_user(
            NewUser(record_type="public", first_name="Anna", last_name="Keller",
                    primary_id="P0009", user_group="PUBLIC", email="a@example.org",
                    email_type="claim", phone=PHONE, phone_type="returns_fax"),
            admin(db),
            db.organization,
        )  # fmt: skip
    assert err.value.errors == {
        "email_type": "is for contact records only",
        "phone_type": "is for contact records only",
    }


# --- A phone for contacts -------------------------------------------------------------------------


def test_a_phone_is_mandatory_for_contacts_by_default(db) -> None:
    assert "phone" in Settings().mandatory_fields["contact"]
    with pytest.raises(ValidationError) as err:
        create_user(NewUser(record_type="contact", last_name="Binder", primary_id="C0003"),
                    admin(db), db.organization)  # fmt: skip
    assert "phone" in err.value.errors
    contact = user(db, "C0001", "contact")
    only = Phone.get(Phone.person == contact.person_id)
    with pytest.raises(Refused) as refusal:
        delete_row(Kind.PHONE, contact.id, only.id, contact.version, admin(db))
    assert "last phone number" in refusal.value.message
    # The setting decides: without it, a contact may go without a phone.
    set_setting("mandatory_fields", {**Settings().mandatory_fields,
                                     "contact": ["last_name", "primary_id"]})  # fmt: skip
    delete_row(Kind.PHONE, contact.id, only.id, contact.version, admin(db))
    assert not Phone.select().where(Phone.person == contact.person_id).exists()


# --- No Identifiers or Blocks tab -----------------------------------------------------------------


def test_a_contact_has_no_identifiers_or_blocks_to_add(db) -> None:
    assert absent_kinds("contact") == {Kind.IDENTIFIER, Kind.BLOCK}
    assert absent_kinds("public") == absent_kinds("staff") == frozenset()
    contact = user(db, "C0001", "contact")
    for kind, data in (
        (Kind.IDENTIFIER, {"id_type": "BARCODE", "value": "BC-77"}),
        (Kind.BLOCK, {"definition": "GENERAL"}),
    ):
        with pytest.raises(Refused) as err:
            add_row(kind, contact.id, contact.version, data, admin(db))
        assert "Contact records have no" in err.value.message
    assert fresh(contact).version == contact.version
    anna = user(db)
    add_row(Kind.IDENTIFIER, anna.id, anna.version, {"id_type": "BARCODE", "value": "BC-78"},
            admin(db))  # fmt: skip


# --- Not deleted ----------------------------------------------------------------------------------


def test_a_contact_is_not_deleted_nor_purged(db) -> None:
    contact = user(db, "C0001", "contact", expiry_date=future(1), purge_date=future(2))
    reason = "contact records are reserved for vendors and are not deleted"
    assert reason in check_deletion(contact.id, admin(db)).reasons
    with pytest.raises(DeletionRefused) as err:
        delete_user(contact.id, contact.version, admin(db))
    assert reason in err.value.reasons
    report = purge(admin(db), today=future(3))
    assert contact.primary_id in [s.primary_id for s in report.skipped]
    assert Account.get_or_none(Account.id == contact.id) is not None
    anna = user(db)
    assert check_deletion(anna.id, admin(db)).reasons == []


# --- Five address lines ---------------------------------------------------------------------------

FIVE = {f"line{i}": f"Line {i}" for i in range(1, 6)}


def test_an_address_has_five_lines_each_checked(db) -> None:
    contact = user(db, "C0001", "contact")
    saved = add_row(Kind.ADDRESS, contact.id, contact.version,
                    {"address_type": "order", **FIVE, "city": "Bern", "note": "Gate B",
                     "start_date": "2026-01-01", "end_date": "2026-12-31"}, admin(db))  # fmt: skip
    stored = Address.get_by_id(saved.row.id)
    assert [stored.line4, stored.line5] == ["Line 4", "Line 5"]
    assert (stored.note, str(stored.start_date), str(stored.end_date)) == (
        "Gate B", "2026-01-01", "2026-12-31",
    )  # fmt: skip
    set_setting("address_line_regex", r"^[A-Za-z0-9 ]*$")
    with pytest.raises(ValidationError) as err:
        bad = {"address_type": "work", "line1": "Main 1", "line5": "Tür #5"}
        add_row(Kind.ADDRESS, contact.id, saved.version, bad, admin(db))
    assert list(err.value.errors) == ["line5"]


def _export(fmt: str) -> str:
    out = io.StringIO()
    export_users(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "name"), [
    ("json", "users.json"), ("alma-xml", "users.xml"), ("alma-json", "alma.json"),
    ("rero-json", "rero.json"),
])  # fmt: skip
def test_the_five_lines_go_out_and_come_back(
    db, tmp_path: Path, request: pytest.FixtureRequest, fmt: str, name: str
) -> None:
    anna = user(db)
    add_row(Kind.ADDRESS, anna.id, anna.version,
            {"address_type": "home", **FIVE, "city": "Bern", "country": "CH",
             "preferred": True}, admin(db))  # fmt: skip
    text = _export(fmt)
    if fmt == "json":
        users = {u["primary_id"]: u for u in json.loads(text)["users"]}
        (address,) = users["P0001"]["addresses"]
        assert [address[f"line{i}"] for i in range(1, 6)] == list(FIVE.values())
    if fmt == "alma-xml":
        assert "<line4>Line 4</line4>" in text and "<line5>Line 5</line5>" in text
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    _empty_database(db, tmp_path, request)
    report = import_file(path, opts())
    assert report.refused == 0, report.summary()
    account = Account.get(Account.primary_id == "P0001")
    (back,) = Address.select().where(Address.person == account.person_id)
    assert [getattr(back, n) for n in FIVE] == list(FIVE.values())
    assert account.record_type == RecordType.PUBLIC
