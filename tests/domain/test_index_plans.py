"""The plans after migration 0026 (issue 26): the prefix indexes it dropped are served by the
longer ones, its partial code indexes are used for a look-up by a value, and every statement
of the search and the lists reads the large tables through an index (EXPLAIN QUERY PLAN)."""

from __future__ import annotations

import re

import pytest
from peewee import PostgresqlDatabase

from models.audit import Actor
from models.enums import Role, Source
from models.search.engine import UserQuery, count_users, find_exact, search_users
from models.store.base import database
from models.users.accounts import NewUser, create_user

# (query, the index it must use, or the start of the names of those it may): a look-up each
# dropped or partial index served.
LOOKUPS = (
    (
        "SELECT count(*) FROM account WHERE organization_id = 1",
        # (or the dashboard's, organization and creation time, migration 0024)
        (
            "account_organization_id_person_id",
            "account_search_",
            "account_organization_id_created_at",
        ),
    ),
    (
        "SELECT id FROM account WHERE organization_id = 1 AND record_type = 'public' "
        "AND status = 'active'",
        # PostgreSQL, on a near-empty table, may take the dashboard's (organization, created)
        # index instead: either leads with the organization, as the dropped one did.
        ("account_search_", "account_organization_id_created_at"),
    ),
    (
        "SELECT id, at FROM audit_event WHERE account_id = 1 ORDER BY at DESC",
        "auditevent_account_id_at",
    ),
    ("SELECT role FROM role_assignment WHERE account_id = 1", "roleassignment_account_id_role"),
    ("SELECT id FROM block WHERE account_id = 1", "block_account_id_active"),
    ("SELECT id FROM account WHERE user_group_id = 1", "account_user_group_id"),
    ("SELECT id FROM account WHERE job_category_id = 1", "account_job_category_id"),
    ("SELECT id FROM account WHERE campus_id = 1", "account_campus_id"),
    ("SELECT id FROM identifier WHERE id_type_id = 1", "identifier_id_type_id"),
    ("SELECT id FROM note WHERE note_type_id = 1", "note_note_type_id"),
    ("SELECT id FROM note WHERE owner_id = 1", "note_owner_id"),
    ("SELECT id FROM block WHERE owner_id = 1", "block_owner_id"),
    ("SELECT id FROM statistic WHERE owner_id = 1", "statistic_owner_id"),
    ("SELECT id FROM role_assignment WHERE scope_id = 1", "roleassignment_scope_id"),
)
GONE = (
    "account_organization_id",
    "account_organization_id_record_type_status",
    "auditevent_account_id",
    "roleassignment_account_id",
    "block_account_id",
)
LARGE = ("person", "account", "identifier", "email", "role_assignment", "block", "note")


def _plan(sql: str) -> str:
    if isinstance(database.obj, PostgresqlDatabase):
        return "\n".join(r[0] for r in database.execute_sql(f"EXPLAIN {sql}").fetchall())
    return "\n".join(r[-1] for r in database.execute_sql(f"EXPLAIN QUERY PLAN {sql}").fetchall())


def _indexes() -> set[str]:
    if isinstance(database.obj, PostgresqlDatabase):
        rows = database.execute_sql(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        )
    else:
        rows = database.execute_sql("SELECT name FROM sqlite_master WHERE type = 'index'")
    return {r[0] for r in rows.fetchall()}


def test_dropped_prefixes_are_gone_and_their_lookups_use_the_longer_index(db) -> None:
    assert not set(GONE) & _indexes()
    pg = isinstance(database.obj, PostgresqlDatabase)
    if pg:  # tiny tables: the planner would scan them; say what it can use
        database.execute_sql("SET enable_seqscan = off")
    try:
        for sql, wanted in LOOKUPS:
            plan = _plan(sql)
            names = (wanted,) if isinstance(wanted, str) else wanted
            assert any(name in plan for name in names), f"{sql}\n{plan}"
    finally:
        if pg:
            database.execute_sql("SET enable_seqscan = on")


def test_code_indexes_hold_only_rows_with_a_code(db) -> None:
    """A user without campus or job category, a Patron role of every library and a primary
    identifier without a type: no entry in those partial indexes (SQLite counts by the index)."""
    create_user(
        NewUser(
            record_type="public",
            first_name="Pat",
            last_name="Partial",
            primary_id="P-1",
            user_group="PUBLIC",
            email="partial@example.org",
        ),
        Actor(db.admin, Source.SCREEN),
        db.organization,
    )
    for table, column in (
        ("account", "campus_id"),
        ("account", "job_category_id"),
        ("role_assignment", "scope_id"),
        ("identifier", "id_type_id"),
    ):
        nulls = database.execute_sql(
            f"SELECT count(*) FROM {table} WHERE {column} IS NULL"
        ).fetchone()[0]
        assert nulls > 0
    if isinstance(database.obj, PostgresqlDatabase):
        return
    # SQLite: the entries an index holds, read through the index alone.
    entries = database.execute_sql(
        "SELECT count(*) FROM role_assignment INDEXED BY roleassignment_scope_id "
        "WHERE scope_id IS NOT NULL"
    ).fetchone()[0]
    total = database.execute_sql("SELECT count(*) FROM role_assignment").fetchone()[0]
    assert entries < total


def test_search_and_list_statements_read_large_tables_by_index(db) -> None:
    if isinstance(database.obj, PostgresqlDatabase):
        pytest.skip("EXPLAIN QUERY PLAN: the SQLite statements as the search sends them")
    actor = Actor(db.admin, Source.SCREEN)
    for i in range(30):
        create_user(
            NewUser(
                record_type="public",
                first_name=f"Anne{i}",
                last_name=f"Martin{i % 7}",
                primary_id=f"PL-{i}",
                user_group="UNDERGRAD" if i % 2 else "PUBLIC",
                email=f"anne{i}@example.org",
            ),
            actor,
            db.organization,
        )
    seen: list[str] = []
    conn = database.connection()
    conn.set_trace_callback(seen.append)
    org = db.organization.id
    try:
        page = search_users(org, UserQuery(text="mart"), limit=5)
        search_users(org, UserQuery(text="mart"), after=page.cursor, limit=5)
        page = search_users(org, UserQuery(tab="public"), limit=5)
        search_users(org, UserQuery(tab="public"), after=page.cursor, limit=5)
        search_users(org, UserQuery(tab="public", sort="expiry"), limit=5)
        group = database.execute_sql(
            "SELECT id FROM user_group WHERE code = 'UNDERGRAD' AND organization_id = ?", (org,)
        ).fetchone()[0]
        search_users(org, UserQuery(tab="all", user_group_id=group), limit=5)
        search_users(org, UserQuery(tab="all", role=Role.PATRON.value), limit=5)
        count_users(org, UserQuery(tab="public"), cap=1000)
        find_exact(org, "PL-3")
        find_exact(org, "anne4@example.org")
    finally:
        conn.set_trace_callback(None)
    statements = [s for s in seen if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert statements
    full_scan = re.compile(rf"\bSCAN ({'|'.join(LARGE)})\b(?! USING)")
    for sql in statements:
        plan = _plan(sql)
        assert not full_scan.search(plan), f"a full scan:\n{sql}\n{plan}"
