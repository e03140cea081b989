"""The name key made order-preserving for every sort name (migration 0003's key was not).

The key's 5-bit code of a character stands for a class of characters (letters one each; the
others in classes: 1..47, 48..96, 123..879, ...). Coding the characters after one of a class
made the key disagree with name order: "le roux" < "le-blanc" (space before hyphen) while
their keys compared on "r" > "b", so a name search could page "Le-Blanc" before "Le Roux" and
then skip "Le Roux" on the next page. Now the key stops (codes 0 after) at a character that is
not the highest of its class, and space is the highest of class 1 (1..32), so that:

    a < b  implies  key bucket(a) <= bucket(b)

Letters and spaces (most names) keep their key; names with a hyphen, an apostrophe, a digit or
a letter outside a-z in their first 7 characters get a shorter one (a wider bucket).

SQLite: the three triggers of person_name_fts are made again with the new key SQL, and the rows
whose key changes are moved in the index. PostgreSQL: `pd_name_key` is replaced, and the rows
of person_name_index whose key changes are updated (migration 0009's triggers move their
prefixes).

Frozen: imports no application code. `models/search/` computes the same key in Python; a test
checks that both agree.
"""

# ruff: noqa
from peewee import *

KEY_CHARS = 7
ID_BITS = 28
MAX_PERSON_ID = (1 << ID_BITS) - 1
# The highest character of each class: the only one of a class after which the key goes on.
CLASS_TOPS = (32, 96, 879, 1279, 1114111)


def _ord_sql(char_sql, pg):
    return "ascii(%s)" % char_sql if pg else "unicode(%s)" % char_sql


def _code_sql(c, pg):
    # Same as models.search.engine._char_code (0: no character).
    absent = "%s = 0" % c if pg else "%s IS NULL" % c
    return (
        "(CASE WHEN {absent} THEN 0 WHEN {c} <= 32 THEN 1 WHEN {c} <= 96 THEN 2 "
        "WHEN {c} <= 122 THEN {c} - 94 WHEN {c} <= 879 THEN 29 WHEN {c} <= 1279 THEN 30 "
        "ELSE 31 END)"
    ).format(absent=absent, c=c)


def _goes_on_sql(c):
    # The key goes on after this character: a letter a-z, or the top of its class.
    return "(%s BETWEEN 97 AND 122 OR %s IN (%s))" % (c, c, ", ".join(map(str, CLASS_TOPS)))


def name_key_sql(sort_name, person_id, pg=False):
    parts = []
    chars = [_ord_sql("substr(%s, %d, 1)" % (sort_name, i + 1), pg) for i in range(KEY_CHARS)]
    for i in range(KEY_CHARS):
        shift = ID_BITS + 5 * (KEY_CHARS - 1 - i)
        code = _code_sql(chars[i], pg)
        if i:
            going = " AND ".join(_goes_on_sql(c) for c in chars[:i])
            code = "(CASE WHEN %s THEN %s ELSE 0 END)" % (going, code)
        parts.append("(%s%s << %d)" % (code, "::bigint" if pg else "", shift))
    parts.append("(%s)" % person_id)
    return " | ".join(parts)


def _old_key_sql(sort_name, person_id, pg=False):
    import importlib

    return importlib.import_module("models.store.migrations.0003_search_index").name_key_sql(
        sort_name, person_id, pg
    )


def _sqlite_up(db):
    import json

    run = db.execute_sql

    def renew(sql):
        for side in ("NEW", "OLD"):
            old = _old_key_sql(side + ".sort_name", side + ".id")
            sql = sql.replace(old, name_key_sql(side + ".sort_name", side + ".id"))
        if "<= 47 THEN 1" in sql:  # a key of 0003 that was not replaced
            raise RuntimeError("a name-index trigger holds an unexpected key: %s" % sql)
        return sql

    triggers = run(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
        "AND name IN ('person_name_ai', 'person_name_ad', 'person_name_au')"
    ).fetchall()
    for name, sql in triggers:
        run('DROP TRIGGER "%s"' % name)
        run(renew(sql))
    # A large load that deferred the insert trigger (models/store/bulk.py) recorded its SQL: renew
    # it there; the people it added are not in the index yet (its restore adds them).
    only = ""
    row = run("SELECT value FROM setting WHERE key = 'bulk_load.deferred'").fetchone()
    if row is not None:
        try:
            record = json.loads(row[0])
        except ValueError:
            record = None
        if isinstance(record, dict):
            if record.get("trigger"):
                record["trigger"] = renew(record["trigger"])
                run(
                    "UPDATE setting SET value = ? WHERE key = 'bulk_load.deferred'",
                    (json.dumps(record),),
                )
            only = " AND id <= %d" % int(record.get("person_from") or 0)
    # Move the rows whose key changes (contentless FTS5: a delete names the old words).
    old, new = _old_key_sql("sort_name", "id"), name_key_sql("sort_name", "id")
    moved = "FROM person WHERE (%s) <> (%s)%s" % (old, new, only)
    run(
        "INSERT INTO person_name_fts(person_name_fts, rowid, words) "
        "SELECT 'delete', %s, search_text %s" % (old, moved)
    )
    run(
        "INSERT INTO person_name_fts(rowid, words) SELECT key, search_text FROM "
        "(SELECT %s AS key, search_text %s) ORDER BY key" % (new, moved)
    )


def _pg_up(db):
    run = db.execute_sql
    run(
        "CREATE OR REPLACE FUNCTION pd_name_key(s text, pid bigint) RETURNS bigint "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT %s $$"
        % name_key_sql("s", "pid", pg=True)
    )
    run(
        "UPDATE person_name_index i SET key = pd_name_key(p.sort_name, p.id) FROM person p "
        "WHERE p.id = i.person_id AND i.key <> pd_name_key(p.sort_name, p.id)"
    )


def up(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        _pg_up(db)
    else:
        _sqlite_up(db)
