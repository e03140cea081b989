"""One key map (issue 19): every key of every screen comes from the registry (tui/keys.py) with
an id, one key means one thing across screens, F1 lists exactly the keys that work on the
screen, the command palette exactly what the session may run, and a user's own key map is
applied (its bad entries reported, never fatal)."""

from __future__ import annotations

import inspect
import pkgutil
from pathlib import Path

from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Static

import screens
import tui
from models.enums import Role
from screens.configuration import ConfigurationScreen
from screens.confirm import ChoiceScreen, ConfirmScreen
from screens.dashboard import DashboardScreen
from screens.delete_user import DeleteUserScreen
from screens.find_users import FindUsersScreen, ResultsTable
from screens.forgot_password import ForgotPasswordScreen
from screens.help import KeysHelpScreen
from screens.letters import OutboxScreen
from screens.login import LoginScreen
from screens.purge import PurgeScreen
from screens.quick_user import QuickUserScreen
from screens.register_user import RegisterUserScreen
from screens.transfer import ExportScreen, ImportScreen
from screens.user_details import UserDetailsScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import add_user, log_in, settle
from tui.app import PatronDeskApp
from tui.keymap import check_entries, read_keymap
from tui.keys import APP_COMMANDS, DEFAULT_KEYS, GROUPS, lookup
from tui.palette import KeyCommands, commands

PASSWORD = "Desk-Ledger-57"


def our_classes() -> list[type]:
    """Every class of screens/ and tui/ that can hold bindings."""
    found: list[type] = []
    for package in (screens, tui):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            module = __import__(info.name, fromlist=["_"])
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ == module.__name__ and issubclass(cls, DOMNode):
                    found.append(cls)
    return found


def textual_bindings(node: DOMNode) -> set[tuple[str, str]]:
    """(key, action) of the bindings Textual's own classes give `node` (an Input's keys)."""
    pairs: set[tuple[str, str]] = set()
    for cls in type(node).__mro__:
        if cls.__module__.startswith("textual.") and "BINDINGS" in cls.__dict__:
            for b in Binding.make_bindings(cls.__dict__["BINDINGS"]):
                pairs.add((b.key, b.action))
    return pairs


# --- the registry itself --------------------------------------------------------------------


def test_every_binding_written_in_the_code_has_an_id_of_the_registry() -> None:
    classes = our_classes()
    assert PatronDeskApp in classes and FindUsersScreen in classes
    for cls in classes:
        for b in cls.__dict__.get("BINDINGS", []):
            assert isinstance(b, Binding), f"{cls.__name__}: {b!r} is not from the registry"
            assert b.id in DEFAULT_KEYS, f"{cls.__name__}: {b.key} -> {b.action} has no id"
            assert lookup(b) is not None, f"{cls.__name__}: {b.id}/{b.action} not registered"
            assert b.key == DEFAULT_KEYS[b.id], f"{cls.__name__}: {b.id} has its own key"


def test_one_ctrl_key_means_one_action_on_every_screen() -> None:
    holders: dict[str, set[str]] = {}
    for key_id, keys in DEFAULT_KEYS.items():
        for key in keys.split(","):
            holders.setdefault(key, set()).add(key_id)
    for key, ids in holders.items():
        if key.startswith("ctrl+"):
            assert len(ids) == 1, f"{key} means {sorted(ids)}"
    # The three keys the issue found with two or three meanings.
    assert holders["ctrl+g"] == {"generate_password"}
    assert holders["ctrl+o"] == {"configuration"}
    assert holders["ctrl+r"] == {"reset_filters"}
    # Dialogs: confirm y (Enter presses the focused button), cancel Escape.
    assert DEFAULT_KEYS["confirm"] == "y" and DEFAULT_KEYS["cancel"] == "escape"


def test_every_registry_entry_with_a_key_is_bound_somewhere() -> None:
    bound = {
        (b.id, b.action)
        for cls in [*our_classes()]
        for b in cls.__dict__.get("BINDINGS", [])
        if isinstance(b, Binding)
    }
    for group in GROUPS:
        for entry in group.actions:
            if entry.keys:
                assert (entry.id, entry.action) in bound, f"{group.title}: {entry.id} unused"


