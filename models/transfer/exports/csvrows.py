"""The `csv` export's row of one user (`models.transfer.formats.CSV_COLUMNS`)."""

from __future__ import annotations

from typing import Any

from models.transfer.formats import CSV_COLUMNS, formula_safe, join_items


def _csv_row(rec: dict) -> list[str]:
    def typed(kind: str, value: str) -> str:
        return f"{kind}:{value}" if kind else f":{value}"

    def flags(**on: bool) -> list[str]:
        return [name for name, value in on.items() if value]

    def keyed(**values: Any) -> list[str]:
        return [f"{name}={value}" for name, value in values.items() if value]

    emails = sorted(rec["emails"], key=lambda e: not e["preferred"])
    phones = sorted(rec["phones"], key=lambda e: not e["preferred"])
    address = next(iter(sorted(rec["addresses"], key=lambda a: not a["preferred"])), None)
    values: dict[str, Any] = dict(rec)
    values["password"] = ""
    # Multi-valued cells: "value;attribute;..." (README "PatronDesk CSV"): statuses, expiry
    # dates, owner libraries and role scopes travel with their value.
    values["emails"] = join_items(
        [
            (typed(e["email_type"], e["address"]), keyed(description=e["description"]))
            for e in emails
        ]
    )
    values["phones"] = join_items(
        [(typed(x["phone_type"], x["number"]), flags(sms=x["preferred_sms"])) for x in phones]
    )
    values["identifiers"] = join_items(
        [
            (
                typed(x["id_type"], x["value"]),
                flags(inactive=not x["active"]) + keyed(note=x["note"]),
            )
            for x in rec["identifiers"]
            if not x["is_primary"]
        ]
    )
    values["notes"] = join_items(
        [
            (
                typed(x["note_type"], x["text"]),
                flags(viewable=x["user_viewable"], popup=x["popup"]) + keyed(owner=x["owner"]),
            )
            for x in rec["notes"]
        ]
    )
    values["statistics"] = join_items(
        [
            (x["category"], keyed(type=x["category_type"], owner=x["owner"], note=x["note"]))
            for x in rec["statistics"]
        ]
    )
    values["blocks"] = join_items(
        [
            (
                typed(x["definition"], x["note"]),
                flags(inactive=not x["active"]) + keyed(until=x["expiry_date"], owner=x["owner"]),
            )
            for x in rec["blocks"]
        ]
    )
    values["roles"] = join_items(
        [
            (
                x["role"] + (f"@{x['scope']}" if x["scope"] else ""),
                flags(inactive=x["status"] != "active") + keyed(until=x["expiry_date"]),
            )
            for x in rec["roles"]
        ]
    )
    a = address or {}
    values.update(
        {
            "address_type": a.get("address_type", ""),
            "address_line1": a.get("line1", ""),
            "address_line2": a.get("line2", ""),
            "address_line3": a.get("line3", ""),
            "city": a.get("city", ""),
            "state": a.get("state", ""),
            "postal_code": a.get("postal_code", ""),
            "country": a.get("country", ""),
        }
    )
    out = []
    for column in CSV_COLUMNS:
        v = values.get(column)
        if isinstance(v, bool):
            v = "true" if v else "false"
        # Formula-safe (OWASP CSV injection): the import takes the prefix away again.
        out.append("" if v is None else formula_safe(str(v)))
    return out
