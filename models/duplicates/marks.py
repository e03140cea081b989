"""Pairs of people staff marked "not a duplicate": remembered per organization, never proposed
there again (by the scan; the typing panel proposes people for a record not yet saved)."""

from __future__ import annotations

from models import audit
from models.access.permissions import Action, authorize
from models.audit import Actor
from models.enums import AuditAction
from models.errors import NotFound, PermissionDenied
from models.store.base import database
from models.store.tables import Account, DuplicateDismissal


def authorize_duplicates(actor: Actor, organization_id: int) -> None:
    """Before any work: the actor may find duplicates, in this organization."""
    authorize(actor.account, Action.FIND_DUPLICATES)
    account = actor.account
    if account is not None and account.organization_id != organization_id:
        raise PermissionDenied(
            Action.FIND_DUPLICATES.value,
            "You may not find duplicates in another organization.",
        )


def dismissed_pairs(organization_id: int) -> set[tuple[int, int]]:
    return set(
        DuplicateDismissal.select(DuplicateDismissal.person_low, DuplicateDismissal.person_high)
        .where(DuplicateDismissal.organization == organization_id)
        .tuples()
    )


def mark_not_duplicate(organization_id: int, person_a: int, person_b: int, actor: Actor) -> bool:
    """Remember that two people of the organization are not one; True when newly marked.
    Both must have an account in the organization. One transaction; History records it on
    both accounts."""
    authorize_duplicates(actor, organization_id)
    low, high = sorted((int(person_a), int(person_b)))
    if low == high:
        raise NotFound("A person is not a duplicate of themselves.")
    with database.atomic():
        accounts = {
            a.person_id: a
            for a in Account.select().where(
                Account.organization == organization_id, Account.person.in_([low, high])
            )
        }
        if len(accounts) != 2:
            raise NotFound("Both people must have an account in this organization.")
        _, created = DuplicateDismissal.get_or_create(
            organization=organization_id,
            person_low=low,
            person_high=high,
            defaults={"marked_by": actor.name},
        )
        if created:
            for mine, other in ((low, high), (high, low)):
                audit.record(
                    actor,
                    AuditAction.UPDATE,
                    entity="duplicate",
                    entity_id=accounts[other].id,
                    field="not_a_duplicate_of",
                    new=accounts[other].primary_id,
                    account_id=accounts[mine].id,
                    person_id=mine,
                )
    return created
