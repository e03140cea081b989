"""Text folding shared by storage and search: case- and accent-insensitive keys."""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD does not split into base + accent but that a librarian types plainly.
_EXTRA = str.maketrans(
    {
        "ø": "o",
        "Ø": "o",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ı": "i",
        "þ": "th",
        "Þ": "th",
    }
)

# Anything that is not a letter or a digit separates words.
_WORD_SPLIT = re.compile(r"[^\w]+|_")


def fold(text: str | None) -> str:
    """Lower-case, accent-free form of `text` ("Müller" -> "muller", "Øster" -> "oster")."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.translate(_EXTRA))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def name_words(*names: str | None) -> str:
    """The folded, de-duplicated words of a person's names, in order, for the search index.

    "Müller-Lüdenscheidt", "Anne Marie" -> "muller ludenscheidt anne marie": hyphens and other
    punctuation split words, so each part of a compound name matches by prefix.
    """
    seen: dict[str, None] = {}
    for name in names:
        for word in _WORD_SPLIT.split(fold(name)):
            if word:
                seen.setdefault(word, None)
    return " ".join(seen)
