"""The `rero-json` export's user and `patron` record (RERO ILS's data/users.json)."""

from __future__ import annotations

from typing import Any

from models.transfer.exports.alma import _preferred_first

RERO_API = "https://bib.rero.ch/api"  # the $ref base of RERO's own data (data/users.json)
# PatronDesk's roles -> RERO ILS's (the import reads them back,
# models.transfer.formats.rero._RERO_ROLES); the circulation desk operator has no RERO role.
RERO_ROLES = {
    "user_administrator": "pro_full_permissions",
    "user_manager": "pro_user_manager",
    "circulation_desk_manager": "pro_circulation_manager",
    "fulfillment_services_operator": "pro_read_only",
}
RERO_GENDERS = ("male", "female", "other")


def _rero_roles(rec: dict) -> tuple[list[str], list[str]]:
    """RERO's roles and libraries of a user: one list of libraries for all the roles, so a role
    is written only where the user holds it in each of those libraries (or in every library);
    an inactive or expiring role is not written (RERO has neither): never widened."""
    roles = [
        r
        for r in rec["roles"]
        if r["role"] in RERO_ROLES and r["status"] == "active" and not r["expiry_date"]
    ]
    libraries = sorted({r["scope"] for r in roles if r["scope"]})
    names = []
    for role in dict.fromkeys(r["role"] for r in roles):
        scopes = {r["scope"] for r in roles if r["role"] == role}
        if not libraries or "" in scopes or scopes >= set(libraries):
            names.append(RERO_ROLES[role])
    return names, libraries


def _rero_language(code: str) -> str:
    """RERO's communication languages are ISO 639-2/B codes (fre, ger, ita, eng)."""
    import pycountry

    language = pycountry.languages.get(alpha_2=code) if len(code) == 2 else None
    if language is None:
        return code
    return getattr(language, "bibliographic", None) or language.alpha_3


def _rero_user(rec: dict, pid: int) -> dict:
    """One RERO ILS user with its `patron` record (README's format table)."""

    def street(a: dict) -> str:
        # RERO's street is a text area: one line per address line, an empty one kept in place.
        lines = (a["line1"], a["line2"], a["line3"], a["line4"], a["line5"])
        return "\n".join(lines).rstrip("\n")

    emails = _preferred_first(rec["emails"])
    phones = _preferred_first(rec["phones"])
    addresses = _preferred_first(rec["addresses"])
    user: dict[str, Any] = {
        "pid": str(pid),
        "first_name": rec["first_name"],
        "last_name": rec["last_name"],
        "birth_date": rec["birth_date"] or "",
        "gender": rec["gender"] if rec["gender"] in RERO_GENDERS else "",
        "username": rec["username"],
        "email": emails[0]["address"] if emails else "",
    }
    if addresses:
        a = addresses[0]
        user.update(street=street(a), postal_code=a["postal_code"], city=a["city"])
    written: list[str] = []
    for key, kind in (
        ("mobile_phone", "mobile"),
        ("home_phone", "home"),
        ("business_phone", "office"),
    ):
        numbers = [p["number"] for p in phones if p["phone_type"] == kind]
        if numbers:
            user[key] = numbers[0]
            written.append(numbers[0])
    others = [p["number"] for p in phones if p["number"] not in written]
    if others:
        user["other_phone"] = others[0]
    user["keep_history"] = bool(rec["keep_history"])
    roles, libraries = _rero_roles(rec)
    if rec["status"] != "active":
        # RERO has no account status: an inactive account comes back active (and blocked,
        # below), so its staff roles are not written: it never comes back with their rights.
        roles, libraries = [], []
    patron = any(r["role"] == "patron" and r["status"] == "active" for r in rec["roles"])
    user["roles"] = (["patron"] if patron else []) + roles
    if libraries:
        user["libraries"] = [{"$ref": f"{RERO_API}/libraries/{code}"} for code in libraries]
    notes = [
        {"type": "public_note" if n["user_viewable"] else "staff_note", "content": n["text"]}
        for n in rec["notes"]
        if n["text"]
    ]
    if notes:
        user["notes"] = notes
    if len(addresses) > 1:
        a = addresses[1]
        second = {"street": street(a), "postal_code": a["postal_code"], "city": a["city"]}
        user["second_address"] = {k: x for k, x in second.items() if x}
    # Every account, a staff member's too: its primary id, expiry and group come back.
    # RERO has no account status: an inactive account is written blocked.
    blocks = [b for b in rec["blocks"] if b["active"]]
    reasons = [b["note"] or b["definition"] for b in blocks]
    if rec["status"] != "active":
        reasons.insert(0, "Inactive account")
    barcodes = [
        i["value"]
        for i in rec["identifiers"]
        if i["id_type"] == "BARCODE" and i["active"] and not i["is_primary"]
    ]
    user["patron"] = {
        "expiration_date": rec["expiry_date"] or "",
        "blocked": bool(reasons),
        "blocked_note": "; ".join(reasons),
        "barcode": [rec["primary_id"], *barcodes],
        "type": (
            {"$ref": f"{RERO_API}/patron_types/{rec['user_group']}"} if rec["user_group"] else ""
        ),
        "communication_channel": rec["comm_channel"],
        "communication_language": _rero_language(rec["comm_language"]),
        "additional_communication_email": rec["additional_email"],
    }
    user["patron"] = {k: x for k, x in user["patron"].items() if x not in ("", None)}
    return {k: x for k, x in user.items() if x != ""}
