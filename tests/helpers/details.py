"""Helpers shared by the tests of the User Details services (details, rows, history)."""

from __future__ import annotations

import datetime as dt

from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from models.audit import Actor
from models.enums import RecordType, Role, Source
from models.runtime import configure, runtime
from models.store.base import utcnow
from models.store.tables import Account, AuditEvent
from models.users.accounts import NewUser, create_user

CHEAP = PasswordHasher.from_parameters(CHEAPEST)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def use_clock() -> Clock:
    clock = Clock()
    configure(clock=clock, hasher=CHEAP)
    return clock


def future(days: int = 365) -> dt.date:
    return runtime.today() + dt.timedelta(days=days)


def admin(db) -> Actor:
    return Actor(db.admin, Source.SCREEN)


def user(
    db, primary_id: str = "P0001", record_type: str = "public", identifier: str = "", **changes
) -> Account:
    """A valid user made by the administrator (staff get the STAFF group); `identifier`: an
    additional barcode."""
    values = dict(
        record_type=record_type,
        first_name="Anna",
        last_name="Müller",
        primary_id=primary_id,
        user_group="STAFF" if record_type == RecordType.STAFF else "PUBLIC",
        email=f"{primary_id.lower()}@example.org",
        expiry_date=future(),
    )
    if record_type in (RecordType.CONTACT, RecordType.ORGANIZATION):
        values.update(user_group="", email="", first_name="")
    if record_type == RecordType.CONTACT:  # a phone is mandatory for contacts by default
        values.update(phone="+41 44 268 10 00")
    if identifier:
        values.update(identifier_type="BARCODE", identifier_value=identifier)
    values.update(changes)
    return create_user(NewUser(**values), admin(db), db.organization)


def staff(db, role: Role, primary_id: str = "S0001", **changes) -> Account:
    roles = [] if role == Role.PATRON else [role.value]
    return user(db, primary_id, "staff", roles=roles, **changes)


def as_staff(db, role: Role, primary_id: str = "S0001") -> Actor:
    return Actor(staff(db, role, primary_id), Source.SCREEN)


def fresh(account: Account) -> Account:
    return Account.get_by_id(account.id)


def events_after(last_id: int) -> list[AuditEvent]:
    return list(AuditEvent.select().where(AuditEvent.id > last_id).order_by(AuditEvent.id))


def last_event_id() -> int:
    row = AuditEvent.select().order_by(AuditEvent.id.desc()).first()
    return row.id if row else 0


def changes_of(events: list[AuditEvent]) -> set[tuple]:
    return {(e.entity, e.field, e.old_value, e.new_value) for e in events}
