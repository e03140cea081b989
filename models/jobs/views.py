"""Read-only services for the screens of sets and jobs (issue 23): what the update form offers,
the members a search finds now (a set saved with its current members), and a job's report
written as a CSV file. Nothing here writes to the database; the jobs and sets themselves are
`models.jobs.jobs` and `models.jobs.sets`.

The update form is read from the domain (`models.jobs.types.UPDATE_FIELDS`, `CODE_MODELS`,
`DATE_COLUMNS`): a field the jobs learn appears in the form with no change to the screens.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from models.audit import Actor
from models.config.codes import CODE_TABLES, code_options
from models.enums import Status
from models.jobs import types
from models.jobs.sets import organization_of
from models.search.engine import MAX_LIMIT, UserQuery, search_users
from models.store.files import write_private
from models.text import printable
from models.transfer.formats import formula_safe

CODE, CHOICE, DATE, TEXT = "code", "choice", "date", "text"


@dataclass(frozen=True)
class UpdateField:
    """One field of the update form: `name` is what `parse_update` takes (`name=value`),
    `column` the key of its errors and of the preview's before/after."""

    name: str
    column: str
    label: str
    kind: str  # code | choice | date | text
    options: tuple[tuple[str, str], ...] = ()  # (label, value) of a code or a choice
    renew: bool = False  # the date may be `renew` (the user group's registration period)


def _table_of(column: str) -> str | None:
    model = types.CODE_MODELS.get(column)
    for name, table in CODE_TABLES.items():
        if table is model:
            return name
    return None


def update_fields(actor: Actor, organization: int | None = None) -> list[UpdateField]:
    """The fields an update job may set, in the domain's order, each once (under its first
    name), with the choices of the actor's organization."""
    org_id = organization_of(actor, organization)
    out: list[UpdateField] = []
    seen: set[str] = set()
    for name, column in types.UPDATE_FIELDS.items():
        if column in seen:
            continue
        seen.add(column)
        label = column.replace("_", " ").capitalize()
        table = _table_of(column)
        if table is not None:
            options = tuple(code_options(table, org_id))
            out.append(UpdateField(name, column, label, CODE, options))
        elif column == "status":
            choices = tuple(
                (s.value.capitalize(), s.value) for s in (Status.ACTIVE, Status.INACTIVE)
            )
            out.append(UpdateField(name, column, label, CHOICE, choices))
        elif column in types.DATE_COLUMNS:
            renew = column == "expiry_date"
            out.append(UpdateField(name, column, label, DATE, renew=renew))
        else:
            out.append(UpdateField(name, column, label, TEXT))
    return out


def renew_value() -> str:
    """The value of an expiry date renewed by each member's user group (`types.RENEW`)."""
    return types.RENEW


def query_members(query: UserQuery, actor: Actor, organization: int | None = None) -> list[int]:
    """The account ids Find Users' search finds now for the actor (its library scope), every
    page of it: the members of a set saved with its current members."""
    from models.access.scope import scope_of

    org_id = organization_of(actor, organization)
    scope = scope_of(actor.account)
    ids: list[int] = []
    cursor = None
    while True:
        page = search_users(org_id, query, after=cursor, limit=MAX_LIMIT, scope=scope)
        ids += [row.account_id for row in page.rows]
        if page.cursor is None:
            return ids
        cursor = page.cursor


def report_csv(rows: list[list[str]]) -> str:
    """A job's report rows as CSV text: each cell printable (no control or bidi character)
    and formula-safe (a spreadsheet never runs a stored value)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([formula_safe(printable(cell)) for cell in row])
    return out.getvalue()


def save_report(
    job_id: int, path: str | Path, actor: Actor, organization: int | None = None
) -> Path:
    """Write the job's report (every member skipped or failed, and why) as a CSV file: 0600,
    never over an existing file, never a device, a link or the database's own files
    (`models.store.files.write_private`)."""
    from models.jobs.jobs import report

    text = report_csv(report(job_id, actor, organization=organization).csv_rows())
    return write_private(path, text, overwrite=False, document=actor.writes_documents)


__all__ = [
    "CHOICE",
    "CODE",
    "DATE",
    "TEXT",
    "UpdateField",
    "query_members",
    "renew_value",
    "report_csv",
    "save_report",
    "update_fields",
]
