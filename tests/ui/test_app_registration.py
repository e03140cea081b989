"""The registration period on the screens (issue 22, item 1): Quick User Management shows, as
the expiration date's placeholder, the date an empty field gives once a user group is chosen,
and saves it; User Details renews on its key (after a question naming the date), shows the new
date in the head and the General tab, and History lists the change; a desk operator, who may
not edit the user, is refused."""

from __future__ import annotations

import datetime as dt

from textual.widgets import MaskedInput, Select

from models.access.session import open_session
from models.enums import Role
from models.runtime import runtime
from models.store.tables import Account, UserGroup
from models.users.derived import add_months
from screens.confirm import ConfirmScreen
from screens.quick_user import QuickUserScreen
from screens.user_details import UserDetailsScreen
from tests.helpers.ui import SIZE, add_user, settle, type_into
from tui.app import PatronDeskApp
from tui.keys import DEFAULT_KEYS
from tui.table import RowTable

RENEW = DEFAULT_KEYS["details.renew"]


def _period(code: str, months: int) -> None:
    UserGroup.update(registration_months=months).where(UserGroup.code == code).execute()


async def test_the_form_shows_the_date_a_group_gives_and_saves_it(ui_db) -> None:
    _period("PUBLIC", 6)
    expected = add_months(runtime.today(), 6)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(ui_db.admin)
        screen = QuickUserScreen(tab="public")
        results: list = []
        app.push_screen(screen, results.append)
        await settle(pilot)
        expiry = screen.query_one("#expiry_date", MaskedInput)
        assert expiry.placeholder == "YYYY-MM-DD"  # no group chosen yet
        screen.query_one("#user_group", Select).value = "PUBLIC"
        await settle(pilot)
        assert expiry.placeholder == expected.isoformat()
        screen.query_one("#user_group", Select).clear()
        await settle(pilot)
        assert expiry.placeholder == "YYYY-MM-DD"
        screen.query_one("#user_group", Select).value = "PUBLIC"
        for name, text in (
            ("first_name", "Léa"),
            ("last_name", "Fontaine"),
            ("primary_id", "P9001"),
            ("email", "lea.fontaine@example.org"),
        ):
            await type_into(pilot, f"#{name}", text)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert results, screen.query_one("#form-message").render()
    assert Account.get(Account.primary_id == "P9001").expiry_date == expected


async def test_renew_on_its_key_extends_the_registration_and_history_shows_it(ui_db) -> None:
    _period("PUBLIC", 12)
    current = runtime.today() + dt.timedelta(days=20)
    anna = add_user("Anna", "Müller", "P100", expiry=current.isoformat())
    renewed = add_months(current, 12).isoformat()
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(ui_db.admin)
        screen = UserDetailsScreen(anna.id)
        app.push_screen(screen)
        await settle(pilot)
        await pilot.press(RENEW)
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert renewed in app.screen.question
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is screen
        assert f"expires {renewed}" in str(screen.query_one("#details-head").render())
        assert screen.query_one("#g-expiry_date", MaskedInput).value == renewed
        assert not screen.query_one("#pane-general").dirty
        await pilot.press("f12")
        await settle(pilot)
        rows = screen.query_one("#history-table", RowTable).rows
        assert rows[0][1:] == ("admin", "screen", "update", "expiry_date", current.isoformat(),
                               renewed)  # fmt: skip
        # The General tab saves on at the new version (no "changed by" refusal).
        await pilot.press("f2")
        await settle(pilot)
        await type_into(pilot, "#g-first_name", "Annette")
        await pilot.press("ctrl+s")
        await settle(pilot)
    account = Account.get_by_id(anna.id)
    assert account.expiry_date.isoformat() == renewed
    assert account.person.first_name == "Annette"


async def test_renew_is_refused_to_a_desk_operator_before_any_question(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100")
    desk = add_user("Dora", "Desk", "S100", record_type="staff", group="STAFF",
                    roles=[Role.CIRCULATION_DESK_OPERATOR.value])  # fmt: skip
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(desk)
        screen = UserDetailsScreen(anna.id)
        app.push_screen(screen)
        await settle(pilot)
        await pilot.press(RENEW)
        await settle(pilot)
        assert app.screen is screen  # no question: refused at once
        assert any("may not" in str(n.message) for n in app._notifications)
    assert Account.get_by_id(anna.id).expiry_date == anna.expiry_date
