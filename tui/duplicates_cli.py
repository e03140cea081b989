"""`patrondesk duplicates [--org CODE] [--min-score S] [--report OUT.csv]`: the likely duplicate
people of an organization (`models.duplicates.scan`), as groups of pairs with their score and
reasons; the report is a CSV file created 0600 that must not exist yet. The parser loads no
models; the command does."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from models.text import plural


def _score(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("the score is a whole number from 0 to 100") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError("the score is a whole number from 0 to 100")
    return value


def add_parsers(sub, parser_class: type[argparse.ArgumentParser]) -> None:  # noqa: ANN001
    p = sub.add_parser("duplicates", help="list the likely duplicate people of an organization")
    p.add_argument("--org", metavar="CODE", help="the organization (default: the first)")
    p.add_argument(
        "--min-score", type=_score, default=None, metavar="S",
        help="the lowest score listed, 0 to 100 (default: 60)",
    )  # fmt: skip
    p.add_argument(
        "--report", metavar="OUT.csv", help="also write the pairs to this new CSV file (0600)"
    )


def run(args: argparse.Namespace, error: Callable[[str], Exception]) -> int:
    from models.audit import Actor
    from models.duplicates.match import MIN_SCORE
    from models.duplicates.report import write_report
    from models.duplicates.scan import scan
    from models.enums import Source
    from models.text import printable
    from tui.jobs_cli import _organization

    org = _organization(args, error)
    min_score = MIN_SCORE if args.min_score is None else args.min_score
    result = scan(org.id, Actor(None, Source.CLI), min_score=min_score)
    group = None
    for p in result.pairs:
        if p.group != group:
            group = p.group
            print(f"group {group}:")
        a = f"{p.a.primary_id} {p.a.last_name}, {p.a.first_name} {p.a.birth_date}".rstrip()
        b = f"{p.b.primary_id} {p.b.last_name}, {p.b.first_name} {p.b.birth_date}".rstrip()
        print(printable(f"  {p.score:3d}  {a}  ~  {b}  ({p.why})"))
    print(
        f"{plural(len(result.pairs), 'pair')} in {plural(result.groups, 'group')} among "
        f"{plural(result.people, 'person', 'people')} "
        f"(score >= {min_score}, {result.compared} pairs compared, {result.seconds:.1f} s)"
    )
    if args.report:
        written = write_report(result, args.report)
        print(printable(f"report: {written}"))
    return 0
