"""The Configuration screen driven with the pilot: reached from Find and Manage Users (ctrl+o)
and the command palette by administrators only; each table's add, edit, deactivate and
delete (refused with where the code is used); settings and mandatory fields with their
refusals under the field."""

from __future__ import annotations

from textual.widgets import Checkbox, OptionList

from models.access.session import open_session
from models.config.settings import load_settings
from models.enums import Role
from models.store.tables import AuditEvent, BlockDefinition, RoleAssignment, UserGroup
from screens.configuration import ConfigTable, ConfigurationScreen
from screens.confirm import ConfirmScreen, InfoScreen
from screens.find_users import FindUsersScreen
from screens.user_details.row_form import RowFormScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import SIZE, add_user, log_in, settle, type_into
from tui.app import PatronDeskApp
from tui.palette import commands


def recorder(app: PatronDeskApp) -> list[str]:
    """The notifications the app shows, in order."""
    said: list[str] = []
    app.notify = lambda message, **_: said.append(str(message))  # type: ignore[method-assign]
    return said


async def open_configuration(pilot, account) -> ConfigurationScreen:
    pilot.app.session = open_session(account)
    screen = ConfigurationScreen()
    pilot.app.push_screen(screen)
    await settle(pilot)
    return screen


async def section(pilot, screen: ConfigurationScreen, section_id: str) -> ConfigTable:
    """Highlight a section on the left, then Enter: its table has the focus."""
    sections = screen.query_one("#config-sections", OptionList)
    sections.focus()
    sections.highlighted = sections.get_option_index(section_id)
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)
    return screen.query_one(ConfigTable)


def rows(table: ConfigTable) -> list[tuple[str, ...]]:
    return [table.get_row_at(i) for i in range(table.row_count)]


async def test_an_administrator_adds_a_user_group_from_find_users(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, "admin", ADMIN_PASSWORD)
        assert isinstance(app.screen, FindUsersScreen)
        await pilot.press("ctrl+o")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ConfigurationScreen)
        table = await section(pilot, screen, "user_groups")
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, RowFormScreen)
        await type_into(pilot, "#row-code", "VISIT")
        await type_into(pilot, "#row-name", "Visiting scholar")
        app.screen.query_one("#row-rt_researcher", Checkbox).value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert rows(table)[table.cursor][:3] == ("VISIT", "Visiting scholar", "researcher")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, FindUsersScreen)
    group = UserGroup.get(UserGroup.code == "VISIT")
    assert (group.name, group.record_types, group.active) == (
        "Visiting scholar",
        "researcher",
        True,
    )
    assert AuditEvent.select().where(AuditEvent.entity == "user_group").count() >= 3


async def test_a_block_definition_says_what_it_blocks_and_a_refusal_stays_in_the_form(
    ui_db,
) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_configuration(pilot, ui_db.admin)
        await section(pilot, screen, "block_definitions")
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        await type_into(pilot, "#row-code", "ILL")
        await type_into(pilot, "#row-name", "Owes an interlibrary loan")
        for name in ("blocks_loans", "blocks_renewals", "blocks_requests"):
            form.query_one(f"#row-{name}", Checkbox).value = False
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form, "refused: the form stays with what was typed"
        assert "at least one of loans" in str(
            form.query_one("#field-row-blocks_loans-error").render()
        )
        form.query_one("#row-blocks_requests", Checkbox).value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
    ill = BlockDefinition.get(BlockDefinition.code == "ILL")
    assert (ill.blocks_loans, ill.blocks_renewals, ill.blocks_requests) == (False, False, True)