# --- walking the screens ----------------------------------------------------------------------


async def check_screen(pilot, kind: type[Screen]) -> set[str]:
    """Check the keys of the screen on top; returns the ids the palette offers there."""
    app = pilot.app
    screen = app.screen
    assert isinstance(screen, kind), f"expected {kind.__name__}, got {screen!r}"
    active = screen.active_bindings
    for key, live in active.items():
        b = live.binding
        if b.id is None:
            assert (key, b.action) in textual_bindings(live.node), (
                f"{kind.__name__}: {key} -> {b.action} on {live.node!r} is not in the registry"
            )
        else:
            assert lookup(b) is not None, f"{kind.__name__}: {b.id} not in the registry"
    expected = {live.binding.id for live in active.values() if live.binding.id}

    await pilot.press("f1")
    await settle(pilot)
    helpscreen = app.screen
    assert isinstance(helpscreen, KeysHelpScreen)
    assert set(helpscreen.listed_ids) == expected, kind.__name__
    text = str(helpscreen.query_one("#help-text", Static).render())
    for live in active.values():
        if live.binding.id:
            assert lookup(live.binding)[0].description in text, live.binding.id
    assert "noop" not in text
    await pilot.press("f1")  # F1 again closes it
    await settle(pilot)
    assert app.screen is screen

    offered = {c.id for c in commands(screen)}
    keyless = {entry.id for entry in APP_COMMANDS.actions}
    for key_id in offered - keyless:
        assert key_id in expected, f"{kind.__name__}: the palette offers {key_id}, not bound"
    # The palette's provider gives the same commands.
    provider = KeyCommands(screen)
    await provider.startup()  # as the palette does: the session's rights, in a thread
    titles = [hit.text async for hit in provider.discover()]
    assert sorted(titles) == sorted(c.title for c in commands(screen))
    return offered


async def back(pilot, kind: type[Screen]) -> None:
    await pilot.press("escape")
    await settle(pilot)
    assert isinstance(pilot.app.screen, kind), pilot.app.screen


async def test_every_screen_and_dialog_of_an_administrator(ui_db) -> None:
    add_user("Maya", "Angelou", "P100", username="maya", password=PASSWORD)
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        offered = await check_screen(pilot, LoginScreen)
        assert offered == set() or offered <= {"quit", "keys_help", "login.forgot_password"}
        await pilot.press("f2")
        await settle(pilot)
        await check_screen(pilot, ForgotPasswordScreen)
        await back(pilot, LoginScreen)

        await log_in(pilot, "admin", ADMIN_PASSWORD)
        offered = await check_screen(pilot, FindUsersScreen)
        assert {"new_user", "register_user", "configuration", "find_users.purge"} <= offered
        assert {"import", "export", "outbox", "home", "logout"} <= offered

        app.screen.query_one(ResultsTable).focus()
        await settle(pilot)
        offered = await check_screen(pilot, FindUsersScreen)
        assert {"open", "toggle_active", "delete"} <= offered
        await pilot.press("ctrl+t")
        await settle(pilot)
        await check_screen(pilot, ConfirmScreen)
        await back(pilot, FindUsersScreen)
        app.screen.query_one(ResultsTable).focus()
        await pilot.press("delete")
        await settle(pilot)
        await check_screen(pilot, DeleteUserScreen)
        await back(pilot, FindUsersScreen)
        await pilot.press("f10")
        await settle(pilot)
        await check_screen(pilot, PurgeScreen)
        await back(pilot, FindUsersScreen)

        await pilot.press("ctrl+b")
        await settle(pilot)
        await check_screen(pilot, RegisterUserScreen)
        await back(pilot, FindUsersScreen)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await check_screen(pilot, QuickUserScreen)
        await back(pilot, FindUsersScreen)

        app.screen.query_one(ResultsTable).focus()
        await pilot.press("enter")
        await settle(pilot)
        await check_screen(pilot, UserDetailsScreen)
        for tab in ("f3", "f7", "f12"):  # a table of rows, the fees, History
            await pilot.press(tab)
            await settle(pilot)
            await check_screen(pilot, UserDetailsScreen)
        await pilot.press("ctrl+a")
        await settle(pilot)
        await check_screen(pilot, ChoiceScreen)
        await back(pilot, UserDetailsScreen)
        await back(pilot, FindUsersScreen)

        await pilot.press("ctrl+o")
        await settle(pilot)
        await check_screen(pilot, ConfigurationScreen)
        await back(pilot, FindUsersScreen)
        await pilot.press("shift+f5")
        await settle(pilot)
        offered = await check_screen(pilot, DashboardScreen)
        assert {"dashboard.next", "dashboard.refresh"} <= offered
        await back(pilot, FindUsersScreen)
        for action, kind in (
            ("app.outbox", OutboxScreen),
            ("app.import", ImportScreen),
            ("app.export", ExportScreen),
        ):
            await app.run_action(action)
            await settle(pilot)
            await check_screen(pilot, kind)
            await back(pilot, FindUsersScreen)


