"""The settings of the installation, edited by User Administrators (issue 6): what each setting
means, how it is typed, and the rules a new value must meet (`models.config.settings` keeps them).

    SETTING_GROUPS                       the settings as the Configuration screen groups them
    info(key)                            -> SettingInfo: label, kind, help
    settings_problems(settings)          -> {key: message}: every broken rule, cross-field too
    parse_setting(key, text, currency)   -> a typed value from what was typed (ValidationError)
    format_setting(key, value, currency) -> the value as text for a form or a list
    update_settings(changes, actor)      -> the keys changed; all checked together first
    settings_refusal(actor)              -> why `actor` may not change them (None: they may)
    hosting_organization()               -> the organization whose administrators change them

Settings belong to the whole database, not to one organization: a person (login, password,
lockout) is shared by every organization, so the rules for them must be the same everywhere;
the SMTP server carries every organization's letters and reset codes; audit retention, argon2
cost and the screen lock apply to everyone. So an organization's administrator may not change
them: only the User Administrators of the organization that hosts the system (the one
`patrondesk init` made: `Organization.hosts_system`) and the command line (`patrondesk config
import`, no account) may. Every other organization's administrators see them read only; they
keep their own code tables, libraries and rules (`models.config.configuration`).

Which settings are whose (every one is stored once, in the `setting` table, so every one is
database-wide; one that should differ per organization must first be stored per organization):
- password policy, lockout, argon2 cost: the person and their password are shared;
- screen lock (session timeout), attachment size limit, audit retention: the installation's;
- field formats, phone region, mandatory fields, default expiry, ID generation, last patron
  activity tracking, staff roles' library: records and identifiers shared by the organizations
  (one identifier counter for the database);
- currency, waive limit, debt limit: amounts are stored without a currency, in one unit;
- SMTP and the letter templates folder: one mail server and one folder on the server.
Each changed key is one audit event (entity "setting", field = the key, old and new values as
JSON; the SMTP password is masked like every secret).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields, replace
from typing import Any

from models import audit
from models.access.permissions import Action, authorize, unknown_history_roles
from models.audit import Actor
from models.config.settings import (
    MANDATABLE_FIELDS,
    SECRET_SETTINGS,
    Settings,
    load_settings,
    set_setting,
)
from models.enums import AuditAction, RecordType
from models.errors import PermissionDenied, ValidationError
from models.fees.money import format_money, is_currency, parse_amount
from models.store.base import database
from models.store.tables import Account, Organization
from models.text import unsafe_problem
from models.users.validation import FieldError, check_email

# Always mandatory: a record cannot stand without them (domain.md section 1).
ALWAYS_MANDATORY = ("last_name", "primary_id")
SMTP_SECURITY = ("starttls", "ssl", "none")
_HOST_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9\-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9\-]{0,62}))*")
_PREFIX_RE = re.compile(r"[A-Za-z0-9_\-]{0,20}")


@dataclass(frozen=True)
class SettingInfo:
    key: str
    label: str
    kind: str = "int"  # int | bool | text | regex | choice | secret | money | bytes | mandatory
    help: str = ""
    choices: tuple[str, ...] = ()
    low: int | None = None  # whole numbers: the smallest and largest value allowed
    high: int | None = None


_INFO = (
    SettingInfo("password_min_length", "Minimum length", low=6, high=128,
                help="characters; at least 6"),
    SettingInfo("password_max_length", "Maximum length", low=64, high=4096,
                help="characters; at least 64 (pass phrases)"),
    SettingInfo("password_require_lower", "Needs a lowercase letter", "bool"),
    SettingInfo("password_require_upper", "Needs an uppercase letter", "bool"),
    SettingInfo("password_require_digit", "Needs a digit", "bool"),
    SettingInfo("password_refuse_common", "Refuses common passwords", "bool"),
    SettingInfo("lockout_attempts", "Failed logins before lockout", low=1, high=100),
    SettingInfo("lockout_minutes", "Lockout minutes", low=1, high=10080),
    SettingInfo("session_timeout_minutes", "Screen lock after idle minutes", low=0, high=1440,
                help="0: never"),
    SettingInfo("argon2_time_cost", "argon2 passes", low=1, high=20),
    SettingInfo("argon2_memory_kib", "argon2 memory (KiB)", low=8192, high=4194304),
    SettingInfo("argon2_parallelism", "argon2 lanes", low=1, high=16),
    SettingInfo("primary_identifier_regex", "Primary identifier", "regex",
                help="a regular expression the whole value must match; empty: any"),
    SettingInfo("email_regex", "Email address", "regex"),
    SettingInfo("phone_regex", "Phone number", "regex"),
    SettingInfo("postal_code_regex", "Postal code", "regex"),
    SettingInfo("address_line_regex", "Address line", "regex"),
    SettingInfo("phone_default_region", "Phone region (e.g. CH)", "text",
                help="numbers typed without +country are read in this region"),
    SettingInfo("default_expiry_days", "Default expiry (days)", low=1, high=36500),
    SettingInfo("mandatory_fields", "Mandatory fields", "mandatory"),
    SettingInfo("id_prefix", "Prefix", "text", help="up to 20 letters, digits, - or _"),
    SettingInfo("id_next", "Next number", low=1, high=10**18 - 1),
    SettingInfo("id_digits", "Digits (zero-padded)", low=1, high=18),
    SettingInfo("audit_retention_days", "Audit retention (days)", low=30, high=36500,
                help="History older than this is deleted by 'patrondesk audit prune'"),
    SettingInfo("attachment_max_bytes", "Attachment size limit", "bytes", low=1024,
                high=1024**3, help="e.g. 5 MB, 512 KB"),
    SettingInfo("waive_limit", "Waive all: fees per action", low=1, high=10000),
    SettingInfo("debt_limit_minor", "Debt limit", "money", high=10**12,
                help="an active balance this high blocks borrowing; 0: no limit"),
    SettingInfo("currency", "Currency (ISO 4217)", "text"),
    SettingInfo("history_roles", "History visible to roles", "text",
                help="role codes, comma-separated (e.g. user_administrator, user_manager); "
                "empty: whoever may view the user"),
    SettingInfo("record_last_activity", "Record last patron activity date", "bool",
                help="a login sets it; off: none recorded and those kept are deleted"),
    SettingInfo("staff_role_needs_library", "Staff roles need a library (RERO)", "bool",
                help="a staff role is given for an affiliation library, not the whole "
                "organization"),
    SettingInfo("smtp_host", "SMTP server", "text", help="empty: letters stay in the outbox"),
    SettingInfo("smtp_port", "SMTP port", low=1, high=65535),
    SettingInfo("smtp_security", "Security", "choice", choices=SMTP_SECURITY),
    SettingInfo("smtp_user", "Login (empty: none)", "text"),
    SettingInfo("smtp_password", "Password", "secret", help="empty: unchanged"),
    SettingInfo("smtp_from", "Sender address", "text"),
    SettingInfo("letter_templates_dir", "Letter templates folder", "text",
                help="<language>/<kind>.txt files overriding the shipped ones"),
    SettingInfo("job_notify_emails", "Notify when jobs end", "text",
                help="email addresses, comma-separated, told when the purge, expiry reminders "
                "or an import ends; empty: nobody"),
)  # fmt: skip
_BY_KEY = {i.key: i for i in _INFO}

SETTING_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("password", "Password policy", (
        "password_min_length", "password_max_length", "password_require_lower",
        "password_require_upper", "password_require_digit", "password_refuse_common")),
    ("login", "Login and lockout", (
        "lockout_attempts", "lockout_minutes", "session_timeout_minutes", "argon2_time_cost",
        "argon2_memory_kib", "argon2_parallelism")),
    ("formats", "Field formats", (
        "primary_identifier_regex", "email_regex", "phone_regex", "postal_code_regex",
        "address_line_regex", "phone_default_region", "default_expiry_days")),
    ("ids", "ID generation", ("id_prefix", "id_next", "id_digits")),
    ("limits", "Limits and retention", (
        "audit_retention_days", "attachment_max_bytes", "waive_limit", "debt_limit_minor",
        "currency", "history_roles", "record_last_activity", "staff_role_needs_library")),
    ("letters", "Letters (SMTP)", (
        "smtp_host", "smtp_port", "smtp_security", "smtp_user", "smtp_password", "smtp_from",
        "letter_templates_dir", "job_notify_emails")),
)  # fmt: skip
SETTING_KEYS = tuple(f.name for f in fields(Settings))


def _grouped() -> set[str]:
    return {k for _, _, keys in SETTING_GROUPS for k in keys} | {"mandatory_fields"}


def setting_groups() -> list[tuple[str, str, tuple[str, ...]]]:
    """The groups of the screen; a setting added later without a group shows under "Other"."""
    other = tuple(k for k in SETTING_KEYS if k not in _grouped())
    return [*SETTING_GROUPS, *([("other", "Other settings", other)] if other else [])]


def info(key: str) -> SettingInfo:
    """What a setting is; a setting added later without a description gets one from its
    default's type."""
    if key in _BY_KEY:
        return _BY_KEY[key]
    default = getattr(Settings(), key)
    kind = {bool: "bool", int: "int", str: "text"}.get(type(default), "json")
    return SettingInfo(
        key, key.replace("_", " ").capitalize(), kind, low=0 if kind == "int" else None
    )


