"""Text folding shared by storage and search: case- and accent-insensitive keys."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import Any

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
    if text.isascii():  # nothing to decompose or translate; ASCII's casefold is lower
        return " ".join(text.lower().split())
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


# --- Hostile characters -------------------------------------------------------------------------
#
# What no stored text may hold (issue 18): a terminal obeys control characters (ESC starts a
# sequence that can retitle the window, clear the screen or, with OSC 52, write the clipboard),
# bidi controls reorder what a reader sees ("invoice\u202egnp.exe"), and invisible characters
# make two different values look the same. Refused in every field a person types; an import
# strips them with a warning (`strip_unsafe`); the screens escape whatever an older database
# still holds (`printable`).
#
# Decisions:
# - Tab and line breaks (LF, CR, U+2028, U+2029) are refused in one-line fields, which are all
#   the fields of a record (every form input is one line, and a table row shows one line). Only
#   multi-line text (a letter's message) keeps line feeds and tabs; CR LF and CR become LF.
# - Zero-width joiner and non-joiner (U+200D, U+200C) are needed inside Persian, Indic and
#   other scripts, and inside emoji sequences: they are accepted between two characters that
#   are neither ASCII nor spaces (ZWNJ in "می‌خواهم", ZWJ in 👩‍💻), and refused anywhere else
#   (at an end, doubled, or next to ASCII, where they only hide a difference: "ad\u200dmin").
#   A username takes neither.
# - Soft hyphen (U+00AD) is refused: terminals do not show it, so it only hides a difference.
# - Every other format character (Unicode category Cf) is refused, except the Arabic, Syriac
#   and Kaithi signs that are drawn (U+0600-0605, U+06DD, U+070F, U+0890-0891, U+08E2,
#   U+110BD, U+110CD). Tag characters (U+E0000-E007F) go with them, which also refuses the
#   flags of Scotland, England and Wales.
# - The Hangul fillers (U+115F, U+1160, U+3164, U+FFA0) are letters that draw nothing: refused.
# - Lone surrogates (from a JSON "\ud800") cannot be stored in PostgreSQL: refused.

_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 (but tab and LF), DEL and C1
_LINES = "\t\n\r\u2028\u2029"
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_JOINERS = "\u200c\u200d"
_INVISIBLE = (
    "\u00ad\u115f\u1160\u180e\u200b\u2060-\u2064\u206a-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e007f"
    "\ud800-\udfff"
)
_UNSAFE_ONE_LINE = re.compile(f"[{_CONTROL}{_LINES}{_BIDI}{_JOINERS}{_INVISIBLE}]")
_UNSAFE_MULTI_LINE = re.compile(f"[{_CONTROL}\r\u2028\u2029{_BIDI}{_JOINERS}{_INVISIBLE}]")
_IS_CONTROL = re.compile(f"[{_CONTROL}]")
_IS_LINE = re.compile(f"[{_LINES}]")
_IS_BIDI = re.compile(f"[{_BIDI}]")


def _joiner_fits(text: str, i: int) -> bool:
    """A ZWJ/ZWNJ at `i` stands between two characters that are neither ASCII nor spaces."""
    if i == 0 or i + 1 >= len(text):
        return False
    before, after = text[i - 1], text[i + 1]
    return not any(ch < "\x80" or ch.isspace() or ch in _JOINERS for ch in (before, after))


_FILLERS = re.compile("[\u115f\u1160\u3164\uffa0]")


def _plainly_safe(text: str) -> bool:
    """The fast answer for most text: `str.isprintable` is False for every control, format
    (bidi, joiners, soft hyphen, tags), separator and surrogate character, so a printable
    text is safe unless it holds a Hangul filler (a letter that draws nothing)."""
    return text.isprintable() and (text.isascii() or _FILLERS.search(text) is None)


def _first_unsafe(text: str, multiline: bool, joiners: bool) -> re.Match | None:
    if _plainly_safe(text):
        return None
    pattern = _UNSAFE_MULTI_LINE if multiline else _UNSAFE_ONE_LINE
    for match in pattern.finditer(text):
        if joiners and match.group() in _JOINERS and _joiner_fits(text, match.start()):
            continue
        return match
    return None


def _describe(ch: str) -> str:
    code = f"U+{ord(ch):04X}"
    if _IS_CONTROL.match(ch):
        return f"must not contain control characters (found {code})"
    if _IS_LINE.match(ch):
        return "must be one line (no line break or tab)"
    if _IS_BIDI.match(ch):
        return f"must not contain text-direction marks (found {code})"
    return f"must not contain invisible characters (found {code})"


def unsafe_problem(text: str, *, multiline: bool = False, joiners: bool = True) -> str | None:
    """Why `text` may not be stored (a message for the field), or None when it may.
    `multiline` accepts line feeds and tabs; `joiners=False` refuses ZWJ/ZWNJ everywhere."""
    match = _first_unsafe(text, multiline, joiners)
    return None if match is None else _describe(match.group())


_BREAKS = re.compile(r"[\t\n\r\u2028\u2029]+")


def strip_unsafe(text: str, *, multiline: bool = False) -> tuple[str, int]:
    """`text` without the characters `unsafe_problem` refuses, and how many hostile ones
    there were (an import keeps the value and warns). Line breaks and tabs of a one-line
    field become one space (not counted: they only end a line, and joining two words would
    be worse)."""
    if _first_unsafe(text, multiline, True) is None:
        return text, 0
    text = normalize_lines(text) if multiline else _BREAKS.sub(" ", text)
    pattern = _UNSAFE_MULTI_LINE if multiline else _UNSAFE_ONE_LINE
    out = [
        ch
        for i, ch in enumerate(text)
        if not pattern.match(ch) or (ch in _JOINERS and _joiner_fits(text, i))
    ]
    return "".join(out), len(text) - len(out)


_ESCAPED = re.compile(r"\\[xuUntr]")


def _record_plainly_safe(value: Any) -> bool:
    """The fast answer for a whole record (an import checks every one): `repr` writes each
    character that is not printable as an escape (\\x1b, \\u202e, \\n...), so a repr with none
    holds no control, format or separator character, only perhaps a Hangul filler. A
    backslash in the data may look like an escape: then the record is walked, as any other."""
    text = repr(value)
    return _ESCAPED.search(text) is None and (text.isascii() or _FILLERS.search(text) is None)


def strip_unsafe_all(
    value: Any, warn: Callable[[str, str], None], name: str = "", rows: str = ""
) -> Any:
    """`value` (a record as an import reads it: dicts, lists and tuples of strings and other
    values) with every string passed through `strip_unsafe`; `warn(field, message)` is told of
    each string that lost characters. The field is the nearest dict key, after the name of the
    list it is a row of ("addresses line1")."""
    if not name and _record_plainly_safe(value):
        return value
    if isinstance(value, str):
        clean, removed = strip_unsafe(value)
        if removed:
            plural = "s" if removed > 1 else ""
            warn(name, f"{removed} control, text-direction or invisible character{plural} removed")
        return clean
    if isinstance(value, dict):
        return {
            k: strip_unsafe_all(
                v,
                warn,
                f"{rows} {k}" if rows else str(k),
                str(k) if isinstance(v, list | tuple) else "",
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        items = [strip_unsafe_all(v, warn, name, rows) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value


def normalize_lines(text: str) -> str:
    """CR LF and lone CR as LF: the line ending of multi-line text."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --- Drawing ------------------------------------------------------------------------------------

