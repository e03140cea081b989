"""`patrondesk init`: schema, default code tables, one organization with its main library, and
the first administrator. The organization init makes hosts the system: its User Administrators
change the settings of the whole database (models/config/config_settings.py)."""

from __future__ import annotations

import datetime as dt

from models.access.passwords import password_problems, problems_message
from models.audit import Actor
from models.config.seed import seed_code_tables
from models.config.settings import load_settings
from models.enums import RecordType, Role, Source
from models.errors import PatronDeskError, ValidationError
from models.runtime import runtime
from models.store.base import database
from models.store.tables import Account, Library, Organization, RoleAssignment
from models.users.accounts import NewUser, create_user


class AlreadyInitialized(PatronDeskError):
    pass


def is_initialized() -> bool:
    return (
        RoleAssignment.select().where(RoleAssignment.role == Role.USER_ADMINISTRATOR.value).exists()
    )


def default_organization() -> Organization | None:
    return Organization.select().order_by(Organization.id).first()


def initialize(
    admin_username: str,
    password: str,
    *,
    organization_code: str = "MAIN",
    organization_name: str = "Main organization",
    library_code: str = "MAIN",
    library_name: str = "Main library",
    source: Source = Source.CLI,
    first_name: str = "",
    last_name: str = "Administrator",
    email: str = "",
) -> Account:
    """Create the organization, its main library, the code tables and the administrator in one
    transaction. Refuses when an administrator already exists."""
    settings = load_settings()
    if problems := password_problems(password, settings):
        raise ValidationError({"password": problems_message(problems)})
    with database.atomic():
        if is_initialized():
            raise AlreadyInitialized("This database already has an administrator.")
        org = default_organization() or Organization.create(
            code=organization_code, name=organization_name
        )
        if not Library.select().where(Library.organization == org).exists():
            Library.create(organization=org, code=library_code, name=library_name)
            seed_code_tables(org)
        if not Organization.select().where(Organization.hosts_system == True).exists():  # noqa: E712
            Organization.update(hosts_system=True).where(Organization.id == org.id).execute()
        staff = NewUser(
            record_type=RecordType.STAFF.value,
            username=admin_username,
            primary_id=admin_username,
            first_name=first_name,
            last_name=last_name,
            email=email,
            password=password,
            user_group="STAFF",
            expiry_date=runtime.today() + dt.timedelta(days=365 * 10),
            roles=[Role.USER_ADMINISTRATOR.value],
        )
        # The administrator's own mandatory fields: email may be added later from the app.
        settings.mandatory_fields["staff"] = ["last_name", "primary_id"]
        return create_user(staff, Actor(None, source), org, settings=settings)
