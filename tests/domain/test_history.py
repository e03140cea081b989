"""The History tab (models.users.history): a user's audit events newest first, the period filters,
login events of the person, nothing of other users; pruning by the retention setting, also as
`patrondesk audit prune`."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from models.access.auth import login
from models.audit import Actor
from models.config.settings import Settings
from models.enums import Role, Source
from models.errors import AuthenticationError, PermissionDenied, ValidationError
from models.runtime import runtime
from models.store.tables import AuditEvent, BlockDefinition
from models.users.details import update_user
from models.users.history import history, prune_audit
from models.users.rows import Kind, add_row
from tests.helpers.details import admin, as_staff, use_clock, user


def old_event(account, days: int, field: str) -> None:
    """An audit event of `account` written `days` ago."""
    AuditEvent.create(
        account_id=account.id,
        person_id=account.person_id,
        entity="account",
        entity_id=account.id,
        action="update",
        field=field,
        old_value="a",
        new_value="b",
        actor="someone",
        source="job",
        at=runtime.now() - dt.timedelta(days=days),
    )


def test_the_history_shows_each_change_newest_first_with_who_and_how(db) -> None:
    use_clock()
    clock = runtime.clock
    account = user(db)
    me = as_staff(db, Role.USER_MANAGER)
    clock.advance(minutes=1)
    saved = add_row(
        Kind.EMAIL,
        account.id,
        account.version,
        {"address": "anna@work.example", "email_type": "work", "preferred": True},
        me,
    )
    clock.advance(minutes=1)
    saved = add_row(Kind.NOTE, account.id, saved.version, {"text": "Pop", "popup": True}, me)
    clock.advance(minutes=1)
    saved = add_row(Kind.BLOCK, account.id, saved.version, {"definition": "GENERAL"}, me)
    clock.advance(minutes=1)
    update_user(account.id, saved.version, {"first_name": "Bea"}, me)
    rows = history(account.id, admin(db))
    assert rows == sorted(rows, key=lambda r: r.at, reverse=True)
    newest = rows[0]
    assert (newest.actor, newest.source, newest.action, newest.entity, newest.field) == (
        "S0001",
        "screen",
        "update",
        "person",
        "first_name",
    )
    assert (newest.old, newest.new) == ("Anna", "Bea")
    seen = {(r.entity, r.field, r.new) for r in rows if r.actor == "S0001"}
    assert {
        ("email", "address", "anna@work.example"),
        ("email", "preferred", "no"),
        ("note", "popup", "yes"),
        ("block", "definition", BlockDefinition.get_by_id(saved.row.definition_id).name),
    } <= seen
    created = [r for r in rows if r.action == "create" and r.actor == "admin"]
    assert ("person", "last_name", "Müller") in {(r.entity, r.field, r.new) for r in created}


@pytest.mark.parametrize(
    ("period", "fields"),
    [
        ("7d", {"now", "3d"}),
        ("30d", {"now", "3d", "10d"}),
        ("1y", {"now", "3d", "10d", "40d"}),
        ("all", {"now", "3d", "10d", "40d", "400d"}),
    ],
)
def test_the_period_filter(db, period: str, fields: set[str]) -> None:
    account = user(db)
    AuditEvent.delete().where(AuditEvent.account_id == account.id).execute()
    for days, field in ((0, "now"), (3, "3d"), (10, "10d"), (40, "40d"), (400, "400d")):
        old_event(account, days, field)
    rows = history(account.id, admin(db), period)
    assert {r.field for r in rows} == fields
    assert [r.field for r in rows] == [
        f for f in ("now", "3d", "10d", "40d", "400d") if f in fields
    ]


def test_the_default_period_is_the_last_30_days_and_others_are_refused(db) -> None:
    account = user(db)
    AuditEvent.delete().where(AuditEvent.account_id == account.id).execute()
    old_event(account, 29, "in")
    old_event(account, 31, "out")
    assert [r.field for r in history(account.id, admin(db))] == ["in"]
    with pytest.raises(ValidationError) as err:
        history(account.id, admin(db), "5y")
    assert err.value.errors == {"period": "is one of 7d, 30d, 1y, all"}


def test_login_events_of_the_person_show_and_other_users_do_not(db) -> None:
    account = user(db, password="Harbour-Lantern-57")
    other = user(db, "P0002")
    with pytest.raises(AuthenticationError):
        login("P0001", "Wrong-Password-1")
    update_user(other.id, other.version, {"title": "Dr"}, admin(db))
    rows = history(account.id, admin(db))
    assert "login_failure" in {r.action for r in rows}
    assert all(r.new != "Dr" for r in rows)


def test_the_history_needs_the_right_to_see_the_user(db) -> None:
    from tests.domain.test_accounts import second_organization

    account = user(db)
    _, admin2 = second_organization()
    with pytest.raises(PermissionDenied):
        history(account.id, Actor(admin2, Source.SCREEN))


def test_pruning_deletes_events_older_than_the_retention(db) -> None:
    account = user(db)
    for days in (5, 29, 31, 800):
        old_event(account, days, f"{days}d")
    before = AuditEvent.select().count()
    assert prune_audit(Settings(audit_retention_days=30)) == 2
    assert AuditEvent.select().count() == before - 2
    assert {r.field for r in history(account.id, admin(db), "all")} >= {"5d", "29d"}
    assert not {r.field for r in history(account.id, admin(db), "all")} & {"31d", "800d"}
    assert prune_audit(Settings(audit_retention_days=30)) == 0
    with pytest.raises(PermissionDenied):
        prune_audit(actor=as_staff(db, Role.CIRCULATION_DESK_MANAGER))


# --- patrondesk audit prune ---------------------------------------------------------------------


@pytest.mark.slow
def test_the_cli_prunes_the_audit_trail(tmp_path: Path) -> None:
    from tests.cli.test_cli import assert_clean_error, init, run

    path = tmp_path / "library.db"
    assert_clean_error(run(tmp_path, "--db", str(path), "audit"), "audit prune")
    assert not path.exists()
    assert_clean_error(run(tmp_path, "--db", str(path), "audit", "prune"), "No database at")
    assert not path.exists()  # only init makes a database
    path.touch(mode=0o600)
    assert_clean_error(run(tmp_path, "--db", str(path), "audit", "prune"), "not initialized")
    path.unlink()
    assert init(tmp_path, str(path)).returncode == 0
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO audit_event (entity, action, field, actor, source, at) "
            "VALUES ('person', 'update', 'x', 'admin', 'cli', '2001-01-01 00:00:00')"
        )
        total = conn.execute("SELECT count(*) FROM audit_event").fetchone()[0]
    result = run(tmp_path, "--db", str(path), "audit", "prune")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Deleted 1 audit event older than 3650 days."
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM audit_event").fetchone()[0] == total - 1


def test_the_history_is_kept_to_the_roles_the_configuration_names(db) -> None:
    """Alma: "Access to a user history may be limited by user role". With the setting empty,
    whoever may view the user sees it; with roles named, only those roles; an unknown role
    code is refused where it is typed."""
    from models.config.config_settings import update_settings
    from models.users.profile import load_profile

    account = user(db)
    desk = as_staff(db, Role.CIRCULATION_DESK_OPERATOR, "S0001")
    manager = as_staff(db, Role.USER_MANAGER, "S0002")
    assert history(account.id, desk) is not None
    assert load_profile(account.id, desk).history_visible
    update_settings({"history_roles": "user_manager, user_administrator"}, admin(db))
    with pytest.raises(PermissionDenied, match="History visible to roles"):
        history(account.id, desk)
    assert not load_profile(account.id, desk).history_visible
    assert load_profile(account.id, desk).name  # the rest of the record stays in view
    assert {r.field for r in history(account.id, manager, "all")}  # a named role sees it
    assert load_profile(account.id, manager).history_visible
    with pytest.raises(ValidationError, match="overlord"):
        update_settings({"history_roles": "user_manager, overlord"}, admin(db))
