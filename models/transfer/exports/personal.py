"""`user_document`: the personal-information export of one user."""

from __future__ import annotations

from models import audit
from models.audit import Actor
from models.enums import AuditAction, Source
from models.errors import NotFound
from models.store.base import fold_key
from models.store.tables import (
    Account,
    Fee,
    Identifier,
    Loan,
    Organization,
)
from models.transfer.exports.records import _Codes, _iso, _records
from models.transfer.exports.stream import _allowed


def user_document(
    identifier: str,
    organization: Organization | None = None,
    *,
    actor: Actor | None = None,
    destination: str = "",
) -> dict:
    """The personal-information export of one user: every field (no password or PIN hash),
    their photo, with their loans and fees. `identifier`: the primary identifier or any
    identifier. The export is audited on the user's record (their History shows it, and
    `destination`); `actor` None: the command line; staff need the right to run jobs and find
    users of their own organization only."""
    from models.config.setup import default_organization

    actor = actor or Actor(None, Source.CLI)
    org = _allowed("json", actor, organization) or default_organization()
    key = fold_key(identifier or "")
    row = (
        Identifier.select(Identifier.account)
        .join(Account)
        .where((Identifier.value_key == key) & (Account.organization == org.id))
        .first()
    )
    if row is None:
        raise NotFound(f"No user with the identifier {identifier!r}.")
    codes = _Codes(org)
    rec = _records(org, [row.account_id], codes, secrets=False, photos=True)[0]
    rec["loans"] = [
        {
            "item_barcode": x.item_barcode,
            "title": x.title,
            "loaned_at": _iso(x.loaned_at),
            "due_date": _iso(x.due_date),
            "returned_at": _iso(x.returned_at),
            "library": codes.code("library", x.library_id),
        }
        for x in Loan.select().where(Loan.account == row.account_id).order_by(Loan.id)
    ]
    rec["fees"] = [
        {
            "fee_type": x.fee_type.code,
            "status": x.status,
            "original": x.original_minor,
            "balance": x.balance_minor,
            "item_barcode": x.item_barcode,
            "title": x.title,
            "comment": x.comment,
            "owner": codes.code("library", x.owner_id),
            "created_at": _iso(x.created_at),
        }
        for x in Fee.select().where(Fee.account == row.account_id).order_by(Fee.id)
    ]
    audit.record(
        actor,
        AuditAction.EXPORT,
        entity="account",
        entity_id=row.account_id,
        account_id=row.account_id,
        field="personal information",
        new=f"to {destination}" if destination else None,
    )
    return {"format": "patrondesk-personal-information", "version": 1, "user": rec}
