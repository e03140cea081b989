"""Every write is refused for a role that lacks it (issue 10, item 4): the whole permission matrix
of `models.access.permissions.MATRIX`, role by action, driven through the real services.

For each (role, action) every service that performs the action is called by a staff account
holding only that role (and Patron). The expected outcome is read from `MATRIX`, never copied
here: granted, the call succeeds and its write is in the database; refused, it raises
`PermissionDenied` naming an action the role lacks, and nothing at all was written: no row of
any table (audit trail included) inserted, updated or deleted, by the database's own counters.
A service that forgot its `authorize` call fails the refused cases. Library scope (a role scoped
to one library, rows owned by another) and another organization's records are covered for the
services that take them.

Speed: the world (organization, one staff account per role, users, files) is built once per
back end, as `db` in conftest builds it (the same SQLite template and PostgreSQL reset); each
test runs in a transaction rolled back at its end, and each service call in a savepoint rolled
back after it, so every call starts from the same world.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from peewee import PostgresqlDatabase

from models.access import auth
from models.access.permissions import MATRIX, Action
from models.audit import Actor
from models.config.config_file import import_config
from models.config.config_settings import update_settings
from models.config.configuration import add_entry, delete_entry, set_entry_active, update_entry
from models.config.seed import seed_code_tables
from models.config.settings import load_settings
from models.duplicates.marks import mark_not_duplicate
from models.duplicates.scan import scan
from models.enums import FeeStatus, LetterStatus, Role, Source, Status
from models.errors import PermissionDenied
from models.fees.balances import fee_transactions
from models.fees.fees import (
    add_fee,
    dispute_fee,
    link_item,
    list_fees,
    pay_fee,
    restore_fee,
    waive_all,
    waive_fee,
    waive_fees,
)
from models.mail.letters import (
    letter_of_attachment,
    letter_text,
    letters_of,
    outbox,
    queue_deletion_notice,
    queue_expiry_reminders,
    queue_general_message,
    queue_personal_information,
    resend_letter,
    retry_letter,
)
from models.runtime import configure, runtime
from models.store.base import database
from models.store.tables import (
    Account,
    Attachment,
    AuditEvent,
    Block,
    Campus,
    DuplicateDismissal,
    Email,
    Fee,
    Identifier,
    Letter,
    Library,
    Note,
    Organization,
    Person,
    Phone,
    ProxyFor,
    RoleAssignment,
    Statistic,
)
from models.transfer.exports import export_to_file
from models.transfer.imports import ImportOptions, import_file
from models.users import details
from models.users.accounts import NewUser, create_user, set_status
from models.users.card import user_card
from models.users.deletion import check_deletion, delete_user, notify_deletion, purge
from models.users.history import history, prune_audit
from models.users.merge import merge, merge_preview
from models.users.profile import fee_summary, load_profile, loan_lines
from models.users.rows import (
    Kind,
    add_row,
    delete_row,
    duplicate_row,
    list_rows,
    row_values,
    set_row_active,
    update_row,
)
from tests.helpers.db import reset_pg

SYSTEM = Actor(None, Source.CLI)  # prepares what a case acts on, whatever its organization
NEW_PASSWORD = "Harbor-Lantern-73"


def future(days: int = 365) -> dt.date:
    return runtime.today() + dt.timedelta(days=days)


def new_user(primary_id: str, record_type: str = "public", **changes: Any) -> NewUser:
    values: dict[str, Any] = dict(
        record_type=record_type,
        first_name="Anna",
        last_name="Müller",
        primary_id=primary_id,
        user_group="STAFF" if record_type == "staff" else "PUBLIC",
        email=f"{primary_id.lower()}@example.org",
        expiry_date=future(),
    )
    values.update(changes)
    return NewUser(**values)


# The roles tried with a library scope, least powerful first.
SCOPE_ROLES = [
    Role.CIRCULATION_DESK_OPERATOR,
    Role.CIRCULATION_DESK_MANAGER,
    Role.USER_MANAGER,
    Role.USER_ADMINISTRATOR,
]


# --- The world: built once per back end -----------------------------------------------------------


@dataclass(frozen=True)
class World:
    org: Organization
    library: str  # the code of the organization's main library
    actors: dict[Role, Actor]  # one staff account per role, unscoped
    scoped: dict[Role, Actor]  # SCOPE_ROLES, scoped to the main library
    patron: Account  # P0001, public: the record the services act on
    other: Account  # P0002, public: a proxy target
    victim: Account  # P0003, public, owes nothing: may be deleted
    files: Path


def _staff(org: Organization, role: Role, primary_id: str, scope: Library | None = None) -> Actor:
    roles = [] if role == Role.PATRON else [role.value]
    account = create_user(new_user(primary_id, "staff", roles=roles), SYSTEM, org)
    if scope is not None:
        RoleAssignment.update(scope=scope).where(
            (RoleAssignment.account == account) & (RoleAssignment.role != Role.PATRON.value)
        ).execute()
    return Actor(Account.get_by_id(account.id), Source.SCREEN)


def _build(files: Path) -> tuple[World, World]:
    """The main organization's world, and the same people in a second organization (whose
    records the main organization's staff must never reach)."""
    org = Organization.get(Organization.code == "MAIN")
    main = Library.get(Library.organization == org)
    Library.create(organization=org, code="BRANCH", name="Branch library")
    actors = {role: _staff(org, role, f"S{i:04d}") for i, role in enumerate(Role)}
    scoped = {role: _staff(org, role, f"T{i:04d}", main) for i, role in enumerate(SCOPE_ROLES)}
    world = World(
        org=org,
        library=main.code,
        actors=actors,
        scoped=scoped,
        patron=create_user(new_user("P0001"), SYSTEM, org),
        other=create_user(new_user("P0002"), SYSTEM, org),
        victim=create_user(new_user("P0003"), SYSTEM, org),
        files=files,
    )
    (files / "consent.pdf").write_bytes(b"%PDF-1.4 consent")
    org2 = Organization.create(code="SECOND", name="Second organization")
    Library.create(organization=org2, code="SEC", name="Second library")
    seed_code_tables(org2)
    elsewhere = replace(
        world,
        org=org2,
        library="SEC",
        patron=create_user(new_user("X0001"), SYSTEM, org2),
        other=create_user(new_user("X0002"), SYSTEM, org2),
        victim=create_user(new_user("X0003"), SYSTEM, org2),
    )
    return world, elsewhere


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def worlds(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[World, World]]:
    """As `db` (conftest) initializes a database, once for the module and back end."""
    from models.store.connection import close_database, open_database

    configure(hasher=PasswordHasher.from_parameters(CHEAPEST))
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("permissions") / "patrondesk.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        open_database(str(path))
    else:
        reset_pg(request.getfixturevalue("pg_initialized"))
    try:
        yield _build(tmp_path_factory.mktemp("files"))
    finally:
        close_database()
        configure()


