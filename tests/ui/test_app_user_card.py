"""The user card of Find and Manage Users (issue 22, item 12), driven with the pilot: ctrl+x on
the highlighted user shows the card, Escape goes back to the list, Enter opens the record; the
card is readable at 80x24 and 60x20 (values wrap, nothing is cut) and draws stored text
harmlessly."""

from __future__ import annotations

import pytest
from textual.containers import VerticalScroll
from textual.widgets import Static

from models.store.tables import Account
from screens.find_users import FindUsersScreen, ResultsTable
from screens.user_card import UserCardScreen
from screens.user_details import UserDetailsScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import add_user, log_in, settle, type_into
from tui.app import PatronDeskApp

LONG_JOB = "Reference and interlibrary loan desk, evenings and weekends, " * 3


@pytest.fixture
def anna(ui_db) -> Account:
    account = add_user(
        "Anna", "Müller", "P100", identifier="BC-7781", title="Dr.", phone="+41446681800"
    )
    # Stored as another program could have: a long job and an escape sequence in it.
    Account.update(job_description=LONG_JOB.strip() + " \x1b[2J").where(
        Account.id == account.id
    ).execute()
    add_user("Zoé", "Dupont", "P102")
    return account


async def open_card(pilot, text: str = "bc-7781") -> UserCardScreen:
    await log_in(pilot, "admin", ADMIN_PASSWORD)
    await type_into(pilot, "#search", text)
    await settle(pilot)
    await pilot.press("enter")  # to the results
    await pilot.pause()
    assert isinstance(pilot.app.focused, ResultsTable)
    await pilot.press("ctrl+x")
    await settle(pilot)
    assert isinstance(pilot.app.screen, UserCardScreen)
    return pilot.app.screen


def card_text(screen: UserCardScreen) -> str:
    return "\n".join(str(w.render()) for w in screen.query(Static))


def assert_readable(screen: UserCardScreen, width: int, height: int) -> None:
    """The card inside the terminal, every value inside the card, wrapped rather than cut."""
    box = screen.query_one("#card-box").region
    assert box.x >= 0 and box.y >= 0 and box.right <= width and box.bottom <= height
    for value in screen.query(".card-value"):
        assert value.region.right <= box.right - 1  # inside the border
        longest = max(len(line) for line in str(value.render()).split("\n"))
        lines = str(value.render()).count("\n") + 1
        if longest > value.size.width:  # too long for one line: wrapped, all of it shown
            assert value.size.height > lines
    job = next(v for v in screen.query(".card-value") if "Reference" in str(v.render()))
    assert job.size.height >= len(LONG_JOB) // job.size.width


async def test_ctrl_x_shows_the_card_at_80x24_and_escape_goes_back(anna) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_card(pilot)
        text = card_text(screen)
        for expected in (
            "Müller, Anna · P100",
            "Public · internal account",
            "Active · expires",
            "Member of the public",
            "Dr.",
            "BC-7781 (Barcode)",
            "P100 (primary)",
            "p100@example.org (personal, preferred)",
            "+41446681800 (mobile, preferred)",
            "UTC by system",
            "Enter: open the record · Esc: close",
        ):
            assert expected in text, expected
        assert "\x1b" not in text and "␛[2J" in text  # the escape drawn as a mark
        assert_readable(screen, 80, 24)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, FindUsersScreen)
        assert isinstance(app.focused, ResultsTable)


async def test_the_card_at_60x20_wraps_and_scrolls_to_its_last_line(anna) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=(60, 20)) as pilot:
        screen = await open_card(pilot)
        assert_readable(screen, 60, 20)
        body = screen.query_one("#card-body", VerticalScroll)
        assert app.focused is body
        await pilot.press("end")
        await pilot.pause()
        last = list(screen.query(".card-line"))[-1]
        assert "Address" in str(last.query_one(".card-label").render())
        assert body.region.contains_region(last.region)


async def test_enter_on_the_card_opens_the_record(anna) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_card(pilot, "dupont")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, UserDetailsScreen)
        head = str(app.screen.query_one("#details-head").render())
        assert "Dupont, Zoé" in head and "P102" in head
