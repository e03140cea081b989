"""How each kind of row of User Details is shown and typed: the columns of its table and the
widgets of its form. The rules behind them are in `models.users.rows`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from models.config.codes import code_options, library_options
from models.enums import AddressType, EmailType, PhoneType, Role, Status
from models.users.contact_types import ENUMS, allowed_types


def _enum(enum) -> Callable[[int], list[tuple[str, str]]]:
    return lambda _org: [(m.value.replace("_", " ").capitalize(), m.value) for m in enum]


def _codes(table: str) -> Callable[[int], list[tuple[str, str]]]:
    return lambda org: code_options(table, org)


def _libraries(org: int) -> list[tuple[str, str]]:
    return [("Institution (every library)", ""), *library_options(org)]


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str = "text"  # text | bool | date | choice | secret
    options: Callable[[int], list[tuple[str, str]]] | None = None
    default: object = None  # the value of a new row
    named: bool = False  # its column shows the option's name, not the value stored


@dataclass(frozen=True)
class RowKind:
    kind: str  # models.users.rows.Kind value
    title: str
    columns: tuple[tuple[str, str, int], ...]  # (label, field, width)
    form: tuple[FormField, ...]
    can_activate: bool = False


OWNER = FormField("owner", "Owner", "choice", _libraries)

KINDS: dict[str, RowKind] = {
    "email": RowKind(
        "email",
        "Email",
        (("Address", "address", 34), ("Type", "email_type", 11), ("Pref.", "preferred", 5),
         ("Ext.", "external", 4), ("Description", "description", 20)),
        (FormField("address", "Email address"),
         FormField("email_type", "Type", "choice", _enum(EmailType), "personal"),
         FormField("preferred", "Preferred", "bool"),
         FormField("description", "Description")),
    ),
    "phone": RowKind(
        "phone",
        "Phone",
        (("Number", "number", 20), ("Type", "phone_type", 11), ("Pref.", "preferred", 5),
         ("SMS", "preferred_sms", 4), ("Ext.", "external", 4)),
        (FormField("number", "Phone number"),
         FormField("phone_type", "Type", "choice", _enum(PhoneType), "mobile"),
         FormField("preferred", "Preferred", "bool"),
         FormField("preferred_sms", "Preferred for SMS", "bool")),
    ),
    "address": RowKind(
        "address",
        "Address",
        (("Type", "address_type", 11), ("Address", "line1", 26), ("Postal code", "postal_code", 11),
         ("City", "city", 16), ("Ctry", "country", 4), ("Pref.", "preferred", 5)),
        (FormField("address_type", "Type", "choice", _enum(AddressType), "home"),
         FormField("line1", "Address line 1"), FormField("line2", "Address line 2"),
         FormField("line3", "Address line 3"), FormField("line4", "Address line 4"),
         FormField("line5", "Address line 5"), FormField("postal_code", "Postal code"),
         FormField("city", "City"), FormField("state", "State / region"),
         FormField("country", "Country (ISO code, e.g. CH)"),
         FormField("start_date", "Valid from", "date"),
         FormField("end_date", "Valid until", "date"),
         FormField("note", "Note"), FormField("preferred", "Preferred", "bool")),
    ),
    "identifier": RowKind(
        "identifier",
        "Identifiers",
        (("Type", "id_type", 14), ("Value", "value", 24), ("Active", "active", 6),
         ("Ext.", "external", 4), ("Note", "note", 24)),
        (FormField("id_type", "Type", "choice", _codes("identifier_type")),
         FormField("value", "Value"), FormField("note", "Note"),
         FormField("active", "Active", "bool", default=True)),
        can_activate=True,
    ),
    "note": RowKind(
        "note",
        "Notes",
        (("Type", "note_type", 12), ("Text", "text", 38), ("User", "user_viewable", 4),
         ("Pop", "popup", 3), ("Owner", "owner", 10)),
        (FormField("note_type", "Type", "choice", _codes("note_type")), FormField("text", "Text"),
         FormField("user_viewable", "The user may see it", "bool"),
         FormField("popup", "Pop up when the record is opened", "bool"), OWNER),
    ),
    "block": RowKind(
        "block",
        "Blocks",
        (("Block", "definition", 18), ("Expires", "expiry_date", 10), ("Active", "active", 6),
         ("Note", "note", 26), ("Owner", "owner", 10)),
        (FormField("definition", "Block", "choice", _codes("block_definition"), named=True),
         FormField("expiry_date", "Expires (YYYY-MM-DD)", "date"), FormField("note", "Note"),
         OWNER, FormField("active", "Active", "bool", default=True)),
        can_activate=True,
    ),
    "statistic": RowKind(
        "statistic",
        "Statistics",
        (("Category", "category", 24), ("Note", "note", 30), ("Owner", "owner", 12)),
        (FormField("category", "Category", "choice", _codes("stat_category")),
         FormField("note", "Note"), OWNER),
    ),
    "attachment": RowKind(
        "attachment",
        "Attachments",
        (("Name", "name", 28), ("Size", "size", 9), ("Note", "note", 24), ("Owner", "owner", 10)),
        (FormField("path", "File to attach (path)"), FormField("name", "Name (empty: file name)"),
         FormField("note", "Note"), OWNER),
    ),
    "proxy": RowKind(
        "proxy",
        "Proxy for",
        (("Acts for", "target", 30), ("Note", "note", 40)),
        (FormField("target", "Acts for (identifier of the user)"), FormField("note", "Note")),
    ),
    "role": RowKind(
        "role",
        "Roles",
        (("Role", "role", 30), ("Scope", "scope", 14), ("Status", "status", 8),
         ("Expires", "expiry_date", 10)),
        (FormField("role", "Role", "choice", _enum(Role), named=True),
         FormField("scope", "Scope", "choice", _libraries),
         FormField("status", "Status", "choice", _enum(Status), "active"),
         FormField("expiry_date", "Expires (YYYY-MM-DD)", "date")),
        can_activate=True,
    ),
}  # fmt: skip


def for_record_type(spec: RowKind, record_type: str) -> RowKind:
    """An email, phone or address form offering only the types this record type may use (a
    contact's claim and order types, no contact's school email), an identifier form only the
    identifier types that apply to it (Alma: "This list may be different for staff and public
    users"; `models.config.codes.applies_to`); other kinds as they are."""
    if spec.kind == "identifier":

        def types(org: int) -> list[tuple[str, str]]:
            return code_options("identifier_type", org, record_type=record_type)

        form = tuple(replace(f, options=types) if f.name == "id_type" else f for f in spec.form)
        return replace(spec, form=form)
    if spec.kind not in ENUMS:
        return spec
    allowed = allowed_types(spec.kind, record_type)

    def options(_org: int) -> list[tuple[str, str]]:
        return [(value.replace("_", " ").capitalize(), value) for value in allowed]

    name = f"{spec.kind}_type"
    form = tuple(replace(f, options=options) if f.name == name else f for f in spec.form)
    return replace(spec, form=form)


def file_size(size: int) -> str:
    """A size with its unit: "1 byte", "512 bytes", "2.5 KB", "1.2 MB"."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return "1 byte" if size == 1 else f"{size} bytes"


def display(value: object, field: str = "") -> str:
    """A stored value as a table cell (`field`: the column's field; a size gets its unit)."""
    if field == "size" and isinstance(value, int) and not isinstance(value, bool):
        return file_size(value)
    if value is True:
        return "✓"
    if value in (False, None):
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    return str(value)
