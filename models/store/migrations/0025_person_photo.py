"""`person_photo` (issue 25, item 2): one photo per person, shared by their accounts, stored
once as `models.users.photos` made it (a JPEG without metadata, fitted into its box). A table
of its own: no read of a person or an account carries the picture's bytes.

Frozen: it must never import the application models.
"""

# ruff: noqa
import datetime as dt

from peewee import *


def up(migrator, db):
    class Person(Model):
        class Meta:
            database = db
            table_name = 'person'

    class PersonPhoto(Model):
        person = ForeignKeyField(Person, unique=True, on_delete='CASCADE')
        mime_type = CharField(max_length=50, default='image/jpeg')
        width = IntegerField()
        height = IntegerField()
        data = BlobField()
        created_by = CharField(max_length=100, default='')
        created_at = DateTimeField(default=dt.datetime.now)
        class Meta:
            database = db
            table_name = 'person_photo'

    db.create_tables([PersonPhoto])


def down(migrator, db):
    db.execute_sql("DROP TABLE person_photo")
