"""`person.username_skeleton` (issue 18, item 5): what a username looks like, so that a new
username that looks like an existing one ("аdmin" with a Cyrillic a for "admin") is refused
with one indexed lookup. The value is the UTS #39 skeleton of the NFKC, case-folded username
(`models.text.username_skeleton`); here it is computed for the existing people.

Frozen: it must never import the application models. The skeleton below is a copy of the
application's rule as it was written with this migration (a later change of the rule comes
with its own migration that computes the column again).
"""

# ruff: noqa
import unicodedata

from peewee import *

BATCH = 5000


def _prototypes():
    from confusable_homoglyphs.utils import load

    marks = str.maketrans("", "", "\u200e\u200f")
    pairs = {}
    for key, items in load("confusables.json").items():
        pairs.setdefault(key.translate(marks), []).extend(
            item["c"].translate(marks) for item in items
        )
    proto = {}
    for key, others in pairs.items():
        if len(key) != 1 or len(others) > 1:
            continue
        other = others[0]
        if len(pairs.get(other, ())) > 1 or len(other) > 1 or other < key:
            proto[key] = other
    return proto


def _ignorable(ch):
    code = ord(ch)
    return (
        unicodedata.category(ch) == "Cf"
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or code in (0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0)
    )


def _skeleton(username, proto):
    text = unicodedata.normalize("NFKC", username).casefold()
    mapped = "".join(
        proto.get(ch, ch) for ch in unicodedata.normalize("NFD", text) if not _ignorable(ch)
    )
    return unicodedata.normalize("NFD", mapped)[:400]


def up(migrator, db):
    # Raw DDL, as 0003: peewee's NOT NULL step rebuilds an SQLite table, which its search
    # triggers do not survive.
    db.execute_sql(
        "ALTER TABLE person ADD COLUMN username_skeleton VARCHAR(400) NOT NULL DEFAULT ''"
    )
    proto = _prototypes()
    pg = isinstance(db, PostgresqlDatabase)
    last = 0
    while True:
        rows = db.execute_sql(
            "SELECT id, username FROM person WHERE id > %s ORDER BY id LIMIT %d"
            % (db.param, BATCH),
            (last,),
        ).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        values = [(_skeleton(name or "", proto), pid) for pid, name in rows]
        if pg:
            from psycopg2.extras import execute_values

            execute_values(
                db.cursor(),
                "UPDATE person SET username_skeleton = v.s FROM (VALUES %s) AS v(s, i) "
                "WHERE person.id = v.i",
                values,
                page_size=1000,
            )
        else:
            db.cursor().executemany("UPDATE person SET username_skeleton = ? WHERE id = ?", values)
    db.execute_sql("CREATE INDEX person_username_skeleton ON person (username_skeleton)")


def down(migrator, db):
    db.execute_sql("DROP INDEX person_username_skeleton")
    migrator.migrate(migrator.drop_column("person", "username_skeleton"))
