"""LocalOverride: General-tab fields changed by hand on an external account, with the value the
SIS had supplied, so that the next SIS load keeps the staff value until "original value".

Frozen: it must never import the application models.
"""
# ruff: noqa
from peewee import *


def up(migrator, db):
    class Account(Model):
        class Meta:
            database = db
            table_name = 'account'

    class LocalOverride(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        field = CharField(max_length=60)
        original = TextField(null=True)
        changed_by = CharField(max_length=100, default='')
        changed_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'local_override'
            indexes = ((('account', 'field'), True),)
    db.create_tables([LocalOverride])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('local_override'))
