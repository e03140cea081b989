"""Bulk jobs on a set (issue 23): preview writes nothing; the run checks each member as editing
one user does (a desk cannot act over a higher role), skips members a desk saved meanwhile,
continues after a kill with every member done once, records History with source `job` and the
job's id; undo restores and refuses members changed since; delete skips members with a balance,
with reasons; notify queues a letter per member in their language. Both back ends through `db`."""

from __future__ import annotations

import pytest

from models.enums import Role
from models.fees.fees import add_fee
from models.jobs.jobs import (
    CHANGED,
    DELETE,
    NOTIFY,
    SKIPPED,
    UPDATE,
    Interrupted,
    JobError,
    list_jobs,
    parse_update,
    preview,
    report,
    run_delete,
    run_job,
    run_notify,
    run_update,
    undo,
)
from models.jobs.sets import create_itemized_set, create_logical_set
from models.search.engine import UserQuery
from models.store.tables import Account, AuditEvent, Job, JobItem, Letter, UserGroup
from models.users.details import update_user
from tests.helpers.details import admin, as_staff, fresh, future, user


def _set(db, accounts, name: str = "S") -> int:  # noqa: ANN001
    return create_itemized_set(name, [a.id for a in accounts], admin(db)).set_id


def _group(code: str) -> int:
    return UserGroup.get(UserGroup.code == code).id


def _snapshot() -> tuple:
    return (
        AuditEvent.select().count(),
        Job.select().count(),
        JobItem.select().count(),
        [(a.id, a.version, a.user_group_id, a.expiry_date) for a in Account.select()],
    )


def test_preview_writes_nothing_and_says_what_would_change(db) -> None:
    users = [user(db, f"P{i:04}") for i in range(4)]
    GRAD = _group("GRAD")  # noqa: N806
    Account.update(user_group=GRAD).where(Account.id == users[0].id).execute()
    set_id = _set(db, users)
    fields = parse_update(["user_group=GRAD"], db.organization.id)
    before = _snapshot()
    p = preview(UPDATE, set_id, admin(db), fields=fields)
    assert _snapshot() == before
    assert (p.members, p.would_change, p.unchanged, p.refused) == (4, 3, 1, [])
    assert p.sample[0][1] == {"user_group": ("PUBLIC", "GRAD")}
    assert "Nothing was written" in p.lines()[0]


def test_run_updates_with_history_source_job_and_the_jobs_id(db) -> None:
    users = [user(db, f"P{i:04}") for i in range(3)]
    set_id = _set(db, users)
    fields = parse_update(["user_group=GRAD", "expiry=+30d"], db.organization.id)
    done = run_update(set_id, fields, admin(db), chunk=2)
    assert (done.info.changed, done.info.state, done.info.total) == (3, "done", 3)
    for a in users:
        a2 = fresh(a)
        assert a2.user_group_id == _group("GRAD") and a2.version == a.version + 1
        events = list(AuditEvent.select().where(AuditEvent.job_id == done.info.job_id,
                                                AuditEvent.account_id == a.id))  # fmt: skip
        assert {(e.field, e.source) for e in events} == {("user_group", "job"),
                                                        ("expiry_date", "job")}  # fmt: skip
    assert list_jobs(admin(db))[0].job_id == done.info.job_id
    # History (the tab, the user card) names the job, so it can be found and undone.
    from models.users.card import user_card
    from models.users.history import history

    rows = [r for r in history(users[0].id, admin(db)) if r.field == "user_group"]
    assert (rows[0].source, rows[0].job_id) == (f"job {done.info.job_id}", done.info.job_id)
    assert user_card(users[0].id, admin(db)).updated.source == f"job {done.info.job_id}"


def test_renew_uses_the_groups_registration_period(db) -> None:
    anna = user(db, "P0001", expiry_date=future(10))
    UserGroup.update(registration_months=12).where(UserGroup.code == "GRAD").execute()
    set_id = _set(db, [anna])
    run_update(set_id, parse_update(["user_group=GRAD", "expiry=renew"], db.organization.id),
               admin(db))  # fmt: skip
    from models.users.derived import add_months

    assert fresh(anna).expiry_date == add_months(future(10), 12)


