"""RERO's organisations stay apart (issue 21, item 5): a RERO ILS users file holds the users of
several organisations (a patron's organisation is its patron type's, a staff member's that of
their libraries), and one person may have a patron account in two of them (RERO's `simonetta`,
pids 4 and 54). PatronDesk has the same model: one person, an account per organization.

`import_file` reads such a file one organisation at a time, each into its own PatronDesk
organization, so that two patron types named "Standard" stay two user groups and a person's
second account is theirs (the person reused, `Importer._reusable`), never a refused duplicate.

- From the command line without `--organization` (the system): each RERO organisation is the
  PatronDesk organization with its code (`organisations.json` beside the file: its code and
  name; else `RERO-<pid>`), created when there is none (its main library the organisation's
  first library of `libraries.json`), and said in the report. Records whose organisation the
  file does not tell (a staff member without `libraries.json`) go to the first organization.
- With `--organization`, or from the Import screen (staff import into their own organization
  only): the records of the RERO organisation with that organization's code (and those whose
  organisation is not told) are imported; the other organisations' records are refused, one line
  for each organisation. A file none of whose organisations is that one stops before anything
  is written.

A file of one organisation (or none told) is imported as before, into the import's
organization. A dry run creates no organization (everything rolled back)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from models.store.base import database
from models.store.tables import Organization
from models.transfer.formats import (
    FormatError,
    Reader,
    SourceContext,
    detect,
    rero_organisation,
    source_context,
)

RERO = "rero-json"


def rero_code(pid: str, ctx: SourceContext) -> tuple[str, str, bool]:
    """The PatronDesk code and name of a RERO organisation, and whether the file named it."""
    code, name = ctx.rero_organisations.get(pid, ("", ""))
    return (code or f"RERO-{pid}"), (name or f"RERO organisation {pid}"), bool(name)


def organisations_of(path: Path, options: Any) -> tuple[SourceContext, Counter] | None:
    """The RERO organisations of a users file (pid -> how many records; "" for records whose
    organisation is not told) when it holds more than one; None otherwise (any other file)."""
    if not path.is_file() or options.format not in (None, RERO):
        return None
    with open(path, "rb") as f:  # JSON or not, from its first bytes (a CSV is not read twice)
        head = f.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] not in (b"[", b"{"):
        return None
    try:
        fmt = options.format or detect(path)
    except FormatError:
        return None  # the import says why
    if fmt != RERO:
        return None
    ctx = source_context(path, RERO)
    if not ctx.rero_type_orgs and not ctx.rero_libraries:
        return None
    try:
        counts = Counter(rero_organisation(raw.data, ctx) for raw in Reader(path, RERO))
    except FormatError:
        return None  # the import reads it again and says why
    if len([pid for pid in counts if pid]) < 2:
        return None
    return ctx, counts


def _find(code: str) -> Organization | None:
    from peewee import fn

    return Organization.get_or_none(fn.LOWER(Organization.code) == code.lower())


def _main_library(pid: str, ctx: SourceContext) -> tuple[str, str]:
    """The organisation's first library (by pid) of libraries.json as its main library."""
    ours = sorted(
        (lib for lib, (_c, _n, org) in ctx.rero_libraries.items() if org == pid),
        key=lambda x: (len(x), x),
    )
    if ours:
        code, name, _ = ctx.rero_libraries[ours[0]]
        return code, name or f"RERO library {ours[0]}"
    return "MAIN", "Main library"


def import_by_organization(
    path: Path, options: Any, plan: tuple[SourceContext, Counter], kwargs: dict
) -> Any:
    """Import each RERO organisation of the file into its PatronDesk organization (see the
    module's doc); one report for the whole file."""
    from models.transfer.imports import Importer, ImportError_, ImportReport, Issue

    ctx, counts = plan
    report = ImportReport(dry_run=options.dry_run)
    fixed = kwargs.get("organization")
    actor_account = kwargs.get("actor_account")
    if actor_account is not None:
        fixed = Organization.get_by_id(actor_account.organization_id)
    pids = sorted((pid for pid in counts if pid), key=lambda x: (len(x), x))
    notes = _reference_notes(path, ctx)
    if fixed is not None:
        mine = [pid for pid in pids if rero_code(pid, ctx)[0].lower() == fixed.code.lower()]
        if not mine:
            named = ", ".join(f"{rero_code(pid, ctx)[0]} ({counts[pid]})" for pid in pids)
            raise ImportError_(
                f"{path.name} holds the users of {len(pids)} RERO organisations ({named}), "
                f"none of which is organization {fixed.code}: import it from the command line "
                "without --organization (each organisation into its own organization), or into "
                "the organization with one of these codes; nothing imported"
            )
        only = frozenset({mine[0], ""})
        one = Importer(path, options, rero_only=only, **kwargs).run()
        _merge(report, one, {})
        for pid in pids:
            if pid != mine[0]:
                code, name, _ = rero_code(pid, ctx)
                report.refused += counts[pid]
                report.add(
                    Issue(
                        path.name,
                        "",
                        "",
                        "refused",
                        "organization",
                        f"{counts[pid]:,} records of RERO organisation {code} ({name}) belong to "
                        f"another organization than {fixed.code}: not imported here",
                    )
                )
        _finish(report, one, notes)
        return report
    if options.dry_run:  # no organization is created: everything rolled back
        with database.atomic() as txn:
            _every_organization(path, options, ctx, counts, pids, report, notes)
            txn.rollback()
    else:
        _every_organization(path, options, ctx, counts, pids, report, notes)
    return report


