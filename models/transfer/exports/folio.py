"""The `folio-json` export: its reference data and each user (FOLIO mod-users)."""

from __future__ import annotations

import uuid
from typing import Any

from models.store.tables import (
    Organization,
)
from models.transfer.exports.alma import _preferred_first
from models.transfer.exports.records import _Codes

# FOLIO's reference address types (mod-users ref-data): their UUIDs are the same in every
# tenant that loaded the reference data. PatronDesk's other address types get a UUID of their own.
FOLIO_ADDRESS_TYPE_IDS = {
    "home": "93d3d88d-499b-45d0-9bc7-ac73c3a19880",
    "work": "1c4b225f-f669-4e9b-afcd-ebc0e273a34e",
}
FOLIO_CONTACT_TYPES = {"mail": "001", "email": "002"}  # FOLIO's preferred contact type ids


def _folio_id(org: Organization, kind: str, code: str) -> str:
    """A stable UUID (version 5) for a PatronDesk code or account in FOLIO's UUID fields."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"patrondesk:{org.code}:{kind}:{code}"))


def _folio_date(value: Any) -> str | None:
    return f"{str(value)[:10]}T00:00:00.000+00:00" if value else None


def _folio_reference(org: Organization, codes: _Codes) -> dict:
    """The patron groups and address types the users' UUIDs name (FOLIO's /groups and
    /addresstypes records), written before the users so that the import reads them first."""
    from models.enums import AddressType

    return {
        "usergroups": [
            {"id": _folio_id(org, "group", g.code), "group": g.code, "desc": g.name}
            for g in codes.rows["user_group"].values()
        ],
        "addresstypes": [
            {
                "id": FOLIO_ADDRESS_TYPE_IDS.get(t.value) or _folio_id(org, "addresstype", t),
                "addressType": t.value.title(),
                "desc": f"{t.value.title()} Address",
            }
            for t in AddressType
        ],
    }


def _folio_user(rec: dict, org: Organization) -> dict:
    """One FOLIO user record (mod-users' userdata.json): what PatronDesk has a field for in it
    (README's format table); empty values left out."""
    emails = _preferred_first(rec["emails"])
    phones = _preferred_first(rec["phones"])
    mobile = [p["number"] for p in phones if p["phone_type"] == "mobile"]
    other = [p["number"] for p in phones if p["phone_type"] != "mobile"]
    barcodes = [
        i["value"]
        for i in rec["identifiers"]
        if i["id_type"] == "BARCODE" and i["active"] and not i["is_primary"]
    ]
    addresses = []
    for a in rec["addresses"]:
        address = {
            "addressTypeId": FOLIO_ADDRESS_TYPE_IDS.get(a["address_type"])
            or _folio_id(org, "addresstype", a["address_type"]),
            "addressLine1": a["line1"],
            # FOLIO has two lines: the third to fifth are kept at the end of the second.
            "addressLine2": ", ".join(
                x for x in (a["line2"], a["line3"], a["line4"], a["line5"]) if x
            ),
            "city": a["city"],
            "region": a["state"],
            "postalCode": a["postal_code"],
            "countryId": a["country"],
        }
        address = {k: x for k, x in address.items() if x}
        address["primaryAddress"] = bool(a["preferred"])
        addresses.append(address)
    personal = {
        "lastName": rec["last_name"],
        "firstName": rec["first_name"],
        "middleName": rec["middle_name"],
        "preferredFirstName": rec["preferred_first_name"],
        "email": emails[0]["address"] if emails else "",
        "phone": other[0] if other else "",
        "mobilePhone": mobile[0] if mobile else "",
        "dateOfBirth": _folio_date(rec["birth_date"]),
    }
    personal = {k: x for k, x in personal.items() if x}
    personal["lastName"] = rec["last_name"]  # required, even empty
    personal["addresses"] = addresses
    personal["preferredContactTypeIds"] = [FOLIO_CONTACT_TYPES.get(rec["comm_channel"], "002")]
    user = {
        "username": rec["username"],
        "id": _folio_id(org, "user", rec["primary_id"]),
        "externalSystemId": rec["primary_id"],
        # The card's number: the first barcode, else the primary id (what FOLIO's barcode
        # became on the way in, and what the desk scans).
        "barcode": barcodes[0] if barcodes else rec["primary_id"],
        "active": rec["status"] == "active",
        "type": "staff" if rec["record_type"] == "staff" else "patron",
        "patronGroup": _folio_id(org, "group", rec["user_group"]) if rec["user_group"] else None,
        "personal": personal,
        "expirationDate": _folio_date(rec["expiry_date"]),
        "enrollmentDate": _folio_date(rec["created_at"]),  # the account's creation, as read
    }
    return {k: x for k, x in user.items() if x not in (None, "")}