def test_a_desk_is_refused_up_front_and_each_member_is_checked_as_one_user(db) -> None:
    """A circulation desk role may not run jobs at all: refused before anything is written
    (tests/security/test_sec_jobs.py has every entry point). Who may (a User Manager) is
    still checked per member as editing one user is: a member holding a role above the
    actor's (User Administrator) is refused, the others are changed."""
    from models.errors import PermissionDenied

    plain = user(db, "P0001")
    admin_patron = user(db, "P0002", roles=["user_administrator"])  # a role above a manager's
    fields = parse_update(["user_group=GRAD"], db.organization.id)
    desk = as_staff(db, Role.CIRCULATION_DESK_MANAGER, "S0001")
    desk_set = create_itemized_set("Desk's", [plain.id], desk).set_id
    before = _snapshot()
    with pytest.raises(PermissionDenied, match="run jobs"):
        preview(UPDATE, desk_set, desk, fields=fields)
    with pytest.raises(PermissionDenied, match="run jobs"):
        run_update(desk_set, fields, desk)
    assert _snapshot() == before
    manager = as_staff(db, Role.USER_MANAGER, "S0002")
    set_id = create_itemized_set("Two", [plain.id, admin_patron.id], manager).set_id
    p = preview(UPDATE, set_id, manager, fields=fields)
    assert p.would_change == 1
    assert [r.account_id for r in p.refused] == [admin_patron.id]
    assert "above your own" in p.refused[0].reason
    done = run_update(set_id, fields, manager)
    assert (done.info.changed, done.info.skipped) == (1, 1)
    assert fresh(admin_patron).user_group_id == admin_patron.user_group_id
    assert fresh(plain).user_group_id == _group("GRAD")


def test_a_member_saved_by_a_desk_meanwhile_is_skipped_never_overwritten(db) -> None:
    users = [user(db, f"P{i:04}") for i in range(3)]
    set_id = _set(db, users)
    fields = parse_update(["user_group=GRAD"], db.organization.id)
    saved = []

    def desk_saves(progress) -> None:  # noqa: ANN001 - after the first chunk: a desk saves P0002
        if not saved:
            saved.append(update_user(users[2].id, users[2].version, {"title": "Dr"}, admin(db)))

    done = run_update(set_id, fields, admin(db), chunk=2, progress=desk_saves)
    assert (done.info.changed, done.info.skipped) == (2, 1)
    assert (
        done.items[0].account_id == users[2].id and "since the job read it" in done.items[0].reason
    )
    assert fresh(users[2]).user_group_id == users[2].user_group_id
    assert fresh(users[2]).person.title == "Dr"


def test_a_job_killed_after_the_first_chunk_continues_and_does_every_member_once(db) -> None:
    users = [user(db, f"P{i:04}") for i in range(5)]
    set_id = create_logical_set("All P", UserQuery(tab="public"), admin(db)).set_id
    fields = parse_update(["user_group=GRAD"], db.organization.id)

    def kill(progress) -> None:  # noqa: ANN001
        raise Interrupted

    with pytest.raises(Interrupted):
        run_update(set_id, fields, admin(db), chunk=2, progress=kill)
    job = Job.get()
    assert job.state == "running" and job.changed == 2
    again = run_update(set_id, fields, admin(db), chunk=2)
    assert again.resumed and again.info.job_id == job.id
    assert (again.info.changed, again.info.state) == (5, "done")
    for a in users:
        assert AuditEvent.select().where(AuditEvent.job_id == job.id,
                                         AuditEvent.account_id == a.id).count() == 1  # fmt: skip
    assert Job.select().count() == 1


def test_undo_restores_and_refuses_members_changed_since(db) -> None:
    users = [user(db, f"P{i:04}") for i in range(3)]
    set_id = _set(db, users)
    done = run_update(set_id, parse_update(["user_group=GRAD", "status=inactive"],
                                           db.organization.id), admin(db))  # fmt: skip
    changed_since = fresh(users[1])
    update_user(changed_since.id, changed_since.version, {"title": "Dr"}, admin(db))
    undone = undo(done.info.job_id, admin(db))
    assert (undone.info.changed, undone.info.skipped) == (2, 1)
    assert undone.items[0].account_id == users[1].id
    for a in (users[0], users[2]):
        a2 = fresh(a)
        assert (a2.user_group_id, a2.status, a2.status_date) == (
            a.user_group_id, "active", a.status_date)  # fmt: skip
        sources = {e.source for e in AuditEvent.select().where(
            AuditEvent.job_id == undone.info.job_id, AuditEvent.account_id == a.id)}  # fmt: skip
        assert sources == {"job"}
    assert fresh(users[1]).user_group_id == _group("GRAD")
    with pytest.raises(JobError):
        undo(done.info.job_id, admin(db))


