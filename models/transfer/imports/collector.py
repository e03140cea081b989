"""Python's garbage collector during a load.

A chunk's records are thousands of small dicts and lists that live until the chunk is written:
they outlive the young generations, and each time enough of them have, Python runs a full
collection, which walks every object alive, the chunks in flight included (hundreds of
thousands). Measured on bench/import.py's file: a third of the unpickling of the checked
records in the importing process and a fifth of the checking worker's CPU. During a load a full
collection comes ten times less often (after 100 collections of the middle generation, not 10:
what the app does for its session, tui/app.py `_freeze_heap`); the young generations, which free
the load's few cycles, run as before."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

FULL_EVERY = 100  # collections of the middle generation between full ones during a load

_lock = threading.Lock()
_loads = [0]  # loads running in this process (the app may run two)
_before: list[tuple[int, int, int]] = []


def _rarer() -> None:
    low, middle, full = gc.get_threshold()
    gc.set_threshold(low, middle, max(full, FULL_EVERY))


@contextlib.contextmanager
def load_collector() -> Iterator[None]:
    """Full collections ten times rarer for the load's time, then as they were."""
    with _lock:
        if not _loads[0]:
            _before[:] = [gc.get_threshold()]
            _rarer()
        _loads[0] += 1
    try:
        yield
    finally:
        with _lock:
            _loads[0] -= 1
            if not _loads[0] and _before:
                gc.set_threshold(*_before.pop())


def worker_start(parent: int) -> None:
    """A checking worker's start (a process of its own, for the load's time): full collections
    ten times rarer, and an exit when the import that started it is gone."""
    from models.transfer.imports.hashing import watch_parent

    _rarer()
    watch_parent(parent)
