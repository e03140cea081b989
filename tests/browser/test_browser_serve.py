"""`patrondesk serve` in a real browser (issue 25, item 3): Debian's chromium, driven by
Playwright (its own browser downloads are never used), opens the page textual-serve serves,
logs in, searches for a demo user, opens them and shows their History tab.

The terminal in the page is drawn on a canvas: what the app shows is read from what the
browser received over the page's WebSocket (the app's output, escape sequences taken out),
and the screen is kept as a picture: `tests/artifacts/browser-find-users.png` (the list after
logging in) and `browser-history.png`, their paths printed. `.ci/run` installs chromium; in CI a
missing browser fails the test, elsewhere it skips it with the reason."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
PASSWORD = "Browser-Admin-2026"
ESCAPES = re.compile(
    r"\x1b\[[0-9;?<=>]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    r"|\x1b[P_^][^\x1b]*\x1b\\"  # DCS, APC, PM
    r"|\x1b[()#][0-9A-Za-z]|\x1b[=>78cDEHMNOZ]"
)


def _browser() -> str:
    """The system chromium, or skip (fail in CI) saying what is missing."""
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "Playwright is not installed (pip install -e '.[dev]')"
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if problem is None and not os.access(chromium, os.X_OK):
        problem = "Debian's chromium is not installed (apt-get install chromium; .ci/run does it)"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    return chromium


def _cli(db: Path, *args: str, stdin: str = "") -> None:
    env = {k: v for k, v in os.environ.items() if k != "PATRONDESK_DB"}
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", "--db", str(db), *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, server: subprocess.Popen, seconds: float = 20) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        assert server.poll() is None, server.stdout.read() if server.stdout else "ended"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"patrondesk serve did not listen on port {port}")


class Screen:
    """What the app sent to the page, as text (escape sequences taken out)."""

    def __init__(self, page) -> None:  # noqa: ANN001 - playwright's Page
        self.page = page
        self.received = bytearray()
        page.on("websocket", self._socket)

    def _socket(self, ws) -> None:  # noqa: ANN001
        ws.on("framereceived", self._frame)

    def _frame(self, payload) -> None:  # noqa: ANN001 - bytes or str
        self.received += payload if isinstance(payload, bytes) else payload.encode()

    @property
    def mark(self) -> int:
        return len(self.received)

    def text(self, since: int = 0) -> str:
        return ESCAPES.sub("", bytes(self.received[since:]).decode("utf-8", "replace"))

    def wait_for(self, words: str, since: int = 0, seconds: float = 15) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if words in self.text(since):
                return
            self.page.wait_for_timeout(100)  # lets Playwright deliver the frames meanwhile
        raise AssertionError(f"{words!r} never appeared; the page showed:\n{self.text(since)}")


def test_the_browser_logs_in_finds_a_demo_user_and_opens_their_history(tmp_path) -> None:
    chromium = _browser()
    from playwright.sync_api import sync_playwright

    db = tmp_path / "browser.db"
    _cli(db, "init", "--admin", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    _cli(db, "demo", "--users", "30", "--seed", "7")
    with sqlite3.connect(db) as conn:
        first, last = conn.execute(
            "SELECT p.first_name, p.last_name FROM account a JOIN person p ON p.id = a.person_id "
            "WHERE a.record_type = 'public' AND p.first_name <> '' ORDER BY a.id LIMIT 1"
        ).fetchone()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PATRONDESK_DB"}
    server = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--db", str(db), "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,  # its group: the server and the app of each tab
    )  # fmt: skip
    try:
        _wait_for_port(port, server)
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=args)
            try:
                page = browser.new_page(viewport={"width": 1200, "height": 800})
                screen = Screen(page)
                response = page.goto(f"http://127.0.0.1:{port}/")
                assert response is not None and response.ok
                assert response.headers.get("x-frame-options") == "DENY"
                screen.wait_for("Log in to PatronDesk", seconds=30)
                page.locator("#terminal").click()
                mark = screen.mark
                page.keyboard.type("admin")
                page.keyboard.press("Tab")
                page.keyboard.type(PASSWORD)
                page.keyboard.press("Enter")
                screen.wait_for("New user", since=mark)  # Find and Manage Users' keys
                mark = screen.mark
                page.keyboard.type(f"{first} {last}")
                screen.wait_for(last, since=mark)
                page.wait_for_timeout(300)  # the list drawn in the page, then the picture
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                listed = ARTIFACTS / "browser-find-users.png"
                page.screenshot(path=str(listed))
                print(f"screenshot of the logged-in list: {listed}")
                mark = screen.mark
                page.keyboard.press("Enter")  # from the search box to the results
                page.keyboard.press("Enter")  # opens the user
                screen.wait_for("General", since=mark)
                screen.wait_for(f"{last}, {first}", since=mark)  # the record's head
                mark = screen.mark
                page.keyboard.press("F12")
                screen.wait_for("When (UTC)", since=mark)  # the History tab's table
                page.wait_for_timeout(300)
                history = ARTIFACTS / "browser-history.png"
                page.screenshot(path=str(history))
                print(f"screenshot of the History tab: {history}")
            finally:
                browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