@pytest.fixture
def world(worlds: tuple[World, World]) -> Iterator[World]:
    """The main organization's world; whatever the test writes is rolled back."""
    with database.atomic() as txn:
        yield worlds[0]
        txn.rollback()


@pytest.fixture
def elsewhere(worlds: tuple[World, World]) -> Iterator[World]:
    """The second organization's world, with the main organization's staff as actors."""
    with database.atomic() as txn:
        yield worlds[1]
        txn.rollback()


# --- Nothing written ------------------------------------------------------------------------------


def writes() -> Any:
    """The database's own count of rows inserted, updated or deleted: SQLite's for the
    connection, PostgreSQL's per table for the transaction (rows written in a savepoint rolled
    back count too). The same before and after a call: the call wrote nothing at all."""
    if isinstance(database.obj, PostgresqlDatabase):
        cursor = database.execute_sql(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables "
            "WHERE schemaname = current_schema()"
        )
        return {name: counts for name, *counts in cursor.fetchall() if any(counts)}
    return database.execute_sql("SELECT total_changes()").fetchone()[0]


def written(before: Any, after: Any) -> Any:
    """What was written between two `writes()`: tables (PostgreSQL) or a row count (SQLite)."""
    if isinstance(before, dict):
        return sorted(t for t in after.keys() | before.keys() if after.get(t) != before.get(t))
    return after - before


def last_event() -> int:
    row = AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id.desc()).first()
    return row.id if row else 0


def fresh(account: Account) -> Account:
    return Account.get_by_id(account.id)


# --- The services, by action ----------------------------------------------------------------------

# A case prepares what it acts on (as the system) and returns the call, made as the actor, and a
# check of the write the call made when the actor may make it.
Call = Callable[[Actor], Any]
Check = Callable[[Any], None]
Prepare = Callable[[World, str], tuple[Call, Check]]


@dataclass(frozen=True)
class Case:
    action: Action  # the action the service performs
    name: str
    prepare: Prepare
    needs: frozenset[Action]  # every action the service checks (the matrix must grant all)
    writes: bool = True  # False: a read (or a check) gated by the action: writes nothing
    audited: bool = True  # a granted call adds audit events
    owned: bool = False  # the row has an owner library (`prepare`'s second argument)
    on_account: bool = True  # acts on a user record (False: the organization, a job)
    trial: bool = False  # a read that tries the write in a transaction it rolls back

    def granted(self, role: Role) -> bool:
        return self.needs <= MATRIX[role]

    def missing(self, role: Role) -> set[str]:
        return {a.value for a in self.needs - MATRIX[role]}


CASES: list[Case] = []


def case(action: Action, *also: Action, **flags: bool) -> Callable[[Prepare], Prepare]:
    def register(prepare: Prepare) -> Prepare:
        CASES.append(Case(action, prepare.__name__, prepare, frozenset({action, *also}), **flags))
        return prepare

    return register


def version(account: Account) -> int:
    return fresh(account).version


def a_fee(w: World, owner: str = "", amount: str = "12.50") -> Fee:
    return add_fee(w.patron.id, SYSTEM, fee_type="LOST_ITEM", amount=amount, owner=owner)


def a_row(w: World, kind: Kind, data: dict[str, Any]) -> Any:
    return add_row(kind, w.patron.id, version(w.patron), data, SYSTEM).row


def a_letter(w: World) -> Letter:
    return queue_general_message(w.patron.id, "Your card", "Your new card is ready.", SYSTEM)


# View user: reads only, gated by the action.


@case(Action.VIEW_USER, writes=False)
def load_profile_(w: World, owner: str) -> tuple[Call, Check]:
    def check(profile: Any) -> None:
        assert profile.primary_id == w.patron.primary_id

    return lambda actor: load_profile(w.patron.id, actor), check


@case(Action.VIEW_USER, writes=False)
def user_card_(w: World, owner: str) -> tuple[Call, Check]:
    def check(card: Any) -> None:
        assert card.primary_id == w.patron.primary_id

    return lambda actor: user_card(w.patron.id, actor), check


@case(Action.VIEW_USER, writes=False)
def general_form_(w: World, owner: str) -> tuple[Call, Check]:
    def check(form: Any) -> None:
        assert form.account_id == w.patron.id

    return lambda actor: details.general_form(w.patron.id, actor), check


@case(Action.VIEW_USER, writes=False)
def list_rows_(w: World, owner: str) -> tuple[Call, Check]:
    def check(rows: Any) -> None:
        assert [e.address for e in rows] == [f"{w.patron.primary_id.lower()}@example.org"]

    return lambda actor: list_rows(Kind.EMAIL, w.patron.id, actor), check


@case(Action.VIEW_USER, writes=False)
def list_fees_(w: World, owner: str) -> tuple[Call, Check]:
    a_fee(w)

    def check(rows: Any) -> None:
        assert len(rows) == 1

    return lambda actor: list_fees(w.patron.id, actor), check


@case(Action.VIEW_USER, writes=False)
def history_(w: World, owner: str) -> tuple[Call, Check]:
    def check(rows: Any) -> None:
        assert rows

    return lambda actor: history(w.patron.id, actor, "all"), check


@case(Action.VIEW_USER, writes=False)
def fee_summary_(w: World, owner: str) -> tuple[Call, Check]:
    a_fee(w)

    def check(summary: Any) -> None:
        assert summary.active_minor == 1250

    return lambda actor: fee_summary(w.patron.id, actor), check


