"""Process-wide choices made by the entry point (CLI, app factory or tests), not at import.

`clock` lets tests move time (lockouts, expiry); `hasher` lets tests use cheap argon2 parameters.
When `hasher` is None the parameters come from the settings table. `operator` is who runs a
command-line process ("user@host" of the operating system, `models.audit.command_line_operator`):
the system's audit events name it; empty in the app and in tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.store.base import utcnow

if TYPE_CHECKING:
    from argon2 import PasswordHasher


@dataclass
class Runtime:
    clock: Callable[[], dt.datetime] = utcnow
    hasher: PasswordHasher | None = None
    operator: str = ""

    def now(self) -> dt.datetime:
        return self.clock()

    def today(self) -> dt.date:
        return self.clock().date()


runtime = Runtime()


def configure(
    clock: Callable[[], dt.datetime] | None = None,
    hasher: PasswordHasher | None = None,
    operator: str = "",
) -> None:
    runtime.clock = clock or utcnow
    runtime.hasher = hasher
    runtime.operator = operator
