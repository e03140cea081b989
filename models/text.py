"""Text folding shared by storage and search: case- and accent-insensitive keys."""

from __future__ import annotations

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


def fold(text: str | None) -> str:
    """Lower-case, accent-free form of `text` ("Müller" -> "muller", "Øster" -> "oster")."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.translate(_EXTRA))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())
