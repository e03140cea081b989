"""Every kind's spec, by `Kind` (models.users.rows)."""

from __future__ import annotations

from models.enums import RecordType
from models.users.rows.attachments import _AttachmentSpec, _ProxySpec, _RoleSpec
from models.users.rows.base import Kind, _Spec
from models.users.rows.contact import _AddressSpec, _EmailSpec, _PhoneSpec
from models.users.rows.records import _BlockSpec, _IdentifierSpec, _NoteSpec, _StatisticSpec

SPECS: dict[Kind, _Spec] = {
    spec.kind: spec
    for spec in (
        _EmailSpec(),
        _PhoneSpec(),
        _AddressSpec(),
        _IdentifierSpec(),
        _NoteSpec(),
        _BlockSpec(),
        _StatisticSpec(),
        _AttachmentSpec(),
        _ProxySpec(),
        _RoleSpec(),
    )
}
# The kinds with activate / deactivate.
ACTIVATABLE = frozenset({Kind.IDENTIFIER, Kind.BLOCK, Kind.ROLE})
# The kinds a record type has no tab for (Alma: "The Identifiers and Blocks tabs are not
# available for Contact users"): such rows cannot be added to it. A contact keeps its primary
# identifier (every user has one), on the General tab.
ABSENT_KINDS: dict[str, frozenset[Kind]] = {
    RecordType.CONTACT.value: frozenset({Kind.IDENTIFIER, Kind.BLOCK}),
}


def absent_kinds(record_type: str) -> frozenset[Kind]:
    """The kinds of row a record of this type has no tab for."""
    return ABSENT_KINDS.get(record_type, frozenset())
