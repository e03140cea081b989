"""`patrondesk import` and `patrondesk export` (the command-line side of models/transfer/imports/
and
models/transfer/exports/). Nothing from `models` is imported until a command runs: the app starts
fast.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from models.text import printable

IMPORT_FORMATS = ("csv", "koha-csv", "json", "alma-xml", "alma-json", "folio-json", "rero-json")
EXPORT_FORMATS = ("csv", "json", "alma-xml", "alma-json", "folio-json", "rero-json")
EXIT_REFUSED = 1  # the import ran; some records were refused (see --report)


def add_parsers(sub, parser_class) -> None:  # noqa: ANN001 - argparse's private types
    p = sub.add_parser(
        "import",
        help="import users from a file (or every file of a folder)",
        description="Import users; a record that cannot stand is refused and reported, the "
        "others are written. Exit status: 0 all written, 1 some refused, 2 nothing done.",
    )
    p.add_argument("file", metavar="FILE", help="the file, or a folder of files")
    p.add_argument(
        "--format", choices=IMPORT_FORMATS, help="the file's format (default: from its content)"
    )
    p.add_argument(
        "--external",
        action="store_true",
        help="a SIS load: the data is external and replaces the previous external data",
    )
    p.add_argument(
        "--source",
        metavar="NAME",
        help="with --external: the owning system of the accounts (default SIS)",
    )
    p.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
    p.add_argument("--report", metavar="OUT", help="write refused records and warnings as CSV")
    p.add_argument(
        "--force",
        action="store_true",
        help="read every record again, even one unchanged since the last load (a rerun skips "
        "those), and replace an existing --report file",
    )
    p.add_argument(
        "--map",
        metavar="FILE",
        help="map the file's code values to ours and rename its CSV columns: JSON "
        '{"user_group": {"27": "STAFF"}, "columns": {"emial": "emails"}, ...}',
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="refuse records naming unknown codes instead of creating the codes",
    )
    p.add_argument(
        "--match",
        metavar="TYPE",
        help="match existing users by this identifier type (e.g. BARCODE), not the primary id",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="processes hashing plain passwords (default: one per core)",
    )
    p.add_argument(
        "--exclusive",
        action="store_true",
        help="a first migration (SQLite): hold the database alone (refused while another "
        "session has it open; others wait until the end) and build every index after the load",
    )
    p.add_argument(
        "--organization",
        metavar="CODE",
        help="the organization the users belong to (default: the first organization)",
    )
    p.add_argument(
        "--encoding",
        metavar="NAME",
        help="the CSV files' encoding, e.g. cp1252 or latin-1 (default: UTF-8, and a file that "
        "is not UTF-8 is read as cp1252 and said so)",
    )
    p.add_argument(
        "--date-format",
        metavar="FORMAT",
        help="the CSV files' local dates as strptime reads them, e.g. %%d/%%m/%%Y "
        "(default: YYYY-MM-DD)",
    )

    p = sub.add_parser(
        "export",
        help="export users to a file (streamed)",
        description="Export the users (all, or those matching --query and --filter).",
    )
    p.add_argument("out", nargs="?", metavar="OUT", help="output file (default: standard output)")
    p.add_argument("--out", dest="out_option", metavar="FILE", help="output file")
    p.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        help="default: from the file's extension (.csv, .xml), else json",
    )
    p.add_argument("--query", metavar="TEXT", default="", help="as typed in Find and Manage Users")
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="record_type, status, account_type, role or user_group (repeat for several)",
    )
    p.add_argument(
        "--organization",
        metavar="CODE",
        help="the organization whose users to export (default: the first organization)",
    )
    p.add_argument(
        "--user",
        metavar="ID",
        help="the personal-information export of one user (JSON), by any of their identifiers",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing file (never a device, a pipe or the database's own files)",
    )


class _Progress:
    """A progress bar on a terminal; a plain line every few seconds when piped."""

    def __init__(self, stream=None) -> None:  # noqa: ANN001
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last = 0.0
        self.done = False

    def __call__(self, p) -> None:  # noqa: ANN001 - models.transfer.imports.Progress
        now = time.monotonic()
        final = p.position >= 1.0
        if self.done:
            return
        self.done = final
        if not final and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        eta = "" if p.eta is None else f", ETA {int(p.eta) // 60}:{int(p.eta) % 60:02d}"
        counts = f"{p.rows:,} rows, {p.rate:,.0f} rows/s{eta}"
        if self.tty:
            width = 24
            filled = int(width * p.position)
            bar = "#" * filled + "-" * (width - filled)
            print(f"\rimport [{bar}] {p.position:4.0%} {counts}   ", end="", file=self.stream)
            if final:
                print(file=self.stream)
        else:
            print(f"import: {counts} ({p.position:.0%} of the file)", file=self.stream)
        self.stream.flush()


def run_import(args: argparse.Namespace, error: type[Exception]) -> int:
    from models.config.configuration import organization_by_code
    from models.config.setup import is_initialized
    from models.errors import PatronDeskError
    from models.transfer.imports import ImportOptions, import_file

    if args.source and not args.external:
        raise error("--source names the SIS of an external load: add --external")
    if args.workers is not None and args.workers < 1:
        raise error("--workers must be at least 1")
    if not is_initialized():
        raise error("the database is not initialized: run 'patrondesk init --admin NAME' first")
    if args.report:
        from models.store.files import check_target

        try:  # before the import runs: a refused report must not come after the work is done
            check_target(args.report, overwrite=args.force, document=False)
        except PatronDeskError as exc:
            raise error(f"--report: {exc.message}") from None
    options = ImportOptions(
        format=args.format,
        external=args.external,
        source=args.source or "",
        dry_run=args.dry_run,
        strict=args.strict,
        map_file=Path(args.map) if args.map else None,
        match=args.match or "",
        workers=args.workers,
        progress=_Progress(),
        encoding=args.encoding or "",
        date_format=args.date_format or "",
        force=args.force,
        exclusive=args.exclusive,
    )
    from tui.job_notify import tell

    job = "sis_load" if args.external else "import"
    try:
        # The command line is the system: the organization it names, else the first one (a
        # RERO file of several organisations: each into its own, models.transfer.organizations).
        named = organization_by_code(args.organization) if args.organization else None
        report = import_file(args.file, options, organization=named)
    except PatronDeskError as exc:
        tell(job, [f"{args.file}: {exc.message}"], failed=True)
        raise error(exc.message) from None
    lines = [report.summary()]
    for issue in report.refusals[:20]:
        where = " ".join(x for x in (issue.file, issue.where) if x)
        who = f" ({issue.primary_id})" if issue.primary_id else ""
        lines.append(printable(f"refused: {where}{who}: {issue.field} {issue.message}"))
    if report.refused > 20:
        lines.append(f"... and {report.refused - 20} more refused records (see --report)")
    print("\n".join(lines))  # the file's text made printable above
    if args.report:
        try:
            report.write_csv(args.report, overwrite=args.force, document=False)
        except PatronDeskError as exc:
            tell(job, [*lines, f"--report: {exc.message}"], failed=True)
            raise error(f"--report: {exc.message}") from None
        lines.append(f"Report: {args.report} ({len(report.issues):,} lines)")
        print(lines[-1])
    tell(job, [f"File: {args.file}", *lines])
    return EXIT_REFUSED if report.refused else 0


def run_export(args: argparse.Namespace, error: type[Exception]) -> int:
    import json

    from models.config.configuration import organization_by_code
    from models.config.setup import is_initialized
    from models.errors import PatronDeskError
    from models.store.base import database
    from models.store.files import PrivateFile
    from models.transfer.exports import (
        ExportFilter,
        export_to_file,
        export_users,
        format_for_path,
        user_document,
        users,
    )

    if args.out and args.out_option:
        raise error("give the output file once: OUT or --out")
    target = args.out_option or args.out
    if not is_initialized():
        raise error("the database is not initialized: run 'patrondesk init --admin NAME' first")
    fmt = args.format
    if fmt is None:
        fmt = (format_for_path(target) if target else None) or "json"
    try:
        if args.user:
            if args.query or args.filter:
                raise error("--user exports one user: no --query or --filter with it")
            if not target or target == "-":
                with database.atomic():  # the export's audit event stands only if written
                    document = user_document(args.user, destination="standard output")
                    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
                return 0
            # The file private, never replacing what it should not (models.store.files); its audit
            # event stands only with the file in place.
            with (
                PrivateFile(target, overwrite=args.force, document=False) as out,
                database.atomic(),
            ):
                where = printable(str(out.target.resolve()))
                document = user_document(args.user, destination=where)
                out.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
                out.commit()
            shown = printable(f"{args.user} to {target}")  # the arguments, typed or scripted
            print(f"Exported the personal information of {shown}.")
            return 0
        flt = ExportFilter.parse(args.filter, args.query)
        org = organization_by_code(args.organization) if args.organization else None
        started = time.perf_counter()
        if target and target != "-":
            count = export_to_file(target, fmt, flt=flt, overwrite=args.force, organization=org)
            elapsed = time.perf_counter() - started
            print(f"Exported {users(count)} ({fmt}) to {printable(target)} in {elapsed:.1f} s.")
        else:
            export_users(sys.stdout, fmt, organization=org, flt=flt, destination="standard output")
    except PatronDeskError as exc:
        raise error(exc.message) from None
    except BrokenPipeError:
        raise  # the reader left (`export | head`): main() ends quietly
    except OSError as exc:
        raise error(f"cannot write {target or 'standard output'}: {exc.strerror or exc}") from None
    return 0