@case(Action.VIEW_USER, writes=False)
def loan_lines_(w: World, owner: str) -> tuple[Call, Check]:
    def check(lines: Any) -> None:
        assert lines == []

    return lambda actor: loan_lines(w.patron.id, actor), check


@case(Action.VIEW_USER, writes=False)
def row_values_(w: World, owner: str) -> tuple[Call, Check]:
    email = Email.get(Email.person == w.patron.person_id)

    def check(values: Any) -> None:
        assert values["address"] == email.address

    return lambda actor: row_values(Kind.EMAIL, w.patron.id, email.id, actor), check


@case(Action.VIEW_USER, writes=False)
def fee_transactions_(w: World, owner: str) -> tuple[Call, Check]:
    fee = a_fee(w)

    def check(rows: Any) -> None:
        assert [t.action for t in rows] == ["create"]

    return lambda actor: fee_transactions(fee.id, actor), check


@case(Action.VIEW_USER, writes=False)
def letters_of_(w: World, owner: str) -> tuple[Call, Check]:
    letter = a_letter(w)

    def check(lines: Any) -> None:
        assert [line.letter_id for line in lines] == [letter.id]

    return lambda actor: letters_of(w.patron.id, actor), check


@case(Action.VIEW_USER, writes=False)
def letter_text_(w: World, owner: str) -> tuple[Call, Check]:
    letter = a_letter(w)

    def check(text: Any) -> None:
        assert "Your new card is ready." in text

    return lambda actor: letter_text(letter.id, actor), check


@case(Action.VIEW_USER, writes=False)
def letter_of_attachment_(w: World, owner: str) -> tuple[Call, Check]:
    letter = queue_personal_information(w.patron.id, SYSTEM)
    attachment = Attachment.get(Attachment.letter == letter.id)

    def check(letter_id: Any) -> None:
        assert letter_id == letter.id

    return lambda actor: letter_of_attachment(attachment.id, actor), check


# Create and register users.


@case(Action.CREATE_USER, on_account=False)
def create_user_(w: World, owner: str) -> tuple[Call, Check]:
    def check(account: Any) -> None:
        assert fresh(account).primary_id == "N0001"

    return lambda actor: create_user(new_user("N0001"), actor, w.org), check


@case(Action.REGISTER_USER, on_account=False)
def register_user(w: World, owner: str) -> tuple[Call, Check]:
    def check(account: Any) -> None:
        assert fresh(account).record_type == "public"

    return lambda actor: create_user(new_user("N0001"), actor, w.org, via_register=True), check


# Edit the user (General tab, identifiers).


@case(Action.EDIT_USER)
def update_user(w: World, owner: str) -> tuple[Call, Check]:
    def check(account: Any) -> None:
        assert fresh(account).person.title == "Dr"

    return lambda actor: details.update_user(
        w.patron.id, version(w.patron), {"title": "Dr"}, actor
    ), check


@case(Action.EDIT_USER)
def add_identifier(w: World, owner: str) -> tuple[Call, Check]:
    data = {"id_type": "BARCODE", "value": "BC-7001"}

    def check(saved: Any) -> None:
        assert Identifier.get_by_id(saved.row.id).value == "BC-7001"

    return lambda actor: add_row(
        Kind.IDENTIFIER, w.patron.id, version(w.patron), data, actor
    ), check


@case(Action.EDIT_USER, writes=False)
def open_for_update_(w: World, owner: str) -> tuple[Call, Check]:
    details.toggle_account_type(w.patron.id, version(w.patron), SYSTEM)  # external

    def check(fields: Any) -> None:
        assert "title" in fields

    return lambda actor: details.open_for_update(w.patron.id, actor), check


@case(Action.EDIT_USER)
def restore_original(w: World, owner: str) -> tuple[Call, Check]:
    details.toggle_account_type(w.patron.id, version(w.patron), SYSTEM)  # external
    details.update_user(w.patron.id, version(w.patron), {"title": "Dr"}, SYSTEM, opened=True)

    def check(account: Any) -> None:
        assert fresh(account).person.title == ""

    return lambda actor: details.restore_original(
        w.patron.id, version(w.patron), "title", actor
    ), check


# Contact information (kept on the person).


@case(Action.EDIT_CONTACT)
def add_email(w: World, owner: str) -> tuple[Call, Check]:
    data = {"address": "second@example.org", "email_type": "work"}

    def check(saved: Any) -> None:
        assert Email.get_by_id(saved.row.id).address == "second@example.org"

    return lambda actor: add_row(Kind.EMAIL, w.patron.id, version(w.patron), data, actor), check


@case(Action.EDIT_CONTACT)
def add_phone(w: World, owner: str) -> tuple[Call, Check]:
    data = {"number": "+41 44 634 11 11", "phone_type": "mobile"}

    def check(saved: Any) -> None:
        assert Phone.get_by_id(saved.row.id).person_id == w.patron.person_id

    return lambda actor: add_row(Kind.PHONE, w.patron.id, version(w.patron), data, actor), check


@case(Action.EDIT_CONTACT)
def add_address(w: World, owner: str) -> tuple[Call, Check]:
    data = {"address_type": "home", "line1": "Rämistrasse 71", "city": "Zürich"}

    def check(saved: Any) -> None:
        assert saved.row.city == "Zürich"

    return lambda actor: add_row(Kind.ADDRESS, w.patron.id, version(w.patron), data, actor), check


@case(Action.EDIT_CONTACT)
def update_email(w: World, owner: str) -> tuple[Call, Check]:
    email = Email.get(Email.person == w.patron.person_id)

    def check(saved: Any) -> None:
        assert Email.get_by_id(email.id).description == "at the desk"

    return lambda actor: update_row(
        Kind.EMAIL, w.patron.id, email.id, version(w.patron), {"description": "at the desk"}, actor
    ), check


@case(Action.EDIT_CONTACT)
def delete_phone(w: World, owner: str) -> tuple[Call, Check]:
    phone = a_row(w, Kind.PHONE, {"number": "+41 44 634 11 11", "phone_type": "mobile"})

    def check(_: Any) -> None:
        assert Phone.get_or_none(Phone.id == phone.id) is None

    return lambda actor: delete_row(
        Kind.PHONE, w.patron.id, phone.id, version(w.patron), actor
    ), check


