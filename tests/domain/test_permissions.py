"""Who may do what (models.access.permissions): the role matrix of domain.md section 3, organization
and library scope, expired and inactive roles, and the typed refusal."""

from __future__ import annotations

import datetime as dt

import pytest

from models.access.permissions import MATRIX, Action, active_roles, authorize, can
from models.audit import Actor
from models.config.seed import seed_code_tables
from models.enums import RecordType, Role, Source
from models.errors import PatronDeskError, PermissionDenied, ValidationError
from models.runtime import runtime
from models.store.tables import Account, Library, Organization, RoleAssignment
from models.users.accounts import NewUser, create_user, set_status

ALL = set(Action)


def future(days: int = 365) -> dt.date:
    return runtime.today() + dt.timedelta(days=days)


def new_user(primary_id: str, record_type: str = "public", **changes) -> NewUser:
    values = dict(
        record_type=record_type,
        first_name="Anna",
        last_name="Müller",
        primary_id=primary_id,
        user_group="STAFF" if record_type == "staff" else "PUBLIC",
        email=f"{primary_id.lower()}@example.org",
        expiry_date=future(),
    )
    values.update(changes)
    return NewUser(**values)


def staff(db, role: Role, primary_id: str = "S0001") -> Account:
    """A staff account with `role` (and Patron), made by the administrator."""
    roles = [] if role == Role.PATRON else [role.value]
    return create_user(
        new_user(primary_id, "staff", roles=roles), Actor(db.admin, Source.SCREEN), db.organization
    )


def allowed(account: Account, **kwargs) -> set[Action]:
    return {a for a in Action if can(account, a, **kwargs)}


# --- The matrix ---------------------------------------------------------------------------------


def test_the_administrator_may_do_everything(db) -> None:
    assert allowed(db.admin) == ALL


@pytest.mark.parametrize("role", list(Role))
def test_what_each_role_may_do_is_its_row_of_the_matrix(db, role: Role) -> None:
    account = staff(db, role)
    assert allowed(account) == set(MATRIX[role])


@pytest.mark.parametrize("role", list(Role))
def test_only_user_manager_and_administrator_delete_and_toggle_account_type(db, role: Role) -> None:
    account = staff(db, role)
    managers = role in (Role.USER_MANAGER, Role.USER_ADMINISTRATOR)
    assert can(account, Action.DELETE_USER) is managers
    assert can(account, Action.TOGGLE_ACCOUNT_TYPE) is managers
    assert can(account, Action.MERGE_USERS) is managers  # issue 24: merging users


@pytest.mark.parametrize("role", list(Role))
def test_only_the_administrator_unlocks_and_configures(db, role: Role) -> None:
    account = staff(db, role)
    admin = role == Role.USER_ADMINISTRATOR
    assert can(account, Action.UNLOCK_LOGIN) is admin
    assert can(account, Action.CONFIGURE) is admin


def test_the_user_manager_does_everything_but_configure_and_unlock(db) -> None:
    assert allowed(staff(db, Role.USER_MANAGER)) == ALL - {Action.CONFIGURE, Action.UNLOCK_LOGIN}


def test_the_fulfillment_operator_only_views(db) -> None:
    assert allowed(staff(db, Role.FULFILLMENT_SERVICES_OPERATOR)) == {Action.VIEW_USER}


def test_a_patron_alone_may_do_nothing(db) -> None:
    assert allowed(staff(db, Role.PATRON)) == set()


@pytest.mark.parametrize("role", [Role.CIRCULATION_DESK_OPERATOR, Role.CIRCULATION_DESK_MANAGER])
def test_circulation_desk_roles_register_public_users_only(db, role: Role) -> None:
    account = staff(db, role)
    assert can(account, Action.REGISTER_USER, record_type="public")
    assert not can(account, Action.REGISTER_USER, record_type="staff")
    assert not can(account, Action.CREATE_USER, record_type="public")
    assert not can(account, Action.DELETE_USER)
    assert not can(account, Action.MANAGE_ROLES)


