"""Find and Manage Users for power users (issue 19): the identifier column, End and Home
across the whole search, the exact count on demand, the contains search, select-all and clear
in fields (listed in F1). Driven with the pilot, keys only."""

from __future__ import annotations

import pytest
from textual.widgets import Input

import screens.find_users as find_users
from screens.find_users import MAX_PAGES, PAGE, FindUsersScreen, ResultsTable, column_widths
from screens.help import KeysHelpScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import SIZE, add_user, log_in, settle, type_into
from tui.app import PatronDeskApp


def names(app) -> list[str]:
    table = app.screen.query_one("#results", ResultsTable)
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


def highlighted(app) -> str:
    table = app.screen.query_one("#results", ResultsTable)
    return str(table.get_row_at(table.cursor_row)[1])


def count_text(app) -> str:
    return str(app.screen.query_one("#count").render())


async def start(pilot) -> None:
    await log_in(pilot, "admin", ADMIN_PASSWORD)
    assert isinstance(pilot.app.screen, FindUsersScreen)


def test_identifier_column_from_100_columns_and_columns_grow_with_the_width() -> None:
    assert "primary_id" not in column_widths(80)
    assert "primary_id" not in column_widths(99)
    assert column_widths(100)["primary_id"] >= 12
    wide, wider = column_widths(120), column_widths(200)
    assert wider["primary_id"] > wide["primary_id"]
    assert wider["name"] > wide["name"] and wider["user_group"] > wide["user_group"]
    for width in (60, 80, 100, 120, 200):
        widths = column_widths(width)
        used = sum(widths.values()) + find_users.GAP * len(widths) + 2
        assert used <= width, (width, widths)


async def test_the_identifier_is_shown_on_a_wide_terminal_only(ui_db) -> None:
    add_user("Anna", "Müller", "P0000123")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:  # 120 columns
        await start(pilot)
        table = app.screen.query_one("#results", ResultsTable)
        labels = [label for label, _ in table.columns]
        assert "Identifier" in labels
        row = [str(c) for c in table.get_row_at(names(app).index("Müller, Anna"))]
        assert "P0000123" in row
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert "Identifier" not in [label for label, _ in table.columns]


async def test_end_goes_to_the_last_user_and_home_to_the_first(ui_db) -> None:
    total = PAGE * MAX_PAGES + 60  # the end is far beyond the window
    for i in range(total - 1):
        add_user("Test", f"Person{i:04d}", f"T{i:04d}")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        app.screen.query_one("#results").focus()
        await pilot.press("end")
        await settle(pilot)
        last = f"Person{total - 2:04d}, Test"
        assert highlighted(app) == last and names(app)[-1] == last
        # Up from the end walks back to the first user, every row once, in a small window.
        seen: list[str] = [highlighted(app)]
        for _ in range(total + 5):
            await pilot.press("up")
            # A key typed while the window loads the rows before it waits for them (type-ahead):
            # let it land before reading the highlight, or a loaded machine reads two moves as one.
            await settle(pilot)
            if highlighted(app) != seen[-1]:
                seen.append(highlighted(app))
            assert len(names(app)) <= PAGE * MAX_PAGES
            if highlighted(app) == "Administrator":
                break
        assert len(seen) == total and len(set(seen)) == total
        await pilot.press("end")
        await settle(pilot)
        assert highlighted(app) == last
        await pilot.press("down")  # nothing after the last user
        assert highlighted(app) == last
        await pilot.press("home")
        await settle(pilot)
        assert highlighted(app) == "Administrator" and names(app)[0] == "Administrator"
        # In the order chosen: by name reversed, End is the first name.
        await pilot.press("f11")  # by name already: again reverses it
        await settle(pilot)
        app.screen.query_one("#results").focus()
        await pilot.press("end")
        await settle(pilot)
        assert highlighted(app) == "Administrator"


async def test_ctrl_k_counts_exactly_past_the_cap(ui_db, monkeypatch) -> None:
    monkeypatch.setattr(find_users, "COUNT_CAP", 10)
    monkeypatch.setattr(find_users, "PAGE", 5)
    for i in range(14):
        add_user("Count", f"Person{i:02d}", f"K{i:02d}")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        assert count_text(app).startswith("10+ users")
        await pilot.press("ctrl+k")  # from the search box
        await settle(pilot)
        assert count_text(app).startswith("15 users")
        await type_into(pilot, "#search", "count")
        await settle(pilot)
        assert count_text(app).startswith("10+ users")  # a new search: capped again
        app.screen.query_one("#results").focus()
        await pilot.press("ctrl+k")  # from the list
        await settle(pilot)
        assert count_text(app).startswith("14 users")


async def test_contains_search_behind_the_tilde(ui_db) -> None:
    add_user("Anna", "Alpha", "U00000251")
    add_user("Bob", "Beta", "X77", identifier="BC-0025-9")
    add_user("Cleo", "Gamma", "Y88", email="cleo@dept0025.example")
    add_user("Dan", "Delta", "Z99")
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await type_into(pilot, "#search", "~U0000025")
        await settle(pilot)
        assert names(app) == ["Alpha, Anna"]
        await type_into(pilot, "#search", "~0025")
        await settle(pilot)
        assert names(app) == ["Alpha, Anna", "Beta, Bob", "Gamma, Cleo"]
        await type_into(pilot, "#search", "0025")  # without the prefix: not a contains search
        await settle(pilot)
        assert names(app) == []
        await type_into(pilot, "#search", "~00")
        await settle(pilot)
        assert names(app) == []
        assert "at least 3 characters" in count_text(app)


async def test_select_all_and_clear_in_a_field_are_listed_in_f1(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        box = app.screen.query_one("#search", Input)
        await pilot.press(*"anna")
        await pilot.press("ctrl+e")
        assert box.selected_text == "anna"
        await pilot.press("b")  # typing replaces the selection
        assert box.value == "b"
        await pilot.press(*"ob", "left", "left")
        await pilot.press("ctrl+u")
        assert box.value == "" and box.cursor_position == 0
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, KeysHelpScreen)
        listed = app.screen.listed_ids
        assert "select_all" in listed and "clear_field" in listed
        assert "find_users.count" in listed


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_no_identifier_column_on_narrow_terminals(ui_db, size) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=size) as pilot:
        await start(pilot)
        table = app.screen.query_one("#results", ResultsTable)
        assert "Identifier" not in [label for label, _ in table.columns]
