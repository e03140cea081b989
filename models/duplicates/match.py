"""The score of a pair of people and the reasons for it, in words staff read in the panel and
the scan ("same email", "name sounds alike, same birth date").

The score (0 to 100) adds up the evidence: half of it is the names' likeness (the better of the
names as they are and swapped: first and last names typed the wrong way round), then a shared
birth date, email, phone or identifier add to it and two different birth dates take from it
(two people with one name and different birth dates are two people). `MIN_SCORE` is where a
pair becomes a likely duplicate.

Names are compared in their plain form (`keys.plain`: ü = ue = u, ß = ss, any script in ASCII)
with rapidfuzz: the best of the indel ratio and the optimal-string-alignment similarity (a
transposed pair of letters is one edit), and a name that sounds the same (`keys.sound`) counts
as at least 90.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from models.duplicates.keys import plain, sound

MIN_SCORE = 60  # the scan's default; the typing panel shows from TYPING_MIN_SCORE
TYPING_MIN_SCORE = 40

NAME_WEIGHT = 0.5
BIRTH_SAME, BIRTH_DIFFERENT = 25, -30
EMAIL_SAME, PHONE_SAME, IDENTIFIER_SAME = 25, 15, 30
SOUND_FLOOR = 90.0
LIKE = 80.0  # names this alike are "spelled alike"
# Two first names less alike than this, with one last name, are two people (twins, siblings,
# a married couple), and so are two last names with one first name, unless an email, a phone or
# an identifier says otherwise: the names' likeness is then at most OTHER_NAME. Measured at
# 1,000,000 demo users: such pairs were 9 in 10 of the scan's false duplicates (same last name
# and birth date, "Tanner, Beda" and "Tanner, Ilenia"); a typo, transposed letters or dropped
# accents keep a name above it. (A name changed by marriage is found by the email or phone it
# kept: 50 + 25 for the birth date + 25 for the email.)
NAME_DIFFERENT = 60.0
OTHER_NAME = 50.0


@dataclass(frozen=True)
class Profile:
    """What a person is matched on: names, birth date, and the folded keys of their emails,
    phones (digits) and identifiers."""

    person_id: int | None
    last_name: str
    first_name: str = ""
    birth_date: dt.date | None = None
    emails: frozenset[str] = field(default_factory=frozenset)
    phones: frozenset[str] = field(default_factory=frozenset)
    identifiers: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Verdict:
    score: int
    reasons: tuple[str, ...]

    @property
    def why(self) -> str:
        return ", ".join(self.reasons)


def name_similarity(a: str, b: str) -> float:
    """0 to 100: how alike two names are, in their plain form."""
    pa, pb = plain(a), plain(b)
    if not pa or not pb:
        return 0.0
    if pa == pb:
        return 100.0
    best = max(fuzz.ratio(pa, pb), OSA.normalized_similarity(pa, pb) * 100)
    if sound(a) == sound(b):
        best = max(best, SOUND_FLOOR)
    return best


def names_likeness(
    last_a: str, first_a: str, last_b: str, first_b: str
) -> tuple[float, str | None]:
    """The names' likeness (0 to 100) and its reason (None: not alike)."""
    straight_last = name_similarity(last_a, last_b)
    if plain(first_a) and plain(first_b):
        straight = 0.6 * straight_last + 0.4 * name_similarity(first_a, first_b)
        swapped = 0.6 * name_similarity(last_a, first_b) + 0.4 * name_similarity(first_a, last_b)
    else:  # a first name missing: the last names alone
        straight, swapped = 0.9 * straight_last, 0.0
        if straight < LIKE * 0.9:
            return straight, None
        if plain(last_a) == plain(last_b):
            same = last_a == last_b
            return straight, "same last name" if same else "same last name but for accents"
        if sound(last_a) == sound(last_b):
            return straight, "last name sounds alike"
        return straight, "last name spelled alike"
    if swapped > straight and swapped >= LIKE:
        return swapped, "first and last names swapped"
    if min(straight_last, name_similarity(first_a, first_b)) < NAME_DIFFERENT:
        return min(straight, OTHER_NAME), None
    if straight < LIKE:
        return straight, None
    if plain(last_a) == plain(last_b) and plain(first_a) == plain(first_b):
        if (last_a, first_a) == (last_b, first_b):
            return straight, "same name"
        return straight, "same name but for accents or spelling"
    if sound(last_a) == sound(last_b) and sound(first_a) == sound(first_b):
        return straight, "name sounds alike"
    return straight, "name spelled alike"


def combine(
    likeness: float,
    name_reason: str | None,
    *,
    birth: bool | None,
    email: bool = False,
    phone: bool = False,
    identifier: bool = False,
) -> Verdict:
    """The score of the evidence: `birth` True (same), False (both known, different) or None."""
    score = NAME_WEIGHT * likeness
    reasons = [name_reason] if name_reason else []
    if birth is True:
        score += BIRTH_SAME
        reasons.append("same birth date")
    elif birth is False:
        score += BIRTH_DIFFERENT
        reasons.append("different birth date")
    for same, points, reason in (
        (email, EMAIL_SAME, "same email"),
        (phone, PHONE_SAME, "same phone"),
        (identifier, IDENTIFIER_SAME, "same identifier"),
    ):
        if same:
            score += points
            reasons.append(reason)
    return Verdict(max(0, min(100, round(score))), tuple(reasons))


def compare(a: Profile, b: Profile) -> Verdict:
    """How likely `a` and `b` are one person, and why."""
    likeness, reason = names_likeness(a.last_name, a.first_name, b.last_name, b.first_name)
    birth = None
    if a.birth_date is not None and b.birth_date is not None:
        birth = a.birth_date == b.birth_date
    return combine(
        likeness,
        reason,
        birth=birth,
        email=bool(a.emails & b.emails),
        phone=bool(a.phones & b.phones),
        identifier=bool(a.identifiers & b.identifiers),
    )
