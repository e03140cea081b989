"""`local_override.sis_may_override` (issue 22, item 4): Alma's question, asked when staff save a
hand change to Title, PIN, Job category, User group, Campus, Preferred language, Resource sharing
libraries, Cataloger level or Selected patron letters on an external account, whether the next
SIS load may override it. False (the default, and every existing row): the staff value is kept
until "original value" is chosen, as before; True: the next SIS load writes its value and the
field follows the SIS again.

Frozen: it must never import the application models.
"""

# ruff: noqa
from peewee import *


def up(migrator, db):
    # In SQL, as 0016: both back ends add a NOT NULL column with a default in place.
    false = "FALSE" if isinstance(db, PostgresqlDatabase) else "0"
    db.execute_sql(
        f"ALTER TABLE local_override ADD COLUMN sis_may_override BOOLEAN NOT NULL DEFAULT {false}"
    )


def down(migrator, db):
    db.execute_sql("ALTER TABLE local_override DROP COLUMN sis_may_override")
