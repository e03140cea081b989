"""Desk-ready app (issue 19, items 4, 5, 7, 9 and 11): keys typed at start land where they
would have landed had the screen been ready, ctrl+q asks before dropping unsaved edits, the
import preview marks each record as its summary counts it, the app reads in 16 colours, and the
command palette lists each command once. Driven with the pilot."""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path

import pytest
from rich.color import ColorSystem
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.filter import LineFilter
from textual.widgets import DataTable, Input, Static

from models.store.tables import Account
from screens.transfer import ImportScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import SIZE, add_user, log_in, settle, type_into
from tui.app import PatronDeskApp

# --- Item 7: the import preview marks what the summary counts ----------------------------------

FIRST_LOAD = (
    "primary_id,first_name,last_name,emails\n"
    "U1,Ada,Lovelace,ada@uni.example\n"
    "U2,Bob,Marley,bob@uni.example\n"
    "U8,Cy,Young,cy@uni.example\n"
)
SECOND_LOAD = (
    "primary_id,first_name,last_name,emails\n"
    "U1,Ada,Lovelace,ada@uni.example\n"  # the same row: unchanged (its fingerprint)
    "U8,Cy ,Young,cy@uni.example\n"  # another row, the same values once cleaned: unchanged
    "U2,Bob,Dylan,bob@uni.example\n"  # changed: update
    "U3,Cid,Moore,cid@uni.example\n"  # new: create
    "U3,Cid,Moore,cid@uni.example\n"  # twice in the file: refused by the database checks
    "U4,Dee,,dee@uni.example\n"  # no last name: refused by the file checks
)
EXPECTED_MARKS = {
    "row 2": "unchanged",
    "row 3": "unchanged",
    "row 4": "update",
    "row 5": "create",
    "row 6": "refused",
    "row 7": "refused",
}


async def _import(pilot, path: Path, key: str) -> tuple[str, dict[str, str]]:
    """Run the Import screen on `path` (ctrl+d: dry run, ctrl+s: import); the summary and the
    preview's marks by record."""
    app = pilot.app
    await type_into(pilot, "#path", str(path))
    await pilot.press(key)
    await settle(pilot)
    summary = str(app.screen.query_one("#summary", Static).render())
    table = app.screen.query_one("#preview", DataTable)
    marks = {}
    for i in range(table.row_count):
        row = [str(cell) for cell in table.get_row_at(i)]
        marks[row[0]] = row[-1]
    return summary, marks


def _counted(marks: dict[str, str]) -> dict[str, int]:
    return {mark: list(marks.values()).count(mark) for mark in set(marks.values())}


