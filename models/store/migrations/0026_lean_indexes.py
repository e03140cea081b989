"""Leaner indexes for the tables a load fills (issue 26): every user's rows cost fewer B-tree
entries, with the same plans.

1. Five indexes are prefixes of others and go: `account_organization_id` (of the unique
   (organization, person)), `account_organization_id_record_type_status` (the Find Users list
   indexes begin (organization, record_type) and carry status), `auditevent_account_id` (of
   (account_id, at)), `roleassignment_account_id` (of (account, role)), `block_account_id` (of
   (account, active)).
2. The indexes of the nullable code foreign keys (user group, job category, campus, the retired
   library columns, identifier type, note type, the owner libraries, a role's scope) become
   partial, `WHERE col IS NOT NULL`: most users have no value there (every primary identifier
   has no type, every Patron role no scope), and a lookup by a value (`col = ?`, the foreign
   key's check on a code's delete) implies the condition, so both SQLite and PostgreSQL use
   them as before.

Same names, both back ends. Frozen: it must never import the application models.
"""

# ruff: noqa

DROPPED = (
    ("account", "account_organization_id", "organization_id"),
    ("account", "account_organization_id_record_type_status", "organization_id, record_type, status"),
    ("audit_event", "auditevent_account_id", "account_id"),
    ("role_assignment", "roleassignment_account_id", "account_id"),
    ("block", "block_account_id", "account_id"),
)

PARTIAL = (
    ("account", "account_user_group_id", "user_group_id"),
    ("account", "account_job_category_id", "job_category_id"),
    ("account", "account_campus_id", "campus_id"),
    ("account", "account_resource_sharing_library_id", "resource_sharing_library_id"),
    ("account", "account_purchase_request_library_id", "purchase_request_library_id"),
    ("identifier", "identifier_id_type_id", "id_type_id"),
    ("note", "note_note_type_id", "note_type_id"),
    ("note", "note_owner_id", "owner_id"),
    ("block", "block_owner_id", "owner_id"),
    ("statistic", "statistic_owner_id", "owner_id"),
    ("role_assignment", "roleassignment_scope_id", "scope_id"),
)


def up(migrator, db):
    for _table, name, _columns in DROPPED:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
    for table, name, column in PARTIAL:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
        db.execute_sql(
            f'CREATE INDEX "{name}" ON "{table}" ("{column}") WHERE "{column}" IS NOT NULL'
        )


def down(migrator, db):
    for table, name, column in PARTIAL:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
        db.execute_sql(f'CREATE INDEX "{name}" ON "{table}" ("{column}")')
    for table, name, columns in DROPPED:
        cols = ", ".join(f'"{c.strip()}"' for c in columns.split(","))
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({cols})')
