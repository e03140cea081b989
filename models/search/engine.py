"""Find and Manage Users: the one search engine the screen, the CLI and the tests call.

What a query means
------------------
- Tabs (`TABS`): "staff" = record type staff; "public" = public and researcher; "contact" =
  contact and organization; "all" = every record type.
- Filters: `account_type` (an `AccountType` value), `role` (accounts holding that role with
  status active and not expired), `status` ("active" = status active and not expired,
  "inactive" = not active or expired, "any"), `user_group_id`. Filters apply to every result,
  exact hits included. Only accounts of `organization_id` are ever returned.
- Text, blank: everything in the tab and filters, sorted.
- Text that equals (case-insensitively, `fold_key`) an identifier or barcode, a primary id, a
  username, a login email or any email address of a person: those accounts come first. When the
  text looks like a key (`looks_like_key`: it holds "@" or a digit) they are the whole result;
  otherwise (a username such as "smith") the name search below follows them. A text matching
  nothing exactly is always searched as the name words it holds ("anne.mul@" finds Anne
  Müller).
- Name search: the text is folded (`models.text.name_words`: lower case, accents removed,
  punctuation splits words) and every word must match by prefix some word of the person's first,
  middle, last or preferred names, in any order ("muller" and "MÜL" find Müller, "ann mul" finds
  Anne Müller). At most `MAX_TOKENS` words of at most `MAX_TOKEN_CHARS` characters are used;
  a word that is a prefix of another word of the query adds nothing and is dropped. A text with
  no word at all (only punctuation) gives only its exact hits. Nothing the user types reaches
  FTS syntax: each word is made of letters and digits only and is quoted.
- Order: `sort="name"` by the person's folded "last first" (`sort_name`) then account id;
  `sort="expiry"` by expiry date then account id, an account without expiry date counting as
  never expiring (last ascending, first descending). `descending` reverses the whole order.
  Exact hits come before the rest, in the same order among themselves.
- Text starting with `CONTAINS_PREFIX` ("~U0000025"): a *contains* search. The rest of the
  text, folded as the keys are (`fold_key`), must occur somewhere in a primary id, an
  identifier or barcode, a login email or an email address of the account (at least
  `CONTAINS_MIN` characters; shorter gives nothing). No name search and no exact phase; the
  tab, filters and sort apply as usual.
- Names are shown "Last, First"; a preferred name that differs is shown first with the legal
  one in brackets: "Last, Preferred (First)", "PreferredLast (Last), First".

Paging
------
`search_users(..., after=page.cursor)` gives the next page: keyset paging (never OFFSET) on the
last row's sort key and account id, so the cost of a page does not grow with its depth and a
walk to the end sees every row once. `Page.cursor` is None after the last page. A cursor is
only valid for the query that made it (`ValueError` otherwise).

`count_users(..., cap=N)` stops counting after N: it returns the exact count when it is at most
N, else N + 1 (shown as "N+"); without `cap` the count is exact (a broad query at a million
users reads every row: run it off the UI thread).

`last_page(...)` gives the last rows of the same order (End in the list), and
`page_before(..., before=page.before)` the rows before a `BackPage`: the same walk read in the
reverse order (the query with `descending` flipped: its main phase backwards, then its exact
hits, which come first in the forward order, last). `BackPage.before` is None when the page
starts at the first row.

How it is fast (migration 0003)
-------------------------------
- Listing without text walks, from the cursor, the keyset index of each record type of the tab
  (organization, record_type, sort_name | expiry_date, id, ...) and merges the walks; with a
  group filter the index (organization, user_group, record_type, ...). The indexes end with
  the filtered columns, so a walk never reads the table to test a filter. A role held by fewer
  than `RARE_ROLE` assignments is started from its assignments instead. On SQLite the index is
  named (`INDEXED BY`) so the plan never depends on statistics.
- Name search reads the name index in *name key* order: the key of a person is the first
  `KEY_CHARS` characters of `sort_name`, 5 order-preserving bits each, above the person id
  (`name_key`). Hits read in key order are in name order up to ties inside one bucket, so a
  page reads about `limit` hits plus the rest of the last bucket, however broad the query ("a"
  matches half the people). No ranking (bm25) and no sort of every hit. A character that
  is not a letter a-z or the top of its class ends the key (migration 0010), so that name
  order never contradicts key order ("le roux" < "le-blanc").
  PostgreSQL, a bucket with more hits than a page (some 2,000 "muller " at a million people):
  the page inside it walks the accounts' list indexes in name order from the cursor, testing
  the words on each row (`_walk_bucket`), instead of sorting the bucket's hits.
  Both back ends: a bucket whose every name matches (its leading letters start with each
  word: "jones " for "jo") is read along the list indexes within its range without testing
  anything (`_walk_all_hit`).
  SQLite: FTS5 contentless table `person_name_fts` (prefix indexes 1 to 3 characters);
  PostgreSQL: `person_name_prefix` (migration 0009), each name word under its 1- to
  3-character heads, primary key (head, key, word): a page is an index-only range scan of the
  longest word's head, the other words joined on the key (`_pg_hits`); `person_name_index`
  (a tsvector with a GIN index, prefix queries `word:*`) serves the counts and the expiry
  sort. Both are kept in step by triggers, in the transaction of every write.
- PostgreSQL prepares the exact and rows lookups once per connection (`_run_prepared`).
- Name search sorted by expiry cannot use key order: a narrow query (fewer hits than about
  sqrt(limit x people), counted with a bound) sorts its hits; a broad one walks the expiry
  index and tests the words on each row.
- Contains search (migration 0013): PostgreSQL, `pg_trgm` GIN indexes on the four key
  columns (`LIKE '%text%'`); SQLite, an FTS5 trigram table per key column (external content,
  kept by triggers), matched as one quoted phrase (consecutive trigrams: a substring), each hit
  checked again with `instr`. The hits (accounts) are joined to the accounts and sorted by the
  database from the cursor; when there are more hits than `_sort_threshold` (a text held by
  many users: "~.example") a page walks the accounts' list indexes instead, testing the keys
  of each row, as a broad name search by expiry does.
- Marks (`blocked`, `has_notes`) and display columns are read for the page's rows only, in one
  query (`_rows`). The marks count only the blocks and notes the staff user's library scope
  sees (`scope=`, library independence: `models.access.scope`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import weakref
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import NamedTuple

from peewee import PostgresqlDatabase

from models.access.scope import INSTITUTION_ONLY, LibraryScope
from models.config.settings import Settings
from models.enums import RecordType, Status
from models.runtime import runtime
from models.store.base import database, fold_key
from models.text import name_words

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


def search_users(
    organization_id: int,
    query: UserQuery,
    *,
    after: object | None = None,
    limit: int = 100,
    scope: LibraryScope = INSTITUTION_ONLY,
) -> Page:
    """One page of accounts of `organization_id` matching `query`, in its order. The blocked
    and notes marks count only rows owned by a library of `scope` or by the institution
    (`models.access.scope.scope_of(staff_account)`; a caller that names no scope gets the
    institution's rows only)."""
    _check(query)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    if after is not None and (not isinstance(after, _Cursor) or after.query != query):
        raise ValueError("this cursor belongs to another query: start again without it")
    plan = _Plan(organization_id, query, after.exact if after else None, scope)
    exact_shown, key = (after.exact_shown, after.key) if after else (0, None)
    found = tuple(plan.exact)
    ids: list[int] = []
    if key is None:
        # Exact hits first (a cursor without key: the previous page ended among them).
        ids = plan.exact[exact_shown : exact_shown + limit]
        exact_shown += len(ids)
    if len(ids) == limit:
        more = exact_shown < len(plan.exact) or bool(plan.main_page(None, 1)[0])
        return Page(
            _rows(ids, scope, plan.known),
            _Cursor(query, exact_shown, None, found) if more else None,
        )
    main_keys, more = plan.main_page(key, limit - len(ids))
    ids += [k[-1] for k in main_keys]
    cursor = _Cursor(query, exact_shown, main_keys[-1], found) if more else None
    return Page(_rows(ids, scope, plan.known), cursor)


def last_page(
    organization_id: int,
    query: UserQuery,
    *,
    limit: int = 100,
    scope: LibraryScope = INSTITUTION_ONLY,
) -> BackPage:
    """The last `limit` rows of `query`, in its order (End in the list)."""
    return page_before(organization_id, query, None, limit=limit, scope=scope)


def page_before(
    organization_id: int,
    query: UserQuery,
    before: object | None,
    *,
    limit: int = 100,
    scope: LibraryScope = INSTITUTION_ONLY,
) -> BackPage:
    """The `limit` rows before `before` (a `BackPage.before`; None: the end), in the query's
    order: the walk of `search_users` read backwards (the main phase with `descending`
    flipped, then the exact hits from the last one)."""
    _check(query)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    if before is not None and (not isinstance(before, _BackCursor) or before.query != query):
        raise ValueError("this cursor belongs to another query: start again without it")
    reverse = replace(query, descending=not query.descending)
    plan = _Plan(organization_id, reverse, before.exact[::-1] if before else None, scope)
    forward_exact = tuple(plan.exact[::-1])
    if before is None:
        key, main_done, exact_left = None, False, len(forward_exact)
    else:
        key, main_done, exact_left = before.key, before.main_done, before.exact_left
    ids: list[int] = []  # reverse order
    if not main_done:
        main_keys, more = plan.main_page(key, limit)
        ids = [k[-1] for k in main_keys]
        if more:
            cursor = _BackCursor(query, main_keys[-1], False, exact_left, forward_exact)
            return BackPage(_rows(ids[::-1], scope, plan.known), cursor)
    take = forward_exact[max(0, exact_left - (limit - len(ids))) : exact_left]
    exact_left -= len(take)
    cursor = _BackCursor(query, None, True, exact_left, forward_exact) if exact_left else None
    return BackPage(_rows([*take, *ids[::-1]], scope, plan.known), cursor)


def count_users(organization_id: int, query: UserQuery, *, cap: int | None = None) -> int:
    """How many accounts `search_users` would walk through: exact when at most `cap`,
    else `cap + 1`."""
    _check(query)
    if cap is not None and cap < 0:
        raise ValueError("cap must not be negative")
    plan = _Plan(organization_id, query)
    found = len(plan.exact)
    if cap is not None and found > cap:
        return cap + 1
    bound = None if cap is None else cap + 1 - found
    return found + plan.main_count(bound)


def find_exact(
    organization_id: int, value: str, *, scope: LibraryScope = INSTITUTION_ONLY
) -> list[UserRow]:
    """Accounts whose identifier, barcode, primary id, username, login email or an email
    address equals `value` (case-insensitive), in name order (marks as in `search_users`)."""
    plan = _Plan(organization_id, UserQuery(text=value or ""))
    return _rows(plan.exact, scope)


# --- Text ---------------------------------------------------------------------------------------


def search_tokens(text: str) -> list[str]:
    """The folded words of `text` that the name search matches by prefix (see the module
    docstring): letters and digits only, at most `MAX_TOKENS` of `MAX_TOKEN_CHARS`."""
    words = [w[:MAX_TOKEN_CHARS] for w in name_words((text or "")[:MAX_TEXT_CHARS]).split()]
    kept: list[str] = []
    for word in dict.fromkeys(words):
        if any(other != word and other.startswith(word) for other in words):
            continue  # "an" adds nothing to "anne"
        kept.append(word)
    return kept[:MAX_TOKENS]


def contains_text(text: str) -> str:
    """The folded text a contains search ("~U0000025") looks for inside the keys: "" when it
    is shorter than `CONTAINS_MIN` characters, longer than a key can be, or holds NUL."""
    text = (text or "")[:MAX_TEXT_CHARS].strip()
    if text.startswith(CONTAINS_PREFIX):
        text = text[len(CONTAINS_PREFIX) :]
    key = fold_key(text) or ""
    if len(key) < CONTAINS_MIN or len(key) > MAX_KEY_CHARS or "\x00" in key:
        return ""
    return key


def looks_like_key(text: str) -> bool:
    """An email address or an identifier (it holds "@" or a digit) rather than a name."""
    return "@" in text or any(ch.isdigit() for ch in text)


def fts_match(tokens: list[str]) -> str:
    """SQLite FTS5 query: every token quoted, as a prefix, all required."""
    return " AND ".join('"' + t.replace('"', '""') + '"*' for t in tokens)


def pg_tsquery(tokens: list[str]) -> str:
    """PostgreSQL `to_tsquery('simple', ...)` text: every token quoted, as a prefix."""
    return " & ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "':*" for t in tokens)


def _like_prefix(token: str) -> str:
    """A LIKE pattern for words starting with `token` (search tokens hold letters and digits
    only; escaped all the same)."""
    return token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _char_code(ch: str | None) -> int:
    """Order-preserving 5-bit code of one character of a sort name (0: no character): a
    letter a-z each, the others in classes."""
    if ch is None:
        return 0
    c = ord(ch)
    if c <= 32:
        return 1
    if c <= 96:
        return 2
    if c <= 122:
        return c - 94
    if c <= 879:
        return 29
    if c <= 1279:
        return 30
    return 31


# The highest character of each class of `_char_code`: the key goes on after a letter or one of
# these, and stops after any other character (migration 0010).
_CLASS_TOPS = frozenset(map(chr, (32, 96, 879, 1279, 0x10FFFF)))


def name_bucket(sort_name: str) -> int:
    """The first `KEY_CHARS` characters of `sort_name`, coded so that a < b implies
    bucket(a) <= bucket(b) (code point order, as SQLite's BINARY and PostgreSQL's "C"). The
    code of a character stands for its class: after one that is not the highest of its class
    the codes are 0 (two names equal up to a hyphen and a space, "le-blanc" and "le roux",
    share a bucket, sorted inside it), or the key would compare the characters after it."""
    bucket = 0
    going = True
    for i in range(KEY_CHARS):
        code = 0
        if going and i < len(sort_name):
            ch = sort_name[i]
            code = _char_code(ch)
            going = "a" <= ch <= "z" or ch in _CLASS_TOPS
        bucket = (bucket << 5) | code
    return bucket


def _code_chars(code: int) -> tuple[str, str]:
    """The lowest and highest character of a `_char_code` (1 starts at U+0001: PostgreSQL text
    holds no NUL)."""
    low, high = {
        1: (1, 32),
        2: (33, 96),
        29: (123, 879),
        30: (880, 1279),
        31: (1280, 0x10FFFF),
    }.get(code, (code + 94, code + 94))
    return chr(low), chr(high)


def _bucket_codes(bucket: int) -> list[int]:
    """The codes of a bucket, up to its last character."""
    codes = [(bucket >> (5 * (KEY_CHARS - 1 - i))) & 31 for i in range(KEY_CHARS)]
    while codes and not codes[-1]:
        codes.pop()
    return codes


def _bucket_letters(bucket: int) -> str:
    """The letters a-z that every sort name of `bucket` starts with (those its codes begin
    with: a letter's code is the letter itself)."""
    letters = []
    for code in _bucket_codes(bucket):
        if not 3 <= code <= 28:
            break
        letters.append(chr(code + 94))
    return "".join(letters)


def _bucket_floor(bucket: int) -> str:
    """The lowest sort name of `bucket` (every character before the last one is the one
    after which the key goes on: the top of its class)."""
    codes = _bucket_codes(bucket)
    return "".join(_code_chars(c)[1] for c in codes[:-1]) + (
        _code_chars(codes[-1])[0] if codes else ""
    )


def _bucket_top(bucket: int) -> str:
    """A string at or above every sort name of `bucket`, below those of later buckets (a sort
    name holding U+10FFFF apart, which folded names never do)."""
    codes = _bucket_codes(bucket)
    top = "".join(_code_chars(c)[1] for c in codes)
    return top + chr(0x10FFFF) if len(codes) == KEY_CHARS else top


def name_key(sort_name: str, person_id: int) -> int:
    """The key of a person in the name index (as the triggers of migration 0003 compute it)."""
    return (name_bucket(sort_name) << ID_BITS) | person_id


# --- Planning and running -----------------------------------------------------------------------


def _check(query: UserQuery) -> None:
    if query.tab not in TABS:
        raise ValueError(f"tab must be one of {', '.join(TABS)}")
    if query.status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    if query.sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")


def _is_pg() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)