# Status, deletion, account type.


@case(Action.CHANGE_STATUS)
def set_status_(w: World, owner: str) -> tuple[Call, Check]:
    def check(_: Any) -> None:
        assert fresh(w.patron).status == Status.INACTIVE

    return lambda actor: set_status(w.patron.id, "inactive", version(w.patron), actor), check


@case(Action.DELETE_USER)
def delete_user_(w: World, owner: str) -> tuple[Call, Check]:
    def check(_: Any) -> None:
        assert Account.get_or_none(Account.id == w.victim.id) is None
        assert Person.get_or_none(Person.id == w.victim.person_id) is None

    return lambda actor: delete_user(w.victim.id, version(w.victim), actor), check


@case(Action.DELETE_USER, writes=False)
def check_deletion_(w: World, owner: str) -> tuple[Call, Check]:
    def check(result: Any) -> None:
        assert result.allowed

    return lambda actor: check_deletion(w.victim.id, actor), check


@case(Action.DELETE_USER, Action.MANAGE_ATTACHMENTS)
def notify_deletion_(w: World, owner: str) -> tuple[Call, Check]:
    a_fee(w)

    def check(letter: Any) -> None:
        assert Letter.get_by_id(letter.id).kind == "deletion_notice"

    return lambda actor: notify_deletion(w.patron.id, actor), check


@case(Action.TOGGLE_ACCOUNT_TYPE)
def toggle_account_type(w: World, owner: str) -> tuple[Call, Check]:
    def check(_: Any) -> None:
        assert fresh(w.patron).account_type == "external"

    return lambda actor: details.toggle_account_type(w.patron.id, version(w.patron), actor), check


# Roles.


def _roles(account: Account) -> set[tuple[str, str]]:
    rows = RoleAssignment.select().where(RoleAssignment.account == account.id)
    return {(r.role, r.status) for r in rows}


@case(Action.MANAGE_ROLES)
def add_role(w: World, owner: str) -> tuple[Call, Check]:
    data = {"role": Role.FULFILLMENT_SERVICES_OPERATOR.value}

    def check(_: Any) -> None:
        assert (Role.FULFILLMENT_SERVICES_OPERATOR, Status.ACTIVE) in _roles(w.patron)

    return lambda actor: add_row(Kind.ROLE, w.patron.id, version(w.patron), data, actor), check


@case(Action.MANAGE_ROLES)
def deactivate_role(w: World, owner: str) -> tuple[Call, Check]:
    role = RoleAssignment.get(RoleAssignment.account == w.patron.id)

    def check(_: Any) -> None:
        assert _roles(w.patron) == {(Role.PATRON, Status.INACTIVE)}

    return lambda actor: set_row_active(
        Kind.ROLE, w.patron.id, role.id, version(w.patron), False, actor
    ), check


@case(Action.MANAGE_ROLES)
def delete_role(w: World, owner: str) -> tuple[Call, Check]:
    role = a_row(w, Kind.ROLE, {"role": Role.FULFILLMENT_SERVICES_OPERATOR.value})

    def check(_: Any) -> None:
        assert _roles(w.patron) == {(Role.PATRON, Status.ACTIVE)}

    return lambda actor: delete_row(
        Kind.ROLE, w.patron.id, role.id, version(w.patron), actor
    ), check


@case(Action.MANAGE_ROLES, Action.CONFIGURE)
def grant_administrator(w: World, owner: str) -> tuple[Call, Check]:
    data = {"role": Role.USER_ADMINISTRATOR.value}

    def check(_: Any) -> None:
        assert (Role.USER_ADMINISTRATOR, Status.ACTIVE) in _roles(w.patron)

    return lambda actor: add_row(Kind.ROLE, w.patron.id, version(w.patron), data, actor), check


@case(Action.MANAGE_ROLES, Action.CONFIGURE)
def delete_administrator_role(w: World, owner: str) -> tuple[Call, Check]:
    role = a_row(w, Kind.ROLE, {"role": Role.USER_ADMINISTRATOR.value})

    def check(_: Any) -> None:
        assert _roles(w.patron) == {(Role.PATRON, Status.ACTIVE)}

    return lambda actor: delete_row(
        Kind.ROLE, w.patron.id, role.id, version(w.patron), actor
    ), check


@case(Action.MANAGE_ROLES, Action.CREATE_USER, on_account=False)
def create_staff_with_a_role(w: World, owner: str) -> tuple[Call, Check]:
    data = new_user("N0002", "staff", roles=[Role.CIRCULATION_DESK_OPERATOR.value])

    def check(account: Any) -> None:
        assert {r for r, _ in _roles(account)} == {"patron", "circulation_desk_operator"}

    return lambda actor: create_user(data, actor, w.org), check


@case(Action.MANAGE_ROLES, Action.CREATE_USER, Action.CONFIGURE, on_account=False)
def create_an_administrator(w: World, owner: str) -> tuple[Call, Check]:
    data = new_user("N0003", "staff", roles=[Role.USER_ADMINISTRATOR.value])

    def check(account: Any) -> None:
        assert (Role.USER_ADMINISTRATOR, Status.ACTIVE) in _roles(account)

    return lambda actor: create_user(data, actor, w.org), check


# Notes, blocks, statistics, attachments (owned by a library, or the institution).


@case(Action.MANAGE_NOTES, owned=True)
def add_note(w: World, owner: str) -> tuple[Call, Check]:
    data = {"text": "Call before noon", "owner": owner}

    def check(saved: Any) -> None:
        assert Note.get_by_id(saved.row.id).text == "Call before noon"

    return lambda actor: add_row(Kind.NOTE, w.patron.id, version(w.patron), data, actor), check


@case(Action.MANAGE_NOTES, owned=True)
def update_note(w: World, owner: str) -> tuple[Call, Check]:
    note = a_row(w, Kind.NOTE, {"text": "Call before noon", "owner": owner})

    def check(_: Any) -> None:
        assert Note.get_by_id(note.id).text == "Call after noon"

    return lambda actor: update_row(
        Kind.NOTE, w.patron.id, note.id, version(w.patron), {"text": "Call after noon"}, actor
    ), check


