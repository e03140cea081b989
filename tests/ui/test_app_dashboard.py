"""The dashboard from Find and Manage Users (issue 25, item 1): shift+F5 opens it, Left/Right go
from chart to chart, F5 reads a chart again, Enter on a bar opens Find Users filtered to the
users it counts; a hostile user group name never reaches the terminal raw; ctrl+l logs out."""

from __future__ import annotations

from models.runtime import runtime
from models.store.tables import Account, Block, BlockDefinition, Letter, UserGroup
from screens.dashboard import BarTable, ChartPlot, DashboardScreen
from screens.find_users import FindUsersScreen, ResultsTable
from screens.login import LoginScreen
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.ui import add_user, log_in, settle
from tui.app import PatronDeskApp


def _plant() -> dict[str, Account]:
    users = {
        "anna": add_user("Anna", "Muster", "P001", group="UNDERGRAD"),
        "ben": add_user("Ben", "Keller", "P002", group="UNDERGRAD"),
        "cleo": add_user("Cleo", "Brun", "P003", group="PUBLIC", expiry_days=3),
        "dora": add_user("Dora", "Roth", "P004", record_type="researcher", group=""),
    }
    lost = BlockDefinition.get(BlockDefinition.code == "LOST_CARD")
    Block.create(account=users["ben"], definition=lost)
    return users


async def _open(pilot) -> DashboardScreen:
    await log_in(pilot, "admin", ADMIN_PASSWORD)
    await pilot.press("shift+f5")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, DashboardScreen)
    return screen


def _bars(screen: DashboardScreen) -> dict[str, str]:
    return {row[1]: row[2] for row in screen.query_one(BarTable).rows}


async def _to_chart(pilot, screen: DashboardScreen, chart_id: str) -> None:
    for _ in range(8):
        if screen.current == chart_id:
            return
        await pilot.press("right")
        await settle(pilot)
    raise AssertionError(f"no chart {chart_id}")


async def _to_bar(pilot, screen: DashboardScreen, label: str) -> None:
    bars = screen.query_one(BarTable)
    row = [r[1] for r in bars.rows].index(label)
    for _ in range(row - bars.cursor_row):
        await pilot.press("down")
    await settle(pilot)


async def test_shift_f5_opens_the_dashboard_and_left_right_go_from_chart_to_chart(ui_db) -> None:
    _plant()
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        assert screen.current == "groups"
        assert _bars(screen) == {
            "Undergraduate student": "2",
            "Member of the public": "1",
            "Library staff": "1",
            "(no user group)": "1",
        }
        await pilot.press("right")
        await settle(pilot)
        assert screen.current == "record_types"
        assert _bars(screen) == {"Staff": "1", "Public": "3", "Researcher": "1"}
        await pilot.press("left", "left")
        await settle(pilot)
        assert screen.current == "letters"  # round the end
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, FindUsersScreen)


async def test_f5_reads_the_chart_on_screen_again(ui_db) -> None:
    _plant()
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        add_user("Emil", "Frei", "P005", group="ALUMNI")  # another desk's meanwhile
        assert "Alumni" not in _bars(screen)
        await pilot.press("f5")
        await settle(pilot)
        assert _bars(screen)["Alumni"] == "1"


async def test_enter_on_a_user_group_bar_lists_that_groups_users(ui_db) -> None:
    _plant()
    undergrad = UserGroup.get(UserGroup.code == "UNDERGRAD")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        await _to_bar(pilot, screen, "Undergraduate student")
        await pilot.press("enter")
        await settle(pilot)
        find = app.screen
        assert isinstance(find, FindUsersScreen)
        assert find.query_state.user_group_id == undergrad.id
        assert sorted(r.primary_id for r in find.rows) == ["P001", "P002"]
        assert find.query_one(ResultsTable).has_focus


async def test_enter_on_a_record_type_a_block_type_and_a_week_lists_their_users(ui_db) -> None:
    _plant()
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot)
        await _to_chart(pilot, screen, "record_types")
        await _to_bar(pilot, screen, "Researcher")
        await pilot.press("enter")
        await settle(pilot)
        find = app.screen
        assert [r.primary_id for r in find.rows] == ["P004"]
        assert find.query_state.tab == "public"
        narrowed = str(find.query_one("#narrowed").render())
        assert "record type Researcher" in narrowed

        await pilot.press("shift+f5")
        await settle(pilot)
        screen = app.screen
        await _to_chart(pilot, screen, "blocks")
        assert _bars(screen) == {"Lost library card": "1"}
        await pilot.press("enter")
        await settle(pilot)
        assert [r.primary_id for r in find.rows] == ["P002"]
        assert find.query_state.record_type is None  # the earlier bar's narrowing went

        await pilot.press("shift+f5")
        await settle(pilot)
        screen = app.screen
        await _to_chart(pilot, screen, "expiring")
        await pilot.press("enter")  # this week's bar: Cleo expires in three days
        await settle(pilot)
        assert [r.primary_id for r in find.rows] == ["P003"]
        assert find.query_state.expiry_from == runtime.today()
        await pilot.press("ctrl+r")  # every user again
        await settle(pilot)
        assert len(find.rows) == 5
        assert not find.query_one("#narrowed").has_class("shown")


async def test_enter_on_a_bar_that_counts_no_users_stays(ui_db) -> None:
    _plant()
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        await _to_chart(pilot, screen, "logins")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen


async def test_a_hostile_user_group_name_never_reaches_the_terminal_raw(ui_db) -> None:
    users = _plant()
    UserGroup.update(name="\x1b]0;pwned\x07[b]Evil\u202e").where(
        UserGroup.code == "UNDERGRAD"
    ).execute()
    app = PatronDeskApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot)
        bars = screen.query_one(BarTable)
        lines = [bars._line(i) for i in range(bars.row_count)]
        assert lines and not any(ch in line for line in lines for ch in "\x1b\x07\u202e")
        assert any("Evil" in line for line in lines)
        assert users
        # Beside Users per record type, Users per user group names its bars under the axis.
        await pilot.press("right")
        await settle(pilot)
        side = screen.query_one("#dashboard-side-plot", ChartPlot)
        assert side.chart is not None and side.chart.id == "groups"
        side.render()
        drawn = side.plt.build()
        assert "␛]0;pwned" in drawn  # shown, harmless: no ESC, no BEL, no bidi override
        assert "\x1b]" not in drawn and "\x07" not in drawn and "\u202e" not in drawn
        await pilot.press("left")
        await settle(pilot)
        await _to_bar(pilot, screen, next(r[1] for r in bars.rows if "Evil" in r[1]))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FindUsersScreen)
        assert len(app.screen.rows) == 2


async def test_ctrl_l_logs_out_from_the_dashboard(ui_db) -> None:
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, LoginScreen)


async def test_the_letters_chart_lists_sent_and_failed_side_by_side(ui_db) -> None:
    users = _plant()
    for status in ("sent", "sent", "failed", "queued"):
        Letter.create(account=users["anna"], kind="general", subject="Hello", status=status)
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        await _to_chart(pilot, screen, "letters")
        bars = screen.query_one(BarTable)
        assert bars.columns[2][0] == "Sent / Failed"
        assert bars.rows[-1][1:3] == (f"{runtime.today():%b}", "2 / 1")  # this month's
