"""Checking an entry before it is written (models.config.configuration): typed values, codes,
names, references, record types, role-assignment rules, and the rules of a change.
"""

from __future__ import annotations

from typing import Any

from peewee import fn

from models.config.configuration.reading import _currency
from models.config.configuration.tables import CODE_RE, RULE_ROLES, ConfigRefused, Table
from models.enums import RecordType, Role
from models.errors import ValidationError
from models.fees.money import format_money, parse_amount
from models.store.base import BaseModel
from models.store.tables import (
    Account,
    Identifier,
    JobCategory,
    Library,
    RoleRule,
    StatCategoryType,
    UserGroup,
)
from models.users.fields import BY_NAME
from models.users.validation import Problems, check_email, clean_text

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
        elif f.kind == "months":
            ok = isinstance(value, str | int) and not isinstance(value, bool)
            message = "must be a number of months such as 12"
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
    if t.key == "titles" and len(name) > (limit := BY_NAME["title"].limit):
        p.add("name", f"is at most {limit} characters, as a person's title")  # stored as it
    elif same.exists():
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
    if "record_types" in {f.name for f in t.fields}:
        out["record_types"] = _record_types(p, data.get("record_types"))
        if row is not None and set(row.record_types.split(",")) == set(
            out["record_types"].split(",")
        ):
            out["record_types"] = row.record_types  # the same types in another order
    if t.key == "libraries":
        email = str(data.get("email") or "").strip()
        out["email"] = (p.check("email", check_email, email) if email else None) or None
    elif t.key == "user_groups":
        out["registration_months"] = _months(p, data.get("registration_months"))
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


# A registration period: a month to a hundred years.
MAX_MONTHS = 1200


def _months(p: Problems, value: Any) -> int | None:
    """A user group's registration period in months; None (empty): the default expiry."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_MONTHS:
        p.add("registration_months", f"must be a whole number of months from 1 to {MAX_MONTHS}")
        return None
    return int(text)


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
    if "record_types" in values and values["record_types"] != row.record_types:
        _keep_holders(t, row, [x for x in values["record_types"].split(",") if x])


# What holds an entry with record types, counted by the record type of the account: the query
# and how the refusal names them.
_HOLDERS = {
    "user_groups": (lambda row: Account.select().where(Account.user_group == row.id),
                    "accounts of other record types hold this group", "another group"),
    "job_categories": (lambda row: Account.select().where(Account.job_category == row.id),
                       "accounts of other record types hold this job category",
                       "another job category"),
    "identifier_types": (
        lambda row: Account.select().join(Identifier).where(Identifier.id_type == row.id),
        "identifiers of accounts of other record types have this type", "another type",
    ),
}  # fmt: skip


def _keep_holders(t: Table, row: BaseModel, allowed: list[str]) -> None:
    """A change of an entry's record types that would leave accounts of another record type
    holding it is refused (the same rule for user groups, job categories, identifier types)."""
    if not allowed or t.key not in _HOLDERS:
        return
    query, holders, other = _HOLDERS[t.key]
    held = (
        query(row)
        .select(Account.record_type, fn.COUNT(Account.id))
        .where(Account.record_type.not_in(allowed))
        .group_by(Account.record_type)
        .tuples()
    )
    counts = ", ".join(f"{n} {rt}" for rt, n in held)
    if counts:
        raise ValidationError({"record_types": f"{holders} ({counts}): move them to {other} first"})


def _keep_a_library(row: Library) -> None:
    others = Library.select().where(
        (Library.organization == row.organization_id) & Library.active & (Library.id != row.id)
    )
    if not others.exists():
        raise ConfigRefused(
            "This is the organization's last active library: add or activate another first."
        )
