"""Benchmark of the Find and Manage Users search (models/search/), issue 3.

    python bench/search.py --users 1000000 [--db PATH_OR_URL]

Builds (or reuses, when it already holds at least N users) a demo database, then prints one
`key: value` line per figure:

- name_search_p50_ms, name_search_p95_ms: `search_users` first page (100 rows) over a mix of
  name texts drawn from the data: surname prefixes of 2 to 6 letters, first + last name, first
  and last prefixes ("ann mul"), accent-free spellings of accented surnames, the most common
  surnames and rare ones.
- floor_name_search_p95_ms: the same searches as hand-written SQL on the same database and
  indexes (driver cursor, no peewee): for each text the faster of the obvious query (match,
  join, ORDER BY name LIMIT 100) and the key-order read that the engine does, plus the same
  display-column query for the page. ratio_name_to_floor = name p95 / floor p95.
- exact_identifier_p95_ms, exact_email_p95_ms: `search_users` of an identifier / barcode /
  primary id, of a login email / email address (what the screen runs when one is typed).
- filtered_first_page_p95_ms: tab + status + user group (+ sort by name or expiry), no text.
- next_page_p95_ms: a page from a keyset cursor at depths spread from the start to the end of
  several walks (the whole list by name and by expiry, a tab with a status, a broad name).
- peak_rss_mb: peak resident memory of this process (the database is built in a child).

Every sample is the median of 3 calls in a row (the machine is shared); a warm-up pass runs
each search once first.

Extra lines: name_count_p95_ms (`count_users` with the screen's cap of 10,000),
naive_name_search_p95_ms (the obvious SQL alone), users, queries.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    default_db,
    ensure_demo_db,
    median_ms,
    peak_rss_mb,
    percentile,
    timed,
)

PAGE = 100
COUNT_CAP = 10_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--db", help="file path or postgresql:// URL (default /tmp/benchN.db)")
    parser.add_argument("--queries", type=int, default=300, help="name texts in the mix")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    target = args.db or default_db(args.users)
    ensure_demo_db(args.users, target)

    from models.config.setup import default_organization
    from models.store.connection import open_database

    open_database(target)
    org = default_organization().id
    rng = random.Random(args.seed)
    figures: dict[str, float] = {}
    bench = _Bench(org, rng)

    texts = bench.name_mix(args.queries)
    name_ms, floor_ms, naive_ms, count_ms = bench.name_searches(texts)
    figures["name_search_p50_ms"] = percentile(name_ms, 50)
    figures["name_search_p95_ms"] = percentile(name_ms, 95)
    figures["exact_identifier_p95_ms"] = percentile(bench.exact(bench.identifiers(100)), 95)
    figures["exact_email_p95_ms"] = percentile(bench.exact(bench.emails(100)), 95)
    figures["filtered_first_page_p95_ms"] = percentile(bench.filtered(100), 95)
    figures["next_page_p95_ms"] = percentile(bench.next_pages(texts), 95)
    figures["floor_name_search_p95_ms"] = percentile(floor_ms, 95)
    figures["ratio_name_to_floor"] = (
        figures["name_search_p95_ms"] / figures["floor_name_search_p95_ms"]
    )
    figures["peak_rss_mb"] = peak_rss_mb()
    figures["name_count_p95_ms"] = percentile(count_ms, 95)
    figures["naive_name_search_p95_ms"] = percentile(naive_ms, 95)
    for key, value in figures.items():
        print(f"{key}: {value:.2f}")
    print(f"users: {bench.users}")
    print(f"queries: {len(texts)}")
    return 0


class _Bench:
    def __init__(self, org: int, rng: random.Random) -> None:
        from peewee import PostgresqlDatabase

        from models.runtime import runtime
        from models.store.base import database
        from models.store.tables import Account

        self.org, self.rng = org, rng
        self.db = database.obj
        self.pg = isinstance(self.db, PostgresqlDatabase)
        self.users = Account.select().where(Account.organization == org).count()
        self.today = runtime.today().isoformat()

    # -- raw SQL

    def sql(self, text: str, params: tuple = ()) -> list[tuple]:
        cursor = self.db.connection().cursor()
        cursor.execute(text.replace("?", "%s") if self.pg else text, params)
        rows = cursor.fetchall()
        cursor.close()
        return rows

    def sample_ids(self, table: str, n: int) -> list[int]:
        low, high = self.sql(f"SELECT min(id), max(id) FROM {table}")[0]
        return [self.rng.randint(low, high) for _ in range(n)]

    def people(self, n: int) -> list[tuple[str, str, str]]:
        """(last, first, middle) of about n random people."""
        out = []
        for pid in self.sample_ids("person", n):
            rows = self.sql(
                "SELECT last_name, first_name, middle_name FROM person WHERE id = ?", (pid,)
            )
            out += rows
        return out

    # -- the mix of name texts

    def name_mix(self, size: int) -> list[str]:
        from models.text import fold, name_words

        def word(name: str) -> str:
            words = name_words(name).split()
            return words[0] if words else ""

        people = self.people(size * 6)
        rng = self.rng
        texts: list[str] = []
        surnames = [word(last) for last, _, _ in people if len(word(last)) >= 2]
        # Surname prefixes of 2 to 6 letters (common names come up as often as they are).
        for last in rng.sample(surnames, int(size * 0.35)):
            texts.append(last[: rng.randint(2, 6)])
        # First + last name, whole and as prefixes ("ann mul").
        pairs = [(word(first), word(last)) for last, first, _ in people if word(first)]
        for first, last in rng.sample(pairs, int(size * 0.15)):
            texts.append(f"{first} {last}")
        for first, last in rng.sample(pairs, int(size * 0.10)):
            texts.append(f"{first[:3]} {last[:3]}")
        # Accent-free spellings of accented surnames.
        accented = [last for last, _, _ in people if fold(last) != last.lower()]
        for last in rng.sample(accented, min(len(accented), int(size * 0.15))):
            folded = word(last)
            texts.append(folded if rng.random() < 0.5 else folded[: max(3, len(folded) - 2)])
        # The most common surnames, and rare ones (at most 3 people).
        counts: dict[str, int] = {}
        for last in surnames:
            counts[last] = counts.get(last, 0) + 1
        common = sorted(counts, key=lambda s: -counts[s])[: max(1, int(size * 0.10))]
        texts += common
        rare: list[str] = []
        for last in rng.sample(surnames, min(len(surnames), size * 2)):
            if len(rare) >= int(size * 0.15):
                break
            if self.people_named(last) <= 3:
                rare.append(last)
        texts += rare
        rng.shuffle(texts)
        return texts

    def people_named(self, surname: str) -> int:
        """People whose sort name starts with this surname (index range)."""
        return self.sql(
            "SELECT count(*) FROM (SELECT 1 FROM person WHERE sort_name >= ? AND sort_name < ? "
            "LIMIT 10) s",
            (surname + " ", surname + "!"),
        )[0][0]

    # -- name searches and their floor

    def name_searches(self, texts: list[str]):
        from models.search.engine import UserQuery, count_users, search_users

        for text in texts:  # warm the caches
            search_users(self.org, UserQuery(text=text), limit=PAGE)
            self.floor(text)
        name, floor, naive, count = [], [], [], []
        for text in texts:
            query = UserQuery(text=text)
            name.append(median_ms(search_users, self.org, query, limit=PAGE))
            runs = sorted(self.floor(text) for _ in range(3))
            keyed_ms = sorted(k for k, _ in runs)[1]
            naive_ms = sorted(n for _, n in runs)[1]
            floor.append(min(keyed_ms, naive_ms))
            naive.append(naive_ms)
            count.append(median_ms(count_users, self.org, query, cap=COUNT_CAP))
        return name, floor, naive, count

    def floor(self, text: str) -> tuple[float, float]:
        """Milliseconds of the hand-written SQL: key-order read, and the obvious query."""
        from models.search.engine import ID_BITS, ID_MASK, fts_match, pg_tsquery, search_tokens

        tokens = search_tokens(text)
        if self.pg:
            hits = (
                "SELECT key AS k, person_id AS pid FROM person_name_index "
                "WHERE words @@ to_tsquery('simple', ?)"
            )
            term = pg_tsquery(tokens)
            key = "key"
        else:
            hits = (
                f"SELECT rowid AS k, rowid & {ID_MASK} AS pid FROM person_name_fts "
                "WHERE person_name_fts MATCH ?"
            )
            term = fts_match(tokens)
            key = "rowid"
        join = "JOIN account a ON a.organization_id = ? AND a.person_id = h.pid"

        def keyed() -> None:
            first = self.sql(
                f"SELECT h.k, a.sort_name, a.id FROM ({hits} ORDER BY {key} LIMIT {PAGE + 1}) h "
                + join,
                (term, self.org),
            )
            found = [(sn, aid) for _, sn, aid in first]
            if len(first) > PAGE:
                last = max(k for k, _, _ in first)
                end = ((last >> ID_BITS) + 1) << ID_BITS
                found += [
                    (sn, aid)
                    for _, sn, aid in self.sql(
                        f"SELECT h.k, a.sort_name, a.id FROM ({hits} AND {key} > ? "
                        f"AND {key} < ? ORDER BY {key}) h {join}",
                        (term, last, end, self.org),
                    )
                ]
            self.details([aid for _, aid in sorted(found)[:PAGE]])

        def obvious() -> None:
            rows = self.sql(
                f"SELECT a.id FROM ({hits}) h {join} ORDER BY a.sort_name, a.id LIMIT {PAGE}",
                (term, self.org),
            )
            self.details([r[0] for r in rows])

        return timed(keyed)[0], timed(obvious)[0]

    def details(self, ids: list[int]) -> list[tuple]:
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        return self.sql(
            "SELECT a.id, a.person_id, a.version, a.status, a.expiry_date, a.account_type, "
            "a.record_type, a.researcher, a.primary_id, p.last_name, p.first_name, "
            "p.preferred_last_name, p.preferred_first_name, p.email, jc.name, ug.name, "
            "EXISTS (SELECT 1 FROM block b WHERE b.account_id = a.id AND b.active = ? "
            "AND (b.expiry_date IS NULL OR b.expiry_date >= ?)), "
            "EXISTS (SELECT 1 FROM note n WHERE n.account_id = a.id) "
            "FROM account a JOIN person p ON p.id = a.person_id "
            "LEFT JOIN job_category jc ON jc.id = a.job_category_id "
            "LEFT JOIN user_group ug ON ug.id = a.user_group_id "
            f"WHERE a.id IN ({marks})",
            (True, self.today, *ids),
        )

    # -- exact lookups

    def identifiers(self, n: int) -> list[str]:
        values = []
        for iid in self.sample_ids("identifier", n):
            values += [r[0] for r in self.sql("SELECT value FROM identifier WHERE id = ?", (iid,))]
        return values

    def emails(self, n: int) -> list[str]:
        values = []
        for pid in self.sample_ids("person", n // 2):
            values += [r[0] for r in self.sql("SELECT email FROM person WHERE id = ?", (pid,))]
        for eid in self.sample_ids("email", n - n // 2):
            values += [r[0] for r in self.sql("SELECT address FROM email WHERE id = ?", (eid,))]
        return [v.upper() if self.rng.random() < 0.3 else v for v in values if v]

    def exact(self, values: list[str]) -> list[float]:
        from models.search.engine import UserQuery, search_users

        for value in values:
            search_users(self.org, UserQuery(text=value), limit=PAGE)
        out = []
        for value in values:
            page = search_users(self.org, UserQuery(text=value), limit=PAGE)
            assert page.rows, f"no account found for {value!r}"
            out.append(median_ms(search_users, self.org, UserQuery(text=value), limit=PAGE))
        return out

    # -- filters and pages

    def filtered(self, n: int) -> list[float]:
        from models.search.engine import TAB_RECORD_TYPES, UserQuery, search_users

        pairs = self.sql(
            "SELECT DISTINCT record_type, user_group_id FROM account "
            "WHERE organization_id = ? AND user_group_id IS NOT NULL",
            (self.org,),
        )
        combos = []
        for tab in ("staff", "public", "contact"):
            groups = sorted({g for rt, g in pairs if rt in TAB_RECORD_TYPES[tab]})
            for group in groups:
                for status in ("active", "inactive"):
                    for sort in ("name", "expiry"):
                        combos.append(
                            UserQuery(tab=tab, status=status, user_group_id=group, sort=sort)
                        )
        queries = [self.rng.choice(combos) for _ in range(n)]
        for query in queries:
            search_users(self.org, query, limit=PAGE)
        return [median_ms(search_users, self.org, q, limit=PAGE) for q in queries]

    def next_pages(self, texts: list[str]) -> list[float]:
        """Pages from cursors spread over the whole depth of several walks."""
        from models.search.engine import MAX_LIMIT, UserQuery, count_users, search_users

        broad = max(
            (t for t in texts if len(t) == 2),
            key=lambda t: count_users(self.org, UserQuery(text=t), cap=COUNT_CAP),
            default="ma",
        )
        walks = [
            UserQuery(),
            UserQuery(sort="expiry", descending=True),
            UserQuery(tab="public", status="active"),
            UserQuery(tab="staff", sort="expiry"),
            UserQuery(text=broad),
        ]
        out = []
        for query in walks:
            cursors = []
            after = None
            stride = min(MAX_LIMIT, max(PAGE, self.users // 60))
            while True:  # walk with big pages to collect cursors down to the end
                page = search_users(self.org, query, after=after, limit=stride)
                if page.cursor is None:
                    break
                cursors.append(page.cursor)
                after = page.cursor
            for cursor in cursors:
                search_users(self.org, query, after=cursor, limit=PAGE)
            out += [median_ms(search_users, self.org, query, after=c, limit=PAGE) for c in cursors]
        return out


if __name__ == "__main__":
    sys.exit(main())
