"""`patrondesk purge [--dry-run]`: the purge job a library runs from cron (issue 7). It deletes
every account whose purge date has passed and that meets the deletion rules, and reports what it
purged and what it skipped, and why (identifiers only: no personal data in a job's log). The
parser loads no models; the command does."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from models.text import printable


def add_parsers(sub, parser_class: type[argparse.ArgumentParser]) -> None:  # noqa: ANN001
    p = sub.add_parser(
        "purge", help="delete the accounts whose purge date has passed (deletion rules apply)"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="report what would be purged; delete nothing"
    )


def run(args: argparse.Namespace, error: Callable[[str], Exception]) -> int:
    """Exit 0 with the report, skipped accounts included; 2 (through `error`) when the
    database is not initialized."""
    from models.audit import Actor
    from models.config.setup import is_initialized
    from models.enums import Source
    from models.users.deletion import purge

    if not is_initialized():
        raise error("the database is not initialized: run 'patrondesk init --admin NAME' first")
    from tui.job_notify import tell, told_if_failed

    with told_if_failed("purge", error):
        report = purge(Actor(None, Source.JOB), dry_run=args.dry_run)
    print(printable("\n".join(report.lines()), multiline=True))  # identifiers from the database
    tell("purge", report.lines())
    return 0
