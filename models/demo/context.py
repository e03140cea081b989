"""What the generator reads from the database, once, before generating (`DemoContext`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from models.config.settings import load_settings
from models.demo.data import DemoError
from models.enums import Role
from models.runtime import runtime
from models.store.bulk import next_id
from models.store.tables import (
    Account,
    BlockDefinition,
    Campus,
    Fee,
    FeeType,
    IdentifierType,
    JobCategory,
    Library,
    Loan,
    NoteType,
    Organization,
    Person,
    RoleRule,
    StatCategory,
    StatCategoryType,
    UserGroup,
    WaiveReason,
)


@dataclass(frozen=True)
class GroupInfo:
    id: int
    code: str
    record_types: frozenset[str]  # empty: every record type


@dataclass(frozen=True)
class DemoContext:
    """Everything the generator needs from the database, read once before generating."""

    organization_id: int
    library_id: int
    today: dt.date
    now: dt.datetime
    person_base: int  # first id to use
    account_base: int
    loan_base: int
    fee_base: int
    groups: tuple[GroupInfo, ...]
    job_categories: dict[str, int]
    campuses: tuple[int, ...]
    identifier_types: dict[str, int]
    note_types: dict[str, int]
    block_definitions: dict[str, int]
    fee_types: dict[str, tuple[int, bool, int]]  # code -> (id, waivable, daily rate)
    waive_reasons: tuple[int, ...]
    stat_categories: dict[str, tuple[int, ...]]  # category type code -> category ids
    group_roles: dict[int, tuple[str, ...]]  # role-assignment rules by user group id
    job_roles: dict[int, tuple[str, ...]]  # ... and by job category id
    mandatory: dict[str, frozenset[str]]
    staff_password_hash: str


def _codes(model: type, organization_id: int) -> list:
    return list(
        model.select()
        .where((model.organization == organization_id) & (model.active == True))  # noqa: E712
        .order_by(model.id)
    )


def load_context(organization: Organization, staff_password_hash: str) -> DemoContext:
    library = (
        Library.select()
        .where((Library.organization == organization) & (Library.active == True))  # noqa: E712
        .order_by(Library.id)
        .first()
    )
    if library is None:
        raise DemoError("The organization has no active library: run 'patrondesk init' first.")
    org = organization.id
    group_roles: dict[int, list[str]] = {}
    job_roles: dict[int, list[str]] = {}
    rules = RoleRule.select().where((RoleRule.organization == org) & (RoleRule.active == True))  # noqa: E712
    for rule in rules.order_by(RoleRule.id):
        role = Role(rule.role).value
        if rule.user_group_id is not None:
            group_roles.setdefault(rule.user_group_id, []).append(role)
        if rule.job_category_id is not None:
            job_roles.setdefault(rule.job_category_id, []).append(role)
    stat_types = {t.id: t.code for t in _codes(StatCategoryType, org)}
    stats: dict[str, list[int]] = {}
    for category in _codes(StatCategory, org):
        if category.category_type_id in stat_types:
            stats.setdefault(stat_types[category.category_type_id], []).append(category.id)
    now = runtime.now().replace(microsecond=0)
    settings = load_settings()
    return DemoContext(
        organization_id=org,
        library_id=library.id,
        today=now.date(),
        now=now,
        person_base=next_id(Person),
        account_base=next_id(Account),
        loan_base=next_id(Loan),
        fee_base=next_id(Fee),
        groups=tuple(
            GroupInfo(
                g.id,
                g.code,
                frozenset(t.strip() for t in g.record_types.split(",") if t.strip()),
            )
            for g in _codes(UserGroup, org)
        ),
        job_categories={c.code: c.id for c in _codes(JobCategory, org)},
        campuses=tuple(c.id for c in _codes(Campus, org)),
        identifier_types={c.code: c.id for c in _codes(IdentifierType, org)},
        note_types={c.code: c.id for c in _codes(NoteType, org)},
        block_definitions={c.code: c.id for c in _codes(BlockDefinition, org)},
        fee_types={c.code: (c.id, c.waivable, c.daily_rate_minor) for c in _codes(FeeType, org)},
        waive_reasons=tuple(c.id for c in _codes(WaiveReason, org)),
        stat_categories={k: tuple(v) for k, v in stats.items()},
        group_roles={k: tuple(v) for k, v in group_roles.items()},
        job_roles={k: tuple(v) for k, v in job_roles.items()},
        mandatory={k: frozenset(v) for k, v in settings.mandatory_fields.items()},
        staff_password_hash=staff_password_hash,
    )
