"""The General tab shows what the record keeps (issue 22, item 10): status date, last patron
activity and owning system read only; Keep history and local codes saved from it, a wrong code
named at its field with what was typed kept."""

from __future__ import annotations

from textual.widgets import Checkbox, Input

from models.access.session import open_session
from models.audit import Actor
from models.enums import Source
from models.runtime import runtime
from models.store.tables import Account
from models.users.details import toggle_account_type
from screens.user_details import UserDetailsScreen
from tests.helpers.ui import SIZE, add_user, settle, type_into
from tui.app import PatronDeskApp
from tui.widgets import Field


async def open_user(pilot, ui_db, account_id: int) -> UserDetailsScreen:
    pilot.app.session = open_session(ui_db.admin)
    pilot.app.open_user(account_id)
    await settle(pilot)
    return next(s for s in pilot.app.screen_stack if isinstance(s, UserDetailsScreen))


def field_error(screen, name: str) -> str:
    field = screen.query_one(f"#field-g-{name}", Field)
    return str(field.query_one(".field-error").render()) if field.has_class("-invalid") else ""


async def test_read_only_fields_and_keep_history_and_local_codes(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100", email="anna@example.org")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_user(pilot, ui_db, anna.id)
        shown = {n: screen.query_one(f"#g-{n}", Input) for n in
                 ("status_date", "last_activity_at", "owning_system")}  # fmt: skip
        assert {n: w.value for n, w in shown.items()} == {
            "status_date": runtime.today().isoformat(),
            "last_activity_at": "—",
            "owning_system": "—",
        }
        assert all(w.disabled for w in shown.values())
        assert not screen.query_one("#g-keep_history", Checkbox).disabled
        # A code named twice: said at the field, the text kept, nothing saved.
        await type_into(pilot, "#g-local_codes", "stat-A, ILL, stat-a")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "names stat-a twice" in field_error(screen, "local_codes")
        assert screen.query_one("#g-local_codes", Input).value == "stat-A, ILL, stat-a"
        assert Account.get_by_id(anna.id).local_codes == ""
        await type_into(pilot, "#g-local_codes", "stat-A,ILL")
        screen.query_one("#g-keep_history", Checkbox).focus()
        await pilot.press("space")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert field_error(screen, "local_codes") == ""
        assert "Saved:" in str(screen.query_one("#general-message").render())
        assert screen.query_one("#g-local_codes", Input).value == "stat-A, ILL"
    saved = Account.get_by_id(anna.id)
    assert saved.local_codes == "stat-A, ILL" and saved.person.keep_history is True


async def test_the_next_user_shows_their_own_read_only_fields(ui_db) -> None:
    anna = add_user("Anna", "Müller", "P100", email="anna@example.org")
    bruno = add_user("Bruno", "Keller", "P200", email="bruno@example.org")
    toggle_account_type(bruno.id, bruno.version, Actor(ui_db.admin, Source.SCREEN))
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_user(pilot, ui_db, bruno.id)
        assert screen.query_one("#g-owning_system", Input).value == "SIS_temp"
        await pilot.press("escape")
        await settle(pilot)
        screen = await open_user(pilot, ui_db, anna.id)  # the kept screen, refilled
        assert screen.query_one("#g-owning_system", Input).value == "—"
        assert screen.query_one("#g-owning_system", Input).disabled
