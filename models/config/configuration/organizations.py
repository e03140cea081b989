"""Organizations (models.config.configuration): `add_organization`, the configuration's
history (`config_history`) and `organization_by_code`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peewee import fn

from models import audit
from models.access.permissions import Action
from models.audit import Actor
from models.config.configuration.checks import _check_code, _check_name
from models.config.configuration.reading import _check_reader, _query
from models.config.configuration.tables import CODE_RE, TABLES
from models.config.settings import load_settings
from models.enums import RecordType, Role, Source
from models.errors import NotFound, PermissionDenied, ValidationError
from models.store.base import database
from models.store.tables import (
    Account,
    Library,
    Organization,
)
from models.text import unsafe_problem
from models.users.validation import Problems

# --- Organizations ------------------------------------------------------------------------------


def add_organization(
    code: str,
    name: str,
    *,
    library_code: str = "MAIN",
    library_name: str = "Main library",
    admin_username: str = "",
    admin_password: str = "",
    actor: Actor | None = None,
) -> Organization:
    """A new organization with its main library, the default code tables (`models.config.seed`) and,
    with `admin_username`, its first User Administrator (as `patrondesk init` makes the first
    one). The system's job (the command line): an organization's administrators configure
    only their own one. One transaction: nothing is kept on error."""
    import datetime as dt

    from models.access.passwords import password_problems, problems_message
    from models.config.seed import seed_code_tables
    from models.runtime import runtime
    from models.users.accounts import NewUser, create_user

    actor = actor or Actor(None, Source.CLI)
    if actor.account is not None:
        raise PermissionDenied(
            Action.CONFIGURE.value,
            "Organizations are added from the command line ('patrondesk organization add').",
        )
    settings = load_settings()
    t = TABLES["organization"]
    p = Problems()
    code = _check_code(p, t, 0, code, 0)
    name = _check_name(p, t, 0, name, 0, None)
    errors = {f"organization_{k}": v for k, v in p.errors.items()}
    library_code = str(library_code or "").strip()
    if not CODE_RE.fullmatch(library_code):
        errors["library_code"] = 'may hold letters, digits, "_", "-" and "." only'
    library_name = str(library_name or "").strip()
    if bad := unsafe_problem(library_name):
        errors["library_name"] = bad
    elif not library_name or len(library_name) > 200:
        errors["library_name"] = "is required (at most 200 characters)"
    if admin_username and (problems := password_problems(admin_password, settings)):
        errors["password"] = problems_message(problems)
    if errors:
        raise ValidationError(errors)
    with database.atomic():
        org = Organization.create(code=code, name=name)
        library = Library.create(organization=org, code=library_code, name=library_name)
        seed_code_tables(org)
        for row in (org, library):
            audit.record_changes(actor, row, None, audit.snapshot(row), account_id=None,
                                 person_id=None)  # fmt: skip
        if admin_username:
            admin = NewUser(
                record_type=RecordType.STAFF.value,
                username=admin_username,
                primary_id=admin_username,
                last_name="Administrator",
                password=admin_password,
                user_group="STAFF",
                expiry_date=runtime.today() + dt.timedelta(days=365 * 10),
                roles=[Role.USER_ADMINISTRATOR.value],
            )
            # As for `patrondesk init`: the administrator's email may be added from the app.
            settings.mandatory_fields["staff"] = ["last_name", "primary_id"]
            create_user(admin, actor, org, settings=settings)
        return org


@dataclass(frozen=True)
class ConfigEvent:
    at: Any
    actor: str
    action: str
    entity: str  # "user_group", "setting"...
    entity_id: int | None
    field: str
    old: str | None
    new: str | None


def config_history(organization_id: int, actor: Actor, *, limit: int = 200) -> list[ConfigEvent]:
    """The latest configuration changes, newest first: the organization's code tables,
    libraries and rules (changes by its staff or by the system) and the settings."""
    from models.store.tables import AuditEvent

    _check_reader(actor, organization_id)
    entities = [t.model._meta.table_name for t in TABLES.values()] + ["setting"]
    staff = Account.select(Account.id).where(Account.organization == organization_id)
    # The system (the command line) acts for no organization: its changes count when they
    # are the settings or an entry of this organization.
    by_system = AuditEvent.entity == "setting"
    for t in TABLES.values():
        ids = _query(t, organization_id).select(t.model.id)
        by_system |= (AuditEvent.entity == t.model._meta.table_name) & AuditEvent.entity_id.in_(ids)
    rows = (
        AuditEvent.select()
        .where(
            AuditEvent.account_id.is_null()
            & AuditEvent.entity.in_(entities)
            & (AuditEvent.actor_id.in_(staff) | (AuditEvent.actor_id.is_null() & by_system))
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [
        ConfigEvent(
            e.at, e.actor, e.action, e.entity, e.entity_id, e.field, e.old_value, e.new_value
        )  # fmt: skip
        for e in rows
    ]


def organization_by_code(code: str | None) -> Organization:
    """The organization named by `code`; None: the only (or first) one."""
    if code:
        org = Organization.get_or_none(fn.LOWER(Organization.code) == code.strip().lower())
        if org is None:
            known = ", ".join(o.code for o in Organization.select().order_by(Organization.code))
            raise NotFound(f"No organization has the code {code!r} (known: {known or 'none'}).")
        return org
    org = Organization.select().order_by(Organization.id).first()
    if org is None:
        raise NotFound("The database has no organization: run 'patrondesk init' first.")
    return org
