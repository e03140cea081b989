"""`account.letter_general` and `account.letter_expiry_reminder` (issue 22, item 7): Alma's
"Selected patron letters", one switch per letter a patron may decline. The old single switch,
`letters_opt_in`, stays as it was, with its meaning: off, no letter that may be declined goes
(older files and the patron's own My account page speak of it). A letter goes when both it and
the letter's own switch are on, so every existing account gets each letter's switch on: what it
received before it receives now, and what it declined it still declines (nothing lost; turning
the old switch back on gives back every letter, as before).

Frozen: it must never import the application models.
"""

# ruff: noqa
from peewee import *


COLUMNS = ("letter_general", "letter_expiry_reminder")


def up(migrator, db):
    # In SQL, not with the migrator: on SQLite it would rebuild the account table to make the
    # column NOT NULL, and the table's triggers (0003) do not survive that. Both back ends add a
    # NOT NULL column with a default in place, every existing row taking the default.
    true = "TRUE" if isinstance(db, PostgresqlDatabase) else "1"
    for column in COLUMNS:
        db.execute_sql(f"ALTER TABLE account ADD COLUMN {column} BOOLEAN NOT NULL DEFAULT {true}")


def down(migrator, db):
    for column in reversed(COLUMNS):
        db.execute_sql(f"ALTER TABLE account DROP COLUMN {column}")
