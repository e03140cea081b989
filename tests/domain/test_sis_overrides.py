"""External accounts (issue 22, item 4; alma-managing-users, "Editing Users"): "original value"
lists and restores what staff changed by hand, and Alma's question on Open for update (may the
next SIS load override the value?) is stored and followed by the SIS load. Both back ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.audit import Actor
from models.enums import Role, Source
from models.errors import PermissionDenied
from models.store.tables import Account, LocalOverride, UserGroup
from models.transfer.imports import ImportOptions, import_file
from models.users.details import restore_original, update_user
from models.users.external import SIS_ASKED, asked_fields, original_values, overridden_fields
from tests.helpers.details import as_staff, changes_of, events_after, last_event_id

SIS = (
    "primary_id,first_name,last_name,title,expiry_date,user_group,emails\n"
    "S1,Ada,Lovelace,Dr,2030-01-31,UNDERGRAD,school:ada@uni.example\n"
)


def load(tmp_path: Path, text: str = SIS):
    path = tmp_path / "sis.csv"
    path.write_text(text, encoding="utf-8")
    return import_file(path, ImportOptions(workers=1, external=True, source="CAMPUS"))


def ada() -> Account:
    return Account.get(Account.primary_id == "S1")


def group(code: str) -> int:
    return UserGroup.get(UserGroup.code == code).id


def test_the_question_covers_the_fields_the_manual_lists() -> None:
    assert set(SIS_ASKED) == {
        "title",
        "pin",
        "job_category",
        "user_group",
        "campus",
        "preferred_language",
        "resource_sharing_libraries",  # a General-tab field since issue 22, item 6d
        "cataloger_level",
        "letter_general",
        "letter_expiry_reminder",
    }
    assert asked_fields(True, {"title": "Prof", "last_name": "X"}) == ("title",)
    assert asked_fields(False, {"title": "Prof"}) == ()


def test_original_values_lists_each_hand_change_and_restore_puts_the_sis_value_back(
    db, tmp_path: Path
) -> None:
    load(tmp_path)
    admin = Actor(db.admin, Source.SCREEN)
    a = ada()
    saved = update_user(
        a.id, a.version, {"title": "Prof", "user_group": "GRAD"}, admin, opened=True
    )
    lines = {line.field: line for line in original_values(a.id, admin)}
    assert set(lines) == {"title", "user_group"}
    assert (lines["title"].current, lines["title"].original) == ("Prof", "Dr")
    assert (lines["user_group"].current, lines["user_group"].original) == ("GRAD", "UNDERGRAD")
    assert lines["title"].changed_by == admin.name and lines["title"].changed_at is not None
    assert not lines["title"].sis_may_override
    mark = last_event_id()
    restored = restore_original(a.id, saved.version, "title", admin)
    assert restored.person.title == "Dr" and restored.version == saved.version + 1
    assert overridden_fields(a.id) == {"user_group"}
    assert ("person", "title", "Prof", "Dr") in changes_of(events_after(mark))
    assert [line.field for line in original_values(a.id, admin)] == ["user_group"]


def test_original_values_needs_the_right_to_view_the_user(db, tmp_path: Path) -> None:
    load(tmp_path)
    outsider = as_staff(db, Role.PATRON)
    with pytest.raises(PermissionDenied):
        original_values(ada().id, outsider)


def test_the_next_sis_load_overrides_or_keeps_each_field_as_staff_answered(
    db, tmp_path: Path
) -> None:
    load(tmp_path)
    admin = Actor(db.admin, Source.SCREEN)
    a = ada()
    update_user(
        a.id,
        a.version,
        {"title": "Prof", "user_group": "GRAD", "first_name": "Augusta"},
        admin,
        opened=True,
        sis_may_override={"title": True, "user_group": False},
    )
    flags = {o.field: o.sis_may_override for o in LocalOverride.select()}
    assert flags == {"title": True, "user_group": False, "first_name": False}
    report = load(tmp_path)  # the same SIS file: the account changed since, so it is read
    assert report.updated == 1
    a = ada()
    assert a.person.title == "Dr"  # staff let the SIS override it
    assert a.user_group_id == group("GRAD")  # kept local
    assert a.person.first_name == "Augusta"  # not asked: kept, as every hand change
    assert overridden_fields(a.id) == {"user_group", "first_name"}
    # The SIS value is the original of the kept field; the title follows the SIS again.
    load(tmp_path, SIS.replace(",Dr,", ",Dame,").replace("UNDERGRAD", "ALUMNI"))
    a = ada()
    assert a.person.title == "Dame" and a.user_group_id == group("GRAD")
    lines = {line.field: line.original for line in original_values(a.id, admin)}
    assert lines["user_group"] == "ALUMNI"


def test_a_new_hand_change_without_an_answer_is_kept(db, tmp_path: Path) -> None:
    load(tmp_path)
    admin = Actor(db.admin, Source.SCREEN)
    a = ada()
    saved = update_user(a.id, a.version, {"title": "Prof"}, admin, sis_may_override={"title": True})
    update_user(a.id, saved.version, {"title": "Sir"}, admin)
    load(tmp_path)
    assert ada().person.title == "Sir"
