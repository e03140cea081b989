"""Forgotten password, My account, letters and the outbox, driven with the pilot (issue 9),
with a real SMTP server on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from textual.widgets import Input, Select, TextArea

from models.store.tables import Account, Attachment, Letter, Phone
from screens.forgot_password import ForgotPasswordScreen
from screens.letters import ComposeLetterScreen, OutboxScreen, UserLettersScreen
from screens.login import LoginScreen
from screens.my_account import MyAccountScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.smtp import SmtpServer, serve
from tests.helpers.ui import add_user, log_in, settle, type_into
from tui.app import PatronDeskApp
from tui.widgets import Field, Message

SIZE = (100, 34)
PASSWORD = "Patron-Pass-2026"


@pytest.fixture
def smtp(ui_db) -> Iterator[SmtpServer]:  # noqa: ANN001
    with serve() as server:
        yield server


def patron() -> Account:
    return add_user("Anna", "Müller", "P100", email="anna@example.org", password=PASSWORD)


def shown(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Message).render())


async def test_forgotten_password_end_to_end_then_my_account(smtp) -> None:
    patron()
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await type_into(pilot, "#login", "anna@example.org")
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, ForgotPasswordScreen)
        assert app.screen.query_one("#reset-login", Input).value == "anna@example.org"
        await pilot.press("enter")
        await settle(pilot)
        assert "If this account has an email address" in shown(app, "#reset-request-message")
        code = re.search(r"^\s+(\d{8})\s*$", smtp.received[0].text, re.M).group(1)
        await type_into(pilot, "#code", "00000000" if code != "00000000" else "11111111")
        await type_into(pilot, "#new_password", "Fresh-Start-2026")
        await type_into(pilot, "#confirm", "Fresh-Start-2026")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "wrong, used or expired" in app.screen.query_one("#field-code", Field).error
        await type_into(pilot, "#code", code)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)
        assert app.screen.query_one("#login", Input).value == "anna@example.org"
        assert "Password changed" in shown(app, "#login-message")
        await type_into(pilot, "#password", "Fresh-Start-2026")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MyAccountScreen), "a patron-only login opens My account"
        assert "Müller, Anna" in str(app.screen.query_one("#my-head").render())


async def test_an_unknown_login_gets_the_same_answer_and_no_mail(smtp) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await type_into(pilot, "#reset-login", "nobody@example.org")
        await pilot.press("enter")
        await settle(pilot)
        assert "If this account has an email address" in shown(app, "#reset-request-message")
        assert "ask the library" in shown(app, "#reset-request-message").lower()
        assert smtp.received == []
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)


async def test_my_account_edits_language_phone_and_password(smtp) -> None:
    account = patron()
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "P100", PASSWORD)
        assert isinstance(app.screen, MyAccountScreen)
        await pilot.press("f5")
        await settle(pilot)
        app.screen.query_one("#my-language", Select).value = "fr"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert Account.get_by_id(account.id).comm_language == "fr"

        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        await type_into(pilot, "#row-number", "+41 79 555 12 34")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, MyAccountScreen)
        assert Phone.get().number == "+41795551234"

        await pilot.press("f6")
        await settle(pilot)
        await type_into(pilot, "#my-current", "Not-My-Pass-1")
        await type_into(pilot, "#my-new", "Brand-New-2026")
        await type_into(pilot, "#my-confirm", "Brand-New-2026")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "not your current password" in (
            app.screen.query_one("#field-my-current", Field).error
        )
        await type_into(pilot, "#my-current", PASSWORD)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Password changed" in shown(app, "#my-password-message")


async def test_staff_write_a_message_and_find_it_on_the_attachments_tab(smtp) -> None:
    account = patron()
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        from screens.user_details import UserDetailsScreen

        app.push_screen(UserDetailsScreen(account.id))
        await settle(pilot)
        await pilot.press("ctrl+a")
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, UserLettersScreen)
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, ComposeLetterScreen)
        await type_into(pilot, "#letter-subject", "Your card")
        app.screen.query_one("#letter-message", TextArea).text = "It is ready at the desk."
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, UserLettersScreen)
        assert [r.message["Subject"] for r in smtp.received] == ["Your card"]
        assert Letter.get().status == "sent"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        table = app.screen.query_one("#table-attachment")
        assert any(row[0].endswith(".eml") for row in table.rows)
    assert Attachment.select().count() == 1


async def test_the_outbox_shows_a_failed_letter_and_retries_it(smtp) -> None:
    from models.audit import Actor
    from models.enums import Source
    from models.mail.letters import queue_general_message
    from models.mail.mailer import deliver

    account = patron()
    smtp.handler.refuse = 1
    letter = queue_general_message(account.id, "Hello", "Text.", Actor(None, Source.CLI))
    deliver(letter.id)
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        app.action_outbox()
        await settle(pilot)
        assert isinstance(app.screen, OutboxScreen)
        table = app.screen.query_one("#outbox-table")
        assert table.rows[0][3] == "failed" and "451" in table.rows[0][5]
        await pilot.press("r")
        await settle(pilot)
        assert Letter.get_by_id(letter.id).status == "sent"
        assert app.screen.query_one("#outbox-table").rows == []
