"""Reading a large JSON file in constant memory: the items of its big arrays one at a time.

`events(stream, keys)` walks a top-level array (its items are yielded one by one) or a top-level
object, whose members are yielded whole except arrays under one of `keys` (such as "users"),
whose items are yielded one by one. Each item is decoded by the C decoder (`raw_decode`) from a
buffer refilled from the file, so a file of a million users never sits in memory at once.

Errors raise `JsonStreamError` with the character offset; items before the error have already
been yielded, so a truncated file still gives its complete records. A value nested deeper than
`MAX_DEPTH` is an error too (no user record nests so deep; a hostile file nests 100,000 deep to
exhaust the decoder's or a later walk's stack): `loads` applies the same rule to a whole text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

_DECODER = json.JSONDecoder()
_WS = " \t\r\n"
READ_SIZE = 1 << 16
MAX_DEPTH = 32  # arrays and objects inside one another: a user record holds 6 or 7


class JsonStreamError(ValueError):
    """The JSON text is malformed or truncated, or nests its values too deeply."""


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` nests arrays and objects more than `limit` deep (walked level by level,
    without recursion: a user record costs a few microseconds)."""
    level, depth = [value], 1
    while level:
        below = []
        for item in level:
            for child in item.values() if type(item) is dict else item:
                kind = type(child)
                if kind is dict or kind is list:
                    below.append(child)
        if below and depth >= limit:
            return True
        level, depth = below, depth + 1
    return False


def loads(text: str) -> Any:
    """`json.loads`, with the depth rule: `JsonStreamError` (a ValueError) for a value nested
    deeper than `MAX_DEPTH`, however deep."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonStreamError(f"values nested more than {MAX_DEPTH} deep") from None
    if isinstance(value, dict | list) and too_deep(value):
        raise JsonStreamError(f"values nested more than {MAX_DEPTH} deep")
    return value


class _Buffer:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.text = ""
        self.pos = 0
        self.consumed = 0  # characters dropped before `text`
        self.eof = False

    def offset(self) -> int:
        return self.consumed + self.pos

    def fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(READ_SIZE)
        if not chunk:
            self.eof = True
            return False
        if self.pos > READ_SIZE:
            self.consumed += self.pos
            self.text = self.text[self.pos :]
            self.pos = 0
        self.text += chunk
        return True

    def peek(self) -> str:
        """The next non-blank character ("" at the end of the file)."""
        while True:
            n = len(self.text)
            while self.pos < n and self.text[self.pos] in _WS:
                self.pos += 1
            if self.pos < n:
                return self.text[self.pos]
            if not self.fill():
                return ""

    def expect(self, chars: str) -> str:
        ch = self.peek()
        if not ch or ch not in chars:
            found = f"{ch!r}" if ch else "the end of the file"
            wanted = " or ".join(repr(c) for c in chars)
            raise JsonStreamError(f"expected {wanted} at character {self.offset()}, found {found}")
        self.pos += 1
        return ch

    def value(self) -> Any:
        """Decode one JSON value at the current position, reading more of the file as needed."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except RecursionError:
                raise JsonStreamError(
                    f"values nested more than {MAX_DEPTH} deep at character {self.offset()}"
                ) from None
            except json.JSONDecodeError as exc:
                # An incomplete value fails too: read more and try again, unless at the end.
                if self.fill():
                    continue
                raise JsonStreamError(f"{exc.msg} at character {self.consumed + exc.pos}") from None
            # A number or literal cut by the buffer's end decodes short ("1" of "1.5"): it is
            # whole only when a separator follows it.
            if (
                not isinstance(value, dict | list | str)
                and (end >= len(self.text) or self.text[end] not in _WS + ",]}")
                and self.fill()
            ):
                continue
            if isinstance(value, dict | list) and too_deep(value):
                raise JsonStreamError(
                    f"values nested more than {MAX_DEPTH} deep at character {self.offset()}"
                )
            self.pos = end
            return value


def events(stream: IO[str], keys: tuple[str, ...] = ()) -> Iterator[tuple[str, str | None, Any]]:
    """Yield ("item", key, value) for each item of a streamed array (key None for a top-level
    array) and ("member", key, value) for the other members of a top-level object; a top-level
    value that is neither array nor object is one ("value", None, value)."""
    buf = _Buffer(stream)
    first = buf.peek()
    if first == "[":
        yield from _array(buf, None)
    elif first == "{":
        buf.pos += 1
        if buf.peek() == "}":
            buf.pos += 1
        else:
            while True:
                key = buf.value()
                if not isinstance(key, str):
                    raise JsonStreamError(f"expected a member name at character {buf.offset()}")
                buf.expect(":")
                if key in keys and buf.peek() == "[":
                    yield from _array(buf, key)
                else:
                    yield ("member", key, buf.value())
                if buf.expect(",}") == "}":
                    break
    elif first == "":
        raise JsonStreamError("the file is empty")
    else:
        yield ("value", None, buf.value())
    if buf.peek():
        raise JsonStreamError(f"unexpected text after the JSON value at character {buf.offset()}")


def _array(buf: _Buffer, key: str | None) -> Iterator[tuple[str, str | None, Any]]:
    buf.expect("[")
    if buf.peek() == "]":
        buf.pos += 1
        return
    while True:
        yield ("item", key, buf.value())
        if buf.expect(",]") == "]":
            return
