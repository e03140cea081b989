"""Issue 22, items 2 and 9 through the screens, with the pilot: Force password change as a
checkbox of Quick User Management (a typed password too), Set password… in User Details'
actions (ctrl+a), and a new user made a fulfillment proxy at its creation ("Proxy for")."""

from __future__ import annotations

import datetime as dt

from textual.widgets import Checkbox, Input, Select

from models.access.passwords import verify_secret
from models.access.session import open_session
from models.config.settings import Settings
from models.enums import Role
from models.runtime import runtime
from models.store.tables import Account, AuditEvent, Person, ProxyFor
from screens.confirm import ChoiceScreen
from screens.quick_user import QuickUserScreen
from screens.set_password import SetPasswordScreen
from screens.user_details import UserDetailsScreen
from tests.helpers.ui import add_user, settle, type_into
from tui.app import PatronDeskApp
from tui.widgets import Field, Message

SMALL = (80, 24)
NEXT_YEAR = (runtime.today() + dt.timedelta(days=365)).isoformat()
TYPED = "Harbour-Lantern-58"


def error(screen, name: str) -> str:
    return screen.query_one(f"#field-{name}", Field).error


def on_screen(app, widget) -> bool:
    """The widget is drawn whole inside the terminal (80x24: nothing cut at the right)."""
    region, (width, height) = widget.region, app.size
    return region.width > 0 and region.right <= width and region.bottom <= height


async def open_form(pilot, account: Account) -> QuickUserScreen:
    pilot.app.session = open_session(account)
    screen = QuickUserScreen(tab="public")
    screen.results = []
    pilot.app.push_screen(screen, screen.results.append)
    await settle(pilot)
    return screen


async def fill(pilot, screen: QuickUserScreen, **extra: str) -> None:
    values = {
        "first_name": "Léa",
        "last_name": "Fontaine",
        "primary_id": "P9001",
        "expiry_date": NEXT_YEAR,
        "email": "lea.fontaine@example.org",
        **extra,
    }
    for name, value in values.items():
        await type_into(pilot, f"#{name}", value)
    screen.query_one("#user_group", Select).value = "PUBLIC"
    await pilot.pause()


# --- Quick User Management: Force password change -----------------------------------------------


