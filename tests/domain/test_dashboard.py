"""The dashboard's figures (issue 25, item 1): each chart counted against planted data, on both
back ends, following the viewer's organization and library scope; refused to those who may not
view users."""

from __future__ import annotations

import datetime as dt

import pytest

from models.access.auth import login
from models.audit import Actor
from models.config.configuration import add_organization
from models.dashboard import CHART_IDS, Target, chart, dashboard, month_starts, week_starts
from models.enums import Role, Source, Status
from models.errors import PermissionDenied
from models.runtime import configure
from models.store.tables import (
    Account,
    AuditEvent,
    Block,
    BlockDefinition,
    Fee,
    FeeType,
    Letter,
    Library,
    LoginMonth,
    RoleAssignment,
    UserGroup,
)
from tests.helpers.db import ADMIN_PASSWORD
from tests.helpers.details import CHEAP, admin, as_staff, user

NOW = dt.datetime(2026, 3, 15, 10, 30)
TODAY = NOW.date()


def _code(model, db, code: str):  # noqa: ANN001, ANN202
    return model.get((model.organization == db.organization) & (model.code == code))


def _set(account: Account, **values) -> None:
    """Write the values, and keep the object in step: a session's account is known by its id and
    creation time (`actor_standing`), so a backdated creation is the session's too."""
    Account.update(**values).where(Account.id == account.id).execute()
    if "created_at" in values:
        account.created_at = values["created_at"]


@pytest.fixture
def planted(db):
    """Users of MAIN with known groups, creation and expiry dates, blocks, fees, letters and
    logins, some owned by a branch; a second organization whose figures must not show."""
    configure(clock=lambda: NOW, hasher=CHEAP)
    org = db.organization
    branch = Library.create(organization=org, code="BRANCH", name="Branch library")
    _set(db.admin, created_at=dt.datetime(2020, 1, 1))
    p1 = user(db, "P1", user_group="PUBLIC")
    p2 = user(db, "P2", user_group="PUBLIC")
    p3 = user(db, "P3", user_group="UNDERGRAD")
    p4 = user(db, "P4", user_group="UNDERGRAD")
    c1 = user(db, "C1", "contact")
    at_main = as_staff(db, Role.USER_MANAGER, "S-MAIN")
    RoleAssignment.update(scope=_code(Library, db, "MAIN")).where(
        (RoleAssignment.account == at_main.account) & (RoleAssignment.role != "patron")
    ).execute()
    # Creation: this month, two months ago, the first day of the window, the day before it.
    _set(p1, created_at=dt.datetime(2026, 3, 2, 9), expiry_date=dt.date(2026, 3, 17))
    _set(p2, created_at=dt.datetime(2026, 1, 10, 23, 59), expiry_date=dt.date(2026, 3, 30))
    _set(p3, created_at=dt.datetime(2025, 4, 1, 0, 0), expiry_date=dt.date(2026, 6, 7))
    _set(  # inactive: not among the accounts expiring
        p4,
        created_at=dt.datetime(2025, 3, 31, 23, 59),
        expiry_date=dt.date(2026, 3, 16),
        status=Status.INACTIVE.value,
    )
    _set(c1, created_at=dt.datetime(2026, 3, 15, 8), expiry_date=dt.date(2026, 6, 6))
    _set(at_main.account, created_at=dt.datetime(2019, 5, 5), expiry_date=None)

    general = _code(BlockDefinition, db, "GENERAL")
    lost = _code(BlockDefinition, db, "LOST_CARD")
    Block.create(account=p1, definition=general)
    Block.create(account=p1, definition=general)  # the same user twice: counted once
    Block.create(account=p2, definition=general, owner=branch)
    Block.create(account=p3, definition=lost, expiry_date=dt.date(2026, 3, 14))  # expired
    Block.create(account=p4, definition=lost, active=False)
    Block.create(account=p4, definition=lost, expiry_date=TODAY)  # ends today: still on

    lost_item = _code(FeeType, db, "LOST_ITEM")
    card = _code(FeeType, db, "CARD")
    Fee.create(account=p1, fee_type=lost_item, original_minor=2000, balance_minor=1250)
    Fee.create(
        account=p2,
        fee_type=lost_item,
        owner=branch,
        status="disputed",
        original_minor=500,
        balance_minor=500,
    )
    Fee.create(account=p2, fee_type=card, status="closed", original_minor=999, balance_minor=0)
    Fee.create(account=p3, fee_type=card, original_minor=300, balance_minor=300)

    def letter(account: Account, status: str, at: dt.datetime) -> None:
        Letter.create(account=account, kind="general", subject="s", status=status, created_at=at)

    letter(p1, "sent", dt.datetime(2026, 2, 10))
    letter(p1, "sent", dt.datetime(2026, 2, 28, 23, 59, 59))
    letter(p2, "failed", dt.datetime(2026, 3, 1))
    letter(p2, "queued", dt.datetime(2026, 3, 2))
    letter(p3, "sent", dt.datetime(2025, 3, 31))  # before the year shown

    org2 = add_organization(
        "ORG2", "Second organization", admin_username="admin2", admin_password="Quill-Ledger-43"
    )
    admin2 = Account.get(Account.organization == org2)
    _set(admin2, created_at=dt.datetime(2026, 3, 3))
    letter(admin2, "sent", dt.datetime(2026, 3, 3))
    for at, account in (
        (dt.datetime(2025, 5, 2, 8), db.admin),
        (dt.datetime(2025, 5, 30, 8), db.admin),
        (dt.datetime(2025, 3, 30, 8), db.admin),  # before the year shown
        (dt.datetime(2026, 3, 3, 8), admin2),  # another organization
    ):
        AuditEvent.create(
            account_id=account.id,
            entity="person",
            action="login_success",
            field="login",
            source="screen",
            at=at,
        )
    login("admin", ADMIN_PASSWORD)  # a real login, this month
    return {"p1": p1, "p2": p2, "p3": p3, "at_main": at_main, "general": general, "lost": lost}