@case(Action.MANAGE_NOTES, owned=True)
def delete_note(w: World, owner: str) -> tuple[Call, Check]:
    note = a_row(w, Kind.NOTE, {"text": "Call before noon", "owner": owner})

    def check(_: Any) -> None:
        assert Note.get_or_none(Note.id == note.id) is None

    return lambda actor: delete_row(
        Kind.NOTE, w.patron.id, note.id, version(w.patron), actor
    ), check


# Another library's row is hidden from a scoped role (NotFound): no scope case here.
@case(Action.MANAGE_NOTES, Action.VIEW_USER)
def duplicate_note(w: World, owner: str) -> tuple[Call, Check]:
    note = a_row(w, Kind.NOTE, {"text": "Call before noon", "owner": owner})

    def check(saved: Any) -> None:
        assert saved.row.id != note.id and Note.get_by_id(saved.row.id).text == note.text

    return lambda actor: duplicate_row(
        Kind.NOTE, w.patron.id, note.id, version(w.patron), actor
    ), check


@case(Action.MANAGE_BLOCKS, owned=True)
def add_block(w: World, owner: str) -> tuple[Call, Check]:
    data = {"definition": "LOST_CARD", "note": "Reported stolen", "owner": owner}

    def check(saved: Any) -> None:
        assert Block.get_by_id(saved.row.id).active

    return lambda actor: add_row(Kind.BLOCK, w.patron.id, version(w.patron), data, actor), check


@case(Action.MANAGE_BLOCKS, owned=True)
def deactivate_block(w: World, owner: str) -> tuple[Call, Check]:
    block = a_row(w, Kind.BLOCK, {"definition": "LOST_CARD", "owner": owner})

    def check(_: Any) -> None:
        assert not Block.get_by_id(block.id).active

    return lambda actor: set_row_active(
        Kind.BLOCK, w.patron.id, block.id, version(w.patron), False, actor
    ), check


@case(Action.MANAGE_STATISTICS, owned=True)
def add_statistic(w: World, owner: str) -> tuple[Call, Check]:
    data = {"category": "LAW", "owner": owner}

    def check(saved: Any) -> None:
        assert Statistic.get_by_id(saved.row.id).category.code == "LAW"

    return lambda actor: add_row(Kind.STATISTIC, w.patron.id, version(w.patron), data, actor), check


@case(Action.MANAGE_STATISTICS, owned=True)
def delete_statistic(w: World, owner: str) -> tuple[Call, Check]:
    row = a_row(w, Kind.STATISTIC, {"category": "LAW", "owner": owner})

    def check(_: Any) -> None:
        assert Statistic.get_or_none(Statistic.id == row.id) is None

    return lambda actor: delete_row(
        Kind.STATISTIC, w.patron.id, row.id, version(w.patron), actor
    ), check


@case(Action.MANAGE_ATTACHMENTS, owned=True)
def add_attachment(w: World, owner: str) -> tuple[Call, Check]:
    data = {"path": str(w.files / "consent.pdf"), "owner": owner}

    def check(saved: Any) -> None:
        assert bytes(Attachment.get_by_id(saved.row.id).data) == b"%PDF-1.4 consent"

    return lambda actor: add_row(
        Kind.ATTACHMENT, w.patron.id, version(w.patron), data, actor
    ), check


@case(Action.MANAGE_ATTACHMENTS, owned=True)
def delete_attachment(w: World, owner: str) -> tuple[Call, Check]:
    row = a_row(w, Kind.ATTACHMENT, {"path": str(w.files / "consent.pdf"), "owner": owner})

    def check(_: Any) -> None:
        assert Attachment.get_or_none(Attachment.id == row.id) is None

    return lambda actor: delete_row(
        Kind.ATTACHMENT, w.patron.id, row.id, version(w.patron), actor
    ), check


# Letters (staff send them from the Attachments tab).


def _queued(kind: str) -> Check:
    def check(letter: Any) -> None:
        assert Letter.get_by_id(letter.id).kind == kind

    return check


@case(Action.MANAGE_ATTACHMENTS)
def queue_general_message_(w: World, owner: str) -> tuple[Call, Check]:
    return lambda actor: queue_general_message(w.patron.id, "Hi", "Text.", actor), _queued(
        "general"
    )


@case(Action.MANAGE_ATTACHMENTS)
def queue_personal_information_(w: World, owner: str) -> tuple[Call, Check]:
    return lambda actor: queue_personal_information(w.patron.id, actor), _queued(
        "personal_information"
    )


@case(Action.MANAGE_ATTACHMENTS)
def queue_deletion_notice_(w: World, owner: str) -> tuple[Call, Check]:
    return lambda actor: queue_deletion_notice(w.patron.id, actor), _queued("deletion_notice")


@case(Action.MANAGE_ATTACHMENTS)
def resend_letter_(w: World, owner: str) -> tuple[Call, Check]:
    letter = a_letter(w)

    def check(again: Any) -> None:
        assert Letter.get_by_id(again.id).resend_of_id == letter.id

    return lambda actor: resend_letter(letter.id, actor), check


# Proxies.


@case(Action.MANAGE_PROXIES)
def add_proxy(w: World, owner: str) -> tuple[Call, Check]:
    data = {"target": w.other.primary_id, "note": "mother"}

    def check(saved: Any) -> None:
        assert ProxyFor.get_by_id(saved.row.id).target_id == w.other.id

    return lambda actor: add_row(Kind.PROXY, w.patron.id, version(w.patron), data, actor), check


@case(Action.MANAGE_PROXIES)
def delete_proxy(w: World, owner: str) -> tuple[Call, Check]:
    row = a_row(w, Kind.PROXY, {"target": w.other.primary_id})

    def check(_: Any) -> None:
        assert ProxyFor.get_or_none(ProxyFor.id == row.id) is None

    return lambda actor: delete_row(
        Kind.PROXY, w.patron.id, row.id, version(w.patron), actor
    ), check