async def test_a_typed_password_is_forced_to_change_by_default(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_form(pilot, ui_db.admin)
        force = screen.query_one("#force_password_change", Checkbox)
        assert force.value is True, "ticked in a new form"
        await fill(pilot, screen, password=TYPED, password_confirm=TYPED)
        force.scroll_visible(animate=False)
        await settle(pilot)
        assert on_screen(app, force)
        assert "Force change at next login" in str(force.label)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.results, "saved"
    person = Account.get(Account.primary_id == "P9001").person
    assert verify_secret(person.password_hash, TYPED, Settings())
    assert person.force_password_change is True


async def test_an_unticked_box_lets_the_user_keep_the_password_typed(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_form(pilot, ui_db.admin)
        await fill(pilot, screen, password=TYPED, password_confirm=TYPED)
        force = screen.query_one("#force_password_change", Checkbox)
        force.focus()
        await pilot.press("space")  # unticked from the keyboard
        await pilot.pause()
        assert force.value is False
        await pilot.press("ctrl+g")  # a generated password ticks it again
        await settle(pilot)
        await pilot.press("escape")  # the dialog that shows it once
        await settle(pilot)
        assert force.value is True
        force.value = False
        await type_into(pilot, "#password", TYPED)
        await type_into(pilot, "#password_confirm", TYPED)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.results
    assert Account.get(Account.primary_id == "P9001").person.force_password_change is False


async def test_the_next_form_starts_ticked_again(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_form(pilot, ui_db.admin)
        screen.query_one("#force_password_change", Checkbox).value = False
        assert screen.unsaved_changes() is None, "a checkbox is not text typed"
        screen.reset()
        await settle(pilot)
        assert screen.query_one("#force_password_change", Checkbox).value is True


# --- Quick User Management: Proxy for -----------------------------------------------------------


async def test_a_new_user_is_made_a_proxy_of_the_sponsor(ui_db) -> None:
    sponsor = add_user("Marc", "Fontaine", "P100", identifier="BC-100")
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_form(pilot, ui_db.admin)
        await fill(pilot, screen, proxy_for="NOBODY")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not screen.results, "refused: the form stays"
        assert error(screen, "proxy_for") == "⚠ no user of this organization has this identifier"
        field = screen.query_one("#proxy_for", Input)
        assert app.focused is field, "the wrong field has the focus"
        assert on_screen(app, screen.query_one("#field-proxy_for", Field))
        assert not Account.select().where(Account.primary_id == "P9001").exists()
        await type_into(pilot, "#proxy_for", "bc-100")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.results, "saved"
    account = Account.get(Account.primary_id == "P9001")
    assert [p.target_id for p in ProxyFor.select().where(ProxyFor.account == account)] == [
        sponsor.id
    ]


async def test_a_desk_operator_is_told_at_the_field_and_nothing_is_created(ui_db) -> None:
    add_user("Marc", "Fontaine", "P100")
    operator = add_user(
        "Olga",
        "Desk",
        "S100",
        record_type="staff",
        group="STAFF",
        roles=[Role.CIRCULATION_DESK_OPERATOR.value],
    )
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        pilot.app.session = open_session(operator)
        screen = QuickUserScreen(register=True)
        screen.results = []
        pilot.app.push_screen(screen, screen.results.append)
        await settle(pilot)
        await fill(pilot, screen, proxy_for="P100")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not screen.results
        assert "manage proxies" in error(screen, "proxy_for")
        assert screen.query_one("#proxy_for", Input).value == "P100", "nothing typed is lost"
    assert not Account.select().where(Account.primary_id == "P9001").exists()


# --- User Details: Set password… ----------------------------------------------------------------


async def open_set_password(pilot, ui_db, account: Account) -> SetPasswordScreen:
    pilot.app.session = open_session(ui_db.admin)
    pilot.app.push_screen(UserDetailsScreen(account.id))
    await settle(pilot)
    await pilot.press("ctrl+a")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ChoiceScreen)
    await pilot.press("c")
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, SetPasswordScreen)
    return form


async def test_set_password_checks_the_policy_and_the_second_entry(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100")
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        said: list[str] = []
        app.notify = lambda message, **_: said.append(str(message))  # type: ignore[method-assign]
        form = await open_set_password(pilot, ui_db, anna)
        box = form.query_one("#set-password-box")
        assert on_screen(app, box), "the form fits 80x24"
        assert form.query_one("#sp-force", Checkbox).value is True
        await pilot.press(*"short")
        await pilot.pause()
        assert "at least 8 characters" in error(form, "sp-password"), "checked as typed"
        await type_into(pilot, "#sp-password", TYPED)
        await type_into(pilot, "#sp-confirm", TYPED + "x")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert error(form, "sp-confirm") == "⚠ does not match the password"
        await type_into(pilot, "#sp-confirm", TYPED)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, UserDetailsScreen)
        assert any("Password set" in s for s in said)
    person = Person.get_by_id(anna.person_id)
    assert verify_secret(person.password_hash, TYPED, Settings())
    assert person.force_password_change is True
    events = AuditEvent.select().where(AuditEvent.account_id == anna.id)
    assert {(e.field, e.new_value) for e in events} >= {
        ("password_hash", "(changed)"),
        ("force_password_change", "yes"),
    }


async def test_set_password_refused_is_said_in_the_form(ui_db) -> None:
    """A person who is staff of another organization: refused (authorize_person), in words,
    in the form, nothing typed lost, the password unchanged."""
    from models.audit import Actor
    from models.config.configuration import add_organization
    from models.enums import Source
    from models.users.accounts import NewUser, create_user

    org_b = add_organization(
        "ORGB", "Organization B", admin_username="admin_b", admin_password="Quill-Ledger-43"
    )
    admin_b = Account.get(Account.organization == org_b)
    in_a = create_user(
        NewUser(
            record_type="public",
            person_id=admin_b.person_id,
            person_consent=True,
            primary_id="P-B-IN-A",
            user_group="PUBLIC",
            expiry_date=NEXT_YEAR,
        ),
        Actor(ui_db.admin, Source.SCREEN),
        ui_db.admin.organization,
    )
    before = Person.get_by_id(admin_b.person_id).password_hash
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        form = await open_set_password(pilot, ui_db, in_a)
        await type_into(pilot, "#sp-password", TYPED)
        await type_into(pilot, "#sp-confirm", TYPED)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        message = str(form.query_one("#sp-message", Message).render())
        assert "staff of another organization" in message
        assert form.query_one("#sp-password", Input).value == TYPED
    assert Person.get_by_id(admin_b.person_id).password_hash == before


async def test_set_password_is_offered_only_with_the_right(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100")
    operator = add_user(
        "Olga",
        "Desk",
        "S100",
        record_type="staff",
        group="STAFF",
        roles=[Role.CIRCULATION_DESK_OPERATOR.value],
    )
    app = PatronDeskApp()
    async with app.run_test(size=SMALL) as pilot:
        pilot.app.session = open_session(operator)
        pilot.app.push_screen(UserDetailsScreen(anna.id))
        await settle(pilot)
        await pilot.press("ctrl+a")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("c")
        await settle(pilot)
        assert not isinstance(app.screen, SetPasswordScreen)
