"""The suite-wide guard (tests/helpers/uiguard.py) sees a query the app runs on its event loop, and
not one run by a worker thread or by the test body."""

from __future__ import annotations

from textual.app import App

from models.store.tables import Account
from tests.helpers import uiguard
from tui.worker import run_service


class Probe(App[None]):
    BINDINGS = [("x", "query_here", ""), ("w", "query_in_worker", "")]

    def action_query_here(self) -> None:
        Account.select().count()

    def action_query_in_worker(self) -> None:
        run_service(self, lambda: Account.select().count(), on_ok=lambda _: None)


async def test_the_guard_sees_a_query_on_the_event_loop_only(ui_db) -> None:
    async with Probe().run_test() as pilot:
        Account.select().count()  # the test body arranging: not the app
        assert uiguard.take() == []
        await pilot.press("w")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert uiguard.take() == []
        await pilot.press("x")
        await pilot.pause()
        seen = uiguard.take()
    assert len(seen) == 1 and seen[0].startswith("a query at "), seen
