"""The table tabs of User Details (issue 5; domain.md section 6): contact rows (emails, phones,
addresses, kept on the person), identifiers, notes, blocks, statistics, attachments, proxies and
roles, behind one set of services keyed by `Kind`:

    list_rows(kind, account_id, actor)                              -> list of rows
    row_values(kind, account_id, row_id, actor)                     -> dict for an edit form
    add_row(kind, account_id, expected_version, data, actor)        -> Saved(row, version)
    update_row(kind, account_id, row_id, expected_version, data, actor) -> Saved
    duplicate_row(kind, account_id, row_id, expected_version, actor, changes=None) -> Saved
    delete_row(kind, account_id, row_id, expected_version, actor)   -> new version
    set_row_active(kind, account_id, row_id, expected_version, active, actor) -> Saved
        (identifiers, blocks and roles)
    check_add(kind, account, data, actor) / check_delete(kind, account, row, actor)
        (what add_row / delete_row check, reading only: a bulk job's preview)

Every change is one transaction with its audit events, checks and bumps the account's version
(`models.users.details.touch`: a stale version raises `ConflictError`), so a General-tab save made
on
an older read is refused too. Field problems raise `ValidationError` keyed by the names below;
refused actions (a read-only external row, the primary identifier, the last email, the last
role, the last administrator) raise `Refused`.

The package, one module per part: `base` (Kind, Refused, Saved, the helpers and `_Spec`),
`contact` (emails, phones, addresses), `records` (identifiers, notes, blocks, statistics),
`attachments` (attachments, proxies, roles), `specs` (SPECS, ACTIVATABLE) and `services`.
"""

from models.users.rows.attachments import read_attachment_file
from models.users.rows.base import Kind, Refused, Saved
from models.users.rows.services import (
    SaveTargetExists,
    add_row,
    check_add,
    check_delete,
    delete_row,
    duplicate_row,
    list_rows,
    popup_notes,
    row_values,
    save_attachment,
    set_row_active,
    update_row,
)
from models.users.rows.specs import ACTIVATABLE, SPECS, absent_kinds

__all__ = [
    "ACTIVATABLE",
    "Kind",
    "Refused",
    "SPECS",
    "SaveTargetExists",
    "Saved",
    "absent_kinds",
    "add_row",
    "check_add",
    "check_delete",
    "delete_row",
    "duplicate_row",
    "list_rows",
    "popup_notes",
    "read_attachment_file",
    "row_values",
    "save_attachment",
    "set_row_active",
    "update_row",
]
