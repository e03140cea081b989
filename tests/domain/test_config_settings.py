"""Settings edited by administrators (models.config.config_settings): every rule, checked together,
audited, and typed from what a form holds."""

from __future__ import annotations

import json

import pytest

from models.config.config_settings import (
    SETTING_KEYS,
    check_settings,
    format_setting,
    info,
    parse_setting,
    setting_groups,
    settings_problems,
    update_settings,
)
from models.config.settings import Settings, load_settings, set_setting
from models.enums import Role
from models.errors import PermissionDenied, ValidationError
from models.users.idgen import next_primary_id
from tests.helpers.details import admin, as_staff, events_after, last_event_id


def refused(changes: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as err:
        check_settings(changes, Settings())
    return err.value.errors


def test_the_defaults_meet_every_rule_and_every_setting_is_on_the_screen() -> None:
    assert settings_problems(Settings()) == {}
    shown = {k for _, _, keys in setting_groups() for k in keys} | {"mandatory_fields"}
    assert shown == set(SETTING_KEYS)
    assert all(info(k).label for k in SETTING_KEYS)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"password_min_length": 5}, {"password_min_length": "must be at least 6"}),
        (
            {"password_min_length": 100, "password_max_length": 80},
            {"password_max_length": "must not be below the minimum length"},
        ),
        ({"lockout_attempts": 0}, {"lockout_attempts": "must be at least 1"}),
        ({"lockout_minutes": 20000}, {"lockout_minutes": "must be at most 10080"}),
        ({"audit_retention_days": 7}, {"audit_retention_days": "must be at least 30"}),
        ({"attachment_max_bytes": 10}, {"attachment_max_bytes": "must be at least 1 KB"}),
        ({"waive_limit": 0}, {"waive_limit": "must be at least 1"}),
        ({"debt_limit_minor": -100}, {"debt_limit_minor": "must not be negative"}),
        ({"currency": "EURO"},
         {"currency": "is not an ISO 4217 currency code (e.g. EUR, CHF, USD)"}),
        ({"smtp_port": 70000}, {"smtp_port": "must be at most 65535"}),
        ({"smtp_security": "tls"}, {"smtp_security": "must be one of starttls, ssl, none"}),
        ({"smtp_host": "mail.example.org"},
         {"smtp_from": "is required when an SMTP server is set"}),
        ({"smtp_host": "bad host!"}, {"smtp_host": "is not a host name or IPv4 address"}),
        ({"id_prefix": "P 1"}, {"id_prefix": "may hold up to 20 letters, digits, - or _"}),
        ({"id_digits": 3, "id_next": 1000}, {"id_next": "does not fit in 3 digits"}),
        ({"phone_default_region": "XX"}, {"phone_default_region": "is not a region code phone "
                                          "numbers know (e.g. CH, FR, US)"}),
        ({"password_require_digit": "yes"}, {"password_require_digit": "must be bool"}),
        ({"colour": "red"}, {"colour": "is not a known setting"}),
    ],
)  # fmt: skip
def test_a_value_breaking_a_rule_is_refused_with_the_reason(changes, expected) -> None:
    assert refused(changes) == expected


def test_a_regex_must_compile_and_fit_the_generated_identifiers() -> None:
    errors = refused({"email_regex": "[unclosed"})
    assert errors["email_regex"].startswith("is not a valid regular expression")
    errors = refused({"primary_identifier_regex": r"\d{8}"})
    assert errors == {
        "id_prefix": "the next generated identifier P0000001 does not match the primary "
        "identifier format"
    }
    check_settings({"primary_identifier_regex": r"P\d{7}"}, Settings())


