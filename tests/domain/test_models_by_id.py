"""`models.store.reading.models_by_id`: a bulk job's fast read gives the very rows peewee's
select gives (every field, with its Python type), on both back ends (`db`)."""

from __future__ import annotations

import pytest

from models.store.reading import id_list, models_by_id
from models.store.tables import Account, Block, Person, RoleAssignment
from models.users.rows import Kind, add_row
from tests.helpers.details import admin, future, user


def test_the_rows_are_those_of_a_select_field_by_field_and_type(db) -> None:
    accounts = [user(db, f"P{i:04}", purge_date=future(400)) for i in range(3)]
    saved = add_row(Kind.BLOCK, accounts[0].id, accounts[0].version,
                    {"definition": "GENERAL", "expiry_date": future(5)}, admin(db))  # fmt: skip
    for model, ids in (
        (Account, [a.id for a in accounts] + [db.admin.id, 999_999]),
        (Person, [a.person_id for a in accounts]),
        (Block, [saved.row.id]),
        (RoleAssignment, [r.id for r in RoleAssignment.select()]),
    ):
        expected = {r.id: r for r in model.select().where(model.id.in_(ids))}
        got = models_by_id(model, ids, batch=2)
        assert got.keys() == expected.keys()
        for i, row in expected.items():
            assert got[i].__data__ == row.__data__
            assert {k: type(v) for k, v in got[i].__data__.items()} == {
                k: type(v) for k, v in row.__data__.items()
            }
            assert not got[i]._dirty
    account = models_by_id(Account, [accounts[0].id])[accounts[0].id]
    assert account.user_group.code == "PUBLIC" and account.person.last_name == "Müller"
    assert models_by_id(Account, []) == {}
    with pytest.raises(ValueError):
        id_list([])
    with pytest.raises(ValueError):
        id_list(["1) OR (1=1"])  # never text: each id goes through int()


def test_a_row_read_with_some_columns_has_them_and_refuses_the_others(db) -> None:
    """`columns=`: a bulk job reads what its checks read; a column it did not read raises
    when asked for (peewee would give None, and a check would silently pass on it)."""
    from models.jobs.plan import MEMBER_COLUMNS
    from models.store.reading import ColumnNotRead

    account = user(db, "P0001", purge_date=future(400))
    got = models_by_id(Account, [account.id, 999_999], columns=MEMBER_COLUMNS)
    assert list(got) == [account.id]
    row = got[account.id]
    for name in ("id", *MEMBER_COLUMNS):
        assert row.__data__[name] == account.__data__[name]
    assert row.user_group_id == account.user_group_id and row.expiry_date == account.expiry_date
    with pytest.raises(ColumnNotRead):
        _ = row.comm_language
    with pytest.raises(ColumnNotRead):
        _ = row.retired_resource_sharing_library_id  # (a foreign key's id)
    with pytest.raises(ValueError):
        models_by_id(Account, [account.id], columns=("no_such_field",))
