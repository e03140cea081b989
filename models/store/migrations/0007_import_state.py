"""ImportState: per account, the fingerprint of the record the last import or SIS load wrote and
the account's version after it, so that a load of an unchanged record skips it without reading
the account (models/transfer/imports/).

Frozen: it must never import the application models.
"""

# ruff: noqa
from peewee import *


def up(migrator, db):
    class Account(Model):
        class Meta:
            database = db
            table_name = "account"

    class ImportState(Model):
        account = ForeignKeyField(Account, on_delete="CASCADE", unique=True)
        source = CharField(max_length=100, default="")
        digest = CharField(max_length=64)
        account_version = IntegerField()
        loaded_at = DateTimeField()

        class Meta:
            database = db
            table_name = "import_state"

    db.create_tables([ImportState])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("import_state"))
