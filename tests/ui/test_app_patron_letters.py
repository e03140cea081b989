"""Selected patron letters on the General tab (issue 22, item 7), driven with the pilot: a switch
per letter a patron may decline, saved with ctrl+s, respected by the letters."""

from __future__ import annotations

import pytest
from textual.widgets import Checkbox

from models.access.session import open_session
from models.audit import Actor
from models.enums import Source
from models.mail.letters import LetterRefused, queue_general_message
from models.store.tables import Account
from screens.user_details import UserDetailsScreen
from tests.helpers.ui import SIZE, add_user, settle
from tui.app import PatronDeskApp


async def test_a_letter_declined_on_the_general_tab_is_no_longer_written(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100", email="anna@example.org")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        pilot.app.session = open_session(ui_db.admin)
        screen = UserDetailsScreen(anna.id)
        pilot.app.push_screen(screen)
        await settle(pilot)
        general = screen.query_one("#g-letter_general", Checkbox)
        reminder = screen.query_one("#g-letter_expiry_reminder", Checkbox)
        assert (general.value, reminder.value) == (True, True)
        assert not general.disabled and "general" in str(general.label).lower()
        assert "expiry reminder" in str(reminder.label).lower()
        general.focus()
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        assert general.value is False
        await pilot.press("ctrl+s")
        await settle(pilot)
        saved = Account.get_by_id(anna.id)
        assert (saved.letter_general, saved.letter_expiry_reminder) == (False, True)
        assert saved.letters_opt_in is True
    with pytest.raises(LetterRefused, match="does not receive"):
        queue_general_message(anna.id, "News", "Text.", Actor(ui_db.admin, Source.SCREEN))
