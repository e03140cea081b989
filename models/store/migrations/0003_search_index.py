"""Search engine for Find and Manage Users (`models/search/`).

1. `account.sort_name`: a copy of the person's folded "last first", so that the list of one
   organization can be walked in name order by index (optionally per record type or user group),
   with keyset paging. Kept in step by triggers: on insert (when left empty) and when the
   person's `sort_name` changes.
2. Keyset indexes on account: (organization, record_type | user_group + record_type,
   sort_name | expiry_date, id), covering the status / account type / group filters; and
   role_assignment (role, account) for a filter on a rare role.
3. The name index, keyed by a *name key*: the first 7 characters of `person.sort_name`, 5 bits
   each, order-preserving, above the 28-bit person id. Hits read in key order come out in name
   order up to ties inside one 7-character bucket, so a page of a broad search ("a" matching
   hundreds of thousands of people) reads about one page of hits instead of sorting them all.
   - SQLite: FTS5 contentless table `person_name_fts(words)`, rowid = name key, prefix indexes
     for 1 to 3 characters; triggers on person insert / delete / update of the names.
   - PostgreSQL: table `person_name_index(key, person_id, words tsvector)` with a GIN index;
     statement-level triggers on insert / delete, a row trigger on update of the names.
   Neither is a peewee model: `diff_models` does not see them.

Frozen: imports no application code. `models/search/` computes the same key in Python; a test
checks that both agree.
"""
# ruff: noqa
from peewee import *

KEY_CHARS = 7
ID_BITS = 28
MAX_PERSON_ID = (1 << ID_BITS) - 1


def _code_sql(char_sql, pg):
    # Order-preserving 5-bit code of one character (0: no character). Same as
    # models.search.engine._char_code.
    c = "ascii(%s)" % char_sql if pg else "unicode(%s)" % char_sql
    absent = "%s = 0" % c if pg else "%s IS NULL" % c
    return (
        "(CASE WHEN {absent} THEN 0 WHEN {c} <= 47 THEN 1 WHEN {c} <= 96 THEN 2 "
        "WHEN {c} <= 122 THEN {c} - 94 WHEN {c} <= 879 THEN 29 WHEN {c} <= 1279 THEN 30 "
        "ELSE 31 END)"
    ).format(absent=absent, c=c)


def name_key_sql(sort_name, person_id, pg=False):
    parts = []
    for i in range(KEY_CHARS):
        shift = ID_BITS + 5 * (KEY_CHARS - 1 - i)
        code = _code_sql("substr(%s, %d, 1)" % (sort_name, i + 1), pg)
        parts.append("(%s%s << %d)" % (code, "::bigint" if pg else "", shift))
    parts.append("(%s)" % person_id)
    return " | ".join(parts)


# Keyset walks of one organization's list, per record type (a tab of two record types, or all,
# merges the walks) or per user group and record type; the trailing columns make the walk
# covering for the status, account type and group filters. Names are used by models/search/
# (SQLite `INDEXED BY`).
ACCOUNT_INDEXES = (
    ("account_search_type_name",
     "organization_id, record_type, sort_name, id, status, expiry_date, account_type, user_group_id"),
    ("account_search_group_name",
     "organization_id, user_group_id, record_type, sort_name, id, status, expiry_date, account_type"),
    ("account_search_type_expiry",
     "organization_id, record_type, expiry_date, id, status, account_type, user_group_id"),
    ("account_search_group_expiry",
     "organization_id, user_group_id, record_type, expiry_date, id, status, account_type"),
)
ROLE_INDEX = ("role_assignment_role_account", "role_assignment", "role, account_id")


