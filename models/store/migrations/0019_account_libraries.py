"""`account_library` (issue 22, item 6d): an account's resource sharing libraries and purchase
request libraries, several of each, as Alma has them ("Managing Users": "You can select one or
more resource sharing libraries in this multi-select field"; "Purchase request library ... You
may select one or more libraries in this multi-select field"). One row per account, kind
("resource_sharing" or "purchase_request") and library.

The single columns `account.resource_sharing_library_id` and `purchase_request_library_id` are
copied into it, then emptied: the table is the one home of the value afterwards. The columns
stay, always empty (the model names them `retired_*`): SQLite cannot drop a column named in a
table FOREIGN KEY clause without rebuilding the account table, and a rebuild loses its triggers
(0003); both back ends keep the same schema.

Frozen: it must never import the application models.
"""

# ruff: noqa
from peewee import *


KINDS = (("resource_sharing", "resource_sharing_library_id"),
         ("purchase_request", "purchase_request_library_id"))


def up(migrator, db):
    class Library(Model):
        class Meta:
            database = db
            table_name = 'library'

    class Account(Model):
        class Meta:
            database = db
            table_name = 'account'

    class AccountLibrary(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        kind = CharField(max_length=20)
        library = ForeignKeyField(Library, on_delete='RESTRICT')
        class Meta:
            database = db
            table_name = 'account_library'
            indexes = ((('account', 'kind', 'library'), True),)

    db.create_tables([AccountLibrary])
    for kind, column in KINDS:
        db.execute_sql(
            "INSERT INTO account_library (account_id, kind, library_id) "
            f"SELECT id, '{kind}', {column} FROM account WHERE {column} IS NOT NULL ORDER BY id"
        )
    db.execute_sql(
        "UPDATE account SET resource_sharing_library_id = NULL, purchase_request_library_id = NULL "
        "WHERE resource_sharing_library_id IS NOT NULL OR purchase_request_library_id IS NOT NULL"
    )


def down(migrator, db):
    # Back to one of each: the first library given of each kind.
    for kind, column in KINDS:
        db.execute_sql(
            f"UPDATE account SET {column} = (SELECT library_id FROM account_library "
            f"WHERE account_library.account_id = account.id AND kind = '{kind}' "
            "ORDER BY account_library.id LIMIT 1)"
        )
    db.execute_sql("DROP TABLE account_library")
