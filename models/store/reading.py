"""One read operation: rows asked for several times by its parts are read once.

Opening a user record reads the account, the person and the actor's standing and roles in
several services (the head line, the General tab, each permission check), and each read them
again. Inside `one_reading()`, `read_once(key, read)` reads a key's value once and hands the
same value to every later asker; outside it (every write, every other operation) each call
reads afresh, so a role taken away or a record changed applies at once. Only for operations
that write nothing: a value read once is not read again after a write inside."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_memo: ContextVar[dict[Hashable, object] | None] = ContextVar("one_reading", default=None)


@contextmanager
def one_reading() -> Iterator[None]:
    """Inside, `read_once` reads each key once (nested: the outer reading's values)."""
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def read_once(key: Hashable, read: Callable[[], T]) -> T:
    """`read()`, or inside `one_reading` the value it gave for `key` the first time."""
    memo = _memo.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]  # type: ignore[return-value]


def remember(key: Hashable, value: object) -> None:
    """Inside `one_reading`, give `key` this value (read by the caller with one query for
    many keys: a bulk job's chunk primes the roles of its members); outside, nothing."""
    memo = _memo.get()
    if memo is not None:
        memo[key] = value
