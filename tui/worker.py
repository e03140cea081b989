"""Run a `models` service off the UI thread: the one way a screen calls the database or argon2.

`run_service(node, fn, *args, on_ok=..., on_error=...)` runs `fn(*args)` in a Textual thread
worker. The UI thread only draws and routes keys, so a writer holding the SQLite lock (up to the
15 s busy timeout) or a slow argon2 hash never freezes the terminal: F1, Escape and ctrl+q keep
working meanwhile.

- The worker owns its database connection: peewee connections are per thread, so the thread
  opens its own on its first query and closes it when the service returns (a thread that ends
  with its connection open would leak it).
- A typed error (`PatronDeskError` and subclasses) is handed to `on_error` on the UI thread; with
  no `on_error` it is shown as an error notification, in the error's own words.
- Any other exception is not caught: the worker fails and the app stops with the traceback, as
  an exception on the UI thread would (never swallowed).
- `on_ok(result)` runs on the UI thread, and only while the node is still on screen and the
  worker was not cancelled (a newer load of the same group supersedes an older one).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from textual.dom import DOMNode
from textual.worker import Worker, get_current_worker

from models.errors import PatronDeskError
from models.store.base import database

T = TypeVar("T")


def close_thread_connection() -> None:
    """Close this thread's connection, if it opened one (and no transaction is left open)."""
    db = database.obj
    if db is None or db.is_closed():
        return
    if db.in_transaction():  # a service that returned inside a transaction: a bug, not ours
        db.rollback()
    db.close()


def show_error(node: DOMNode, error: PatronDeskError) -> None:
    """The default `on_error`: the error's message as a notification."""
    node.notify(error.message, severity="error", timeout=10)


def run_service(
    node: DOMNode,
    fn: Callable[..., T],
    *args: Any,
    on_ok: Callable[[T], None] | None = None,
    on_error: Callable[[PatronDeskError], None] | None = None,
    group: str = "service",
    exclusive: bool = False,
    **kwargs: Any,
) -> Worker[None]:
    """Run `fn(*args, **kwargs)` in a thread worker bound to `node` (see the module's doc).

    `exclusive=True` cancels the node's running workers of the same `group`: right for loads
    (the newest wins), wrong for saves (a save's answer must never be dropped; disable the form
    instead, so a second save cannot start).
    """
    app = node.app

    def deliver(callback: Callable[[Any], None], value: Any) -> None:
        worker = get_current_worker()

        def answer() -> Any:  # checked again on the UI thread: the screen may have gone since
            if worker.is_cancelled or not node.is_attached or _leaving(node):
                return None
            return callback(value)

        if not worker.is_cancelled and node.is_attached:
            app.call_from_thread(answer)

    def work() -> None:
        try:
            result = fn(*args, **kwargs)
        except PatronDeskError as exc:
            close_thread_connection()
            deliver(on_error or (lambda error: show_error(node, error)), exc)
            return
        except BaseException:
            with contextlib.suppress(Exception):  # the first error is the one to see
                close_thread_connection()
            raise
        close_thread_connection()
        if on_ok is not None:
            deliver(on_ok, result)

    name = getattr(fn, "__name__", "service")
    return node.run_worker(work, name=name, group=group, exclusive=exclusive, thread=True)


def _leaving(node: DOMNode) -> bool:
    """The node is being taken down (a log out clearing the screens): its widgets may be gone
    already, and an answer for it has nowhere to go (a list's answer once queried its table
    after the log out had removed it). Textual's own marks (`DOMNode._pruning`, ...)."""
    return bool(
        getattr(node, "_pruning", False)
        or getattr(node, "_closing", False)
        or getattr(node, "_closed", False)
    )


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a thread of its own, awaited: for the app's own coroutines (the
    type-ahead checks the session's standing before a key goes on). Same rules as
    `run_service`: the thread owns its connection and closes it; any error is raised here."""

    def work() -> T:
        try:
            return fn(*args)
        finally:
            with contextlib.suppress(Exception):
                close_thread_connection()

    return await asyncio.to_thread(work)