def _run(sql: str, params: list | tuple = (), *, prepare: bool = False) -> list[tuple]:
    """Run `sql` (`?` placeholders). `prepare`: PostgreSQL may keep its plan (statements whose
    best plan does not depend on the values: lookups by key)."""
    if _is_pg():
        if prepare:
            return _run_prepared(sql, tuple(params))
        sql = sql.replace("?", "%s")
    return database.execute_sql(sql, tuple(params)).fetchall()


# PostgreSQL: the lookups every page runs (exact hits, the page's rows) are prepared once per
# connection. Planning them cost more than running them (about 1 ms against 0.15 for a page's
# rows at 1,000,000 people), and psycopg2 never prepares. Not the name walks: a generic plan of
# those, blind to how long a head's list is, was measured 2 to 4 times slower. Statements with
# long IN lists vary with the list's length: only those with at most PREPARE_MAX_PARAMS
# parameters are prepared, and each connection keeps the PREPARE_KEEP most recent (the others
# are deallocated).
PREPARE_MAX_PARAMS = 120
PREPARE_KEEP = 64
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_prepared_names = itertools.count(1)


def _run_prepared(sql: str, params: tuple) -> list[tuple]:
    if len(params) > PREPARE_MAX_PARAMS or database.in_transaction():
        # In a transaction a failed PREPARE would abort it: run the statement as it is.
        return database.execute_sql(sql.replace("?", "%s"), params).fetchall()
    conn = database.connection()
    cache = _prepared.get(conn)
    if cache is None:
        cache = _prepared[conn] = OrderedDict()
        # The statements prepared here are those whose plan does not depend on the values;
        # left to choose, PostgreSQL kept planning the list walk (with its rows) afresh at
        # every call: 2.3 ms of planning for 2.6 of running. (On this connection the plans of
        # PL/pgSQL trigger statements are generic too: key lookups, the same plan either way.)
        database.execute_sql("SET plan_cache_mode = force_generic_plan")
    name = cache.get(sql)
    if name is None:
        name = f"pd_search_{next(_prepared_names)}"
        numbered = iter(range(1, len(params) + 1))
        body = "".join(f"${next(numbered)}" if ch == "?" else ch for ch in sql)
        database.execute_sql(f"PREPARE {name} AS {body}")
        cache[sql] = name
        if len(cache) > PREPARE_KEEP:
            _, old = cache.popitem(last=False)
            database.execute_sql(f"DEALLOCATE {old}")
    else:
        cache.move_to_end(sql)
    marks = ", ".join(["%s"] * len(params))
    return database.execute_sql(
        f"EXECUTE {name}" + (f" ({marks})" if params else ""), params
    ).fetchall()


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


