"""The merge screen (screens/merge.py, issue 24) driven with the pilot: from Find Users' "Merge
with…" (shift+F10) to a merged user; opened with two ids as the Duplicates screen does; Space
chooses the value that wins, s swaps, refusals are said, ctrl+l logs out from it; usable at 60x20,
listed in F1 and the palette, refused to a desk operator."""

from __future__ import annotations

import datetime as dt

from textual.widgets import Static

from models.access.session import open_session
from models.audit import Actor
from models.enums import Role, Source
from models.fees.fees import add_fee
from models.runtime import runtime
from models.store.tables import Account, Fee, Loan, Person
from screens.confirm import ConfirmScreen
from screens.find_users import FindUsersScreen
from screens.help import KeysHelpScreen
from screens.merge import MergeScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import SIZE, add_user, log_in, settle, type_into
from tui.app import PatronDeskApp
from tui.table import RowTable


def pair() -> tuple[Account, Account]:
    kept = add_user("Anna", "Müller", "P600")
    merged = add_user("Anna", "Mueller", "P601", birth_date="1990-04-01")
    add_fee(merged.id, Actor(None, Source.CLI), fee_type="LOST_ITEM", amount="12.50")
    Loan.create(account=merged, item_barcode="I-6", due_date=runtime.today() + dt.timedelta(7))
    return kept, merged


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def cells(screen) -> dict[str, tuple[str, str]]:
    table = screen.query_one(RowTable)
    return {row[0]: (row[1], row[2]) for row in table.rows}


async def open_merge(pilot, kept: Account, merged: Account) -> MergeScreen:
    pilot.app.session = open_session(Account.get_by_id(1))
    pilot.app.push_screen(MergeScreen(kept.id, merged.id))
    await settle(pilot)
    assert isinstance(pilot.app.screen, MergeScreen)
    return pilot.app.screen


async def test_merge_with_from_find_users_moves_the_fee_and_the_loan(ui_db) -> None:
    kept, merged = pair()
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        await type_into(pilot, "#search", "P600")
        await settle(pilot)
        await pilot.press("enter", "f22")  # shift+F10 in the results
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MergeScreen)
        await type_into(pilot, "#merge-with", "P601")
        await pilot.press("enter")
        await settle(pilot)
        assert "Keep P600" in text_of(screen, "#merge-title")
        assert "1 fines/fees" in text_of(screen, "#merge-moving")
        assert "1 loans" in text_of(screen, "#merge-moving")
        shown = cells(screen)
        assert shown["Birth date"] == ("  —", "▶ 1990-04-01")  # the kept one has none
        assert shown["Last name"][0].startswith("▶ ")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, FindUsersScreen)
    assert Fee.select().where(Fee.account == kept.id).count() == 1
    assert Loan.select().where(Loan.account == kept.id).count() == 1
    assert Account.get_or_none(Account.id == merged.id) is None
    assert Person.get_by_id(kept.person_id).birth_date == dt.date(1990, 4, 1)


async def test_space_keeps_a_value_and_s_swaps_which_is_kept(ui_db) -> None:
    kept, merged = pair()
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_merge(pilot, kept, merged)
        table = screen.query_one(RowTable)
        table.cursor = [r[0] for r in table.rows].index("Birth date")
        await pilot.press("space")
        await settle(pilot)
        assert cells(screen)["Birth date"] == ("▶ —", "  1990-04-01")
        await pilot.press("s")
        await settle(pilot)
        assert "Keep P601" in text_of(screen, "#merge-title")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert not isinstance(app.screen, MergeScreen)
    assert Account.get_or_none(Account.id == kept.id) is None
    assert Fee.select().where(Fee.account == merged.id).count() == 1


async def test_a_refused_merge_says_why_and_ctrl_l_logs_out_from_it(ui_db) -> None:
    kept = add_user("Anna", "Müller", "P600")
    vendor = add_user("", "Books Ltd", "V600", record_type="contact", group="")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_merge(pilot, kept, vendor)
        assert "contact records" in str(screen.query_one("#merge-message").render())
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen, "no confirmation for a refused merge"
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert app.session is None
        assert not any(isinstance(s, MergeScreen) for s in app.screen_stack)
    assert Account.get_or_none(Account.id == vendor.id) is not None


async def test_usable_at_60_by_20(ui_db) -> None:
    kept, merged = pair()
    app = PatronDeskApp()
    async with app.run_test(size=(60, 20)) as pilot:
        screen = await open_merge(pilot, kept, merged)
        table = screen.query_one(RowTable)
        assert table.region.height >= 4 and table.region.width <= 60
        assert screen.query_one("#merge-message").region.bottom <= 20
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
    assert Account.get_or_none(Account.id == merged.id) is None


async def test_f1_lists_merge_with_and_a_desk_operator_is_refused(ui_db) -> None:
    kept, merged = pair()
    desk = add_user("Dora", "Desk", "S-DESK", record_type="staff", group="STAFF",
                    roles=[Role.CIRCULATION_DESK_OPERATOR.value])  # fmt: skip
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        await type_into(pilot, "#search", "P600")
        await settle(pilot)
        await pilot.press("enter", "f1")
        await settle(pilot)
        assert isinstance(app.screen, KeysHelpScreen)
        text = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert "Merge with…" in text and "shift+f10" in text
        app.pop_screen()
        app.session = open_session(desk)
        await settle(pilot)
        app.screen.action_merge_with()
        await settle(pilot)
        assert not isinstance(app.screen, MergeScreen)
        # Pushed anyway (as another screen might): the service refuses it, in words.
        app.push_screen(MergeScreen(kept.id, merged.id))
        await settle(pilot)
        assert "may not merge users" in str(app.screen.query_one("#merge-message").render())
    assert Account.get_or_none(Account.id == merged.id) is not None


async def test_hostile_names_are_shown_harmlessly(ui_db) -> None:
    kept, merged = pair()
    hostile = "[b]Evil[/b]\x1b[2J\u202e[@click=app.quit]"
    Person.update(last_name=hostile, first_name=hostile).where(
        Person.id == merged.person_id).execute()  # fmt: skip
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_merge(pilot, kept, merged)
        table = screen.query_one(RowTable)
        drawn = [table._line(i) for i in range(table.row_count)]  # what reaches the terminal
        shown = text_of(screen, "#merge-title") + " ".join(drawn)
        assert "[b]Evil[/b]" in shown and "\x1b" not in shown and "\u202e" not in shown
        # Taking the hostile value is refused by the checks, at the field, before any merge.
        table.cursor = [r[0] for r in table.rows].index("Last name")
        await pilot.press("space")
        await settle(pilot)
        message = str(screen.query_one("#merge-message").render())
        assert "Last name" in message and "control characters" in message
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
    assert Account.get_or_none(Account.id == merged.id) is not None
