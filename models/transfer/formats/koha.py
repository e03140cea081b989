"""Koha's borrowers CSV (koha-csv)."""

from __future__ import annotations

import csv
import re
from typing import Any

from models.transfer.formats.common import SourceContext, _bool, _code, _s, local_date

# --- Koha ---------------------------------------------------------------------------------------

_KOHA_GENDER = {"m": "male", "f": "female"}
# Koha's borrowers columns that PatronDesk reads; another column with a value is reported.
KOHA_COLUMNS = frozenset(
    {"cardnumber", "surname", "firstname", "middle_name", "preferred_name", "othernames"}
    | {"title", "userid", "dateofbirth", "dateexpiry", "dateenrolled", "sex", "lang"}
    | {"email", "emailpro", "B_email", "phone", "mobile", "phonepro", "fax", "B_phone"}
    | {"smsalertnumber", "streetnumber", "streettype", "address", "address2", "city", "state"}
    | {"zipcode", "country", "B_streetnumber", "B_streettype", "B_address", "B_address2"}
    | {"B_city", "B_state", "B_zipcode", "B_country", "borrowernotes", "opacnote"}
    | {"contactnote", "gonenoaddress", "lost", "debarred", "debarredcomment", "categorycode"}
    | {"branchcode", "password", "sort1", "sort2", "patron_attributes"}
)
# Koha's other borrowers columns (and its import's guarantor columns): no home in PatronDesk,
# reported when they hold a value. A column in neither list is not Koha's (a misspelling).
KOHA_UNMAPPED = frozenset(
    {"borrowernumber", "initials", "pronouns", "password_expiration_date", "date_renewed"}
    | {"contactname", "contactfirstname", "contacttitle", "relationship", "secret"}
    | {"auth_method", "flags", "altcontactfirstname", "altcontactsurname"}
    | {"altcontactaddress1", "altcontactaddress2", "altcontactaddress3", "altcontactstate"}
    | {"altcontactzipcode", "altcontactcountry", "altcontactphone", "sms_provider_id"}
    | {"privacy", "privacy_guarantor_fines", "privacy_guarantor_checkouts"}
    | {"checkprevcheckout", "updated_on", "lastseen", "login_attempts", "overdrive_auth_token"}
    | {"anonymized", "autorenew_checkouts", "primary_contact_method", "protected"}
    | {"guarantor_id", "guarantor_relationship"}
)
KOHA_SORT = (("sort1", ("SORT1", "Koha sort 1")), ("sort2", ("SORT2", "Koha sort 2")))
KOHA_ATTRIBUTE = ("ATTRIBUTE", "Patron attribute")


def _koha_attributes(cell: str) -> list[str]:
    """Koha's patron_attributes cell ("CODE:value,CODE:value", values quoted as CSV when they
    hold a comma) as note texts "CODE: value"."""
    out = []
    for item in next(csv.reader([cell]), []):
        code, sep, value = item.partition(":")
        if sep and code.strip() and value.strip():
            out.append(f"{code.strip()}: {value.strip()}")
        elif item.strip():
            out.append(item.strip())
    return out


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _koha_line(row: dict, prefix: str = "") -> str:
    parts = [row.get(f"{prefix}streetnumber"), row.get(f"{prefix}streettype")]
    parts.append(row.get(f"{prefix}address"))
    return " ".join(_s(p) for p in parts if _s(p))