class _Plan:
    """One query against one organization: its filters as SQL, its exact hits, its main
    phase (listing or name search)."""

    def __init__(
        self,
        organization_id: int,
        query: UserQuery,
        exact: tuple[int, ...] | None = None,
        scope: LibraryScope = INSTITUTION_ONLY,
    ) -> None:
        self.org = organization_id
        self.q = query
        self.scope = scope
        self.known: dict[int, UserRow] = {}  # display rows read with the keys (PostgreSQL)
        self.pg = _is_pg()
        self.today = runtime.today().isoformat()
        self.desc = query.descending
        self.record_types = TAB_RECORD_TYPES[query.tab]
        text = (query.text or "").strip()
        # A contains search ("~text"): the folded text to find inside the keys ("": too short).
        self.contains: str | None = None
        if text.startswith(CONTAINS_PREFIX):
            self.contains = contains_text(text)
            text = ""
        self.tokens = search_tokens(text) if text else []
        self.has_text = bool(text)
        # Filters on account `a` (organization and record type apart): (condition, parameters).
        self.filters: list[tuple[str, list]] = []
        if query.account_type:
            self.filters.append(("a.account_type = ?", [query.account_type]))
        if query.user_group_id is not None:
            self.filters.append(("a.user_group_id = ?", [query.user_group_id]))
        if query.status == "active":
            self.filters.append(("a.status = ?", [_ACTIVE]))
            self.filters.append((_NOT_EXPIRED, [self.today]))
        elif query.status == "inactive":
            self.filters.append(("(a.status <> ? OR a.expiry_date < ?)", [_ACTIVE, self.today]))
        self._role_is_rare: bool | None = None
        self._strategy: str | None = None
        self.exact: list[int] = []
        if exact is not None:
            self.exact = list(exact)  # a later page: as the first page found them
        else:
            self.exact = self._exact_ids(text) if text else []
        # A key-like text (an email, a barcode) that matched exactly is not also a name.
        self.names = bool(self.tokens) and not (self.exact and looks_like_key(text))

    # -- SQL pieces

    def where(
        self,
        record_types: tuple[str, ...] | None = None,
        *,
        role: bool = True,
        phased: bool = False,
    ) -> tuple[str, list]:
        """`a.organization_id = ? AND ...`: the organization, the record types, the filters
        (the role one unless `role` is false), and no exact hit (those come first, once).
        `phased`: for a walk by expiry, whose phases (`_expiry_arms`) say "not expired"
        themselves, as ranges of the index (a generic plan of the OR sorted 18,000 rows)."""
        conds, params = ["a.organization_id = ?"], [self.org]
        for cond, cond_params in self.filters:
            if phased and cond == _NOT_EXPIRED:
                continue
            conds.append(cond)
            params += cond_params
        if role and self.q.role:
            conds.append(
                "EXISTS (SELECT 1 FROM role_assignment r WHERE r.account_id = a.id "
                "AND r.role = ? AND r.status = ? AND (r.expiry_date IS NULL OR r.expiry_date >= ?))"
            )
            params += [self.q.role, _ACTIVE, self.today]
        types = self.record_types if record_types is None else record_types
        if types:
            conds.insert(1, f"a.record_type IN ({_marks(len(types))})")
            params[1:1] = list(types)
        if self.exact:
            # `+`: never a reason to choose the primary key (SQLite would scan it).
            conds.append(f"+a.id NOT IN ({_marks(len(self.exact))})")
            params += self.exact
        return " AND ".join(conds), params

    def _exact_ids(self, text: str) -> list[int]:
        key = fold_key(text)
        if not key or len(key) > MAX_KEY_CHARS or "\x00" in key:
            return []  # no stored key is that long or holds NUL (PostgreSQL cannot)
        # One round trip: the holders of the key, kept if they pass the tab and filters.
        where, params = self.where()
        rows = _run(
            f"SELECT a.id, a.sort_name, a.expiry_date FROM account a{self._by_id()} "
            "WHERE a.id IN ("
            "SELECT i.account_id FROM identifier i WHERE i.value_key = ? "
            "UNION SELECT a2.id FROM account a2 WHERE a2.primary_id_key = ? "
            "UNION SELECT a3.id FROM person p JOIN account a3 ON a3.person_id = p.id "
            "WHERE p.email_key = ? OR p.username_key = ? "
            "UNION SELECT a4.id FROM email e JOIN account a4 ON a4.person_id = e.person_id "
            f"WHERE e.address_key = ?) AND {where}",
            [*[key] * 5, *params],
            prepare=True,
        )
        if self.q.sort == "name":
            keys = sorted((sn, aid) for aid, sn, _ in rows)
        else:
            keys = sorted(self._expiry_key(_date(exp), aid) for aid, _, exp in rows)
        if self.desc:
            keys.reverse()
        return [k[-1] for k in keys]

    @staticmethod
    def _expiry_key(expiry: dt.date | None, account_id: int) -> tuple:
        # Ascending: dated rows by date, then the rows that never expire.
        return (0, expiry, account_id) if expiry is not None else (1, dt.date.max, account_id)

    # -- Main phase

    def main_page(self, after: tuple | None, limit: int) -> tuple[list[tuple], bool]:
        """Sort keys (ending with the account id) of the next `limit` rows after `after`, and
        whether more follow."""
        if self.contains is not None:
            if self.contains and self._contains_broad():
                keys = self._walk(after, limit + 1, words=True)  # `_words_sql` tests per row
            else:
                keys = self._contains_page(after, limit + 1)
            return keys[:limit], len(keys) > limit
        if self.has_text and not self.names:
            return [], False
        strategy = self.strategy()
        if strategy == "listing":
            keys = self._walk(after, limit + 1, words=False)
        elif strategy == "walk":
            keys = self._walk(after, limit + 1, words=True)
        elif strategy == "keys":
            keys = self._names_in_key_order(after, limit + 1)
        else:
            keys = self._names_sorted_by_expiry(after, limit + 1)
        return keys[:limit], len(keys) > limit

    def main_count(self, bound: int | None) -> int:
        if self.contains is not None:
            if not self.contains:
                return 0
            hits, hit_params = self._contains_sql()
            where, params = self.where()
            limit = "" if bound is None else f" LIMIT {int(bound)}"
            sql = f"SELECT 1 FROM account a WHERE a.id IN ({hits}) AND {where}{limit}"
            return _run(f"SELECT count(*) FROM ({sql}) s", [*hit_params, *params])[0][0]
        if self.has_text and not self.names:
            return 0
        strategy = self.strategy()
        if strategy in ("listing", "walk"):
            return self._count_accounts(bound, words=strategy == "walk")
        where, params = self.where()
        hits, hit_params = self._hits_sql()
        limit = "" if bound is None else f" LIMIT {int(bound)}"
        sql = f"SELECT 1 FROM ({hits}) h JOIN account a ON a.person_id = h.pid WHERE {where}{limit}"
        return _run(f"SELECT count(*) FROM ({sql}) s", [*hit_params, *params])[0][0]

    def strategy(self) -> str:
        """How the main phase is read:
        - "listing": no words; the keyset indexes of the accounts.
        - "keys": words, by name; the name index in key order (`_names_in_key_order`).
        - "sort": words, by expiry, few hits: the hits sorted by the database.
        - "walk": words and filters that leave fewer accounts than the words have hits, or
          by expiry with many hits: the accounts' keyset indexes, testing the words per row.
        Hits and accounts are counted up to `PROBE` to choose."""
        if self._strategy is None:
            self._strategy = self._choose()
        return self._strategy

    def _choose(self) -> str:
        if not self.tokens:
            return "listing"
        filtered = bool(self.record_types or self.filters or self.q.role)
        if not filtered and self.q.sort == "name":
            return "keys"
        hits_sql, hit_params = self._hits_sql()
        hits = _run(f"SELECT count(*) FROM ({hits_sql} LIMIT {PROBE}) s", hit_params)[0][0]
        if filtered and self._count_accounts(PROBE, words=False) < hits:
            return "walk"
        if self.q.sort == "name":
            return "keys"
        return "sort" if hits < self._sort_threshold() else "walk"

    def _hits_sql(self) -> tuple[str, list]:
        """Every person matching the words: (pid)."""
        if self.pg:
            return (
                "SELECT person_id AS pid FROM person_name_index "
                "WHERE words @@ to_tsquery('simple', ?)",
                [pg_tsquery(self.tokens)],
            )
        return (
            f"SELECT rowid & {ID_MASK} AS pid FROM person_name_fts WHERE person_name_fts MATCH ?",
            [fts_match(self.tokens)],
        )

    def _words_sql(self) -> tuple[str, list]:
        """Every word of the query starts a word of the person's search text; for a contains
        search, one of the account's keys holds the text."""
        if self.contains:
            find = "strpos" if self.pg else "instr"
            return (
                f"({find}(a.primary_id_key, ?) > 0 OR {find}(p.email_key, ?) > 0 "
                "OR EXISTS (SELECT 1 FROM identifier i WHERE i.account_id = a.id "
                f"AND {find}(i.value_key, ?) > 0) "
                "OR EXISTS (SELECT 1 FROM email e WHERE e.person_id = a.person_id "
                f"AND {find}(e.address_key, ?) > 0))",
                [self.contains] * 4,
            )
        test = (
            "strpos(' ' || p.search_text, ?) > 0"
            if self.pg
            else "instr(' ' || p.search_text, ?) > 0"
        )
        return " AND ".join(test for _ in self.tokens), [" " + t for t in self.tokens]

    # Walks of the accounts' keyset indexes (listing, and words tested per row).

    def _sources(self, words: bool) -> list[tuple[str, str, list]]:
        """(FROM, WHERE, params) of each walk: one per record type of the tab, each on its
        covering keyset index; or, for a rare role, its assignments."""
        if self._rare_role():
            where, params = self._role_where()
            sources = [(f"account a{self._by_id()}", where, params)]
        else:
            sources = []
            phased = self.q.sort == "expiry"
            for record_type in self.record_types or ALL_RECORD_TYPES:
                where, params = self.where((record_type,), phased=phased)
                sources.append((f"account a{self._indexed_by(self.q.sort)}", where, params))
        if words:
            join = "JOIN" if self.pg else "CROSS JOIN"  # SQLite: the account index leads
            words_sql, word_params = self._words_sql()
            sources = [
                (
                    f"{frm} {join} person p ON p.id = a.person_id",
                    f"{where} AND {words_sql}",
                    [*params, *word_params],
                )
                for frm, where, params in sources
            ]
        return sources

    def _walk(self, after: tuple | None, n: int, words: bool) -> list[tuple]:
        """The next `n` keys from every walk, merged."""
        if self.pg:
            return self._walk_together(after, n, words)
        keys: list[tuple] = []
        for frm, where, params in self._sources(words):
            if self.q.sort == "name":
                keys += self._walk_by_name(frm, where, params, after, n)
            else:
                keys += self._walk_by_expiry(frm, where, params, after, n)
        keys.sort(reverse=self.desc)
        return keys[:n]

    def _walk_together(
        self, after: tuple | None, n: int, words: bool, within: tuple[str, list] | None = None
    ) -> list[tuple]:
        """PostgreSQL: every walk (one per record type) as one statement, each arm reading its
        index in order, merged, with the page's display rows: one round trip and one plan
        instead of up to ten. By expiry, one statement per phase (dated, never expiring), the
        next only when a phase ends within the page. `within`: a further condition of every
        arm."""
        if self.q.sort == "name":
            phases = [[self._name_arm(after)]]
        else:
            phases = [[arm] for arm in self._expiry_arms(after)]
        keys: list[tuple] = []
        for arms in phases:
            keys += self._walk_phase(arms, n - len(keys), words, within)
            if len(keys) >= n:
                break
        keys.sort(reverse=self.desc)
        return keys[:n]

    def _walk_phase(
        self,
        phase: list[tuple[str, list, str]],
        n: int,
        words: bool,
        within: tuple[str, list] | None,
    ) -> list[tuple]:
        """One statement of `_walk_together`: the arms of every source under the conditions
        of `phase`, merged in one order, at most `n` rows. The arms read the accounts'
        columns as they go: a merge of index scans reads only the rows it returns (about 100
        heap pages a page of 100, against 400 buffers of primary-key lookups after an
        index-only walk)."""
        arms, params = [], []
        for frm, where, wparams in self._sources(words):
            for cond, cparams, order_by in phase:
                if within is not None:
                    cond, cparams = f"{cond} AND {within[0]}", [*cparams, *within[1]]
                arms.append(
                    f"(SELECT a.sort_name AS k_name, {_ACCOUNT_COLUMNS} FROM {frm} "
                    f"WHERE {where} AND {cond} ORDER BY {order_by} LIMIT {int(n)})"
                )
                params += [*wparams, *cparams]
        if not arms:
            return []
        order = "DESC" if self.desc else "ASC"
        merged = (
            f'k_name COLLATE "C" {order}, id {order}'
            if self.q.sort == "name"
            else f"expiry_date {order}, id {order}"
        )
        walk = f"SELECT * FROM ({' UNION ALL '.join(arms)}) w ORDER BY {merged} LIMIT {int(n)}"
        # The page's display rows in the same statement (one round trip, one plan).
        lim, lim_params, select, select_params = _rows_sql(self.scope, "w a", lead="a.k_name, ")
        sql = f"WITH {lim}, w AS ({walk}) {select}"
        rows = _run(sql, [*lim_params, *params, *select_params], prepare=not words)
        today = runtime.today()
        keys = []
        by_name = self.q.sort == "name"
        for record in rows:
            row = _user_row(record, today, 1)
            self.known[row.account_id] = row
            if by_name:
                keys.append((record[0], row.account_id))
            else:
                keys.append(self._expiry_key(row.expiry_date, row.account_id))
        return keys

    def _name_arm(self, after: tuple | None) -> tuple[str, list, str]:
        """(condition, params, ORDER BY) of a walk in name order from `after` (exclusive; the
        condition is TRUE without one)."""
        op, order = ("<", "DESC") if self.desc else (">", "ASC")
        by_name = f"a.sort_name {order}, a.id {order}"
        if after is None:
            return "TRUE", [], by_name
        return f"(a.sort_name, a.id) {op} (?, ?)", [after[0], after[1]], by_name

    def _walk_by_name(
        self, frm: str, where: str, params: list, after: tuple | None, n: int
    ) -> list[tuple]:
        cond, cparams, order_by = self._name_arm(after)
        rows = _run(
            f"SELECT a.sort_name, a.id FROM {frm} WHERE {where} AND {cond} "
            f"ORDER BY {order_by} LIMIT {int(n)}",
            [*params, *cparams],
        )
        return [tuple(r) for r in rows]

    def _walk_by_expiry(
        self, frm: str, where: str, params: list, after: tuple | None, n: int
    ) -> list[tuple]:
        keys: list[tuple] = []
        for cond, cparams, order in self._expiry_arms(after):
            rows = _run(
                f"SELECT a.expiry_date, a.id FROM {frm} WHERE {where} AND {cond} "
                f"ORDER BY {order} LIMIT {int(n - len(keys))}",
                [*params, *cparams],
            )
            keys += [self._expiry_key(_date(exp), aid) for exp, aid in rows]
            if len(keys) >= n:
                break
        return keys

    def _count_accounts(self, bound: int | None, words: bool) -> int:
        """Accounts passing the filters (and the words, tested per row), up to `bound`."""
        if self._rare_role():
            frm, (where, params) = f"account a{self._by_id()}", self._role_where()
        else:
            frm, (where, params) = "account a", self.where()
        if words:
            join = "JOIN" if self.pg else "CROSS JOIN"
            words_sql, word_params = self._words_sql()
            frm += f" {join} person p ON p.id = a.person_id"
            where, params = f"{where} AND {words_sql}", [*params, *word_params]
        limit = "" if bound is None else f" LIMIT {int(bound)}"
        return _run(f"SELECT count(*) FROM (SELECT 1 FROM {frm} WHERE {where}{limit}) s", params)[
            0
        ][0]

    def _by_id(self) -> str:
        """SQLite: reach accounts by id only (the covering indexes lead with the organization,
        which without statistics looks selective)."""
        return "" if self.pg else " NOT INDEXED"

    def _indexed_by(self, sort: str) -> str:
        """SQLite: name the keyset index, so that the plan never depends on statistics."""
        if self.pg:
            return ""
        kind = "group" if self.q.user_group_id is not None else "type"
        return f" INDEXED BY account_search_{kind}_{sort}"

    def _rare_role(self) -> bool:
        """A role filter held by fewer than `RARE_ROLE` assignments: cheaper to start from
        them than to walk the list testing each row."""
        if not self.q.role:
            return False
        if self._role_is_rare is None:
            count = _run(
                "SELECT count(*) FROM (SELECT 1 FROM role_assignment r WHERE r.role = ? "
                f"LIMIT {RARE_ROLE}) s",
                [self.q.role],
            )[0][0]
            self._role_is_rare = count < RARE_ROLE
        return self._role_is_rare

    def _role_where(self) -> tuple[str, list]:
        """The filters, with the role as the list of its holders."""
        where, params = self.where(role=False)
        return (
            f"{where} AND a.id IN (SELECT r.account_id FROM role_assignment r "
            "WHERE r.role = ? AND r.status = ? AND (r.expiry_date IS NULL OR r.expiry_date >= ?))",
            [*params, self.q.role, _ACTIVE, self.today],
        )

    def _expiry_arms(self, after: tuple | None) -> list[tuple[str, list, str]]:
        """(condition, params, ORDER BY) per phase, in walking order: dated rows (phase 0)
        and rows that never expire (phase 1), from `after` on."""
        phases = [1, 0] if self.desc else [0, 1]
        order = "DESC" if self.desc else "ASC"
        op = "<" if self.desc else ">"
        arms = []
        for phase in phases:
            if after is not None and (phase < after[0] if not self.desc else phase > after[0]):
                continue  # already walked
            if phase == 0:
                cond, params = "a.expiry_date IS NOT NULL", []
                if self.q.status == "active":
                    # Not expired, as a range of the index (the filter's OR is not one): the
                    # walk does not read every expired account first.
                    cond, params = "a.expiry_date >= ?", [self.today]
                if after is not None and after[0] == 0:
                    cond += f" AND (a.expiry_date, a.id) {op} (?, ?)"
                    params += [after[1].isoformat(), after[2]]
                arms.append((cond, params, f"a.expiry_date {order}, a.id {order}"))
            else:
                cond, params = "a.expiry_date IS NULL", []
                if after is not None and after[0] == 1:
                    cond += f" AND a.id {op} ?"
                    params = [after[2]]
                # Ordered as the keyset index is (the date is NULL throughout): by id alone,
                # PostgreSQL walked the primary key testing each row (0.4 s where no row of a
                # record type lacks a date).
                arms.append((cond, params, f"a.expiry_date {order}, a.id {order}"))
        return arms

    # Name search in name order: the name index read in key order.

    def _hits_in_range(self, lo: int, hi: int) -> tuple[str, list]:
        """SQL of the hits with lo <= key <= hi: (k, pid), and its parameters."""
        if self.pg:
            return self._pg_hits(lo, hi, lookups=True)
        return (
            f"SELECT rowid AS k, rowid & {ID_MASK} AS pid FROM person_name_fts "
            "WHERE person_name_fts MATCH ? AND rowid >= ? AND rowid <= ?",
            [fts_match(self.tokens), lo, hi],
        )

    def _pg_hits(
        self, lo: int, hi: int, n: int | None = None, *, lookups: bool = False
    ) -> tuple[str, list]:
        """PostgreSQL (migration 0009): SQL of the hits with lo <= key <= hi, in key order, at
        most `n`: (k, pid). Each word reads the list of its head (its first 1 to 3
        characters) in key order, testing the word itself when it is longer than the head;
        the lists of several words are joined on the key (a merge join of index-only scans,
        or lookups from the shortest list: the planner knows the size of each head's list,
        unlike the selectivity of a GIN prefix query, which it misjudged by 100 times both
        ways: a bitmap of half the people for "m", a walk of every key for "muller").
        `lookups`: the other words as lookups of each key of the first word's list, for a
        narrow range (one bucket), where the planner, expecting one row, would otherwise scan
        the range of the second list once per row of the first."""
        order = "DESC" if self.desc else "ASC"
        tables, conds, params = [], [], []
        for i, token in enumerate(self.tokens):
            t = f"t{i}"
            word = ""
            if len(token) > 3:
                word = f" AND {t}.word LIKE ?"
            if i and lookups:
                conds.append(
                    f"EXISTS (SELECT 1 FROM person_name_prefix {t} "
                    f"WHERE {t}.head = ? AND {t}.key = t0.key{word})"
                )
                params.append(token[:3])
            else:
                tables.append(f"person_name_prefix {t}" + (f" ON {t}.key = t0.key" if i else ""))
                conds.append(f"{t}.head = ? AND {t}.key >= ? AND {t}.key <= ?{word}")
                params += [token[:3], lo, hi]
            if word:
                params.append(_like_prefix(token))
        limit = "" if n is None else f" LIMIT {int(n)}"
        return (
            f"SELECT t0.key AS k, (t0.key & {ID_MASK})::integer AS pid "
            f"FROM {' JOIN '.join(tables)} WHERE {' AND '.join(conds)} "
            f"GROUP BY t0.key ORDER BY t0.key {order}{limit}",
            params,
        )

    def _key_batch(self, lo: int, hi: int, n: int) -> list[tuple]:
        """Up to `n` hits with lo <= key <= hi, in key order (descending if `desc`):
        (key, account id or None when the account does not pass, sort_name)."""
        where, params = self.where()
        order = "DESC" if self.desc else "ASC"
        if self.pg:
            hits, hit_params = self._pg_hits(lo, hi, n)
        else:
            hits, hit_params = self._hits_in_range(lo, hi)
            hits += f" ORDER BY rowid {order} LIMIT {int(n)}"
        if self.pg:
            # Each hit's accounts looked up by person: a LATERAL subquery that cannot be pulled
            # up (OFFSET 0), so never a hash of every account, which the planner chose for a
            # few hundred hits at 20,000 people (7.7 ms instead of 0.3).
            join = (
                "LEFT JOIN LATERAL (SELECT a.id, a.sort_name FROM account a "
                f"WHERE a.person_id = h.pid AND {where} OFFSET 0) a ON TRUE"
            )
        else:
            join = f"LEFT JOIN account a ON a.person_id = h.pid AND {where}"
        rows = _run(f"SELECT h.k, a.id, a.sort_name FROM ({hits}) h {join}", [*hit_params, *params])
        rows.sort(key=lambda r: r[0], reverse=self.desc)
        return rows

    def _bucket(self, bucket: int, after: tuple | None, n: int) -> list[tuple]:
        """The first `n` passing rows of one bucket after `after`, in exact order (sorted by
        the database: a bucket may hold thousands of namesakes)."""
        where, params = self.where()
        hits, hit_params = self._hits_in_range(bucket << ID_BITS, ((bucket + 1) << ID_BITS) - 1)
        cond, cparams, order_by = self._name_arm(after)
        rows = _run(
            f"SELECT a.sort_name, a.id FROM ({hits}) h JOIN account a ON a.person_id = h.pid "
            f"WHERE {where} AND {cond} ORDER BY {order_by} LIMIT {int(n)}",
            [*hit_params, *params, *cparams],
        )
        return [tuple(r) for r in rows]

    def _names_in_key_order(self, after: tuple | None, n: int) -> list[tuple]:
        """The first `n` keys (sort_name, account id) after `after`: read hits in key order
        until `n` pass; the bucket of the n-th (the boundary) is then read whole, sorted.
        A cursor inside a bucket whose every name matches the words (`_all_hit`) goes on
        along the list indexes to the bucket's end first (`_walk_all_hit`)."""
        head: list[tuple] = []
        if after is None:
            lo, hi = 0, MAX_KEY
        else:
            bucket = name_bucket(after[0])
            if self._all_hit(bucket) and not self._rare_role():
                head = self._walk_all_hit(bucket, after, n)
                if len(head) >= n:
                    return head
                # The bucket is done: the key order goes on from the next one.
                after, n = None, n - len(head)
                if self.desc:
                    lo, hi = 0, (bucket << ID_BITS) - 1
                else:
                    lo, hi = (bucket + 1) << ID_BITS, MAX_KEY
            elif self.desc:
                lo, hi = 0, ((bucket + 1) << ID_BITS) - 1
            else:
                lo, hi = bucket << ID_BITS, MAX_KEY
        if lo > hi:
            return head
        return head + self._keys_in_range(lo, hi, after, n)

    def _keys_in_range(self, lo: int, hi: int, after: tuple | None, n: int) -> list[tuple]:
        """`_names_in_key_order` from `after` (None: from the range's edge) among keys
        lo..hi."""
        found: list[tuple] = []  # (bucket, sort_name, account id) of passing hits
        # After a cursor the batch starts at its bucket, whose hits before it are skipped.
        batch = n + 16 if after is None else 2 * n + 16
        while True:
            rows = self._key_batch(lo, hi, batch)
            for key, account_id, sort_name in rows:
                if account_id is None:
                    continue
                row_key = (sort_name, account_id)
                if after is not None and (row_key <= after if not self.desc else row_key >= after):
                    continue
                found.append((key >> ID_BITS, *row_key))
                if len(found) >= n:
                    break
            if len(found) >= n or len(rows) < batch:
                break
            if self.desc:
                hi = rows[-1][0] - 1
            else:
                lo = rows[-1][0] + 1
            batch = min(batch * 4, 20_000)
        if len(found) < n:  # every hit was read
            return sorted((r[1:] for r in found), reverse=self.desc)
        boundary = found[-1][0]
        before = sorted((r[1:] for r in found if r[0] != boundary), reverse=self.desc)
        rest = n - len(before)
        if (
            len(rows) == batch
            and rows[-1][0] >> ID_BITS == boundary  # the bucket goes on past the batch
            and not self._rare_role()
        ):
            if self._all_hit(boundary):
                return before + self._walk_all_hit(boundary, after, rest)
            walked = self._walk_bucket(boundary, after, rest) if self.pg else None
            if walked is not None:
                return before + walked
        return before + self._bucket(boundary, after, rest)

    def _all_hit(self, bucket: int) -> bool:
        """Every name of `bucket` matches the words: each word starts the bucket's leading
        letters, which start the first word of every sort name in it (a sort name is the
        folded last and first names, and its first word a word of the search text)."""
        letters = _bucket_letters(bucket)
        return bool(self.tokens) and all(letters.startswith(t) for t in self.tokens)

    def _walk_all_hit(self, bucket: int, after: tuple | None, n: int) -> list[tuple]:
        """The first `n` passing rows of an `_all_hit` bucket after `after` (from its edge
        when `after` is not in it), walking the accounts' list indexes in name order within
        the bucket's range: index-only reads, no hit to sort and no word to test (a common
        surname holds thousands: "jones " or "muller " at a million people)."""
        if after is not None and name_bucket(after[0]) != bucket:
            after = None
        within = (
            "a.sort_name >= ? AND a.sort_name <= ?",
            [_bucket_floor(bucket), _bucket_top(bucket)],
        )
        if self.pg:  # one round trip, the page's display rows with it
            return self._walk_together(after, n, words=False, within=within)
        keys: list[tuple] = []
        for frm, where, params in self._sources(words=False):
            keys += self._walk_by_name(
                frm, f"{where} AND {within[0]}", [*params, *within[1]], after, n
            )
        return sorted(keys, reverse=self.desc)[:n]

    def _walk_bucket(self, bucket: int, after: tuple | None, n: int) -> list[tuple] | None:
        """PostgreSQL, a bucket with more hits than the batch read (a common surname: some
        2,000 "muller " at 1,000,000 people): the first `n` passing rows from the bucket's start
        (or from `after`, inside it) walking the accounts' list indexes in name order and
        testing the words on each row, instead of sorting every hit of the bucket (15 to 20 ms
        there). The walk reads at most `limit` rows of each list per round (one statement, the
        lists merged), so it stops early where the hits are sparse: rows are final only up to
        the lowest last row of a list that was cut. None when the hits turn out too sparse for
        a few rounds (the caller sorts the bucket)."""
        words_sql, word_params = self._words_sql()
        start: tuple | None = None
        if after is not None and name_bucket(after[0]) == bucket:
            start = tuple(after)
        limit = n + 16
        found: list[tuple] = []
        scanned = 0
        for _round in range(BUCKET_WALK_ROUNDS):
            arms, params = [], []
            cond, cparams, order_by = self._name_arm(start)
            if start is None:  # from the bucket's edge
                edge = _bucket_top(bucket) if self.desc else _bucket_floor(bucket)
                cond = "a.sort_name <= ?" if self.desc else "a.sort_name >= ?"
                cparams = [edge]
            for i, (frm, where, wparams) in enumerate(self._sources(words=False)):
                arms.append(
                    f"(SELECT {i} AS arm, a.sort_name, a.id, ({words_sql}) AS ok FROM {frm} "
                    f"JOIN person p ON p.id = a.person_id WHERE {where} AND {cond} "
                    f"ORDER BY {order_by} LIMIT {int(limit)})"
                )
                params += [*word_params, *wparams, *cparams]
            rows = _run(" UNION ALL ".join(arms), params)
            per_arm: dict[int, list[tuple]] = {}
            for arm, sort_name, account_id, ok in rows:
                per_arm.setdefault(arm, []).append((sort_name, account_id, ok))
            # Rows are final up to the nearest last row of a list cut by the limit.
            cut = [r[-1][:2] for r in per_arm.values() if len(r) >= limit]
            final = (max(cut) if self.desc else min(cut)) if cut else None
            hits = []
            for r in per_arm.values():
                for sort_name, account_id, ok in r:
                    key = (sort_name, account_id)
                    if final is not None and (key < final if self.desc else key > final):
                        break
                    if ok:
                        hits.append(key)
            found += sorted(hits, reverse=self.desc)
            scanned += len(rows)
            if len(found) >= n or final is None:
                return found[:n]
            # Go on only while the hits are dense enough to finish in a round or two.
            wanted = (n - len(found)) * scanned / max(1, len(found))
            if wanted > BUCKET_WALK_SPARSE * n:
                return None
            start = final
            limit = min(int(wanted * 1.5) + 16, BUCKET_WALK_SPARSE * n)
        return None

    # Contains search.

    def _contains_sql(self) -> tuple[str, list]:
        """Every account one of whose keys (primary id, identifier, login email, email
        address) holds `self.contains`: (account id), read through the trigram indexes."""
        text = self.contains or ""
        if self.pg:
            like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            return (
                "SELECT i.account_id FROM identifier i WHERE i.value_key LIKE ? "
                "UNION SELECT a2.id FROM account a2 WHERE a2.primary_id_key LIKE ? "
                "UNION SELECT a3.id FROM person p JOIN account a3 ON a3.person_id = p.id "
                "WHERE p.email_key LIKE ? "
                "UNION SELECT a4.id FROM email e JOIN account a4 ON a4.person_id = e.person_id "
                "WHERE e.address_key LIKE ?",
                [like] * 4,
            )
        phrase = '"' + text.replace('"', '""') + '"'
        return (
            "SELECT i.account_id FROM identifier_key_tri t JOIN identifier i ON i.id = t.rowid "
            "WHERE identifier_key_tri MATCH ? AND instr(i.value_key, ?) > 0 "
            "UNION SELECT a2.id FROM account_key_tri t JOIN account a2 ON a2.id = t.rowid "
            "WHERE account_key_tri MATCH ? AND instr(a2.primary_id_key, ?) > 0 "
            "UNION SELECT a3.id FROM person_key_tri t JOIN account a3 ON a3.person_id = t.rowid "
            "JOIN person p ON p.id = t.rowid "
            "WHERE person_key_tri MATCH ? AND instr(p.email_key, ?) > 0 "
            "UNION SELECT a4.id FROM email_key_tri t JOIN email e ON e.id = t.rowid "
            "JOIN account a4 ON a4.person_id = e.person_id "
            "WHERE email_key_tri MATCH ? AND instr(e.address_key, ?) > 0",
            [phrase, text] * 4,
        )

    def _contains_broad(self) -> bool:
        """More hits than `_sort_threshold`: a page walks the list indexes testing the keys
        of each row (`_walk`) instead of sorting every hit ("~.example": every user)."""
        if self._strategy is None:
            # Arm by arm, each stopping at the threshold (their UNION would read every hit),
            # in one statement.
            hits, hit_params = self._contains_sql()
            limit = self._sort_threshold()
            arms = hits.split(" UNION ")
            counts = ", ".join(
                f"(SELECT count(*) FROM ({arm} LIMIT {int(limit)}) s{i})"
                for i, arm in enumerate(arms)
            )
            row = _run(f"SELECT {counts}", hit_params)[0]
            self._strategy = "walk" if max(row) >= limit else "sort"
        return self._strategy == "walk"

    def _contains_page(self, after: tuple | None, n: int) -> list[tuple]:
        """The next `n` keys of a contains search: its hits sorted by the database."""
        if not self.contains:
            return []
        hits, hit_params = self._contains_sql()
        where, params = self.where()
        by_name = self.q.sort == "name"
        arms = [self._name_arm(after)] if by_name else self._expiry_arms(after)
        keys: list[tuple] = []
        for cond, cparams, order in arms:
            rows = _run(
                f"SELECT {'a.sort_name' if by_name else 'a.expiry_date'}, a.id "
                f"FROM account a{self._by_id()} WHERE a.id IN ({hits}) AND {where} AND {cond} "
                f"ORDER BY {order} LIMIT {int(n - len(keys))}",
                [*hit_params, *params, *cparams],
            )
            if by_name:
                keys += [tuple(r) for r in rows]
            else:
                keys += [self._expiry_key(_date(exp), aid) for exp, aid in rows]
            if len(keys) >= n:
                break
        return keys[:n]

    # Name search in expiry order.

    def _names_sorted_by_expiry(self, after: tuple | None, n: int) -> list[tuple]:
        """Few hits, by expiry: join the hits and let the database sort them."""
        hits, hit_params = self._hits_sql()
        where, params = self.where()
        keys: list[tuple] = []
        for cond, cparams, order in self._expiry_arms(after):
            rows = _run(
                f"SELECT a.expiry_date, a.id FROM ({hits}) h "
                f"JOIN account a ON a.person_id = h.pid "
                f"WHERE {where} AND {cond} ORDER BY {order} LIMIT {int(n - len(keys))}",
                [*hit_params, *params, *cparams],
            )
            keys += [self._expiry_key(_date(exp), aid) for exp, aid in rows]
            if len(keys) >= n:
                break
        return keys[:n]

    def _sort_threshold(self) -> int:
        """Hits above which walking the expiry index beats sorting the hits: about
        sqrt(rows per page x people), as a walk reads people / hits rows per hit."""
        people = _run("SELECT max(id) FROM person")[0][0] or 0
        return max(1_000, min(PROBE, int(math.sqrt(PAGE_ESTIMATE * people))))


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


__all__ = [
    "CONTAINS_MIN",
    "CONTAINS_PREFIX",
    "TABS",
    "TAB_RECORD_TYPES",
    "BackPage",
    "Page",
    "UserQuery",
    "UserRow",
    "contains_text",
    "count_users",
    "find_exact",
    "last_page",
    "page_before",
    "name_bucket",
    "name_key",
    "looks_like_key",
    "search_tokens",
    "search_users",
]
