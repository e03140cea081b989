"""Code tables that are lists in Alma (issue 22, item 6 a-c):
- `user_title`: the organization's list of titles (Alma's User Titles code table, "These can be
  configured by an administrator": alma-managing-users). With entries, the forms offer Title as a
  choice of the active ones; without, it stays free text. The person's `title` stays text: a
  title stored before (or imported) is kept as it is.
- `job_category.record_types` and `identifier_type.record_types`: the record types an entry
  applies to, as `user_group.record_types` (comma-separated; '' means every record type, so
  every existing entry goes on applying to every record).

Frozen: it must never import the application models.
"""

# ruff: noqa
from peewee import *


TABLES = ("job_category", "identifier_type")


def up(migrator, db):
    class Organization(Model):
        class Meta:
            database = db
            table_name = "organization"

    class UserTitle(Model):
        organization = ForeignKeyField(Organization, field=Organization.id, on_delete="CASCADE")
        code = CharField(max_length=50)
        name = CharField(max_length=200)
        description = TextField(default="")
        active = BooleanField(default=True)

        class Meta:
            database = db
            table_name = "user_title"
            indexes = ((("organization", "code"), True),)

    db.create_tables([UserTitle])
    # In SQL, as 0016: on SQLite the migrator would rebuild the tables to make the columns
    # NOT NULL. Both back ends add a NOT NULL column with a default in place.
    for table in TABLES:
        db.execute_sql(
            f"ALTER TABLE {table} ADD COLUMN record_types VARCHAR(200) NOT NULL DEFAULT ''"
        )


def down(migrator, db):
    for table in reversed(TABLES):
        db.execute_sql(f"ALTER TABLE {table} DROP COLUMN record_types")
    db.execute_sql("DROP TABLE user_title")