def test_mandatory_fields_are_known_fields_of_known_record_types() -> None:
    base = Settings().mandatory_fields
    errors = refused({"mandatory_fields": {**base, "pirate": ["last_name", "primary_id"]}})
    assert "'pirate' is not a record type" in errors["mandatory_fields"]
    errors = refused({"mandatory_fields": {**base, "public": ["last_name", "primary_id", "shoe"]}})
    assert "public: shoe cannot be made mandatory" in errors["mandatory_fields"]
    errors = refused({"mandatory_fields": {**base, "contact": ["primary_id"]}})
    assert errors == {
        "mandatory_fields": "contact: last name and primary identifier are always mandatory"
    }
    check_settings(
        {"mandatory_fields": {**base, "contact": ["last_name", "primary_id", "phone"]}}, Settings()
    )


def test_what_a_form_holds_is_typed_and_shown_back() -> None:
    assert parse_setting("attachment_max_bytes", "5 MB", "EUR") == 5 * 1024 * 1024
    assert parse_setting("attachment_max_bytes", "512kb", "EUR") == 512 * 1024
    assert parse_setting("debt_limit_minor", "25.50", "EUR") == 2550
    assert parse_setting("lockout_minutes", "1,440", "EUR") == 1440
    assert parse_setting("password_require_digit", False, "EUR") is False
    assert parse_setting("currency", " chf ", "EUR") == "CHF"
    with pytest.raises(ValidationError):
        parse_setting("lockout_minutes", "half an hour", "EUR")
    with pytest.raises(ValidationError):
        parse_setting("attachment_max_bytes", "5 parsecs", "EUR")
    assert format_setting("attachment_max_bytes", 5 * 1024 * 1024, "EUR") == "5 MB"
    assert format_setting("debt_limit_minor", 2550, "EUR") == "25.50 EUR"
    assert format_setting("debt_limit_minor", 0, "EUR") == "no limit"
    assert format_setting("smtp_password", "s3cret", "EUR") == "(set)"


def test_changes_are_checked_together_stored_and_audited(db) -> None:
    last = last_event_id()
    changed = update_settings(
        {"lockout_attempts": 3, "lockout_minutes": 30, "smtp_password": "s3cret"}, admin(db)
    )
    assert changed == ["lockout_attempts", "smtp_password"]
    settings = load_settings()
    assert (settings.lockout_attempts, settings.smtp_password) == (3, "s3cret")
    events = [(e.entity, e.field, e.old_value, e.new_value, e.account_id, e.actor)
              for e in events_after(last)]  # fmt: skip
    assert events == [
        ("setting", "lockout_attempts", "5", "3", None, "admin"),
        ("setting", "smtp_password", "(changed)", "(changed)", None, "admin"),
    ]
    # An empty SMTP password in a form means "unchanged".
    assert update_settings({"smtp_password": ""}, admin(db)) == []
    assert load_settings().smtp_password == "s3cret"
    # One bad value refuses the whole change.
    with pytest.raises(ValidationError) as err:
        update_settings({"lockout_attempts": 4, "lockout_minutes": 0}, admin(db))
    assert set(err.value.errors) == {"lockout_minutes"}
    assert load_settings().lockout_attempts == 3


def test_a_stored_value_breaking_a_rule_does_not_block_other_changes(db) -> None:
    set_setting("password_min_length", 4)  # written before the rule existed
    assert update_settings({"lockout_attempts": 4}, admin(db)) == ["lockout_attempts"]
    with pytest.raises(ValidationError):
        update_settings({"password_min_length": 5}, admin(db))


def test_only_administrators_change_settings(db) -> None:
    with pytest.raises(PermissionDenied):
        update_settings({"lockout_attempts": 3}, as_staff(db, Role.USER_MANAGER))
    assert load_settings().lockout_attempts == 5


def test_id_generation_follows_the_settings(db) -> None:
    update_settings({"id_prefix": "LIB-", "id_next": 42, "id_digits": 4}, admin(db))
    assert next_primary_id() == "LIB-0042"
    assert load_settings().id_next == 43
    assert json.loads(json.dumps(load_settings().mandatory_fields))
