"""Attacks on merging two users (issue 24, item 3; models/users/merge.py), each through the
service the screen and the command line call, on SQLite and PostgreSQL (`db`); the merge
screen's own drawing through the pilot (`ui_db`).

- The missed-table guard: a second reference to an account in a table already handled, or a
  reference kept as a plain id column (no foreign key), is a reference the merge does not
  handle: it refuses every merge instead of letting rows vanish or point at a stranger.
- An account id a merge frees is given again by SQLite to the next account (the highest one):
  a resumed delete job must not delete that newcomer, and the merged staff account's open
  session must not act with the newcomer's roles.
- A merge never leaves the organization without an active User Administrator (the role moved
  to an account that cannot use it).
- What held (kept as tests): another organization's administrator, a deactivated or expired
  staff account, a User Manager absorbing or feeding an administrator's account, a merge of an
  account into itself, a proxy pair merged into a loop, hostile identifiers on the merge screen
  (said as text, never as markup).
"""

from __future__ import annotations

import datetime as dt

import pytest
from peewee import ForeignKeyField, IntegerField

from models.access.permissions import Action, can
from models.audit import Actor
from models.config.configuration import add_organization
from models.enums import Role, Source, Status
from models.errors import NotFound, PermissionDenied
from models.fees.fees import add_fee
from models.jobs.jobs import Interrupted, run_delete, run_job
from models.jobs.sets import create_itemized_set
from models.runtime import runtime
from models.store.base import BaseModel, database
from models.store.tables import Account, Job, JobItem, Note, ProxyFor, RoleAssignment
from models.users import details
from models.users.merge import (
    MergeRefused,
    account_by_identifier,
    merge,
    merge_preview,
    unhandled_references,
)
from tests.helpers.details import admin, staff, use_clock, user

SYSTEM = Actor(None, Source.CLI)


def _actor(account: Account) -> Actor:
    return Actor(Account.get_by_id(account.id), Source.SCREEN)


def _merge(actor: Actor, keep: Account, other: Account):  # noqa: ANN202
    preview = merge_preview(actor, keep.id, other.id)
    return merge(actor, keep.id, other.id, preview.defaults(), preview.keep.version,
                 preview.other.version)  # fmt: skip


def _gone(account: Account) -> bool:
    return Account.get_or_none(Account.id == account.id) is None


# --- The missed-table guard ---------------------------------------------------------------------


def test_a_second_reference_in_a_handled_table_is_not_taken_as_handled(db) -> None:
    # A later column `note.author` (who wrote a note): the merge moves `note.account` only, so
    # the notes the merged account wrote about others would cascade away with it.
    author = ForeignKeyField(Account, null=True, backref="authored_notes", on_delete="CASCADE")
    Note._meta.add_field("author", author)
    try:
        assert "note.author → account" in unhandled_references()
        kept, merged = user(db, "P0001"), user(db, "P0002")
        with pytest.raises(MergeRefused) as err:
            _merge(admin(db), kept, merged)
        assert any("note.author" in r for r in err.value.reasons)
        assert not _gone(merged)
    finally:
        Note._meta.remove_field("author")
        delattr(Account, "authored_notes")
    assert unhandled_references() == []


def test_an_account_kept_as_a_plain_id_column_is_a_reference_too(db) -> None:
    class Reminder(BaseModel):  # a later table naming an account without a foreign key
        account_id = IntegerField()

    from models.store import tables

    tables.ALL_TABLES.append(Reminder)
    try:
        assert unhandled_references() == ["reminder.account_id → account"]
    finally:
        tables.ALL_TABLES.remove(Reminder)
    assert unhandled_references() == []


def _next_account_id_is(db, account_id: int) -> None:  # noqa: ANN001
    """PostgreSQL never gives an id twice; SQLite gives the highest freed one again. Make the
    next account's id `account_id` on both, as SQLite does by itself here."""
    if db.backend == "postgresql":
        database.execute_sql(
            "SELECT setval(pg_get_serial_sequence('account', 'id'), %s)", (account_id - 1,)
        )


def test_a_resumed_delete_job_never_deletes_a_newcomer_given_a_merged_members_id(db) -> None:
    kept = user(db, "P0001")
    members = [user(db, f"P01{i}") for i in range(3)]
    for m in members[:2]:  # the first chunk is skipped (a balance): only the last is pending
        add_fee(m.id, admin(db), fee_type="LOST_ITEM", amount="1.00")
    merged = members[-1]
    set_id = create_itemized_set("To delete", [a.id for a in members], admin(db)).set_id

    def kill(progress) -> None:  # noqa: ANN001
        raise Interrupted

    with pytest.raises(Interrupted):
        run_delete(set_id, admin(db), chunk=2, progress=kill)
    pending = JobItem.get(JobItem.outcome == "")
    assert pending.account_id == merged.id
    _merge(admin(db), kept, merged)
    _next_account_id_is(db, merged.id)
    newcomer = user(db, "NEW-1", first_name="Nora", last_name="Newcomer")
    assert newcomer.id == merged.id  # the freed id, given again

    report = run_job(Job.get().id, admin(db))

    assert not _gone(newcomer), "the job deleted a user it never read"
    item = next(i for i in report.items if i.primary_id == "P012")
    assert (item.outcome, item.reason) == ("failed", "no longer exists")


