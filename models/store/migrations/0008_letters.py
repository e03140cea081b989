"""Letters and password reset (issue 9): `letter.once_key` (a letter sent once per key: the
expiry reminder per account and expiry date), `letter.resend_of` (a resent letter points at the
one it repeats), and `reset_code` (one-time password-reset codes, stored hashed).

Frozen: it must never import the application models. Independent of 0005-0007.
"""

# ruff: noqa
from peewee import *


def up(migrator, db):
    class Person(Model):
        class Meta:
            database = db
            table_name = "person"

    class Letter(Model):
        class Meta:
            database = db
            table_name = "letter"

    class ResetCode(Model):
        person = ForeignKeyField(Person, on_delete="CASCADE")
        code_hash = CharField(max_length=255)
        created_at = DateTimeField()
        expires_at = DateTimeField()
        attempts = IntegerField(default=0)
        used_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "reset_code"

    db.create_tables([ResetCode])

    migrator.migrate(
        migrator.add_column(
            "letter", "once_key", CharField(max_length=100, null=True, unique=True)
        ),
        migrator.add_column(
            "letter",
            "resend_of_id",
            ForeignKeyField(Letter, field=Letter.id, null=True, on_delete="SET NULL"),
        ),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column("letter", "resend_of_id"),
        migrator.drop_column("letter", "once_key"),
        migrator.drop_table("reset_code"),
    )
