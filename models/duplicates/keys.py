"""What a person is matched on: names folded to plain ASCII the way a librarian would type them
(ü = ue = u, ß = ss, Иванов = Ivanov), their sound (Metaphone), and the indexed blocking key
stored on each person (`person.name_sound_key`, migration 0022).

The blocking key is the person's last and first names' sounds, sorted: "MLR ANN" is the key of
Anna Müller, of Anna Mueller, of Ana Muller and of Müller Anna typed the wrong way round. It is
derived with the other person columns (`models.users.derived.person_derived`), so that every
writer (Quick User, the General tab, the import, the demo generator) keeps it in step; migration
0022 computes it for the people already stored, with a frozen copy of this rule.

Transliteration is anyascii's (every script to ASCII, maintained with Unicode's releases);
jellyfish computes the Metaphone. Both are pure functions of their input.
"""

from __future__ import annotations

import functools
import re

import jellyfish
from anyascii import anyascii

KEY_LENGTH = 100  # the column's width

# German spellings of the umlauts typed without them (Mueller for Müller): "ue" after a
# consonant and "ae", "oe" anywhere read as the vowel alone, as anyascii reads ü, ä, ö.
_UMLAUT_SPELLED = re.compile(r"(?<=[^aeiou\s])ue|ae|oe")
_NOT_LETTER = re.compile(r"[^a-z]+")
_DOUBLE = re.compile(r"(.)\1+")


@functools.lru_cache(maxsize=65536)
def plain(text: str | None) -> str:
    """A name as plain lower-case ASCII words: "Müller-Lüdenscheidt" -> "muller ludenscheidt",
    "Mueller" -> "muller", "Strauß" -> "strauss", "Иванов" -> "ivanov"."""
    if not text:
        return ""
    ascii_text = anyascii(text).lower()
    words = _NOT_LETTER.sub(" ", ascii_text).split()
    return " ".join(_UMLAUT_SPELLED.sub(lambda m: m.group(0)[0], w) for w in words)


@functools.lru_cache(maxsize=65536)
def sound(text: str | None) -> str:
    """The Metaphone of a name's plain form, letters doubled once ("Schmidt", "Schmitt" ->
    "SXMT"); empty for a name with no letter."""
    folded = plain(text).replace(" ", "")
    if not folded:
        return ""
    return _DOUBLE.sub(r"\1", jellyfish.metaphone(folded))


def name_sound_key(last_name: str | None, first_name: str | None) -> str:
    """The blocking key of a person: the sounds of the last and the first name, sorted (so that
    swapped names share it); the last name's alone when there is no first name; empty when
    the last name has no letter."""
    last = sound(last_name)
    if not last:
        return ""
    first = sound(first_name)
    return " ".join(sorted((last, first)) if first else [last])[:KEY_LENGTH]


_DIGITS = re.compile(r"\D+")


def phone_key(number: str | None) -> str:
    """A phone number's digits (stored numbers are E.164: "+41 44 668 18 00" -> "41446681800")."""
    return _DIGITS.sub("", number or "")
