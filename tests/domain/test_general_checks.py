"""`details.GeneralChecks`, the batch form of `check_general` a bulk job checks its members
with (issue 23): on a mix of good and bad members it gives each the very answer of
`check_general` (the same values, or the same refusal), while it runs the check once per
distinct reading of a member (`check.edit_reading`). Both back ends through `db`."""

from __future__ import annotations

import datetime as dt

import pytest

from models.config.settings import load_settings
from models.errors import PatronDeskError
from models.runtime import runtime
from models.store.tables import Account, UserGroup
from models.users.check import edit_reading
from models.users.details import GeneralChecks, check_general
from tests.helpers.details import admin, future, user


def _past(days: int) -> dt.date:
    return runtime.today() - dt.timedelta(days=days)


def _answer(fn, *args):  # noqa: ANN001, ANN002, ANN202 - the values, or the refusal
    try:
        return ("ok", fn(*args))
    except PatronDeskError as exc:
        return (type(exc).__name__, getattr(exc, "errors", None), exc.message)


def _members(db) -> list[Account]:  # noqa: ANN001
    """Good and bad members, most of them twice (the second gets the first one's answer)."""
    made = []
    for twice in ("A", "B"):
        made += [
            user(db, f"PLAIN{twice}"),
            user(db, f"PURGE{twice}"),
            user(db, f"STAFF{twice}", record_type="staff"),
            user(db, f"OLD{twice}"),
            user(db, f"RETIRED{twice}"),
        ]
    by_id = {a.primary_id: a for a in made}
    for twice in ("A", "B"):
        Account.update(expiry_date=future(50), purge_date=future(100)).where(
            Account.id == by_id[f"PURGE{twice}"].id
        ).execute()  # a purge date before a later expiry
        Account.update(expiry_date=_past(30)).where(
            Account.id == by_id[f"OLD{twice}"].id
        ).execute()  # an old date, given again, stays
        Account.update(
            user_group=UserGroup.get(UserGroup.code == "ALUMNI").id, purge_date=future(500)
        ).where(Account.id == by_id[f"RETIRED{twice}"].id).execute()
    Account.update(expiry_date=_past(7)).where(Account.id == by_id["PLAINB"].id).execute()
    return list(Account.select().where(Account.id.in_([a.id for a in made])).order_by(Account.id))


CHANGES = [
    {"user_group": "ALUMNI", "expiry_date": future(400)},
    {"user_group": "alumni"},  # retired below: only its holders keep it
    {"expiry_date": _past(30)},  # past: refused but where it is the stored date
    {"expiry_date": "2099-02-30"},  # not a date
    {"purge_date": future(200)},  # before some members' expiry, after others'
    {"expiry_date": future(50), "purge_date": ""},
    {"job_category": ""},
    {"user_group": "STAFF"},  # applies to staff records only
    {"user_group": "NOPE"},
    {"job_description": "bulk", "expiry_date": future(400)},
]


@pytest.mark.parametrize("retire", [False, True])
def test_the_batch_check_answers_each_member_as_the_one_user_check(db, retire: bool) -> None:
    members = _members(db)
    if retire:
        UserGroup.update(active=False).where(UserGroup.code == "ALUMNI").execute()
    actor, settings = admin(db), load_settings()
    for changes in CHANGES:
        checks = GeneralChecks(db.organization.id, actor, settings, values=changes)
        batch = [_answer(checks.check, dict(changes), a) for a in members]
        single = [_answer(check_general, dict(changes), a, actor, settings) for a in members]
        assert batch == single, changes
        # Each distinct reading was checked once: the twins share their answer.
        assert len(checks.answers) <= len(members) // 2 + 1, changes
    answers = {
        a.primary_id: _answer(check_general, dict(CHANGES[0]), a, actor, settings) for a in members
    }
    assert answers["PURGEA"][0] == answers["STAFFA"][0] == "ValidationError"
    assert answers["PLAINA"][0] == ("ValidationError" if retire else "ok")
    assert answers["RETIREDA"][0] == "ok"  # its own group, kept though retired


def test_a_shared_answer_is_never_changed_by_a_member(db) -> None:
    members = _members(db)[:2]
    checks = GeneralChecks(db.organization.id, admin(db), load_settings(),
                           values={"user_group": "ALUMNI"})  # fmt: skip
    first = checks.check({"user_group": "ALUMNI"}, members[0])
    first["user_group"] = -1
    assert checks.check({"user_group": "ALUMNI"}, members[0])["user_group"] != -1


def test_a_field_checked_against_other_records_is_checked_for_each_member(db) -> None:
    """A value another record may hold (the primary identifier, the username) or a channel
    checked against the person's emails: no reading stands for the check, each member alone."""
    from models.users.check import Context

    account = user(db, "P0001")
    context = Context(load_settings(), runtime.today(), admin(db), db.organization.id,
                      account=account, stored=lambda f: getattr(account, f, None))  # fmt: skip
    assert edit_reading({"primary_id": "X1"}, context) is None
    assert edit_reading({"comm_channel": "email"}, context) is None
    assert edit_reading({"user_group": "ALUMNI"}, context) is not None
