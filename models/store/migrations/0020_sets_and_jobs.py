"""Sets and bulk jobs (issue 23): `user_set` (a named set of one organization's users, logical:
a saved search, or itemized: `user_set_member`), `job` and `job_item` (a bulk job on a set, one
row per member with the version read and the outcome, so that a killed job continues where it
stopped), and `audit_event.job_id` (the History of a change made by a job names the job; undo
reads it back).

Frozen: it must never import the application models.
"""

# ruff: noqa
from peewee import *


def up(migrator, db):
    class Organization(Model):
        class Meta:
            database = db
            table_name = "organization"

    class Account(Model):
        class Meta:
            database = db
            table_name = "account"

    class UserSet(Model):
        organization = ForeignKeyField(Organization, field=Organization.id, on_delete="CASCADE")
        name = CharField(max_length=100)
        name_key = CharField(max_length=100)
        kind = CharField(max_length=10)
        query = TextField(default="")
        created_by = CharField(max_length=100, default="")
        created_at = DateTimeField()
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = "user_set"
            indexes = ((("organization", "name_key"), True),)

    class UserSetMember(Model):
        user_set = ForeignKeyField(UserSet, field=UserSet.id, on_delete="CASCADE")
        account = ForeignKeyField(Account, field=Account.id, on_delete="CASCADE")

        class Meta:
            database = db
            table_name = "user_set_member"
            indexes = ((("user_set", "account"), True),)

    class Job(Model):
        organization = ForeignKeyField(Organization, field=Organization.id, on_delete="CASCADE")
        user_set = ForeignKeyField(UserSet, field=UserSet.id, null=True, on_delete="SET NULL")
        set_name = CharField(max_length=100, default="")
        kind = CharField(max_length=10)
        params = TextField(default="{}")
        state = CharField(max_length=10, default="running")
        actor_id = IntegerField(null=True)
        actor = CharField(max_length=100, default="")
        source = CharField(max_length=10, default="")
        created_at = DateTimeField()
        finished_at = DateTimeField(null=True)
        total = IntegerField(default=0)
        changed = IntegerField(default=0)
        unchanged = IntegerField(default=0)
        skipped = IntegerField(default=0)
        failed = IntegerField(default=0)
        undo_of = IntegerField(null=True)

        class Meta:
            database = db
            table_name = "job"

    class JobItem(Model):
        job = ForeignKeyField(Job, field=Job.id, on_delete="CASCADE")
        seq = IntegerField()
        account_id = IntegerField()
        primary_id = CharField(max_length=100, default="")
        version = IntegerField(default=0)
        version_after = IntegerField(null=True)
        outcome = CharField(max_length=10, default="")
        reason = TextField(default="")

        class Meta:
            database = db
            table_name = "job_item"
            indexes = ((("job", "seq"), True), (("job", "outcome"), False))

    db.create_tables([UserSet, UserSetMember, Job, JobItem])
    # In SQL, as 0016: a nullable column added in place (the migrator would rebuild the table on
    # SQLite).
    db.execute_sql("ALTER TABLE audit_event ADD COLUMN job_id INTEGER")
    db.execute_sql("CREATE INDEX audit_event_job_id ON audit_event (job_id)")


def down(migrator, db):
    db.execute_sql("DROP INDEX audit_event_job_id")
    db.execute_sql("ALTER TABLE audit_event DROP COLUMN job_id")
    for table in ("job_item", "job", "user_set_member", "user_set"):
        db.execute_sql(f"DROP TABLE {table}")
