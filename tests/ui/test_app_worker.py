"""The UI never waits: database calls of the screens run in `tui.worker.run_service` thread
workers, so a writer holding the SQLite lock does not freeze the terminal."""

from __future__ import annotations

import sqlite3

import pytest
from textual.app import App
from textual.widgets import Input, Static

from models.access.session import open_session
from models.errors import NotFound
from models.store.base import database
from models.store.tables import Account
from screens.help import KeysHelpScreen
from screens.user_details import UserDetailsScreen
from screens.user_details.general import GeneralPane
from tests.helpers.ui import SIZE, add_user, settle, type_into
from tui.app import PatronDeskApp
from tui.worker import run_service


def _message(screen) -> str:
    return str(screen.query_one("#general-message", Static).render())


async def test_help_opens_while_another_writer_holds_the_lock_and_the_save_ends_after(
    ui_db,
) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(ui_db.admin)
        screen = UserDetailsScreen(anna.id)
        app.push_screen(screen)
        await settle(pilot)
        await type_into(pilot, "#g-first_name", "Annette")
        other = sqlite3.connect(ui_db.url, isolation_level=None, timeout=1)
        try:
            other.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
            await pilot.press("ctrl+s")
            await pilot.pause()
            pane = screen.query_one(GeneralPane)
            for _ in range(100):  # a save held up is disabled once it has run for a moment
                if pane.disabled:
                    break
                await pilot.pause(0.05)
            assert pane.disabled and pane.saving
            assert "Saving…" in _message(screen)
            await pilot.press("f1")
            await pilot.pause()
            assert isinstance(app.screen, KeysHelpScreen), "F1 answers while the save waits"
            assert other.in_transaction, "the lock was still held"
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is screen
            assert screen.query_one("#g-first_name", Input).value == "Annette"
        finally:
            other.rollback()
            other.close()
        await settle(pilot)
        assert "Saved: First name." in _message(screen)
        assert not screen.query_one(GeneralPane).disabled
        assert "Müller, Annette" in str(screen.query_one("#details-head").render())
    assert Account.get_by_id(anna.id).person.first_name == "Annette"


class _Probe(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.results: list[object] = []
        self.errors: list[object] = []
        self.closed_in_thread: list[bool] = []


def _count_accounts() -> int:
    return Account.select().count()


async def test_run_service_answers_on_the_ui_thread_and_closes_its_connection(ui_db) -> None:
    app = _Probe()
    async with app.run_test() as pilot:
        import threading

        ui_thread = threading.get_ident()
        seen: list[int] = []

        def done(result: int) -> None:
            seen.append(threading.get_ident())
            app.results.append(result)

        def count_and_keep_thread() -> int:
            app.closed_in_thread.append(database.is_closed())  # a new thread: no connection yet
            return _count_accounts()

        run_service(app.screen, count_and_keep_thread, on_ok=done)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.results == [Account.select().count()]
        assert seen == [ui_thread], "the answer comes on the UI thread"
        assert app.closed_in_thread == [True], "the worker opened its own connection"


async def test_a_typed_error_goes_to_on_error_and_by_default_to_a_notification(ui_db) -> None:
    app = _Probe()
    async with app.run_test() as pilot:

        def missing() -> None:
            raise NotFound("No such user.")

        run_service(app.screen, missing, on_ok=app.results.append, on_error=app.errors.append)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.results == [] and [e.message for e in app.errors] == ["No such user."]
        run_service(app.screen, missing)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [n.message for n in app._notifications] == ["No such user."]


async def test_an_unexpected_error_is_not_swallowed(ui_db) -> None:
    app = _Probe()

    def broken() -> None:
        raise ZeroDivisionError("bug")

    with pytest.raises(Exception) as raised:  # noqa: PT011 - the app re-raises the worker's error
        async with app.run_test() as pilot:
            run_service(app.screen, broken, on_ok=app.results.append)
            await app.workers.wait_for_complete()
            await pilot.pause()
    chain = [raised.value, raised.value.__cause__, raised.value.__context__]
    assert any(isinstance(e, ZeroDivisionError) for e in chain) or "bug" in str(raised.value)
    assert app.results == []


async def test_user_details_shows_loading_at_once_and_a_tab_typed_meanwhile_opens(
    ui_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import screens.user_details as details

    anna = add_user("Anna", "Müller", "P100")
    gate = threading.Event()
    real = details.load_record

    def slow_load(*args):  # the record read waits as behind a slow disk
        assert gate.wait(10)
        return real(*args)

    monkeypatch.setattr(details, "load_record", slow_load)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(ui_db.admin)
        screen = UserDetailsScreen(anna.id)
        app.push_screen(screen)
        await pilot.pause()
        assert app.screen is screen
        assert "Loading" in str(screen.query_one("#details-loading", Static).render())
        await pilot.press("f3")  # typed ahead: Contact
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, KeysHelpScreen), "F1 answers while the record loads"
        await pilot.press("escape")
        gate.set()
        await settle(pilot)
        assert "Müller, Anna" in str(screen.query_one("#details-head").render())
        assert screen.query_one("#details-tabs").active == "contact"
        assert not screen.query("#details-loading")
