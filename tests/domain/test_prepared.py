"""`models.store.reading.Prepared`: a statement built once gives, with other values, the very
rows the query built afresh gives, on both back ends (`db`); a value that is not a bound
parameter is refused when the statement is first built, not misread later."""

from __future__ import annotations

import pytest

from models.store.reading import Prepared
from models.store.tables import Account, Identifier, Person, RoleAssignment
from models.users.libraries import library_codes
from tests.helpers.details import admin, future, user


def test_the_rows_are_those_of_the_query_built_afresh_for_every_value(db) -> None:
    accounts = [user(db, f"P{i:04}", purge_date=future(400)) for i in range(3)]
    by_id = Prepared(lambda account_id: Account.select().where(Account.id == account_id))
    ids_of = Prepared(
        lambda account_id, value: (
            Identifier.select(Identifier.value, Identifier.is_primary)
            .where((Identifier.account == account_id) & (Identifier.value != value))
            .order_by(Identifier.id)
            .tuples()
        )
    )
    for account in [*accounts, admin(db).account]:
        expected = Account.get_by_id(account.id)
        got = by_id.first(account.id)
        assert got.__data__ == expected.__data__ and not got._dirty
        assert got.person.last_name == Person.get_by_id(expected.person_id).last_name
        assert ids_of.rows(account.id, "nothing") == list(
            Identifier.select(Identifier.value, Identifier.is_primary)
            .where(Identifier.account == account.id)
            .order_by(Identifier.id)
            .tuples()
        )
        assert ids_of.rows(account.id, account.primary_id) == [
            row for row in ids_of.rows(account.id, "nothing") if row[0] != account.primary_id
        ]
    assert by_id.first(999_999) is None
    count = Prepared(
        lambda account_id: RoleAssignment.select(RoleAssignment.id).where(
            RoleAssignment.account == account_id
        )
    )
    assert count.rows(db.admin.id) and count.rows(accounts[0].id) != count.rows(db.admin.id)
    assert library_codes(accounts[0].id, "resource_sharing_libraries") == []


def test_values_must_be_bound_parameters_of_the_right_kind(db) -> None:
    listed = Prepared(lambda account_id: Account.select().where(Account.id.in_([account_id, 2])))
    listed.rows(1)  # an `in_` list of a fixed length: each value a parameter of its own
    inlined = Prepared(lambda account_id: Account.select().where(Account.id == 1))
    with pytest.raises(ValueError):
        inlined.rows(1)  # the value never reaches the statement: refused, not ignored
    by_id = Prepared(lambda account_id: Account.select().where(Account.id == account_id))
    with pytest.raises(TypeError):
        by_id.rows(1, 2)
    with pytest.raises(TypeError):
        by_id.rows(db.admin)  # a model: its id is to be given
    with pytest.raises(TypeError):
        by_id.rows(True)
