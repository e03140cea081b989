"""Password policy and argon2id hashing."""

from __future__ import annotations

from argon2 import PasswordHasher

from models.access.passwords import (
    generate_password,
    generate_pin,
    hash_secret,
    needs_rehash,
    password_problems,
    policy_text,
    verify_secret,
)
from models.config.settings import Settings
from models.runtime import configure


def test_default_policy_is_the_seeds_plus_length_and_common_refusal() -> None:
    s = Settings()
    assert password_problems("Quill-Ledger-42", s) == []
    assert password_problems("short1A", s) == ["at least 8 characters"]
    assert password_problems("alllowercase1", s) == ["an uppercase letter"]
    assert password_problems("ALLUPPERCASE1", s) == ["a lowercase letter"]
    assert password_problems("NoDigitsHere", s) == ["a digit"]
    assert "at most 256 characters" in password_problems("Aa1" + "x" * 300, s)


def test_common_passwords_are_refused_whatever_their_case() -> None:
    s = Settings()
    assert "not a commonly used password" in password_problems("Password1", s)
    assert "not a commonly used password" in password_problems("PASSWORD1", s)


def test_any_unicode_is_welcome() -> None:
    s = Settings()
    assert password_problems("Ünïcödé-Pässwört-7", s) == []
    assert password_problems("Ωμέγα-λέξη-9", s) == []


def test_policy_is_configurable() -> None:
    s = Settings(password_min_length=12, password_require_digit=False)
    assert password_problems("Long-Enough-Pass", s) == []
    assert password_problems("Short-Pass", s) == ["at least 12 characters"]
    assert "12 to 256 characters" in policy_text(s)


def test_generated_passwords_and_pins_meet_the_rules() -> None:
    s = Settings()
    for _ in range(50):
        assert password_problems(generate_password(s), s) == []
        pin = generate_pin()
        assert len(pin) == 4 and pin.isdigit()


def test_argon2id_with_owasp_parameters_by_default() -> None:
    configure()  # no test override: parameters come from settings
    s = Settings()
    stored = hash_secret("Quill-Ledger-42", s)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_secret(stored, "Quill-Ledger-42", s)
    assert not verify_secret(stored, "quill-ledger-42", s)
    assert not verify_secret(None, "anything", s)
    assert not verify_secret("legacy$md5$hash", "anything", s)


def test_changed_parameters_ask_for_a_rehash() -> None:
    configure(hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    old = hash_secret("Quill-Ledger-42", Settings())
    configure(hasher=PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    assert needs_rehash(old, Settings())
    assert not needs_rehash(hash_secret("x", Settings()), Settings())