_DISPLAY_ONE_LINE = re.compile(f"[{_CONTROL}{_LINES}{_BIDI}{_JOINERS}{_INVISIBLE}]")
_DISPLAY_MULTI_LINE = re.compile(f"[{_CONTROL}\r\u2028\u2029{_BIDI}{_JOINERS}{_INVISIBLE}]")


def _shown(match: re.Match) -> str:
    ch = match.group()
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures: ESC as ␛, BEL as ␇, LF as ␊
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"  # C1, bidi and invisible characters: one visible replacement mark


def printable(text: object, *, multiline: bool = False) -> str:
    """`text` safe to draw on a terminal: each control, bidi or invisible character is
    replaced by one visible character (ESC as ␛, the others as �), so nothing in the data can
    drive the terminal, reorder the line or hide itself. The second wall behind the field
    rules, for what an older database or another program stored. Joiners are shown as �
    too, which a drawn table cell can afford. `multiline` keeps line feeds and tabs."""
    if text is None:
        return ""
    text = str(text)
    if _plainly_safe(text):
        return text
    pattern = _DISPLAY_MULTI_LINE if multiline else _DISPLAY_ONE_LINE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_shown, text)


def one_line(text: object) -> str:
    """`text` as one line for the command line's output (not drawn by the app): each control,
    line break, text-direction or invisible character written as its Python escape (`\\n`,
    `\\x1b`, `\\u202e`), so a value read from a file or the database can neither forge a line
    of a report nor drive the terminal, and a script still reads what it was."""
    if text is None:
        return ""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode() for ch in text
    )