def _sqlite_up(db):
    run = db.execute_sql
    run(
        "CREATE VIRTUAL TABLE person_name_fts USING fts5(words, content='', "
        "tokenize='unicode61 remove_diacritics 0', prefix='1 2 3')"
    )
    new_key = name_key_sql("NEW.sort_name", "NEW.id")
    old_key = name_key_sql("OLD.sort_name", "OLD.id")
    guard = (
        "SELECT RAISE(ABORT, 'person id beyond the range of the name search index') "
        "WHERE NEW.id > %d;" % MAX_PERSON_ID
    )
    run(
        "CREATE TRIGGER person_name_ai AFTER INSERT ON person BEGIN %s "
        "INSERT INTO person_name_fts(rowid, words) VALUES (%s, NEW.search_text); END"
        % (guard, new_key)
    )
    run(
        "CREATE TRIGGER person_name_ad AFTER DELETE ON person BEGIN "
        "INSERT INTO person_name_fts(person_name_fts, rowid, words) "
        "VALUES ('delete', %s, OLD.search_text); END" % old_key
    )
    run(
        "CREATE TRIGGER person_name_au AFTER UPDATE OF id, sort_name, search_text ON person "
        "WHEN OLD.id IS NOT NEW.id OR OLD.sort_name IS NOT NEW.sort_name "
        "OR OLD.search_text IS NOT NEW.search_text BEGIN %s "
        "INSERT INTO person_name_fts(person_name_fts, rowid, words) "
        "VALUES ('delete', %s, OLD.search_text); "
        "INSERT INTO person_name_fts(rowid, words) VALUES (%s, NEW.search_text); END"
        % (guard, old_key, new_key)
    )
    run(
        "CREATE TRIGGER person_sort_name_au AFTER UPDATE OF id, sort_name ON person "
        "WHEN OLD.id IS NOT NEW.id OR OLD.sort_name IS NOT NEW.sort_name BEGIN "
        "UPDATE account SET sort_name = NEW.sort_name WHERE person_id = NEW.id; END"
    )
    fill = (
        "UPDATE account SET sort_name = "
        "COALESCE((SELECT p.sort_name FROM person p WHERE p.id = NEW.person_id), '') "
        "WHERE id = NEW.id;"
    )
    run(
        "CREATE TRIGGER account_sort_name_ai AFTER INSERT ON account "
        "WHEN NEW.sort_name IS NULL OR NEW.sort_name = '' BEGIN %s END" % fill
    )
    run(
        "CREATE TRIGGER account_sort_name_au AFTER UPDATE OF person_id ON account "
        "WHEN OLD.person_id IS NOT NEW.person_id BEGIN %s END" % fill
    )
    run(
        "INSERT INTO person_name_fts(rowid, words) SELECT %s, search_text FROM person"
        % name_key_sql("sort_name", "id")
    )


