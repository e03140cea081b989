"""`user_group.registration_months` (issue 22, item 1): a user group's registration period in
calendar months (Alma's User Registration Terms of Use). A new account left without an
expiration date expires that many months after its creation, and Renew extends an account by
it; a group without one (NULL, every existing group) uses the `default_expiry_days` setting.

Frozen: it must never import the application models.
"""

# ruff: noqa
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("user_group", "registration_months", IntegerField(null=True))
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_column("user_group", "registration_months"))