# --- Typed text ---------------------------------------------------------------------------------

_UNITS = {"": 1, "b": 1, "kb": 1024, "kib": 1024, "mb": 1024**2, "mib": 1024**2, "gb": 1024**3,
          "gib": 1024**3}  # fmt: skip


def format_bytes(n: int) -> str:
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return str(n)


def parse_setting(key: str, text: Any, currency: str) -> Any:
    """A value typed in a form (text, or a checkbox's bool) as the setting's type."""
    i = info(key)
    if i.kind == "bool":
        if isinstance(text, bool):
            return text
        return str(text).strip().lower() in {"1", "true", "yes", "on"}
    raw = str(text if text is not None else "").strip()
    if i.kind == "int":
        try:
            return int(raw.replace("_", "").replace(",", "").replace("'", ""))
        except ValueError:
            raise ValidationError({key: "must be a whole number"}) from None
    if i.kind == "bytes":
        m = re.fullmatch(r"(\d+)\s*([A-Za-z]*)", raw.replace(",", "").replace("_", ""))
        if not m or m.group(2).lower() not in _UNITS:
            raise ValidationError({key: "must be a size such as 5 MB, 512 KB or 1048576"})
        return int(m.group(1)) * _UNITS[m.group(2).lower()]
    if i.kind == "money":
        return parse_amount(raw or "0", currency, field=key)
    if i.kind == "json":
        try:
            return json.loads(raw)
        except ValueError:
            raise ValidationError({key: "must be a JSON value"}) from None
    if key == "currency":
        return raw.upper()
    return raw


