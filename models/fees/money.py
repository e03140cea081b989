"""Money: integer minor units in the database, `Decimal` in code, never floats."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import pycountry

from models.errors import ValidationError


def minor_digits(currency: str) -> int:
    """Digits after the decimal point for an ISO 4217 currency (EUR 2, JPY 0, KWD 3)."""
    return {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3}.get(
        currency.upper(), 2
    )


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-minor_digits(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    digits = minor_digits(currency)
    return int((amount.scaleb(digits)).to_integral_value(rounding=ROUND_HALF_EVEN))


def parse_amount(text: str, currency: str, *, field: str = "amount") -> int:
    """Typed text ("12.50", "12,50", "12") to minor units; more decimals than the currency has
    is an error, not a silent rounding."""
    cleaned = text.strip().replace("'", "").replace(" ", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationError(
            {field: f"Not an amount: {text!r} (type for example 12.50)"}
        ) from None
    if not value.is_finite():
        raise ValidationError({field: f"Not an amount: {text!r}"})
    digits = minor_digits(currency)
    if -value.as_tuple().exponent > digits:
        raise ValidationError({field: f"{currency} has {digits} decimal places at most"})
    return to_minor(value, currency)


def format_money(minor: int, currency: str) -> str:
    """12345 EUR -> "123.45 EUR"."""
    digits = minor_digits(currency)
    amount = to_decimal(minor, currency)
    return f"{amount:,.{digits}f} {currency.upper()}"


def is_currency(code: str) -> bool:
    return pycountry.currencies.get(alpha_3=code.upper()) is not None
