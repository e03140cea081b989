"""The PatronDesk application: login, then Find and Manage Users."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import App, SystemCommand
from textual.content import Content
from textual.notifications import SeverityLevel
from textual.screen import Screen

import styles
from models.text import printable
from tui.keys import APP, DEFAULT_KEYS, bindings
from tui.palette import KeyCommands

if TYPE_CHECKING:
    from models.store.tables import Account

TYPED = (events.Key, events.Paste)
SETTLE_WAIT = 1.0  # seconds a typed key waits at most for the one before it to be handled
KEY_WAIT = 5.0  # seconds typed keys wait at most for a screen to take them
STANDING_TTL = 0.0  # seconds a reading of the standing is trusted (0: each command key reads it)


class PatronDeskApp(App[None], inherit_bindings=False):
    TITLE = "PatronDesk"
    CSS_PATH = styles.STYLESHEETS
    # Every key from the registry (tui/keys.py), Textual's own ctrl+q included: a user's key map
    # that moves Quit leaves no second key behind.
    BINDINGS = bindings(APP)
    COMMANDS = App.COMMANDS | {KeyCommands}
    # A user's key map (tui/keymap.py), read and checked by run_app, applied at mount.
    user_keymap: dict[str, str] = {}
    keymap_problems: list[str] = []

    def __init__(self, *, database_label: str = "", open_target: str | None = None) -> None:
        """`open_target`: an existing SQLite file the app opens itself, just after the login
        screen is drawn (the database layer takes a third of the start); None: the caller
        opened the database already."""
        super().__init__()
        self.database_label = database_label
        self.open_target = open_target
        self.db_ready = open_target is None
        self.startup_error: str | None = None
        self.session = None  # models.access.session.StaffSession once logged in
        # The account whose reset password must be changed before any session exists (only the
        # change-password screen is open then), else None.
        self.pending_change: int | None = None
        self.last_activity = time.monotonic()
        self.locked = False
        self._leaving = False  # a logout under way: keys and clicks wait for the login screen
        self._quit_question: Screen | None = None  # "unsaved changes: quit?" once asked
        self._restyle: dict | None = None  # nodes to restyle at the end of `restyled_once`
        self._logout_question: Screen | None = None  # "unsaved changes: log out?" once asked
        self._typed: deque[events.Event] = deque()  # keys and pastes waiting their turn
        self._handing_over = False  # `_hand_over` runs
        self._released: set[events.Event] = set()  # handed over, not yet at the app again
        self._in_flight: events.Event | None = None  # the key the app handles last
        self._handling = 0  # the app is handling that key
        self._kept: dict[str, Screen] = {}  # screens shown again for each user (`_keep`)
        self._opening: Screen | None = None  # a kept screen reading its record, to be pushed
        self._screen_coming = False  # a screen to be pushed after a read in a thread (login...)
        self._standing_read = 0.0  # when the session's account standing was last read

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, TYPED) and event in self._released:  # handed over (`_hand_over`)
            self._released.discard(event)
            self._in_flight = event
        if event is self._in_flight:  # that key, or the same key back up from the widgets
            self._handling += 1
            try:
                await super().on_event(event)
            finally:
                self._handling -= 1
            return
        if isinstance(event, TYPED + (events.MouseDown,)) and not event.is_forwarded:
            self.last_activity = time.monotonic()
            quits = self._quits(event)
            if self._leaving and not quits and not isinstance(event, TYPED):
                return  # a click for no screen of the session that is ending
            if isinstance(event, events.MouseDown) and self.session is not None:
                # Deactivated or expired since login: the session ends on its next action
                # (a key: checked before it is handed over, `_hand_over`).
                self.run_worker(self._still_standing(), group="standing", exit_on_error=True)
            if isinstance(event, TYPED) and not quits:
                self._typed.append(event)  # handed over in turn (`_hand_over`)
                if not self._handing_over:
                    self._handing_over = True
                    self.run_worker(self._hand_over(), group="type-ahead", exit_on_error=True)
                return
        await super().on_event(event)

    # --- type-ahead --------------------------------------------------------------------------
    #
    # Textual gives a key to the focused widget at once, but runs the bindings (the widget's,
    # its screen's, the app's: Tab, Enter in a field, every command key) only once the key has
    # bubbled back up to the app, one message queue after another. Keys typed faster than that
    # (read in one burst at start, a login typed ahead, a scanner) overtook the key before
    # them: the password typed after Tab landed in the username field, Tab's focus move coming
    # after it (issue 19). So the app hands typed keys over one at a time, in order: the next
    # one when the last one and what it caused have run (no message waits in any queue of the
    # screens), and when a screen is there to take it (`_ready_for_keys`). Quitting never
    # waits.

    def _ready_for_keys(self) -> bool:
        """A screen is there to take typed keys: the first screen is up, the database open,
        no logout under way, and the screen is not loading (a screen that loads its content
        says so with `accepting_keys = False`; keys wait at most KEY_WAIT seconds for it)."""
        if not self.db_ready or self._leaving or len(self.screen_stack) <= 1:
            return False
        if self._opening is not None or self._screen_coming:  # a screen about to be pushed
            return False
        screen = self.screen
        return screen.is_mounted and getattr(screen, "accepting_keys", True) is not False

    def _settled(self) -> bool:
        """The last key handed over, and every message it caused, has been handled."""
        if self._handling or self._released or self.message_queue_size:
            return False
        for screen in self.screen_stack:
            if screen.message_queue_size:
                return False
            if any(node.message_queue_size for node in screen.walk_children()):
                return False
        return True

    def _ready_and_settled(self) -> bool:
        return self._ready_for_keys() and self._settled()

    async def _hand_over(self) -> None:
        typing = False  # the key handed over last went into the focused text field
        try:
            while self._typed:
                event = self._typed[0]
                text_after_text = typing and self._types_into_field(event)
                if text_after_text:
                    pass  # the field takes both in order: no need to wait
                elif self._app_key(event):  # logging out or help never wait for a screen
                    await self._until(self._settled, SETTLE_WAIT)
                else:  # a key after text waits too: a priority key (ctrl+s) ran before it
                    await self._until(self._ready_and_settled, KEY_WAIT)
                if not text_after_text and not await self._still_standing():
                    self._typed.clear()  # logged out: the keys were meant for the session
                    return
                self._typed.popleft()
                if isinstance(event, events.Key) and event.key == "ctrl+j":
                    # Enter typed before the terminal was set up arrives as a line feed.
                    enter = events.Key("enter", "\r")
                    enter.time = event.time  # when it was typed (see screens.confirm.Dialog)
                    enter.set_sender(self)
                    event = enter
                typing = self._types_into_field(event)
                self._released.add(event)
                self.post_message(event)
        finally:
            self._handing_over = False

    def _types_into_field(self, event: events.Event) -> bool:
        """A character (or a paste) the focused text field takes for itself: it runs no
        binding and moves no focus, so the key after it need not wait for it (a burst of
        typing is handed over at the speed it came)."""
        from textual.widgets import Input, TextArea

        if not isinstance(self.focused, (Input, TextArea)):
            return False
        if isinstance(event, events.Paste):
            return True
        if not isinstance(event, events.Key) or not event.is_printable:
            return False
        bound = self.screen.active_bindings.get(event.key)
        return bound is None or not bound.binding.priority

    @staticmethod
    async def _until(condition: Callable[[], bool], limit: float) -> None:
        """Wait until `condition()`, at most `limit` seconds: a few turns of the event loop,
        then every 2 ms."""
        started = time.monotonic()
        turns = 0
        while not condition() and time.monotonic() - started < limit:
            turns += 1
            await asyncio.sleep(0 if turns < 50 else 0.002)

    def _app_key(self, event: events.Event) -> bool:
        """A key of the app's own priority bindings (log out, help): it never waits for the
        screen to be ready."""
        if not isinstance(event, events.Key):
            return False
        return any(b.priority for b in self._bindings.key_to_bindings.get(event.key, []))

    def _quits(self, event: events.Event) -> bool:
        """A key bound to quitting (always obeyed, even while a logout is under way): the
        "quit" binding's key in the user's key map, or its default. Read from the key map
        itself, not from the bindings of a screen (mid-logout no screen of the session may
        be there to say it)."""
        if not isinstance(event, events.Key):
            return False
        keys = self._keymap.get("quit") or DEFAULT_KEYS["quit"]
        return event.key in {key.strip() for key in keys.split(",")}

    @staticmethod
    def _standing_of(account: Account) -> str | None:
        """Why `account` may no longer act (read from the database: in a thread), or None."""
        from models.access.permissions import actor_standing
        from models.errors import PatronDeskError

        try:
            return actor_standing(account)
        except PatronDeskError:  # the database unreachable: the screen's own call says so
            return None

    async def _still_standing(self, *, now: bool = False) -> bool:
        """Whether the session may go on: its account is read again (in a thread) when the
        last reading is older than STANDING_TTL (or `now`); an account deactivated or expired
        since login ends the session, with the reason on the login screen."""
        from tui.worker import in_thread

        session = self.session
        if session is None:
            return True
        if not now and time.monotonic() - self._standing_read < STANDING_TTL:
            return True
        problem = await in_thread(self._standing_of, session.account)
        self._standing_read = time.monotonic()
        if problem and self.session is session:
            self.show_login(notice=f"{problem} You have been logged out.")
            return False
        return self.session is session

    def check_inactivity(self) -> None:
        """Lock the screen after `session_timeout_minutes` without a key or click (0: never);
        end a session whose account was deactivated meanwhile, and a forced password change
        left waiting as long. The database is read in a thread (`_check_inactivity`)."""
        if self._leaving or self.locked or not self.db_ready:
            return
        if self.session is None and self.pending_change is None:
            return
        self.run_worker(self._check_inactivity(), group="inactivity", exclusive=True)

    async def _check_inactivity(self) -> None:
        from models.config.settings import load_settings
        from tui.worker import in_thread

        if self.session is not None and not await self._still_standing(now=True):
            return
        minutes = (await in_thread(load_settings)).session_timeout_minutes
        if self._leaving or self.locked:
            return
        if minutes and time.monotonic() - self.last_activity >= minutes * 60:
            if self.session is None:
                self.show_login()
            else:
                self.lock_screen(minutes)

    def lock_screen(self, minutes: int) -> None:
        from screens.lock import LockScreen

        self.locked = True

        def unlocked(ok: bool | None) -> None:
            self.locked = False
            self.last_activity = time.monotonic()
            if not ok:
                self.show_login()

        self.push_screen(
            LockScreen(self.session.username, minutes, self.session.organization), unlocked
        )

    def format_title(self, title: str, sub_title: str) -> Content:
        """The header's title: its sub-title quotes stored text (a library's or organization's
        name, a username), drawn with every control, bidi or invisible character as a visible
        mark (issue 18)."""
        return super().format_title(printable(title), printable(sub_title))

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification as plain text: most quote stored text (a name, a refusal naming
        a value), which must neither drive the terminal nor be read as markup ("[@click=...]"
        in a name). No notification of the app uses markup."""
        super().notify(
            printable(message, multiline=True),
            title=printable(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def get_driver_class(self):  # noqa: ANN201 - Textual's own signature
        """On Linux and macOS, Textual's driver reading an Escape followed by a key as two
        keys (tui/driver.py); a driver named by TEXTUAL_DRIVER is left as it is."""
        from textual import constants

        driver = super().get_driver_class()
        if constants.DRIVER is None and driver.__name__ == "LinuxDriver":
            from tui.driver import TimelyDriver

            return TimelyDriver
        return driver

    @property
    def few_colours(self) -> bool:
        """16 colours or fewer (TERM=xterm, linux, screen) or NO_COLOR: the theme's greys of
        fields, cards and lists all turn into one, so styles/app.tcss shows them otherwise
        there (the app's class `-few-colours`)."""
        if self.no_color:
            return True
        from textual import constants

        if self.is_headless and constants.COLOR_SYSTEM in (None, "auto"):
            return False  # under test: the terminal running the tests says nothing
        return self.console.color_system in (None, "standard", "windows")

    def on_mount(self) -> None:
        self.set_class(self.few_colours, "-few-colours")
        self.set_interval(15, self.check_inactivity)
        if self.user_keymap:
            self.set_keymap(self.user_keymap)
        for problem in self.keymap_problems:
            self.notify(problem, title="Your key map", severity="warning", timeout=30)
        from models.store.files import exposure_warning

        if warning := exposure_warning(self.open_target):  # the database readable by others
            self.notify(warning[0].upper() + warning[1:], severity="warning", timeout=30)
        self.show_login()  # at once; keys typed before the database is open wait for it
        self.run_worker(self._start(), group="start", exit_on_error=True)

    async def _start(self) -> None:
        """Open the database (when the app opens it) and read whether it has its first
        administrator yet, in a thread: the login screen is drawn and keeps its typed keys
        (`_ready_for_keys`) while migrations run."""
        from models.errors import DatabaseOpenError
        from tui.worker import in_thread

        try:
            initialized = await in_thread(self._open_and_read)
        except DatabaseOpenError as exc:
            self.startup_error = exc.message
            self.exit(return_code=2)
            return
        self.db_ready = True
        if not initialized:
            from screens.first_admin import FirstAdminScreen

            self.push_screen(FirstAdminScreen())  # over the login: it comes back after

    def _open_and_read(self) -> bool:
        """In a thread: the database opened (when the app opens it); whether it is initialized."""
        from models.config.setup import is_initialized

        if not self.db_ready:
            from models.runtime import configure
            from models.store.connection import open_database

            configure()
            open_database(self.open_target)
        return is_initialized()

    # --- session -----------------------------------------------------------------------------
    #
    # A session ends in this order: its screens are popped (each one resumed on the way down
    # still finds the session it was opened in), then the session is cleared, then the login
    # screen is pushed. Clearing first crashed Find Users' resume (issue 19).

    async def _clear_stack(self) -> None:
        while len(self.screen_stack) > 1:
            await self.pop_screen()

    def show_login(self, prefill: str = "", notice: str | None = None) -> None:
        """End the session (or the pending password change) and show the login screen, from
        any screen, under any number of dialogs. `notice`: why, shown on the login screen."""
        if self._leaving:
            return
        if len(self.screen_stack) <= 1:  # at start: nothing to pop, the login at once
            self._end_session()
            self._push_login(prefill, notice)
            return
        self._leaving = True
        self.call_later(self._show_login, prefill, notice)

    async def _show_login(self, prefill: str, notice: str | None) -> None:
        try:
            await self._clear_stack()
        finally:
            self._end_session()
            self._leaving = False
        self._push_login(prefill, notice)

    def update_styles(self, node, animate: bool = True) -> None:  # noqa: ANN001 - a DOMNode
        """Textual restyles a node and all below it at once, each time one of its classes or
        pseudo-classes changes. Inside `restyled_once` the node is noted and restyled once at
        the end instead."""
        if self._restyle is not None and node is not self:
            self._restyle[node] = None
            return
        super().update_styles(node, animate=animate)

    @contextlib.contextmanager
    def restyled_once(self) -> Iterator[None]:
        """Every node whose classes change inside is restyled once, at the end, in one pass
        of the stylesheet (which matches rules once for widgets alike). Filling User Details
        with another user changed a field's disabled state, its label's "required" mark, a
        select's "has a value" and a date's "valid" class: each restyled the widget and all
        below it at once, a select's list of choices included, up to four times a field.
        Nothing inside may read a style a class change would change."""
        if self._restyle is not None:  # nested: the outer one restyles
            yield
            return
        self._restyle = pending = {}
        try:
            yield
        finally:
            self._restyle = None
            nodes = [n for n in pending if n.is_attached]
            if nodes:
                wanted = set(nodes)
                # A node under another noted one is restyled with it (walked from it).
                roots = [n for n in nodes if not any(a in wanted for a in n.ancestors)]
                self.stylesheet.update_nodes(
                    (d for root in roots for d in root.walk_children(with_self=True)),
                    animate=False,
                )

    def open_user(self, account_id: int, callback: Callable[[Any], None] | None = None) -> None:
        """User Details of `account_id`. The session keeps one User Details screen and shows
        each next user in it (building its 180 widgets was most of the wait when opening a
        user); a second one is built only while the kept one is on the stack already."""
        from screens.user_details import UserDetailsScreen

        name = "kept-user-details"
        kept = self._kept.get(name)
        if kept is not None and kept not in self.screen_stack and not kept.reusable:
            self._forget_kept(name)  # an error shown there, or left while still loading
            kept = None
        if kept is not None and kept not in self.screen_stack:
            # Pushed once it holds the record (`show_user`); keys typed meanwhile wait for it.
            def ready() -> None:
                self._opening = None
                if self.session is not None and kept.is_attached:
                    self.push_screen(kept, callback)

            self._opening = kept
            kept.show_user(account_id, ready)
            return
        screen = UserDetailsScreen(account_id)
        if kept is None:
            self._keep(name, screen)
            self.call_after_refresh(self._freeze_heap)  # built once per session: frozen
        self.push_screen(screen, callback)

    def new_user_form(self, callback: Callable[[Any], None] | None = None, **options: Any) -> None:
        """Quick User Management (or Register New User's form) with `options` (those of
        `QuickUserScreen`). Kept between users as User Details is: shown again emptied."""
        from screens.quick_user import QuickUserScreen

        name = QuickUserScreen.kept_as(**options)
        kept = self._kept.get(name)
        if kept is not None and kept not in self.screen_stack:
            kept.reset(**options)
            self.push_screen(kept, callback)
            return
        screen = QuickUserScreen(**options)
        if kept is None:
            self._keep(name, screen)
        self.push_screen(screen, callback)

    def _keep(self, name: str, screen: Screen) -> None:
        self.install_screen(screen, name)
        self._kept[name] = screen

    def _forget_kept(self, *names: str) -> None:
        """Kept screens go with the session that opened them (they hold users' data)."""
        for name in names or list(self._kept):
            kept = self._kept.pop(name)
            self.uninstall_screen(kept)
            if kept not in self.screen_stack and kept.is_attached:
                kept.remove()

    def _end_session(self) -> None:
        gc.unfreeze()  # the session's screens may be collected now (`_freeze_heap`)
        self._opening = None
        self._screen_coming = False
        self._forget_kept()
        self.session = None
        self.pending_change = None
        self.locked = False
        self.sub_title = self.database_label

    def _push_login(self, prefill: str, notice: str | None) -> None:
        from screens.login import LoginScreen

        self.push_screen(LoginScreen(prefill=prefill, notice=notice))

    def logged_in(self, account: Account) -> None:
        """After the login service accepted `account`: a session, or first the forced password
        change (no session until it is saved). The session is read in a thread; keys typed
        meanwhile wait for the screen it opens (`_ready_for_keys`)."""
        self._screen_coming = True
        self.run_worker(self._open_session(account), group="session", exit_on_error=True)

    async def _open_session(self, account: Account) -> None:
        from models.access.session import open_session
        from models.errors import AuthenticationError
        from tui.worker import in_thread

        try:
            session = await in_thread(open_session, account)
        except AuthenticationError as exc:
            self._screen_coming = False
            if exc.reason == "password_change":
                self.pending_change = account.id
                # From the app's own message queue: the login screen is about to go.
                self.call_later(self._change_password, account)
            else:
                self.show_login(notice=exc.message)
            return
        except BaseException:
            self._screen_coming = False
            raise
        self.session = session
        self._standing_read = time.monotonic()  # just checked by the login
        self.pending_change = None
        library = self.session.library.name if self.session.library else ""
        self.sub_title = f"{library} · {self.session.username}"
        # Continue from the app's own message queue: a result callback belongs to the screen
        # that pushed it, and the login screen is about to go.
        self.call_later(self._home_after_login)

    def _home_after_login(self) -> None:
        self._screen_coming = False
        self.show_home()

    async def _change_password(self, account: Account) -> None:
        from models.audit import Actor
        from models.enums import Source
        from screens.change_password import ChangePasswordScreen

        def after(changed: bool | None) -> None:
            if changed and self.pending_change == account.id:
                self.notify("Password changed.")
                self.logged_in(account)  # open_session reads the account again
            else:
                self.show_login()

        await self._clear_stack()
        if self.pending_change != account.id:  # logged out meanwhile
            return
        self.push_screen(
            ChangePasswordScreen(account.person_id, Actor(account, Source.SCREEN), forced=True),
            after,
        )

    def show_home(self) -> None:
        """Find and Manage Users (a patron: My account), alone on the stack."""
        if self.session is not None:
            self.call_later(self._show_home)

    async def _show_home(self) -> None:
        await self._clear_stack()
        if self.session is None:  # logged out meanwhile
            return
        if self.session.is_patron_only:
            from screens.my_account import MyAccountScreen  # a patron's own record

            self.push_screen(MyAccountScreen())
            return
        from screens.find_users import FindUsersScreen

        self.push_screen(FindUsersScreen())
        self.call_after_refresh(self._freeze_heap)

    def on_unmount(self) -> None:
        """The app's objects may be collected once it ends (`_freeze_heap`): several apps run
        in one process under test, and a frozen app is never collected."""
        gc.unfreeze()

    @staticmethod
    def _freeze_heap() -> None:
        """Out of the garbage collector's sight: what is alive once the session's screens are
        built stays alive for the session. Python's full collections walked every object the
        app holds (210,000 of them at a 1,000,000-user database, 90-160 ms each, about every
        third user opened): the slowest openings of a user (issue 19, bench/screens.py with
        --verbose). `gc.freeze` moves them to a generation it never collects, in O(1); the
        session's end thaws them (`_end_session`) so that its screens can go. And a full
        collection comes ten times less often (after 100 collections of the middle generation,
        not 10): at 1,000,000 users, 1 instead of 11 over 30 users opened and saved."""
        low, middle, _full = gc.get_threshold()
        gc.set_threshold(low, middle, 100)
        gc.freeze()

    def action_outbox(self) -> None:
        from screens.letters import OutboxScreen

        if self.session is None:
            return
        self.push_screen(OutboxScreen())

    def action_configuration(self) -> None:
        """The Configuration screen, for User Administrators; others are told why not."""
        from models.access.permissions import Action
        from models.errors import PatronDeskError
        from screens.configuration import ConfigurationScreen
        from tui.worker import run_service, show_error

        session = self.session
        if session is None or isinstance(self.screen, ConfigurationScreen):
            return

        def answer(may: bool) -> None:
            self._screen_coming = False
            if self.session is not session or isinstance(self.screen, ConfigurationScreen):
                return
            if not may:
                self.notify(
                    "Configuration is for User Administrators: none of your roles allows it.",
                    severity="error",
                )
                return
            self.push_screen(ConfigurationScreen())

        def refused(error: PatronDeskError) -> None:
            self._screen_coming = False
            show_error(self, error)

        self._screen_coming = True  # keys typed meanwhile are for Configuration
        run_service(
            self,
            session.can,
            Action.CONFIGURE,
            on_ok=answer,
            on_error=refused,
            group="configuration",
        )

    def action_sets(self) -> None:
        """The organization's sets of users (issue 23), for staff."""
        from screens.sets import SetsScreen

        if self.session is None or self.session.is_patron_only:
            return
        if not isinstance(self.screen, SetsScreen):
            self.push_screen(SetsScreen())

    def action_jobs(self) -> None:
        """Every bulk job of the organization (issue 23), for staff."""
        from screens.jobs import JobsScreen

        if self.session is None or self.session.is_patron_only:
            return
        if not isinstance(self.screen, JobsScreen):
            self.push_screen(JobsScreen())

    def action_my_account(self) -> None:
        """A staff member's own record (their password, their letters): My account, over the
        screen they were on (Escape goes back)."""
        from screens.my_account import MyAccountScreen

        if self.session is None or self.session.is_patron_only:
            return
        if not isinstance(self.screen, MyAccountScreen):
            self.push_screen(MyAccountScreen())

    def action_import(self) -> None:
        from screens.transfer import ImportScreen

        if self.session is None:
            return
        self.push_screen(ImportScreen())

    def action_export(self) -> None:
        from screens.transfer import ExportScreen

        if self.session is None:
            return
        self.push_screen(ExportScreen())

    def unsaved_changes(self) -> list[str]:
        """What quitting now would lose: the answer of each screen of the stack that keeps
        typed input (`unsaved_changes()`, None when nothing is unsaved), top screen first."""
        found = []
        for screen in reversed(self.screen_stack):
            check = getattr(screen, "unsaved_changes", None)
            if callable(check) and (what := check()):
                found.append(what)
        return found

    async def action_quit(self) -> None:
        """ctrl+q: quit at once, unless a screen has unsaved changes: then ask first, as Escape
        does (ctrl+q again, or y, quits; Escape goes back to the edits)."""
        from screens.confirm import ConfirmScreen

        asked = self._quit_question is not None and self._quit_question in self.screen_stack
        if asked or not (lost := self.unsaved_changes()):
            self.exit()
            return

        def answer(quit_anyway: bool | None) -> None:
            if quit_anyway:
                self.exit()

        question = " ".join(lost) + " Quit PatronDesk anyway? What you typed is lost."
        self._quit_question = ConfirmScreen(question, yes="Quit", no="Keep editing", keeping=True)
        self.push_screen(self._quit_question, answer)

    def action_logout(self) -> None:
        """ctrl+l: log out, from any screen, at once, unless a screen has unsaved changes:
        then ask first, as ctrl+q does (ctrl+l again, or y, logs out; Escape goes back)."""
        from screens.confirm import ConfirmScreen

        if self.session is None and self.pending_change is None:
            return
        asked = self._logout_question is not None and self._logout_question in self.screen_stack
        if asked or not (lost := self.unsaved_changes()):
            self._log_out()
            return

        def answer(log_out: bool | None) -> None:
            if log_out:
                self._log_out()

        question = " ".join(lost) + " Log out anyway? What you typed is lost."
        self._logout_question = ConfirmScreen(
            question, yes="Log out", no="Keep editing", keeping=True
        )
        self.push_screen(self._logout_question, answer)

    def _log_out(self) -> None:
        if self.session is not None:
            self.notify(f"{self.session.username} logged out.")
            self.show_login()
        elif self.pending_change is not None:  # the forced password change: no session yet
            self.show_login()

    # --- keys and commands -------------------------------------------------------------------

    def action_keys_help(self) -> None:
        from screens.help import toggle_help

        toggle_help(self.screen)

    def action_home(self) -> None:
        self.show_home()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own commands (theme, maximize); the app's are `KeyCommands`, from the key
        registry: Keys and Quit are there once, with their keys. Not Screenshot: it wrote the
        screen, users' records on it, to an SVG file in the working folder, readable by
        others (umask) and past the rules of every file PatronDesk writes (models.store.files)."""
        for command in super().get_system_commands(screen):
            if command.title not in ("Keys", "Quit", "Screenshot"):
                yield command


def run_app(target: str | None, *, release_terminal: Callable[[], None] | None = None) -> int:
    """Run the app on the database named by `target`. Errors in one line on stderr, exit 2.

    An existing SQLite file is opened by the app right after its first screen is drawn; any
    other target (a URL, a new file) is opened, and checked, before the app starts.
    `release_terminal`: called just before the app takes the terminal (`tui.cli` holds it
    quiet while the app loads)."""
    from tui.target import describe, existing_sqlite_file, resolve_target

    resolved = resolve_target(target)
    label = describe(resolved)
    if existing_sqlite_file(resolved) is not None:
        app = PatronDeskApp(database_label=label, open_target=resolved)
    else:
        from models.errors import DatabaseOpenError
        from models.runtime import configure
        from models.store.connection import open_database

        configure()
        try:
            open_database(resolved)
        except DatabaseOpenError as exc:
            print(f"patrondesk: error: {exc.message}", file=sys.stderr)
            return 2
        app = PatronDeskApp(database_label=label)
    from tui.keymap import read_keymap
    from tui.paths import keymap_file

    app.user_keymap, app.keymap_problems = read_keymap(keymap_file())
    for problem in app.keymap_problems:
        print(f"patrondesk: key map: {problem}", file=sys.stderr)
    if release_terminal is not None:
        release_terminal()
    try:
        app.run()
    finally:
        from models.store.connection import close_database

        close_database()
    if app.startup_error:
        print(f"patrondesk: error: {app.startup_error}", file=sys.stderr)
        return 2
    return app.return_code or 0
