"""The dashboard (issue 25, item 1): the figures of its charts, for one staff user.

`dashboard(actor)` reads every chart's data in one call; `chart(actor, chart_id)` reads one
(the screen's refresh key). Each figure is an aggregate query on an index:

- users per user group and per record type: one GROUP BY over the organization's list index
  `(organization, user_group, record_type, ...)`, both charts from its rows;
- accounts expiring in the next 12 weeks, by week: one range of the expiry list indexes,
  bucketed by a CASE over week boundaries computed here (no date function: the same SQL on
  SQLite and PostgreSQL);
- new registrations per month over a year: one range of `(organization, created_at)`
  (migration 0024), bucketed the same way; logins per month: the `login_month` rows kept by a
  trigger on the audit trail (migration 0024);
- blocked users by block type: the active, unexpired blocks of the organization's block
  definitions that the viewer may see (library scope), each user once per type;
- open balance by fee type: the active and disputed fees' balances that the viewer may see;
- letters sent and failed per month over a year.

Every chart follows the viewer's organization; the blocks and the fees also their library scope
(`models.access.scope`): a desk scoped to one library sees its library's and the institution's
rows only. Viewing it needs the right to view users, checked before any work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from peewee import PostgresqlDatabase

from models.access.permissions import Action, authorize
from models.access.scope import LibraryScope, scope_of
from models.audit import Actor
from models.config.settings import load_settings
from models.enums import FeeStatus, LetterStatus, RecordType, Status
from models.errors import PermissionDenied
from models.runtime import runtime
from models.store.base import database

WEEKS = 12
MONTHS = 12
RECORD_TYPE_LABELS = {
    RecordType.STAFF.value: "Staff",
    RecordType.PUBLIC.value: "Public",
    RecordType.RESEARCHER.value: "Researcher",
    RecordType.CONTACT.value: "Contact",
    RecordType.ORGANIZATION.value: "Organization",
}
NO_GROUP = "(no user group)"
OPEN_FEES = (FeeStatus.ACTIVE.value, FeeStatus.DISPUTED.value)


@dataclass(frozen=True)
class Target:
    """What Find and Manage Users shows for a bar (Enter on it): the accounts it counts.
    Exactly one of the fields is set."""

    user_group_id: int | None = None
    record_type: str | None = None
    expiry_from: dt.date | None = None  # with expiry_to (excluded): active accounts expiring
    expiry_to: dt.date | None = None
    block_definition_id: int | None = None


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[int, ...]


@dataclass(frozen=True)
class Chart:
    """One chart: its bars (`labels`), one or more series of values, and the Find Users
    target of each bar (None: no list of users fits it, e.g. a month of logins)."""

    id: str
    title: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    targets: tuple[Target | None, ...] = ()
    currency: str = ""  # a chart of money: values in minor units of this currency
    note: str = ""  # said under the chart (what is counted)

    @property
    def empty(self) -> bool:
        return not any(v for s in self.series for v in s.values)


@dataclass(frozen=True)
class Dashboard:
    today: dt.date
    charts: tuple[Chart, ...] = field(default_factory=tuple)

    def chart(self, chart_id: str) -> Chart:
        return next(c for c in self.charts if c.id == chart_id)


# --- Running SQL ---------------------------------------------------------------------------------


def _pg() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)


def _run(sql: str, params: Sequence = ()) -> list[tuple]:
    if _pg():
        sql = sql.replace("?", "%s")
    return database.execute_sql(sql, tuple(params)).fetchall()


def _marks(n: int) -> str:
    return ", ".join("?" for _ in range(n))


def _buckets(column: str, bounds: Sequence[object]) -> tuple[str, list]:
    """A CASE giving the index i of the range bounds[i] <= column < bounds[i + 1] (the caller
    keeps column within bounds[0] and bounds[-1])."""
    parts = " ".join(f"WHEN {column} < ? THEN {i}" for i in range(len(bounds) - 2))
    return f"CASE {parts} ELSE {len(bounds) - 2} END", list(bounds[1:-1])


def _stamp(day: dt.date) -> object:
    """A date as a bound of a datetime column: SQLite compares the stored text."""
    moment = dt.datetime.combine(day, dt.time())
    return moment if _pg() else moment.isoformat(" ")


def _date(value: object) -> object:
    return value if _pg() else value.isoformat()  # type: ignore[attr-defined]


def month_starts(today: dt.date, months: int = MONTHS) -> list[dt.date]:
    """The first days of the last `months` calendar months (this one last), and of the next."""
    year, month = today.year, today.month
    starts = []
    for back in range(months - 1, -1, -1):
        y, m = divmod(month - 1 - back, 12)
        starts.append(dt.date(year + y, m + 1, 1))
    y, m = divmod(month, 12)
    starts.append(dt.date(year + y, m + 1, 1))
    return starts


def week_starts(today: dt.date, weeks: int = WEEKS) -> list[dt.date]:
    """Today and every seventh day after it: `weeks` ranges of seven days from today."""
    return [today + dt.timedelta(days=7 * i) for i in range(weeks + 1)]


# --- The charts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    organization_id: int
    scope: LibraryScope
    today: dt.date


def _population(ctx: _Context) -> tuple[Chart, Chart]:
    rows = _run(
        "SELECT a.user_group_id, a.record_type, count(*) FROM account a "
        "WHERE a.organization_id = ? GROUP BY a.user_group_id, a.record_type",
        [ctx.organization_id],
    )
    per_group: dict[int | None, int] = {}
    per_type: dict[str, int] = {}
    for group_id, record_type, n in rows:
        per_group[group_id] = per_group.get(group_id, 0) + n
        per_type[record_type] = per_type.get(record_type, 0) + n
    names = dict(
        _run(
            "SELECT id, name FROM user_group WHERE organization_id = ?",
            [ctx.organization_id],
        )
    )
    # Most users first; a group nobody is in is left out (no bar of 0 for each of 50 groups).
    order = sorted(per_group, key=lambda g: (-per_group[g], g is None, names.get(g, ""), g or 0))
    groups = Chart(
        id="groups",
        title="Users per user group",
        labels=tuple(names.get(g, NO_GROUP) if g is not None else NO_GROUP for g in order),
        series=(Series("Users", tuple(per_group[g] for g in order)),),
        targets=tuple(Target(user_group_id=g) if g is not None else None for g in order),
        note="Every account of the organization, active or not.",
    )
    types = [t for t in RECORD_TYPE_LABELS if per_type.get(t)]
    types += sorted(t for t in per_type if t not in RECORD_TYPE_LABELS)
    record_types = Chart(
        id="record_types",
        title="Users per record type",
        labels=tuple(RECORD_TYPE_LABELS.get(t, t) for t in types),
        series=(Series("Users", tuple(per_type[t] for t in types)),),
        targets=tuple(Target(record_type=t) for t in types),
        note="Every account of the organization, active or not.",
    )
    return groups, record_types


def _expiring(ctx: _Context) -> Chart:
    bounds = week_starts(ctx.today)
    case, case_params = _buckets("a.expiry_date", [_date(b) for b in bounds])
    types = [t.value for t in RecordType]
    rows = _run(
        f"SELECT {case} AS week, count(*) FROM account a "
        f"WHERE a.organization_id = ? AND a.record_type IN ({_marks(len(types))}) "
        "AND a.expiry_date >= ? AND a.expiry_date < ? AND a.status = ? GROUP BY 1",
        [*case_params, ctx.organization_id, *types, _date(bounds[0]), _date(bounds[-1]),
         Status.ACTIVE.value],
    )  # fmt: skip
    counts = [0] * WEEKS
    for week, n in rows:
        counts[int(week)] += n
    return Chart(
        id="expiring",
        title=f"Accounts expiring in the next {WEEKS} weeks",
        labels=tuple(f"{b:%m-%d}" for b in bounds[:-1]),
        series=(Series("Expiring", tuple(counts)),),
        targets=tuple(
            Target(expiry_from=lo, expiry_to=hi) for lo, hi in zip(bounds, bounds[1:], strict=False)
        ),
        note=f"Active accounts, by week from {bounds[0]:%Y-%m-%d} (each bar: its first day).",
    )


def _activity(ctx: _Context) -> tuple[Chart, Chart]:
    """New registrations and logins per month: two charts (a library has a hundred logins for
    each new registration; on one scale the registrations would not show)."""
    starts = month_starts(ctx.today)
    case, case_params = _buckets("a.created_at", [_stamp(s) for s in starts])
    created = [0] * MONTHS
    for month, n in _run(
        f"SELECT {case} AS month, count(*) FROM account a "
        "WHERE a.organization_id = ? AND a.created_at >= ? AND a.created_at < ? GROUP BY 1",
        [*case_params, ctx.organization_id, _stamp(starts[0]), _stamp(starts[-1])],
    ):
        created[int(month)] += n
    keys = [f"{s:%Y-%m}" for s in starts[:-1]]
    logins = dict(
        _run(
            "SELECT month, logins FROM login_month WHERE organization_id = ? "
            "AND month >= ? AND month <= ?",
            [ctx.organization_id, keys[0], keys[-1]],
        )
    )
    labels = tuple(f"{s:%b}" for s in starts[:-1])
    period = f"From {starts[0]:%Y-%m} to {starts[-2]:%Y-%m}."
    return (
        Chart(
            id="registrations",
            title="New registrations per month",
            labels=labels,
            series=(Series("New registrations", tuple(created)),),
            note=f"{period} Accounts created that month and still on file.",
        ),
        Chart(
            id="logins",
            title="Logins per month",
            labels=labels,
            series=(Series("Logins", tuple(int(logins.get(k, 0)) for k in keys)),),
            note=f"{period} Every login to PatronDesk (staff and patrons) in the organization.",
        ),
    )


def _blocks(ctx: _Context) -> Chart:
    scope_sql, scope_params = ctx.scope.sql("b.owner_id")
    rows = _run(
        "SELECT d.id, d.name, count(DISTINCT b.account_id) FROM block b "
        "JOIN block_definition d ON d.id = b.definition_id "
        "WHERE d.organization_id = ? AND b.active = ? "
        f"AND (b.expiry_date IS NULL OR b.expiry_date >= ?) AND {scope_sql} "
        "GROUP BY d.id, d.name",
        [ctx.organization_id, True, _date(ctx.today), *scope_params],
    )
    rows.sort(key=lambda r: (-r[2], r[1], r[0]))
    return Chart(
        id="blocks",
        title="Blocked users by block type",
        labels=tuple(r[1] for r in rows),
        series=(Series("Users", tuple(r[2] for r in rows)),),
        targets=tuple(Target(block_definition_id=r[0]) for r in rows),
        note="Active, unexpired blocks you may see; a user with two types is in both.",
    )


def _balance(ctx: _Context) -> Chart:
    scope_sql, scope_params = ctx.scope.sql("f.owner_id")
    rows = _run(
        "SELECT t.id, t.name, sum(f.balance_minor) FROM fee f "
        "JOIN fee_type t ON t.id = f.fee_type_id "
        f"WHERE t.organization_id = ? AND f.status IN ({_marks(len(OPEN_FEES))}) "
        f"AND {scope_sql} GROUP BY t.id, t.name",
        [ctx.organization_id, *OPEN_FEES, *scope_params],
    )
    rows = [r for r in rows if r[2]]
    rows.sort(key=lambda r: (-r[2], r[1], r[0]))
    return Chart(
        id="balance",
        title="Open balance by fee type",
        labels=tuple(r[1] for r in rows),
        series=(Series("Balance", tuple(int(r[2]) for r in rows)),),
        targets=(),
        currency=load_settings().currency,
        note="Active and disputed fees you may see.",
    )


def _letters(ctx: _Context) -> Chart:
    starts = month_starts(ctx.today)
    case, case_params = _buckets("l.created_at", [_stamp(s) for s in starts])
    wanted = (LetterStatus.SENT.value, LetterStatus.FAILED.value)
    rows = _run(
        f"SELECT {case} AS month, l.status, count(*) FROM letter l "
        "JOIN account a ON a.id = l.account_id "
        f"WHERE l.created_at >= ? AND l.created_at < ? AND l.status IN ({_marks(2)}) "
        "AND a.organization_id = ? GROUP BY 1, l.status",
        [*case_params, _stamp(starts[0]), _stamp(starts[-1]), *wanted, ctx.organization_id],
    )
    counts = {s: [0] * MONTHS for s in wanted}
    for month, status, n in rows:
        counts[status][int(month)] += n
    return Chart(
        id="letters",
        title="Letters sent and failed per month",
        labels=tuple(f"{s:%b}" for s in starts[:-1]),
        series=(
            Series("Sent", tuple(counts[LetterStatus.SENT.value])),
            Series("Failed", tuple(counts[LetterStatus.FAILED.value])),
        ),
        targets=(),
        note=f"Letters written from {starts[0]:%Y-%m} to {starts[-2]:%Y-%m}, by the month "
        "they were written.",
    )


_READERS: dict[str, Callable[[_Context], tuple[Chart, ...]]] = {
    "population": lambda ctx: _population(ctx),
    "expiring": lambda ctx: (_expiring(ctx),),
    "activity": lambda ctx: _activity(ctx),
    "blocks": lambda ctx: (_blocks(ctx),),
    "balance": lambda ctx: (_balance(ctx),),
    "letters": lambda ctx: (_letters(ctx),),
}
# Chart id -> its reader (users per group and per record type come from one query).
_READER_OF = {
    "groups": "population",
    "record_types": "population",
    "expiring": "expiring",
    "registrations": "activity",
    "logins": "activity",
    "blocks": "blocks",
    "balance": "balance",
    "letters": "letters",
}
CHART_IDS = tuple(_READER_OF)


def _context(actor: Actor) -> _Context:
    account = actor.account
    if account is None:
        raise PermissionDenied(Action.VIEW_USER.value, "The dashboard is for a staff login.")
    authorize(account, Action.VIEW_USER)  # the actor's own standing first, then the roles
    return _Context(account.organization_id, scope_of(account), runtime.today())


def dashboard(actor: Actor) -> Dashboard:
    """Every chart of the dashboard as `actor` may see it (refused without the right to view
    users), read in one transaction (on SQLite one snapshot: the charts agree)."""
    ctx = _context(actor)
    with database.atomic():
        charts: list[Chart] = []
        for reader in _READERS.values():
            charts.extend(reader(ctx))
    order = {cid: i for i, cid in enumerate(CHART_IDS)}
    return Dashboard(ctx.today, tuple(sorted(charts, key=lambda c: order[c.id])))


def chart(actor: Actor, chart_id: str) -> Chart:
    """One chart, read again (the screen's refresh key)."""
    if chart_id not in _READER_OF:
        raise ValueError(f"chart must be one of {', '.join(CHART_IDS)}")
    ctx = _context(actor)
    charts = _READERS[_READER_OF[chart_id]](ctx)
    return next(c for c in charts if c.id == chart_id)