def _pg_up(db):
    run = db.execute_sql
    run(
        "CREATE FUNCTION pd_name_key(s text, pid bigint) RETURNS bigint "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT %s $$"
        % name_key_sql("s", "pid", pg=True)
    )
    run(
        "CREATE TABLE person_name_index ("
        "key bigint PRIMARY KEY, "
        "person_id integer NOT NULL REFERENCES person (id) ON DELETE CASCADE, "
        "words tsvector NOT NULL)"
    )
    run("CREATE INDEX person_name_index_words ON person_name_index USING gin (words)")
    run("CREATE INDEX person_name_index_person_id ON person_name_index (person_id)")
    guard = (
        "IF EXISTS (SELECT 1 FROM new_rows WHERE id > %d) THEN "
        "RAISE EXCEPTION 'person id beyond the range of the name search index'; END IF;"
        % MAX_PERSON_ID
    )
    run(
        "CREATE FUNCTION pd_person_name_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        + guard
        + " INSERT INTO person_name_index (key, person_id, words) "
        "SELECT pd_name_key(n.sort_name, n.id), n.id, to_tsvector('simple', n.search_text) "
        "FROM new_rows n ON CONFLICT (key) DO UPDATE "
        "SET person_id = EXCLUDED.person_id, words = EXCLUDED.words; "
        "RETURN NULL; END $$"
    )
    run(
        "CREATE TRIGGER person_name_insert AFTER INSERT ON person "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION pd_person_name_insert()"
    )
    # Deletes follow the foreign key (ON DELETE CASCADE), truncation its CASCADE.
    run(
        "CREATE FUNCTION pd_person_name_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.id > %d THEN "
        "RAISE EXCEPTION 'person id beyond the range of the name search index'; END IF; "
        "DELETE FROM person_name_index WHERE key = pd_name_key(OLD.sort_name, OLD.id); "
        "INSERT INTO person_name_index (key, person_id, words) VALUES "
        "(pd_name_key(NEW.sort_name, NEW.id), NEW.id, to_tsvector('simple', NEW.search_text)) "
        "ON CONFLICT (key) DO UPDATE SET person_id = EXCLUDED.person_id, words = EXCLUDED.words; "
        "IF NEW.sort_name IS DISTINCT FROM OLD.sort_name OR NEW.id <> OLD.id THEN "
        "UPDATE account SET sort_name = NEW.sort_name WHERE person_id = NEW.id; END IF; "
        "RETURN NULL; END $$" % MAX_PERSON_ID
    )
    run(
        "CREATE TRIGGER person_name_update AFTER UPDATE OF id, sort_name, search_text ON person "
        "FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id "
        "OR OLD.sort_name IS DISTINCT FROM NEW.sort_name "
        "OR OLD.search_text IS DISTINCT FROM NEW.search_text) "
        "EXECUTE FUNCTION pd_person_name_update()"
    )
    run(
        "CREATE FUNCTION pd_account_sort_name() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.sort_name IS NULL OR NEW.sort_name = '' OR TG_OP = 'UPDATE' THEN "
        "NEW.sort_name := COALESCE((SELECT p.sort_name FROM person p "
        "WHERE p.id = NEW.person_id), ''); END IF; RETURN NEW; END $$"
    )
    run(
        "CREATE TRIGGER account_sort_name BEFORE INSERT OR UPDATE OF person_id ON account "
        "FOR EACH ROW EXECUTE FUNCTION pd_account_sort_name()"
    )
    run(
        "INSERT INTO person_name_index (key, person_id, words) "
        "SELECT pd_name_key(sort_name, id), id, to_tsvector('simple', search_text) FROM person"
    )


def up(migrator, db):
    pg = isinstance(db, PostgresqlDatabase)
    # PostgreSQL: byte (code point) order whatever the database's collation, as on SQLite: the
    # name key, the keyset comparisons and the merge of walks in Python all assume it.
    collate = ' COLLATE "C"' if pg else ""
    db.execute_sql(
        "ALTER TABLE account ADD COLUMN sort_name VARCHAR(210)%s NOT NULL DEFAULT ''" % collate
    )
    db.execute_sql(
        "UPDATE account SET sort_name = "
        "COALESCE((SELECT p.sort_name FROM person p WHERE p.id = account.person_id), '')"
    )
    for name, columns in ACCOUNT_INDEXES:
        db.execute_sql("CREATE INDEX %s ON account (%s)" % (name, columns))
    db.execute_sql("CREATE INDEX %s ON %s (%s)" % ROLE_INDEX)
    if pg:
        _pg_up(db)
    else:
        _sqlite_up(db)


def down(migrator, db):
    pg = isinstance(db, PostgresqlDatabase)
    run = db.execute_sql
    if pg:
        run("DROP TRIGGER IF EXISTS account_sort_name ON account")
        run("DROP TRIGGER IF EXISTS person_name_update ON person")
        run("DROP TRIGGER IF EXISTS person_name_insert ON person")
        run("DROP TABLE IF EXISTS person_name_index")
        for fn in ("pd_account_sort_name()", "pd_person_name_update()",
                   "pd_person_name_insert()", "pd_name_key(text, bigint)"):
            run("DROP FUNCTION IF EXISTS %s" % fn)
    else:
        for trigger in ("account_sort_name_au", "account_sort_name_ai", "person_sort_name_au",
                        "person_name_au", "person_name_ad", "person_name_ai"):
            run("DROP TRIGGER IF EXISTS %s" % trigger)
        run("DROP TABLE IF EXISTS person_name_fts")
    for name, _ in ACCOUNT_INDEXES:
        run("DROP INDEX IF EXISTS %s" % name)
    run("DROP INDEX IF EXISTS %s" % ROLE_INDEX[0])
    migrator.migrate(migrator.drop_column("account", "sort_name"))
