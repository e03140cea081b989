"""Field rules shared by every front end: each checker returns the clean value or raises
`FieldError` with a human message; `Problems` gathers them into one `ValidationError`."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from urllib.parse import urlsplit

from models.errors import ValidationError
from models.text import is_ignorable, normalize_lines, normalize_username, unsafe_problem


class FieldError(ValueError):
    """One field's problem, in words for the person who typed it."""


class Problems:
    """Collects every failing field so the form can show all messages at once."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def check(self, field: str, checker, *args, **kwargs):  # noqa: ANN001, ANN201
        """Run `checker(*args)`; on `FieldError` record it under `field` and return None."""
        try:
            return checker(*args, **kwargs)
        except FieldError as exc:
            self.add(field, str(exc))
            return None

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def clean_text(value: str | None, max_length: int = 200, *, multiline: bool = False) -> str:
    """The one rule of every stored text: trimmed, at most `max_length` characters, and no
    control, bidi or invisible character (`models.text.unsafe_problem`: what is refused and
    why). `multiline` (a letter's message) keeps line feeds and tabs."""
    value = (value or "").strip()
    if multiline:
        value = normalize_lines(value)
    check_characters(value, multiline=multiline)
    if len(value) > max_length:
        raise FieldError(f"is too long (at most {max_length} characters)")
    return value


def check_characters(value: str, *, multiline: bool = False, joiners: bool = True) -> str:
    """Refuse control, bidi and invisible characters with a message for the field."""
    problem = unsafe_problem(value, multiline=multiline, joiners=joiners)
    if problem:
        raise FieldError(problem)
    return value


def check_email(value: str, pattern: str = "") -> str:
    """Syntax only (no DNS lookup): a desk has no business waiting on the network."""
    value = (value or "").strip()
    if not value:
        raise FieldError("is required")
    if len(value) > 320:
        raise FieldError("is too long (at most 320 characters)")
    try:
        from email_validator import validate_email  # imported on first use: faster start

        normalized = validate_email(value, check_deliverability=False).normalized
    except _email_error() as exc:
        raise FieldError(f"is not a valid email address: {exc}") from None
    except Exception:  # noqa: BLE001 - the library may raise on exotic input; never crash a form
        raise FieldError("is not a valid email address") from None
    check_regex(normalized, pattern)
    return normalized


def check_phone(value: str, default_region: str = "", pattern: str = "") -> str:
    """Returns the number in E.164 form (+41223790000), and its extension after " ext. "."""
    value = (value or "").strip()
    if not value:
        raise FieldError("is required")
    if len(value) > 40:
        raise FieldError("is too long (at most 40 characters)")
    fast = _e164_fast(value)
    if fast is not None:
        return check_regex(fast, pattern)
    return parsed_phone(value, default_region, pattern)


def parsed_phone(value: str, default_region: str = "", pattern: str = "") -> str:
    """`check_phone` by phonenumbers' parser alone (no fast path), of a trimmed value."""
    import phonenumbers  # imported on first use: faster start

    try:
        number = phonenumbers.parse(value, default_region or None)
    except phonenumbers.NumberParseException:
        hint = "" if default_region else " (start with + and the country code)"
        raise FieldError(f"is not a phone number{hint}") from None
    if not phonenumbers.is_valid_number(number):
        raise FieldError("is not a valid phone number for its country")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    check_regex(e164, pattern)
    if number.extension:  # "x12", "ext. 12", "#12": kept, as phonenumbers reads it back
        return f"{e164} ext. {number.extension}"
    return e164


_E164 = re.compile(r"\+([1-9][0-9]{6,14})")


def _e164_fast(value: str) -> str | None:
    """`check_phone`'s fast path (an import checks a phone a user): a number typed in E.164
    form ("+" and digits only), checked by phonenumbers' own validity rule without its parser
    (which costs four fifths of the check). The country code is read as the parser reads it
    (the shortest prefix that is one), and the number is left to the parser whenever the
    parser would read it differently: a national number starting with 0 (Italian leading
    zeros), one the region's national prefix rule would strip, or one that is not valid (the
    parser says why). None: not sure, the full check decides. A test checks that both agree."""
    m = _E164.fullmatch(value)
    if m is None:
        return None
    try:
        import phonenumbers
        from phonenumbers import phonenumberutil as pnu

        digits = m.group(1)
        for n in (1, 2, 3):
            code = int(digits[:n])
            if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                break
        else:
            return None
        national = digits[n:]
        if len(national) < 2 or national[0] == "0":
            return None
        region = pnu.region_code_for_country_code(code)
        metadata = pnu.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if metadata is None:
            return None
        _, stripped, _ = pnu._maybe_strip_national_prefix_carrier_code(national, metadata)
        if stripped != national:
            return None
        number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
        if not phonenumbers.is_valid_number(number):
            return None
    except Exception:  # noqa: BLE001 - a library change: the full check decides
        return None
    return f"+{code}{national}"


def check_country(value: str) -> str:
    """ISO 3166-1: accepts "CH", "CHE" or "Switzerland"; returns the alpha-2 code."""
    value = (value or "").strip()
    if not value:
        raise FieldError("is required")
    try:
        import pycountry  # imported on first use: faster start

        return pycountry.countries.lookup(value).alpha_2
    except LookupError:
        raise FieldError("is not a known country (use a code such as CH or FR)") from None


def check_language(value: str) -> str:
    """ISO 639: accepts "fr", "fra" or "French"; returns the two-letter code when there is one."""
    value = (value or "").strip()
    if not value:
        raise FieldError("is required")
    import pycountry

    # Codes first: `lookup` alone also matches names, and "en" is the name of a language
    # (ISO 639-3 "enc"), so "en" would not be English.
    low = value.lower()
    language = (
        pycountry.languages.get(alpha_2=low)
        or pycountry.languages.get(alpha_3=low)
        or pycountry.languages.get(bibliographic=low)
    )
    if language is None:
        try:
            language = pycountry.languages.lookup(value)
        except LookupError:
            raise FieldError("is not a known language (use a code such as en, fr or de)") from None
    return getattr(language, "alpha_2", None) or language.alpha_3


def check_regex(
    value: str, pattern: str, message: str = "does not have the expected format"
) -> str:
    if pattern and not re.fullmatch(pattern, value):
        raise FieldError(message)
    return value


def parse_date(value: str | dt.date | None) -> dt.date | None:
    """Dates are typed as YYYY-MM-DD."""
    if value is None or isinstance(value, dt.date):
        return value
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise FieldError("is not a date (use YYYY-MM-DD)") from None


def check_not_past(value: dt.date | None, today: dt.date) -> dt.date | None:
    if value is not None and value < today:
        raise FieldError("cannot be in the past")
    return value


def check_birth_date(value: dt.date | None, today: dt.date) -> dt.date | None:
    if value is None:
        return None
    if value > today:
        raise FieldError("cannot be in the future")
    if value.year < 1900:
        raise FieldError("is before 1900")
    return value


def check_pin(value: str) -> str:
    value = (value or "").strip()
    if not re.fullmatch(r"[0-9]{4}", value):
        raise FieldError("must be exactly 4 digits")
    return value


def check_username(value: str) -> str:
    """NFKC-normalized (full-width or ligature letters become plain ones), no spaces, no
    joiner or other invisible character. Whether it looks like a username already taken is
    `models.users.accounts.username_look_alike`'s question (it needs the database)."""
    value = normalize_username(clean_text(value, 100))
    check_characters(value, joiners=False)  # NFKC may have made what clean_text saw harmless
    if not value:
        raise FieldError("is required")
    if len(value) > 100:
        raise FieldError("is too long (at most 100 characters)")
    if any(ch.isspace() for ch in value):
        raise FieldError("must not contain spaces")
    if any(is_ignorable(ch) for ch in value):
        raise FieldError("must not contain invisible characters")
    return value


URL_SCHEMES = ("http", "https")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def _check_host(host: str) -> None:
    """A host name (letters, digits and hyphens between dots, international names allowed)
    or an IP address."""
    if ":" in host:  # an IPv6 literal ("[::1]" in the URL)
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise FieldError("has a host that is not an IPv6 address") from None
        return
    if host.replace(".", "").isdigit():
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise FieldError("has a host that is not an IPv4 address") from None
        return
    labels = host.removesuffix(".").split(".")
    if len(host) > 253 or not all(labels):
        raise FieldError("has a host name that is not valid")
    for label in labels:
        try:
            ascii_label = label.encode("idna").decode("ascii") if not label.isascii() else label
        except UnicodeError:
            raise FieldError("has a host name that is not valid") from None
        if not _HOST_LABEL.fullmatch(ascii_label.lower()):
            raise FieldError("has a host name that is not valid")


def check_url(value: str | None, max_length: int = 500) -> str:
    """A web address ("" when empty): http:// or https:// and a host, no spaces, no control,
    bidi or invisible character, no user name or password before the host (a link shown to
    staff must go where it says). Stored as typed (trimmed)."""
    value = clean_text(value, max_length)
    if not value:
        return ""
    if any(ch.isspace() for ch in value):
        raise FieldError("must not contain spaces")
    if "\\" in value:
        raise FieldError("must not contain backslashes")
    scheme, colon, rest = value.partition(":")
    if not colon or scheme.lower() not in URL_SCHEMES or not rest.startswith("//"):
        raise FieldError("must start with http:// or https://")
    parts = urlsplit(value)
    if "@" in parts.netloc:
        raise FieldError("must not hold a user name or password before the host")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise FieldError("has a port or a host that is not valid") from None
    if not host:
        raise FieldError("needs a host name after http:// or https://")
    if port == 0:
        raise FieldError("has a port that is not valid")
    _check_host(host)
    return value


def check_identifier(value: str, pattern: str = "") -> str:
    value = clean_text(value, 100)
    if not value.isascii():  # (ASCII holds no joiner: clean_text's check was the whole one)
        check_characters(value, joiners=False)
    if not value:
        raise FieldError("is required")
    if _SPACE.search(value):  # str.isspace's characters (sre's \s is the same test)
        raise FieldError("must not contain spaces")
    return check_regex(value, pattern)


_SPACE = re.compile(r"\s")


LOCAL_CODE_MAX = 50  # characters of one local code


def check_local_codes(value: str | list | None, max_length: int = 2000) -> str:
    """RERO's local codes ("optional, repetitive selection code for local use"): codes
    separated by commas (or one a line), stored as "a, b, c". Each code is at most
    LOCAL_CODE_MAX characters and named once (case does not matter); empty items are dropped.
    A list (RERO's JSON) is its codes."""
    if isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)
    text = clean_text(str(value or "").replace("\r\n", ",").replace("\n", ","), max_length)
    codes: list[str] = []
    seen: set[str] = set()
    for item in text.split(","):
        code = " ".join(item.split())
        if not code:
            continue
        if len(code) > LOCAL_CODE_MAX:
            raise FieldError(f"{code[:20]}…: a code has at most {LOCAL_CODE_MAX} characters")
        if code.casefold() in seen:
            raise FieldError(f"names {code} twice")
        seen.add(code.casefold())
        codes.append(code)
    joined = ", ".join(codes)
    if len(joined) > max_length:
        raise FieldError(f"is too long (at most {max_length} characters)")
    return joined


def _email_error() -> type[Exception]:
    from email_validator import EmailNotValidError

    return EmailNotValidError