def map_koha(row: dict, label: str, ctx: SourceContext) -> dict:
    g = row.get
    warnings: list[tuple[str, str]] = []
    general: dict[str, Any] = {
        "first_name": _s(g("firstname")),
        "last_name": _s(g("surname")),
        "title": _s(g("title")),
        "birth_date": local_date(g("dateofbirth"), ctx, "dateofbirth", warnings),
        "expiry_date": local_date(g("dateexpiry"), ctx, "dateexpiry", warnings),
        "gender": _KOHA_GENDER.get(_s(g("sex")).lower(), _s(g("sex"))),
    }
    preferred = _s(g("preferred_name")) or _s(g("othernames"))
    if "preferred_name" in row or "othernames" in row:
        general["preferred_first_name"] = "" if preferred == general["first_name"] else preferred
    if _s(g("userid")):
        general["username"] = _s(g("userid"))
    if "middle_name" in row:
        general["middle_name"] = _s(g("middle_name"))
    language = _s(g("lang")).split("-")[0]  # Koha's "fr-FR"; "default" is the library's
    if language and language.lower() != "default":
        general["preferred_language"] = general["comm_language"] = language
    emails = [
        {"address": _s(g(col)), "email_type": kind}
        for col, kind in (("email", "personal"), ("emailpro", "work"), ("B_email", "alternative"))
        if _s(g(col))
    ]
    phones = [
        {"number": _s(g(col)), "phone_type": kind}
        for col, kind in (
            ("phone", "home"),
            ("mobile", "mobile"),
            ("phonepro", "office"),
            ("fax", "office_fax"),
            ("B_phone", "home"),
        )
        if _s(g(col))
    ]
    sms = _s(g("smsalertnumber"))
    if sms:
        same = [p for p in phones if _digits(p["number"]) == _digits(sms)]
        if same:
            same[0]["preferred_sms"] = True
        else:
            phones.append({"number": sms, "phone_type": "mobile", "preferred_sms": True})
    addresses = []
    main = {
        "address_type": "home",
        "line1": _koha_line(row),
        "line2": _s(g("address2")),
        "city": _s(g("city")),
        "state": _s(g("state")),
        "postal_code": _s(g("zipcode")),
        "country": _s(g("country")),
        "preferred": True,
    }
    if any(main[k] for k in ("line1", "line2", "city", "postal_code", "country")):
        addresses.append(main)
    alternate = {
        "address_type": "alternative",
        "line1": _koha_line(row, "B_"),
        "line2": _s(g("B_address2")),
        "city": _s(g("B_city")),
        "state": _s(g("B_state")),
        "postal_code": _s(g("B_zipcode")),
        "country": _s(g("B_country")),
    }
    if any(alternate[k] for k in ("line1", "line2", "city", "postal_code", "country")):
        addresses.append(alternate)
    notes = []
    for col, viewable in (("borrowernotes", False), ("opacnote", True), ("contactnote", False)):
        if _s(g(col)):
            notes.append(
                {"note_type": ("GENERAL", "General"), "text": _s(g(col)), "user_viewable": viewable}
            )
    notes.extend(
        {"note_type": KOHA_ATTRIBUTE, "text": text}
        for text in _koha_attributes(g("patron_attributes") or "")
    )
    # Koha's sort1 and sort2 are statistical categories.
    statistics = [
        {"category": _code(g(col)), "category_type": kind} for col, kind in KOHA_SORT if _s(g(col))
    ]
    blocks = []
    if _bool(_s(g("gonenoaddress")) or "0"):
        blocks.append({"definition": ("ADDRESS", "Address unknown")})
    if _bool(_s(g("lost")) or "0"):
        blocks.append({"definition": ("LOST_CARD", "Lost library card")})
    debarred = local_date(g("debarred"), ctx, "debarred", warnings)
    if debarred:
        blocks.append(
            {
                "definition": ("GENERAL", "General block"),
                "expiry_date": "" if debarred.startswith("9999") else debarred,
                "note": _s(g("debarredcomment")),
            }
        )
    cand = {
        "label": label,
        "primary_id": _s(g("cardnumber")),
        "general": general,
        "codes": {
            "user_group": _code(g("categorycode")),
            "campus": _code(g("branchcode")),
        },
        # Koha's import takes the password as plain text and hashes it: so does PatronDesk
        # (a value that looks like a hash is a password all the same).
        "password": _s(g("password")),
        "plain_password": True,
        "emails": emails,
        "phones": phones,
        "addresses": addresses,
        "notes": notes,
        "blocks": blocks,
        "statistics": statistics,
        "enrolled": local_date(g("dateenrolled"), ctx, "dateenrolled", warnings),
    }
    if warnings:
        cand["warnings"] = warnings
    no_home = [k for k, v in row.items() if k and k not in KOHA_COLUMNS and _s(v)]
    if no_home:
        cand["no_home"] = no_home
    return cand
