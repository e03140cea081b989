"""Configuration of an organization (issue 6; domain.md sections 1 to 3): its own record, its
libraries, code tables and role-assignment rules, edited by User Administrators.

    TABLES                                             the configurable tables, by key
    list_entries(table, organization_id, actor)        -> [Entry] by code (rules: by role)
    entry_values(table, organization_id, entry_id, actor) -> dict in add_entry's input format
    add_entry(table, organization_id, data, actor)     -> the row
    update_entry(table, organization_id, entry_id, data, actor) -> the row
    set_entry_active(table, organization_id, entry_id, active, actor) -> the row
    delete_entry(table, organization_id, entry_id, actor)  (InUse when anything refers to it)
    code_usage(model, entry_id)                        -> [Usage]: where an entry is used

Rules (each raises a typed error the screen shows under its field):
- Every write needs the CONFIGURE right (User Administrator) in the organization concerned;
  an organization's administrators configure that organization only. `actor.account` None is
  the system (the command line's `config import`).
- Codes: 1 to 50 letters, digits, "_", "-" or ".", starting with a letter or digit, unique in
  their table of the organization whatever the case (`find_code` looks them up that way).
  Names: required, unique in their table (statistical categories: within their type), since
  the screens and imports also find an entry by name.
- A code in use cannot be deleted: `code_usage` finds every row of every table that refers to
  it (through any foreign key, so a table added later is covered) and the refusal says where.
  Deactivating is the way to retire an entry in use: it is no longer offered for new records,
  and records keeping it are untouched.
- Libraries: an email address (where letters for users who get mail by post are sent) is
  optional and checked; the last active library of an organization cannot be deactivated or
  deleted. Organizations: only the own one is listed and edited here, and it cannot be
  deactivated; new organizations come from `add_organization` (the command line).
- User groups: the record types a group applies to (none: every type); a change that would
  leave accounts holding the group with a record type it no longer applies to is refused.
- Block definitions block at least one of loans, renewals and requests.
- Fee types: waivable, manual creation, an overdue rate per day (an amount in the currency
  setting, at least 0) and the library they are limited to (none: every library).
- Statistical categories belong to a type of the same organization.
- Role-assignment rules: exactly one of a user group or a job category gives one role, never
  Patron (every account has it) and never User Administrator (administrators are named one by
  one); one rule per source and role. Rules apply when an account is created.
- Every change is audited: one event per changed field, entity = the table ("user_group"),
  entity_id = the entry, no account.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from peewee import ForeignKeyField, fn

from models import audit
from models.access.permissions import Action, authorize
from models.audit import Actor
from models.config.settings import load_settings
from models.enums import RecordType, Role, Source
from models.errors import NotFound, PatronDeskError, PermissionDenied, ValidationError
from models.fees.money import format_money, parse_amount, to_decimal
from models.store.base import BaseModel, database
from models.store.tables import (
    ALL_TABLES,
    Account,
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
    WaiveReason,
)
from models.text import unsafe_problem
from models.users.validation import Problems, check_email, clean_text

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
    kind: str = "text"  # text | bool | choice | money | record_types
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
            (CODE, NAME, DESCRIPTION, ConfigField("record_types", "Applies to", "record_types"),
             ACTIVE),
            (("Code", "code", 12), ("Name", "name", 22), ("Applies to", "record_types", 14),
             ("On", "active", 2)),
        ),
        _simple("job_categories", JobCategory, "job category", "Job categories"),
        _simple("campuses", Campus, "campus", "Campuses"),
        _simple("identifier_types", IdentifierType, "identifier type", "Identifier types"),
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


# --- Reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    id: int
    active: bool
    values: dict[str, Any]  # as entry_values: codes, record type lists, amounts as text


def _check_reader(actor: Actor, organization_id: int) -> None:
    if actor.account is None:
        return
    authorize(actor.account, Action.CONFIGURE)
    if actor.account.organization_id != organization_id:
        raise PermissionDenied(
            Action.CONFIGURE.value,
            "You may not configure another organization: its administrators do.",
        )


def _currency() -> str:
    return load_settings().currency


def _values(t: Table, row: BaseModel, currency: str) -> dict[str, Any]:
    """A row in the input format of `add_entry` (and of the TOML file)."""
    out: dict[str, Any] = {}
    for f in t.fields:
        if f.name == "record_types":
            out[f.name] = [x for x in row.record_types.split(",") if x]
        elif f.name == "daily_rate":
            out[f.name] = str(to_decimal(row.daily_rate_minor, currency))
        elif f.name == "library":
            out[f.name] = row.library.code if row.library_id else ""
        elif f.name == "category_type":
            out[f.name] = row.category_type.code
        elif f.name in ("user_group", "job_category"):
            ref = getattr(row, f.name) if getattr(row, f"{f.name}_id") else None
            out[f.name] = ref.code if ref is not None else ""
        elif f.name == "email":
            out[f.name] = row.email or ""
        else:
            out[f.name] = getattr(row, f.name)
    return out


def _query(t: Table, organization_id: int):  # noqa: ANN202
    m = t.model
    if t.key == "organization":
        return m.select().where(m.id == organization_id)
    query = m.select().where(m.organization == organization_id)
    if t.key == "role_rules":
        return query.order_by(m.role, m.id)
    if t.key == "stat_categories":
        return query.join(StatCategoryType).order_by(StatCategoryType.code, m.code)
    return query.order_by(m.code)


def list_entries(key: str, organization_id: int, actor: Actor) -> list[Entry]:
    """Every entry of the table for this organization, active or not, by code."""
    t = table(key)
    _check_reader(actor, organization_id)
    currency = _currency()
    return [
        Entry(row.id, bool(getattr(row, "active", True)), _values(t, row, currency))
        for row in _query(t, organization_id)
    ]


def _row(t: Table, organization_id: int, entry_id: int) -> BaseModel:
    row = _query(t, organization_id).where(t.model.id == entry_id).first()
    if row is None:
        raise NotFound(f"This {t.singular} no longer exists: another administrator may have "
                       "deleted it.")  # fmt: skip
    return row


def entry_values(key: str, organization_id: int, entry_id: int, actor: Actor) -> dict[str, Any]:
    t = table(key)
    _check_reader(actor, organization_id)
    return _values(t, _row(t, organization_id, entry_id), _currency())


# --- Checking -----------------------------------------------------------------------------------


_TRUE = {"1", "true", "yes", "y", "on", "✓"}
_FALSE = {"0", "false", "no", "n", "off", ""}


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return bool(value)


def _typed(p: Problems, t: Table, data: dict[str, Any]) -> dict[str, Any]:
    """`data` with each value of the right kind (a file may hold anything); a wrong one is a
    problem and is left out, so the checks after it see only text, flags and lists."""
    out = dict(data)
    for f in t.fields:
        value = data.get(f.name)
        if value is None:
            continue
        if f.kind == "bool":
            ok = isinstance(value, bool) or (
                isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE
            )
            message = "must be true or false"
        elif f.kind == "record_types":
            ok = isinstance(value, str) or (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            )
            message = "must be a list of record types"
        elif f.kind == "money":
            ok = isinstance(value, str | int) and not isinstance(value, bool)
            message = "must be an amount such as 0.50"
        else:
            ok = isinstance(value, str)
            message = "must be text"
        if not ok:
            p.add(f.name, message)
            out.pop(f.name)
    return out


def _check_code(p: Problems, t: Table, organization_id: int, value: Any, row_id: int) -> str:
    code = p.check("code", clean_text, None if value is None else str(value), 50) or ""
    if not code:
        p.add("code", "is required")
    elif not CODE_RE.fullmatch(code):
        p.add("code", 'may hold letters, digits, "_", "-" and "." only, starting with a letter '
                      "or digit")  # fmt: skip
    else:
        m = t.model
        same = m.select().where((fn.LOWER(m.code) == code.lower()) & (m.id != row_id))
        if t.key != "organization":
            same = same.where(m.organization == organization_id)
        if same.exists():
            p.add("code", f"another {t.singular} has this code")
    return code


def _check_name(
    p: Problems, t: Table, organization_id: int, value: Any, row_id: int, type_id: int | None
) -> str:
    name = p.check("name", clean_text, None if value is None else str(value), 200) or ""
    if not name:
        if "name" not in p.errors:
            p.add("name", "is required")
        return name
    m = t.model
    same = m.select().where((fn.LOWER(m.name) == name.lower()) & (m.id != row_id))
    if t.key == "organization":
        pass
    elif t.key == "stat_categories":
        same = same.where((m.organization == organization_id) & (m.category_type == type_id))
    else:
        same = same.where(m.organization == organization_id)
    if same.exists():
        where = " of this type" if t.key == "stat_categories" else ""
        p.add("name", f"another {t.singular}{where} has this name")
    return name


def _ref(
    p: Problems, field: str, model: type[BaseModel], organization_id: int, value: Any, current: Any
) -> int | None:
    """An entry of another table of the organization by code; a deactivated one only when the
    row already has it."""
    if value in (None, ""):
        return None
    query = model.select().where(model.organization == organization_id)
    ref = query.where(fn.LOWER(model.code) == str(value).strip().lower()).first()
    what = model._meta.table_name.replace("_", " ")
    if ref is None:
        p.add(field, f"is not a {what} of this organization")
        return None
    if not getattr(ref, "active", True) and ref.id != current:
        p.add(field, f"this {what} is deactivated")
        return None
    return ref.id


def _record_types(p: Problems, value: Any) -> str:
    if value in (None, ""):
        return ""
    items = value.split(",") if isinstance(value, str) else list(value)
    chosen = []
    for item in items:
        text = str(item).strip().lower()
        if not text:
            continue
        try:
            chosen.append(RecordType(text).value)
        except ValueError:
            p.add("record_types", f"{item!r} is not a record type "
                                  f"({', '.join(r.value for r in RecordType)})")  # fmt: skip
            return ""
    # Stored in the enum's order: the same choice is the same text.
    return ",".join(r.value for r in RecordType if r.value in chosen)


def _clean(
    t: Table, organization_id: int, data: dict[str, Any], row: BaseModel | None
) -> dict[str, Any]:
    """The columns to store, or ValidationError with every problem."""
    p = Problems()
    data = _typed(p, t, data)
    row_id = row.id if row is not None else 0
    out: dict[str, Any] = {}
    type_id = None
    if "category_type" in data or t.key == "stat_categories":
        current = row.category_type_id if row is not None else None
        type_id = _ref(p, "category_type", StatCategoryType, organization_id,
                       data.get("category_type"), current)  # fmt: skip
        if type_id is None and "category_type" not in p.errors:
            p.add("category_type", "is required")
        out["category_type"] = type_id
    if t.has_code:
        out["code"] = _check_code(p, t, organization_id, data.get("code"), row_id)
        out["name"] = _check_name(p, t, organization_id, data.get("name"), row_id, type_id)
    if "description" in {f.name for f in t.fields}:
        out["description"] = p.check("description", clean_text, data.get("description"), 1000)
    if "active" in {f.name for f in t.fields}:
        out["active"] = _bool(data.get("active", True))
    if t.key == "libraries":
        email = str(data.get("email") or "").strip()
        out["email"] = (p.check("email", check_email, email) if email else None) or None
    elif t.key == "user_groups":
        out["record_types"] = _record_types(p, data.get("record_types"))
        if row is not None and set(row.record_types.split(",")) == set(
            out["record_types"].split(",")
        ):
            out["record_types"] = row.record_types  # the same types in another order
    elif t.key == "block_definitions":
        for name in ("blocks_loans", "blocks_renewals", "blocks_requests"):
            out[name] = _bool(data.get(name, True))
        if not any(out[n] for n in ("blocks_loans", "blocks_renewals", "blocks_requests")):
            p.add("blocks_loans", "a block blocks at least one of loans, renewals and requests")
    elif t.key == "fee_types":
        out["waivable"] = _bool(data.get("waivable", True))
        out["manual"] = _bool(data.get("manual", True))
        out["daily_rate_minor"] = _rate(p, data.get("daily_rate"))
        current = row.library_id if row is not None else None
        out["library"] = _ref(p, "library", Library, organization_id, data.get("library"),
                              current)  # fmt: skip
    elif t.key == "role_rules":
        _clean_rule(p, organization_id, data, row, out)
    p.raise_if_any()
    return out


def _rate(p: Problems, value: Any) -> int:
    currency = _currency()
    text = "0" if value in (None, "") else str(value)
    try:
        minor = parse_amount(text, currency, field="daily_rate")
    except ValidationError as exc:
        p.add("daily_rate", exc.errors.get("daily_rate", "is not an amount"))
        return 0
    if minor < 0:
        p.add("daily_rate", "must not be negative")
    elif minor > 10**9:
        p.add("daily_rate", f"is too large (at most {format_money(10**9, currency)})")
    return minor


def _clean_rule(
    p: Problems, organization_id: int, data: dict, row: BaseModel | None, out: dict
) -> None:
    group = _ref(p, "user_group", UserGroup, organization_id, data.get("user_group"),
                 row.user_group_id if row is not None else None)  # fmt: skip
    category = _ref(p, "job_category", JobCategory, organization_id, data.get("job_category"),
                    row.job_category_id if row is not None else None)  # fmt: skip
    if group is None and category is None and not p.errors:
        p.add("user_group", "choose a user group or a job category")
    elif group is not None and category is not None:
        p.add("job_category", "a rule has one source: a user group or a job category, not both")
    role = str(data.get("role") or "").strip().lower()
    if not role:
        p.add("role", "is required")
    elif role in (Role.PATRON, Role.USER_ADMINISTRATOR):
        p.add(
            "role",
            "Patron is every account's already; administrators are named one by one"
            if role == Role.PATRON
            else "administrators are named one by one, not by a rule",
        )
    elif role not in {r.value for r in RULE_ROLES}:
        p.add("role", "is not a role")
    elif (group or category) and (
        RoleRule.select()
        .where(
            (RoleRule.organization == organization_id)
            & (RoleRule.role == role)
            & (RoleRule.user_group == group if group else RoleRule.user_group.is_null())
            & (RoleRule.job_category == category if category else RoleRule.job_category.is_null())
            & (RoleRule.id != (row.id if row is not None else 0))
        )
        .exists()
    ):
        p.add("role", "a rule already gives this role from the same source")
    out.update(user_group=group, job_category=category, role=role)


def _check_rules_of_change(t: Table, row: BaseModel, values: dict[str, Any]) -> None:
    """Refusals that depend on the rest of the database (after the fields are valid)."""
    if t.key == "organization":
        return
    if t.key == "libraries" and row.active and not values.get("active", True):
        _keep_a_library(row)
    if t.key == "user_groups" and values.get("record_types") != row.record_types:
        allowed = [x for x in values["record_types"].split(",") if x]
        if allowed:
            held = (
                Account.select(Account.record_type, fn.COUNT(Account.id))
                .where((Account.user_group == row.id) & Account.record_type.not_in(allowed))
                .group_by(Account.record_type)
                .tuples()
            )
            counts = ", ".join(f"{n} {rt}" for rt, n in held)
            if counts:
                raise ValidationError(
                    {"record_types": f"accounts of other record types hold this group "
                                     f"({counts}): move them to another group first"}
                )  # fmt: skip


def _keep_a_library(row: Library) -> None:
    others = Library.select().where(
        (Library.organization == row.organization_id) & Library.active & (Library.id != row.id)
    )
    if not others.exists():
        raise ConfigRefused(
            "This is the organization's last active library: add or activate another first."
        )


# --- Writing ------------------------------------------------------------------------------------


def _check_writer(actor: Actor, organization_id: int) -> None:
    _check_reader(actor, organization_id)
    if Organization.get_or_none(Organization.id == organization_id) is None:
        raise NotFound("This organization does not exist.")


def _known(t: Table, data: dict[str, Any]) -> None:
    names = {f.name for f in t.fields}
    unknown = {k: f"is not a field of a {t.singular}" for k in data if k not in names}
    if unknown:
        raise ValidationError(unknown)


def add_entry(key: str, organization_id: int, data: dict[str, Any], actor: Actor) -> BaseModel:
    """Add an entry; `data` as `entry_values` gives it (missing fields take their defaults)."""
    t = table(key)
    if t.key == "organization":
        raise ConfigRefused(
            "A new organization is added with 'patrondesk organization add' (it needs its own "
            "administrator)."
        )
    _known(t, data)
    defaults = {f.name: f.default for f in t.fields if f.default is not None}
    with database.atomic():
        _check_writer(actor, organization_id)
        values = _clean(t, organization_id, {**defaults, **data}, None)
        row = t.model.create(organization=organization_id, **values)
        audit.record_changes(actor, row, None, audit.snapshot(row), account_id=None,
                             person_id=None)  # fmt: skip
        return t.model.get_by_id(row.id)


def update_entry(
    key: str, organization_id: int, entry_id: int, data: dict[str, Any], actor: Actor
) -> BaseModel:
    """Change the fields of `data`; the others keep their values."""
    t = table(key)
    _known(t, data)
    with database.atomic():
        _check_writer(actor, organization_id)
        row = _row(t, organization_id, entry_id)
        merged = {**_values(t, row, _currency()), **data}
        values = _clean(t, organization_id, merged, row)
        _check_rules_of_change(t, row, values)
        changed = {k: v for k, v in values.items() if row.__data__.get(k) != v}
        if not changed:
            return row
        before = audit.snapshot(row)
        t.model.update(**changed).where(t.model.id == row.id).execute()
        row = t.model.get_by_id(row.id)
        audit.record_changes(actor, row, before, audit.snapshot(row), account_id=None,
                             person_id=None)  # fmt: skip
        return row


def set_entry_active(
    key: str, organization_id: int, entry_id: int, active: bool, actor: Actor
) -> BaseModel:
    """Activate or deactivate an entry (the way to retire a code in use)."""
    t = table(key)
    if "active" not in {f.name for f in t.fields}:
        raise ConfigRefused("Your own organization cannot be deactivated.")
    return update_entry(key, organization_id, entry_id, {"active": bool(active)}, actor)


def delete_entry(key: str, organization_id: int, entry_id: int, actor: Actor) -> None:
    """Delete an entry nothing refers to; `InUse` says where it is used."""
    t = table(key)
    with database.atomic():
        _check_writer(actor, organization_id)
        row = _row(t, organization_id, entry_id)
        if t.key == "organization":
            raise ConfigRefused("Your own organization cannot be deleted.")
        if t.key == "libraries" and row.active:
            _keep_a_library(row)
        usages = code_usage(t.model, row.id)
        if usages:
            raise InUse(usage_message(t, usages), usages)
        audit.record_changes(actor, row, audit.snapshot(row), None, account_id=None,
                             person_id=None)  # fmt: skip
        t.model.delete().where(t.model.id == row.id).execute()


# --- Organizations ------------------------------------------------------------------------------


def add_organization(
    code: str,
    name: str,
    *,
    library_code: str = "MAIN",
    library_name: str = "Main library",
    admin_username: str = "",
    admin_password: str = "",
    actor: Actor | None = None,
) -> Organization:
    """A new organization with its main library, the default code tables (`models.config.seed`) and,
    with `admin_username`, its first User Administrator (as `patrondesk init` makes the first
    one). The system's job (the command line): an organization's administrators configure
    only their own one. One transaction: nothing is kept on error."""
    import datetime as dt

    from models.access.passwords import password_problems, problems_message
    from models.config.seed import seed_code_tables
    from models.runtime import runtime
    from models.users.accounts import NewUser, create_user

    actor = actor or Actor(None, Source.CLI)
    if actor.account is not None:
        raise PermissionDenied(
            Action.CONFIGURE.value,
            "Organizations are added from the command line ('patrondesk organization add').",
        )
    settings = load_settings()
    t = TABLES["organization"]
    p = Problems()
    code = _check_code(p, t, 0, code, 0)
    name = _check_name(p, t, 0, name, 0, None)
    errors = {f"organization_{k}": v for k, v in p.errors.items()}
    library_code = str(library_code or "").strip()
    if not CODE_RE.fullmatch(library_code):
        errors["library_code"] = 'may hold letters, digits, "_", "-" and "." only'
    library_name = str(library_name or "").strip()
    if bad := unsafe_problem(library_name):
        errors["library_name"] = bad
    elif not library_name or len(library_name) > 200:
        errors["library_name"] = "is required (at most 200 characters)"
    if admin_username and (problems := password_problems(admin_password, settings)):
        errors["password"] = problems_message(problems)
    if errors:
        raise ValidationError(errors)
    with database.atomic():
        org = Organization.create(code=code, name=name)
        library = Library.create(organization=org, code=library_code, name=library_name)
        seed_code_tables(org)
        for row in (org, library):
            audit.record_changes(actor, row, None, audit.snapshot(row), account_id=None,
                                 person_id=None)  # fmt: skip
        if admin_username:
            admin = NewUser(
                record_type=RecordType.STAFF.value,
                username=admin_username,
                primary_id=admin_username,
                last_name="Administrator",
                password=admin_password,
                user_group="STAFF",
                expiry_date=runtime.today() + dt.timedelta(days=365 * 10),
                roles=[Role.USER_ADMINISTRATOR.value],
            )
            # As for `patrondesk init`: the administrator's email may be added from the app.
            settings.mandatory_fields["staff"] = ["last_name", "primary_id"]
            create_user(admin, actor, org, settings=settings)
        return org


@dataclass(frozen=True)
class ConfigEvent:
    at: Any
    actor: str
    action: str
    entity: str  # "user_group", "setting"...
    entity_id: int | None
    field: str
    old: str | None
    new: str | None


def config_history(organization_id: int, actor: Actor, *, limit: int = 200) -> list[ConfigEvent]:
    """The latest configuration changes, newest first: the organization's code tables,
    libraries and rules (changes by its staff or by the system) and the settings."""
    from models.store.tables import AuditEvent

    _check_reader(actor, organization_id)
    entities = [t.model._meta.table_name for t in TABLES.values()] + ["setting"]
    staff = Account.select(Account.id).where(Account.organization == organization_id)
    # The system (the command line) acts for no organization: its changes count when they
    # are the settings or an entry of this organization.
    by_system = AuditEvent.entity == "setting"
    for t in TABLES.values():
        ids = _query(t, organization_id).select(t.model.id)
        by_system |= (AuditEvent.entity == t.model._meta.table_name) & AuditEvent.entity_id.in_(ids)
    rows = (
        AuditEvent.select()
        .where(
            AuditEvent.account_id.is_null()
            & AuditEvent.entity.in_(entities)
            & (AuditEvent.actor_id.in_(staff) | (AuditEvent.actor_id.is_null() & by_system))
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [
        ConfigEvent(
            e.at, e.actor, e.action, e.entity, e.entity_id, e.field, e.old_value, e.new_value
        )  # fmt: skip
        for e in rows
    ]


def organization_by_code(code: str | None) -> Organization:
    """The organization named by `code`; None: the only (or first) one."""
    if code:
        org = Organization.get_or_none(fn.LOWER(Organization.code) == code.strip().lower())
        if org is None:
            known = ", ".join(o.code for o in Organization.select().order_by(Organization.code))
            raise NotFound(f"No organization has the code {code!r} (known: {known or 'none'}).")
        return org
    org = Organization.select().order_by(Organization.id).first()
    if org is None:
        raise NotFound("The database has no organization: run 'patrondesk init' first.")
    return org


__all__ = [
    "TABLES",
    "ConfigField",
    "ConfigRefused",
    "Entry",
    "InUse",
    "Table",
    "Usage",
    "add_entry",
    "add_organization",
    "code_usage",
    "config_history",
    "delete_entry",
    "entry_values",
    "list_entries",
    "organization_by_code",
    "set_entry_active",
    "update_entry",
]