def test_the_desk_operator_registers_through_register_new_user_only(db) -> None:
    operator = Actor(staff(db, Role.CIRCULATION_DESK_OPERATOR), Source.SCREEN)
    registered = create_user(new_user("P0001"), operator, db.organization, via_register=True)
    assert registered.record_type == "public"
    with pytest.raises(PermissionDenied) as err:
        create_user(new_user("P0002"), operator, db.organization)
    assert err.value.action == "create_user"
    with pytest.raises(PermissionDenied):
        create_user(new_user("S0002", "staff"), operator, db.organization)
    with pytest.raises(ValidationError) as verr:
        create_user(new_user("S0003", "staff"), operator, db.organization, via_register=True)
    assert "public users only" in verr.value.errors["record_type"]
    assert Account.select().where(Account.primary_id.in_(["P0002", "S0002", "S0003"])).count() == 0


def test_the_desk_operator_may_not_change_a_status(db) -> None:
    patron = create_user(new_user("P0001"), Actor(db.admin, Source.SCREEN), db.organization)
    operator = Actor(staff(db, Role.CIRCULATION_DESK_OPERATOR), Source.SCREEN)
    with pytest.raises(PermissionDenied) as err:
        set_status(patron.id, "inactive", patron.version, operator)
    assert err.value.action == "change_status"
    assert Account.get_by_id(patron.id).status == "active"


def test_the_desk_manager_changes_public_users_but_not_staff(db) -> None:
    patron = create_user(new_user("P0001"), Actor(db.admin, Source.SCREEN), db.organization)
    colleague = staff(db, Role.FULFILLMENT_SERVICES_OPERATOR, "S0009")
    manager = Actor(staff(db, Role.CIRCULATION_DESK_MANAGER), Source.SCREEN)
    assert set_status(patron.id, "inactive", patron.version, manager).status == "inactive"
    with pytest.raises(PermissionDenied) as err:
        set_status(colleague.id, "inactive", colleague.version, manager)
    assert "public users only" in err.value.message
    assert Account.get_by_id(colleague.id).status == "active"


def test_a_user_manager_may_not_grant_the_administrator_role(db) -> None:
    manager = Actor(staff(db, Role.USER_MANAGER), Source.SCREEN)
    with pytest.raises(PermissionDenied) as err:
        create_user(
            new_user("S0002", "staff", roles=[Role.USER_ADMINISTRATOR.value]),
            manager,
            db.organization,
        )
    assert err.value.action == "configure"
    made = create_user(
        new_user("S0003", "staff", roles=[Role.CIRCULATION_DESK_OPERATOR.value]),
        manager,
        db.organization,
    )
    assert {r.role for r in made.roles} == {"patron", "circulation_desk_operator"}


def test_the_system_itself_may_do_everything(db) -> None:
    assert all(can(None, a) for a in Action)
    authorize(None, Action.CONFIGURE)


# --- Organization and library scope -------------------------------------------------------------


def other_organization() -> tuple[Organization, Account]:
    org = Organization.create(code="SECOND", name="Second organization")
    Library.create(organization=org, code="SEC", name="Second library")
    seed_code_tables(org)
    account = create_user(new_user("X0001"), Actor(None, Source.CLI), org)
    return org, account


def test_an_account_of_another_organization_is_out_of_reach(db) -> None:
    _, outsider = other_organization()
    assert not any(can(db.admin, a, outsider) for a in Action)
    with pytest.raises(PermissionDenied) as err:
        set_status(outsider.id, "inactive", outsider.version, Actor(db.admin, Source.SCREEN))
    assert err.value.action == "change_status"
    assert "another organization" in err.value.message
    assert Account.get_by_id(outsider.id).status == "active"


