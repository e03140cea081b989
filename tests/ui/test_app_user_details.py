"""User Details driven with the pilot: each tab's keys, the General tab's save and its refusal
of a stale save, History, and external accounts."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Select, TabbedContent

from models.access.session import open_session
from models.audit import Actor
from models.enums import Source
from models.store.tables import Account, Address, AuditEvent, Block, Email, Note
from models.users.details import update_user
from screens.confirm import ChoiceScreen, ConfirmScreen, InfoScreen
from screens.user_details import UserDetailsScreen
from screens.user_details.general import GeneralPane
from screens.user_details.history import HistoryPane
from screens.user_details.row_form import RowFormScreen
from screens.user_details.rows import RowsPane
from tests.helpers.ui import SIZE, add_user, settle, type_into
from tui.app import PatronDeskApp
from tui.table import RowTable


async def open_details(pilot, ui_db, account: Account) -> UserDetailsScreen:
    pilot.app.session = open_session(ui_db.admin)
    screen = UserDetailsScreen(account.id)
    pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


def table_rows(screen, kind: str) -> list[tuple[str, ...]]:
    table = screen.query_one(f"#table-{kind}", RowTable)
    return [table.get_row_at(i) for i in range(table.row_count)]


async def form_type(pilot, name: str, text: str) -> None:
    await type_into(pilot, f"#row-{name}", text)


@pytest.fixture
def anna(ui_db) -> Account:
    return add_user("Anna", "Müller", "P100", email="anna@example.org")


async def test_first_name_change_is_saved_and_shown_in_history(ui_db, anna) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, anna)
        await type_into(pilot, "#g-first_name", "Annette")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Müller, Annette" in str(screen.query_one("#details-head").render())
        await pilot.press("f12")
        await settle(pilot)
        rows = screen.query_one("#history-table", RowTable).rows
        assert rows[0][1:] == ("admin", "screen", "update", "first_name", "Anna", "Annette")
        # Enter shows the whole change (a thin terminal cuts long values).
        screen.query_one("#history-table", RowTable).focus()
        await pilot.press("enter")
        await settle(pilot)
        from screens.confirm import InfoScreen

        assert isinstance(app.screen, InfoScreen)
        text = str(app.screen.query_one("#info-text").render())
        assert "Who:     admin (screen)" in text
        assert "Old:     Anna" in text and "New:     Annette" in text
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
    assert Account.get_by_id(anna.id).person.first_name == "Annette"


async def test_a_stale_save_is_refused_and_the_typed_value_kept(ui_db, anna) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, anna)
        # Another staff user saves the same record meanwhile.
        other = add_user("Other", "Staff", "S-OTHER", record_type="staff", group="STAFF",
                         roles=["user_manager"])  # fmt: skip
        update_user(anna.id, anna.version, {"title": "Dr"}, Actor(other, Source.SCREEN))
        await type_into(pilot, "#g-first_name", "Anita")
        await pilot.press("ctrl+s")
        await settle(pilot)
        message = str(screen.query_one("#general-message").render())
        assert "s-other" in message.lower() and "changed" in message.lower()
        assert screen.query_one("#g-first_name", Input).value == "Anita"
    person = Account.get_by_id(anna.id).person
    assert (person.first_name, person.title) == ("Anna", "Dr"), "nothing overwritten"


async def test_leaving_with_unsaved_changes_asks(ui_db, anna) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, anna)
        await type_into(pilot, "#g-middle_name", "Maria")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("e")  # keep editing
        await settle(pilot)
        assert app.screen is screen
        assert screen.query_one("#g-middle_name", Input).value == "Maria"


async def test_add_an_email_and_make_it_preferred(ui_db, anna) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, anna)
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, RowFormScreen)
        await form_type(pilot, "address", "not an email")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, RowFormScreen), "refused: the form stays"
        assert app.screen.query_one("#field-row-address").error
        await form_type(pilot, "address", "anna.work@example.org")
        app.screen.query_one("#row-preferred").value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        rows = table_rows(screen, "email")
        assert [r[0] for r in rows] == ["anna@example.org", "anna.work@example.org"]
    preferred = Email.select().where(Email.preferred == True)  # noqa: E712
    assert [e.address for e in preferred] == ["anna.work@example.org"], "preferred stays unique"


async def test_the_last_email_of_a_public_user_cannot_be_deleted(ui_db, anna) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, ui_db, anna)
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("delete")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
    assert Email.select().where(Email.person == anna.person_id).count() == 1


async def test_a_popup_note_appears_when_the_record_is_opened(ui_db, anna) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, anna)
        await pilot.press("f5")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await form_type(pilot, "text", "Returned a damaged book: check items")
        app.screen.query_one("#row-popup").value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert table_rows(screen, "note")[0][1].startswith("Returned a damaged")
    assert Note.get().popup
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_details(pilot, ui_db, anna)
        assert isinstance(app.screen, InfoScreen)
        assert "damaged book" in str(app.screen.query_one("#info-text").render())


async def test_add_a_block_then_deactivate_it(ui_db, anna) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, anna)
        await pilot.press("f6")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        app.screen.query_one("#row-definition", Select).value = "LOST_CARD"
        await form_type(pilot, "note", "Card reported lost")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "BLOCKED" in str(screen.query_one("#details-head").render())
        await pilot.press("space")
        await settle(pilot)
        assert "BLOCKED" not in str(screen.query_one("#details-head").render())
    block = Block.get()
    assert not block.active
    fields = {e.field for e in AuditEvent.select().where(AuditEvent.entity == "block")}
    assert {"definition", "active"} <= fields


async def test_identifier_edit_duplicate_and_refusals(ui_db) -> None:
    account = add_user("Li", "Wang", "P200", identifier="BC-1")
    add_user("Taken", "Holder", "P201", identifier="BC-TAKEN")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, account)
        await pilot.press("f4")
        await settle(pilot)
        values = [r[1] for r in table_rows(screen, "identifier")]
        assert values == ["P200", "BC-1"]
        await pilot.press("delete")  # the primary identifier
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert len(table_rows(screen, "identifier")) == 2, "the primary identifier stays"
        await pilot.press("down", "c")  # duplicate the barcode
        await settle(pilot)
        await form_type(pilot, "value", "bc-taken")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Holder" in app.screen.query_one("#field-row-value").error
        await form_type(pilot, "value", "BC-2")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [r[1] for r in table_rows(screen, "identifier")] == ["P200", "BC-1", "BC-2"]


async def test_history_names_the_bulk_job_that_made_a_change(ui_db, anna) -> None:
    """A change made by a bulk job shows "job N" in History, so the job can be found."""
    from models.jobs.jobs import run_update
    from models.jobs.sets import create_itemized_set

    system = Actor(None, Source.CLI)
    org = anna.organization_id
    set_id = create_itemized_set("One", [anna.id], system, org).set_id
    done = run_update(set_id, {"user_group": "GRAD"}, Actor(None, Source.JOB), organization=org)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, anna)
        await pilot.press("f12")
        await settle(pilot)
        rows = screen.query_one("#history-table", RowTable).rows
        job = [r for r in rows if "user_group" in r]
        assert job and f"job {done.info.job_id}" in job[0], rows


async def test_history_period_filter(ui_db, anna) -> None:
    from models.runtime import runtime

    AuditEvent.update(at=runtime.now().replace(year=runtime.now().year - 2)).where(
        AuditEvent.account_id == anna.id
    ).execute()
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, anna)
        await pilot.press("f12")
        await settle(pilot)
        assert screen.query_one("#history-table", RowTable).row_count == 0
        screen.query_one("#history-period", Select).value = "all"
        await settle(pilot)
        assert screen.query_one("#history-table", RowTable).row_count > 5
        assert isinstance(screen.query_one(HistoryPane), HistoryPane)


async def test_tabs_switch_on_keys(ui_db, anna) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, anna)
        tabs = screen.query_one("#details-tabs", TabbedContent)
        for key, tab in [("f3", "contact"), ("f4", "identifier"), ("f8", "statistic"),
                         ("f11", "role"), ("f2", "general")]:  # fmt: skip
            await pilot.press(key)
            await settle(pilot)
            assert tabs.active == tab
        # A tab is built when first shown: the three of Contact, Identifiers, Statistics, Roles.
        assert len(screen.query(RowsPane)) == 6
        assert screen.query_one(GeneralPane)
        for key in ("f5", "f6", "f9", "f10"):
            await pilot.press(key)
            await settle(pilot)
        assert len(screen.query(RowsPane)) == 10


async def test_external_account_fields_are_locked_until_opened(ui_db, anna) -> None:
    from models.users.details import toggle_account_type

    toggle_account_type(anna.id, anna.version, Actor(ui_db.admin, Source.SCREEN))
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, anna)
        assert screen.query_one("#g-last_name", Input).disabled
        assert not screen.query_one("#g-title", Input).disabled
        await pilot.press("ctrl+a")
        await settle(pilot)
        await pilot.press("o")  # Open for update
        await settle(pilot)
        assert not screen.query_one("#g-last_name", Input).disabled
        assert screen.query_one("#g-primary_id", Input).disabled, "the SIS key stays locked"
        # The info line no longer says "locked" (found by a usability helper, 2026-12-08).
        info = str(screen.query_one("#general-info").render())
        assert "opened for update" in info and "locked" not in info, info


async def test_the_identifier_form_generates_a_value_on_ctrl_g(ui_db) -> None:
    """Issue 22, item 8 (Esploro: Generate sets the value by the ID Generation Policy)."""
    from models.config.settings import load_settings, set_setting
    from screens.help import KeysHelpScreen
    from screens.user_details.identifier_form import IdentifierFormScreen

    account = add_user("Li", "Wang", "P200")
    set_setting("id_prefix", "GEN-")
    set_setting("id_next", 41)
    set_setting("id_digits", 4)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(pilot, ui_db, account)
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, IdentifierFormScreen)
        assert "Generate (ctrl+g)" in str(form.query_one("#row-generate").label)
        form.query_one("#row-id_type", Select).value = "BARCODE"
        await form_type(pilot, "note", "new card")
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert form.query_one("#row-value", Input).value == "GEN-0041"
        assert form.query_one("#row-note", Input).value == "new card", "nothing else touched"
        assert load_settings().id_next == 42, "reserved"
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, KeysHelpScreen)
        assert "Generate identifier" in str(app.screen.query_one("#help-text").render())
        await pilot.press("f1")
        await settle(pilot)
        await pilot.click("#row-generate")  # the button: the next one
        await settle(pilot)
        assert form.query_one("#row-value", Input).value == "GEN-0042"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert [r[1] for r in table_rows(screen, "identifier")] == ["P200", "GEN-0042"]
        # Other row forms have no Generate.
        await pilot.press("f3")
        await settle(pilot)
        screen.query_one("#table-email", RowTable).focus()
        await pilot.press("n")
        await settle(pilot)
        assert not isinstance(app.screen, IdentifierFormScreen)
        assert not app.screen.query("#row-generate")


async def test_a_contact_record_has_its_types_and_no_identifiers_or_blocks_tab(ui_db, anna) -> None:
    """Issue 22, item 5 (alma-managing-users): a contact's claim/order/payment/returns types, no
    Identifiers or Blocks tab (dimmed in the bar and passed over; F4 and F6 say why),
    addresses with five lines; the kept screen shows both tabs again for the next public
    user."""
    contact = add_user("", "Binder & Co", "C300", record_type="contact", group="CONTACT")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(ui_db.admin)
        app.open_user(contact.id)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, UserDetailsScreen)
        tabs = screen.query_one("#details-tabs", TabbedContent)
        assert tabs.get_tab("identifier").disabled and tabs.get_tab("block").disabled
        for key in ("f4", "f6"):
            await pilot.press(key)
            await settle(pilot)
            assert tabs.active == "general"
        shown = [n.message for n in app._notifications]
        assert "A contact record has no Identifiers tab." in shown
        assert "A contact record has no Blocks tab." in shown
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("n")  # an email: a contact's types
        await settle(pilot)
        values = [v for _, v in app.screen.query_one("#row-email_type", Select)._options]
        assert {"claim", "order", "payment", "returns"} <= set(values)
        assert not {"school", "alternative"} & set(values)
        await pilot.press("escape")
        await settle(pilot)
        screen.query_one("#table-address", RowTable).focus()
        await pilot.press("n")  # an address of five lines
        await settle(pilot)
        form = app.screen
        assert isinstance(form, RowFormScreen)
        form.query_one("#row-address_type", Select).value = "claim"
        for n in range(1, 6):
            await form_type(pilot, f"line{n}", f"Line {n}")
        await form_type(pilot, "city", "Bern")
        await form_type(pilot, "note", "Claims only")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen, app.screen
        (row,) = Address.select().where(Address.person == contact.person_id)
        assert (row.address_type, row.line4, row.line5, row.note) == (
            "claim", "Line 4", "Line 5", "Claims only",
        )  # fmt: skip
        await pilot.press("escape")
        await settle(pilot)
        app.open_user(anna.id)  # the kept screen: a public user's tabs and types
        await settle(pilot)
        screen = next(s for s in app.screen_stack if isinstance(s, UserDetailsScreen))
        tabs = screen.query_one("#details-tabs", TabbedContent)
        assert not tabs.get_tab("identifier").disabled and not tabs.get_tab("block").disabled
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        values = [v for _, v in app.screen.query_one("#row-email_type", Select)._options]
        assert "school" in values and "claim" not in values