def test_delete_skips_members_with_a_balance_with_reasons(db) -> None:
    users = [user(db, f"P{i:04}") for i in range(4)]
    add_fee(users[1].id, admin(db), fee_type="LOST_ITEM", amount="12.50")
    add_fee(users[3].id, admin(db), fee_type="LOST_ITEM", amount="3.00")
    set_id = _set(db, users)
    p = preview(DELETE, set_id, admin(db))
    assert (p.would_change, [r.account_id for r in p.refused]) == (2, [users[1].id, users[3].id])
    assert Account.select().count() >= 4
    done = run_delete(set_id, admin(db))
    assert (done.info.changed, done.info.skipped) == (2, 2)
    assert all("balance" in r.reason or "owe" in r.reason for r in done.items), done.items
    assert not Account.select().where(Account.id.in_([users[0].id, users[2].id])).exists()
    assert Account.select().where(Account.id.in_([users[1].id, users[3].id])).count() == 2


def test_notify_queues_a_letter_per_member_in_their_language(db) -> None:
    anna = user(db, "P0001")
    ben = user(db, "P0002", first_name="Ben")
    Account.update(comm_language="fr").where(Account.id == anna.id).execute()
    Account.update(letter_general=False).where(Account.id == ben.id).execute()
    set_id = _set(db, [anna, ben])
    assert preview(NOTIFY, set_id, admin(db)).would_change == 1
    done = run_notify(set_id, "Closing", "The library closes on Friday.", admin(db))
    assert (done.info.changed, done.info.skipped) == (1, 1)
    letter = Letter.get()
    assert letter.account_id == anna.id and letter.language == "fr"
    assert report(done.info.job_id, admin(db)).items[0].outcome == SKIPPED
    assert run_job(done.info.job_id, admin(db)).info.changed == 1  # done: nothing again
    assert Letter.select().count() == 1
    assert CHANGED == "changed"


def test_a_job_checks_its_values_once_and_each_member_as_editing_one_user(db) -> None:
    """The job's code values are looked up once (`check_values`); per member only what depends
    on it: a member whose own group was retired since keeps it (as the General tab does), a
    member who does not hold it is refused as the General tab refuses it."""
    from models.errors import ValidationError

    keeps, other = user(db, "P0001"), user(db, "P0002")
    Account.update(user_group=_group("ALUMNI")).where(Account.id == keeps.id).execute()
    UserGroup.update(active=False).where(UserGroup.code == "ALUMNI").execute()
    set_id = _set(db, [keeps, other])
    p = preview(UPDATE, set_id, admin(db), fields={"user_group": "alumni"})
    assert (p.would_change, p.unchanged) == (0, 1)
    assert [r.account_id for r in p.refused] == [other.id]
    with pytest.raises(ValidationError) as one_user:
        update_user(other.id, fresh(other).version, {"user_group": "alumni"}, admin(db))
    assert one_user.value.message in p.refused[0].reason or "user group" in p.refused[0].reason
    done = run_update(set_id, {"user_group": "alumni"}, admin(db))
    assert (done.info.unchanged, done.info.skipped) == (1, 1)
    assert fresh(other).user_group_id == other.user_group_id