# --- Usernames ------------------------------------------------------------------------------------


def normalize_username(value: str) -> str:
    """NFKC: compatibility forms become their plain letters (full-width "ａｄｍｉｎ" is "admin",
    "ﬁ" is "fi"), so one username has one spelling."""
    return unicodedata.normalize("NFKC", value)


@functools.cache
def _prototypes() -> dict[str, str]:
    """Each confusable character -> its prototype, from Unicode's confusables.txt (UTS #39) as
    the `confusable_homoglyphs` package ships it. That file lists each pair in both directions
    (source -> prototype and back); a prototype is never itself a source, so each group is a
    star around its prototype: the character with more than one look-alike, else, in a pair,
    the one written with several characters ("rn" for "m") or the lower code point."""
    from confusable_homoglyphs.utils import load  # 900 kB of JSON: read on first use

    marks = str.maketrans("", "", "\u200e\u200f")  # the file wraps right-to-left characters
    pairs: dict[str, list[str]] = {}
    for key, items in load("confusables.json").items():
        pairs.setdefault(key.translate(marks), []).extend(
            item["c"].translate(marks) for item in items
        )
    proto: dict[str, str] = {}
    for key, others in pairs.items():
        if len(key) != 1:
            continue
        if len(others) > 1:
            continue  # a prototype: its sources point at it
        other = others[0]
        if len(pairs.get(other, ())) > 1 or len(other) > 1 or other < key:
            proto[key] = other
    return proto


def skeleton(text: str) -> str:
    """The UTS #39 skeleton: two strings that look alike have the same one ("аdmin" with a
    Cyrillic a and "admin"; "paypa1" and "paypal"). For comparing only, never to show."""
    if text.isascii():  # most usernames: no ignorable character, NFD changes nothing
        return unicodedata.normalize("NFD", text.translate(_prototype_table()))
    proto = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    mapped = "".join(proto.get(ch, ch) for ch in decomposed if ch < "\x80" or not is_ignorable(ch))
    return unicodedata.normalize("NFD", mapped)


@functools.cache
def _prototype_table() -> dict[int, str]:
    return {ord(ch): prototype for ch, prototype in _prototypes().items()}


def is_ignorable(ch: str) -> bool:
    """Default-ignorable characters draw nothing: a skeleton leaves them out (UTS #39)."""
    code = ord(ch)
    return (
        unicodedata.category(ch) == "Cf"
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
        or code in (0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0)
    )


def username_skeleton(username: str) -> str:
    """What a username looks like, for refusing look-alikes: the skeleton of its NFKC,
    case-folded form (usernames are case-insensitive), cut to the column's 400 characters."""
    return skeleton(normalize_username(username).casefold())[:400]


def username_look_alikes(username: str) -> set[str]:
    """The skeletons a new username must not share with an existing username's stored one:
    its own, and that of its case-sensitive skeleton folded afterwards, which catches a capital
    I for an l ("paypaI" looks like "paypal", but folding first would make it "paypai")."""
    nfkc = normalize_username(username)
    return {username_skeleton(username), skeleton(skeleton(nfkc).casefold())[:400]}


def masked_url(target: str) -> str:
    """A database URL without its password, for messages (a path is returned as it is)."""
    from urllib.parse import urlparse

    parsed = urlparse(target)
    if parsed.password:
        return target.replace(f":{parsed.password}@", ":***@")
    return target


def plural(count: int, noun: str, nouns: str = "") -> str:
    """The count with its noun: "1 fee", "2 fees", "3 people" (`nouns`: an irregular plural)."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"
