"""The dashboard (issue 25, item 1): what its charts read, on indexes.

- `account (organization_id, created_at)`: new registrations per month, as twelve ranges of
  one index (no date function, the same SQL on both back ends).
- `login_month`: logins per organization and calendar month ("YYYY-MM"), kept by a trigger
  on `audit_event`: a login's success is one audit event naming the account, and counting a
  year of them (one a login, so growing with use, not with users: twelve million a year for a
  million patrons logging in monthly) and joining each to its account for the organization
  would take seconds. The trigger adds one to the month's row in the login's own transaction;
  filled here from the events the audit trail holds. Pruning the audit trail later leaves the
  counts (the logins happened).

Frozen: it must never import the application models.
"""

# ruff: noqa
from peewee import *
from peewee import PostgresqlDatabase

LOGIN = "login_success"


def up(migrator, db):
    pg = isinstance(db, PostgresqlDatabase)
    run = db.execute_sql
    run("CREATE INDEX account_organization_id_created_at ON account (organization_id, created_at)")
    ident = "SERIAL" if pg else "INTEGER"
    run(
        "CREATE TABLE login_month ("
        f"id {ident} NOT NULL PRIMARY KEY, "
        "organization_id INTEGER NOT NULL REFERENCES organization (id) ON DELETE CASCADE, "
        "month VARCHAR(7) NOT NULL, "
        "logins INTEGER NOT NULL)"
    )
    run("CREATE INDEX login_month_organization_id ON login_month (organization_id)")
    run(
        "CREATE UNIQUE INDEX login_month_organization_id_month "
        "ON login_month (organization_id, month)"
    )
    month = "to_char(%s, 'YYYY-MM')" if pg else "substr(%s, 1, 7)"
    if pg:
        run(
            "CREATE FUNCTION pd_login_month() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO login_month (organization_id, month, logins) "
            f"SELECT a.organization_id, {month % 'NEW.at'}, 1 FROM account a "
            "WHERE a.id = NEW.account_id "
            "ON CONFLICT (organization_id, month) DO UPDATE "
            "SET logins = login_month.logins + 1; RETURN NULL; END $$"
        )
        run(
            "CREATE TRIGGER audit_event_login_month AFTER INSERT ON audit_event FOR EACH ROW "
            f"WHEN (NEW.action = '{LOGIN}' AND NEW.account_id IS NOT NULL) "
            "EXECUTE FUNCTION pd_login_month()"
        )
    else:
        run(
            "CREATE TRIGGER audit_event_login_month AFTER INSERT ON audit_event "
            f"WHEN NEW.action = '{LOGIN}' AND NEW.account_id IS NOT NULL BEGIN "
            "INSERT INTO login_month (organization_id, month, logins) "
            f"SELECT a.organization_id, {month % 'NEW.at'}, 1 FROM account a "
            "WHERE a.id = NEW.account_id "
            "ON CONFLICT (organization_id, month) DO UPDATE SET logins = logins + 1; END"
        )
    run(
        "INSERT INTO login_month (organization_id, month, logins) "
        f"SELECT a.organization_id, {month % 'e.at'}, count(*) FROM audit_event e "
        f"JOIN account a ON a.id = e.account_id WHERE e.action = '{LOGIN}' "
        f"GROUP BY a.organization_id, {month % 'e.at'}"
    )


def down(migrator, db):
    pg = isinstance(db, PostgresqlDatabase)
    run = db.execute_sql
    if pg:
        run("DROP TRIGGER IF EXISTS audit_event_login_month ON audit_event")
        run("DROP FUNCTION IF EXISTS pd_login_month()")
    else:
        run("DROP TRIGGER IF EXISTS audit_event_login_month")
    run("DROP TABLE IF EXISTS login_month")
    run("DROP INDEX IF EXISTS account_organization_id_created_at")