def test_job_history_is_what_a_desk_save_records_and_items_keep_the_versions(db) -> None:
    from models import audit

    users = [user(db, f"P{i:04}") for i in range(3)]
    Account.update(user_group=_group("GRAD")).where(Account.id == users[0].id).execute()
    users[0] = fresh(users[0])
    set_id = _set(db, users)
    fields = parse_update(["user_group=GRAD", "expiry=+30d"], db.organization.id)
    done = run_update(set_id, fields, admin(db), chunk=2)
    for a in users:
        a2 = fresh(a)
        expected = [
            (r["field"], r["old_value"], r["new_value"])
            for r in audit.change_rows(
                admin(db),
                a2,
                audit.snapshot(a),
                audit.snapshot(a2),
                account_id=a.id,
                person_id=a.person_id,
            )  # fmt: skip
        ]
        got = [
            (e.field, e.old_value, e.new_value)
            for e in AuditEvent.select()
            .where(AuditEvent.job_id == done.info.job_id, AuditEvent.account_id == a.id)
            .order_by(AuditEvent.id)
        ]
        assert got == expected and got
    items = {i.account_id: i for i in JobItem.select().where(JobItem.job == done.info.job_id)}
    assert all(items[a.id].version_after == a.version + 1 for a in users)


def test_a_member_saved_between_the_chunks_read_and_its_write_is_skipped(db, monkeypatch) -> None:
    """The chunk's grouped UPDATE writes an account only at the version read (PostgreSQL: a
    desk may commit between the read and the write): the one saved meanwhile is skipped and
    gets no History from the job, the others are written."""
    from models.jobs import jobs

    users = [user(db, f"P{i:04}") for i in range(3)]
    set_id = _set(db, users)
    real = jobs._Changes.chunk

    def chunk_then_desk_saves(self, items, accounts):  # noqa: ANN001, ANN202
        out = real(self, items, accounts)
        Account.update(version=Account.version + 1, updated_by="desk").where(
            Account.id == users[1].id
        ).execute()
        return out

    monkeypatch.setattr(jobs._Changes, "chunk", chunk_then_desk_saves)
    done = run_update(set_id, parse_update(["user_group=GRAD"], db.organization.id), admin(db))
    assert (done.info.changed, done.info.skipped) == (2, 1)
    assert done.items[0].account_id == users[1].id and "desk" in done.items[0].reason
    assert fresh(users[1]).user_group_id == users[1].user_group_id
    assert (
        not AuditEvent.select()
        .where(AuditEvent.job_id == done.info.job_id, AuditEvent.account_id == users[1].id)
        .exists()
    )
    assert fresh(users[0]).user_group_id == fresh(users[2]).user_group_id == _group("GRAD")


def test_a_staff_job_reads_its_members_roles_once_a_chunk(db, monkeypatch) -> None:
    """The check "a role above the actor's" is per member, its read per chunk: one query for
    the chunk's members, and the member holding a higher role is still refused."""
    from models.access import permissions

    users = [user(db, f"P{i:04}") for i in range(3)]
    high = user(db, "P0009", roles=["user_administrator"])
    desk = as_staff(db, Role.USER_MANAGER, "S0001")
    set_id = create_itemized_set("Four", [a.id for a in [*users, high]], desk).set_id
    reads: list[list[int]] = []
    real = permissions._read_held

    def counted(ids):  # noqa: ANN001, ANN202
        reads.append(sorted(ids))
        return real(ids)

    monkeypatch.setattr(permissions, "_read_held", counted)
    fields = parse_update(["user_group=GRAD"], db.organization.id)
    p = preview(UPDATE, set_id, desk, fields=fields)
    assert (p.would_change, [r.account_id for r in p.refused]) == (3, [high.id])
    member_ids = sorted(a.id for a in [*users, high])
    assert [r for r in reads if len(r) > 1] == [member_ids]
    assert not [r for r in reads if r and r[0] in member_ids and len(r) == 1]
    reads.clear()
    done = run_update(set_id, fields, desk, chunk=4)
    assert (done.info.changed, done.info.skipped) == (3, 1)
    assert not [r for r in reads if r and r[0] in member_ids and len(r) == 1]


# --- Rows: statistical categories, roles, blocks, notes (issue 23, item 2) ------------------------


def _rows(db, add=(), remove=(), notes=()) -> list[dict]:  # noqa: ANN001
    from models.jobs.jobs import parse_rows

    return parse_rows(list(add), list(remove), list(notes), organization_id=db.organization.id)


def _stats(account: Account) -> list[str]:
    from models.store.tables import StatCategory, Statistic

    return sorted(
        c for (c,) in Statistic.select(StatCategory.code).join(StatCategory)
        .where(Statistic.account == account.id).tuples()
    )  # fmt: skip


