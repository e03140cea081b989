"""Duplicates (issue 24): `person.name_sound_key`, the duplicate check's blocking key (the
sounds of a person's last and first names, sorted: `models.duplicates.keys.name_sound_key`),
computed here for the people already stored and indexed; an index on `phone.number` (a phone
typed in the new-user form is looked up); and `duplicate_dismissal`, the pairs of people staff
marked "not a duplicate".

Frozen: it must never import the application models. The key below is a copy of the
application's rule as it was written with this migration (a later change of the rule comes with
its own migration that computes the column again).
"""

# ruff: noqa
import re

from peewee import *

BATCH = 5000

_UMLAUT_SPELLED = re.compile(r"(?<=[^aeiou\s])ue|ae|oe")
_NOT_LETTER = re.compile(r"[^a-z]+")
_DOUBLE = re.compile(r"(.)\1+")


def _sound(text):
    import jellyfish
    from anyascii import anyascii

    if not text:
        return ""
    words = _NOT_LETTER.sub(" ", anyascii(text).lower()).split()
    folded = "".join(_UMLAUT_SPELLED.sub(lambda m: m.group(0)[0], w) for w in words)
    if not folded:
        return ""
    return _DOUBLE.sub(r"\1", jellyfish.metaphone(folded))


def _key(last, first):
    last = _sound(last)
    if not last:
        return ""
    first = _sound(first)
    return " ".join(sorted((last, first)) if first else [last])[:100]


def up(migrator, db):
    class Organization(Model):
        class Meta:
            database = db
            table_name = "organization"

    class Person(Model):
        class Meta:
            database = db
            table_name = "person"

    class DuplicateDismissal(Model):
        organization = ForeignKeyField(Organization, field=Organization.id, on_delete="CASCADE")
        person_low = ForeignKeyField(Person, field=Person.id, on_delete="CASCADE", backref="+")
        person_high = ForeignKeyField(Person, field=Person.id, on_delete="CASCADE", backref="+")
        marked_by = CharField(max_length=100, default="")
        marked_at = DateTimeField()

        class Meta:
            database = db
            table_name = "duplicate_dismissal"
            indexes = ((("organization", "person_low", "person_high"), True),)

    db.create_tables([DuplicateDismissal])
    # Raw DDL, as 0012: peewee's NOT NULL step rebuilds an SQLite table, which its search
    # triggers do not survive.
    db.execute_sql("ALTER TABLE person ADD COLUMN name_sound_key VARCHAR(100) NOT NULL DEFAULT ''")
    pg = isinstance(db, PostgresqlDatabase)
    last = 0
    while True:
        rows = db.execute_sql(
            "SELECT id, last_name, first_name FROM person WHERE id > %s ORDER BY id LIMIT %d"
            % (db.param, BATCH),
            (last,),
        ).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        values = [(_key(ln, fn), pid) for pid, ln, fn in rows]
        values = [v for v in values if v[0]]
        if not values:
            continue
        if pg:
            from psycopg2.extras import execute_values

            execute_values(
                db.cursor(),
                "UPDATE person SET name_sound_key = v.k FROM (VALUES %s) AS v(k, i) "
                "WHERE person.id = v.i",
                values,
                page_size=1000,
            )
        else:
            db.cursor().executemany("UPDATE person SET name_sound_key = ? WHERE id = ?", values)
    db.execute_sql("CREATE INDEX person_name_sound_key ON person (name_sound_key)")
    db.execute_sql("CREATE INDEX phone_number ON phone (number)")


def down(migrator, db):
    db.execute_sql("DROP INDEX phone_number")
    db.execute_sql("DROP INDEX person_name_sound_key")
    migrator.migrate(migrator.drop_column("person", "name_sound_key"))
    db.execute_sql("DROP TABLE duplicate_dismissal")
