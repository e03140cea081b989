"""Benchmark of the screens (issue 19, "The UI never waits"): how long a librarian waits.

    python bench/screens.py [--users 20000] [--db PATH] [--samples 30]

Builds (or reuses) a demo database (`bench.common.ensure_demo_db`), copies it to a temporary
file (the saves below must not change the shared demo database), runs the real app headless
(`App.run_test`, 120x40) and prints one `key: value` line per figure:

- open_user_p95_ms: from Enter on a user drawn at random, highlighted in Find Users' list, to
  the record drawn: the head, the General form, every tab's rows, no worker
  left running, the screen refreshed.
- new_user_form_ms: the median of opening Quick User Management until its form is drawn with
  the focus in its first field.
- save_p95_ms: ctrl+s on the General tab (one field changed) until "Saved" shows.
- floor_commit_*: the honest floor of save: one UPDATE of the same account committed as the
  save's worker commits (its own connection, synchronous=FULL: it waits for the disk).
- floor_draw_*: the screen alone, measured right after each sample: the same User Details
  screen pushed again as it is (no record read, no field set), laid out once and drawn from
  the widgets' cached lines.
- floor_redraw_*: the honest floor of open_user: the same screen pushed again with every
  widget's lines thrown away (each widget refreshed, as a new value does) and the screen laid
  out once (no container's arrangement recomputed, which new values may need): what Textual
  itself takes to put this screen on the terminal with new content, without reading or
  setting anything.

Each timed figure has a `_cpu_` twin: the process CPU time (all threads) over the same span,
so a slow figure on a loaded machine can be told from slow code. Targets at 1,000,000 users on
the 2-core reference machine: 100, 150 and 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import default_db, ensure_demo_db, percentile  # noqa: E402

SIZE = (120, 40)
VERBOSE = False  # --verbose: each sample on stderr


class Span:
    """Wall and CPU milliseconds of one measured span."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def stop(self) -> tuple[float, float]:
        return (
            (time.perf_counter() - self.wall) * 1000,
            (time.process_time() - self.cpu) * 1000,
        )


def _pending(app) -> bool:
    """Whether the app still has work for the screen: a worker running, a message queued
    for the app, the screen or one of its widgets, or a layout, repaint or callback the
    screen has not done yet."""
    if any(not worker.is_finished for worker in app.workers):
        return True
    screen = app.screen
    if (
        screen._layout_required
        or screen._scroll_required
        or screen._repaint_required
        or screen._recompose_required
        or screen._dirty_widgets
        or screen._callbacks
    ):
        return True
    return any(
        not node._message_queue.empty() for node in (app, *screen.walk_children(with_self=True))
    )


async def _quiet(pilot) -> None:
    """Until nothing is left to do for the screen: no worker, no queued message, nothing to
    lay out or draw, three checks a millisecond apart. (Textual's `pilot.pause()` sleeps at
    least 20 ms and waits for the CPU to go idle: a span ended by it would count that sleep.)
    The span is stopped by the caller right after, so it ends within ~3 ms of the last draw."""
    app = pilot.app
    calm = 0
    while calm < 3:
        await asyncio.sleep(0.001)
        calm = 0 if _pending(app) else calm + 1


def _commit_floor(account_id: int) -> float:
    """The floor of a save: one UPDATE of the same account committed from a thread with its
    own connection and the app's pragmas (synchronous=FULL: the commit waits for the disk),
    as the save's worker does. Milliseconds, wall time."""
    from models.store.base import database
    from models.store.tables import Account
    from tui.worker import close_thread_connection

    started = time.perf_counter()
    try:
        with database.atomic():
            Account.update(version=Account.version).where(Account.id == account_id).execute()
    finally:
        close_thread_connection()
    return (time.perf_counter() - started) * 1000


