"""Issue 19, "the UI never waits": the session keeps one User Details screen and shows each
next user in it (`App.open_user`). Nothing of the user shown before may survive: not a field,
a label, a mark, a message, a tab's rows, the Fines/fees tab, a pop-up or the screen itself
after log out."""

from __future__ import annotations

import contextlib
from datetime import date

from textual.widgets import Input, Static, TabbedContent
from textual.worker import WorkerCancelled

from models.access.session import open_session
from models.audit import Actor
from models.enums import RecordType, Role, Source
from models.fees.fees import add_fee
from models.store.tables import JobCategory, RoleAssignment
from models.users.rows import Kind, add_row
from screens.confirm import InfoScreen
from screens.user_details import UserDetailsScreen
from screens.user_details.general import GeneralPane
from screens.user_details.rows import RowsPane
from tests.helpers.ui import add_user, settle
from tui.app import PatronDeskApp
from tui.widgets import Field

SYSTEM = Actor(None, Source.CLI)


def head(app) -> str:
    screen = next(s for s in reversed(app.screen_stack) if isinstance(s, UserDetailsScreen))
    return str(screen.query_one("#details-head", Static).render())


async def open_user(pilot, account_id: int) -> UserDetailsScreen:
    pilot.app.open_user(account_id)
    await settle(pilot)
    screens = [s for s in pilot.app.screen_stack if isinstance(s, UserDetailsScreen)]
    assert screens
    return screens[-1]


async def back(pilot) -> None:
    await pilot.press("escape")
    await settle(pilot)


async def _mark_last_name_wrong(pilot, screen: UserDetailsScreen) -> None:
    """The last name saved empty: refused, the field marked; the name typed back (nothing
    left unsaved), the mark kept until the next save or user."""
    name = screen.query_one("#g-last_name", Input)
    typed, name.value = name.value, ""
    await pilot.press("ctrl+s")
    await settle(pilot)
    assert screen.query_one("#field-g-last_name", Field).error
    name.value = typed


