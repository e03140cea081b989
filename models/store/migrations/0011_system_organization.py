"""`organization.hosts_system` (issue 18, item 4): the settings apply to the whole database (a
person, their password and lockout are shared by every organization), so only the User
Administrators of the organization that hosts the system, or the command line, change them.
`patrondesk init` marks the organization it makes; here the existing first organization (the
lowest id: the one init made) is marked.

Frozen: it must never import the application models.
"""

# ruff: noqa
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("organization", "hosts_system", BooleanField(default=False))
    )
    first = db.execute_sql("SELECT MIN(id) FROM organization").fetchone()[0]
    if first is not None:
        db.execute_sql(
            "UPDATE organization SET hosts_system = %s WHERE id = %s" % (db.param, db.param),
            (True, first),
        )


def down(migrator, db):
    migrator.migrate(migrator.drop_column("organization", "hosts_system"))
