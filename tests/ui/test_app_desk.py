"""Issue 19, a day at the desk: keys typed into a list, a scanner faster than the screen, a
password read out over the counter, thin terminals, History in words, and the messages of the
forms. Each test replays what was seen, the way it was seen (keys, sizes)."""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Button, Input, Static, TabbedContent

from models.access.passwords import UNAMBIGUOUS, generate_password
from models.access.session import open_session
from models.audit import Actor
from models.config.settings import Settings
from models.enums import Source, Status
from models.fees.fees import add_fee
from models.store.tables import Account, UserGroup
from models.users.details import update_user
from models.users.history import history
from models.users.rows import Kind, add_row
from screens.confirm import ChoiceScreen, ConfirmScreen, InfoScreen
from screens.delete_user import DeleteUserScreen
from screens.find_users import FindUsersScreen, ResultsTable
from screens.quick_user import QuickUserScreen
from screens.register_user import RegisterUserScreen
from screens.user_details import UserDetailsScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import add_user, log_in, settle, type_into
from tui.app import PatronDeskApp
from tui.table import RowTable
from tui.widgets import Field

SYSTEM = Actor(None, Source.CLI)


async def burst(pilot, *keys: str) -> None:
    """Keys sent all at once, as a scanner or a fast typist sends them: each is in the app's
    queue before the first is handled (no pause, no redraw in between)."""
    for key in keys:
        character = {"enter": "\r", "space": " "}.get(key, key if len(key) == 1 else None)
        pilot.app._driver.send_message(events.Key(key, character))
    await settle(pilot)


async def find_users(pilot) -> FindUsersScreen:
    await log_in(pilot, "admin", ADMIN_PASSWORD)
    assert isinstance(pilot.app.screen, FindUsersScreen)
    return pilot.app.screen


def inside(widget, width: int, height: int) -> bool:
    """The widget is drawn whole within a terminal of this size."""
    region = widget.region
    return region.width > 0 and region.right <= width and region.bottom <= height


def within(widget, box) -> bool:
    """The widget is drawn whole inside the box (its border and padding excluded): a button
    past the edge of its dialog is cut off even where the terminal has room."""
    region, room = widget.region, box.content_region
    return region.width > 0 and room.contains_region(region)


# --- item 2: typing into the results list ----------------------------------------------------


