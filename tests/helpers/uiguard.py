"""Every pilot test is also an attack on "the UI never waits" (issue 19).

`install()` wraps peewee's `Database.execute_sql` and argon2's `PasswordHasher.hash`/`verify` for
the whole test session. A call made by the app itself on its event loop (inside a Textual message
pump's task: a handler, a callback, a timer; not the test body driving the pilot, not a worker
thread) is recorded with the place in the project's code that made it. The autouse fixture
`ui_thread_guard` in conftest fails the test that recorded one.

`PATRONDESK_UI_GUARD=FILE` appends them to FILE instead of failing (to survey a whole run).
"""

from __future__ import annotations

import asyncio
import os
import threading
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OWN = tuple(str(REPO / room) for room in ("screens", "tui", "models"))
SEEN: list[str] = []
REPORT = os.environ.get("PATRONDESK_UI_GUARD", "")


def _on_ui_loop() -> bool:
    """Whether the caller runs in one of Textual's message pump tasks on the event loop."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop: a worker thread or plain code
        return False
    if task is None:
        return False
    if task.get_name().startswith(("message pump ", "run_test ")):
        return True
    from textual.worker import active_worker

    return active_worker.get(None) is not None  # an async worker: it runs on the loop too


def _where() -> str:
    """The innermost frames of the project's own code (screens/, tui/, models/) that called."""
    frames = [
        f"{Path(frame.filename).relative_to(REPO)}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_stack()[:-3]
        if frame.filename.startswith(OWN)
    ]
    return " <- ".join(reversed(frames[-5:])) or "(outside the project)"


def _record(what: str) -> None:
    if threading.current_thread() is not threading.main_thread() or not _on_ui_loop():
        return
    entry = f"{what} at {_where()}"
    SEEN.append(entry)
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as report:
            report.write(entry + "\n")


def install() -> None:
    import peewee
    from argon2 import PasswordHasher

    real_sql = peewee.Database.execute_sql

    def execute_sql(self, sql, params=None, *args, **kwargs):  # noqa: ANN001, ANN202
        _record("a query")
        return real_sql(self, sql, params, *args, **kwargs)

    peewee.Database.execute_sql = execute_sql
    for name in ("hash", "verify"):
        real = getattr(PasswordHasher, name)

        def wrapped(self, *args, _real=real, _name=name, **kwargs):  # noqa: ANN001, ANN202
            _record(f"argon2 {_name}")
            return _real(self, *args, **kwargs)

        setattr(PasswordHasher, name, wrapped)


def take() -> list[str]:
    """What was recorded since the last call (and forget it)."""
    seen = list(dict.fromkeys(SEEN))
    SEEN.clear()
    return seen
