"""What the screens of sets and jobs read (issue 23, `models.jobs.views`): the update form's
fields from the domain, a search's members for an itemized set, the CSV report. Both back
ends."""

from __future__ import annotations

import csv
import io
import os
import stat

import pytest

from models.enums import Role
from models.jobs.sets import create_itemized_set
from models.jobs.types import CODE_MODELS, DATE_COLUMNS, UPDATE_FIELDS
from models.jobs.views import CODE, DATE, query_members, report_csv, save_report, update_fields
from models.search.engine import UserQuery
from models.store.files import TargetExists
from tests.helpers.details import admin, as_staff, staff, user


def test_the_update_form_has_every_field_the_jobs_take_once_with_its_kind(db) -> None:
    fields = update_fields(admin(db))
    assert [f.column for f in fields] == list(dict.fromkeys(UPDATE_FIELDS.values()))
    for f in fields:
        assert UPDATE_FIELDS[f.name] == f.column
        if f.column in CODE_MODELS:
            assert f.kind == CODE and f.options
        if f.column in DATE_COLUMNS:
            assert f.kind == DATE
    groups = next(f for f in fields if f.column == "user_group")
    assert "GRAD" in {value for _, value in groups.options}
    assert [f.column for f in fields if f.renew] == ["expiry_date"]


def test_a_searchs_members_are_every_user_it_finds_not_a_page(db) -> None:
    made = [user(db, f"P{i:04}", last_name=f"Zed{i}") for i in range(7)]
    user(db, "Q0001", last_name="Other")
    found = query_members(UserQuery(text="zed"), admin(db))
    assert sorted(found) == sorted(a.id for a in made)


def test_a_desk_saving_members_gets_only_the_users_it_may_see(db) -> None:
    user(db, "P0001", last_name="Zed")
    user(db, "S0009", record_type="staff", last_name="Zed")
    desk = as_staff(db, Role.CIRCULATION_DESK_OPERATOR)
    ids = query_members(UserQuery(text="zed"), desk)
    made = create_itemized_set("Zeds", ids, desk)
    assert made.members == 1  # the staff user is not the desk's to see


def test_the_report_is_formula_safe_and_printable() -> None:
    text = report_csv([["account_id", "reason"], ["1", '=HYPERLINK("x")'], ["2", "a\x1bb"]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][1].startswith("'=")
    assert "\x1b" not in text


def test_the_report_file_is_0600_and_never_replaces_a_file(db, tmp_path) -> None:
    from models.jobs.jobs import run_update

    a = user(db, "P0001")
    made = create_itemized_set("One", [a.id], admin(db))
    job = run_update(made.set_id, {"status": "inactive"}, admin(db))
    target = tmp_path / "r.csv"
    written = save_report(job.info.job_id, target, admin(db))
    assert stat.S_IMODE(os.stat(written).st_mode) == 0o600
    with pytest.raises(TargetExists):
        save_report(job.info.job_id, target, admin(db))


def test_another_organizations_job_report_is_not_found(db, tmp_path) -> None:
    from models.audit import Actor
    from models.enums import Source
    from models.errors import NotFound
    from models.jobs.jobs import run_update
    from models.store.tables import Organization

    a = user(db, "P0001")
    made = create_itemized_set("One", [a.id], admin(db))
    job = run_update(made.set_id, {"status": "inactive"}, admin(db))
    other = Organization.create(code="OTHER", name="Other")
    stranger = staff(db, Role.USER_ADMINISTRATOR, "S0100")
    stranger.organization = other
    stranger.save()
    with pytest.raises(NotFound):
        save_report(job.info.job_id, tmp_path / "r.csv", Actor(stranger, Source.SCREEN))
    assert not (tmp_path / "r.csv").exists()
