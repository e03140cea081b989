"""`patrondesk set ...` and `patrondesk job ...` (issue 23): sets of users and the bulk jobs run
on them (models/jobs/). The command line acts as the system of the organization (`--org CODE`,
default the first); its changes appear in History with source `job` and the job's id. Progress
lines (rows/s, ETA) go to stderr. The parsers load no models; the commands do."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from models.text import one_line, plural, printable

MAX_BODY_BYTES = 200_000


def add_parsers(sub, parser_class: type[argparse.ArgumentParser]) -> None:  # noqa: ANN001
    p = sub.add_parser(
        "set", help="sets of users: create (a search or a file), list, rename, delete"
    )
    p.add_argument("--org", metavar="CODE", help="the organization (default: the first)")
    sets = p.add_subparsers(dest="set_command", metavar="ACTION", parser_class=parser_class)
    c = sets.add_parser("create", help="a set from a search (re-evaluated when used) or a file")
    c.add_argument("name", metavar="NAME")
    c.add_argument("--search", metavar="TEXT", help="the search text of Find Users")
    c.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="record_type, status, account_type, role, user_group (as 'export --filter')",
    )
    c.add_argument("--file", metavar="F", help="identifiers, one per line (or a CSV column)")
    c.add_argument("--column", metavar="NAME_OR_N", help="the CSV column of --file")
    sets.add_parser("list", help="the organization's sets")
    r = sets.add_parser("rename", help="rename a set")
    r.add_argument("name", metavar="SET")
    r.add_argument("new_name", metavar="NEW_NAME")
    d = sets.add_parser("delete", help="delete a set (its jobs stay)")
    d.add_argument("name", metavar="SET")
    m = sets.add_parser("members", help="the set's members (identifier and name)")
    m.add_argument("name", metavar="SET")

    p = sub.add_parser("job", help="bulk jobs on a set: update, notify, delete, list, show, undo")
    p.add_argument("--org", metavar="CODE", help="the organization (default: the first)")
    jobs = p.add_subparsers(dest="job_command", metavar="ACTION", parser_class=parser_class)
    u = jobs.add_parser("update", help="change fields of every member (preview with --dry-run)")
    u.add_argument("set", metavar="SET")
    u.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="user_group, expiry (YYYY-MM-DD, +Nd or renew), purge, status, campus, job_category",
    )
    u.add_argument(
        "--add",
        action="append",
        default=[],
        metavar="KIND=VALUE",
        help="add to every member: stat=CATEGORY, role=ROLE[@LIBRARY], block=TYPE",
    )
    u.add_argument(
        "--remove",
        action="append",
        default=[],
        metavar="KIND=VALUE",
        help="remove from every member: stat=CATEGORY, role=ROLE[@LIBRARY], block=TYPE",
    )
    u.add_argument(
        "--note", dest="notes", action="append", default=[], metavar="TEXT",
        help="add a note (one line) to every member",
    )  # fmt: skip
    u.add_argument("--dry-run", action="store_true", help="preview: write nothing")
    n = jobs.add_parser("notify", help="queue a letter to every member (the outbox sends it)")
    n.add_argument("set", metavar="SET")
    n.add_argument("--letter", default="general", help="the letter (general)")
    n.add_argument("--subject", required=True)
    n.add_argument("--body-file", required=True, metavar="F")
    n.add_argument("--dry-run", action="store_true", help="preview: queue nothing")
    d = jobs.add_parser("delete", help="delete every member the deletion rules allow")
    d.add_argument("set", metavar="SET")
    d.add_argument("--dry-run", action="store_true", help="preview: delete nothing")
    jobs.add_parser("list", help="every job: who, when, what, counts")
    s = jobs.add_parser("show", help="a job and every member skipped or failed, and why")
    s.add_argument("id", type=int, metavar="ID")
    s.add_argument("--csv", action="store_true", help="the report as CSV")
    s = jobs.add_parser("undo", help="restore the values an update job changed")
    s.add_argument("id", type=int, metavar="ID")


def _organization(args: argparse.Namespace, error: Callable[[str], Exception]):  # noqa: ANN202
    from models.config.setup import default_organization, is_initialized
    from models.store.tables import Organization

    if not is_initialized():
        raise error("the database is not initialized: run 'patrondesk init --admin NAME' first")
    if args.org:
        org = Organization.get_or_none(Organization.code == args.org)
        if org is None:
            raise error(f"no organization {args.org!r}")
        return org
    return default_organization()


def _progress(verb: str):  # noqa: ANN202
    def show(p) -> None:  # noqa: ANN001
        print(f"{verb}: {p.line()}", file=sys.stderr, flush=True)

    return show


def _read(path: str, limit: int, error: Callable[[str], Exception]) -> str:
    """A file the user names, read as a file to attach is (`read_user_text`); a refusal is the
    command's one error line."""
    from models.errors import ValidationError
    from models.store.files import read_user_text

    try:
        return read_user_text(path, limit)
    except ValidationError as exc:
        raise error(f"{path}: {exc.errors['file']}") from None