@pytest.mark.parametrize("fast", [False, True], ids=["typed", "all-at-once"])
async def test_a_name_typed_into_the_results_list_is_a_search_not_commands(ui_db, fast) -> None:
    maya = add_user("Maya", "Angelou", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await find_users(pilot)
        screen.query_one(ResultsTable).focus()
        await settle(pilot)
        if fast:
            await burst(pilot, *"maya")
        else:
            await pilot.press(*"maya")
            await settle(pilot)
        assert app.screen is screen, "no dialog opened"
        search = screen.query_one("#search", Input)
        assert search.value == "maya"
        assert app.focused is search
        assert [row.name for row in screen.rows] == ["Angelou, Maya"]
    assert Account.get_by_id(maya.id).status == Status.ACTIVE.value


async def test_the_list_appends_to_the_search_already_typed(ui_db) -> None:
    add_user("Maya", "Angelou", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await find_users(pilot)
        await type_into(pilot, "#search", "ang")
        await settle(pilot)
        await pilot.press("down")  # into the list
        await settle(pilot)
        assert isinstance(app.focused, ResultsTable)
        await pilot.press("e", "l")
        await settle(pilot)
        assert screen.query_one("#search", Input).value == "angel"


async def test_row_actions_are_on_keys_that_cannot_be_typed(ui_db) -> None:
    maya = add_user("Maya", "Angelou", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await find_users(pilot)
        await type_into(pilot, "#search", "angelou")
        await settle(pilot)
        screen.query_one(ResultsTable).focus()
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
    assert Account.get_by_id(maya.id).status == Status.INACTIVE.value


async def test_a_confirm_ignores_keys_typed_before_it_appeared(ui_db) -> None:
    maya = add_user("Maya", "Angelou", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await find_users(pilot)
        await type_into(pilot, "#search", "angelou")
        await settle(pilot)
        screen.query_one(ResultsTable).focus()
        await settle(pilot)
        # Typed before the question was on screen (read by the terminal, not yet handled).
        in_flight = [events.Key("y", "y"), events.Key("enter", "\r")]
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        for key in in_flight:
            app._driver.send_message(key)
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen), "still asking"
        assert Account.get_by_id(maya.id).status == Status.ACTIVE.value
        await pilot.press("y")  # typed once the question is there
        await settle(pilot)
        assert app.screen is screen
    assert Account.get_by_id(maya.id).status == Status.INACTIVE.value


async def test_keys_sent_at_once_after_ctrl_t_answer_no_question(ui_db) -> None:
    maya = add_user("Maya", "Angelou", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await find_users(pilot)
        await type_into(pilot, "#search", "angelou")
        await settle(pilot)
        screen.query_one(ResultsTable).focus()
        await settle(pilot)
        await burst(pilot, "ctrl+t", "y", "enter")
    assert Account.get_by_id(maya.id).status == Status.ACTIVE.value


async def test_the_deletion_dialog_ignores_a_y_typed_before_it_appeared(ui_db) -> None:
    maya = add_user("Maya", "Angelou", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await find_users(pilot)
        await type_into(pilot, "#search", "angelou")
        await settle(pilot)
        screen.query_one(ResultsTable).focus()
        await settle(pilot)
        in_flight = events.Key("y", "y")
        await pilot.press("delete")
        await settle(pilot)
        assert isinstance(app.screen, DeleteUserScreen)
        app._driver.send_message(in_flight)
        await settle(pilot)
        assert isinstance(app.screen, DeleteUserScreen)
    assert Account.get_or_none(Account.id == maya.id) is not None


# --- item 3: Register New User at scanner speed ----------------------------------------------


async def open_register(pilot, ui_db) -> RegisterUserScreen:
    pilot.app.session = open_session(ui_db.admin)
    pilot.app.push_screen(FindUsersScreen())
    await settle(pilot)
    await pilot.press("ctrl+b")
    await settle(pilot)
    assert isinstance(pilot.app.screen, RegisterUserScreen)
    return pilot.app.screen


async def test_a_scan_with_two_enters_lists_the_match_and_opens_nobody(ui_db) -> None:
    add_user("Known", "Reader", "P-KNOWN", identifier="BC-1000")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_register(pilot, ui_db)
        await burst(pilot, *"BC-1000", "enter", "enter")
        assert app.screen is screen, "the match is listed, not opened"
        assert [row.primary_id for row in screen.matches] == ["P-KNOWN"]
        assert app.focused is screen.query_one("#register-value", Input)
        message = str(screen.query_one("#register-message").render())
        assert message.startswith("1 user matches")


async def test_the_card_scanned_after_a_match_is_looked_up_not_dropped(ui_db) -> None:
    add_user("Known", "Reader", "P-KNOWN", identifier="BC-1000")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_register(pilot, ui_db)
        await burst(pilot, *"BC-1000", "enter")
        await burst(pilot, *"BC-2000", "enter")
        form = app.screen
        assert isinstance(form, QuickUserScreen), "the second card is new: its form"
        assert form.query_one("#primary_id", Input).value == "BC-2000"


async def test_a_match_opens_only_from_the_list(ui_db) -> None:
    known = add_user("Known", "Reader", "P-KNOWN", identifier="BC-1000")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_register(pilot, ui_db)
        await burst(pilot, *"BC-1000", "enter")
        await pilot.press("down")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, UserDetailsScreen)
        assert app.screen.account_id == known.id
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, FindUsersScreen)
        assert screen not in app.screen_stack


async def test_register_new_user_has_a_header_and_a_footer(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_register(pilot, ui_db)
        assert screen.query("Header") and screen.query("KeyBar")


# --- item 6: a generated password somebody can read --------------------------------------------


def test_a_generated_password_has_no_character_that_looks_like_another() -> None:
    settings = Settings()
    for _ in range(200):
        password = generate_password(settings)
        assert not set(password) & set("0Oo1Il"), password
        assert set(password) <= set(UNAMBIGUOUS)


async def test_ctrl_g_shows_the_generated_password_once_readable(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.session = open_session(ui_db.admin)
        form = QuickUserScreen(tab="public")
        app.push_screen(form)
        await settle(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, InfoScreen)
        password = form.query_one("#password", Input).value
        assert password and form.query_one("#password_confirm", Input).value == password
        shown = dialog.query_one("#info-extra", Static)
        assert str(shown.render()) == password
        assert inside(shown, 80, 24)
        await pilot.press("escape")
        await settle(pilot)
        assert password not in str(form.query_one("#form-message").render()), "once"


# --- item 8: thin terminals ----------------------------------------------------------------------


def patron_with_fee(amount: str = "30.00") -> Account:
    account = add_user("Anna", "Müller", "P100")
    add_fee(account.id, SYSTEM, fee_type="LOST_ITEM", amount=amount, item_barcode="31000042")
    return account


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_every_tab_of_user_details_is_on_screen(ui_db, size) -> None:
    account = patron_with_fee()
    app = PatronDeskApp()
    async with app.run_test(size=size) as pilot:
        app.session = open_session(ui_db.admin)
        app.push_screen(UserDetailsScreen(account.id))
        await settle(pilot)
        tabs = app.screen.query_one(TabbedContent).query("ContentTab")
        assert len(tabs) == 11
        for tab in tabs:
            assert inside(tab, *size), f"{tab.label_text} is cut off"


async def test_at_60_columns_the_chosen_tab_is_always_in_view(ui_db) -> None:
    account = patron_with_fee()
    app = PatronDeskApp()
    async with app.run_test(size=(60, 20)) as pilot:
        app.session = open_session(ui_db.admin)
        screen = UserDetailsScreen(account.id)
        app.push_screen(screen)
        await settle(pilot)
        for key in ("f12", "f7", "f10", "f2", "f11"):
            await pilot.press(key)
            await settle(pilot)
            tabbed = screen.query_one(TabbedContent)
            active = tabbed.get_tab(tabbed.active)
            for _ in range(100):  # the tab bar scrolls to it (animated: slower on a busy machine)
                if inside(active, 60, 20):
                    break
                await pilot.pause(0.02)
            assert inside(active, 60, 20), f"{key}: {active.label_text} is out of view"


async def test_at_60_columns_fee_amounts_are_whole(ui_db) -> None:
    account = patron_with_fee("1234.50")
    app = PatronDeskApp()
    async with app.run_test(size=(60, 20)) as pilot:
        app.session = open_session(ui_db.admin)
        app.push_screen(UserDetailsScreen(account.id))
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        table = app.screen.query_one("#fees-table", RowTable)
        line = "".join(s.text for s in table.render_line(1))
        assert line.count("1,234.50") == 2, line  # the original amount and the balance


async def test_at_60_columns_history_shows_the_old_and_new_values(ui_db) -> None:
    account = add_user("Anna", "Müller", "P100")
    update_user(account.id, account.version, {"first_name": "Annette"}, SYSTEM)
    app = PatronDeskApp()
    async with app.run_test(size=(60, 20)) as pilot:
        app.session = open_session(ui_db.admin)
        screen = UserDetailsScreen(account.id)
        app.push_screen(screen)
        await settle(pilot)
        await pilot.press("f12")
        await settle(pilot)
        table = screen.query_one("#history-table", RowTable)
        line = "".join(s.text for s in table.render_line(1))
        assert "Anna" in line and "Annette" in line, line


async def test_at_60_columns_find_users_shows_whole_names(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=(60, 20)) as pilot:
        screen = await find_users(pilot)
        await type_into(pilot, "#search", "müller")
        await settle(pilot)
        table = screen.query_one(ResultsTable)
        line = "".join(s.text for s in table.render_line(1))
        assert "Müller, Anna" in line
        assert anna.expiry_date.isoformat() in line  # and the expiry date is still there


async def test_at_60_columns_the_deletion_dialog_keeps_every_button(ui_db) -> None:
    patron_with_fee()
    app = PatronDeskApp()
    async with app.run_test(size=(60, 20)) as pilot:
        screen = await find_users(pilot)
        await type_into(pilot, "#search", "P100")
        await settle(pilot)
        screen.query_one(ResultsTable).focus()
        await pilot.press("delete")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, DeleteUserScreen)
        buttons = list(dialog.query(Button))
        assert [b.id for b in buttons][-1] == "cancel"
        for button in buttons:
            assert inside(button, 60, 20), f"{button.id} is cut off"
            assert within(button, dialog.query_one("#delete-box")), f"{button.id} is cut off"


async def duplicate_dialog(pilot, ui_db) -> ChoiceScreen:
    """Quick User Management saving a person who exists already (same names and birth date)."""
    add_user("Léa", "Fontaine", "P100", birth_date="1990-04-01")
    pilot.app.session = open_session(ui_db.admin)
    form = QuickUserScreen(tab="public")
    pilot.app.push_screen(form)
    await settle(pilot)
    form.query_one("#first_name", Input).value = "Léa"
    form.query_one("#last_name", Input).value = "Fontaine"
    form.query_one("#birth_date", Input).value = "1990-04-01"
    await pilot.press("ctrl+s")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ChoiceScreen)
    return pilot.app.screen


async def test_at_80_columns_the_duplicate_person_dialog_keeps_its_three_buttons(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await duplicate_dialog(pilot, ui_db)
        buttons = list(dialog.query(Button))
        assert len(buttons) == 3
        for button in buttons:
            assert within(button, dialog.query_one("#confirm-box")), f"{button.id} is cut off"
        assert len({b.region.y for b in buttons}) == 1, "side by side at 80 columns"


async def test_at_60_columns_the_duplicate_person_dialog_stacks_its_buttons(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=(60, 20)) as pilot:
        dialog = await duplicate_dialog(pilot, ui_db)
        for button in dialog.query(Button):
            assert inside(button, 60, 20), f"{button.id} is cut off"
            assert within(button, dialog.query_one("#confirm-box")), f"{button.id} is cut off"


async def test_the_duplicate_person_dialog_counts_in_words(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await duplicate_dialog(pilot, ui_db)
        question = str(dialog.query_one("#confirm-question").render())
        assert question.startswith("A person named Léa Fontaine, born 1990-04-01, already exists.")


# --- item 10: History in words -----------------------------------------------------------------


def test_history_names_the_codes_and_says_when_one_was_deleted(ui_db) -> None:
    account = add_user("Anna", "Müller", "P100")
    admin = Actor(ui_db.admin, Source.SCREEN)
    org = ui_db.organization.id
    short = UserGroup.create(organization=org, code="SHORT", name="Short-term visitor")
    update_user(account.id, account.version, {"user_group": "SHORT"}, admin)
    rows = [r for r in history(account.id, admin, "all") if r.field == "user_group"]
    assert (rows[0].old, rows[0].new) == ("Member of the public", "Short-term visitor")
    account = Account.get_by_id(account.id)
    update_user(account.id, account.version, {"user_group": "PUBLIC"}, admin)
    short_id = short.id
    short.delete_instance()
    rows = [r for r in history(account.id, admin, "all") if r.field == "user_group"]
    assert (rows[0].old, rows[0].new) == (f"{short_id} (deleted)", "Member of the public")
    assert rows[1].new == f"{short_id} (deleted)"


# --- item 11: the smaller things -------------------------------------------------------------


def footer_keys(app) -> set[str]:
    return {b.binding.key for b in app.screen.active_bindings.values() if b.binding.show}


async def test_tabs_typed_fast_end_on_the_last_one_with_its_keys_in_the_footer(ui_db) -> None:
    account = patron_with_fee()
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.session = open_session(ui_db.admin)
        screen = UserDetailsScreen(account.id)
        app.push_screen(screen)
        await settle(pilot)
        await burst(pilot, "f3", "f7")
        tabbed = screen.query_one(TabbedContent)
        assert tabbed.active == "fees"
        assert app.focused is screen.query_one("#fees-table")
        assert {"p", "w"} <= footer_keys(app)
        await burst(pilot, "f7", "f2")
        assert tabbed.active == "general"
        assert isinstance(app.focused, Input)
        assert "p" not in footer_keys(app)


async def test_f12_gives_the_focus_to_the_history_table(ui_db) -> None:
    account = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.session = open_session(ui_db.admin)
        screen = UserDetailsScreen(account.id)
        app.push_screen(screen)
        await settle(pilot)
        await pilot.press("f12")
        await settle(pilot)
        assert app.focused is screen.query_one("#history-table")


async def test_leaving_one_field_keeps_the_other_messages_of_a_refused_save(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.session = open_session(ui_db.admin)
        form = QuickUserScreen(tab="public")
        app.push_screen(form)
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        wrong = {f.id for f in form.query(Field) if f.error}
        assert len(wrong) >= 3, wrong
        await pilot.press("tab")  # leave the first wrong field, still empty
        await settle(pilot)
        assert {f.id for f in form.query(Field) if f.error} == wrong
        await type_into(pilot, "#last_name", "Fontaine", keys=True)
        await settle(pilot)
        assert not form.query_one("#field-last_name", Field).error, "gone once it is right"
        assert {f.id for f in form.query(Field) if f.error} == wrong - {"field-last_name"}


async def test_a_pasted_address_of_several_lines_is_joined_and_said(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.session = open_session(ui_db.admin)
        form = QuickUserScreen(tab="public")
        app.push_screen(form)
        await settle(pilot)
        field = form.query_one("#address_line1", Input)
        field.focus()
        await settle(pilot)
        field.post_message(events.Paste("Rue du Marché 4\n1204 Genève\n"))
        await settle(pilot)
        assert field.value == "Rue du Marché 4 1204 Genève"
        said = [n.message for n in app._notifications]
        assert any("2 lines" in text and "joined" in text for text in said), said


async def test_an_attachment_size_has_its_unit(ui_db, tmp_path) -> None:
    account = add_user("Anna", "Müller", "P100")
    source = tmp_path / "consent.pdf"
    source.write_bytes(b"x" * 2560)
    add_row(Kind.ATTACHMENT, account.id, account.version, {"path": str(source)}, SYSTEM)
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.session = open_session(ui_db.admin)
        screen = UserDetailsScreen(account.id)
        app.push_screen(screen)
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        table = screen.query_one("#table-attachment", RowTable)
        assert table.get_row_at(0)[1] == "2.5 KB"


async def test_a_name_typed_right_after_ctrl_n_lands_in_the_first_name(ui_db) -> None:
    """From the All tab the new-user form opens on its record type (a select, which takes no
    text): a name typed at once went nowhere. It goes to First name, the record type kept."""
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await find_users(pilot)
        await burst(pilot, "ctrl+n", *"Ada", "tab", "tab", *"Lovelace")
        form = app.screen
        assert isinstance(form, QuickUserScreen)
        assert form.query_one("#first_name", Input).value == "Ada"
        assert form.query_one("#last_name", Input).value == "Lovelace"
        assert form.record_type == "public"


async def test_ctrl_s_typed_right_after_text_saves_the_text_typed_before_it(
    ui_db, tmp_path
) -> None:
    """ctrl+s is a priority key (it wins over the focused field's keys): sent at once after a
    path, it ran before the field had taken the characters ('Give the file to write.')."""
    from screens.transfer import ExportScreen

    target = tmp_path / "desk.csv"
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await find_users(pilot)
        app.action_export()
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        await burst(pilot, *str(target), "ctrl+s")
        summary = str(app.screen.query_one("#summary", Static).render())
        assert summary.startswith("Exported"), summary
    assert target.exists()


async def test_a_desk_role_is_not_offered_the_lists_keys_it_may_not_use(ui_db) -> None:
    """Found by a usability helper (2026-12-08): a circulation desk operator's footer showed
    "^t Activate/deactivate  del Delete", each refused when pressed; they are not offered
    (the session's roles grant neither), and an administrator's list still has them."""
    from models.enums import Role
    from tests.helpers.details import staff
    from tui.widgets import KeyBar

    add_user("Anna", "Müller", "P100", email="anna@example.org")
    desk = staff(ui_db, Role.CIRCULATION_DESK_OPERATOR, "S0001")
    for account, offered in ((Account.get_by_id(desk.id), False), (ui_db.admin, True)):
        app = PatronDeskApp()
        async with app.run_test(size=(120, 40)) as pilot:
            app.session = open_session(account)
            app.show_home()
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, FindUsersScreen)
            screen.query_one(ResultsTable).focus()
            await settle(pilot)
            footer = " ".join(d for _, _, d, _ in screen.query_one(KeyBar)._shown_keys())
            assert ("Activate/deactivate" in footer) is offered, footer
            assert ("Delete" in footer) is offered, footer