def format_setting(key: str, value: Any, currency: str) -> str:
    i = info(key)
    if i.kind == "bool":
        return "yes" if value else "no"
    if i.kind == "bytes":
        return format_bytes(int(value))
    if i.kind == "money":
        return "no limit" if not value else format_money(int(value), currency)
    if i.kind == "secret":
        return "(set)" if value else "(none)"
    if i.kind == "mandatory":
        return "; ".join(f"{rt}: {len(v)}" for rt, v in value.items())
    if i.kind == "json":
        return json.dumps(value)
    return str(value)


# --- The rules ----------------------------------------------------------------------------------


def _check_mandatory(value: Any) -> str | None:
    if not isinstance(value, dict):
        return "must map record types to lists of field names"
    types = {r.value for r in RecordType}
    for record_type, names in value.items():
        if record_type not in types:
            return f"{record_type!r} is not a record type ({', '.join(sorted(types))})"
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return f"{record_type}: must be a list of field names"
        unknown = [n for n in names if n not in MANDATABLE_FIELDS]
        if unknown:
            return (
                f"{record_type}: {', '.join(unknown)} cannot be made mandatory "
                f"(fields: {', '.join(MANDATABLE_FIELDS)})"
            )
        missing = [n for n in ALWAYS_MANDATORY if n not in names]
        if missing:
            return f"{record_type}: last name and primary identifier are always mandatory"
    return None