# Fines and fees.


@case(Action.ADD_FEE, owned=True)
def add_fee_(w: World, owner: str) -> tuple[Call, Check]:
    def check(fee: Any) -> None:
        assert Fee.get_by_id(fee.id).balance_minor == 1250

    return lambda actor: add_fee(
        w.patron.id, actor, fee_type="LOST_ITEM", amount="12.50", owner=owner
    ), check


@case(Action.ADD_FEE, owned=True)
def link_item_(w: World, owner: str) -> tuple[Call, Check]:
    fee = a_fee(w, owner)

    def check(_: Any) -> None:
        assert Fee.get_by_id(fee.id).item_barcode == "B-0001"

    return lambda actor: link_item(fee.id, actor, item_barcode="B-0001"), check


@case(Action.PAY_FEE, owned=True)
def pay_fee_(w: World, owner: str) -> tuple[Call, Check]:
    fee = a_fee(w, owner)

    def check(_: Any) -> None:
        assert Fee.get_by_id(fee.id).balance_minor == 1000

    return lambda actor: pay_fee(fee.id, actor, method="cash", amount="2.50"), check


@case(Action.WAIVE_FEE, owned=True)
def waive_fee_(w: World, owner: str) -> tuple[Call, Check]:
    fee = a_fee(w, owner)

    def check(_: Any) -> None:
        assert Fee.get_by_id(fee.id).status == FeeStatus.WAIVED

    return lambda actor: waive_fee(fee.id, actor, reason="GOODWILL"), check


@case(Action.WAIVE_FEE, owned=True)
def waive_fees_(w: World, owner: str) -> tuple[Call, Check]:
    fees = [a_fee(w, owner), a_fee(w, owner, "3.00")]

    def check(result: Any) -> None:
        assert result.waived == 2
        assert {Fee.get_by_id(f.id).status for f in fees} == {FeeStatus.WAIVED}

    return lambda actor: waive_fees([f.id for f in fees], actor, reason="GOODWILL"), check


@case(Action.WAIVE_FEE)
def waive_all_(w: World, owner: str) -> tuple[Call, Check]:
    fee = a_fee(w)

    def check(result: Any) -> None:
        assert result.waived == 1
        assert Fee.get_by_id(fee.id).status == FeeStatus.WAIVED

    return lambda actor: waive_all(w.patron.id, actor, reason="GOODWILL"), check


@case(Action.WAIVE_FEE, owned=True)
def dispute_fee_(w: World, owner: str) -> tuple[Call, Check]:
    fee = a_fee(w, owner)

    def check(_: Any) -> None:
        assert Fee.get_by_id(fee.id).status == FeeStatus.DISPUTED

    return lambda actor: dispute_fee(fee.id, actor, comment="Says it was returned"), check


@case(Action.WAIVE_FEE, owned=True)
def restore_fee_(w: World, owner: str) -> tuple[Call, Check]:
    fee = a_fee(w, owner)
    dispute_fee(fee.id, SYSTEM, comment="Says it was returned")

    def check(_: Any) -> None:
        assert Fee.get_by_id(fee.id).status == FeeStatus.ACTIVE

    return lambda actor: restore_fee(fee.id, actor), check


# Password and login.


def _password_reset(w: World) -> Check:
    before = Person.get_by_id(w.patron.person_id).password_hash

    def check(_: Any) -> None:
        person = Person.get_by_id(w.patron.person_id)
        assert person.password_hash != before and person.force_password_change

    return check


@case(Action.RESET_PASSWORD)
def reset_password(w: World, owner: str) -> tuple[Call, Check]:
    return lambda actor: details.reset_password(w.patron.id, actor), _password_reset(w)


@case(Action.RESET_PASSWORD)
def set_password(w: World, owner: str) -> tuple[Call, Check]:
    return lambda actor: auth.set_password(
        w.patron.person_id, NEW_PASSWORD, actor, force_change=True
    ), _password_reset(w)


def _locked(w: World) -> Check:
    Person.update(failed_logins=5, locked_until=runtime.now() + dt.timedelta(hours=1)).where(
        Person.id == w.patron.person_id
    ).execute()

    def check(_: Any) -> None:
        person = Person.get_by_id(w.patron.person_id)
        assert (person.failed_logins, person.locked_until) == (0, None)

    return check


@case(Action.UNLOCK_LOGIN)
def unlock_login(w: World, owner: str) -> tuple[Call, Check]:
    return lambda actor: details.unlock_login(w.patron.id, actor), _locked(w)


@case(Action.UNLOCK_LOGIN)
def unlock(w: World, owner: str) -> tuple[Call, Check]:
    return lambda actor: auth.unlock(w.patron.person_id, actor), _locked(w)


# Configuration.


def _north(w: World) -> Campus:
    return Campus.get((Campus.organization == w.org) & (Campus.code == "NORTH"))


@case(Action.CONFIGURE, on_account=False)
def add_entry_(w: World, owner: str) -> tuple[Call, Check]:
    data = {"code": "WEST", "name": "West campus"}

    def check(row: Any) -> None:
        assert Campus.get_by_id(row.id).code == "WEST"

    return lambda actor: add_entry("campuses", w.org.id, data, actor), check


@case(Action.CONFIGURE, on_account=False)
def update_entry_(w: World, owner: str) -> tuple[Call, Check]:
    north = _north(w)

    def check(_: Any) -> None:
        assert Campus.get_by_id(north.id).name == "North site"

    return lambda actor: update_entry(
        "campuses", w.org.id, north.id, {"name": "North site"}, actor
    ), check


@case(Action.CONFIGURE, on_account=False)
def set_entry_active_(w: World, owner: str) -> tuple[Call, Check]:
    north = _north(w)

    def check(_: Any) -> None:
        assert not Campus.get_by_id(north.id).active

    return lambda actor: set_entry_active("campuses", w.org.id, north.id, False, actor), check


@case(Action.CONFIGURE, on_account=False)
def delete_entry_(w: World, owner: str) -> tuple[Call, Check]:
    north = _north(w)

    def check(_: Any) -> None:
        assert Campus.get_or_none(Campus.id == north.id) is None

    return lambda actor: delete_entry("campuses", w.org.id, north.id, actor), check


