"""Field rules: each checker accepts good input in its clean form and refuses bad input in words."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.access.passwords import password_problems
from models.config.config_settings import SETTING_KEYS, check_settings, info, parse_setting
from models.config.settings import Settings
from models.errors import ValidationError
from models.fees.money import parse_amount
from models.users.validation import (
    FieldError,
    Problems,
    check_birth_date,
    check_country,
    check_email,
    check_identifier,
    check_language,
    check_not_past,
    check_phone,
    check_pin,
    check_regex,
    check_username,
    parse_date,
)

TODAY = dt.date(2026, 11, 23)


def test_email_syntax_is_checked_without_dns() -> None:
    assert check_email("  anna.muller@example.org ") == "anna.muller@example.org"
    assert check_email("Jörg@Bücher.example") == "Jörg@bücher.example"
    for bad in ("anna", "anna@", "@example.org", "a b@example.org", "anna@@example.org"):
        with pytest.raises(FieldError, match="not a valid email"):
            check_email(bad)


def test_email_regex_from_settings_applies() -> None:
    with pytest.raises(FieldError, match="expected format"):
        check_email("anna@gmail.com", r".*@uni\.example")
    assert check_email("anna@uni.example", r".*@uni\.example")


def test_phone_is_stored_in_international_form() -> None:
    assert check_phone("+41 22 379 00 00") == "+41223790000"
    assert check_phone("022 379 00 00", default_region="CH") == "+41223790000"
    with pytest.raises(FieldError, match="start with \\+"):
        check_phone("022 379 00 00")
    with pytest.raises(FieldError, match="not a valid phone number"):
        check_phone("+41 22 379")


def test_country_and_language_codes_come_from_iso_tables() -> None:
    assert check_country("ch") == "CH"
    assert check_country("CHE") == "CH"
    assert check_country("Switzerland") == "CH"
    with pytest.raises(FieldError, match="not a known country"):
        check_country("Narnia")
    assert check_language("fr") == "fr"
    # "en" is also the name of another language (ISO 639-3 "enc"): codes come first.
    assert check_language("en") == "en"
    assert check_language("EN") == "en"
    assert check_language("fre") == "fr"  # bibliographic codes (RERO ILS writes them)
    assert check_language("German") == "de"
    assert check_language("deu") == "de"
    with pytest.raises(FieldError, match="not a known language"):
        check_language("klingon-ish")


def test_dates_are_typed_as_iso_and_expiry_cannot_be_past() -> None:
    assert parse_date("2027-01-31") == dt.date(2027, 1, 31)
    assert parse_date("") is None
    with pytest.raises(FieldError, match="YYYY-MM-DD"):
        parse_date("31/01/2027")
    with pytest.raises(FieldError, match="YYYY-MM-DD"):
        parse_date("2027-02-30")
    assert check_not_past(TODAY, TODAY) == TODAY
    with pytest.raises(FieldError, match="past"):
        check_not_past(TODAY - dt.timedelta(days=1), TODAY)
    with pytest.raises(FieldError, match="future"):
        check_birth_date(TODAY + dt.timedelta(days=1), TODAY)


def test_pin_is_four_digits() -> None:
    assert check_pin("0042") == "0042"
    for bad in ("42", "12345", "12a4", "", "١٢٣٤"):
        with pytest.raises(FieldError, match="4 digits"):
            check_pin(bad)


def test_identifier_regex_and_spaces() -> None:
    assert check_identifier(" P0001 ", r"P\d{4}") == "P0001"
    with pytest.raises(FieldError, match="spaces"):
        check_identifier("P 0001")
    with pytest.raises(FieldError, match="expected format"):
        check_identifier("X0001", r"P\d{4}")
    with pytest.raises(FieldError, match="required"):
        check_identifier("   ")


def test_problems_gather_every_field_in_order() -> None:
    p = Problems()
    p.check("email", check_email, "nope")
    p.check("pin", check_pin, "1")
    p.check("country", check_country, "CH")
    assert list(p.errors) == ["email", "pin"]
    with pytest.raises(Exception) as info:
        p.raise_if_any()
    assert info.value.errors["pin"] == "must be exactly 4 digits"


# The validators face whatever a terminal, an import file or a fuzzer sends them: they may refuse,
# but only ever with FieldError or ValidationError (a message per field), and otherwise return
# a value of their type.


def _password(value: str) -> None:
    assert all(isinstance(p, str) and p for p in password_problems(value, Settings()))


def _setting(key: str):
    """A setting typed in the Configuration form: read as its type, then checked."""
    return lambda v: check_settings({key: parse_setting(key, v, "CHF")}, Settings())


# Each validator gets FUZZ_CASES strings of its own: name -> (validator, what it returns).
FUZZ_CASES = 300
_CHECKERS = {
    "email": (check_email, str),
    "phone": (check_phone, str),
    "country": (check_country, str),
    "language": (check_language, str),
    "pin": (check_pin, str),
    "identifier": (check_identifier, str),
    "date": (parse_date, dt.date | None),
    "regex": (lambda v: check_regex(v, r"[A-Z]+\d*"), str),
    "username": (check_username, str),
    "password": (_password, type(None)),
    "amount-CHF": (lambda v: parse_amount(v, "CHF"), int),
    "amount-JPY": (lambda v: parse_amount(v, "JPY"), int),
    **{
        f"setting-{key}": (_setting(key), Settings)
        for key in SETTING_KEYS
        if info(key).kind != "mandatory"
    },
}


@pytest.mark.parametrize(("checker", "returns"), list(_CHECKERS.values()), ids=list(_CHECKERS))
@settings(max_examples=FUZZ_CASES, deadline=None)
@given(value=st.text(max_size=400))
def test_validators_never_crash_on_any_string(checker, returns, value: str) -> None:
    try:
        result = checker(value)
    except FieldError as exc:
        assert str(exc)
    except ValidationError as exc:
        assert exc.errors and all(exc.errors.values())
    else:
        assert isinstance(result, returns)