def test_a_session_of_a_merged_staff_account_never_acts_as_the_newcomer_given_its_id(db) -> None:
    clock = use_clock()
    twin = staff(db, Role.CIRCULATION_DESK_OPERATOR, "S-DESK2")
    desk = staff(db, Role.CIRCULATION_DESK_OPERATOR, "S-DESK")
    session = _actor(desk)  # the desk's session, open in another terminal
    _merge(admin(db), twin, desk)  # the same person's two accounts: the desk's goes
    clock.advance(seconds=5)
    _next_account_id_is(db, desk.id)
    newcomer = staff(db, Role.USER_MANAGER, "S-NEWMGR", first_name="Nora")
    assert newcomer.id == desk.id  # the freed id, given again

    assert not can(session.account, Action.MERGE_USERS)
    victim = user(db, "P0009")
    with pytest.raises(PermissionDenied, match="no longer exists"):
        details.update_user(victim.id, victim.version, {"job_description": "x"}, session)


# --- The last administrator ---------------------------------------------------------------------


def test_the_last_active_administrator_is_not_merged_into_an_account_that_cannot_use_it(
    db,
) -> None:
    dormant = staff(db, Role.PATRON, "S-OLD")
    Account.update(status=Status.INACTIVE.value).where(Account.id == dormant.id).execute()
    preview = merge_preview(SYSTEM, dormant.id, db.admin.id)
    assert any("active User Administrator" in r for r in preview.refusals)
    with pytest.raises(MergeRefused):
        merge(SYSTEM, dormant.id, db.admin.id, preview.defaults(), preview.keep.version,
              preview.other.version)  # fmt: skip
    assert not _gone(db.admin)
    # Into an active account the role stays usable: allowed.
    active = staff(db, Role.PATRON, "S-NEW")
    _merge(SYSTEM, active, Account.get_by_id(db.admin.id))
    assert RoleAssignment.get(RoleAssignment.role == Role.USER_ADMINISTRATOR.value).account_id == (
        active.id
    )


# --- What held ----------------------------------------------------------------------------------


def test_another_organizations_administrator_neither_finds_nor_merges(db) -> None:
    add_organization("B", "Library B", library_code="MAINB", admin_username="admin-b",
                     admin_password="Harbor-Lantern-73", actor=SYSTEM)  # fmt: skip
    admin_b = _actor(Account.get(Account.primary_id == "admin-b"))
    kept, merged = user(db, "P0001"), user(db, "P0002")
    with pytest.raises(NotFound):
        account_by_identifier("P0002", admin_b)
    with pytest.raises(PermissionDenied):
        merge_preview(admin_b, kept.id, merged.id)
    with pytest.raises(PermissionDenied):
        merge(admin_b, kept.id, merged.id, {}, kept.version, merged.version)
    assert not _gone(merged)


@pytest.mark.parametrize("how", ["deactivated", "expired"])
def test_a_deactivated_or_expired_manager_merges_nothing(db, how: str) -> None:
    manager = staff(db, Role.USER_MANAGER, "S-MGR")
    actor = _actor(manager)  # a session opened before
    kept, merged = user(db, "P0001"), user(db, "P0002")
    preview = merge_preview(actor, kept.id, merged.id)
    change = (
        {"status": Status.INACTIVE.value}
        if how == "deactivated"
        else {"expiry_date": runtime.today() - dt.timedelta(days=1)}
    )
    Account.update(**change).where(Account.id == manager.id).execute()
    with pytest.raises(PermissionDenied, match=how):
        merge(actor, kept.id, merged.id, preview.defaults(), preview.keep.version,
              preview.other.version)  # fmt: skip
    assert not _gone(merged)


def test_a_user_manager_neither_absorbs_nor_feeds_an_administrators_account(db) -> None:
    manager = _actor(staff(db, Role.USER_MANAGER, "S-MGR"))
    mine = user(db, "P0001")
    boss = staff(db, Role.USER_ADMINISTRATOR, "S-ADM2")
    for keep, other in ((mine, boss), (boss, mine)):
        with pytest.raises(PermissionDenied):
            merge_preview(manager, keep.id, other.id)
        with pytest.raises(PermissionDenied):
            merge(manager, keep.id, other.id, {}, keep.version, other.version)
    assert RoleAssignment.get(RoleAssignment.role == "user_administrator",
                              RoleAssignment.account == boss.id)  # fmt: skip
    assert not _gone(mine) and not _gone(boss)


def test_an_account_is_not_merged_into_itself_and_a_proxy_pair_makes_no_loop(db) -> None:
    a, b = user(db, "P0001"), user(db, "P0002")
    with pytest.raises(MergeRefused, match="itself"):
        merge(admin(db), a.id, a.id, {}, a.version, a.version)
    ProxyFor.create(account=a, target=b)  # A acts for B; B goes into A
    ProxyFor.create(account=b, target=a)
    _merge(admin(db), Account.get_by_id(a.id), Account.get_by_id(b.id))
    assert ProxyFor.select().count() == 0  # no proxy of itself


# --- The screen ---------------------------------------------------------------------------------


async def test_the_merge_screen_says_hostile_identifiers_as_text_not_markup(ui_db) -> None:
    from models.access.session import open_session
    from screens.merge import MergeScreen
    from tests.helpers.ui import add_user, settle
    from tui.app import PatronDeskApp

    kept = add_user("Anna", "Müller", "P600")
    hostile = "[@click=app.quit]P601[/b]"  # as markup: a click action, and a tag Rich refuses
    merged = add_user("Anna", "Mueller", hostile, email="p601@example.org")
    app = PatronDeskApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.session = open_session(Account.get_by_id(1))
        app.push_screen(MergeScreen(kept.id, merged.id))
        await settle(pilot)
        title = str(app.screen.query_one("#merge-title").render())
        assert hostile in title  # escaped inside the title's markup
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        said = [(n.message, n.markup) for n in app._notifications]
    assert _gone(merged)
    assert said == [(f"Merged {hostile} into P600.", False)]
