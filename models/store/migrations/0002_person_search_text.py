"""Person.search_text: the folded words of every name, which the name search indexes.

Existing rows are filled here in Python (folding needs `unicodedata`, not SQL).
"""
# ruff: noqa
import re
import unicodedata

from peewee import *

_EXTRA = str.maketrans({"ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "æ": "ae",
                        "Æ": "ae", "œ": "oe", "Œ": "oe", "ı": "i", "þ": "th", "Þ": "th"})
_SPLIT = re.compile(r"[^\w]+|_")


def _words(*names):
    seen = {}
    for name in names:
        text = unicodedata.normalize("NFKD", (name or "").translate(_EXTRA))
        text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
        for word in _SPLIT.split(text):
            if word:
                seen.setdefault(word, None)
    return " ".join(seen)


def up(migrator, db):
    migrator.migrate(migrator.add_column("person", "search_text", TextField(default="")))
    cursor = db.execute_sql(
        "SELECT id, last_name, first_name, middle_name, preferred_first_name, "
        "preferred_middle_name, preferred_last_name FROM person"
    )
    for row in cursor.fetchall():
        db.execute_sql(
            "UPDATE person SET search_text = %s WHERE id = %s" % (db.param, db.param),
            (_words(*row[1:]), row[0]),
        )


def down(migrator, db):
    migrator.migrate(migrator.drop_column("person", "search_text"))
