"""Streaming an export: the checks, the header, one user per line, the footer, the audit
event, and the file it goes to."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from models import audit
from models.audit import Actor
from models.enums import AuditAction, Source
from models.store.base import database
from models.store.files import PrivateFile
from models.store.tables import (
    Organization,
)
from models.text import printable
from models.transfer.exports.alma import _alma_json_user, _alma_user
from models.transfer.exports.csvrows import _csv_row
from models.transfer.exports.folio import _folio_reference, _folio_user
from models.transfer.exports.records import (
    EXPORT_FORMATS,
    ExportError,
    ExportFilter,
    _account_ids,
    _Codes,
    _iso,
    _records,
)
from models.transfer.exports.rero import _rero_user
from models.transfer.formats import CSV_COLUMNS


def export_to_file(
    path: str | Path,
    fmt: str = "json",
    *,
    flt: ExportFilter | None = None,
    progress: Callable[[int], None] | None = None,
    scope: Any = None,
    actor: Actor | None = None,
    overwrite: bool = False,
    organization: Organization | None = None,
) -> int:
    """`export_users` into the file `path`, written as `path.part` and put in place when
    complete (`models.store.files.PrivateFile`: mode 0600, the `.part` created exclusively, links
    not
    followed): an export that fails or is stopped never leaves a half-written file under the
    name asked for (nor the `.part`), and a refused one writes no file at all. An existing file
    is replaced only with `overwrite` (the user confirmed, or passed --force); a special file
    or the database's own files never (`FileRefused`). Returns how many users were written."""
    actor = actor or Actor(None, Source.CLI)
    flt = flt or ExportFilter()
    organization = _allowed(fmt, actor, organization)  # before any file is made
    newline = "" if fmt == "csv" else None
    document = actor.writes_documents  # a staff session's file, not the command line's
    with PrivateFile(path, overwrite=overwrite, newline=newline, document=document) as out:
        count = _export(out.stream, fmt, organization, flt, progress, scope, actor)
        # The audit event stands only with the file in place, and the file only audited.
        with database.atomic():
            _audit_export(actor, count, fmt, flt, printable(str(out.target.resolve())))
            out.commit()
    return count


def users(count: int) -> str:
    """ "1 user", "2,000 users"."""
    return f"{count:,} user" + ("" if count == 1 else "s")


def format_for_path(path: str | Path) -> str | None:
    """The export format a file name asks for by its extension (.csv, .xml, .json), or None."""
    return {".csv": "csv", ".xml": "alma-xml", ".json": "json"}.get(Path(path).suffix.lower())


def _allowed(fmt: str, actor: Actor, organization: Organization | None) -> Organization | None:
    """Refuse an unknown format, or staff without the right to run jobs (`PermissionDenied`)
    or naming another organization; the organization to export (staff: their own)."""
    from models.access.permissions import Action, authorize

    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (one of {', '.join(EXPORT_FORMATS)})")
    if actor.account is None:
        return organization
    authorize(actor.account, Action.RUN_JOBS)
    if organization is not None and organization.id != actor.account.organization_id:
        raise ExportError("staff export the users of their own organization only")
    return actor.account.organization


def export_users(
    out: IO[str],
    fmt: str = "json",
    *,
    organization: Organization | None = None,
    flt: ExportFilter | None = None,
    progress: Callable[[int], None] | None = None,
    scope: Any = None,
    actor: Actor | None = None,
    destination: str = "",
) -> int:
    """Write the organization's users (those matching `flt`) to `out`; returns how many.
    `actor`: staff need the right to run jobs, export their own organization, and see the
    rows of their libraries only (`scope`, by default `models.access.scope.scope_of` of the actor);
    None: the system (the command line, every library's rows). Every export is audited (who,
    the format, the filter, how many and `destination`; no user's data) once the last user is
    written."""
    actor = actor or Actor(None, Source.CLI)
    flt = flt or ExportFilter()
    organization = _allowed(fmt, actor, organization)
    count = _export(out, fmt, organization, flt, progress, scope, actor)
    _audit_export(actor, count, fmt, flt, destination)
    return count


def _audit_export(actor: Actor, count: int, fmt: str, flt: ExportFilter, destination: str) -> None:
    what = [users(count), fmt]
    if flt.query:
        what.append(f"matching {flt.query!r}")
    what += [f"{k}={v}" for k, v in asdict(flt).items() if v and k != "query"]
    if destination:
        what.append(f"to {destination}")
    audit.record(
        actor,
        AuditAction.EXPORT,
        entity="export",
        entity_id=None,
        field="users",
        new=", ".join(what),
    )


def _export(
    out: IO[str],
    fmt: str,
    organization: Organization | None,
    flt: ExportFilter,
    progress: Callable[[int], None] | None,
    scope: Any,
    actor: Actor,
) -> int:
    """`export_users` without its checks (`_allowed`, run first by the caller) and its audit
    event."""
    from models.access.scope import scope_of
    from models.config.setup import default_organization

    if scope is None and actor.account is not None:
        scope = scope_of(actor.account)  # library independence
    org = organization or default_organization()
    if org is None:
        raise ExportError("the database is not initialized: run 'patrondesk init' first")
    codes = _Codes(org)
    count = 0
    writer = None
    if fmt == "json":
        from models.config.settings import load_settings

        header = {
            "format": "patrondesk",
            "version": 1,
            "exported_at": _iso(dt.datetime.now(dt.UTC).replace(tzinfo=None)),
            "organization": org.code,
            "currency": load_settings().currency,  # of the fees' amounts (minor units)
            "code_tables": codes.tables(),
        }
        out.write(json.dumps(header, ensure_ascii=False)[:-1] + ',\n"users": [')
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
    elif fmt == "alma-xml":
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<users>\n')
    elif fmt == "alma-json":
        out.write('{"user": [')
    elif fmt == "folio-json":
        reference = json.dumps(_folio_reference(org, codes), ensure_ascii=False)
        out.write(reference[:-1] + ',\n"users": [')
    else:  # rero-json: an array of users, as RERO's data/users.json
        out.write("[")
    # One JSON object per line in the JSON formats: both ends stream.
    as_json: Callable[[dict], Any] | None = {
        "json": lambda rec: rec,
        "alma-json": lambda rec: _alma_json_user(rec, codes),
        "folio-json": lambda rec: _folio_user(rec, org),
        "rero-json": lambda rec: _rero_user(rec, count + 1),
    }.get(fmt)
    for ids in _account_ids(org, flt):
        records = _records(
            org,
            ids,
            codes,
            secrets=fmt == "json",
            scope=scope,
            circulation=fmt == "json",
            photos=fmt == "json",
        )
        for rec in records:
            if as_json is not None:
                item = json.dumps(as_json(rec), ensure_ascii=False)
                out.write(("\n" if count == 0 else ",\n") + item)
            elif writer is not None:
                writer.writerow(_csv_row(rec))
            else:
                out.write(_alma_user(rec, codes) + "\n")
            count += 1
        if progress is not None:
            progress(count)
    out.write(
        {
            "json": "\n]}\n",
            "alma-xml": "</users>\n",
            "alma-json": f'\n], "total_record_count": {count}}}\n',
            "folio-json": f'\n], "totalRecords": {count}}}\n',
            "rero-json": "\n]\n",
        }.get(fmt, "")
    )
    return count
