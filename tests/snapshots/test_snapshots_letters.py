"""SVG snapshots at 80x24 of the screens of issue 9: Forgotten password, My account, a user's
letters and the outbox. Fixed dates, so a snapshot never changes with the calendar.

Update after an intended change with
`pytest tests/snapshots/test_snapshots_letters.py --snapshot-update`, then review the SVG files."""

from __future__ import annotations

import datetime as dt

from models.access.session import open_session
from models.audit import Actor
from models.enums import Source
from models.mail.letters import queue_general_message
from models.store.tables import Account, Fee, FeeType, Letter, Note
from tests.helpers.ui import add_user, settle, type_into
from tui.app import PatronDeskApp

SIZE = (80, 24)
FIXED = dt.datetime(2026, 1, 15, 9, 30)


def app() -> PatronDeskApp:
    return PatronDeskApp(database_label="library.db")


def anna() -> Account:
    account = add_user("Anna", "Müller", "P100", email="anna@example.org", expiry="2031-06-30")
    Note.create(account=account, text="Your new card is ready at the desk.", user_viewable=True,
                created_at=FIXED)  # fmt: skip
    Fee.create(account=account, fee_type=FeeType.select().first(), original_minor=1250,
               balance_minor=1250, title="Dune", created_at=FIXED)  # fmt: skip
    return account


def test_forgotten_password_after_asking_for_a_code(ui_db, snap_compare) -> None:
    async def run_before(pilot) -> None:
        await pilot.press("f2")
        await settle(pilot)
        await type_into(pilot, "#reset-login", "nobody@example.org")
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_my_account(ui_db, snap_compare) -> None:
    account = anna()

    async def run_before(pilot) -> None:
        from screens.my_account import MyAccountScreen

        pilot.app.session = open_session(Account.get_by_id(account.id))
        pilot.app.push_screen(MyAccountScreen())
        await settle(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_my_account_contact_tab(ui_db, snap_compare) -> None:
    account = anna()

    async def run_before(pilot) -> None:
        from screens.my_account import MyAccountScreen

        pilot.app.session = open_session(Account.get_by_id(account.id))
        pilot.app.push_screen(MyAccountScreen())
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_a_users_letters(ui_db, snap_compare) -> None:
    account = anna()
    queue_general_message(account.id, "Your card", "It is ready.", Actor(None, Source.CLI))
    Letter.update(created_at=FIXED).execute()

    async def run_before(pilot) -> None:
        from screens.letters import UserLettersScreen

        pilot.app.session = open_session(ui_db.admin)
        pilot.app.push_screen(UserLettersScreen(account.id, "Müller, Anna"))
        await settle(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_the_outbox(ui_db, snap_compare) -> None:
    account = anna()
    queue_general_message(account.id, "Your card", "It is ready.", Actor(None, Source.CLI))
    Letter.update(created_at=FIXED, status="failed", attempts=2,
                  error="451 4.3.0 Mailbox busy, try again later").execute()  # fmt: skip

    async def run_before(pilot) -> None:
        pilot.app.session = open_session(ui_db.admin)
        pilot.app.action_outbox()
        await settle(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)
