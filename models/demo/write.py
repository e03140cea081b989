"""`generate_demo`: the demo batches written through the bulk writer (`models.store.bulk`), one
transaction per `CHUNK_USERS` users."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from models.access.passwords import hash_secret
from models.audit import Actor
from models.config.configuration import add_entry, list_entries
from models.config.settings import load_settings
from models.demo.context import load_context
from models.demo.data import (
    CHUNK_USERS,
    PERSON_TITLES,
    STAFF_PASSWORD,
    WORKER_THRESHOLD,
    DemoError,
)
from models.demo.generator import (
    Batch,
    dates_to_text,
    demo_batches,
)
from models.demo.tables import TABLES
from models.demo.worker import (
    _can_spawn,
    _from_worker,
)
from models.enums import Source
from models.store.base import database
from models.store.bulk import BulkWriter


def demo_titles(organization_id: int) -> None:
    """A few titles (`PERSON_TITLES`) for an organization without a list of titles, added as
    Configuration adds them (checked, audited as the system); a list already there is left as
    it is."""
    system = Actor(None, Source.CLI)
    if list_entries("titles", organization_id, system):
        return
    for code, name in PERSON_TITLES:
        add_entry("titles", organization_id, {"code": code, "name": name}, system)


@dataclass
class DemoReport:
    users: int
    staff: int


def _write(writer: BulkWriter, batch: Batch) -> None:
    if not writer.pg:
        dates_to_text(batch)
    with database.atomic():
        writer.write(TABLES, batch.rows)


def generate_demo(n: int, seed: int | None = None, progress: bool = False) -> DemoReport:
    """Add `n` demo users to the default organization of the open database.

    Staff accounts share the password "Demo-Staff-2026". Written in transactions of
    `CHUNK_USERS` users: an interrupted run keeps the chunks already written.
    """
    from models.config.setup import default_organization

    if n < 1:
        raise DemoError("The number of demo users must be at least 1.")
    organization = default_organization()
    if organization is None:
        raise DemoError("The database is not initialized: run 'patrondesk init' first.")
    writer = BulkWriter("demo data needs", DemoError)
    # One argon2 hash for every staff account: hashing is slow on purpose.
    staff_hash = hash_secret(STAFF_PASSWORD, load_settings())
    with database.atomic():
        demo_titles(organization.id)
        ctx = load_context(organization, staff_hash)
    report = DemoReport(users=0, staff=0)
    make = _from_worker if n >= WORKER_THRESHOLD and _can_spawn() else demo_batches
    batches = make(n, seed, ctx, CHUNK_USERS, dates_as_text=not writer.pg)
    try:
        for batch in batches:
            _write(writer, batch)
            report.users += batch.users
            report.staff += batch.staff
            if progress:
                print(
                    f"\rdemo: {report.users:,} / {n:,} users ({100 * report.users // n}%)",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        batches.close()  # stops the generating process now, even on an error
        if report.users:
            with database.atomic():
                writer.fix_sequences(TABLES)
        if progress:
            print(file=sys.stderr)
    return report
