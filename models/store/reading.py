"""One read operation: rows asked for several times by its parts are read once.

Opening a user record reads the account, the person and the actor's standing and roles in
several services (the head line, the General tab, each permission check), and each read them
again. Inside `one_reading()`, `read_once(key, read)` reads a key's value once and hands the
same value to every later asker; outside it (every write, every other operation) each call
reads afresh, so a role taken away or a record changed applies at once. Only for operations
that write nothing: a value read once is not read again after a write inside."""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from peewee import (
    SQL,
    AutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    Field,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from models.store.base import database

T = TypeVar("T")
M = TypeVar("M", bound=Model)

_memo: ContextVar[dict[Hashable, object] | None] = ContextVar("one_reading", default=None)


@contextmanager
def one_reading() -> Iterator[None]:
    """Inside, `read_once` reads each key once (nested: the outer reading's values)."""
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def in_one_reading() -> bool:
    """Whether `read_once` keeps what it reads now (inside `one_reading`)."""
    return _memo.get() is not None


def read_once(key: Hashable, read: Callable[[], T]) -> T:
    """`read()`, or inside `one_reading` the value it gave for `key` the first time."""
    memo = _memo.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]  # type: ignore[return-value]


def remember(key: Hashable, value: object) -> None:
    """Inside `one_reading`, give `key` this value (read by the caller with one query for
    many keys: a bulk job's chunk primes the roles of its members); outside, nothing."""
    memo = _memo.get()
    if memo is not None:
        memo[key] = value


# --- Many rows by id, fast ----------------------------------------------------------------------
#
# A bulk job reads its members 500 or 10,000 at a time. Measured on a 100,000-user SQLite
# database (a preview of 85,000 members): peewee spent most of its time building the statement
# (one bound parameter per id, each a node of its query tree) and making each row a model
# (35 columns: a converter and an attribute set each, the set marking the field dirty). Here the
# ids are written into the statement as integers (each passed through `int()`: no text of
# anyone's reaches it), and each row becomes a model by setting its `__data__` at once, with the
# converters only of the columns whose driver value is not already the Python value (dates,
# timestamps and booleans on SQLite): the same objects peewee makes, without the per-field work.

_AS_DRIVER_GIVES = (CharField, TextField, IntegerField, BigIntegerField, AutoField)


def id_list(ids: Iterable[int]) -> SQL:
    """`(1,2,3)` for `field.in_(...)`: the ids as integers in the statement, not as one bound
    parameter each (no parameter limit, and peewee builds it in one step)."""
    text = ",".join(str(int(i)) for i in ids)
    if not text:
        raise ValueError("id_list needs at least one id (PostgreSQL refuses IN ())")
    return SQL(f"({text})")


def _converter(f: Field) -> Callable:
    """`f.python_value`, with a fast way first for the text SQLite holds dates, timestamps
    and booleans as (ISO 8601; 0 and 1): peewee tries its formats one by one with strptime."""
    slow = f.python_value
    if isinstance(f, BooleanField):
        return lambda v: v if isinstance(v, bool) else slow(v)
    if isinstance(f, DateTimeField):
        parse = dt.datetime.fromisoformat
    elif isinstance(f, DateField):
        parse = dt.date.fromisoformat
    else:
        return slow

    def fast(value: object) -> object:
        if isinstance(value, str):
            try:
                return parse(value)
            except ValueError:
                pass
        return slow(value)

    return fast


class ColumnNotRead(LookupError):
    """A column that `models_by_id(..., columns=)` did not read was asked for (peewee would
    give None, silently: the caller's list of columns misses it)."""


class _Partial(dict):
    """The `__data__` of a row read with some of its columns: asking for another raises."""

    __slots__ = ()

    def __missing__(self, key: str) -> object:
        raise ColumnNotRead(f"the column {key!r} was not read")

    # peewee reads a field as `__data__.get(name)`: the dict's own lookup, which calls
    # `__missing__` for a column not read (a Python `get` cost a call per attribute read).
    get = dict.__getitem__


@functools.cache
def _reader(
    model: type[Model], only: tuple[str, ...] | None = None
) -> tuple[str, tuple[str, ...], tuple[tuple[int, Callable], ...]]:
    fields = model._meta.sorted_fields
    if only is not None:
        fields = [f for f in fields if f.name in only or f.name == "id"]
        if missing := set(only) - {f.name for f in fields}:
            raise ValueError(f"{model.__name__} has no field {sorted(missing)}")
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    names = tuple(f.name for f in fields)
    if names[0] != "id":  # (`models_by_id` keys the rows by their first column)
        raise ValueError(f"{model.__name__}: the id is not the first field")

    def plain(f: Field) -> bool:
        if isinstance(f, ForeignKeyField):
            return type(f.rel_field) in _AS_DRIVER_GIVES
        return type(f) in _AS_DRIVER_GIVES

    convert = tuple((i, _converter(f)) for i, f in enumerate(fields) if not plain(f))
    return f'SELECT {columns} FROM "{model._meta.table_name}" WHERE "id" IN ', names, convert