def _check_one(key: str, value: Any) -> str | None:
    """The rule of one value alone (its type is checked by `models.config.settings`)."""
    i = info(key)
    if i.kind in ("int", "bytes", "money") and (i.low is not None or i.high is not None):
        if i.low is not None and value < i.low:
            return f"must be at least {format_bytes(i.low) if i.kind == 'bytes' else i.low}"
        if i.high is not None and value > i.high:
            return f"must be at most {format_bytes(i.high) if i.kind == 'bytes' else i.high}"
    if i.kind == "money" and value < 0:
        return "must not be negative"
    if i.kind == "regex" and value:
        try:
            re.compile(value)
        except re.error as exc:
            return f"is not a valid regular expression: {exc}"
    if i.kind == "choice" and value not in i.choices:
        return f"must be one of {', '.join(i.choices)}"
    if key == "mandatory_fields":
        return _check_mandatory(value)
    if key == "currency" and not (
        isinstance(value, str) and len(value) == 3 and is_currency(value)
    ):
        return "is not an ISO 4217 currency code (e.g. EUR, CHF, USD)"
    if key == "phone_default_region" and value:
        import phonenumbers

        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            return "is not a region code phone numbers know (e.g. CH, FR, US)"
    if key == "history_roles" and (unknown := unknown_history_roles(value)):
        return (
            f"names roles that do not exist: {', '.join(unknown)} "
            "(staff role codes, e.g. user_manager)"
        )
    if key == "id_prefix" and not _PREFIX_RE.fullmatch(value):
        return "may hold up to 20 letters, digits, - or _"
    if key == "smtp_host" and value and not _HOST_RE.fullmatch(value):
        return "is not a host name or IPv4 address"
    if key == "smtp_from" and value:
        try:
            check_email(value)
        except FieldError as exc:
            return str(exc)
    if key == "job_notify_emails" and value:
        from models.mail.job_notice import notify_addresses

        try:
            notify_addresses(value)
        except FieldError as exc:
            return str(exc)
    if key == "letter_templates_dir" and value and "\x00" in value:
        return "is not a folder path"
    if i.kind != "secret" and isinstance(value, str) and (bad := unsafe_problem(value)):
        return bad  # shown on the Configuration screen and in letters (issue 18)
    return None


def settings_problems(s: Settings) -> dict[str, str]:
    """Every broken rule of these settings, by key (empty: they may be saved)."""
    problems: dict[str, str] = {}
    for key in SETTING_KEYS:
        value = getattr(s, key)
        default = getattr(Settings(), key)
        if type(default) is not type(value) and not (
            isinstance(default, dict) and isinstance(value, dict)
        ):
            problems[key] = f"must be {type(default).__name__}"
            continue
        if (message := _check_one(key, value)) is not None:
            problems[key] = message
    if (
        not {"password_max_length", "password_min_length"} & set(problems)
        and s.password_max_length < s.password_min_length
    ):
        problems["password_max_length"] = "must not be below the minimum length"
    if (
        not {"argon2_memory_kib", "argon2_parallelism"} & set(problems)
        and s.argon2_memory_kib < 8 * s.argon2_parallelism
    ):
        problems["argon2_memory_kib"] = "must be at least 8 KiB per lane"
    if not {"id_next", "id_digits", "id_prefix"} & set(problems):
        if s.id_next >= 10**s.id_digits:
            problems["id_next"] = f"does not fit in {s.id_digits} digits"
        elif s.primary_identifier_regex and "primary_identifier_regex" not in problems:
            generated = f"{s.id_prefix}{s.id_next:0{s.id_digits}d}"
            if not re.fullmatch(s.primary_identifier_regex, generated):
                problems["id_prefix"] = (
                    f"the next generated identifier {generated} does not match the primary "
                    "identifier format"
                )
    if s.smtp_host and not s.smtp_from and not {"smtp_host", "smtp_from"} & set(problems):
        problems["smtp_from"] = "is required when an SMTP server is set"
    return problems