async def test_every_screen_and_dialog_of_sets_and_jobs(ui_db) -> None:
    """Issue 23: Save as set, Sets, a set's members, the job forms, a preview, Jobs."""
    from models.audit import Actor
    from models.enums import Source
    from models.jobs.jobs import run_update
    from models.jobs.sets import create_itemized_set
    from screens.job_notify import NotifyJobScreen
    from screens.job_report_save import SaveReportScreen
    from screens.job_run import JobRunScreen
    from screens.job_update import UpdateJobScreen
    from screens.jobs import JobsScreen
    from screens.rename_set import RenameSetScreen
    from screens.save_set import SaveSetScreen
    from screens.set_file import SetFromFileScreen
    from screens.set_members import SetMembersScreen
    from screens.sets import SetsScreen

    maya = add_user("Maya", "Angelou", "P100")
    admin = Actor(ui_db.admin, Source.SCREEN)
    made = create_itemized_set("Readers", [maya.id], admin)
    run_update(made.set_id, {"user_group": "GRAD"}, admin)
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        offered = await check_screen(pilot, FindUsersScreen)
        assert {"find_users.save_set", "find_users.sets", "jobs"} <= offered
        assert "sets" not in offered  # the key's command is offered once, with its key
        for key, kind in (("f18", SaveSetScreen), ("shift+f6", SaveSetScreen)):
            await pilot.press(key)
            await settle(pilot)
            await check_screen(pilot, kind)
            await back(pilot, FindUsersScreen)
        await pilot.press("f19")
        await settle(pilot)
        offered = await check_screen(pilot, SetsScreen)
        assert {"add", "sets.rename", "delete", "sets.run_job", "sets.jobs", "open"} <= offered
        for key, kind in (("n", SetFromFileScreen), ("r", RenameSetScreen),
                          ("delete", ConfirmScreen)):  # fmt: skip
            await pilot.press(key)
            await settle(pilot)
            await check_screen(pilot, kind)
            await back(pilot, SetsScreen)
        await pilot.press("j")
        await settle(pilot)
        await check_screen(pilot, ChoiceScreen)
        await pilot.press("u")
        await settle(pilot)
        await check_screen(pilot, UpdateJobScreen)
        await back(pilot, SetsScreen)
        await pilot.press("j", "m")
        await settle(pilot)
        await check_screen(pilot, NotifyJobScreen)
        await back(pilot, SetsScreen)
        await pilot.press("j", "d")
        await settle(pilot)
        await check_screen(pilot, JobRunScreen)
        await back(pilot, SetsScreen)
        await pilot.press("enter")
        await settle(pilot)
        offered = await check_screen(pilot, SetMembersScreen)
        assert {"open", "sets.run_job"} <= offered
        await back(pilot, SetsScreen)
        await pilot.press("h")
        await settle(pilot)
        offered = await check_screen(pilot, JobsScreen)
        assert {"open", "jobs.save_report", "jobs.undo"} <= offered
        await pilot.press("x")
        await settle(pilot)
        await check_screen(pilot, SaveReportScreen)
        await back(pilot, JobsScreen)
        await back(pilot, SetsScreen)
        await back(pilot, FindUsersScreen)