def _every_organization(
    path: Path,
    options: Any,
    ctx: SourceContext,
    counts: Counter,
    pids: list[str],
    report: Any,
    notes: list,
) -> None:
    """Each RERO organisation into the organization of its code (created when there is none),
    the records whose organisation is not told into the first organization."""
    from models.config.setup import default_organization
    from models.transfer.imports import Importer, Issue

    passes = []
    created = []
    for pid in pids:
        code, name, _ = rero_code(pid, ctx)
        org = _find(code)
        if org is None:
            org = _create(code, name, _main_library(pid, ctx))
            verb = "would be created" if options.dry_run else "created"
            created.append(Issue("", "", "", "created", "organization", f"{code} ({name}) {verb}"))
            report.created_codes.setdefault("organization", []).append((code, name))
        passes.append((org, frozenset({pid})))
    if counts.get(""):
        passes.insert(0, (default_organization(), frozenset({""})))
    not_kept: dict = {}
    for org, only in passes:
        one = Importer(path, options, organization=org, rero_only=only).run()
        for issue in one.issues:
            if issue.level == "created":  # the code tables are each organization's own
                issue.message += f" in organization {org.code}"
        _merge(report, one, not_kept)
        report.format = one.format
    report.issues[:0] = created + notes
    report.warnings += len(notes)
    report.not_kept = not_kept
    report.issues.extend(report.not_kept_issues())


def _create(code: str, name: str, library: tuple[str, str]) -> Organization:
    from models.config.configuration import add_organization
    from models.errors import ValidationError
    from models.transfer.imports import ImportActor, ImportError_

    try:
        return add_organization(
            code,
            name,
            library_code=library[0],
            library_name=library[1],
            actor=ImportActor("import"),
        )
    except ValidationError as exc:
        raise ImportError_(
            f"RERO organisation {code} ({name}) cannot be created: "
            + "; ".join(f"{k} {v}" for k, v in exc.errors.items())
        ) from None


def _reference_notes(path: Path, ctx: SourceContext) -> list:
    """What the file's reference data does not tell (names of organisations and libraries)."""
    from models.transfer.imports import Issue

    out = []
    if not ctx.rero_organisations:
        out.append(
            Issue(
                path.name,
                "",
                "",
                "warning",
                "organization",
                "organisations.json is not beside the file: the organizations are named by "
                "their RERO pid (code RERO-<pid>)",
            )
        )
    if not ctx.rero_libraries:
        out.append(
            Issue(
                path.name,
                "",
                "",
                "warning",
                "library",
                "libraries.json is not beside the file: the libraries are named by their RERO "
                "pid ('RERO library <pid>'), and the staff whose organisation it would tell go "
                "to the first organization",
            )
        )
    return out


def _merge(total: Any, one: Any, not_kept: dict) -> None:
    """Add a pass's report to the file's (its 'not kept' lines counted once, at the end)."""
    for name in ("rows", "created", "updated", "unchanged", "refused", "no_password", "hashed"):
        setattr(total, name, getattr(total, name) + getattr(one, name))
    total.fees += one.fees
    total.loans += one.loans
    total.warnings += one.warnings
    total.elapsed += one.elapsed
    total.issues.extend(i for i in one.issues if i.level != "not kept")
    for table, codes in one.created_codes.items():
        listed = total.created_codes.setdefault(table, [])
        listed.extend(c for c in codes if c not in listed)
    total.preview.extend(one.preview)
    for key, n in one.not_kept.items():
        not_kept[key] = not_kept.get(key, 0) + n
    total.unknown_columns.update(one.unknown_columns)
    total.file_members |= one.file_members
    total.files.extend(f for f in one.files if f not in total.files)


def _finish(report: Any, one: Any, notes: list) -> None:
    report.format = one.format
    report.issues[:0] = notes
    report.warnings += len(notes)
    report.not_kept = dict(one.not_kept)
    report.issues.extend(report.not_kept_issues())
