"""The generator run in a second process, one batch ahead of the writer (`_from_worker`)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from collections.abc import Iterator

from models.demo.context import DemoContext
from models.demo.data import (
    CHUNK_USERS,
    DemoError,
)
from models.demo.generator import (
    Batch,
    demo_batches,
)


def _worker_main(n, seed, ctx, chunk_users, dates_as_text, conn) -> None:  # noqa: ANN001
    """In the generating process: send each batch, then None (or the exception)."""
    try:
        for batch in demo_batches(n, seed, ctx, chunk_users, dates_as_text=dates_as_text):
            conn.send(batch)
        conn.send(None)
    except BaseException as exc:  # noqa: BLE001 - handed to the writer, raised there
        try:
            conn.send(exc)
        except Exception:  # noqa: BLE001 - the error does not pickle: send it in words
            with contextlib.suppress(Exception):  # the writer is gone: nobody to tell
                conn.send(DemoError(f"The demo generator failed: {type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _can_spawn() -> bool:
    """ "spawn" re-imports the main program by its path: not possible for one read from stdin."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return path is None or os.path.exists(path)


def _from_worker(
    n: int,
    seed: int | None,
    ctx: DemoContext,
    chunk_users: int = CHUNK_USERS,
    *,
    dates_as_text: bool = False,
) -> Iterator[Batch]:
    """`demo_batches` run in a second process, one batch ahead of the caller.

    The writer spends most of its time in the database, the generator in Python: on two cores
    they overlap (about a third faster for 100,000 users). A thread would not help: the GIL
    hands over at every row the driver writes. "spawn" starts a clean interpreter (no inherited
    database connection) on every platform; the pipe holds at most one batch, so memory stays
    bounded. The rows are the same as `demo_batches` gives: the generator is one process.
    """
    mp = multiprocessing.get_context("spawn")
    receiver, sender = mp.Pipe(duplex=False)
    worker = mp.Process(
        target=_worker_main,
        args=(n, seed, ctx, chunk_users, dates_as_text, sender),
        name="patrondesk-demo-generator",
        daemon=True,
    )
    worker.start()
    sender.close()
    received = 0
    try:
        while True:
            try:
                item = receiver.recv()
            except EOFError:
                if received:
                    raise DemoError("The demo data generator stopped unexpectedly.") from None
                # The process could not start (e.g. "spawn" cannot re-import a main program read
                # from standard input): generate here instead, only slower.
                yield from demo_batches(n, seed, ctx, chunk_users, dates_as_text=dates_as_text)
                return
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            received += 1
            yield item
    finally:
        receiver.close()
        if worker.is_alive():
            worker.terminate()
        worker.join()
