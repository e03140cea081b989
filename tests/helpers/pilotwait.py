"""The pilot's wait after a key or a pause, on a condition instead of a fixed sleep.

Textual's `Pilot.press` waits twice per key, and `Pilot.pause()` once, in
`textual._wait.wait_for_idle`: it sleeps 20 ms, then again for as long as the process used CPU
during the last 20 ms. Every key therefore cost at least 40 ms of sleeping, most of a pilot
test's time (266 keys of End/Up over a long list: 25 s, of which 6.5 s CPU).

`install()` swaps it, for the apps the tests drive, for a wait on what it was standing in for:
it ends once no message and no `call_next` callback waits at the app or at any of its nodes
and no worker is running, three turns of the event loop in a row. While a worker runs (a save in a
thread, say, or one held up by a lock a test keeps), it waits exactly as Textual did: until a
20 ms slice passes without CPU use. So it is shorter only when nothing is queued and no worker
runs, and it keeps Textual's limits (`min_sleep`, `max_sleep`); `Pilot.pause` still draws what
is pending after it, and `Pilot.press` still waits for the screen to handle its messages.
Outside an app (no active app) Textual's own wait runs.
"""

from __future__ import annotations

import asyncio
from time import monotonic, process_time

from textual import _wait
from textual import app as textual_app
from textual import pilot as textual_pilot
from textual._context import active_app
from textual.worker import WorkerState

_TEXTUAL_WAIT = _wait.wait_for_idle
_ACTIVE = (WorkerState.PENDING, WorkerState.RUNNING)
QUIET_TURNS = 3


def _queued(app) -> bool:
    """A message or a `call_next` callback waits at the app or at any node registered with it
    (the screens of the stack, and screens kept or being filled off the stack)."""
    if app.message_queue_size or app._next_callbacks:
        return True
    return any(node.message_queue_size or node._next_callbacks for node in list(app._registry))


async def wait_for_idle(min_sleep: float = _wait.SLEEP_GRANULARITY, max_sleep: float = 1) -> None:
    try:
        app = active_app.get()
    except LookupError:
        await _TEXTUAL_WAIT(min_sleep, max_sleep)
        return
    start = monotonic()
    quiet = 0
    while True:
        await asyncio.sleep(0.001 if quiet else 0)
        if monotonic() - start >= max_sleep:
            return
        if _queued(app):
            quiet = 0
        elif not any(worker.state in _ACTIVE for worker in app.workers):
            quiet += 1
            if quiet >= QUIET_TURNS and monotonic() - start >= min_sleep:
                return
        else:  # a worker runs: Textual's test, a slice without CPU use
            quiet = 0
            cpu = process_time()
            await asyncio.sleep(_wait.SLEEP_GRANULARITY)
            idle = process_time() - cpu < _wait.SLEEP_IDLE
            if idle and monotonic() - start >= min_sleep:
                return


def install() -> None:
    """Used by `Pilot.press` (through `App._press_keys`) and `Pilot.pause` from now on."""
    textual_app.wait_for_idle = wait_for_idle
    textual_pilot.wait_for_idle = wait_for_idle