def _say(lines: list[str]) -> None:
    """Each line of a report as one line: an identifier read from a file (a quoted CSV field
    may hold a line break) or from the database is escaped (`one_line`), never printed raw."""
    print("\n".join(one_line(line) for line in lines))


def run_set(args: argparse.Namespace, error: Callable[[str], Exception]) -> int:
    from models.audit import Actor
    from models.enums import Source
    from models.jobs import sets

    if args.set_command is None:
        raise error("say what to do: 'patrondesk set create|list|rename|delete|members'")
    org = _organization(args, error)
    actor = Actor(None, Source.CLI)
    if args.set_command == "create":
        if bool(args.file) == bool(args.search is not None or args.filter):
            raise error("give --search TEXT (and --filter ...) or --file F")
        if args.file:
            made = sets.create_set_from_path(
                args.name, args.file, actor, column=args.column, organization=org
            )
            lines = [f"Set {made.info.name!r} created: {plural(made.found, 'member')}; "
                     f"{plural(len(made.unknown), 'identifier')} unknown."]  # fmt: skip
            lines += [f"  unknown  {value}" for value in made.unknown]
            _say(lines)
            return 0
        from models.transfer.exports.records import ExportError, ExportFilter, user_query

        try:
            query = user_query(org, ExportFilter.parse(args.filter, args.search or ""))
        except ExportError as exc:
            raise error(exc.message) from None
        info = sets.create_logical_set(args.name, query, actor, org)
        _say([f"Set {info.name!r} created: a search, evaluated each time it is used."])
        return 0
    if args.set_command == "list":
        rows = sets.list_sets(actor, org)
        lines = []
        for s in rows:
            what = (
                f"search {s.query.text!r} ({s.query.tab}, status {s.query.status})"
                if s.query is not None
                else plural(s.members, "member")
            )
            lines.append(f"{s.set_id}  {s.name}  {s.kind}  {what}  by {s.created_by}")
        _say(lines or ["No sets."])
        return 0
    if args.set_command == "rename":
        info = sets.rename_set(args.name, args.new_name, actor, org)
        _say([f"Set renamed to {info.name!r}."])
        return 0
    if args.set_command == "delete":
        sets.delete_set(args.name, actor, org)
        _say(["Set deleted."])
        return 0
    row = sets.load_set(args.name, actor, org)
    for chunk in sets.iter_members(row, actor):
        _say([f"{m.account_id}  {m.primary_id}" for m in chunk])
    return 0


def run_job(args: argparse.Namespace, error: Callable[[str], Exception]) -> int:
    from models.audit import Actor
    from models.enums import Source
    from models.jobs import jobs

    if args.job_command is None:
        raise error("say what to do: 'patrondesk job update|notify|delete|list|show|undo'")
    org = _organization(args, error)
    actor = Actor(None, Source.JOB)
    command = args.job_command
    if command == "list":
        _say([j.line() for j in jobs.list_jobs(actor, organization=org)] or ["No jobs."])
        return 0
    if command == "show":
        report = jobs.report(args.id, actor, organization=org)
        if args.csv:
            import csv

            writer = csv.writer(sys.stdout)
            for row in report.csv_rows():
                writer.writerow([printable(c) for c in row])
            return 0
        _say(report.lines())
        return 0
    if command == "undo":
        report = jobs.undo(args.id, actor, organization=org, progress=_progress("undo"))
        _say(report.lines())
        return 0
    if command == "update":
        fields = jobs.parse_update(args.assignments, org.id) if args.assignments else {}
        rows = jobs.parse_rows(args.add, args.remove, args.notes, organization_id=org.id)
        if not fields and not rows:
            raise error(
                "say what to change: --set FIELD=VALUE, --add KIND=VALUE, --remove KIND=VALUE "
                "or --note TEXT"
            )
        if args.dry_run:
            _say(jobs.preview(jobs.UPDATE, args.set, actor, fields=fields, rows=rows,
                              organization=org).lines())  # fmt: skip
            return 0
        report = jobs.run_update(args.set, fields, actor, rows=rows, organization=org,
                                 progress=_progress("update"))  # fmt: skip
    elif command == "notify":
        body = _read(args.body_file, MAX_BODY_BYTES, error)
        if args.dry_run:
            _say(jobs.preview(jobs.NOTIFY, args.set, actor, organization=org).lines())
            return 0
        report = jobs.run_notify(args.set, args.subject, body, actor, letter=args.letter,
                                 organization=org, progress=_progress("notify"))  # fmt: skip
    else:
        if args.dry_run:
            _say(jobs.preview(jobs.DELETE, args.set, actor, organization=org).lines())
            return 0
        report = jobs.run_delete(args.set, actor, organization=org, progress=_progress("delete"))
    _say(report.lines())
    return 0