def test_parse_rows_checks_every_item_before_anything_is_read(db) -> None:
    from models.errors import ValidationError

    rows = _rows(
        db,
        add=["stat=hist", "role=user_manager@main", "block=General"],
        remove=["role=circulation-desk-operator"],
        notes=["Moved to the new campus"],
    )
    assert rows == [
        {"op": "add", "kind": "statistic", "value": "HIST"},
        {"op": "add", "kind": "role", "value": "user_manager@MAIN"},
        {"op": "add", "kind": "block", "value": "GENERAL"},
        {"op": "remove", "kind": "role", "value": "circulation_desk_operator"},
        {"op": "add", "kind": "note", "value": "Moved to the new campus"},
    ]
    with pytest.raises(ValidationError) as err:
        _rows(db, add=["stat=NOPE", "colour=blue", "role=king"], remove=["note=x"],
              notes=["bad\x1b[2J"])  # fmt: skip
    assert set(err.value.errors) == {"add", "remove", "note"}
    assert "NOPE" in err.value.errors["add"] and "king" in err.value.errors["add"]
    with pytest.raises(ValidationError):
        _rows(db, add=["role=user_manager@NOWHERE"])


def test_a_job_adds_and_removes_statistics_blocks_and_notes_previewed_and_undone(db) -> None:
    from models.store.tables import Block, Note
    from models.users.rows import Kind, add_row

    has_law, plain = user(db, "P0001"), user(db, "P0002")
    add_row(Kind.STATISTIC, has_law.id, has_law.version, {"category": "LAW"}, admin(db))
    set_id = _set(db, [has_law, plain])
    rows = _rows(db, add=["stat=HIST", "block=GENERAL"], remove=["stat=LAW"], notes=["Checked"])
    before = _snapshot()
    p = preview(UPDATE, set_id, admin(db), rows=rows)
    assert _snapshot() == before
    assert (p.members, p.would_change, p.refused) == (2, 2, [])
    assert dict(p.sample)["P0001"]["statistic"] == ("LAW", "HIST")
    assert dict(p.sample)["P0002"]["block"] == ("", "GENERAL")
    done = run_update(set_id, {}, admin(db), rows=rows)
    assert (done.info.changed, done.info.skipped) == (2, 0)
    assert "+statistic HIST" in done.info.what() and "-statistic LAW" in done.info.what()
    assert _stats(has_law) == _stats(plain) == ["HIST"]
    assert Block.select().where(Block.account.in_([has_law.id, plain.id])).count() == 2
    assert Note.select().where(Note.text == "Checked").count() == 2
    events = AuditEvent.select().where(AuditEvent.job_id == done.info.job_id)
    assert {e.source for e in events} == {"job"}
    assert {e.entity for e in events} >= {"statistic", "block", "note"}
    items = {i.account_id: i for i in JobItem.select().where(JobItem.job == done.info.job_id)}
    assert items[plain.id].version_after == fresh(plain).version
    # Run again: the statistics and the block are there already; only the note is added.
    again = run_update(set_id, {}, admin(db), rows=_rows(db, add=["stat=HIST", "block=GENERAL"]))
    assert (again.info.changed, again.info.unchanged) == (0, 2)
    undone = undo(done.info.job_id, admin(db))
    assert (undone.info.changed, undone.info.skipped) == (2, 0), undone.items
    assert _stats(has_law) == ["LAW"] and _stats(plain) == []
    assert not Block.select().where(Block.account.in_([has_law.id, plain.id])).exists()
    assert not Note.select().where(Note.text == "Checked").exists()