async def _run(target: str, samples: int, seed: int) -> dict[str, float]:
    from textual import events
    from textual.widgets import Input, Static

    from models.access.session import open_session
    from models.store.tables import Account
    from screens.find_users import FindUsersScreen, ResultsTable
    from screens.user_details import UserDetailsScreen
    from screens.user_details.general import GeneralPane
    from tui.app import PatronDeskApp

    admin = Account.get(Account.primary_id == "admin")
    top = Account.select(Account.id).order_by(Account.id.desc()).limit(1).scalar()
    rng = random.Random(seed)
    ids = {
        row.id: row.primary_id
        for row in Account.select(Account.id, Account.primary_id)
        .where(Account.id.in_([rng.randint(1, top) for _ in range(samples * 3)]))
        .limit(samples)
    }
    app = PatronDeskApp()
    opened: list[tuple[float, float]] = []
    saved: list[tuple[float, float]] = []
    forms: list[tuple[float, float]] = []
    floor: list[tuple[float, float]] = []
    redraw: list[tuple[float, float]] = []
    commits: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        app.session = open_session(admin)
        app.show_home()  # Find and Manage Users
        await _quiet(pilot)
        find = app.screen
        if not isinstance(find, FindUsersScreen):
            raise SystemExit("bench: Find Users did not open")
        first = next(iter(ids))
        for n, account_id in enumerate([first, *ids]):  # the first one warms up
            # The user found by its identifier and highlighted in the list (not timed) ...
            find.query_one("#search", Input).value = ids[account_id]
            await _quiet(pilot)
            table = find.query_one(ResultsTable)
            if not find.rows or find.rows[0].account_id != account_id:
                raise SystemExit(f"bench: {ids[account_id]} not found")
            find.set_focus(table)
            await _quiet(pilot)
            # ... then Enter, as the terminal sends it, until the record is drawn.
            span = Span()
            app._driver.send_message(events.Key("enter", "\r"))
            await _quiet(pilot)
            took = span.stop()
            popups = 0
            while not isinstance(app.screen, UserDetailsScreen):  # some users' pop-up notes
                app.pop_screen()
                popups += 1
                await _quiet(pilot)
            if VERBOSE:
                print(
                    f"open {account_id}: {took[0]:.1f} ms, cpu {took[1]:.1f}, pop-ups {popups}",
                    file=sys.stderr,
                )
            screen = app.screen
            if not screen.query("#details-head") or screen.account_id != account_id:
                raise SystemExit(f"bench: user {account_id} did not open")
            if n:
                opened.append(took)
            general = screen.query_one(GeneralPane)
            # A field every account may change without a question: Title may be a list (issue
            # 22, item 6a) and, on an external account, asks whether the next SIS load may
            # override it (item 4); RERO's local codes are free text and asked nothing.
            codes = screen.query_one("#g-local_codes", Input)
            codes.value = "B1" if codes.value != "B1" else "B2"
            span = Span()
            # The key as the terminal sends it (Pilot.press sleeps 40 ms and more per key,
            # waiting for the CPU to go idle: that wait is not the app's).
            app._driver.send_message(events.Key("ctrl+s", None))
            await _quiet(pilot)
            took = span.stop()
            message = str(general.query_one("#general-message", Static).render())
            if not message.startswith("Saved"):
                raise SystemExit(f"bench: save of user {account_id} refused: {message!r}")
            if n:
                saved.append(took)
                commits.append(await asyncio.to_thread(_commit_floor, account_id))
            app.pop_screen()
            await _quiet(pilot)
            # The floor, right after: the same screen pushed again as it is (no record read,
            # no field set): what Textual takes to draw User Details at all.
            span = Span()
            app.push_screen(screen)
            screen.refresh(layout=True)  # another record's text may change sizes: laid out
            await _quiet(pilot)
            took = span.stop()
            if n:
                floor.append(took)
            app.pop_screen()
            await _quiet(pilot)
            # The honest floor: the same, every widget's lines redrawn.
            span = Span()
            app.push_screen(screen)
            for widget in screen.walk_children():
                widget.refresh()  # its lines redrawn
                widget._check_refresh()  # handed to the screen at once, as show_user does
            screen.refresh(layout=True)  # and the screen laid out once
            await _quiet(pilot)
            took = span.stop()
            if n:
                redraw.append(took)
            app.pop_screen()
            await _quiet(pilot)
        for _ in range(7):
            span = Span()
            app.new_user_form()  # what ctrl+n in Find Users does
            form = app.screen
            await _quiet(pilot)
            forms.append(span.stop())
            if form.focused is None:
                raise SystemExit("bench: the new-user form has no focus")
            app.pop_screen()
            await _quiet(pilot)

    def p95(values: list[tuple[float, float]], i: int) -> float:
        return percentile([v[i] for v in values], 95)

    forms = forms[1:]  # the first one warms up
    median = sorted(forms)[len(forms) // 2]
    return {
        "open_user_p95_ms": p95(opened, 0),
        "open_user_cpu_p95_ms": p95(opened, 1),
        "open_user_p50_ms": percentile([v[0] for v in opened], 50),
        "new_user_form_ms": median[0],
        "new_user_form_cpu_ms": median[1],
        "save_p95_ms": p95(saved, 0),
        "save_cpu_p95_ms": p95(saved, 1),
        "save_p50_ms": percentile([v[0] for v in saved], 50),
        "floor_draw_p50_ms": percentile([v[0] for v in floor], 50),
        "floor_draw_p95_ms": p95(floor, 0),
        "floor_draw_cpu_p95_ms": p95(floor, 1),
        "floor_redraw_p50_ms": percentile([v[0] for v in redraw], 50),
        "floor_redraw_p95_ms": p95(redraw, 0),
        "floor_redraw_cpu_p95_ms": p95(redraw, 1),
        "floor_commit_p50_ms": percentile(commits, 50),
        "floor_commit_p95_ms": percentile(commits, 95),
        "samples": len(opened),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--db", help="an SQLite demo database (default /tmp/benchN.db)")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verbose", action="store_true", help="each sample on stderr")
    args = parser.parse_args(argv)
    global VERBOSE
    VERBOSE = args.verbose
    source = args.db or default_db(args.users)
    ensure_demo_db(args.users, source)

    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from models.runtime import configure
    from models.store.connection import close_database, open_database

    configure(hasher=PasswordHasher.from_parameters(CHEAPEST))  # no login is timed here
    with tempfile.TemporaryDirectory(prefix="bench-screens-") as folder:
        target = str(Path(folder) / "bench.db")
        open_database(source, create=False, upgrade=True)
        from models.store.base import database

        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # the copy is the whole file
        close_database()
        shutil.copy(source, target)
        open_database(target, create=False)
        try:
            figures = asyncio.run(_run(target, args.samples, args.seed))
        finally:
            close_database()
    for key, value in figures.items():
        print(f"{key}: {value:.1f}" if isinstance(value, float) else f"{key}: {value}")
    print(f"users: {args.users}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
