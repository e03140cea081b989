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

from dataclasses import replace

from models.access.scope import INSTITUTION_ONLY, LibraryScope

# The parts of the engine (issue 20: engine.py was 1,483 lines). Every name other code and the
# tests import from `models.search.engine` stays importable from here.
from models.search.plan import _Plan  # noqa: F401
from models.search.query import (  # noqa: F401
    CONTAINS_MIN,
    CONTAINS_PREFIX,
    ID_BITS,
    ID_MASK,
    MAX_LIMIT,
    MAX_TOKENS,
    TAB_RECORD_TYPES,
    TABS,
    BackPage,
    Page,
    UserQuery,
    UserRow,
    _BackCursor,
    _Cursor,
)
from models.search.rows import _rows  # noqa: F401
from models.search.run import _check, _is_pg  # noqa: F401
from models.search.text import (  # noqa: F401
    _bucket_floor,
    _bucket_top,
    contains_text,
    fts_match,
    looks_like_key,
    name_bucket,
    name_key,
    pg_tsquery,
    search_tokens,
)

# --- The interface ------------------------------------------------------------------------------


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


def count_users(
    organization_id: int,
    query: UserQuery,
    *,
    cap: int | None = None,
    scope: LibraryScope = INSTITUTION_ONLY,
) -> int:
    """How many accounts `search_users` would walk through: exact when at most `cap`,
    else `cap + 1`. `scope`: the viewer's, as `search_users` is given (a block-type filter
    counts the blocks the viewer may see)."""
    _check(query)
    if cap is not None and cap < 0:
        raise ValueError("cap must not be negative")
    plan = _Plan(organization_id, query, scope=scope)
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
