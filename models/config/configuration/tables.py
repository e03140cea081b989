"""The configurable tables (models.config.configuration): `TABLES` and how each is described
(`Table`, `ConfigField`), the refusals (`InUse`, `ConfigRefused`) and where an entry is used
(`code_usage`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from peewee import ForeignKeyField

from models.enums import RecordType, Role
from models.errors import PatronDeskError
from models.store.base import BaseModel
from models.store.tables import (
    ALL_TABLES,
    BlockDefinition,
    Campus,
    FeeType,
    IdentifierType,
    JobCategory,
    Library,
    NoteType,
    Organization,
    RoleRule,
    StatCategory,
    StatCategoryType,
    UserGroup,
    UserTitle,
    WaiveReason,
)

CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,49}")
RULE_ROLES = tuple(r for r in Role if r not in (Role.PATRON, Role.USER_ADMINISTRATOR))


class InUse(PatronDeskError):
    """The entry is referred to: it cannot be deleted. `usages` say where."""

    def __init__(self, message: str, usages: list[Usage]) -> None:
        super().__init__(message)
        self.usages = usages


class ConfigRefused(PatronDeskError):
    """The change is not allowed; the message says why and what to do instead."""


# --- Describing the tables ----------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigField:
    name: str
    label: str
    kind: str = "text"  # text | bool | choice | money | record_types | months
    options: Callable[[int], list[tuple[str, str]]] | None = None  # organization id -> choices
    default: Any = None


@dataclass(frozen=True)
class Table:
    key: str  # the name in the TOML file and in tests: "user_groups"
    model: type[BaseModel]
    singular: str  # "user group": for messages
    title: str  # "User groups": for the screen
    fields: tuple[ConfigField, ...]
    columns: tuple[tuple[str, str, int], ...]  # (label, field, width) of the list
    has_code: bool = True


def _codes_of(model: type[BaseModel], *, blank: str) -> Callable[[int], list[tuple[str, str]]]:
    def options(org: int) -> list[tuple[str, str]]:
        rows = model.select().where(model.organization == org).order_by(model.name)
        return [(blank, ""), *((f"{r.name} ({r.code})", r.code) for r in rows)]

    return options


def _libraries(org: int) -> list[tuple[str, str]]:
    rows = Library.select().where(Library.organization == org).order_by(Library.name)
    return [("Every library", ""), *((r.name, r.code) for r in rows)]


def _roles(_org: int) -> list[tuple[str, str]]:
    return [(r.label, r.value) for r in RULE_ROLES]


def _types(_org: int) -> list[tuple[str, str]]:
    return [(r.value.capitalize(), r.value) for r in RecordType]


CODE = ConfigField("code", "Code")
NAME = ConfigField("name", "Name")
DESCRIPTION = ConfigField("description", "Description")
ACTIVE = ConfigField("active", "Active", "bool", default=True)
_BASIC = (CODE, NAME, DESCRIPTION, ACTIVE)
_BASIC_COLUMNS = (("Code", "code", 16), ("Name", "name", 30), ("Active", "active", 6))
# The record types an entry applies to (none: every type): user groups, job categories and
# identifier types (models.config.codes.applies_to).
APPLIES_TO = ConfigField("record_types", "Applies to", "record_types")
_APPLYING = (CODE, NAME, DESCRIPTION, APPLIES_TO, ACTIVE)
_APPLYING_COLUMNS = (("Code", "code", 14), ("Name", "name", 24), ("Applies to", "record_types", 14),
                     ("On", "active", 2))  # fmt: skip


def _simple(key: str, model: type[BaseModel], singular: str, title: str) -> Table:
    return Table(key, model, singular, title, _BASIC, _BASIC_COLUMNS)


TABLES: dict[str, Table] = {
    t.key: t
    for t in (
        Table(
            "organization",
            Organization,
            "organization",
            "Organization",
            (CODE, NAME),
            (("Code", "code", 16), ("Name", "name", 36)),
        ),
        Table(
            "libraries",
            Library,
            "library",
            "Libraries",
            (CODE, NAME, ConfigField("email", "Email for letters sent by post"), ACTIVE),
            (("Code", "code", 10), ("Name", "name", 22), ("Email", "email", 18),
             ("On", "active", 2)),
        ),
        Table(
            "user_groups",
            UserGroup,
            "user group",
            "User groups",
            (CODE, NAME, DESCRIPTION, APPLIES_TO,
             ConfigField("registration_months", "Registration period in months (empty: the "
                         "default expiry setting)", "months", default=""),
             ACTIVE),
            (("Code", "code", 12), ("Name", "name", 20), ("Applies to", "record_types", 14),
             ("Months", "registration_months", 6), ("On", "active", 2)),
        ),
        # Alma: "Mapping Job Categories to User Record Types" (alma-managing-users).
        Table("job_categories", JobCategory, "job category", "Job categories", _APPLYING,
              _APPLYING_COLUMNS),
        _simple("campuses", Campus, "campus", "Campuses"),
        # Alma: identifier types, "This list may be different for staff and public users".
        Table("identifier_types", IdentifierType, "identifier type", "Identifier types",
              _APPLYING, _APPLYING_COLUMNS),
        # Alma's User Titles ("These can be configured by an administrator"): with entries,
        # Title is a choice of the active ones; the name is the text stored (at most 50
        # characters, as a person's title).
        Table("titles", UserTitle, "title", "Titles", (CODE, NAME, ACTIVE), _BASIC_COLUMNS),
        _simple("note_types", NoteType, "note type", "Note types"),
        Table(
            "block_definitions",
            BlockDefinition,
            "block definition",
            "Block definitions",
            (CODE, NAME, DESCRIPTION,
             ConfigField("blocks_loans", "Blocks loans", "bool", default=True),
             ConfigField("blocks_renewals", "Blocks renewals", "bool", default=True),
             ConfigField("blocks_requests", "Blocks requests", "bool", default=True), ACTIVE),
            (("Code", "code", 11), ("Name", "name", 21), ("Loan", "blocks_loans", 4),
             ("Renew", "blocks_renewals", 5), ("Req.", "blocks_requests", 4),
             ("On", "active", 2)),
        ),
        Table(
            "fee_types",
            FeeType,
            "fee type",
            "Fine/fee types",
            (CODE, NAME, DESCRIPTION,
             ConfigField("waivable", "Waivable", "bool", default=True),
             ConfigField("manual", "May be created by hand", "bool", default=True),
             ConfigField("daily_rate", "Overdue fine per day", "money", default="0"),
             ConfigField("library", "Library", "choice", _libraries, default=""), ACTIVE),
            (("Code", "code", 10), ("Name", "name", 16), ("Waiv.", "waivable", 5),
             ("Man.", "manual", 4), ("Per day", "daily_rate", 8), ("Library", "library", 7),
             ("On", "active", 2)),
        ),
        _simple("waive_reasons", WaiveReason, "waive reason", "Waive reasons"),
        _simple(
            "stat_category_types",
            StatCategoryType,
            "statistical category type",
            "Statistical category types",
        ),
        Table(
            "stat_categories",
            StatCategory,
            "statistical category",
            "Statistical categories",
            (ConfigField("category_type", "Type", "choice",
                         _codes_of(StatCategoryType, blank="—")), *_BASIC),
            (("Type", "category_type", 11), ("Code", "code", 10), ("Name", "name", 24),
             ("On", "active", 2)),
        ),
        Table(
            "role_rules",
            RoleRule,
            "role-assignment rule",
            "Role-assignment rules",
            (ConfigField("user_group", "When the user group is", "choice",
                         _codes_of(UserGroup, blank="(not by user group)")),
             ConfigField("job_category", "Or when the job category is", "choice",
                         _codes_of(JobCategory, blank="(not by job category)")),
             ConfigField("role", "Give the role", "choice", _roles), ACTIVE),
            (("User group", "user_group", 14), ("Job category", "job_category", 14),
             ("Role", "role", 20), ("On", "active", 2)),
            has_code=False,
        ),
    )
}  # fmt: skip
TYPE_OPTIONS = _types  # the choices of a record_types field, for the screen

# How other tables are named when an entry is in use: table -> (one, many).
_USED_BY = {
    "account": ("account", "accounts"),
    "role_rule": ("role-assignment rule", "role-assignment rules"),
    "stat_category": ("statistical category", "statistical categories"),
    "role_assignment": ("role", "roles"),
    "fee_transaction": ("fee transaction", "fee transactions"),
    "proxy_for": ("proxy", "proxies"),
    "library": ("library", "libraries"),
    "campus": ("campus", "campuses"),
    "job_category": ("job category", "job categories"),
    "local_override": ("kept local value", "kept local values"),
    # An account's resource sharing or purchase request library (issue 22, item 6d).
    "account_library": (
        "account (resource sharing or purchase request library)",
        "accounts (resource sharing or purchase request libraries)",
    ),
}


def table(key: str) -> Table:
    try:
        return TABLES[key]
    except KeyError:
        raise ValueError(f"unknown configuration table: {key!r}") from None


# --- Where an entry is used ---------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    table: str  # the referring table, e.g. "account"
    field: str  # its foreign key, e.g. "user_group"
    count: int
    detail: str = ""  # the column, when the table refers to the entry in more than one

    def describe(self) -> str:
        one, many = _USED_BY.get(self.table, (self.table.replace("_", " "), ""))
        many = many or f"{one}s"
        text = f"{self.count} {one if self.count == 1 else many}"
        return f"{text} ({self.detail})" if self.detail else text


def code_usage(model: type[BaseModel], entry_id: int) -> list[Usage]:
    """Every table row that refers to the entry, counted per referring column; empty: the
    entry may be deleted. Found through the foreign keys of every table."""
    usages = []
    for other in ALL_TABLES:
        keys = [
            f
            for f in other._meta.sorted_fields
            if isinstance(f, ForeignKeyField) and f.rel_model is model
        ]
        for f in keys:
            count = other.select().where(f == entry_id).count()
            if count:
                detail = f.name.replace("_", " ") if len(keys) > 1 else ""
                usages.append(Usage(other._meta.table_name, f.name, count, detail))
    return usages


def usage_message(t: Table, usages: list[Usage]) -> str:
    where = ", ".join(u.describe() for u in usages)
    if t.key == "organization":
        return f"This organization is in use ({where}): it cannot be deleted."
    return f"This {t.singular} is in use by {where}: deactivate it instead of deleting it."