def test_no_one_creates_users_in_another_organization(db) -> None:
    org2, _ = other_organization()
    with pytest.raises(PermissionDenied) as err:
        create_user(new_user("X0002"), Actor(db.admin, Source.SCREEN), org2)
    assert err.value.action == "create_user"
    assert "another organization" in err.value.message
    assert Account.select().where(Account.primary_id == "X0002").count() == 0


def test_a_role_scoped_to_a_library_reaches_that_library_and_the_institution(db) -> None:
    main = Library.get(Library.organization == db.organization)
    branch = Library.create(organization=db.organization, code="BRANCH", name="Branch library")
    manager = staff(db, Role.CIRCULATION_DESK_MANAGER)
    RoleAssignment.update(scope=main).where(
        (RoleAssignment.account == manager)
        & (RoleAssignment.role == Role.CIRCULATION_DESK_MANAGER.value)
    ).execute()
    patron = create_user(new_user("P0001"), Actor(db.admin, Source.SCREEN), db.organization)
    assert can(manager, Action.MANAGE_NOTES, patron, library_id=main.id)
    assert can(manager, Action.MANAGE_NOTES, patron, library_id=None)  # institution row
    assert not can(manager, Action.MANAGE_NOTES, patron, library_id=branch.id)
    with pytest.raises(PermissionDenied):
        authorize(manager, Action.WAIVE_FEE, patron, library_id=branch.id)
    # An unscoped role covers every library of the organization.
    assert can(db.admin, Action.MANAGE_NOTES, patron, library_id=branch.id)


def test_an_expired_role_grants_nothing(db) -> None:
    manager = staff(db, Role.USER_MANAGER)
    role = RoleAssignment.get(
        (RoleAssignment.account == manager) & (RoleAssignment.role == Role.USER_MANAGER.value)
    )
    role.expiry_date = runtime.today()
    role.save()
    assert can(manager, Action.DELETE_USER)  # expires at the end of today
    role.expiry_date = runtime.today() - dt.timedelta(days=1)
    role.save()
    assert not can(manager, Action.DELETE_USER)
    assert allowed(manager) == set()
    assert [r.role for r in active_roles(manager)] == ["patron"]


def test_an_inactive_role_grants_nothing(db) -> None:
    manager = staff(db, Role.USER_MANAGER)
    RoleAssignment.update(status="inactive").where(
        (RoleAssignment.account == manager) & (RoleAssignment.role == Role.USER_MANAGER.value)
    ).execute()
    assert allowed(manager) == set()
    with pytest.raises(PermissionDenied):
        create_user(new_user("P0001"), Actor(manager, Source.SCREEN), db.organization)


def test_an_unknown_role_in_the_table_grants_nothing(db) -> None:
    account = staff(db, Role.PATRON)
    RoleAssignment.create(account=account, role="overlord")
    assert allowed(account) == set()


# --- The refusal --------------------------------------------------------------------------------


def test_a_refusal_is_a_typed_error_carrying_the_action(db) -> None:
    operator = staff(db, Role.FULFILLMENT_SERVICES_OPERATOR)
    patron = create_user(new_user("P0001"), Actor(db.admin, Source.SCREEN), db.organization)
    with pytest.raises(PermissionDenied) as err:
        authorize(operator, Action.DELETE_USER, patron)
    assert isinstance(err.value, PatronDeskError)
    assert err.value.action == Action.DELETE_USER == "delete_user"
    assert err.value.message == "You may not delete user: none of your roles allows it."
    assert str(err.value) == err.value.message
    authorize(operator, Action.VIEW_USER, patron)  # allowed: returns quietly


def test_a_desk_refusal_for_staff_records_says_why(db) -> None:
    operator = staff(db, Role.CIRCULATION_DESK_OPERATOR)
    with pytest.raises(PermissionDenied) as err:
        authorize(operator, Action.REGISTER_USER, record_type=RecordType.STAFF.value)
    assert "public users only" in err.value.message