async def test_the_next_user_replaces_everything_of_the_last_one(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100", email="anna@example.org")
    add_fee(anna.id, SYSTEM, fee_type="LOST_ITEM", amount="30.00", item_barcode="31000042")
    bruno = add_user("Bruno", "Keller", "S200", record_type=RecordType.STAFF.value, group="STAFF")
    RoleAssignment.delete().where(
        (RoleAssignment.account == bruno) & (RoleAssignment.role == Role.PATRON.value)
    ).execute()  # no Patron role: no Fines/fees tab
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.session = open_session(ui_db.admin)
        first = await open_user(pilot, anna.id)
        assert "Müller" in head(app)
        # Anna's Contact tab is built, a field marked wrong, a message shown.
        await pilot.press("f3")
        await settle(pilot)
        emails = first.query_one("#contact").query(RowsPane).first()
        assert "anna@example.org" in str(emails.query_one("RowsTable").get_row_at(0))
        await pilot.press("f2")
        await settle(pilot)
        await _mark_last_name_wrong(pilot, first)  # nothing left unsaved
        await back(pilot)

        second = await open_user(pilot, bruno.id)
        assert second is first  # the same screen, shown again
        assert "Keller" in head(app) and "Müller" not in head(app)
        general = second.query_one(GeneralPane)
        assert general.ctx.account_id == bruno.id
        assert second.query_one("#g-first_name", Input).value == "Bruno"
        assert second.query_one("#g-primary_id", Input).value == "S200"
        assert not second.query_one("#field-g-last_name", Field).error
        assert not str(general.query_one("#general-message").render())
        assert not general.dirty
        # No Patron role: no Fines/fees tab (dimmed in the bar, passed over); the Contact tab
        # is Bruno's.
        assert "fees" not in second._present
        tabbed = second.query_one(TabbedContent)
        assert tabbed.get_tab("fees").disabled
        await pilot.press("f7")
        await settle(pilot)
        assert tabbed.active != "fees"
        await pilot.press("f3")
        await settle(pilot)
        emails = second.query_one("#contact").query(RowsPane).first()
        assert "s200@example.org" in str(emails.query_one("RowsTable").get_row_at(0))
        assert "anna@example.org" not in str(emails.query_one("RowsTable").get_row_at(0))
        assert emails.ctx.account_id == bruno.id
        await back(pilot)

        third = await open_user(pilot, anna.id)
        assert third is first
        assert not third.query_one(TabbedContent).get_tab("fees").disabled
        assert Role.PATRON.value in third.profile.roles


async def test_a_save_goes_to_the_user_shown(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100")
    bruno = add_user("Bruno", "Keller", "P200")
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.session = open_session(ui_db.admin)
        await open_user(pilot, anna.id)
        await back(pilot)
        screen = await open_user(pilot, bruno.id)
        screen.query_one("#g-title", Input).value = "Dr"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Saved" in str(screen.query_one("#general-message").render())
    anna, bruno = (type(anna).get_by_id(a.id) for a in (anna, bruno))
    assert (anna.person.title or "") == ""
    assert bruno.person.title == "Dr"


async def test_a_record_that_arrives_after_log_out_opens_nothing(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100")
    add_row(
        Kind.NOTE,
        anna.id,
        anna.version,
        {"note_type": "CIRCULATION", "text": "See the desk", "popup": True},
        SYSTEM,
    )
    bruno = add_user("Bruno", "Keller", "P200")
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.session = open_session(ui_db.admin)
        await open_user(pilot, bruno.id)
        await back(pilot)
        app.open_user(anna.id)  # the kept screen reads Anna's record before it is pushed
        app.action_logout()  # ctrl+l never waits
        with contextlib.suppress(WorkerCancelled):  # the read goes with the kept screen
            await settle(pilot)
        await settle(pilot)
        assert app.session is None
        assert not any(isinstance(s, (UserDetailsScreen, InfoScreen)) for s in app.screen_stack)


async def test_keys_typed_while_the_record_is_read_go_to_it(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100")
    bruno = add_user("Bruno", "Keller", "P200")
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.session = open_session(ui_db.admin)
        await open_user(pilot, bruno.id)
        await back(pilot)
        app.open_user(anna.id)
        await pilot.press("f3")  # Contact, typed before the record is there
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, UserDetailsScreen) and screen.account_id == anna.id
        assert screen.query_one(TabbedContent).active == "contact"


async def test_log_out_drops_the_kept_screen(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.session = open_session(ui_db.admin)
        kept = await open_user(pilot, anna.id)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert app.session is None
        assert not kept.is_attached
        assert "kept-user-details" not in app._installed_screens
        app.session = open_session(ui_db.admin)
        again = await open_user(pilot, anna.id)
        assert again is not kept


async def test_a_user_that_cannot_be_shown_is_not_kept(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.session = open_session(ui_db.admin)
        missing = await open_user(pilot, 999_999)
        assert missing.query("#details-error")
        await back(pilot)
        shown = await open_user(pilot, anna.id)
        assert shown is not missing
        assert "Müller" in head(app)


# --- the new-user form, kept per record type ---------------------------------------------------


async def new_form(pilot, **options):
    from screens.quick_user import QuickUserScreen

    pilot.app.new_user_form(**options)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, QuickUserScreen)
    return screen


async def test_the_form_comes_back_empty(ui_db) -> None:
    from textual.widgets import Select

    from screens.confirm import ConfirmScreen
    from screens.reuse_person import ReusePersonScreen  # noqa: F401 - the dialog's module

    add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.session = open_session(ui_db.admin)
        form = await new_form(pilot, tab="all")
        form.query_one("#first_name", Input).value = "Léa"
        form.query_one("#record_type", Select).value = "staff"
        form.query_one("#email_type", Select).value = "work"
        form.query_one("#pin", Input).value = "1234"
        await pilot.press("ctrl+s")  # refused: the marks and the message show
        await settle(pilot)
        assert form.query_one("#field-last_name", Field).error
        form.action_generate_password()
        await settle(pilot)
        assert form.generated_password
        await pilot.press("escape")  # the password shown once
        await settle(pilot)
        form.use_person(ui_db.admin.person_id)  # personal fields locked
        await settle(pilot)
        assert form.query_one("#first_name", Input).disabled
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)  # "Discard what you typed?"
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is not form
        # Left: nothing secret stays in the form meanwhile.
        assert form.query_one("#pin", Input).value == ""
        assert form.query_one("#password", Input).value == ""

        again = await new_form(pilot, tab="all")
        assert again is form
        for name in ("first_name", "last_name", "password", "password_confirm", "pin"):
            assert again.query_one(f"#{name}", Input).value == ""
            assert not again.query_one(f"#{name}", Input).disabled
        assert again.query_one("#record_type", Select).value == "public"
        assert again.query_one("#email_type", Select).value == "personal"
        assert not again.query_one("#field-last_name", Field).error
        assert not str(again.query_one("#form-message").render())
        assert again.generated_password is None and again.person_id is None
        assert not again.touched
        assert app.focused is again.query_one("#record_type")


async def test_each_record_type_and_register_have_their_own_form(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.session = open_session(ui_db.admin)
        staff = await new_form(pilot, tab="staff")
        await pilot.press("escape")
        await settle(pilot)
        register = await new_form(
            pilot, register=True, identifier="B123", prefill={"last_name": "Keller"}
        )
        assert register is not staff and register.register
        assert register.query_one("#primary_id", Input).value == "B123"
        assert register.query_one("#last_name", Input).value == "Keller"
        assert app.focused is register.query_one("#first_name")
        await pilot.press("escape", "y")
        await settle(pilot)
        again = await new_form(pilot, register=True, identifier="B124")
        assert again is register
        assert again.query_one("#primary_id", Input).value == "B124"
        assert again.query_one("#last_name", Input).value == ""
        await pilot.press("ctrl+l", "ctrl+l")  # the scanned card would be lost: asked first
        await settle(pilot)
        assert not app._kept and not register.is_attached and not staff.is_attached


# --- log out asks before it drops unsaved edits -------------------------------------------------


async def test_log_out_asks_before_dropping_unsaved_edits(ui_db) -> None:
    from screens.confirm import ConfirmScreen
    from screens.login import LoginScreen

    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.session = open_session(ui_db.admin)
        screen = await open_user(pilot, anna.id)
        screen.query_one("#g-title", Input).value = "Dr"
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "unsaved" in str(app.screen.query_one("#confirm-question").render()).lower()
        await pilot.press("escape")  # back to the edits, all kept
        await settle(pilot)
        assert app.screen is screen and app.session is not None
        assert screen.query_one("#g-title", Input).value == "Dr"
        await pilot.press("ctrl+l", "ctrl+l")  # asked, then ctrl+l again: logged out
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and app.session is None


async def test_log_out_with_nothing_unsaved_does_not_ask(ui_db) -> None:
    from screens.login import LoginScreen

    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.session = open_session(ui_db.admin)
        await open_user(pilot, anna.id)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen) and app.session is None


async def test_a_remapped_quit_is_obeyed_while_a_logout_is_under_way(ui_db) -> None:
    app = PatronDeskApp()
    app.user_keymap = {"quit": "ctrl+x"}
    async with app.run_test(size=(120, 40)) as pilot:
        app.session = open_session(ui_db.admin)
        await settle(pilot)
        app._leaving = True  # a logout under way: every other key waits for the login screen
        await pilot.press("ctrl+x")
        await settle(pilot)
        assert app.return_code == 0


def _passes(monkeypatch) -> list[str]:
    """The layouts and draws of User Details from now on, in order. (A record read slowly, on a
    loaded machine, is covered by "Loading the record…" after COVER_AFTER: never here.)"""
    from textual.screen import Screen

    monkeypatch.setattr("screens.user_details.COVER_AFTER", 60)
    passes: list[str] = []
    layout, draw = Screen._refresh_layout, Screen._compositor_refresh

    def laid_out(screen, *args, **kwargs):
        if isinstance(screen, UserDetailsScreen):
            passes.append("layout")
        return layout(screen, *args, **kwargs)

    def drawn(screen, *args, **kwargs):
        if isinstance(screen, UserDetailsScreen):
            passes.append("draw")
        return draw(screen, *args, **kwargs)

    monkeypatch.setattr(Screen, "_refresh_layout", laid_out)
    monkeypatch.setattr(Screen, "_compositor_refresh", drawn)
    return passes


async def _opened_after(pilot, ui_db, first: int, then: int, monkeypatch):
    """User `then` opened in the screen kept from user `first`, as administrator: the screen
    and its layouts and draws (`_passes`) from the second open on."""
    pilot.app.session = open_session(ui_db.admin)
    await open_user(pilot, first)
    await back(pilot)
    passes = _passes(monkeypatch)
    return await open_user(pilot, then), passes


async def test_the_next_user_is_drawn_once_without_a_layout(ui_db, monkeypatch) -> None:
    """The kept screen shows another user with the same tabs in one draw and no layout: a
    new value in a field, a select or the head that keeps to one line is drawn in place
    (`SafeInput.virtual_size`, `FormSelect`, `Line`; Textual laid out the whole screen for
    each, a third of the time of opening a user), and nothing is drawn twice."""
    anna = add_user("Anna", "Müller", "P100", email="anna@example.org")
    bruno = add_user("Bruno", "Keller-Oberhänsli-Wyss", "S200", email="b@example.org",
                     birth_date=date(1970, 5, 6), gender="male")  # fmt: skip
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen, passes = await _opened_after(pilot, ui_db, anna.id, bruno.id, monkeypatch)
        assert "Keller" in head(app)
        assert screen.query_one("#g-birth_date", Input).value == "1970-05-06"
        assert passes == ["draw"], passes


async def test_an_external_user_with_a_retired_code_is_drawn_without_a_layout(
    ui_db, monkeypatch
) -> None:
    """The General tab's info line takes two lines for every user (an external account's SIS
    note wraps to the second one) and is redrawn in place; a select offered another list for
    this user (a job category retired since, kept as it is) fills its hidden list of choices
    without laying the screen out (`tui.widgets._FormOverlay`): each laid the whole screen out
    again, a third of the users opened at random."""
    anna = add_user("Anna", "Müller", "P100", email="anna@example.org")
    bruno = add_user("Bruno", "Keller", "S200", account_type="external",
                     record_type=RecordType.STAFF.value, group="STAFF",
                     job_category="CIRC_ASSISTANT")  # fmt: skip
    JobCategory.update(active=False).where(JobCategory.code == "CIRC_ASSISTANT").execute()
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen, passes = await _opened_after(pilot, ui_db, anna.id, bruno.id, monkeypatch)
        info = str(screen.query_one("#general-info").render())
        assert "external account" in info
        assert screen.query_one("#g-job_category").value == "CIRC_ASSISTANT"
        assert passes == ["draw"], passes
        # the held category is offered when the list opens
        screen.query_one("#g-job_category").focus()
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        overlay = screen.query_one("#g-job_category").query_one("SelectOverlay")
        assert overlay.display and overlay.region.height > 0
        shown = [str(overlay.get_option_at_index(i).prompt) for i in range(overlay.option_count)]
        assert "CIRC_ASSISTANT" in shown


async def test_the_next_user_with_other_tabs_is_drawn_without_a_layout(ui_db, monkeypatch) -> None:
    """Another user whose tabs differ (a contact has no Identifiers or Blocks) is drawn once,
    with no layout of the screen: those tabs stay in the bar, dimmed and passed over, and the
    others keep their places and labels. (Hiding them laid the whole screen out again: a
    fifth of the users opened one after another at random cost that.)"""
    anna = add_user("Anna", "Müller", "P100", email="anna@example.org")
    acme = add_user("", "ACME Books", "C300", record_type=RecordType.CONTACT.value,
                    group="CONTACT")  # fmt: skip
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen, passes = await _opened_after(pilot, ui_db, anna.id, acme.id, monkeypatch)
        assert "ACME" in head(app) and "block" not in screen._present
        tabs = screen.query_one(TabbedContent)
        assert tabs.get_tab("block").disabled and tabs.get_tab("block").display
        assert passes == ["draw"], passes
        await back(pilot)
        passes.clear()
        screen = await open_user(pilot, anna.id)  # and back: Blocks is hers again
        assert not tabs.get_tab("block").disabled
        assert passes == ["draw"], passes


async def test_no_history_tab_for_roles_the_configuration_keeps_it_from(ui_db) -> None:
    """History visible to roles (issue 22 item 11): a desk operator opening a user has no
    History tab when the configuration names other roles; F12 says why; the administrator
    opening the next user in the same kept screen has it again."""
    from models.config.config_settings import update_settings

    anna = add_user("Anna", "Müller", "P100")
    desk = add_user(
        "Dora", "Desk", "S300", record_type=RecordType.STAFF.value, group="STAFF",
        roles=[Role.CIRCULATION_DESK_OPERATOR.value],
    )  # fmt: skip
    update_settings({"history_roles": "user_administrator"}, SYSTEM)
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.session = open_session(desk)
        screen = await open_user(pilot, anna.id)
        tabs = screen.query_one(TabbedContent)
        assert "history" not in screen._present
        assert tabs.get_tab("history").display is False
        await pilot.press("f12")
        await settle(pilot)
        assert tabs.active == "general"
        assert any("History visible to roles" in str(n.message) for n in app._notifications)
        await back(pilot)
        app.session = open_session(ui_db.admin)
        again = await open_user(pilot, anna.id)
        assert again is screen and "history" in again._present
        assert tabs.get_tab("history").display is not False
        await pilot.press("f12")
        await settle(pilot)
        assert tabs.active == "history"


def _looks(screen: UserDetailsScreen) -> dict[str, tuple]:
    """Every widget of the General tab with an id: its classes, pseudo-classes that styles
    depend on, and the style it is drawn with ("-valid", which draws nothing, left out: a
    date the form put there is not marked, one Textual checked is)."""
    general = screen.query_one(GeneralPane)
    return {
        widget.id: (
            frozenset(widget.classes) - {"-valid"},
            widget.disabled,
            widget.has_focus,
            str(widget.rich_style),
            widget.styles.display,
            widget.styles.height,
        )
        for widget in general.walk_children()
        if widget.id
    }


async def test_a_user_shown_in_the_kept_screen_looks_as_in_a_new_one(ui_db) -> None:
    """`App.restyled_once`: the kept screen's class changes are restyled once, at the end of
    the refill. Anna's form (an error mark, values in every select and date) refilled with
    Bruno's looks, widget by widget, as a User Details built afresh for Bruno."""
    anna = add_user("Anna", "Müller", "P100", email="anna@example.org", birth_date=date(1990, 1, 2))
    bruno = add_user("Bruno", "Keller", "S200", record_type=RecordType.STAFF.value, group="STAFF")
    async with PatronDeskApp().run_test(size=(120, 40)) as pilot:
        pilot.app.session = open_session(ui_db.admin)
        fresh = _looks(await open_user(pilot, bruno.id))
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.session = open_session(ui_db.admin)
        first = await open_user(pilot, anna.id)
        await _mark_last_name_wrong(pilot, first)
        await back(pilot)
        kept = await open_user(pilot, bruno.id)
        assert kept is first
        assert _looks(kept) == fresh


async def test_a_resize_before_the_tab_bar_is_composed_does_not_stop_the_app(
    ui_db, monkeypatch
) -> None:
    """A terminal resized while a record's tabs are being put in place (the bar mounted, its
    tabs not composed yet) stopped the app: `_relabel` asked the bar for a tab it did not
    have yet (NoMatches; seen as a blank snapshot on a loaded machine). The labels are made
    again once the tabs are there."""
    from textual.css.query import NoMatches

    from screens.user_details import DetailTabs

    anna = add_user("Anna", "Müller", "P100", email="anna@example.org")
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.session = open_session(ui_db.admin)
        screen = await open_user(pilot, anna.id)
        get_tab = DetailTabs.get_tab
        missing = [True]

        def not_composed_yet(self, pane_id):
            if missing[0]:
                missing[0] = False
                raise NoMatches("no tab yet")
            return get_tab(self, pane_id)

        monkeypatch.setattr(DetailTabs, "get_tab", not_composed_yet)
        await pilot.resize_terminal(60, 20)
        await settle(pilot)
        assert app.is_running and app.screen is screen
        assert not missing[0]  # the resize met the bar without its tabs
        tabbed = screen.query_one(DetailTabs)
        assert tabbed.has_class("-close")  # labelled again for 60 columns, once they are there
        assert get_tab(tabbed, "identifier").label_text == "IDs"
