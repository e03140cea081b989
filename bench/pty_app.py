"""Run a program in a real pseudo-terminal of a given size and watch what it writes: what a
user on a thin SSH terminal receives, byte for byte."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import time


class PtyApp:
    def __init__(self, argv: list[str], *, cols: int = 80, rows: int = 24, cwd=None) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
        env.pop("TEXTUAL", None)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
            start_new_session=True, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.buffer = bytearray()  # everything written since the last `take()`

    def read(self, timeout: float) -> int:
        """Read what is there within `timeout` seconds; returns the number of bytes read."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return 0
        try:
            chunk = os.read(self.master, 65536)
        except OSError:
            return 0
        self.buffer.extend(chunk)
        return len(chunk)

    def wait_for(self, text: str, timeout: float = 30.0) -> float:
        """Seconds since launch when `text` first appears in the output."""
        needle = text.encode()
        deadline = time.perf_counter() + timeout
        while needle not in self.buffer:
            if time.perf_counter() > deadline:
                tail = bytes(self.buffer[-400:])
                raise TimeoutError(f"{text!r} did not appear within {timeout} s; last: {tail!r}")
            self.read(0.05)
        return time.perf_counter() - self.started

    def settle(self, quiet: float = 0.15, limit: float = 10.0) -> tuple[int, float]:
        """Read until the program has been quiet for `quiet` seconds: (bytes, seconds from
        now until the last byte arrived)."""
        start = time.perf_counter()
        last = start
        total = 0
        while time.perf_counter() - last < quiet and time.perf_counter() - start < limit:
            n = self.read(quiet / 5)
            if n:
                total += n
                last = time.perf_counter()
        return total, (last - start) if total else 0.0

    def send(self, data: str) -> None:
        os.write(self.master, data.encode())

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        os.close(self.master)
