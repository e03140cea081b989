"""An account's resource sharing libraries and purchase request libraries (issue 22, item 6d):
several of each, rows of `account_library` (migration 0019).

Alma, "Managing Users" (User Details, General tab): "Resource sharing library: A resource
sharing library responsible for resource sharing requests initiated by this user ... You can
select one or more resource sharing libraries in this multi-select field"; "Purchase request
library: A library responsible for purchase requests initiated by the user. You may select one
or more libraries in this multi-select field." ("Creating user records" offers the same two
fields.) Here each is a field of the General tab (`models.users.fields`, kind LIBRARIES), typed
as library codes separated by commas; the value is the list of the libraries' codes, in the
order given.

This module holds the rule of such a value (`check_libraries`: each a library of the
account's organization, active, named once), the reads (`library_codes`, `library_lists`) and
the write with its History line (`store_libraries`), in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from models import audit
from models.audit import Actor
from models.enums import AuditAction
from models.store.reading import Prepared
from models.store.tables import AccountLibrary, Library
from models.users.validation import FieldError, clean_text

# Field (models/users/fields.py) -> `AccountLibrary.kind`.
KINDS: dict[str, str] = {
    "resource_sharing_libraries": "resource_sharing",
    "purchase_request_libraries": "purchase_request",
}
FIELD_OF_KIND = {kind: name for name, kind in KINDS.items()}
TEXT_LIMIT = 2000  # the typed list, in characters


def split_codes(value: Any) -> list[str]:
    """The codes of a typed value: "A, B" (commas or lines), or a list; blanks dropped."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        items = str(value).replace("\r\n", ",").replace("\n", ",").split(",")
    return [" ".join(item.split()) for item in items if item.strip()]


def joined(codes: Iterable[str]) -> str:
    """A list of codes as the General tab shows it and History records it."""
    return ", ".join(codes)


def check_libraries(value: Any, organization_id: int | None, kept: Iterable[str] = ()) -> list[str]:
    """The codes of `value` (a typed "A, B" or a list), each the code of a library of the
    organization, active, and named once (case does not matter; the library's own code is
    kept). `kept`: the codes stored now, which stay even if their library was deactivated
    since. `FieldError` names the first wrong code."""
    if isinstance(value, list | tuple):
        for item in value:
            clean_text(str(item), 50)
    else:
        clean_text("" if value is None else str(value).replace("\n", ","), TEXT_LIMIT)
    codes = split_codes(value)
    if not codes:
        return []
    rows = list(Library.select().where(Library.organization == organization_id))
    exact = {row.code: row for row in rows}
    folded: dict[str, Library] = {}
    for row in rows:
        folded.setdefault(row.code.casefold(), row)
    kept = set(kept)
    out: list[str] = []
    seen: set[int] = set()
    for code in codes:
        row = exact.get(code) or folded.get(code.casefold())
        if row is None:
            raise FieldError(f"{code!r} is not a library of this organization")
        if row.id in seen:
            raise FieldError(f"names {row.code} twice")
        if not row.active and row.code not in kept:
            raise FieldError(f"{row.code!r} is an inactive library")
        seen.add(row.id)
        out.append(row.code)
    return out


_LIBRARY_CODES = Prepared(
    lambda account_id, kind: (
        AccountLibrary.select(Library.code)
        .join(Library)
        .where((AccountLibrary.account == account_id) & (AccountLibrary.kind == kind))
        .order_by(AccountLibrary.id)
        .tuples()
    )
)


def library_codes(account_id: int, field: str) -> list[str]:
    """The codes of the account's libraries of `field`, in the order given."""
    return [code for (code,) in _LIBRARY_CODES.rows(account_id, KINDS[field])]


def library_lists(account_ids: list[int]) -> dict[int, dict[str, list[int]]]:
    """account id -> field -> library ids, in the order given (the exports read them so)."""
    out: dict[int, dict[str, list[int]]] = {}
    for start in range(0, len(account_ids), 500):
        part = account_ids[start : start + 500]
        query = (
            AccountLibrary.select()
            .where(AccountLibrary.account.in_(part))
            .order_by(AccountLibrary.id)
        )
        for row in query:
            field = FIELD_OF_KIND.get(row.kind)
            if field is not None:
                out.setdefault(row.account_id, {}).setdefault(field, []).append(row.library_id)
    return out


def set_library_ids(account_id: int, field: str, library_ids: Iterable[int]) -> None:
    """Replace the account's libraries of `field` by `library_ids` (in order, each once)."""
    kind = KINDS[field]
    AccountLibrary.delete().where(
        (AccountLibrary.account == account_id) & (AccountLibrary.kind == kind)
    ).execute()
    rows = [
        {"account": account_id, "kind": kind, "library": lid}
        for lid in dict.fromkeys(library_ids)
        if lid is not None
    ]
    if rows:
        AccountLibrary.insert_many(rows).execute()


def store_libraries(
    account: Any, field: str, codes: list[str], old: list[str], actor: Actor, ids: dict
) -> None:
    """Write the checked codes of `field` and record the change in History (the old and the
    new list). In the caller's transaction."""
    by_code = {
        row.code: row.id
        for row in Library.select().where(
            (Library.organization == account.organization_id) & Library.code.in_(codes or [""])
        )
    }
    set_library_ids(account.id, field, [by_code[c] for c in codes if c in by_code])
    audit.record(
        actor,
        AuditAction.UPDATE,
        entity="account",
        entity_id=account.id,
        field=field,
        old=joined(old) or None,
        new=joined(codes) or None,
        **ids,
    )
