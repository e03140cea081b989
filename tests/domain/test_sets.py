"""Sets of users (issue 23): logical sets evaluated by the search when used, itemized sets and
sets from a file of identifiers; members follow permissions (a desk sees public users only)
and the organization. Both back ends through `db`."""

from __future__ import annotations

import pytest

from models.enums import Role
from models.errors import NotFound, ValidationError
from models.jobs.sets import (
    ITEMIZED,
    LOGICAL,
    create_itemized_set,
    create_logical_set,
    create_set_from_file,
    delete_set,
    identifiers_in,
    iter_members,
    list_sets,
    load_set,
    rename_set,
    set_members,
)
from models.search.engine import UserQuery
from tests.helpers.details import admin, as_staff, staff, user


def _ids(page) -> list[int]:  # noqa: ANN001
    return [r.account_id for r in page.rows]


def test_a_logical_set_is_evaluated_again_when_used(db) -> None:
    anna = user(db, "P0001", last_name="Zanetti")
    info = create_logical_set("Zanettis", UserQuery(text="zanetti"), admin(db))
    assert info.kind == LOGICAL and info.query.text == "zanetti"
    assert _ids(set_members(info.set_id, admin(db))) == [anna.id]
    ben = user(db, "P0002", last_name="Zanetti", first_name="Ben")
    assert set(_ids(set_members("zanettis", admin(db)))) == {anna.id, ben.id}  # by name too


def test_itemized_set_keeps_its_members_and_pages(db) -> None:
    accounts = [user(db, f"P{i:04}", last_name=f"Name{i}") for i in range(5)]
    info = create_itemized_set("Five", [a.id for a in accounts], admin(db))
    assert info.kind == ITEMIZED and info.members == 5
    first = set_members(info.set_id, admin(db), limit=3)
    second = set_members(info.set_id, admin(db), after=first.cursor, limit=3)
    assert _ids(first) + _ids(second) == [a.id for a in accounts]
    assert second.cursor is None


def test_a_set_from_a_file_lists_the_unknown_identifiers(db) -> None:
    anna = user(db, "P0001", identifier="B-111")
    ben = user(db, "P0002", first_name="Ben")
    text = "B-111\n\np0002\nNOPE-1\nB-111\n"
    made = create_set_from_file("From file", text, admin(db))
    assert made.found == 2 and made.unknown == ["NOPE-1"]
    assert {m.account_id for c in iter_members(load_set("From file", admin(db)), admin(db))
            for m in c} == {anna.id, ben.id}  # fmt: skip
    csv_text = "name,barcode\nAnna,B-111\nNobody,X-9\n"
    made = create_set_from_file("CSV", csv_text, admin(db), column="barcode")
    assert made.found == 1 and made.unknown == ["X-9"]
    assert identifiers_in("a;b\n1;2\n", column="2") == []  # one column: "a;b"
    with pytest.raises(ValidationError) as err:
        create_set_from_file("CSV2", csv_text, admin(db), column="card")
    assert "column" in err.value.errors


def test_members_follow_permissions_a_desk_sees_public_users_only(db) -> None:
    public = user(db, "P0001", last_name="Zanetti")
    staffer = user(db, "S0009", "staff", last_name="Zanetti", first_name="Sam")
    desk = as_staff(db, Role.CIRCULATION_DESK_OPERATOR, "S0001")
    info = create_logical_set("Zanettis", UserQuery(text="zanetti"), desk)
    assert _ids(set_members(info.set_id, desk)) == [public.id]
    assert set(_ids(set_members(info.set_id, admin(db)))) == {public.id, staffer.id}
    # An itemized set made by a desk leaves out whom the desk may not see.
    assert create_itemized_set("Both", [public.id, staffer.id], desk).members == 1


def test_sets_are_named_once_renamed_listed_deleted_and_kept_in_their_organization(db) -> None:
    create_logical_set("Grads", UserQuery(), admin(db))
    with pytest.raises(ValidationError) as err:
        create_logical_set("GRADS", UserQuery(), admin(db))
    assert err.value.errors == {"name": "is the name of another set"}
    with pytest.raises(ValidationError):
        create_logical_set("bad\u202ename", UserQuery(), admin(db))
    rename_set("Grads", "Graduates", admin(db))
    assert [s.name for s in list_sets(admin(db))] == ["Graduates"]
    delete_set("Graduates", admin(db))
    assert list_sets(admin(db)) == []
    with pytest.raises(NotFound):
        load_set("Graduates", admin(db))


def test_another_organizations_staff_do_not_find_the_set(db) -> None:
    from models.store.tables import Organization

    other = Organization.create(code="OTHER", name="Other")
    create_logical_set("Mine", UserQuery(), admin(db))
    stranger = staff(db, Role.USER_ADMINISTRATOR, "S0100")
    stranger.organization = other
    stranger.save()
    from models.audit import Actor
    from models.enums import Source

    with pytest.raises(NotFound):
        load_set("Mine", Actor(stranger, Source.SCREEN))
