"""The `alma-xml` and `alma-json` exports' user (Alma's REST and SIS-load schema)."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from models.transfer.exports.records import _Codes


def _x(tag: str, value: Any, desc: str | None = None, **attrs: Any) -> str:
    attributes = "".join(f" {k}={quoteattr(str(v))}" for k, v in attrs.items())
    if desc is not None:
        attributes = f" desc={quoteattr(desc)}" + attributes
    text = "" if value is None else escape(str(value))
    return f"<{tag}{attributes}>{text}</{tag}>"


def _date(tag: str, value: Any, time: bool = False) -> str:
    """An Alma date element (xs:date, or xs:dateTime with `time`), or nothing: the schema has
    no empty date."""
    if not value:
        return ""
    return _x(tag, f"{str(value)[:10]}T00:00:00" if time else str(value)[:10])


# Alma's role type codes (its UserRoles code table); the desc names the role too, and the
# import reads either. PatronDesk's fulfillment services operator has no code known here: it is
# written as FULFILLMENT_SERVICES_OPERATOR with its desc.
ALMA_ROLE_CODES = {
    "patron": "200",
    "user_manager": "21",
    "user_administrator": "50",
    "circulation_desk_operator": "32",
    "circulation_desk_manager": "221",
}


def _extension(**values: Any) -> str:
    """PatronDesk's fields that Alma's schema has no element for, as a processing instruction
    (`<?patrondesk name="value" ...?>`): Alma and schema validators skip it, PatronDesk's import
    reads it back (`models.transfer.formats.alma_extension`). Empty values are left out."""
    items = []
    for name, value in values.items():
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        text = escape(str(value), {'"': "&quot;", "\n": "&#10;", "\r": "&#13;"})
        items.append(f'{name}="{text}"')
    return f"<?patrondesk {' '.join(items)}?>" if items else ""


def _alma_user(rec: dict, codes: _Codes) -> str:
    """One `<user>` valid against Alma's rest_user.xsd: empty dates and flags left out, dates as
    xs:date (a block's expiry as xs:dateTime), Alma's role codes, no empty <scope>. What Alma
    has no element for travels in `<?patrondesk ...?>` instructions (`_extension`)."""

    def b(v: bool) -> str:
        return "true" if v else "false"

    def group_name(table: str, code: str) -> str:
        for row in codes.rows[table].values():
            if row.code == code:
                return row.name
        return ""

    parts = [
        "<user>",
        _extension(
            username=rec["username"],
            letters_opt_in=rec["letters_opt_in"],
            letter_general=rec["letter_general"],
            letter_expiry_reminder=rec["letter_expiry_reminder"],
            comm_channel=rec["comm_channel"],
            comm_language=rec["comm_language"],
            additional_email=rec["additional_email"],
            keep_history=rec["keep_history"],
            # Several, comma-separated (Alma's schema has no element for them).
            purchase_request_libraries=",".join(rec["purchase_request_libraries"]),
            # An account with no status date (Alma's own <status_date/>): none is written.
            no_status_date=not rec["status_date"] or None,
            # No expiry: said, else the import would give the group's registration period.
            no_expiry_date=not rec["expiry_date"] or None,
        ),
        _x("record_type", rec["record_type"].upper(), rec["record_type"].title()),
        _x("primary_id", rec["primary_id"]),
        _x("first_name", rec["first_name"]),
        _x("middle_name", rec["middle_name"]),
        _x("last_name", rec["last_name"]),
        _x("user_title", rec["title"], ""),
        _x("job_category", rec["job_category"], group_name("job_category", rec["job_category"])),
        _x("job_description", rec["job_description"]),
        _x("gender", rec["gender"].upper(), ""),
        _x("user_group", rec["user_group"], group_name("user_group", rec["user_group"])),
        _x("campus_code", rec["campus"], group_name("campus", rec["campus"])),
        _x("web_site_url", rec["website"]),
        _x("cataloger_level", rec["cataloger_level"], ""),
        _x("preferred_language", rec["preferred_language"], ""),
        _date("birth_date", rec["birth_date"]),
        _date("expiry_date", rec["expiry_date"]),
        _date("purge_date", rec["purge_date"]),
        _x("account_type", rec["account_type"].upper(), rec["account_type"].title()),
        _x("external_id", rec["owning_system"]),
        # Alma: "TRUE" asks for a new password at the next login (four characters at most).
        _x("force_password_change", "TRUE") if rec["force_password_change"] else "",
        _x("status", rec["status"].upper(), rec["status"].title()),
        _date("status_date", rec["status_date"]),
        "<contact_info><addresses>",
    ]
    for a in rec["addresses"]:
        seg = "External" if a["external"] else "Internal"
        parts.append(f'<address preferred="{b(a["preferred"])}" segment_type="{seg}">')
        for tag, key in (
            ("line1", "line1"),
            ("line2", "line2"),
            ("line3", "line3"),
            ("line4", "line4"),
            ("line5", "line5"),
            ("city", "city"),
            ("state_province", "state"),
            ("postal_code", "postal_code"),
        ):
            parts.append(_x(tag, a[key]))
        parts.append(_x("country", a["country"], ""))
        parts.append(_x("address_note", a["note"]))
        parts.append(_date("start_date", a["start_date"]))
        parts.append(_date("end_date", a["end_date"]))
        parts.append(
            "<address_types>" + _x("address_type", a["address_type"], "") + "</address_types>"
        )
        parts.append("</address>")
    parts.append("</addresses><emails>")
    for e in rec["emails"]:
        seg = "External" if e["external"] else "Internal"
        parts.append(f'<email preferred="{b(e["preferred"])}" segment_type="{seg}">')
        parts.append(_x("email_address", e["address"]))
        parts.append(_x("description", e["description"]))
        parts.append("<email_types>" + _x("email_type", e["email_type"], "") + "</email_types>")
        parts.append("</email>")
    parts.append("</emails><phones>")
    for x in rec["phones"]:
        seg = "External" if x["external"] else "Internal"
        parts.append(
            f'<phone preferred="{b(x["preferred"])}" preferred_sms="{b(x["preferred_sms"])}" '
            f'segment_type="{seg}">'
        )
        parts.append(_x("phone_number", x["number"]))
        parts.append("<phone_types>" + _x("phone_type", x["phone_type"], "") + "</phone_types>")
        parts.append("</phone>")
    parts.append("</phones></contact_info>")
    parts.append(_x("pref_first_name", rec["preferred_first_name"]))
    parts.append(_x("pref_middle_name", rec["preferred_middle_name"]))
    parts.append(_x("pref_last_name", rec["preferred_last_name"]))
    parts.append(_x("is_researcher", b(rec["researcher"])))
    if rec["resource_sharing_libraries"]:  # Alma's rs_libraries: one rs_library each
        parts.append("<rs_libraries>")
        for library in rec["resource_sharing_libraries"]:
            parts.append(
                "<rs_library>"
                + _x("code", library, group_name("library", library))
                + "</rs_library>"
            )
        parts.append("</rs_libraries>")
    parts.append("<user_identifiers>")
    for x in rec["identifiers"]:
        if x["is_primary"]:
            continue
        seg = "External" if x["external"] else "Internal"
        parts.append(f'<user_identifier segment_type="{seg}">')
        parts.append(_x("id_type", x["id_type"], group_name("identifier_type", x["id_type"])))
        parts.append(_x("value", x["value"]))
        parts.append(_x("note", x["note"]))
        parts.append(_x("status", "ACTIVE" if x["active"] else "INACTIVE"))
        parts.append("</user_identifier>")
    parts.append("</user_identifiers><user_roles>")
    for r in rec["roles"]:
        parts.append("<user_role>")
        parts.append(_x("status", r["status"].upper(), r["status"].title()))
        if r["scope"]:  # no scope: every library
            parts.append(_x("scope", r["scope"], group_name("library", r["scope"])))
        code = ALMA_ROLE_CODES.get(r["role"], r["role"].upper())
        parts.append(_x("role_type", code, r["role"].replace("_", " ").title()))
        parts.append(_date("expiry_date", r["expiry_date"]))
        parts.append("</user_role>")
    parts.append("</user_roles><user_blocks>")
    for x in rec["blocks"]:
        seg = "External" if x["external"] else "Internal"
        parts.append(f'<user_block segment_type="{seg}">')
        parts.append(_extension(owner=x["owner"]))
        parts.append(
            _x(
                "block_description",
                x["definition"],
                group_name("block_definition", x["definition"]),
            )
        )
        parts.append(_x("block_status", "ACTIVE" if x["active"] else "INACTIVE"))
        parts.append(_x("block_note", x["note"]))
        parts.append(_date("expiry_date", x["expiry_date"], time=True))
        parts.append("</user_block>")
    parts.append("</user_blocks><user_notes>")
    for x in rec["notes"]:
        seg = "External" if x["external"] else "Internal"
        parts.append(f'<user_note segment_type="{seg}">')
        parts.append(_extension(owner=x["owner"]))
        parts.append(_x("note_type", x["note_type"], group_name("note_type", x["note_type"])))
        parts.append(_x("note_text", x["text"]))
        parts.append(_x("user_viewable", b(x["user_viewable"])))
        parts.append(_x("popup_note", b(x["popup"])))
        parts.append("</user_note>")
    parts.append("</user_notes><user_statistics>")
    for x in rec["statistics"]:
        seg = "External" if x["external"] else "Internal"
        parts.append(f'<user_statistic segment_type="{seg}">')
        parts.append(_extension(owner=x["owner"]))
        parts.append(
            _x("statistic_category", x["category"], group_name("stat_category", x["category"]))
        )
        parts.append(
            _x(
                "category_type",
                x["category_type"],
                group_name("stat_category_type", x["category_type"]),
            )
        )
        parts.append(_x("statistic_note", x["note"]))
        parts.append("</user_statistic>")
    parts.append("</user_statistics></user>")
    return "".join(parts)


def _code_name(codes: _Codes, table: str, code: str) -> str:
    for row in codes.rows[table].values():
        if row.code == code:
            return row.name
    return ""


def _preferred_first(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: not r["preferred"])


def _alma_json_date(value: Any, time: bool = False) -> str | None:
    """Alma's JSON dates: "2023-09-01Z" (a block's expiry "2023-09-01T00:00:00Z"); None: left
    out (an empty date is not one)."""
    if not value:
        return None
    return f"{str(value)[:10]}T00:00:00Z" if time else f"{str(value)[:10]}Z"


def _alma_json_user(rec: dict, codes: _Codes) -> dict:
    """One user in Alma's REST JSON (the fields of `_alma_user`, codes as {"value", "desc"});
    what Alma has no field for goes in a `patrondesk` member, which the import reads back."""

    def v(value: Any, desc: str = "") -> dict:
        return {"value": value, "desc": desc}

    def coded(table: str, code: str) -> dict:
        return v(code, _code_name(codes, table, code))

    def seg(row: dict) -> str:
        return "External" if row["external"] else "Internal"

    def own(**values: Any) -> dict:
        return {k: x for k, x in values.items() if x not in (None, "")}

    user: dict[str, Any] = {
        "record_type": v(rec["record_type"].upper(), rec["record_type"].title()),
        "primary_id": rec["primary_id"],
        "first_name": rec["first_name"],
        "middle_name": rec["middle_name"],
        "last_name": rec["last_name"],
        "user_title": v(rec["title"]),
        "job_category": coded("job_category", rec["job_category"]),
        "job_description": rec["job_description"],
        "gender": v(rec["gender"].upper()),
        "user_group": coded("user_group", rec["user_group"]),
        "campus_code": coded("campus", rec["campus"]),
        "web_site_url": rec["website"],
        "cataloger_level": v(rec["cataloger_level"]),
        "preferred_language": v(rec["preferred_language"]),
        "birth_date": _alma_json_date(rec["birth_date"]),
        "expiry_date": _alma_json_date(rec["expiry_date"]),
        "purge_date": _alma_json_date(rec["purge_date"]),
        "account_type": v(rec["account_type"].upper(), rec["account_type"].title()),
        "external_id": rec["owning_system"],
        "force_password_change": "TRUE" if rec["force_password_change"] else None,
        "status": v(rec["status"].upper(), rec["status"].title()),
        "status_date": _alma_json_date(rec["status_date"]),
        "contact_info": {
            "address": [
                {
                    "preferred": a["preferred"],
                    "segment_type": seg(a),
                    "line1": a["line1"],
                    "line2": a["line2"],
                    "line3": a["line3"],
                    "line4": a["line4"],
                    "line5": a["line5"],
                    "city": a["city"],
                    "state_province": a["state"],
                    "postal_code": a["postal_code"],
                    "country": v(a["country"]),
                    "address_note": a["note"],
                    "start_date": _alma_json_date(a["start_date"]),
                    "end_date": _alma_json_date(a["end_date"]),
                    "address_type": [v(a["address_type"], a["address_type"].title())],
                }
                for a in rec["addresses"]
            ],
            "email": [
                {
                    "preferred": e["preferred"],
                    "segment_type": seg(e),
                    "email_address": e["address"],
                    "description": e["description"],
                    "email_type": [v(e["email_type"], e["email_type"].title())],
                }
                for e in rec["emails"]
            ],
            "phone": [
                {
                    "preferred": x["preferred"],
                    "preferred_sms": x["preferred_sms"],
                    "segment_type": seg(x),
                    "phone_number": x["number"],
                    "phone_type": [v(x["phone_type"], x["phone_type"].replace("_", " ").title())],
                }
                for x in rec["phones"]
            ],
        },
        "pref_first_name": rec["preferred_first_name"],
        "pref_middle_name": rec["preferred_middle_name"],
        "pref_last_name": rec["preferred_last_name"],
        "is_researcher": rec["researcher"],
        "rs_library": [{"code": coded("library", x)} for x in rec["resource_sharing_libraries"]],
        "user_identifier": [
            {
                "segment_type": seg(x),
                "id_type": coded("identifier_type", x["id_type"]),
                "value": x["value"],
                "note": x["note"],
                "status": "ACTIVE" if x["active"] else "INACTIVE",
            }
            for x in rec["identifiers"]
            if not x["is_primary"]
        ],
        "user_role": [
            {
                "status": v(r["status"].upper(), r["status"].title()),
                "role_type": v(
                    ALMA_ROLE_CODES.get(r["role"], r["role"].upper()),
                    r["role"].replace("_", " ").title(),
                ),
                **({"scope": coded("library", r["scope"])} if r["scope"] else {}),
                **({"expiry_date": _alma_json_date(r["expiry_date"])} if r["expiry_date"] else {}),
            }
            for r in rec["roles"]
        ],
        "user_block": [
            {
                "segment_type": seg(x),
                "block_description": coded("block_definition", x["definition"]),
                "block_status": "ACTIVE" if x["active"] else "INACTIVE",
                "block_note": x["note"],
                "expiry_date": _alma_json_date(x["expiry_date"], time=True),
                "patrondesk": own(owner=x["owner"]),
            }
            for x in rec["blocks"]
        ],
        "user_note": [
            {
                "segment_type": seg(x),
                "note_type": coded("note_type", x["note_type"]),
                "note_text": x["text"],
                "user_viewable": x["user_viewable"],
                "popup_note": x["popup"],
                "patrondesk": own(owner=x["owner"]),
            }
            for x in rec["notes"]
        ],
        "user_statistic": [
            {
                "segment_type": seg(x),
                "statistic_category": coded("stat_category", x["category"]),
                "category_type": coded("stat_category_type", x["category_type"]),
                "statistic_note": x["note"],
                "patrondesk": own(owner=x["owner"]),
            }
            for x in rec["statistics"]
        ],
        "patrondesk": own(
            username=rec["username"],
            letters_opt_in=rec["letters_opt_in"],
            letter_general=rec["letter_general"],
            letter_expiry_reminder=rec["letter_expiry_reminder"],
            comm_channel=rec["comm_channel"],
            comm_language=rec["comm_language"],
            additional_email=rec["additional_email"],
            keep_history=rec["keep_history"],
            # Several, comma-separated (Alma's schema has no element for them).
            purchase_request_libraries=",".join(rec["purchase_request_libraries"]),
            # An account with no status date (Alma's own <status_date/>): none is written.
            no_status_date=not rec["status_date"] or None,
            # No expiry: said, else the import would give the group's registration period.
            no_expiry_date=not rec["expiry_date"] or None,
        ),
    }
    # No empty date (Alma reads "" as a date that is not one), no empty extension.
    for rows in (
        [user],
        user["contact_info"]["address"],
        user["user_block"],
        user["user_note"],
        user["user_statistic"],
    ):
        for row in rows:
            for key in [k for k, x in row.items() if x is None or (k == "patrondesk" and not x)]:
                del row[key]
    return user