async def test_deleting_a_code_in_use_says_where_and_space_deactivates_it(ui_db) -> None:
    add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        said = recorder(app)
        screen = await open_configuration(pilot, ui_db.admin)
        table = await section(pilot, screen, "user_groups")
        codes = [r[0] for r in rows(table)]
        for _ in range(codes.index("PUBLIC")):
            await pilot.press("down")
        await pilot.press("delete")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, InfoScreen)
        text = str(app.screen.query_one("#info-text").render())
        assert "in use by 1 account" in text and "deactivate it instead" in text
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        assert said[-1] == "User group deactivated."
        assert rows(table)[table.cursor][0] == "PUBLIC" and rows(table)[table.cursor][-1] == ""
    assert not UserGroup.get(UserGroup.code == "PUBLIC").active


async def test_a_setting_out_of_range_is_refused_under_its_field(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        said = recorder(app)
        screen = await open_configuration(pilot, ui_db.admin)
        table = await section(pilot, screen, "settings:login")
        assert rows(table)[0] == ("Failed logins before lockout", "5")
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        await type_into(pilot, "#row-lockout_attempts", "0")
        await type_into(pilot, "#row-lockout_minutes", "45")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert form.query_one("#field-row-lockout_attempts").error == "⚠ must be at least 1"
        await type_into(pilot, "#row-lockout_attempts", "3")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert said[-1] == "Saved: failed logins before lockout, lockout minutes."
        assert rows(table)[:2] == [("Failed logins before lockout", "3"), ("Lockout minutes", "45")]
    settings = load_settings()
    assert (settings.lockout_attempts, settings.lockout_minutes) == (3, 45)


async def test_mandatory_fields_are_set_per_record_type(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_configuration(pilot, ui_db.admin)
        table = await section(pilot, screen, "mandatory")
        assert [r[0] for r in rows(table)] == [
            "staff",
            "public",
            "contact",
            "organization",
            "researcher",
        ]
        await pilot.press("down", "down", "e")  # contact
        await settle(pilot)
        form = app.screen
        form.query_one("#row-phone", Checkbox).value = True
        form.query_one("#row-last_name", Checkbox).value = False
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "always mandatory" in str(form.query_one("#row-form-message").render())
        form.query_one("#row-last_name", Checkbox).value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert rows(table)[2] == ("contact", "last_name, primary_id, phone")
    assert load_settings().mandatory_fields["contact"] == ["last_name", "primary_id", "phone"]


async def test_staff_who_are_not_administrators_are_told_why_not(ui_db) -> None:
    add_user(
        "Mia",
        "Manager",
        "S100",
        record_type="staff",
        group="STAFF",
        username="mia",
        password="Quill-Ledger-43",
        roles=[Role.USER_MANAGER.value],
    )
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        said = recorder(app)
        await log_in(pilot, "mia", "Quill-Ledger-43")
        assert isinstance(app.screen, FindUsersScreen)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, FindUsersScreen)
        assert said[-1].startswith("Configuration is for User Administrators")
        # The command palette (tui/palette.py) offers what the session may run.
        assert "Configuration" not in [c.title for c in commands(app.screen)]
        app.session = open_session(ui_db.admin)
        assert "Configuration" in [c.title for c in commands(app.screen)]


async def test_a_library_scoped_administrator_still_configures_the_organization(ui_db) -> None:
    """The CONFIGURE right is the organization's, whatever library the role is scoped to."""
    RoleAssignment.update(scope=1).where(RoleAssignment.role == "user_administrator").execute()
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_configuration(pilot, ui_db.admin)
        table = await section(pilot, screen, "libraries")
        assert rows(table) == [("MAIN", "Main library", "", "✓")]


async def test_the_organization_cannot_be_added_deleted_or_deactivated(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        said = recorder(app)
        screen = await open_configuration(pilot, ui_db.admin)
        await section(pilot, screen, "organization")
        for key in ("n", "delete", "space"):
            said.clear()
            await pilot.press(key)
            await settle(pilot)
            if isinstance(app.screen, ConfirmScreen):
                await pilot.press("y")
                await settle(pilot)
            assert app.screen is screen and said, key
    organization = open_session(ui_db.admin).organization
    assert (organization.code, organization.active) == ("MAIN", True)
