"""`address.line4` and `address.line5` (issue 22, item 5): an address has five lines, as in
Alma's Add Address (Address line 1 to 5, with a note and start / end dates) and its user record
(line1..line5). Existing addresses get empty lines.

Frozen: it must never import the application models.
"""

# ruff: noqa
from peewee import *


COLUMNS = ("line4", "line5")


def up(migrator, db):
    # In SQL, as 0016: the migrator would rebuild the table on SQLite (copying every address of
    # a large database) to make the column NOT NULL; both back ends add it in place.
    for column in COLUMNS:
        db.execute_sql(f"ALTER TABLE address ADD COLUMN {column} VARCHAR(200) NOT NULL DEFAULT ''")


def down(migrator, db):
    for column in reversed(COLUMNS):
        db.execute_sql(f"ALTER TABLE address DROP COLUMN {column}")
