"""SVG snapshots of user photos (issue 25, item 2): the user card with a photo, at 80x24. (The
User Details header and the photo form are checked by tests/ui/test_app_photo.py: their
snapshots depended on when the tab bar's underline timer fired on a loaded machine.) Photos
are drawn in half-blocks (tests ask the terminal nothing: tui/photo.py), so the pictures are
the same on every machine.

Update after an intended change with
`pytest tests/snapshots/test_snapshots_photo.py --snapshot-update`, then review the SVG files."""

from __future__ import annotations

import datetime as dt

from models.audit import Actor
from models.enums import Source
from models.store.tables import Account, AuditEvent, Person, PersonPhoto
from models.users.photos import set_photo
from tests.helpers.pictures import camera_jpeg, write
from tests.helpers.ui import add_user
from tui.app import PatronDeskApp

SIZES = [(80, 24), (120, 40)]
FIXED = dt.datetime(2026, 1, 15, 9, 30)


def app() -> PatronDeskApp:
    return PatronDeskApp(database_label="library.db")


def anna_with_photo(ui_db, tmp_path) -> Account:
    account = add_user("Anna", "Müller", "P100", expiry="2031-06-30", identifier="BC-7781")
    set_photo(account.id, account.version, write(tmp_path / "anna.jpg", camera_jpeg(900, 1200)),
              Actor(ui_db.admin, Source.SCREEN))  # fmt: skip
    Account.update(created_at=FIXED, updated_at=FIXED).where(Account.id == account.id).execute()
    Person.update(created_at=FIXED, updated_at=FIXED).execute()
    PersonPhoto.update(created_at=FIXED).execute()
    AuditEvent.update(at=FIXED).execute()
    return Account.get_by_id(account.id)


def test_the_user_card_with_a_photo(ui_db, snap_compare, tmp_path) -> None:
    anna_with_photo(ui_db, tmp_path)

    async def run_before(pilot) -> None:
        from tests.ui.test_app_user_card import open_card

        await open_card(pilot, "p100")

    assert snap_compare(app(), terminal_size=(80, 24), run_before=run_before)
