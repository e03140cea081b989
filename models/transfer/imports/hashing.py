"""Password hashing of an import in worker processes (argon2 is slow on purpose)."""

from __future__ import annotations

import os
import time

from models.config.settings import Settings

# --- Password hashing in worker processes -------------------------------------------------------


def watch_parent(parent: int) -> None:
    """In a worker process: exit when the import that started it is gone (killed with
    SIGKILL, its workers would otherwise wait forever on their queue, which they hold both
    ends of, and keep its output pipe open)."""
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _hash_many(params: dict, secrets_: list[str]) -> list[str]:
    from argon2 import PasswordHasher, Type

    hasher = PasswordHasher(
        time_cost=params["time_cost"],
        memory_cost=params["memory_cost"],
        parallelism=params["parallelism"],
        hash_len=params["hash_len"],
        salt_len=params["salt_len"],
        type=Type[params["type"]],
    )
    return [hasher.hash(s) for s in secrets_]


class _Hasher:
    """argon2 hashes of many secrets, spread over a pool of processes (started on first use)."""

    def __init__(self, settings: Settings, workers: int | None) -> None:
        from models.access.passwords import hasher

        h = hasher(settings)
        self.params = {
            "time_cost": h.time_cost,
            "memory_cost": h.memory_cost,
            "parallelism": h.parallelism,
            "hash_len": h.hash_len,
            "salt_len": h.salt_len,
            "type": h.type.name,
        }
        self.workers = workers
        self.pool = None

    def hash(self, secrets_: list[str]) -> list[str]:
        if not secrets_:
            return []
        if len(secrets_) < 8 or self.workers == 1:
            return _hash_many(self.params, secrets_)
        if self.pool is None:
            import multiprocessing
            import os
            from concurrent.futures import ProcessPoolExecutor

            n = self.workers or os.cpu_count() or 1
            self.pool = ProcessPoolExecutor(
                n,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=watch_parent,
                initargs=(os.getpid(),),
            )
        n = self.pool._max_workers  # noqa: SLF001
        size = max(1, -(-len(secrets_) // n))
        parts = [secrets_[i : i + size] for i in range(0, len(secrets_), size)]
        out: list[str] = []
        for hashed in self.pool.map(_hash_many, [self.params] * len(parts), parts):
            out.extend(hashed)
        return out

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None
