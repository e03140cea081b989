"""Pools built with Faker: names, addresses, companies and phone numbers per locale, once per
seed."""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

import phonenumbers

from models.demo.data import (
    LOCALES,
    DemoLocale,
)


@dataclass(frozen=True)
class LocalePool:
    locale: DemoLocale
    female: tuple[str, ...]
    male: tuple[str, ...]
    last: tuple[str, ...]
    addresses: tuple[tuple[str, str, str, str, str], ...]  # line1, line2, city, state, postcode
    companies: tuple[str, ...]
    mobiles: tuple[str, ...]  # E.164
    landlines: tuple[str, ...]


@functools.cache
def _faker(locale: str):  # noqa: ANN202
    from faker import Faker

    fake = Faker(locale)
    # Faker's it_IT `cities` is a list made from a set, so its order (and the city a seed
    # draws) changes with the interpreter's string hash seed: sort it so that the same seed gives
    # the same data in every process (a test compares two processes).
    for provider in fake.get_providers():
        if isinstance(getattr(provider, "cities", None), list):
            provider.cities = sorted(provider.cities)
    return fake


def _phone_pool(region: str, kind: int, rng: random.Random, size: int) -> tuple[str, ...]:
    """Valid numbers of one type: libphonenumber's example number with random trailing digits,
    kept only when libphonenumber says the result is a valid number of that type."""
    example = phonenumbers.format_number(
        phonenumbers.example_number_for_type(region, kind), phonenumbers.PhoneNumberFormat.E164
    )
    keep = max(len(example) - 7, 5)
    accepted = {kind, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
    found: list[str] = []
    for _ in range(size * 20):
        candidate = example[:keep] + "".join(
            str(rng.randrange(10)) for _ in range(len(example) - keep)
        )
        number = phonenumbers.parse(candidate)
        if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in accepted:
            found.append(candidate)
            if len(found) == size:
                break
    return tuple(found) or (example,)


def _clean(text: str) -> str:
    return " ".join(text.split())


@functools.lru_cache(maxsize=4)
def build_pools(pool_seed: int, size: int = 200) -> tuple[LocalePool, ...]:
    """Names, addresses, companies and phone numbers per locale; deterministic for a seed."""
    rng = random.Random(pool_seed)
    pools = []
    for locale in LOCALES:
        fake = _faker(locale.faker)
        fake.seed_instance(rng.getrandbits(64))
        addresses = []
        for _ in range(size):
            lines = [_clean(x) for x in fake.street_address().split("\n") if x.strip()]
            state = _clean(getattr(fake, locale.state)()) if locale.state else ""
            addresses.append(
                (
                    lines[0],
                    " ".join(lines[1:]),
                    _clean(fake.city()),
                    state,
                    _clean(fake.postcode()),
                )
            )
        phone_rng = random.Random(rng.getrandbits(64))
        pools.append(
            LocalePool(
                locale=locale,
                female=tuple(_clean(fake.first_name_female()) for _ in range(size)),
                male=tuple(_clean(fake.first_name_male()) for _ in range(size)),
                last=tuple(_clean(fake.last_name()) for _ in range(size * 2)),
                addresses=tuple(addresses),
                companies=tuple(_clean(fake.company()) for _ in range(size // 2)),
                mobiles=_phone_pool(
                    locale.country, phonenumbers.PhoneNumberType.MOBILE, phone_rng, size
                ),
                landlines=_phone_pool(
                    locale.country, phonenumbers.PhoneNumberType.FIXED_LINE, phone_rng, size
                ),
            )
        )
    return tuple(pools)