def check_settings(changes: dict[str, Any], base: Settings | None = None) -> Settings:
    """The settings with `changes` laid over `base` (the stored ones), or ValidationError with
    every problem. Nothing is written."""
    base = base or load_settings()
    unknown = {k: "is not a known setting" for k in changes if k not in SETTING_KEYS}
    if unknown:
        raise ValidationError(unknown)
    new = replace(base, **changes)
    before = settings_problems(base)
    # A stored value that already broke a rule (written by an older version) does not block
    # saving other settings; a rule broken by this change, alone or with others, does.
    problems = {
        k: v for k, v in settings_problems(new).items() if k in changes or before.get(k) != v
    }
    if problems:
        raise ValidationError(problems)
    return new


# --- Who may change them ------------------------------------------------------------------------


def hosting_organization() -> Organization | None:
    """The organization that hosts the system: its User Administrators change the settings.
    None only in a database no `patrondesk init` made (then only the command line may)."""
    return (
        Organization.select()
        .where(Organization.hosts_system == True)  # noqa: E712 - peewee builds SQL from ==
        .order_by(Organization.id)
        .first()
    )


def settings_refusal(actor: Actor) -> str | None:
    """Why `actor` may not change the settings of the whole database, in words (None: they
    may). The command line (no account) always may; a staff account needs the right to
    configure, in the organization that hosts the system."""
    if actor.account is None:
        return None
    try:
        authorize(actor.account, Action.CONFIGURE)
    except PermissionDenied as exc:
        return exc.message
    host = hosting_organization()
    if host is not None and host.id == actor.account.organization_id:
        return None
    who = f"the administrators of {host.name} ({host.code})" if host is not None else "nobody"
    return (
        "These settings apply to every organization in this database: only "
        f"{who} or the command line ('patrondesk config import') may change them."
    )


def authorize_settings(actor: Actor) -> None:
    """Raise `PermissionDenied` unless `actor` may change the settings of the whole database."""
    if (reason := settings_refusal(actor)) is not None:
        raise PermissionDenied(Action.CONFIGURE.value, reason)


def update_settings(changes: dict[str, Any], actor: Actor) -> list[str]:
    """Check every change against the rules together, then store and audit the ones that
    differ. Returns the keys changed. An empty SMTP password in `changes` means unchanged.
    Only the command line and the administrators of the organization hosting the system
    change anything (`settings_refusal`); anyone else's call that would change a value is
    refused before any work, one that changes nothing (a configuration file carrying the
    settings as they are) changes nothing."""
    changes = dict(changes)
    for key in SECRET_SETTINGS:
        if changes.get(key) == "":
            changes.pop(key)
    if actor.account is not None:
        authorize(actor.account, Action.CONFIGURE)
        if (reason := settings_refusal(actor)) is not None:
            current = load_settings()
            if any(k not in SETTING_KEYS or getattr(current, k) != v for k, v in changes.items()):
                raise PermissionDenied(Action.CONFIGURE.value, reason)
    with database.atomic():
        base = load_settings()
        new = check_settings(changes, base)
        changed = [k for k in changes if getattr(base, k) != getattr(new, k)]
        if "record_last_activity" in changed and not new.record_last_activity:
            # Alma: "If the option is disabled, all data collected in this field will be
            # deleted for all users" (and, as there, not in anyone's History).
            Account.update(last_activity_at=None).where(
                Account.last_activity_at.is_null(False)
            ).execute()
        for key in changed:
            set_setting(key, getattr(new, key))
            audit.record(
                actor,
                AuditAction.UPDATE,
                entity="setting",
                entity_id=None,
                field=key,
                old=json.dumps(getattr(base, key), sort_keys=True),
                new=json.dumps(getattr(new, key), sort_keys=True),
            )
        return changed


def mandatory_for(settings: Settings, record_type: str) -> list[str]:
    return list(settings.mandatory_fields.get(record_type, []))


__all__ = [
    "ALWAYS_MANDATORY",
    "SETTING_GROUPS",
    "SETTING_KEYS",
    "SettingInfo",
    "authorize_settings",
    "check_settings",
    "format_setting",
    "hosting_organization",
    "info",
    "mandatory_for",
    "parse_setting",
    "setting_groups",
    "settings_problems",
    "settings_refusal",
    "update_settings",
]
