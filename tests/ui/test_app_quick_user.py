"""Quick User Management and Register New User, driven with the pilot."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import Input, Select

from models.access.session import open_session
from models.enums import Role, Source, Status
from models.runtime import runtime
from models.store.tables import Account, AuditEvent, Person, RoleAssignment
from screens.confirm import ChoiceScreen
from screens.quick_user import QuickUserScreen
from screens.reuse_person import ReusePersonScreen
from tests.helpers.ui import SIZE, add_user, settle, type_into
from tui.app import PatronDeskApp
from tui.widgets import Field

NEXT_YEAR = (runtime.today() + dt.timedelta(days=365)).isoformat()


async def open_form(pilot, ui_db, **kwargs) -> QuickUserScreen:
    app = pilot.app
    app.session = open_session(ui_db.admin)
    screen = QuickUserScreen(**kwargs)
    results: list = []
    app.push_screen(screen, results.append)
    await settle(pilot)
    screen.results = results
    return screen


def error(screen, name: str) -> str:
    return screen.query_one(f"#field-{name}", Field).error


async def fill(pilot, values: dict[str, str]) -> None:
    screen = pilot.app.screen
    for name, value in values.items():
        widget = screen.query_one(f"#{name}")
        if isinstance(widget, Select):
            widget.value = value
            await pilot.pause()
        else:
            await type_into(pilot, f"#{name}", value)


def public_values(**changes) -> dict[str, object]:
    values = {
        "first_name": "Léa",
        "last_name": "Fontaine",
        "primary_id": "P9001",
        "expiry_date": NEXT_YEAR,
        "email": "lea.fontaine@example.org",
        "phone": "+41 79 555 12 34",
    }
    values.update(changes)
    return values


async def test_a_public_user_is_added_from_the_keyboard(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, ui_db, tab="public")
        await fill(pilot, public_values())
        screen.query_one("#user_group", Select).value = "PUBLIC"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.results and screen.results[0][1] is False
    account = Account.get(Account.primary_id == "P9001")
    assert account.record_type == "public" and account.status == Status.ACTIVE
    assert account.person.phones.first().number == "+41795551234"
    roles = {r.role for r in RoleAssignment.select().where(RoleAssignment.account == account)}
    assert roles == {Role.PATRON.value}
    sources = {e.source for e in AuditEvent.select().where(AuditEvent.account_id == account.id)}
    assert sources == {Source.SCREEN.value}


async def test_each_wrong_field_gets_its_message_and_nothing_typed_is_lost(ui_db) -> None:
    add_user("Taken", "Holder", "P5555")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, ui_db, tab="public")
        bad = public_values(
            email="not-an-email",
            expiry_date="2001-01-01",
            primary_id="p5555",
            password="weak",
            password_confirm="weak",
        )
        await fill(pilot, bad)
        screen.query_one("#user_group", Select).value = "PUBLIC"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, QuickUserScreen), "a failed save stays on the form"
        assert "email" in error(screen, "email").lower() or error(screen, "email")
        assert "past" in error(screen, "expiry_date")
        assert "Holder" in error(screen, "primary_id"), "the holder of a taken id is named"
        assert "8 characters" in error(screen, "password")
        for name, value in bad.items():
            assert screen.query_one(f"#{name}", Input).value == value
        assert app.focused is screen.query_one("#primary_id"), "first wrong field has focus"
    assert not Account.select().where(Account.primary_id == "P9001").exists()


async def test_a_field_is_checked_when_the_user_leaves_it(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, ui_db, tab="public")
        await type_into(pilot, "#email", "nobody@", keys=True)
        await pilot.press("tab")
        await settle(pilot)
        assert error(screen, "email")
        assert error(screen, "last_name") == "", "untouched fields are not nagged"


async def test_mandatory_fields_follow_the_record_type(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, ui_db, tab="all")
        assert screen.query_one("#field-email", Field).required
        screen.query_one("#record_type", Select).value = "contact"
        await settle(pilot)
        assert not screen.query_one("#field-email", Field).required
        assert screen.query_one("#field-phone", Field).required, "a contact's phone (Alma)"
        groups = [str(label) for label, _ in screen.query_one("#user_group", Select)._options]
        assert any("Contact" in g for g in groups)
        assert not any("Undergraduate" in g for g in groups)


async def test_duplicate_person_warns_and_keeps_the_form(ui_db) -> None:
    add_user("Léa", "Fontaine", "P7000", birth_date="1990-05-04")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, ui_db, tab="public")
        await fill(pilot, public_values(birth_date="1990-05-04"))
        screen.query_one("#user_group", Select).value = "PUBLIC"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("e")  # keep editing
        await settle(pilot)
        assert app.screen is screen
        assert screen.query_one("#last_name", Input).value == "Fontaine"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("a")  # add anyway
        await settle(pilot)
    assert Person.select().where(Person.last_name == "Fontaine").count() == 2


async def test_reusing_a_person_creates_only_an_account(ui_db) -> None:
    from models.config.seed import seed_code_tables
    from models.store.tables import Library, Organization

    other = Organization.create(code="OTHER", name="Other organization")
    Library.create(organization=other, code="O1", name="Other library")
    seed_code_tables(other)
    existing = add_user("Marta", "Kowalska", "OX-1", organization=other, email="marta@ex.org")
    people_before = Person.select().count()
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, ui_db, tab="public")
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, ReusePersonScreen)
        await type_into(pilot, "#reuse-login", "MARTA@ex.org")
        await pilot.press("enter")
        await settle(pilot)
        assert "1 other organization" in str(app.screen.query_one("#reuse-found").render())
        app.screen.query_one("#reuse-login").focus()
        await pilot.press("enter")  # no consent yet: refused
        await settle(pilot)
        assert isinstance(app.screen, ReusePersonScreen)
        assert "agrees" in str(app.screen.query_one("#reuse-message").render())
        await pilot.press("space")  # the consent box has the focus now
        await settle(pilot)
        assert app.screen is screen
        assert screen.query_one("#last_name", Input).value == "Kowalska"
        assert screen.query_one("#last_name", Input).disabled
        await fill(pilot, {"primary_id": "P4242", "expiry_date": NEXT_YEAR})
        screen.query_one("#user_group", Select).value = "PUBLIC"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.results, "saved"
    assert Person.select().count() == people_before
    account = Account.get(Account.primary_id == "P4242")
    assert account.person_id == existing.person_id


@pytest.mark.parametrize(
    ("record_type", "group", "extra"),
    [
        ("staff", "STAFF", {"email": "st@example.org", "expiry_date": NEXT_YEAR}),
        ("public", "PUBLIC", {"email": "pu@example.org", "expiry_date": NEXT_YEAR}),
        ("contact", "CONTACT", {"phone": "+41 44 268 10 00"}),
        ("organization", None, {}),
        ("researcher", None, {"email": "re@example.org"}),
    ],
)
async def test_each_record_type_is_added_from_the_all_tab(ui_db, record_type, group, extra) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, ui_db, tab="all")
        screen.query_one("#record_type", Select).value = record_type
        await settle(pilot)
        names = {"first_name": "Kim", "last_name": "Lee", "primary_id": f"X-{record_type}"}
        await fill(pilot, {**names, **extra})
        if group:
            screen.query_one("#user_group", Select).value = group
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.results, screen.query_one("#form-message").render()
    assert Account.get(Account.primary_id == f"X-{record_type}").record_type == record_type


def desk_operator(ui_db) -> Account:
    """A circulation desk operator (job category CIRC_ASSISTANT gives the role by rule)."""
    account = add_user("Desk", "Operator", "S-DESK", record_type="staff", group="STAFF",
                       job_category="CIRC_ASSISTANT")  # fmt: skip
    roles = {r.role for r in RoleAssignment.select().where(RoleAssignment.account == account)}
    assert Role.CIRCULATION_DESK_OPERATOR.value in roles
    return account


async def test_a_desk_operator_cannot_add_a_staff_user(ui_db) -> None:
    operator = desk_operator(ui_db)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(operator)
        screen = QuickUserScreen(tab="staff")
        app.push_screen(screen)
        await settle(pilot)
        await fill(pilot, {"first_name": "New", "last_name": "Staff", "primary_id": "S-NEW",
                           "email": "ns@example.org", "expiry_date": NEXT_YEAR})  # fmt: skip
        screen.query_one("#user_group", Select).value = "STAFF"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert "public users only" in str(screen.query_one("#form-message").render())
        assert screen.query_one("#last_name", Input).value == "Staff"
    assert not Account.select().where(Account.primary_id == "S-NEW").exists()


async def test_register_new_user_opens_the_form_with_the_scanned_identifier(ui_db) -> None:
    from screens.find_users import FindUsersScreen
    from screens.register_user import RegisterUserScreen

    operator = desk_operator(ui_db)
    add_user("Known", "Reader", "P-KNOWN", identifier="BC-1000")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(operator)
        app.push_screen(FindUsersScreen())
        await settle(pilot)
        await pilot.press("ctrl+n")  # a desk operator's "new user" is Register New User
        await settle(pilot)
        assert isinstance(app.screen, RegisterUserScreen)
        await type_into(pilot, "#register-value", "bc-1000")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RegisterUserScreen), "a match is shown, not a new form"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("ctrl+b")
        await settle(pilot)
        await type_into(pilot, "#register-value", "BC-2000")
        await pilot.press("enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, QuickUserScreen) and form.register
        assert form.query_one("#primary_id", Input).value == "BC-2000"
        assert form.record_type == "public"


async def test_register_by_name_generates_the_identifier(ui_db) -> None:
    from models.config.settings import set_setting
    from screens.find_users import FindUsersScreen

    set_setting("id_prefix", "R")
    set_setting("id_next", 42)
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(ui_db.admin)
        app.push_screen(FindUsersScreen())
        await settle(pilot)
        await pilot.press("ctrl+b")
        await settle(pilot)
        await type_into(pilot, "#register-value", "Ola Nordmann")
        await pilot.press("enter")
        await settle(pilot)
        form = app.screen
        assert form.query_one("#primary_id", Input).value == "R0000042"
        assert form.query_one("#first_name", Input).value == "Ola"
        assert form.query_one("#last_name", Input).value == "Nordmann"