@case(Action.CONFIGURE, on_account=False)
def update_settings_(w: World, owner: str) -> tuple[Call, Check]:
    def check(changed: Any) -> None:
        assert changed == ["lockout_attempts"] and load_settings().lockout_attempts == 4

    return lambda actor: update_settings({"lockout_attempts": 4}, actor), check


@case(Action.CONFIGURE, on_account=False)
def import_config_(w: World, owner: str) -> tuple[Call, Check]:
    text = (
        "format = 1\n[settings]\nlockout_attempts = 4\n"
        '[[campuses]]\ncode = "WEST"\nname = "West campus"\n'
    )

    def check(_: Any) -> None:
        assert load_settings().lockout_attempts == 4
        assert Campus.get_or_none((Campus.organization == w.org) & (Campus.code == "WEST"))

    return lambda actor: import_config(text, w.org.id, actor), check


@case(Action.CONFIGURE, audited=False)
def retry_letter_(w: World, owner: str) -> tuple[Call, Check]:
    letter = a_letter(w)
    Letter.update(status=LetterStatus.FAILED.value).where(Letter.id == letter.id).execute()

    def check(_: Any) -> None:
        assert Letter.get_by_id(letter.id).status == LetterStatus.QUEUED

    return lambda actor: retry_letter(letter.id, actor), check


@case(Action.CONFIGURE, writes=False, on_account=False)
def outbox_(w: World, owner: str) -> tuple[Call, Check]:
    letter = a_letter(w)

    def check(lines: Any) -> None:
        assert [line.letter_id for line in lines] == [letter.id]

    return lambda actor: outbox(actor), check


# Jobs: import, purge, audit retention, expiry reminders.


@case(Action.RUN_JOBS, on_account=False)
def import_file_(w: World, owner: str) -> tuple[Call, Check]:
    path = w.files / "users.csv"
    path.write_text(
        "primary_id,first_name,last_name,expiry_date,user_group,emails\n"
        f"I0001,Ida,Import,{future().isoformat()},PUBLIC,ida@example.org\n",
        encoding="utf-8",
    )

    def check(report: Any) -> None:
        assert Account.get(Account.primary_id == "I0001").organization_id == w.org.id

    return lambda actor: import_file(
        path, ImportOptions(workers=1), organization=w.org, actor_account=actor.account
    ), check


@case(Action.RUN_JOBS, on_account=False)
def export_to_file_(w: World, owner: str) -> tuple[Call, Check]:
    path = w.files / "export.csv"
    path.unlink(missing_ok=True)

    def check(count: Any) -> None:
        assert count > 0 and path.read_text(encoding="utf-8").count("\n") == count + 1

    return lambda actor: export_to_file(path, "csv", actor=actor), check


@case(Action.RUN_JOBS, Action.DELETE_USER, on_account=False)
def purge_(w: World, owner: str) -> tuple[Call, Check]:
    past = runtime.today() - dt.timedelta(days=1)
    Account.update(purge_date=past).where(Account.id == w.victim.id).execute()

    def check(report: Any) -> None:
        assert [i.primary_id for i in report.purged] == [w.victim.primary_id]
        assert Account.get_or_none(Account.id == w.victim.id) is None

    return lambda actor: purge(actor), check


@case(Action.RUN_JOBS, on_account=False, audited=False)
def prune_audit_(w: World, owner: str) -> tuple[Call, Check]:
    old = AuditEvent.select().order_by(AuditEvent.id).first()
    AuditEvent.update(at=runtime.now() - dt.timedelta(days=365 * 20)).where(
        AuditEvent.id == old.id
    ).execute()

    def check(pruned: Any) -> None:
        assert pruned == 1 and AuditEvent.get_or_none(AuditEvent.id == old.id) is None

    return lambda actor: prune_audit(actor=actor), check


@case(Action.RUN_JOBS, on_account=False)
def queue_expiry_reminders_(w: World, owner: str) -> tuple[Call, Check]:
    Account.update(expiry_date=future(10)).where(Account.id == w.patron.id).execute()

    def check(report: Any) -> None:
        assert report.queued == 1
        assert Letter.get(Letter.account == w.patron.id).kind == "expiry_reminder"

    return lambda actor: queue_expiry_reminders(30, actor), check


# Duplicates (issue 24): the scan of the organization reads; "not a duplicate" is remembered.


@case(Action.FIND_DUPLICATES, on_account=False, writes=False)
def scan_duplicates(w: World, owner: str) -> tuple[Call, Check]:
    def check(result: Any) -> None:
        assert result.people >= 3

    return lambda actor: scan(w.org.id, actor), check


@case(Action.FIND_DUPLICATES)
def mark_not_duplicate_(w: World, owner: str) -> tuple[Call, Check]:
    def check(created: Any) -> None:
        assert created is True
        assert DuplicateDismissal.select().where(DuplicateDismissal.organization == w.org).count()

    return (
        lambda actor: mark_not_duplicate(w.org.id, w.patron.person_id, w.other.person_id, actor),
        check,
    )


# Merging two users (issue 24): the preview is a trial rolled back; the merge moves the victim
# into the proxy target.


@case(Action.MERGE_USERS, writes=False, trial=True)
def merge_preview_(w: World, owner: str) -> tuple[Call, Check]:
    def check(preview: Any) -> None:
        assert preview.allowed, preview
        assert Account.get_or_none(Account.id == w.victim.id) is not None

    return lambda actor: merge_preview(actor, w.other.id, w.victim.id), check


@case(Action.MERGE_USERS)
def merge_(w: World, owner: str) -> tuple[Call, Check]:
    def check(_: Any) -> None:
        assert Account.get_or_none(Account.id == w.victim.id) is None

    return (
        lambda actor: merge(
            actor, w.other.id, w.victim.id, {}, version(w.other), version(w.victim)
        ),
        check,
    )


BY_ACTION: dict[Action, list[Case]] = {a: [c for c in CASES if c.action == a] for a in Action}


# --- Running a case -------------------------------------------------------------------------------


