"""Find and Manage Users' search: what a query means (`UserQuery`, its limits and
constants) and the pages it gives (`Page`, `BackPage`, their cursors). See
`models.search.engine`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from models.enums import RecordType, Status

TABS = ("staff", "public", "contact", "all")
TAB_RECORD_TYPES: dict[str, tuple[str, ...] | None] = {
    "staff": (RecordType.STAFF.value,),
    "public": (RecordType.PUBLIC.value, RecordType.RESEARCHER.value),
    "contact": (RecordType.CONTACT.value, RecordType.ORGANIZATION.value),
    "all": None,
}
ALL_RECORD_TYPES = tuple(t.value for t in RecordType)
STATUSES = ("any", "active", "inactive")
SORTS = ("name", "expiry")

MAX_TOKENS = 8
CONTAINS_PREFIX = "~"
CONTAINS_MIN = 3  # characters: a trigram index finds nothing shorter
MAX_TOKEN_CHARS = 40
MAX_TEXT_CHARS = 400  # longer text is cut before folding
MAX_KEY_CHARS = 320  # the longest identifier / email key that can match exactly
MAX_LIMIT = 10_000
RARE_ROLE = 50_000  # a role filter held by fewer assignments starts from them
PROBE = 20_000  # hits and accounts are counted up to this to choose a strategy
PAGE_ESTIMATE = 100  # rows per page, for the cost estimates
# PostgreSQL: a bucket with more hits than the batch read is walked in name order rather than
# sorted (`_walk_bucket`), for at most BUCKET_WALK_ROUNDS statements, giving up when the hits
# are so sparse that more than BUCKET_WALK_SPARSE x the page's rows would be read.
BUCKET_WALK_ROUNDS = 3
BUCKET_WALK_SPARSE = 8

# The name key (must match migration 0003's SQL; tests check it).
KEY_CHARS = 7
ID_BITS = 28
ID_MASK = (1 << ID_BITS) - 1
MAX_KEY = (1 << 63) - 1

_ACTIVE = Status.ACTIVE.value
_NOT_EXPIRED = "(a.expiry_date IS NULL OR a.expiry_date >= ?)"


# --- The interface ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserQuery:
    text: str = ""
    tab: str = "all"
    account_type: str | None = None  # AccountType value or None
    role: str | None = None  # Role value: accounts holding that active role
    status: str = "any"  # "any" | "active" | "inactive"
    user_group_id: int | None = None
    sort: str = "name"  # "name" | "expiry"
    descending: bool = False
    # The dashboard's bars (models/dashboard.py `Target`), none of them on Find Users' own
    # filters: one record type within the tab; an expiry window (from, to excluded); an
    # active, unexpired block of one definition that the viewer may see (library scope).
    record_type: str | None = None
    expiry_from: dt.date | None = None
    expiry_to: dt.date | None = None
    block_definition_id: int | None = None


class UserRow(NamedTuple):
    """One row of the list (immutable; a named tuple: a page makes a hundred, and a frozen
    dataclass cost 4 µs each to build against 0.4)."""

    account_id: int
    person_id: int
    version: int
    active: bool  # status active and not expired
    status: str
    name: str  # "Last, First"; "Last, Preferred (First)" when a different preferred name is set
    account_type: str
    record_type: str
    job_category: str  # code-table name or ""
    user_group: str  # name or ""
    expiry_date: dt.date | None
    blocked: bool  # an active, unexpired block
    has_notes: bool
    researcher: bool
    primary_id: str
    email: str  # login email or ""


@dataclass(frozen=True)
class Page:
    rows: list[UserRow]
    cursor: object | None  # opaque keyset cursor for the next page; None at the end


@dataclass(frozen=True)
class BackPage:
    rows: list[UserRow]  # in the query's order
    before: object | None  # opaque cursor for `page_before`; None: these rows start the list


@dataclass(frozen=True)
class _BackCursor:
    query: UserQuery  # the forward query
    key: tuple | None  # reversed main phase: key of the earliest row shown; None: not started
    main_done: bool  # the main phase is shown to its start: the exact hits are left
    exact_left: int  # exact hits (forward order) not shown yet: the first `exact_left`
    exact: tuple[int, ...]  # the exact hits, in the forward order


@dataclass(frozen=True)
class _Cursor:
    query: UserQuery
    exact_shown: int  # exact hits already on earlier pages
    key: tuple | None  # sort key of the last row of the main phase; None: not started
    exact: tuple[int, ...] = ()  # the exact hits of the first page (not looked up again)
