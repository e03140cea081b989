"""Find and Manage Users' search: the text of a query (words, contains text, FTS and
tsquery syntax) and the name key (`name_bucket`, `name_key`, migrations 0003 and 0010)."""

from __future__ import annotations

from models.search.query import (
    CONTAINS_MIN,
    CONTAINS_PREFIX,
    ID_BITS,
    KEY_CHARS,
    MAX_KEY_CHARS,
    MAX_TEXT_CHARS,
    MAX_TOKEN_CHARS,
    MAX_TOKENS,
)
from models.store.base import fold_key
from models.text import name_words

# --- Text ---------------------------------------------------------------------------------------


def search_tokens(text: str) -> list[str]:
    """The folded words of `text` that the name search matches by prefix (see the module
    docstring): letters and digits only, at most `MAX_TOKENS` of `MAX_TOKEN_CHARS`."""
    words = [w[:MAX_TOKEN_CHARS] for w in name_words((text or "")[:MAX_TEXT_CHARS]).split()]
    kept: list[str] = []
    for word in dict.fromkeys(words):
        if any(other != word and other.startswith(word) for other in words):
            continue  # "an" adds nothing to "anne"
        kept.append(word)
    return kept[:MAX_TOKENS]


def contains_text(text: str) -> str:
    """The folded text a contains search ("~U0000025") looks for inside the keys: "" when it
    is shorter than `CONTAINS_MIN` characters, longer than a key can be, or holds NUL."""
    text = (text or "")[:MAX_TEXT_CHARS].strip()
    if text.startswith(CONTAINS_PREFIX):
        text = text[len(CONTAINS_PREFIX) :]
    key = fold_key(text) or ""
    if len(key) < CONTAINS_MIN or len(key) > MAX_KEY_CHARS or "\x00" in key:
        return ""
    return key


def looks_like_key(text: str) -> bool:
    """An email address or an identifier (it holds "@" or a digit) rather than a name."""
    return "@" in text or any(ch.isdigit() for ch in text)


def fts_match(tokens: list[str]) -> str:
    """SQLite FTS5 query: every token quoted, as a prefix, all required."""
    return " AND ".join('"' + t.replace('"', '""') + '"*' for t in tokens)


def pg_tsquery(tokens: list[str]) -> str:
    """PostgreSQL `to_tsquery('simple', ...)` text: every token quoted, as a prefix."""
    return " & ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "':*" for t in tokens)


def _like_prefix(token: str) -> str:
    """A LIKE pattern for words starting with `token` (search tokens hold letters and digits
    only; escaped all the same)."""
    return token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _char_code(ch: str | None) -> int:
    """Order-preserving 5-bit code of one character of a sort name (0: no character): a
    letter a-z each, the others in classes."""
    if ch is None:
        return 0
    c = ord(ch)
    if c <= 32:
        return 1
    if c <= 96:
        return 2
    if c <= 122:
        return c - 94
    if c <= 879:
        return 29
    if c <= 1279:
        return 30
    return 31


# The highest character of each class of `_char_code`: the key goes on after a letter or one of
# these, and stops after any other character (migration 0010).
_CLASS_TOPS = frozenset(map(chr, (32, 96, 879, 1279, 0x10FFFF)))


def name_bucket(sort_name: str) -> int:
    """The first `KEY_CHARS` characters of `sort_name`, coded so that a < b implies
    bucket(a) <= bucket(b) (code point order, as SQLite's BINARY and PostgreSQL's "C"). The
    code of a character stands for its class: after one that is not the highest of its class
    the codes are 0 (two names equal up to a hyphen and a space, "le-blanc" and "le roux",
    share a bucket, sorted inside it), or the key would compare the characters after it."""
    bucket = 0
    going = True
    for i in range(KEY_CHARS):
        code = 0
        if going and i < len(sort_name):
            ch = sort_name[i]
            code = _char_code(ch)
            going = "a" <= ch <= "z" or ch in _CLASS_TOPS
        bucket = (bucket << 5) | code
    return bucket


def _code_chars(code: int) -> tuple[str, str]:
    """The lowest and highest character of a `_char_code` (1 starts at U+0001: PostgreSQL text
    holds no NUL)."""
    low, high = {
        1: (1, 32),
        2: (33, 96),
        29: (123, 879),
        30: (880, 1279),
        31: (1280, 0x10FFFF),
    }.get(code, (code + 94, code + 94))
    return chr(low), chr(high)


def _bucket_codes(bucket: int) -> list[int]:
    """The codes of a bucket, up to its last character."""
    codes = [(bucket >> (5 * (KEY_CHARS - 1 - i))) & 31 for i in range(KEY_CHARS)]
    while codes and not codes[-1]:
        codes.pop()
    return codes


def _bucket_letters(bucket: int) -> str:
    """The letters a-z that every sort name of `bucket` starts with (those its codes begin
    with: a letter's code is the letter itself)."""
    letters = []
    for code in _bucket_codes(bucket):
        if not 3 <= code <= 28:
            break
        letters.append(chr(code + 94))
    return "".join(letters)


def _bucket_floor(bucket: int) -> str:
    """The lowest sort name of `bucket` (every character before the last one is the one
    after which the key goes on: the top of its class)."""
    codes = _bucket_codes(bucket)
    return "".join(_code_chars(c)[1] for c in codes[:-1]) + (
        _code_chars(codes[-1])[0] if codes else ""
    )


def _bucket_top(bucket: int) -> str:
    """A string at or above every sort name of `bucket`, below those of later buckets (a sort
    name holding U+10FFFF apart, which folded names never do)."""
    codes = _bucket_codes(bucket)
    top = "".join(_code_chars(c)[1] for c in codes)
    return top + chr(0x10FFFF) if len(codes) == KEY_CHARS else top


def name_key(sort_name: str, person_id: int) -> int:
    """The key of a person in the name index (as the triggers of migration 0003 compute it)."""
    return (name_bucket(sort_name) << ID_BITS) | person_id