def _values(c, series: int = 0) -> dict[str, int]:  # noqa: ANN001
    return dict(zip(c.labels, c.series[series].values, strict=True))


def test_users_are_counted_per_user_group_and_record_type_of_the_viewers_organization(
    db, planted
) -> None:
    board = dashboard(admin(db))
    assert [c.id for c in board.charts] == list(CHART_IDS)
    groups = board.chart("groups")
    assert _values(groups) == {
        "Library staff": 2,  # admin and S-MAIN
        "Member of the public": 2,
        "Undergraduate student": 2,
        "(no user group)": 1,  # the contact
    }
    public = UserGroup.get(
        (UserGroup.organization == db.organization) & (UserGroup.code == "PUBLIC")
    )
    assert Target(user_group_id=public.id) in groups.targets
    assert groups.targets[groups.labels.index("(no user group)")] is None
    types = board.chart("record_types")
    assert _values(types) == {"Staff": 2, "Public": 4, "Contact": 1}
    assert types.targets[types.labels.index("Contact")] == Target(record_type="contact")


def test_accounts_expiring_are_counted_by_week_from_today(db, planted) -> None:
    c = dashboard(admin(db)).chart("expiring")
    assert len(c.labels) == 12 and c.labels[0] == "03-15"
    counts = c.series[0].values
    # P1 (03-17) in the first week; P2 (03-30) in the third; C1 (06-06) on the last day of
    # the twelfth; P3 (06-07) a day after; P4 inactive.
    assert counts[0] == 1 and counts[2] == 1 and counts[11] == 1 and sum(counts) == 3
    assert c.targets[0] == Target(expiry_from=TODAY, expiry_to=dt.date(2026, 3, 22))
    assert week_starts(TODAY)[-1] == dt.date(2026, 6, 7)


def test_registrations_and_logins_are_counted_per_month_over_a_year(db, planted) -> None:
    board = dashboard(admin(db))
    registered, logins = board.chart("registrations"), board.chart("logins")
    assert registered.labels[0] == "Apr" and registered.labels[-1] == "Mar"
    assert logins.labels == registered.labels
    # P3 on the window's first instant; P2 in January; P1, C1 in March; S-MAIN and P4 before.
    assert registered.series[0].values == (1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2)
    assert _values(registered)["Jan"] == 1
    # Two in May 2025, this morning's; not March 2025's, not ORG2's.
    assert logins.series[0].values == (0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)
    assert month_starts(TODAY)[0] == dt.date(2025, 4, 1)


