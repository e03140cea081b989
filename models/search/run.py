"""Find and Manage Users' search: checking a query and running its SQL (PostgreSQL
prepares the exact and rows lookups once per connection)."""

from __future__ import annotations

import datetime as dt
import itertools
import weakref
from collections import OrderedDict

from peewee import PostgresqlDatabase

from models.search.query import SORTS, STATUSES, TABS, UserQuery
from models.store.base import database

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
