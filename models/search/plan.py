"""Find and Manage Users' search: `_Plan`, one query against one organization (its
filters as SQL, its exact hits, its main phase: listing, name search, contains search).
The walks of the keyset indexes (listing, and words tested per row) are `_Walks`
(models/search/walks.py), which it extends."""

from __future__ import annotations

import datetime as dt
import math

from models.access.scope import INSTITUTION_ONLY, LibraryScope
from models.runtime import runtime
from models.search.query import (
    _ACTIVE,
    _NOT_EXPIRED,
    BUCKET_WALK_ROUNDS,
    BUCKET_WALK_SPARSE,
    CONTAINS_PREFIX,
    ID_BITS,
    ID_MASK,
    MAX_KEY,
    MAX_KEY_CHARS,
    PAGE_ESTIMATE,
    PROBE,
    TAB_RECORD_TYPES,
    UserQuery,
    UserRow,
)
from models.search.run import _date, _is_pg, _marks, _run
from models.search.text import (
    _bucket_floor,
    _bucket_letters,
    _bucket_top,
    _like_prefix,
    contains_text,
    fts_match,
    looks_like_key,
    name_bucket,
    pg_tsquery,
    search_tokens,
)
from models.search.walks import _Walks
from models.store.base import fold_key


class _Plan(_Walks):
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
        outside_tab = False
        if query.record_type is not None:
            outside_tab = (
                self.record_types is not None and query.record_type not in self.record_types
            )
            self.record_types = (query.record_type,)
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
        if outside_tab:  # a record type the tab does not show: nobody
            self.filters.append(("1 = 0", []))
        if query.account_type:
            self.filters.append(("a.account_type = ?", [query.account_type]))
        if query.user_group_id is not None:
            self.filters.append(("a.user_group_id = ?", [query.user_group_id]))
        if query.status == "active":
            self.filters.append(("a.status = ?", [_ACTIVE]))
            self.filters.append((_NOT_EXPIRED, [self.today]))
        elif query.status == "inactive":
            self.filters.append(("(a.status <> ? OR a.expiry_date < ?)", [_ACTIVE, self.today]))
        if query.expiry_from is not None:
            self.filters.append(("a.expiry_date >= ?", [query.expiry_from.isoformat()]))
        if query.expiry_to is not None:
            self.filters.append(("a.expiry_date < ?", [query.expiry_to.isoformat()]))
        if query.block_definition_id is not None:
            owner, owner_params = scope.sql("b.owner_id")
            self.filters.append(
                (
                    "EXISTS (SELECT 1 FROM block b WHERE b.account_id = a.id "
                    "AND b.definition_id = ? AND b.active = ? "
                    f"AND (b.expiry_date IS NULL OR b.expiry_date >= ?) AND {owner})",
                    [query.block_definition_id, True, self.today, *owner_params],
                )
            )
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