async def test_the_palette_offers_a_desk_operator_only_what_the_desk_may_do(ui_db) -> None:
    add_user("Maya", "Angelou", "P100")
    add_user(
        "Sam", "Desk", "S0001", record_type="staff", group="STAFF", username="sam",
        password=PASSWORD, roles=[Role.CIRCULATION_DESK_OPERATOR.value],
    )  # fmt: skip
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, "sam", PASSWORD)
        offered = await check_screen(pilot, FindUsersScreen)
        assert {"search", "register_user", "home", "logout", "keys_help", "quit"} <= offered
        for refused in ("new_user", "configuration", "find_users.purge", "import", "export",
                        "outbox"):  # fmt: skip
            assert refused not in offered, refused
        app.screen.query_one(ResultsTable).focus()
        await settle(pilot)
        offered = await check_screen(pilot, FindUsersScreen)
        assert "open" in offered
        assert not {"toggle_active", "delete"} & offered


# --- a user's own key map ---------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keys.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_entries_are_kept_bad_ones_reported(tmp_path: Path) -> None:
    keymap, problems = read_keymap(
        write(
            tmp_path,
            """
[keys]
search = "ctrl+w"
nonsense = "ctrl+x"
save = "ctrl+banana+"
new_user = "ctrl+t"
quit = "q"
cancel = 5
keys_help = "tab"
""",
        )
    )
    assert keymap == {"search": "ctrl+w"}
    text = "\n".join(problems)
    assert len(problems) == 6, text
    assert "'nonsense' is not an action" in text
    assert "'save'" in text and "is not a key" in text
    assert "'new_user': 'ctrl+t' is already the key of 'toggle_active'" in text
    assert "'quit': 'q' would be taken from every text field" in text
    assert "'cancel': the key must be written in quotes" in text
    assert "'keys_help': 'tab' cannot be moved" in text


def test_swapping_two_keys_is_no_clash_and_a_missing_file_is_no_problem(tmp_path: Path) -> None:
    assert check_entries({"new_user": "ctrl+f", "search": "ctrl+n"}) == (
        {"new_user": "ctrl+f", "search": "ctrl+n"},
        [],
    )
    assert read_keymap(tmp_path / "absent.toml") == ({}, [])
    keymap, problems = read_keymap(write(tmp_path, "[keys\nsave = "))
    assert keymap == {} and "not a valid TOML file" in problems[0]


async def test_a_user_key_map_moves_the_key_on_every_screen_and_f1_shows_it(
    ui_db, tmp_path: Path
) -> None:
    add_user("Maya", "Angelou", "P100")
    app = PatronDeskApp()
    app.user_keymap, app.keymap_problems = read_keymap(
        write(tmp_path, '[keys]\nsearch = "ctrl+w"\nsave = "ctrl+banana+"\n')
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen), "a bad entry is not fatal"
        shown = [n.message for n in app._notifications]
        assert any("'save'" in m and "is not a key" in m for m in shown), shown
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        screen = app.screen
        assert isinstance(screen, FindUsersScreen)
        table = screen.query_one(ResultsTable)
        table.focus()
        await pilot.press("ctrl+f")  # the old key does nothing now
        await settle(pilot)
        assert screen.focused is table
        await pilot.press("ctrl+w")
        await settle(pilot)
        assert screen.focused is screen.query_one("#search")
        await pilot.press("f1")
        await settle(pilot)
        text = str(app.screen.query_one("#help-text", Static).render())
        assert "^w" in text and "Search" in text
        await pilot.press("escape")
        await settle(pilot)
        search = next(c for c in commands(app.screen) if c.id == "search")
        assert "^w" in search.help


def test_the_key_map_lives_in_the_config_folder() -> None:
    from tui.paths import config_dir, keymap_file

    assert keymap_file() == config_dir() / "keys.toml"
