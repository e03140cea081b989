"""Password and PIN policy and hashing (argon2id through argon2-cffi's `PasswordHasher`)."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from models.config.settings import Settings
from models.runtime import runtime

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


# --- Bounds of a stored argon2 hash ------------------------------------------------------------
#
# An argon2 hash carries its own cost: `$argon2id$v=19$m=65536,t=3,p=4$salt$tag` makes whoever
# checks it spend m KiB of memory, t passes over it, on p lanes. A hash from an import file (or
# written into the database) with m = 4 GiB or t = 100,000 would cost seconds and gigabytes at
# every login attempt, from the login screen, for anyone who types the username. So a hash is
# checked against these bounds before argon2 runs, and one out of bounds never verifies (the
# person has no usable password until a reset), and an import keeps only hashes within them.
#
# The bounds are a few times the usual settings (OWASP: 19 MiB, t=2, p=1; argon2-cffi and
# RFC 9106 low-memory: 64 MiB, t=3, p=4; Django: 100 MiB, t=2, p=8), so hashes from other
# systems come in, or the configured parameters when an administrator set them higher:
MAX_MEMORY_KIB = 256 * 1024  # 256 MiB
MAX_TIME_COST = 10
MAX_PARALLELISM = 16
MAX_WORK_KIB = 512 * 1024  # memory x passes: 512 MiB-passes, about 0.6 s on two cores
# Salt 8 to 64 bytes, tag 4 to 64 bytes (unpadded base64); version 1.0 (v=16) or 1.3 (v=19).
_ENCODED = re.compile(
    r"\$(argon2id|argon2i|argon2d)\$(?:v=(16|19)\$)?m=([0-9]{1,10}),t=([0-9]{1,10}),p=([0-9]{1,3})"
    r"\$([A-Za-z0-9+/]{11,86})\$([A-Za-z0-9+/]{6,86})",
    re.ASCII,
)


@dataclass(frozen=True)
class HashBounds:
    memory_kib: int
    time_cost: int
    parallelism: int
    work_kib: int

    def allows(self, memory_kib: int, time_cost: int, parallelism: int) -> bool:
        return (
            8 * parallelism <= memory_kib <= self.memory_kib
            and 1 <= time_cost <= self.time_cost
            and 1 <= parallelism <= self.parallelism
            and memory_kib * time_cost <= self.work_kib
        )


def hash_bounds(settings: Settings) -> HashBounds:
    """The largest cost a stored hash may ask for: the fixed bounds above, or the configured
    parameters when they are higher (the app's own hashes always verify)."""
    h = hasher(settings)
    return HashBounds(
        memory_kib=max(MAX_MEMORY_KIB, h.memory_cost),
        time_cost=max(MAX_TIME_COST, h.time_cost),
        parallelism=max(MAX_PARALLELISM, h.parallelism),
        work_kib=max(MAX_WORK_KIB, h.memory_cost * h.time_cost),
    )


def hash_within_bounds(encoded: str | None, settings: Settings) -> bool:
    """True when `encoded` is a well-formed argon2 hash whose cost is within `hash_bounds`.
    Parsed here, strictly, before argon2 sees it; anything else (not argon2, malformed, too
    costly) is False."""
    if not isinstance(encoded, str) or len(encoded) > 256:
        return False
    match = _ENCODED.fullmatch(encoded)
    if match is None:
        return False
    memory, time_cost, lanes = (int(match.group(i)) for i in (3, 4, 5))
    return hash_bounds(settings).allows(memory, time_cost, lanes)


class _DummyHash:
    """A hash of nothing, made once per parameter set: checked instead of a missing, foreign or
    out-of-bounds hash (and for an unknown login), so that every check costs the same."""

    def __init__(self) -> None:
        self._cache: dict[tuple, str] = {}

    def get(self, settings: Settings) -> str:
        h = hasher(settings)
        key = (h.time_cost, h.memory_cost, h.parallelism, h.hash_len, h.salt_len, h.type)
        if key not in self._cache:
            self._cache[key] = h.hash("not a password")
        return self._cache[key]


DUMMY_HASH = _DummyHash()


def verify_secret(stored_hash: str | None, secret: str, settings: Settings) -> bool:
    """Whether `secret` matches `stored_hash`. Always exactly one argon2 check at the configured
    cost: a missing hash, or one out of bounds (`hash_within_bounds`), is never opened; the
    dummy hash is checked instead and the answer is False."""
    usable = hash_within_bounds(stored_hash, settings)
    try:
        matched = hasher(settings).verify(
            stored_hash if usable else DUMMY_HASH.get(settings), secret
        )
    except _argon2_errors():
        return False
    return bool(matched and usable)


def needs_rehash(stored_hash: str, settings: Settings) -> bool:
    try:
        return hasher(settings).check_needs_rehash(stored_hash)
    except _argon2_errors()[1]:
        return True


# Letters and digits nobody misreads when a password is read out over a counter or copied from
# a screen: no 0/O/o and no 1/I/l, and no punctuation to name aloud.
UNAMBIGUOUS = "".join(c for c in string.ascii_letters + string.digits if c not in "0Oo1Il")


def generate_password(settings: Settings, length: int = 14, *, unambiguous: bool = True) -> str:
    """A random password that meets the policy (for "Generate" and password resets). Someone
    reads it out to the user, so by default it is made of `UNAMBIGUOUS` characters only
    (56 of them: 14 characters still carry over 80 bits)."""
    length = max(length, settings.password_min_length, 4)
    alphabet = UNAMBIGUOUS if unambiguous else string.ascii_letters + string.digits + "-_.!"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if not password_problems(candidate, settings):
            return candidate


def generate_pin() -> str:
    return f"{secrets.randbelow(10_000):04d}"


def _argon2_errors() -> tuple[type[Exception], type[Exception]]:
    from argon2.exceptions import InvalidHashError, VerificationError

    return VerificationError, InvalidHashError