def run(
    case_: Case,
    w: World,
    actor: Actor,
    role: Role,
    *,
    granted: bool,
    owner: str = "",
    refusals: set[str] | None = None,
) -> None:
    """Prepare and call the service in a savepoint rolled back after it; check that a granted
    call wrote (and audited) and that a refused one raised `PermissionDenied` for an action
    the role lacks (or one of `refusals`) and wrote nothing at all."""
    with database.atomic() as savepoint:
        call, check = case_.prepare(w, owner)
        if granted and case_.writes:
            event = last_event()
            check(call(actor))  # the write is in the database
            if case_.audited:
                assert last_event() > event, f"{case_.name} left no audit event"
        elif granted and case_.trial:
            event = last_event()
            check(call(actor))  # the check says the trial left the records as they were
            assert last_event() == event, f"{case_.name} is a trial, yet left an audit event"
        elif granted:
            before = writes()
            check(call(actor))
            assert not written(before, writes()), f"{case_.name} only reads, yet wrote"
        else:
            before = writes()
            with pytest.raises(PermissionDenied) as refused:
                call(actor)
            lacking = refusals or case_.missing(role)
            assert refused.value.action in lacking, (
                f"{case_.name} refused for {refused.value.action!r}, not for {sorted(lacking)}"
            )
            changed = written(before, writes())
            assert not changed, f"{case_.name} was refused but wrote: {changed}"
        savepoint.rollback()


# --- The matrix -----------------------------------------------------------------------------------


def test_every_action_has_a_service_and_every_service_an_action() -> None:
    assert {a for a, cases in BY_ACTION.items() if not cases} == set()
    assert len({c.name for c in CASES}) == len(CASES)


def test_each_actor_holds_its_role_and_patron_only(world: World) -> None:
    for actors in (world.actors, world.scoped):
        for role, actor in actors.items():
            rows = RoleAssignment.select().where(RoleAssignment.account == actor.account)
            held = {(r.role, r.scope.code if r.scope_id else "") for r in rows}
            scope = world.library if actors is world.scoped else ""
            assert held == {(Role.PATRON.value, ""), (role.value, scope)}


def test_the_write_count_sees_an_insert_an_update_and_a_delete(world: World) -> None:
    with database.atomic() as savepoint:
        for write in (
            lambda: Campus.create(organization=world.org, code="WEST", name="West campus"),
            lambda: Campus.update(name="West").where(Campus.code == "WEST").execute(),
            lambda: Campus.delete().where(Campus.code == "WEST").execute(),
        ):
            before = writes()
            write()
            assert written(before, writes())
        savepoint.rollback()


def _matrix_id(role: Role, action: Action) -> str:
    return f"{role.value}-{action.value}-{'granted' if action in MATRIX[role] else 'refused'}"


MATRIX_CASES = [
    pytest.param(role, action, id=_matrix_id(role, action)) for role in Role for action in Action
]


@pytest.mark.parametrize(("role", "action"), MATRIX_CASES)
def test_a_role_does_through_the_services_exactly_what_the_matrix_grants(
    world: World, role: Role, action: Action
) -> None:
    actor = world.actors[role]
    for case_ in BY_ACTION[action]:
        run(case_, world, actor, role, granted=case_.granted(role))


# --- Library scope --------------------------------------------------------------------------------


def _first_granting(case_: Case) -> Role:
    return next(r for r in SCOPE_ROLES if case_.granted(r))


SCOPE_CASES = [
    pytest.param(case_, owner, id=f"{case_.name}-{_first_granting(case_).value}-{label}")
    for case_ in CASES
    if case_.owned
    for owner, label in (("BRANCH", "other_library_refused"), ("MAIN", "own_library_granted"))
]


@pytest.mark.parametrize(("case_", "owner"), SCOPE_CASES)
def test_a_role_scoped_to_a_library_may_not_touch_another_librarys_rows(
    world: World, case_: Case, owner: str
) -> None:
    role = _first_granting(case_)
    granted = owner == world.library
    refusals = {a.value for a in case_.needs}  # the role has the action, not for this library
    run(case_, world, world.scoped[role], role, granted=granted, owner=owner, refusals=refusals)


@pytest.mark.parametrize(("source", "target"), [("BRANCH", "MAIN"), ("MAIN", "BRANCH")])
def test_a_role_scoped_to_a_library_may_not_move_a_row_into_or_out_of_another_library(
    world: World, source: str, target: str
) -> None:
    role = Role.CIRCULATION_DESK_OPERATOR
    with database.atomic() as savepoint:
        note = a_row(world, Kind.NOTE, {"text": "Call before noon", "owner": source})
        before = writes()
        with pytest.raises(PermissionDenied) as refused:
            update_row(
                Kind.NOTE, world.patron.id, note.id, version(world.patron), {"owner": target},
                world.scoped[role],
            )  # fmt: skip
        assert refused.value.action == Action.MANAGE_NOTES
        assert not written(before, writes())
        savepoint.rollback()


def test_waive_all_skips_the_fees_of_another_library_and_writes_nothing(world: World) -> None:
    role = Role.CIRCULATION_DESK_MANAGER
    with database.atomic() as savepoint:
        fee = a_fee(world, "BRANCH")
        before = writes()
        result = waive_all(world.patron.id, world.scoped[role], reason="GOODWILL")
        assert (result.waived, result.skipped) == (0, 1)
        assert not written(before, writes())
        assert Fee.get_by_id(fee.id).status == FeeStatus.ACTIVE
        savepoint.rollback()


# --- Another organization -------------------------------------------------------------------------

OTHER_ORGANIZATION_CASES = [
    pytest.param(case_, id=case_.name) for case_ in CASES if case_.on_account and case_.writes
]


@pytest.mark.parametrize("case_", OTHER_ORGANIZATION_CASES)
def test_not_even_an_administrator_writes_to_another_organizations_records(
    elsewhere: World, case_: Case
) -> None:
    role = Role.USER_ADMINISTRATOR
    # Refused for the action, or for viewing: the person has no account in the actor's reach.
    refusals = {a.value for a in case_.needs} | {Action.VIEW_USER.value}
    run(case_, elsewhere, elsewhere.actors[role], role, granted=False, refusals=refusals)
