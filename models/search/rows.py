"""Find and Manage Users' search: the display rows of a page's accounts, with their marks
read in the staff user's library scope."""

from __future__ import annotations

import datetime as dt

from models.access.scope import LibraryScope
from models.config.settings import Settings
from models.runtime import runtime
from models.search.query import _ACTIVE, UserRow
from models.search.run import _date, _is_pg, _marks, _run

# --- Rows ---------------------------------------------------------------------------------------


# The account columns the display rows read (`_rows_sql`), as a walk's arms return them.
_ACCOUNT_COLUMNS = (
    "a.id, a.person_id, a.version, a.status, a.expiry_date, a.account_type, a.record_type, "
    "a.researcher, a.primary_id, a.job_category_id, a.user_group_id"
)


def _display_name(last: str, first: str, preferred_last: str, preferred_first: str) -> str:
    if preferred_last and preferred_last != last:
        last = f"{preferred_last} ({last})"
    if preferred_first and preferred_first != first:
        first = f"{preferred_first} ({first})" if first else preferred_first
    return f"{last}, {first}" if first else last


def _rows_sql(scope: LibraryScope, source: str, lead: str = "") -> tuple[str, list, str, list]:
    """The display rows' SQL, in two parts: (`lim` CTE, its parameters) and (SELECT `lead`
    columns, the display columns FROM `source` ... joins, its parameters), `source` naming the
    accounts `a` (no WHERE). The one
    place where the blocked and notes marks are computed, from the blocks and notes `scope`
    sees (library independence)."""
    today = runtime.today()
    block_scope, block_params = scope.sql("b.owner_id")
    note_scope, note_params = scope.sql("n.owner_id")
    # The debt limit (a setting, JSON digits) read in the same round trip: an account whose
    # active balance has reached it may not borrow (`models.fees.balances`), so the block mark
    # shows it. Every fee counts, whoever owns it: the limit is the user's, not the viewer's.
    digits = (
        "s.value ~ '^[0-9]{1,15}$'"
        if _is_pg()
        else ("s.value NOT GLOB '*[^0-9]*' AND length(s.value) BETWEEN 1 AND 15")
    )
    lim = (
        "lim AS (SELECT COALESCE((SELECT CASE WHEN "
        f"{digits} THEN CAST(s.value AS bigint) ELSE 0 END "
        "FROM setting s WHERE s.key = 'debt_limit_minor'), ?) AS v)"
    )
    select = (
        f"SELECT {lead}a.id, a.person_id, a.version, a.status, a.expiry_date, a.account_type, "
        "a.record_type, a.researcher, a.primary_id, p.last_name, p.first_name, "
        "p.preferred_last_name, p.preferred_first_name, p.email, jc.name, ug.name, "
        "EXISTS (SELECT 1 FROM block b WHERE b.account_id = a.id AND b.active = ? "
        f"AND (b.expiry_date IS NULL OR b.expiry_date >= ?) AND {block_scope}), "
        f"EXISTS (SELECT 1 FROM note n WHERE n.account_id = a.id AND {note_scope}), "
        "CASE WHEN lim.v > 0 THEN COALESCE((SELECT SUM(f.balance_minor) FROM fee f "
        "WHERE f.account_id = a.id AND f.status = ?), 0) >= lim.v ELSE ? END "
        f"FROM {source} JOIN person p ON p.id = a.person_id CROSS JOIN lim "
        "LEFT JOIN job_category jc ON jc.id = a.job_category_id "
        "LEFT JOIN user_group ug ON ug.id = a.user_group_id"
    )
    select_params = [
        True,
        today.isoformat(),
        *block_params,
        *note_params,
        "active",
        False,
    ]
    return lim, [Settings().debt_limit_minor], select, select_params


def _user_row(row: tuple, today: dt.date, at: int = 0) -> UserRow:
    """A display row from the 19 columns of `_rows_sql` starting at `row[at]` (built by
    position: a page builds a hundred)."""
    (
        aid,
        pid,
        version,
        status,
        expiry,
        account_type,
        record_type,
        researcher,
        primary_id,
        last,
        first,
        preferred_last,
        preferred_first,
        email,
        job,
        group,
        blocked,
        noted,
        over_limit,
    ) = row[at : at + 19]
    if expiry is not None and not isinstance(expiry, dt.date):
        expiry = _date(expiry)
    name = _display_name(last or "", first or "", preferred_last or "", preferred_first or "")
    return UserRow(
        aid,
        pid,
        version,
        status == _ACTIVE and (expiry is None or expiry >= today),
        status,
        name,
        account_type,
        record_type,
        job or "",
        group or "",
        expiry,
        bool(blocked) or bool(over_limit),
        bool(noted),
        bool(researcher),
        primary_id,
        email or "",
    )


def _rows(
    account_ids: list[int], scope: LibraryScope, known: dict[int, UserRow] | None = None
) -> list[UserRow]:
    """The display rows of these accounts, in this order (those in `known`, read with the
    page's keys, are not read again)."""
    known = known or {}
    wanted = [i for i in account_ids if i not in known]
    by_id = dict(known)
    if wanted:
        lim, lim_params, select, select_params = _rows_sql(scope, "account a")
        today = runtime.today()
        rows = _run(
            f"WITH {lim} {select} WHERE a.id IN ({_marks(len(wanted))})",
            [*lim_params, *select_params, *wanted],
            prepare=True,
        )
        for row in rows:
            by_id[row[0]] = _user_row(row, today)
    return [by_id[i] for i in account_ids if i in by_id]