def _queries(run) -> list[str]:  # noqa: ANN001 - a callable
    """The SQL statements `run()` sends."""
    from models.store.base import database

    sent: list[str] = []
    real = database.obj  # the proxy's database
    execute = real.execute_sql

    def counted(sql, *args, **kwargs):  # noqa: ANN001, ANN202
        sent.append(sql)
        return execute(sql, *args, **kwargs)

    real.execute_sql = counted
    try:
        run()
    finally:
        del real.execute_sql
    return sent


def test_one_reading_reads_the_actors_standing_and_roles_once(db) -> None:
    """Opening a record asks `can` a dozen times: inside one reading the actor's standing and
    roles are read once; a role taken away applies at once to the next operation."""
    from models.store.reading import one_reading

    manager = staff(db, Role.USER_MANAGER)

    def checks() -> None:
        for action in Action:
            can(manager, action)

    outside = _queries(checks)
    with one_reading():
        inside = _queries(checks)
        RoleAssignment.update(status="inactive").where(
            (RoleAssignment.account == manager) & (RoleAssignment.role == Role.USER_MANAGER.value)
        ).execute()
        assert can(manager, Action.DELETE_USER)  # read once: the same answer in one reading
    assert len(outside) >= 2 * len(Action)
    assert len(inside) == 2  # the standing and the roles
    assert not can(manager, Action.DELETE_USER)  # the next operation reads afresh


def test_opening_a_record_reads_each_row_once(db) -> None:
    """User Details' read (the head line, the General tab, their permission checks) reads the
    account and the actor's standing once each."""
    from screens.user_details import load_record

    actor = Actor(db.admin, Source.SCREEN)
    patron = create_user(new_user("P0001"), actor, db.organization)
    sent = _queries(lambda: load_record(patron.id, actor, db.organization.id))
    standing = [
        s
        for s in sent
        if s.startswith('SELECT "t1"."status", "t1"."expiry_date", "t1"."created_at" FROM')
    ]
    accounts = [
        s
        for s in sent
        if s.startswith('SELECT "t1"."id", "t1"."organization_id", "t1"."person_id"')
    ]
    assert len(standing) == 1, standing
    assert len(accounts) == 1, accounts


def test_inside_one_reading_each_target_gets_the_answer_it_gets_alone(db) -> None:
    """A bulk job's chunk asks `can` for each member inside one reading, which keeps the
    answer per distinct reading of a target (its record type, organization, own record, the
    roles it holds): every answer is the one asked alone, for actors of several roles and
    targets of every kind (a patron, staff, an administrator, oneself, another organization's
    user), a library given or not, and refusals keep their words."""
    from models.access.permissions import prime_held_roles
    from models.store.reading import one_reading

    _, outsider = other_organization()
    manager = staff(db, Role.USER_MANAGER, "S0001")
    desk = staff(db, Role.CIRCULATION_DESK_MANAGER, "S0002")
    operator = staff(db, Role.CIRCULATION_DESK_OPERATOR, "S0003")
    administrator = staff(db, Role.USER_ADMINISTRATOR, "S0004")
    patrons = [create_user(new_user(f"P{i:04}"), Actor(db.admin, Source.SCREEN), db.organization)
               for i in range(3)]  # fmt: skip
    targets = [*patrons, manager, desk, operator, administrator, db.admin, outsider]
    library = Library.select().where(Library.organization == db.organization).first()
    questions = [
        (actor, action, target, library_id)
        for actor in (manager, desk, operator, db.admin)
        for action in Action
        for target in targets
        for library_id in (None, library.id)
    ]

    def answers() -> list:
        out = []
        for actor, action, target, library_id in questions:
            try:
                authorize(actor, action, target, library_id=library_id)
                out.append(None)
            except PermissionDenied as exc:
                out.append((exc.action, exc.message))
        return out

    alone = answers()
    with one_reading():
        prime_held_roles([t.id for t in targets])
        together = answers()
    assert together == alone
    assert None in alone and any(a and "above your own" in a[1] for a in alone)
    assert any(a and "another organization" in a[1] for a in alone)