def test_the_login_trigger_counts_each_login_in_its_organization_and_month(db, planted) -> None:
    rows = {
        (r.organization_id, r.month): r.logins
        for r in LoginMonth.select().order_by(LoginMonth.month)
    }
    org2 = Account.get(Account.primary_id_key == "admin2").organization_id
    assert rows == {
        (db.organization.id, "2025-03"): 1,
        (db.organization.id, "2025-05"): 2,
        (db.organization.id, "2026-03"): 1,
        (org2, "2026-03"): 1,
    }


def test_blocked_users_are_counted_by_block_type_within_the_viewers_library_scope(
    db, planted
) -> None:
    everything = dashboard(admin(db)).chart("blocks")
    assert _values(everything) == {"General block": 2, "Lost library card": 1}
    assert everything.targets[0] == Target(block_definition_id=planted["general"].id)
    scoped = dashboard(planted["at_main"]).chart("blocks")  # the branch's block is not theirs
    assert _values(scoped) == {"General block": 1, "Lost library card": 1}


def test_open_balance_is_summed_by_fee_type_within_the_viewers_library_scope(db, planted) -> None:
    everything = dashboard(admin(db)).chart("balance")
    assert _values(everything) == {"Lost item replacement": 1750, "Card replacement": 300}
    assert everything.currency
    scoped = chart(planted["at_main"], "balance")
    assert _values(scoped) == {"Lost item replacement": 1250, "Card replacement": 300}


def test_letters_sent_and_failed_are_counted_per_month_of_the_organization(db, planted) -> None:
    c = chart(admin(db), "letters")
    sent, failed = _values(c, 0), _values(c, 1)
    assert sent["Feb"] == 2 and sum(c.series[0].values) == 2  # ORG2's letter left out
    assert failed["Mar"] == 1 and sum(c.series[1].values) == 1


def test_one_chart_read_again_gives_what_the_whole_dashboard_gave(db, planted) -> None:
    board = dashboard(admin(db))
    for cid in CHART_IDS:
        assert chart(admin(db), cid) == board.chart(cid)
    with pytest.raises(ValueError):
        chart(admin(db), "nope")


def test_the_dashboard_is_refused_to_whom_may_not_view_users(db, planted) -> None:
    patron = Actor(planted["p1"], Source.SCREEN)
    with pytest.raises(PermissionDenied):
        dashboard(patron)
    staff = planted["at_main"]
    _set(staff.account, status=Status.INACTIVE.value)
    with pytest.raises(PermissionDenied, match="deactivated"):
        chart(staff, "groups")
    with pytest.raises(PermissionDenied):
        dashboard(Actor(None, Source.SCREEN))


def test_find_users_lists_exactly_the_users_a_bar_counts(db, planted) -> None:
    """Enter on a bar: Find and Manage Users' query narrowed to it (models/search) gives the
    users the bar counted, its count too, within the viewer's library scope."""
    from models.access.scope import EVERY_LIBRARY, scope_of
    from models.search.engine import UserQuery, count_users, search_users

    org = db.organization.id

    def ids(query: UserQuery, scope=EVERY_LIBRARY) -> list[str]:  # noqa: ANN001
        found = sorted(r.primary_id for r in search_users(org, query, scope=scope).rows)
        assert count_users(org, query, cap=100, scope=scope) == len(found)
        return found

    general = planted["general"].id
    assert ids(UserQuery(block_definition_id=general)) == ["P1", "P2"]
    scope = scope_of(planted["at_main"].account)
    assert ids(UserQuery(block_definition_id=general), scope) == ["P1"]  # P2's is the branch's
    assert ids(UserQuery(block_definition_id=planted["lost"].id)) == ["P4"]  # the others ended
    week = UserQuery(status="active", expiry_from=TODAY, expiry_to=dt.date(2026, 3, 22))
    assert ids(week) == ["P1"]
    assert ids(UserQuery(tab="contact", record_type="contact")) == ["C1"]
    assert ids(UserQuery(tab="staff", record_type="contact")) == []  # not a type of the tab
    assert ids(UserQuery(record_type="contact", text="müller")) == ["C1"]
