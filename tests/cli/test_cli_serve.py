"""`patrondesk serve` (issue 25, item 3): loopback by default, a warning when bound elsewhere,
one line and exit 2 for what it cannot do, and a page that another site can neither frame nor
drive (a WebSocket from another Origin is refused). The browser itself:
tests/browser/test_browser_serve.py."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.test_cli import ROOT, assert_clean_error, init, run
from tui.serve import exposure_warning, is_loopback, origin_allowed

pytestmark = pytest.mark.slow


def test_loopback_addresses_are_this_machine_only() -> None:
    for host in ("127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost"):
        assert is_loopback(host) and exposure_warning(host) is None, host
    for host in ("0.0.0.0", "::", "192.168.1.20", "desk.example.org"):
        assert not is_loopback(host), host
        assert "unencrypted" in (exposure_warning(host) or ""), host


def test_only_the_page_itself_may_open_a_session() -> None:
    public = "https://desk.example.org"
    assert origin_allowed(None, "127.0.0.1:8000", public)  # not a browser
    assert origin_allowed("http://127.0.0.1:8000", "127.0.0.1:8000", public)
    assert origin_allowed("https://desk.example.org", "127.0.0.1:8000", public)  # the proxy
    assert not origin_allowed("https://evil.example", "127.0.0.1:8000", public)
    assert not origin_allowed("http://127.0.0.1:8001", "127.0.0.1:8000", public)
    assert not origin_allowed("null", "127.0.0.1:8000", public)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp_path: Path, db: str, *args: str) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PATRONDESK_DB"}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    server = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--db", db, "serve", "--port", str(port), *args],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    end = time.monotonic() + 20
    while time.monotonic() < end:
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return server, port
        time.sleep(0.1)
    _stop(server)
    raise AssertionError("serve did not listen")


def _stop(server: subprocess.Popen) -> str:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        _, err = server.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        _, err = server.communicate(timeout=10)
    return err.decode()


def test_serve_warns_when_bound_beyond_this_machine(tmp_path) -> None:
    db = str(tmp_path / "d.db")
    assert init(tmp_path, db).returncode == 0
    server, _ = _serve(tmp_path, db, "--host", "0.0.0.0")
    said = _stop(server)
    assert "patrondesk: warning: serving on 0.0.0.0" in said
    assert "TLS reverse proxy" in said


def test_another_site_cannot_open_a_session(tmp_path) -> None:
    import aiohttp

    db = str(tmp_path / "d.db")
    assert init(tmp_path, db).returncode == 0
    server, port = _serve(tmp_path, db)

    async def connect(origin: str, host: str | None = None) -> int:
        headers = {"Origin": origin} | ({"Host": host} if host else {})
        async with aiohttp.ClientSession() as session:
            try:
                ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws", headers=headers)
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status
            await ws.close()
            return 101

    async def page(host: str) -> int:
        url = f"http://127.0.0.1:{port}/"
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, headers={"Host": host}) as r,
        ):
            return r.status

    try:
        assert asyncio.run(connect("https://evil.example")) == 403
        assert asyncio.run(connect(f"http://127.0.0.1:{port}")) == 101
        assert asyncio.run(connect(f"http://localhost:{port}", f"localhost:{port}")) == 101
        # DNS rebinding (found by an attack, 2026-12-08): another site's name made to point
        # at 127.0.0.1, its page sending its own Host and Origin, which then agreed: it opened
        # sessions (typed wrong passwords until admin was locked out). A Host that is not
        # this server's is refused, the page and the socket alike.
        rebound = f"attacker.example:{port}"
        assert asyncio.run(connect(f"http://{rebound}", rebound)) == 403
        assert asyncio.run(page(rebound)) == 403
        assert asyncio.run(page(f"127.0.0.1:{port}")) == 200
    finally:
        assert "Traceback" not in _stop(server)


def test_serve_refuses_a_bad_port_and_a_missing_database(tmp_path) -> None:
    db = str(tmp_path / "d.db")
    assert_clean_error(run(tmp_path, "--db", db, "serve"), "No database at")
    assert init(tmp_path, db).returncode == 0
    assert_clean_error(run(tmp_path, "--db", db, "serve", "--port", "70000"), "--port 70000")
    assert_clean_error(
        run(tmp_path, "--db", db, "serve", "--public-url", "desk.example.org"), "--public-url"
    )
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        port = str(busy.getsockname()[1])
        assert_clean_error(run(tmp_path, "--db", db, "serve", "--port", port), "cannot listen")
    finally:
        busy.close()


def test_only_this_servers_names_are_served() -> None:
    from tui.serve import host_allowed

    public = "https://desk.example.org"
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "10.0.0.5:8000",
                 "desk.example.org", "LOCALHOST:8000"):  # fmt: skip
        assert host_allowed(host, "127.0.0.1", public), host
    assert host_allowed("libsrv:8000", "libsrv", "")  # the name it was told to listen on
    assert host_allowed("localhost.:8000", "127.0.0.1", public)  # the same name
    for host in ("attacker.example:8000", "desk.example.org.evil:8000", "", None, "@:80", "[::1"):
        assert not host_allowed(host, "127.0.0.1", public), host
