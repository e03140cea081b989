"""The personal-information letter's attachment: everything held about a user, as JSON and XML.

One document per account (the person's data and this organization's account with every row
that hangs off it), built from the tables so a column added later is included without a change
here. Secrets (password and PIN hashes) and bookkeeping keys are left out; every other column
is in, internal notes included: the letter answers a person's right of access, and the record
is theirs (Alma's "Patron personal information mail" sends "the complete record"), within the
library scope of whoever sends it (library independence: the files stay on the record).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import xml.etree.ElementTree as ET
from typing import Any

from peewee import ForeignKeyField, Model

from models.access.scope import EVERY_LIBRARY, LibraryScope
from models.store.tables import (
    Account,
    Address,
    Attachment,
    Block,
    Email,
    Fee,
    FeeTransaction,
    Identifier,
    Letter,
    Loan,
    Note,
    Person,
    PersonPhoto,
    Phone,
    ProxyFor,
    RoleAssignment,
    Statistic,
)

# Never in the document: secrets, and columns that only serve indexes or search.
LEFT_OUT = frozenset(
    {
        "password_hash",
        "pin_hash",
        "code_hash",
        "username_key",
        "username_skeleton",
        "email_key",
        "primary_id_key",
        "value_key",
        "address_key",
        "sort_name",
        "search_text",
        "name_sound_key",
        "data",  # attachment content: listed by name and size, not copied into the letter
        "body",  # letters: listed by subject and date
        "once_key",
    }
)
# Foreign keys shown by a readable name instead of an id.
_NAMED = ("code", "name", "primary_id", "username")


def _value(row: Model, field) -> Any:  # noqa: ANN001
    if isinstance(field, ForeignKeyField):
        target = getattr(row, field.name)
        if target is None:
            return None
        for attr in _NAMED:
            if hasattr(target, attr):
                return getattr(target, attr)
        return target.id
    value = getattr(row, field.name)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return len(bytes(value))
    return value


def _row(row: Model, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        f.name: _value(row, f)
        for f in row._meta.sorted_fields
        if f.name not in LEFT_OUT and f.name not in skip
    }


def _rows(query, skip: tuple[str, ...]) -> list[dict[str, Any]]:  # noqa: ANN001
    return [_row(r, skip) for r in query]


def record_document(
    account: Account, now: dt.datetime, scope: LibraryScope = EVERY_LIBRARY
) -> dict[str, Any]:
    """The whole record of one account as plain data (JSON-ready), with when it was made; of
    the rows owned by a library (notes, blocks, statistics, fees, attachments), those `scope`
    sees (the sender's: `models.mail.letters.queue_personal_information`)."""
    person: Person = account.person
    by_person = ("person",)
    by_account = ("account",)
    fees = list(
        Fee.select().where((Fee.account == account) & scope.condition(Fee.owner)).order_by(Fee.id)
    )
    return {
        "generated_at": now.isoformat(),
        "person": _row(person),
        "emails": _rows(Email.select().where(Email.person == person).order_by(Email.id), by_person),
        "phones": _rows(Phone.select().where(Phone.person == person).order_by(Phone.id), by_person),
        "addresses": _rows(
            Address.select().where(Address.person == person).order_by(Address.id), by_person
        ),
        "account": _row(account, ("person",)),
        "identifiers": _rows(
            Identifier.select().where(Identifier.account == account).order_by(Identifier.id),
            by_account,
        ),
        "roles": _rows(
            RoleAssignment.select().where(RoleAssignment.account == account), by_account
        ),
        "notes": _rows(
            Note.select()
            .where((Note.account == account) & scope.condition(Note.owner))
            .order_by(Note.id),
            by_account,
        ),
        "blocks": _rows(
            Block.select()
            .where((Block.account == account) & scope.condition(Block.owner))
            .order_by(Block.id),
            by_account,
        ),
        "statistics": _rows(
            Statistic.select().where(
                (Statistic.account == account) & scope.condition(Statistic.owner)
            ),
            by_account,
        ),
        "proxy_for": _rows(ProxyFor.select().where(ProxyFor.account == account), by_account),
        "loans": _rows(Loan.select().where(Loan.account == account).order_by(Loan.id), by_account),
        "fees": [
            {
                **_row(fee, by_account),
                "transactions": _rows(
                    FeeTransaction.select()
                    .where(FeeTransaction.fee == fee)
                    .order_by(FeeTransaction.id),
                    ("fee",),
                ),
            }
            for fee in fees
        ],
        "attachments": _rows(
            Attachment.select()
            .where((Attachment.account == account) & scope.condition(Attachment.owner))
            .order_by(Attachment.id),
            by_account,
        ),
        "letters": _rows(
            Letter.select().where(Letter.account == account).order_by(Letter.id), by_account
        ),
        "photo": _photo(person.id),
    }


def _photo(person_id: int) -> dict[str, Any] | None:
    """The person's photo as stored (a JPEG without metadata), its bytes in base64: the
    record is theirs, their face included."""
    photo = PersonPhoto.get_or_none(PersonPhoto.person == person_id)
    if photo is None:
        return None
    return {
        "mime_type": photo.mime_type,
        "width": photo.width,
        "height": photo.height,
        "created_by": photo.created_by,
        "created_at": photo.created_at.isoformat(),
        "data": base64.b64encode(bytes(photo.data)).decode("ascii"),
    }


def to_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def _xml(parent: ET.Element, tag: str, value: Any) -> None:
    element = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, item in value.items():
            _xml(element, key, item)
    elif isinstance(value, list):
        singular = tag[:-1] if tag.endswith("s") else "item"
        if tag == "addresses":
            singular = "address"
        elif tag == "proxy_for":
            singular = "proxy"
        for item in value:
            _xml(element, singular, item)
    elif value is None:
        element.set("null", "true")
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def to_xml(document: dict[str, Any]) -> bytes:
    """The same document as XML: one element per field, lists as repeated elements."""
    root = ET.Element("user_record")
    for key, value in document.items():
        _xml(root, key, value)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