def test_a_job_never_grants_a_role_above_its_actor_and_keeps_the_last_role(db) -> None:
    """Roles through a job follow the Roles tab: a User Manager may not give User
    Administrator (refused up front, nothing written); a role given with its library scope;
    removing a member's last role is refused for that member, with the reason."""
    from models.errors import PermissionDenied
    from models.store.tables import Library, RoleAssignment

    one, two = user(db, "P0001"), user(db, "P0002")
    manager = as_staff(db, Role.USER_MANAGER, "S0001")
    set_id = create_itemized_set("Two", [one.id, two.id], manager).set_id
    before = _snapshot()
    for attempt in (
        lambda: preview(UPDATE, set_id, manager, rows=_rows(db, add=["role=user_administrator"])),
        lambda: run_update(set_id, {}, manager, rows=_rows(db, add=["role=user_administrator"])),
        lambda: run_update(
            set_id, {}, manager, rows=_rows(db, remove=["role=user_administrator"])
        ),  # fmt: skip
    ):
        with pytest.raises(PermissionDenied, match="above your own"):
            attempt()
    assert _snapshot() == before
    main = Library.get(Library.code == "MAIN")
    done = run_update(set_id, {}, manager,
                      rows=_rows(db, add=["role=circulation_desk_operator@MAIN"]))  # fmt: skip
    assert done.info.changed == 2
    given = RoleAssignment.get(RoleAssignment.account == one.id,
                               RoleAssignment.role == "circulation_desk_operator")  # fmt: skip
    assert given.scope_id == main.id
    # Taking the patron role away: `two` keeps it as its last role once the desk role is gone.
    RoleAssignment.delete().where(
        (RoleAssignment.account == two.id) & (RoleAssignment.role == "circulation_desk_operator")
    ).execute()
    Account.update(version=Account.version + 1).where(Account.id == two.id).execute()
    out = run_update(set_id, {}, manager, rows=_rows(db, remove=["role=patron"]))
    assert (out.info.changed, out.info.skipped) == (1, 1)
    assert out.items[0].account_id == two.id and "at least one role" in out.items[0].reason
    assert RoleAssignment.select().where(RoleAssignment.account == two.id).count() == 1


def test_undo_of_a_removed_statistic_refuses_a_category_deactivated_since(db) -> None:
    from models.store.tables import StatCategory
    from models.users.rows import Kind, add_row

    anna = user(db, "P0001")
    add_row(Kind.STATISTIC, anna.id, anna.version, {"category": "MED"}, admin(db))
    set_id = _set(db, [anna])
    done = run_update(set_id, {"campus": "NORTH"}, admin(db), rows=_rows(db, remove=["stat=MED"]))
    assert done.info.changed == 1 and _stats(anna) == []
    StatCategory.update(active=False).where(StatCategory.code == "MED").execute()
    undone = undo(done.info.job_id, admin(db))
    assert (undone.info.changed, undone.info.skipped) == (0, 1)
    assert "Medicine" in undone.items[0].reason and "deactivated" in undone.items[0].reason
    assert fresh(anna).campus.code == "NORTH"  # nothing of the member restored


def test_values_of_their_own_are_written_at_each_members_version(db, monkeypatch) -> None:
    """Members read at different versions, and an undo's old values (a date, none), are
    written with one `UPDATE ... FROM (VALUES ...)` a chunk: each at its own version, NULL and
    dates alike on both back ends; a member a desk saved meanwhile is skipped, not written."""
    from models.jobs import jobs

    users = [user(db, f"P{i:04}") for i in range(3)]
    for a, days in ((users[1], 500), (users[2], 600)):
        update_user(a.id, a.version, {"purge_date": future(days)}, admin(db))
    users = [fresh(a) for a in users]
    assert len({a.version for a in users}) == 2
    set_id = _set(db, users)
    done = run_update(set_id, {"purge_date": future(700).isoformat()}, admin(db))
    assert done.info.changed == 3
    assert {fresh(a).purge_date for a in users} == {future(700)}
    real = jobs._Changes.chunk

    def chunk_then_desk_saves(self, items, accounts):  # noqa: ANN001, ANN202
        out = real(self, items, accounts)
        Account.update(version=Account.version + 1, updated_by="desk").where(
            Account.id == users[1].id
        ).execute()
        return out

    monkeypatch.setattr(jobs._Changes, "chunk", chunk_then_desk_saves)
    undone = undo(done.info.job_id, admin(db))
    assert (undone.info.changed, undone.info.skipped) == (2, 1)
    assert undone.items[0].account_id == users[1].id and "desk" in undone.items[0].reason
    assert [fresh(a).purge_date for a in users] == [None, future(700), future(600)]
    assert [fresh(a).version for a in (users[0], users[2])] == [
        users[0].version + 2,
        users[2].version + 2,
    ]
