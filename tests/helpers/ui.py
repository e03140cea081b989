"""Helpers shared by the tests that drive the app with the pilot."""

from __future__ import annotations

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
    such chains over more rounds)."""
    quiet = 0
    for _ in range(100):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        busy = any(not worker.is_finished for worker in pilot.app.workers)
        quiet = 0 if busy else quiet + 1
        if quiet >= 3:
            return


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
