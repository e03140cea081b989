"""Password and PIN policy and hashing (argon2id through argon2-cffi's `PasswordHasher`)."""

from __future__ import annotations

import secrets
import string
from functools import cache
from typing import TYPE_CHECKING

from models.runtime import runtime
from models.settings import Settings

if TYPE_CHECKING:
    from argon2 import PasswordHasher


@cache
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords from leaked sets, ranked; a well-kept list
    # beats one typed by hand.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, settings: Settings) -> list[str]:
    """Every rule the password breaks, in words (empty list: acceptable).

    Screens call this as the user types; services call it before hashing.
    """
    problems: list[str] = []
    if len(password) < settings.password_min_length:
        problems.append(f"at least {settings.password_min_length} characters")
    if len(password) > settings.password_max_length:
        problems.append(f"at most {settings.password_max_length} characters")
    if settings.password_require_lower and not any(c.islower() for c in password):
        problems.append("a lowercase letter")
    if settings.password_require_upper and not any(c.isupper() for c in password):
        problems.append("an uppercase letter")
    if settings.password_require_digit and not any(c.isdigit() for c in password):
        problems.append("a digit")
    if "\x00" in password:
        problems.append("no NUL character")
    if settings.password_refuse_common and password.casefold() in _common_passwords():
        problems.append("not a commonly used password")
    return problems


def policy_text(settings: Settings) -> str:
    parts = [f"{settings.password_min_length} to {settings.password_max_length} characters"]
    if settings.password_require_lower:
        parts.append("a lowercase letter")
    if settings.password_require_upper:
        parts.append("an uppercase letter")
    if settings.password_require_digit:
        parts.append("a digit")
    if settings.password_refuse_common:
        parts.append("not a common password")
    return "Password: " + ", ".join(parts) + "."


def problems_message(problems: list[str]) -> str:
    return "needs " + ", ".join(problems)


def hasher(settings: Settings) -> PasswordHasher:
    from argon2 import PasswordHasher, Type  # loaded at the first hash, not at start

    if runtime.hasher is not None:
        return runtime.hasher
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        type=Type.ID,
    )


def hash_secret(secret: str, settings: Settings) -> str:
    return hasher(settings).hash(secret)


def verify_secret(stored_hash: str | None, secret: str, settings: Settings) -> bool:
    if not stored_hash:
        return False
    try:
        return hasher(settings).verify(stored_hash, secret)
    except _argon2_errors():
        return False


def needs_rehash(stored_hash: str, settings: Settings) -> bool:
    try:
        return hasher(settings).check_needs_rehash(stored_hash)
    except _argon2_errors()[1]:
        return True


def generate_password(settings: Settings, length: int = 14) -> str:
    """A random password that meets the policy (for "Generate" and password resets)."""
    length = max(length, settings.password_min_length, 4)
    alphabet = string.ascii_letters + string.digits + "-_.!"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if not password_problems(candidate, settings):
            return candidate


def generate_pin() -> str:
    return f"{secrets.randbelow(10_000):04d}"


def _argon2_errors() -> tuple[type[Exception], type[Exception]]:
    from argon2.exceptions import InvalidHashError, VerificationError

    return VerificationError, InvalidHashError
