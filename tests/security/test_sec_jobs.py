"""Attacks on sets and bulk jobs (issue 23), each through the service the screens and the
command line call, on SQLite and PostgreSQL (`db`).

- Every entry point of a job (preview, start, resume with `run_job`, undo) checks before any
  item or row is written that the actor may run jobs (`Action.RUN_JOBS`: User Manager and
  User Administrator, never a circulation desk role), and for a delete job that they may
  delete users; a deactivated or expired actor is refused; another organization's job or set
  is not found.
- Renaming a set takes what deleting it takes (another's set: the right to run jobs).
- Undo never writes back a code deactivated since the job: such members are refused and
  reported with the reason.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from models.access.permissions import MATRIX, Action
from models.audit import Actor
from models.enums import Role, Source, Status
from models.errors import NotFound, PermissionDenied, ValidationError
from models.jobs.jobs import (
    DELETE,
    NOTIFY,
    UPDATE,
    Interrupted,
    may_run_jobs,
    parse_update,
    preview,
    run_delete,
    run_job,
    run_notify,
    run_update,
    undo,
)
from models.jobs.sets import create_itemized_set, delete_set, identifiers_in, rename_set
from models.runtime import runtime
from models.store.tables import (
    Account,
    AuditEvent,
    Campus,
    Job,
    JobItem,
    Letter,
    Organization,
    UserGroup,
    UserSet,
)
from tests.helpers.details import admin, fresh, staff, user
from tests.helpers.ui import add_user
from tui.cli import main


def _actor(account: Account) -> Actor:
    return Actor(Account.get_by_id(account.id), Source.SCREEN)


def _written() -> tuple:
    """Everything a job could write."""
    return (
        AuditEvent.select().count(),
        Job.select().count(),
        [(i.id, i.outcome) for i in JobItem.select().order_by(JobItem.id)],
        Letter.select().count(),
        [(a.id, a.version) for a in Account.select().order_by(Account.id)],
        [(s.id, s.name) for s in UserSet.select().order_by(UserSet.id)],
    )


def _kill(progress) -> None:  # noqa: ANN001
    raise Interrupted


def _jobs_to_attack(db, runner: Actor) -> tuple[int, int, int]:  # noqa: ANN001
    """A set of three public users, a job of `runner` stopped after its first chunk and
    another one done (to undo)."""
    users = [user(db, f"P{i:04}") for i in range(3)]
    set_id = create_itemized_set("Three", [a.id for a in users], admin(db)).set_id
    with pytest.raises(Interrupted):
        run_update(set_id, {"campus": "NORTH"}, runner, chunk=1, progress=_kill)
    running = Job.get(Job.state == "running").id
    done = run_update(set_id, {"user_group": "GRAD"}, runner).info.job_id
    return set_id, running, done


def _every_entry_point_refused(set_id: int, running: int, done: int, actor: Actor) -> None:
    fields = {"user_group": "ALUMNI"}
    attempts = [
        lambda: preview(UPDATE, set_id, actor, fields=fields),
        lambda: preview(DELETE, set_id, actor),
        lambda: preview(NOTIFY, set_id, actor),
        lambda: run_update(set_id, fields, actor),
        lambda: run_delete(set_id, actor),
        lambda: run_notify(set_id, "Closing", "We close on Friday.", actor),
        lambda: run_job(running, actor),
        lambda: undo(done, actor),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()


@pytest.mark.parametrize(
    "role", [Role.CIRCULATION_DESK_MANAGER, Role.CIRCULATION_DESK_OPERATOR], ids=["mgr", "op"]
)
def test_a_desk_role_may_not_preview_start_resume_or_undo_a_job(db, role) -> None:  # noqa: ANN001
    """A desk edits one public user at a time; a job over thousands is a User Manager's: the
    desk is refused up front, before an item is frozen or a member read, also when it resumes
    a job someone else stopped or undoes one."""
    set_id, running, done = _jobs_to_attack(db, admin(db))
    desk = _actor(staff(db, role, "S0001"))
    before = _written()
    _every_entry_point_refused(set_id, running, done, desk)
    assert _written() == before
    assert not may_run_jobs(desk) and may_run_jobs(admin(db), DELETE)


def test_a_delete_job_takes_the_right_to_delete_users(db, monkeypatch) -> None:  # noqa: ANN001
    """A role that may run jobs but not delete users (a customized matrix) may update a set,
    but neither preview, start nor resume a delete job."""
    grant = MATRIX[Role.CIRCULATION_DESK_MANAGER] | {Action.RUN_JOBS}
    monkeypatch.setitem(MATRIX, Role.CIRCULATION_DESK_MANAGER, grant)
    users = [user(db, f"P{i:04}") for i in range(2)]
    set_id = create_itemized_set("Two", [a.id for a in users], admin(db)).set_id
    with pytest.raises(Interrupted):
        run_delete(set_id, admin(db), chunk=1, progress=_kill)
    stopped = Job.get(Job.state == "running").id
    desk = _actor(staff(db, Role.CIRCULATION_DESK_MANAGER, "S0001"))
    before = _written()
    for attempt in (
        lambda: preview(DELETE, set_id, desk),
        lambda: run_delete(set_id, desk),
        lambda: run_job(stopped, desk),
    ):
        with pytest.raises(PermissionDenied, match="delete user"):
            attempt()
    assert _written() == before
    assert Account.select().where(Account.id == users[1].id).exists()
    # The same actor may run an update job: the right to run jobs is there.
    assert run_update(set_id, {"campus": "NORTH"}, desk).info.changed == 1


@pytest.mark.parametrize("how", ["deactivated", "expired"])
def test_a_deactivated_or_expired_actor_may_run_no_job(db, how) -> None:  # noqa: ANN001
    manager = staff(db, Role.USER_MANAGER, "S-GONE")
    session_copy = _actor(manager)  # what an open session holds
    set_id, running, done = _jobs_to_attack(db, session_copy)
    if how == "deactivated":
        Account.update(status=Status.INACTIVE.value).where(Account.id == manager.id).execute()
    else:
        yesterday = runtime.today() - dt.timedelta(days=1)
        Account.update(expiry_date=yesterday).where(Account.id == manager.id).execute()
    before = _written()
    _every_entry_point_refused(set_id, running, done, session_copy)
    assert _written() == before


def test_another_organizations_administrator_finds_no_job_and_no_set(db) -> None:
    set_id, running, done = _jobs_to_attack(db, admin(db))
    other = Organization.create(code="OTHER", name="Other")
    stranger = staff(db, Role.USER_ADMINISTRATOR, "S0100")
    Account.update(organization=other).where(Account.id == stranger.id).execute()
    actor = _actor(stranger)
    before = _written()
    for attempt in (
        lambda: preview(UPDATE, set_id, actor, fields={"campus": "MAIN"}),
        lambda: run_update(set_id, {"campus": "MAIN"}, actor),
        lambda: run_job(running, actor),
        lambda: undo(done, actor),
        lambda: rename_set(set_id, "Mine now", actor),
        lambda: delete_set(set_id, actor),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert _written() == before


def test_renaming_anothers_set_takes_what_deleting_it_takes(db) -> None:
    users = [user(db, "P0001")]
    theirs = create_itemized_set("Grads", [users[0].id], admin(db)).set_id
    desk = _actor(staff(db, Role.CIRCULATION_DESK_MANAGER, "S0001"))
    before = _written()
    for attempt in (
        lambda: rename_set(theirs, "Renamed by the desk", desk),
        lambda: delete_set(theirs, desk),
    ):
        with pytest.raises(PermissionDenied, match="run jobs"):
            attempt()
    assert _written() == before
    own = create_itemized_set("Mine", [users[0].id], desk).set_id
    assert rename_set(own, "Still mine", desk).name == "Still mine"
    delete_set(own, desk)
    manager = _actor(staff(db, Role.USER_MANAGER, "S0002"))
    assert rename_set(theirs, "Graduates", manager).name == "Graduates"


def test_undo_never_writes_back_a_code_deactivated_since(db) -> None:
    """Undo of an update job restores the old user group and campus, unless the code was
    deactivated since: that member is refused with the reason, like a member changed since,
    and keeps what the job gave it (no History from the undo)."""
    kept, retired = user(db, "P0001"), user(db, "P0002")
    alumni = UserGroup.get(UserGroup.code == "ALUMNI")
    main = Campus.get(Campus.code == "MAIN")
    Account.update(user_group=alumni, campus=main).where(Account.id == retired.id).execute()
    set_id = create_itemized_set("Two", [kept.id, retired.id], admin(db)).set_id
    done = run_update(set_id, parse_update(["user_group=GRAD", "campus=NORTH"],
                                           db.organization.id), admin(db))  # fmt: skip
    assert done.info.changed == 2
    UserGroup.update(active=False).where(UserGroup.id == alumni.id).execute()
    undone = undo(done.info.job_id, admin(db))
    assert (undone.info.changed, undone.info.skipped) == (1, 1)
    [refused] = undone.items
    assert refused.account_id == retired.id
    assert "Alumni" in refused.reason and "deactivated" in refused.reason
    grad = UserGroup.get(UserGroup.code == "GRAD").id
    assert fresh(retired).user_group_id == grad
    assert fresh(kept).user_group_id == kept.user_group_id
    assert not (
        AuditEvent.select()
        .where(AuditEvent.job_id == undone.info.job_id, AuditEvent.account_id == retired.id)
        .exists()
    )
    # A campus deactivated since: the same refusal.
    again = run_update(set_id, {"campus": "MAIN"}, admin(db))
    assert again.info.changed == 2  # `kept` had no campus, `retired` NORTH
    Campus.update(active=False).where(Campus.code == "NORTH").execute()
    out = undo(again.info.job_id, admin(db))
    assert (out.info.changed, out.info.skipped) == (1, 1)
    assert out.items[0].account_id == retired.id and "North campus" in out.items[0].reason
    assert fresh(retired).campus_id == main.id and fresh(kept).campus_id is None


# --- The command line -----------------------------------------------------------------------------


def test_column_zero_is_refused_not_the_last_column(db, capsys, tmp_path: Path) -> None:
    """Columns are numbered from 1: `--column 0` took the last column (Python's index -1)."""
    add_user("Anna", "Müller", "P1")
    ids = tmp_path / "ids.csv"
    ids.write_text("name,id\nAnna,P1\n")
    with pytest.raises(ValidationError) as err:
        identifiers_in(ids.read_text(), column="0")
    assert "column" in err.value.errors
    assert main(["--db", db.url, "set", "create", "Zero", "--file", str(ids), "--column", "0"]) == 2
    assert "column" in capsys.readouterr().err
    assert UserSet.select().count() == 0


def test_a_hostile_identifier_in_a_csv_is_printed_on_one_line_escaped(
    db, capsys, tmp_path: Path
) -> None:
    """A quoted CSV field may hold a line break and an ESC: printed raw, the unknown
    identifier forged a line of the report and drove the terminal. One line, escaped."""
    add_user("Anna", "Müller", "P1")
    ids = tmp_path / "ids.csv"
    forged = "EVIL\nSet 'Forged' created: 999 member(s)\x1b]52;c;bWFsaWNl\x07"
    ids.write_text(f'id\nP1\n"{forged}"\n')
    assert main(["--db", db.url, "set", "create", "Listed", "--file", str(ids), "--column",
                 "id"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    lines = out.splitlines()
    assert len(lines) == 2, lines
    assert lines[1].startswith("  unknown  EVIL") and "Forged" in lines[1]
    assert not any(line.startswith("Set 'Forged'") for line in lines)


def test_a_view_only_role_reads_no_server_file_through_a_set(db, tmp_path: Path) -> None:  # noqa: ANN001
    """Found by an attack (2026-12-08): a Fulfillment Services Operator (view only) made "a set
    from a file" of any document of the account running PatronDesk, and every line that
    matched nobody came back as an "unknown identifier": the file's content. And the file was
    read before any check, so a deactivated account still told which files exist. A file of
    the server is read by who may read one anyway (manage attachments, or run jobs), after
    that check."""
    from models.jobs.sets import create_set_from_path

    user(db, "P0001")
    secret = tmp_path / "export.txt"
    secret.write_text("P0001\nroot:$argon2id$secret\nAPI_KEY=abc123\n")
    viewer = _actor(staff(db, Role.FULFILLMENT_SERVICES_OPERATOR, "S0001"))
    desk = staff(db, Role.CIRCULATION_DESK_OPERATOR, "S0002")
    Account.update(status=Status.INACTIVE).where(Account.id == desk.id).execute()
    before = _written()
    with pytest.raises(PermissionDenied):
        create_set_from_path("Peek", str(secret), viewer)
    with pytest.raises(PermissionDenied, match="deactivated"):
        create_set_from_path("Probe", str(tmp_path / "no-such-file.txt"), _actor(desk))
    assert _written() == before
    Account.update(status=Status.ACTIVE).where(Account.id == desk.id).execute()
    made = create_set_from_path("Desk", str(secret), _actor(desk))  # a desk attaches files
    assert made.found == 1
