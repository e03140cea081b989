"""SVG snapshots of the Configuration screen at 80x24: a code table, a settings group, the
form of a new entry and the history of changes (fixed times: a snapshot must not change with
the clock). Update after an intended change with `--snapshot-update` and review the SVGs."""

from __future__ import annotations

import datetime as dt

import pytest
from textual.widgets import OptionList

from models.access.session import open_session
from models.audit import Actor
from models.config.configuration import add_entry, update_entry
from models.enums import Source
from models.store.tables import AuditEvent, UserGroup
from screens.configuration import ConfigurationScreen
from tests.helpers.ui import settle
from tui.app import PatronDeskApp


def app() -> PatronDeskApp:
    return PatronDeskApp(database_label="library.db")


async def show(pilot, admin, section: str, *keys: str) -> None:
    pilot.app.session = open_session(admin)
    pilot.app.push_screen(ConfigurationScreen())
    await settle(pilot)
    sections = pilot.app.screen.query_one("#config-sections", OptionList)
    sections.highlighted = sections.get_option_index(section)
    await pilot.pause()
    await pilot.press("enter", *keys)
    await settle(pilot)


@pytest.mark.parametrize(
    ("section", "keys"),
    [
        ("user_groups", ()),
        ("fee_types", ()),
        ("settings:password", ()),
        ("block_definitions", ("n",)),
        ("history", ()),
    ],
    ids=["user-groups", "fee-types", "password-policy", "new-block-definition", "history"],
)
def test_configuration_screen(ui_db, snap_compare, section: str, keys: tuple[str, ...]) -> None:
    org = ui_db.organization.id
    admin = Actor(ui_db.admin, Source.SCREEN)
    add_entry(
        "user_groups",
        org,
        {"code": "VISIT", "name": "Visiting scholar", "record_types": ["researcher"]},
        admin,
    )
    group = UserGroup.get(UserGroup.code == "ALUMNI")
    update_entry("user_groups", org, group.id, {"active": False}, admin)
    AuditEvent.update(at=dt.datetime(2026, 1, 15, 9, 30)).execute()

    async def run_before(pilot) -> None:
        await show(pilot, ui_db.admin, section, *keys)

    assert snap_compare(app(), terminal_size=(80, 24), run_before=run_before)
