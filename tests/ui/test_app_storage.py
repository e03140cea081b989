"""A database that refuses writes (read-only, full disk) gives a message, loses nothing typed,
and half-writes nothing."""

from __future__ import annotations

import sqlite3

import pytest
from textual.widgets import Input, Select

from models.access.session import open_session
from models.store.base import database
from models.store.storage import storage_problem
from models.store.tables import Account, Person
from screens.quick_user import QuickUserScreen
from tests.helpers.ui import SIZE, settle
from tests.ui.test_app_quick_user import fill, public_values
from tui.app import PatronDeskApp


async def test_a_read_only_database_refuses_the_save_and_keeps_the_form(ui_db) -> None:
    people = Person.select().count()
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(ui_db.admin)
        screen = QuickUserScreen(tab="public")
        app.push_screen(screen)
        await settle(pilot)
        await fill(pilot, public_values())
        screen.query_one("#user_group", Select).value = "PUBLIC"
        # As a read-only file would: this connection and every one a worker opens.
        sqlite = database.obj if hasattr(database, "obj") else database
        pragmas = list(sqlite._pragmas)
        sqlite._pragmas = [*pragmas, ("query_only", "ON")]
        database.execute_sql("PRAGMA query_only = ON")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen, "the app goes on, on the same form"
        assert screen.query_one("#last_name", Input).value == "Fontaine"
        assert "read-only" in str(screen.query_one("#form-message").render())
        sqlite._pragmas = pragmas
        database.execute_sql("PRAGMA query_only = OFF")
        await pilot.press("ctrl+s")  # the administrator fixed it: the same form saves
        await settle(pilot)
    assert Person.select().count() == people + 1
    assert Account.select().where(Account.primary_id == "P9001").exists()


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (sqlite3.OperationalError("attempt to write a readonly database"), "read-only"),
        (sqlite3.OperationalError("database or disk is full"), "disk"),
        (sqlite3.OperationalError("disk I/O error"), "I/O"),
        (sqlite3.OperationalError("database is locked"), "busy"),
        (OSError(28, "No space left on device"), "full"),
    ],
)
def test_storage_failures_are_told_in_words(error, words) -> None:
    assert words in storage_problem(error)


def test_other_errors_are_not_hidden() -> None:
    assert storage_problem(ValueError("a bug")) is None
    assert storage_problem(sqlite3.OperationalError("no such column: x")) is None
