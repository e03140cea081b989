"""`patrondesk serve`: the same app in a browser tab (issue 25, item 3), with textual-serve.

Each browser tab opens a WebSocket, and textual-serve starts the app for it in a process of
its own (`python -m tui.cli`, Textual's web driver): its own session, its own login, its own
database connection, as a terminal would have. The database is handed to it in PATRONDESK_DB
(never on a command line, where `ps` would show a PostgreSQL password).

What PatronDesk adds to textual-serve's server:
- it binds to the loopback address by default; bound elsewhere, `serve` warns that the page
  and its passwords travel unencrypted and names the README's reverse-proxy set-up;
- the page loads nothing from elsewhere: textual-serve's page asks Google Fonts for its font,
  which would tell a third party who opens PatronDesk and when (and waits on a machine with
  no internet access); its own copy of the font is used instead;
- a WebSocket whose Origin is another site is refused (a page elsewhere could otherwise start
  sessions in the staff member's browser: cross-site WebSocket hijacking);
- the page may not be framed by another site (clickjacking), sends no Referer, and no content
  type is guessed.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import sys
from urllib.parse import urlsplit

FONT_LINK = """    <link
      rel="stylesheet"
      href="https://fonts.googleapis.com/css?family=Roboto%20Mono"
    />"""
LOCAL_FONT = """    <style>
      @font-face {
        font-family: "Roboto Mono";
        src: url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf");
      }
    </style>"""
HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str) -> str | None:
    """One line when `serve` listens beyond this machine; None on loopback."""
    if is_loopback(host):
        return None
    return (
        f"serving on {host}: other machines can reach the login page, and the page, its "
        "passwords and every record travel unencrypted (HTTP). Put PatronDesk behind a TLS "
        "reverse proxy and serve on 127.0.0.1 (README: The app in a browser)"
    )


def origin_allowed(origin: str | None, host: str, public_url: str) -> bool:
    """A WebSocket may be opened by the page itself: no Origin (not a browser), or an Origin
    naming the host the request came to, or the public address of a reverse proxy."""
    if not origin:
        return True
    netloc = urlsplit(origin).netloc.lower()
    return bool(netloc) and netloc in {host.lower(), urlsplit(public_url).netloc.lower()}


def host_allowed(host_header: str | None, bound: str, public_url: str) -> bool:
    """Whether a request's Host names this server: an address (no page of another site is
    served from a bare address), localhost, the name it was told to listen on, or the public
    address of a reverse proxy. Another name pointing at this machine is DNS rebinding: a
    site's page whose own name now resolves here, sending its own Host and Origin (which then
    agree), refused."""
    try:
        name = urlsplit("//" + (host_header or "").strip()).hostname
    except ValueError:  # "[::1" (an unclosed address): no host at all
        return False
    if not name:
        return False
    name = name.rstrip(".")  # "localhost." is localhost
    allowed = {"localhost", bound.strip("[]").lower()}
    if public_url:
        allowed.add((urlsplit(public_url).hostname or "").lower())
    if name in allowed:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def app_command() -> str:
    """The command textual-serve runs for each browser tab: this Python, this package."""
    return shlex.join([sys.executable, "-m", "tui.cli"])


def make_server(target: str, host: str, port: int, public_url: str | None = None):  # noqa: ANN201
    """A textual-serve `Server` for the database `target` (see the module docstring)."""
    import jinja2
    from aiohttp import web
    from textual_serve.server import Server

    os.environ["PATRONDESK_DB"] = target  # the app of each tab opens this database

    class PatronDeskServer(Server):
        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            page = (self.templates_path / "app_index.html").read_text(encoding="utf-8")
            page = page.replace(FONT_LINK, LOCAL_FONT)
            import aiohttp_jinja2

            aiohttp_jinja2.setup(app, loader=jinja2.DictLoader({"app_index.html": page}))
            app.middlewares.append(self._guard)
            return app

        @web.middleware
        async def _guard(self, request: web.Request, handler):  # noqa: ANN001, ANN202
            if not host_allowed(request.headers.get("Host"), host, self.public_url):
                raise web.HTTPForbidden(text="This address does not serve PatronDesk.")
            if request.path == "/ws" and not origin_allowed(
                request.headers.get("Origin"), request.host, self.public_url
            ):
                raise web.HTTPForbidden(text="This page may not open PatronDesk.")
            response = await handler(request)
            if not response.prepared:  # a WebSocket's headers are sent when it opens
                for name, value in HEADERS.items():
                    response.headers.setdefault(name, value)
            return response

    return PatronDeskServer(app_command(), host=host, port=port, title="PatronDesk",
                            public_url=public_url)  # fmt: skip
