"""Helpers shared by the tests that drive the app with the pilot."""

from __future__ import annotations

import asyncio
import datetime as dt

from textual.widgets import Input

from models.audit import Actor
from models.enums import RecordType, Source
from models.runtime import runtime
from models.store.tables import Account, Organization
from models.users.accounts import NewUser, create_user

SIZE = (120, 40)


async def settle(pilot) -> None:
    """Let workers, deferred calls and screen changes finish (no fixed sleeps): until no
    worker has run for three rounds of the message queue in a row (a finished worker's message
    may start another, as the count after the rows of Find Users; a loaded machine spreads
    such chains over more rounds), and then until the screen on top has drawn what changed:
    its layout and draw are done on the screen's own timer, which a loaded machine may not
    have run yet when the message queues are empty (a snapshot taken then caught User Details
    before its first draw, a blank screen, about once in twenty runs beside two busy cores)."""
    quiet = 0
    for _ in range(100):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        busy = any(not worker.is_finished for worker in pilot.app.workers)
        quiet = 0 if busy else quiet + 1
        if quiet >= 3:
            break
    for _ in range(400):  # at most 2 s: a cursor's blink marks its input again meanwhile
        if not _drawing(pilot.app):
            return
        await asyncio.sleep(0.005)


async def until(pilot, condition, timeout: float = 10.0) -> None:
    """Let the app run until `condition()` holds (at most `timeout` seconds, then fail), then
    `settle`: for a key whose effect comes after a read in a worker or a wait for a screen (a
    loaded machine may take longer than the message rounds `settle` counts)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        assert loop.time() < end, f"the app did not get there in {timeout} s"
        await pilot.pause(0.01)
    await settle(pilot)


def _drawing(app) -> bool:
    """Whether the screen on top has a layout, a repaint or a changed widget not drawn yet."""
    screen = app.screen
    return bool(
        screen._layout_required
        or screen._repaint_required
        or screen._dirty_widgets
        or screen._callbacks
    )


async def type_into(pilot, selector: str, text: str, *, keys: bool = False) -> None:
    """Put `text` in the input as a paste would (fast), or key by key with `keys=True`."""
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    await pilot.pause()
    widget.value = ""
    if keys:
        await pilot.press(*text)
    else:
        widget.insert_text_at_cursor(text)
    await pilot.pause()


async def log_in(pilot, name: str, password: str) -> None:
    await type_into(pilot, "#login", name)
    await type_into(pilot, "#password", password)
    await pilot.press("enter")
    await settle(pilot)


def add_user(
    first: str,
    last: str,
    primary_id: str,
    *,
    record_type: str = RecordType.PUBLIC.value,
    group: str = "PUBLIC",
    email: str | None = None,
    expiry_days: int = 365,
    expiry: str | None = None,
    identifier: str = "",
    organization: Organization | None = None,
    **extra,
) -> Account:
    """A valid user of any record type, created through the same service as the screens."""
    org = organization or Organization.get(Organization.code == "MAIN")
    if record_type == RecordType.CONTACT.value and "phone" not in extra:
        extra["phone"] = "+41 44 268 10 00"  # mandatory for contacts by default
    data = NewUser(
        record_type=record_type,
        first_name=first,
        last_name=last,
        primary_id=primary_id,
        user_group=group,
        email=email if email is not None else f"{primary_id.lower()}@example.org",
        expiry_date=expiry or runtime.today() + dt.timedelta(days=expiry_days),
        identifier_type="BARCODE" if identifier else "",
        identifier_value=identifier,
        **extra,
    )
    return create_user(data, Actor(None, Source.CLI), org)
