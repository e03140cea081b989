"""PostgreSQL: name prefixes in name-key order, for the name search at a million people.

The GIN index of `person_name_index` (0003) answers "which people have a word starting with
mu" as a bitmap in heap order: a page in name order then needs every hit fetched and sorted
(hundreds of milliseconds for a two-letter prefix at 1,000,000 people), or a walk of the key
index testing each row (as slow when the hits are not near the start). SQLite's FTS5 keeps
prefix indexes (1 to 3 characters) whose lists are in key order; this is the same on
PostgreSQL: `person_name_prefix(head, key, word)`, one row per word of a person's name and
per head of that word (its first 1, 2 and 3 characters), primary key (head, key, word). The
first page of "mu" is then the first rows of head "mu" in key order (an index-only range
scan); a longer word ("muller") walks head "mul" testing `word LIKE 'muller%'` in the index,
and every further word of the query is an index lookup (head, key).

Kept in step with `person_name_index` by statement-level triggers on insert, update, delete
and truncate (which follow the triggers of 0003 on `person`). SQLite: nothing to do.

Frozen: imports no application code.
"""

# ruff: noqa
from peewee import *

# Every (head, key, word) of the rows of a transition table `t` of person_name_index.
_ROWS = (
    "SELECT DISTINCT left(w, l) AS head, t.key, w AS word "
    "FROM %s t, unnest(tsvector_to_array(t.words)) w, generate_series(1, 3) l"
)


def up(migrator, db):
    if not isinstance(db, PostgresqlDatabase):
        return
    run = db.execute_sql
    run(
        'CREATE TABLE person_name_prefix (head text COLLATE "C" NOT NULL, key bigint NOT NULL, '
        'word text COLLATE "C" NOT NULL)'
    )
    run("INSERT INTO person_name_prefix (head, key, word) " + _ROWS % "person_name_index")
    run("ALTER TABLE person_name_prefix ADD PRIMARY KEY (head, key, word)")
    run(
        "CREATE FUNCTION pd_name_prefix_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO person_name_prefix (head, key, word) "
        + _ROWS % "new_rows"
        + " ON CONFLICT DO NOTHING; RETURN NULL; END $$"
    )
    delete = (
        "DELETE FROM person_name_prefix p USING (%s) d "
        "WHERE p.head = d.head AND p.key = d.key AND p.word = d.word; " % (_ROWS % "old_rows")
    )
    run(
        "CREATE FUNCTION pd_name_prefix_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        + delete
        + "RETURN NULL; END $$"
    )
    run(
        "CREATE FUNCTION pd_name_prefix_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        + delete
        + "INSERT INTO person_name_prefix (head, key, word) "
        + _ROWS % "new_rows"
        + " ON CONFLICT DO NOTHING; RETURN NULL; END $$"
    )
    run(
        "CREATE FUNCTION pd_name_prefix_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "TRUNCATE person_name_prefix; RETURN NULL; END $$"
    )
    run(
        "CREATE TRIGGER name_prefix_insert AFTER INSERT ON person_name_index "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION pd_name_prefix_insert()"
    )
    run(
        "CREATE TRIGGER name_prefix_delete AFTER DELETE ON person_name_index "
        "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION pd_name_prefix_delete()"
    )
    run(
        "CREATE TRIGGER name_prefix_update AFTER UPDATE ON person_name_index "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION pd_name_prefix_update()"
    )
    run(
        "CREATE TRIGGER name_prefix_truncate AFTER TRUNCATE ON person_name_index "
        "FOR EACH STATEMENT EXECUTE FUNCTION pd_name_prefix_truncate()"
    )
    run("ANALYZE person_name_prefix")


def down(migrator, db):
    if not isinstance(db, PostgresqlDatabase):
        return
    run = db.execute_sql
    for trigger in ("insert", "delete", "update", "truncate"):
        run("DROP TRIGGER IF EXISTS name_prefix_%s ON person_name_index" % trigger)
        run("DROP FUNCTION IF EXISTS pd_name_prefix_%s()" % trigger)
    run("DROP TABLE IF EXISTS person_name_prefix")
