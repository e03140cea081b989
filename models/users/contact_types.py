"""Which email, phone and address types each record type may use (issue 22, item 5; Alma's
Quick User Management: "Claim (contact only)", "Alternative (staff/public only)", "Office fax
(staff/public only)"). A contact record is a vendor's: it has the claim, order, payment and
returns types, which no other record type has, and not the alternative, school and office fax
types of people. The "public only" marks of the manual (school, an alternative address) are not
enforced between staff and public users.

`allowed_types(kind, record_type)` gives a form's choices, `type_problem(...)` the message under
the field when a type does not fit the record type."""

from __future__ import annotations

from enum import StrEnum

from models.enums import AddressType, EmailType, PhoneType, RecordType

ENUMS: dict[str, type[StrEnum]] = {"email": EmailType, "phone": PhoneType, "address": AddressType}

CONTACT_ONLY: dict[str, frozenset[str]] = {
    "email": frozenset({EmailType.CLAIM, EmailType.ORDER, EmailType.PAYMENT, EmailType.RETURNS}),
    "address": frozenset(
        {AddressType.CLAIM, AddressType.ORDER, AddressType.PAYMENT, AddressType.RETURNS}
    ),
    "phone": frozenset(
        {
            PhoneType.CLAIM_FAX,
            PhoneType.CLAIM_PHONE,
            PhoneType.ORDER_FAX,
            PhoneType.PAYMENT_FAX,
            PhoneType.PAYMENT_PHONE,
            PhoneType.RETURNS_FAX,
            PhoneType.RETURNS_PHONE,
        }
    ),
}
NOT_FOR_CONTACTS: dict[str, frozenset[str]] = {
    "email": frozenset({EmailType.ALTERNATIVE, EmailType.SCHOOL}),
    "address": frozenset({AddressType.ALTERNATIVE, AddressType.SCHOOL}),
    "phone": frozenset({PhoneType.OFFICE_FAX}),
}


def is_contact(record_type: str) -> bool:
    return record_type == RecordType.CONTACT


def allowed_types(kind: str, record_type: str) -> list[str]:
    """The types of `kind` ("email", "phone", "address") a record of this type may use, in the
    vocabulary's order."""
    refused = NOT_FOR_CONTACTS[kind] if is_contact(record_type) else CONTACT_ONLY[kind]
    return [m.value for m in ENUMS[kind] if m not in refused]


def type_problem(kind: str, value: str, record_type: str) -> str | None:
    """Why this type does not fit the record type, or None (an unknown type is checked
    elsewhere)."""
    if not value or record_type not in set(RecordType):
        return None
    if is_contact(record_type) and value in NOT_FOR_CONTACTS[kind]:
        return "is not a type for contact records"
    if not is_contact(record_type) and value in CONTACT_ONLY[kind]:
        return "is for contact records only"
    return None
