"""Configuration stored in the `setting` table, with typed defaults.

Every key has a default here; the table holds only what a library changed. Values are JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from typing import Any

from models.errors import ValidationError
from models.store.base import utcnow
from models.store.reading import read_once
from models.store.tables import Setting

# Fields that may be made mandatory per record type (names as in `NewUser`).
MANDATABLE_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "title",
    "primary_id",
    "user_group",
    "job_category",
    "campus",
    "birth_date",
    "expiry_date",
    "purge_date",
    "email",
    "phone",
    "address",
    "pin",
    "password",
)


def _default_mandatory() -> dict[str, list[str]]:
    # Email is required for staff and public users (domain.md section 5), a phone for contacts
    # (Alma: "For Contact record types, at least one phone number must be added").
    return {
        "staff": ["first_name", "last_name", "primary_id", "user_group", "email", "expiry_date"],
        "public": ["first_name", "last_name", "primary_id", "user_group", "email", "expiry_date"],
        "contact": ["last_name", "primary_id", "phone"],
        "organization": ["last_name", "primary_id"],
        "researcher": ["first_name", "last_name", "primary_id", "email"],
    }


@dataclass
class Settings:
    # Password policy (the seeds' default plus a maximum and common-password refusal).
    password_min_length: int = 8
    password_max_length: int = 256
    password_require_lower: bool = True
    password_require_upper: bool = True
    password_require_digit: bool = True
    password_refuse_common: bool = True
    # Login lockout.
    lockout_attempts: int = 5
    lockout_minutes: int = 30
    # argon2id: OWASP's recommendation (19 MiB, t=2, p=1).
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19456
    argon2_parallelism: int = 1
    # Field formats: empty regex means "no extra constraint".
    primary_identifier_regex: str = ""
    email_regex: str = ""
    phone_regex: str = ""
    postal_code_regex: str = ""
    address_line_regex: str = ""
    phone_default_region: str = ""  # e.g. "CH": numbers without +country are read as Swiss
    mandatory_fields: dict[str, list[str]] = field(default_factory=_default_mandatory)
    default_expiry_days: int = 365
    # ID generation for Register New User: prefix + zero-padded next number.
    id_prefix: str = "P"
    id_next: int = 1
    id_digits: int = 7
    # Retention and limits.
    audit_retention_days: int = 3650
    attachment_max_bytes: int = 5 * 1024 * 1024
    waive_limit: int = 100
    debt_limit_minor: int = 0  # 0: no debt-limit block
    # Who sees a user's History (role codes, comma-separated); empty: whoever may view the user.
    history_roles: str = ""
    # Alma's "Record Last Patron Activity Date": a login updates the account's last activity
    # date; off, nothing is recorded and the dates kept are deleted (privacy).
    record_last_activity: bool = True
    # RERO ILS: "Affiliation libraries: required for professional users": on, a staff role
    # (any but Patron) is given for a library, never for the whole organization.
    staff_role_needs_library: bool = False
    currency: str = "EUR"
    session_timeout_minutes: int = 15
    # Letters.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls | ssl | none
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    # A folder of <language>/<kind>.txt letter templates overriding (or adding to) the shipped ones.
    letter_templates_dir: str = ""
    # Who is told, by email, when a job of the command line ends (purge, expiry reminders,
    # import / SIS load): addresses, comma-separated; empty: nobody.
    job_notify_emails: str = ""


SECRET_SETTINGS = frozenset({"smtp_password"})
_FIELDS = {f.name: f for f in fields(Settings)}


def load_settings() -> Settings:
    """The defaults with every stored value laid over them (read once in a `one_reading`:
    opening a user asked for them three times)."""
    return read_once(("settings",), _read_settings)


def _read_settings() -> Settings:
    values: dict[str, Any] = {}
    for row in Setting.select():
        if row.key in _FIELDS:
            values[row.key] = json.loads(row.value)
    return Settings(**values)


def _check_value(key: str, value: Any) -> Any:
    default = getattr(Settings(), key)
    kind = type(default)
    if kind is bool:
        if not isinstance(value, bool):
            raise ValidationError({key: "must be true or false"})
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError({key: "must be a whole number"})
        if value < 0:
            raise ValidationError({key: "must not be negative"})
    elif kind is str:
        if not isinstance(value, str):
            raise ValidationError({key: "must be text"})
        if key.endswith("_regex") and value:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValidationError({key: f"is not a valid regular expression: {exc}"}) from exc
    elif kind is dict and (
        not isinstance(value, dict)
        or not all(
            isinstance(v, list) and all(f in MANDATABLE_FIELDS for f in v) for v in value.values()
        )
    ):
        raise ValidationError({key: "must map record types to lists of field names"})
    return value


def set_setting(key: str, value: Any) -> None:
    """Store one setting after checking its type. (Auditing is the caller's service's job.)"""
    if key not in _FIELDS:
        raise ValidationError({key: "is not a known setting"})
    value = _check_value(key, value)
    (
        Setting.insert(key=key, value=json.dumps(value), updated_at=utcnow())
        .on_conflict(
            conflict_target=[Setting.key],
            update={Setting.value: json.dumps(value), Setting.updated_at: utcnow()},
        )
        .execute()
    )