async def test_the_import_preview_marks_each_record_as_its_summary_counts_it(
    ui_db, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(FIRST_LOAD, encoding="utf-8")
    second.write_text(SECOND_LOAD, encoding="utf-8")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        app.action_import()
        await pilot.pause()
        assert isinstance(app.screen, ImportScreen)
        summary, _marks = await _import(pilot, first, "ctrl+s")
        assert "3 created" in summary

        summary, marks = await _import(pilot, second, "ctrl+d")
        assert "Dry run" in summary
        assert "1 to create, 1 updated, 2 unchanged, 2 refused" in summary, summary
        # Before: U8 (unchanged) and the second U3 (refused) were marked update and create,
        # and U1 (unchanged) was missing.
        assert marks == EXPECTED_MARKS
        assert _counted(marks) == {"create": 1, "update": 1, "unchanged": 2, "refused": 2}

        summary, _marks = await _import(pilot, second, "ctrl+s")
        assert "1 created, 1 updated, 2 unchanged, 2 refused" in summary, summary
    assert Account.get(Account.primary_id == "U2").person.last_name == "Dylan"
    assert Account.select().where(Account.primary_id == "U3").count() == 1


async def test_the_import_preview_shows_file_text_as_text(ui_db, tmp_path: Path) -> None:
    """A name in the file is never read as markup by the preview table."""
    source = tmp_path / "hostile.csv"
    source.write_text(
        "primary_id,first_name,last_name,emails\nU9,[b]Bold[/b],[@click=app.quit]Quit,u9@x.org\n",
        encoding="utf-8",
    )
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        app.action_import()
        await pilot.pause()
        _summary, marks = await _import(pilot, source, "ctrl+d")
        assert marks == {"row 2": "create"}
        table = app.screen.query_one("#preview", DataTable)
        drawn = "\n".join(table.render_line(y).text for y in range(table.size.height))
        assert "[@click=app.quit]Quit, [b]Bold[/b]" in drawn, drawn


# --- Item 5: ctrl+q asks before dropping unsaved edits -------------------------------------------


async def _open_details(pilot, ui_db, account: Account):
    from models.access.session import open_session
    from screens.user_details import UserDetailsScreen

    pilot.app.session = open_session(ui_db.admin)
    screen = UserDetailsScreen(account.id)
    pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


def _question(app) -> str:
    return str(app.screen.query_one("#confirm-question", Static).render())


async def test_ctrl_q_over_unsaved_general_changes_asks_first(ui_db) -> None:
    from screens.confirm import ConfirmScreen

    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_details(pilot, ui_db, anna)
        await type_into(pilot, "#g-middle_name", "Maria")
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert app.return_code is None, "ctrl+q quit at once and dropped the edit"
        assert isinstance(app.screen, ConfirmScreen)
        assert "The General tab has unsaved changes." in _question(app)
        await pilot.press("escape")  # keep editing
        await settle(pilot)
        assert app.screen is screen
        assert screen.query_one("#g-middle_name", Input).value == "Maria"
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert app.return_code == 0


async def test_ctrl_q_twice_quits_over_unsaved_changes(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await _open_details(pilot, ui_db, anna)
        await type_into(pilot, "#g-middle_name", "Maria")
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert app.return_code is None
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert app.return_code == 0


async def test_ctrl_q_with_nothing_unsaved_quits_at_once(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await _open_details(pilot, ui_db, anna)
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert app.return_code == 0


async def test_ctrl_q_over_a_new_user_form_with_text_asks(ui_db) -> None:
    from models.access.session import open_session
    from screens.confirm import ConfirmScreen
    from screens.quick_user import QuickUserScreen

    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        app.session = open_session(ui_db.admin)
        app.push_screen(QuickUserScreen(tab="public"))
        await settle(pilot)
        await type_into(pilot, "#last_name", "Dupont")
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert app.return_code is None
        assert isinstance(app.screen, ConfirmScreen)
        assert "new user's form" in _question(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QuickUserScreen)
        assert app.screen.query_one("#last_name", Input).value == "Dupont"


# --- Item 4: keys typed at start land where they would have had the screen been ready ---------

NAMED = {"-": "minus", " ": "space", ".": "full_stop", "@": "at", "\t": "tab", "\r": "enter"}
SPECIAL = {"tab": "\t", "enter": "\r", "ctrl+j": "\n", "escape": "\x1b", "backspace": "\x7f"}


def type_ahead(app, *keys: str) -> None:
    """Keys as a terminal delivers a burst typed ahead: all at once, none waiting for the one
    before it to be handled (the pilot's `press` waits after each key, which hid the defect)."""
    for key in keys:
        if len(key) == 1:
            event = events.Key(key if key.isalnum() else NAMED[key], key)
        else:
            event = events.Key(key, SPECIAL.get(key))
        event.set_sender(app)
        app.post_message(event)


@pytest.fixture
def db_file(tmp_path: Path):
    """An initialized SQLite file the app opens itself, as `patrondesk --db FILE` does: the
    login screen is drawn first, the database opened after."""
    from models.store.connection import close_database
    from tests.helpers.db import template_path

    path = tmp_path / "library.db"
    shutil.copy(template_path(), path)
    yield str(path)
    close_database()


LOGIN_KEYS = (*"admin", "tab", *ADMIN_PASSWORD, "enter")


async def test_a_login_typed_ahead_at_start_logs_in(db_file: str) -> None:
    from screens.find_users import FindUsersScreen

    app = PatronDeskApp(database_label="library.db", open_target=db_file)
    async with app.run_test(size=SIZE) as pilot:
        type_ahead(app, *LOGIN_KEYS)
        await settle(pilot)
        assert app.session is not None, _login_fields(app)
        assert isinstance(app.screen, FindUsersScreen)


def _login_fields(app) -> str:
    from screens.login import LoginScreen

    if not isinstance(app.screen, LoginScreen):
        return f"on {type(app.screen).__name__}"
    login = app.screen.query_one("#login", Input).value
    password = app.screen.query_one("#password", Input).value
    return f"username field {login!r}, password field {password!r}"


async def test_a_login_typed_before_the_app_is_mounted_logs_in(db_file: str) -> None:
    """Keys read with the first screen not yet there (a burst sent at launch)."""
    app = PatronDeskApp(database_label="library.db", open_target=db_file)

    def burst() -> None:
        type_ahead(app, *LOGIN_KEYS)

    app.call_later(burst)  # on the app's first turn, before the login screen is pushed
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.session is not None, _login_fields(app)


async def test_enter_typed_before_the_terminal_is_set_up_logs_in(db_file: str) -> None:
    """An Enter typed while the terminal still translated it (ICRNL) arrives as ctrl+j."""
    app = PatronDeskApp(database_label="library.db", open_target=db_file)
    async with app.run_test(size=SIZE) as pilot:
        type_ahead(app, *"admin", "tab", *ADMIN_PASSWORD, "ctrl+j")
        await settle(pilot)
        assert app.session is not None, _login_fields(app)


async def test_a_search_typed_ahead_after_the_login_lands_in_the_search_box(db_file: str) -> None:
    from screens.find_users import FindUsersScreen

    app = PatronDeskApp(database_label="library.db", open_target=db_file)
    async with app.run_test(size=SIZE) as pilot:
        type_ahead(app, *LOGIN_KEYS, *"Muller")
        await settle(pilot)
        assert isinstance(app.screen, FindUsersScreen), _login_fields(app)
        focused = app.screen.focused
        assert isinstance(focused, Input) and focused.value == "Muller", focused


async def test_a_wrong_password_typed_ahead_then_the_right_one(db_file: str) -> None:
    """Enter, a refusal, then the next attempt typed before the refusal was shown: each key
    goes where it would have gone, typed slowly (the refusal empties and focuses Password)."""
    app = PatronDeskApp(database_label="library.db", open_target=db_file)
    async with app.run_test(size=SIZE) as pilot:
        type_ahead(app, *"admin", "tab", *"Wrong-1", "enter", *ADMIN_PASSWORD, "enter")
        await settle(pilot)
        assert app.session is not None, _login_fields(app)


def _run_in_a_terminal(db: str, tmp_path: Path, keys: bytes, wait_for: bytes) -> bytes:
    """`patrondesk --db DB` in a real 80x24 terminal (a pty), `keys` written the moment it is
    launched, as a scripted login or a quick typist does; the output until `wait_for` shows
    (then ctrl+q), or 30 seconds."""
    import fcntl
    import os
    import pty
    import select
    import struct
    import subprocess
    import sys
    import termios
    import time

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "TERM": "xterm-256color",
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--db", db],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    os.close(slave)
    os.write(master, keys)
    out = b""
    deadline = time.monotonic() + 30
    try:
        while wait_for not in out and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    out += os.read(master, 65536)
                except OSError:  # the app ended
                    break
        os.write(master, b"\x11")  # ctrl+q
        proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return out


@pytest.mark.parametrize("attempt", range(5))
def test_a_login_typed_at_launch_in_a_real_terminal_logs_in(db_file: str, tmp_path, attempt):
    """The issue's scripted login: `admin`, Tab, the password and Enter sent right after the
    launch. Before: 4 launches of 5 typed the password into the Username field."""
    keys = b"admin\t" + ADMIN_PASSWORD.encode() + b"\r"
    out = _run_in_a_terminal(db_file, tmp_path, keys, wait_for=b"\xc2\xb7 admin")
    assert b"\xc2\xb7 admin" in out, out[-2000:]  # the header: "Main library · admin"


# --- Item 9: readable in 16 colours and without colour -------------------------------------------


@lru_cache(1024)
def _sixteen(style: Style | None) -> Style | None:
    if style is None:
        return None
    color = style.color.downgrade(ColorSystem.STANDARD) if style.color else None
    background = style.bgcolor.downgrade(ColorSystem.STANDARD) if style.bgcolor else None
    return style + Style.from_color(color, background)


class SixteenColours(LineFilter):
    """Each colour as a 16-colour terminal gets it: rich's `Color.downgrade`, as rich does
    when it writes to such a terminal (an SVG snapshot is otherwise drawn in true colour)."""

    def apply(self, segments: list[Segment], background) -> list[Segment]:  # noqa: ANN001
        return [Segment(text, _sixteen(style), control) for text, style, control in segments]


class SixteenColourApp(PatronDeskApp):
    def get_line_filters(self):  # noqa: ANN201
        return [*super().get_line_filters(), SixteenColours()]


@pytest.fixture
def sixteen_colours(monkeypatch):
    """The app as TERM=xterm starts it: the console's colour system is "standard"."""
    import textual.constants

    monkeypatch.setattr(textual.constants, "COLOR_SYSTEM", "standard")
    monkeypatch.delenv("NO_COLOR", raising=False)


def _list_users() -> None:
    import datetime as dt

    for i, (first, last) in enumerate(
        [("Anna", "Müller"), ("Zoé", "Dupont"), ("Jörg", "Mueller"), ("Li", "Wang")]
    ):
        add_user(first, last, f"P{i:03d}", expiry="2031-06-30")
    # Fixed dates: a snapshot must not change with the calendar.
    Account.update(expiry_date=dt.date(2036, 1, 31)).where(Account.primary_id == "admin").execute()


async def test_login_fields_are_seen_in_16_colours(ui_db, sixteen_colours) -> None:
    app = SixteenColourApp(database_label="library.db")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.has_class("-few-colours")
        login = app.screen.query_one("#login", Input)
        card = app.screen.query_one("#login-box")
        # Before: both the card's colour, black in 16 colours: the field could not be seen.
        field_bg = login.styles.background.rich_color.downgrade(ColorSystem.STANDARD)
        card_bg = card.styles.background.rich_color.downgrade(ColorSystem.STANDARD)
        assert field_bg != card_bg
        assert login.styles.text_style.underline  # seen without any colour too


def test_login_screen_in_16_colours(ui_db, snap_compare, sixteen_colours) -> None:
    assert snap_compare(SixteenColourApp(database_label="library.db"), terminal_size=(80, 24))


def test_find_users_list_in_16_colours(ui_db, snap_compare, sixteen_colours) -> None:
    _list_users()

    async def run_before(pilot) -> None:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        await settle(pilot)

    app = SixteenColourApp(database_label="library.db")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_login_screen_without_colour(ui_db, snap_compare, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(PatronDeskApp(database_label="library.db"), terminal_size=(80, 24))


# --- Item 11: Escape then a key is two keys, not Alt+key -----------------------------------------


def _keys(parser, *chunks: str | float) -> list[str]:
    """What the parser reads from `chunks` (a number: that many seconds pass)."""
    import time

    keys = []
    for chunk in chunks:
        if isinstance(chunk, float):
            time.sleep(chunk)
        else:
            keys += [e.key for e in parser.feed(chunk) if isinstance(e, events.Key)]
    time.sleep(0.2)
    keys += [e.key for e in parser.tick() if isinstance(e, events.Key)]
    return keys


@pytest.mark.parametrize(
    ("after", "key"), [("m", "m"), ("\t", "tab"), ("-", "minus"), ("1", "1"), ("\r", "enter")]
)
def test_escape_then_a_key_typed_after_the_escape_delay_is_two_keys(after: str, key: str) -> None:
    from textual import constants
    from textual._xterm_parser import XTermParser

    from tui.driver import TimelyParser

    late = constants.ESCAPE_DELAY + 0.02  # typed just after the wait, before Textual's tick
    assert _keys(TimelyParser(), "\x1b", late, after) == ["escape", key]
    # Textual's own parser: one key (alt+m, shift+tab, an en dash...), the Escape lost.
    assert _keys(XTermParser(), "\x1b", late, after) != ["escape", key]


def test_the_sequences_a_terminal_sends_are_read_as_before() -> None:
    from tui.driver import TimelyParser

    assert _keys(TimelyParser(), "\x1b[A", "\x1bOP", "\x1b[15~") == ["up", "f1", "f5"]
    assert _keys(TimelyParser(), "\x1b", "[B") == ["down"]  # split, within the delay
    assert _keys(TimelyParser(), "\x1b") == ["escape"]


def test_the_app_reads_keys_with_the_timely_driver() -> None:
    import sys

    from tui.driver import TimelyDriver

    if sys.platform == "win32":
        pytest.skip("Windows has its own driver")
    assert PatronDeskApp().get_driver_class() is TimelyDriver


def test_the_command_line_shortens_the_escape_delay(tmp_path) -> None:
    """ESCDELAY is read when Textual is imported: `patrondesk` sets 25 ms before that, unless
    the user chose a value."""
    import subprocess
    import sys

    code = (
        "import os, sys; from tui import cli; cli._start_app = lambda t, r: print("
        "os.environ['ESCDELAY'], 'textual' in sys.modules) or 0; cli._run_app(None)"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert out.stdout.split() == ["25", "False"]


# --- Item 11: the command palette lists each command once ----------------------------------------


async def test_the_palette_lists_each_command_once(ui_db) -> None:
    from textual.command import CommandList, CommandPalette

    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        await pilot.pause(0.5)  # the providers' discovery hits arrive in the background
        await settle(pilot)
        listed = app.screen.query_one(CommandList)
        titles = [str(listed.get_option_at_index(i).prompt).split("\n")[0].strip()
                  for i in range(listed.option_count)]  # fmt: skip
        assert titles, "the palette lists nothing"
        assert "Keys" in " ".join(titles)
        doubles = sorted({t for t in titles if titles.count(t) > 1})
        assert not doubles, doubles  # before: Keys twice (the app's, and Textual's own)