def models_by_id(
    model: type[M],
    ids: Iterable[int],
    *,
    batch: int = 10_000,
    columns: tuple[str, ...] | None = None,
) -> dict[int, M]:
    """The rows of `model` with these ids, as models (id -> row; an id without a row is left
    out), equal to what `model.select().where(model.id.in_(ids))` gives. With `columns`
    (field names), only those and the id are read (a bulk job reads what its checks read:
    fewer columns to fetch and convert), and asking a row for another raises
    `ColumnNotRead`."""
    select, names, convert = _reader(model, columns)
    ids = list(ids)
    out: dict[int, M] = {}
    new = model.__new__
    data = dict if columns is None else _Partial
    for start in range(0, len(ids), batch):
        cursor = database.execute_sql(select + id_list(ids[start : start + batch]).sql)
        for row in cursor.fetchall():
            if convert:
                row = list(row)
                for i, python_value in convert:
                    if row[i] is not None:
                        row[i] = python_value(row[i])
            obj = new(model)
            obj.__data__ = data(zip(names, row, strict=True))
            obj._dirty = set()
            obj.__rel__ = {}
            out[row[0]] = obj
    return out


# --- One statement, built once ------------------------------------------------------------------
#
# Opening a user record runs some thirty small selects, each built anew by peewee: measured on a
# 300-user database, building their SQL text (every column of Account and Person named, each a
# node of the query tree) was two thirds of the read. A `Prepared` statement is built once per
# back end with markers in place of its values, and run again with the values put where the
# markers went: the same text, the same parameters, the same rows as the query built afresh.

_MARKER = -7_340_000  # an integer: it goes through every conversion an id or a number takes


class Prepared:
    """`Prepared(lambda account_id: Identifier.select().where(Identifier.account == account_id))`:
    the query `build(*values)` would give, built once (per back end) and run with other values.

    The values must be plain ints or strings used as bound parameters (an `==` or `!=`, not an
    `in_()` list, whose length would change the statement): each is checked against the marker
    it replaces when the statement is first built, and a value missing from the parameters
    (turned into something else by a conversion) is refused then, not misread later."""

    def __init__(self, build: Callable[..., object]) -> None:
        self._build = build
        self._arity = len(inspect.signature(build).parameters)
        self._plans: dict[type, tuple[object, str, list, tuple[tuple[int, int], ...]]] = {}

    def _plan(self) -> tuple[object, str, list, tuple[tuple[int, int], ...]]:
        kind = type(database.obj)
        plan = self._plans.get(kind)
        if plan is None:
            markers = [_MARKER - n for n in range(self._arity)]
            query = self._build(*markers)
            sql, params = query.sql()
            slots = []
            for position, param in enumerate(params):
                for n, marker in enumerate(markers):
                    if param == marker or param == str(marker):
                        slots.append((position, n))
            if sorted({n for _, n in slots}) != list(range(self._arity)):
                raise ValueError(f"Prepared: a value of {self._build} is not a bound parameter")
            plan = (query, sql, list(params), tuple(slots))
            self._plans[kind] = plan
        return plan

    def _cursor(self, values: tuple) -> tuple[object, object]:
        if len(values) != self._arity:
            raise TypeError(f"Prepared statement takes {self._arity} values, {len(values)} given")
        query, sql, params, slots = self._plan()
        params = list(params)
        for position, n in slots:
            value = values[n]
            if not isinstance(value, (int, str)) or isinstance(value, bool):
                raise TypeError(f"Prepared statement value {value!r}: an int or a str")
            params[position] = value
        return query, database.execute_sql(sql, params)

    def rows(self, *values: object) -> list:
        """Every row, as the query built afresh gives them (models, tuples or dicts)."""
        query, cursor = self._cursor(values)
        return list(query._get_cursor_wrapper(cursor))

    def first(self, *values: object) -> object | None:
        """The first row, or None."""
        rows = self.rows(*values)
        return rows[0] if rows else None

    def scalar(self, *values: object) -> object:
        """The first column of the first row (None without a row)."""
        _, cursor = self._cursor(values)
        row = cursor.fetchone()
        return None if row is None else row[0]
