"""`patrondesk merge KEEP OTHER [--dry-run]` (issue 24): merge the account whose primary
identifier is OTHER into the one whose primary identifier is KEEP (`models.users.merge`). It
prints the preview (the fields with the value that wins, what moves, and any reason it is
refused), then what moved. Field by field the default is the kept account's value, except
where it has none; `--take FIELD` takes the merged account's value, `--keep-value FIELD` keeps
the kept one's. Every value printed is made printable (a name from a file may hold escape
sequences). The parser loads no models; the command does."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from models.text import printable


def add_parsers(sub, parser_class: type[argparse.ArgumentParser]) -> None:  # noqa: ANN001
    p = sub.add_parser(
        "merge", help="merge the user OTHER into the user KEEP (primary identifiers)"
    )
    p.add_argument("keep", metavar="KEEP", help="primary identifier of the account kept")
    p.add_argument("other", metavar="OTHER", help="primary identifier of the account merged")
    p.add_argument(
        "--dry-run", action="store_true", help="print what the merge would do; change nothing"
    )
    p.add_argument(
        "--take", action="append", default=[], metavar="FIELD",
        help="take the merged account's value of FIELD (repeatable; e.g. birth_date)",
    )  # fmt: skip
    p.add_argument(
        "--keep-value", action="append", default=[], metavar="FIELD",
        help="keep the kept account's value of FIELD where the default would take the other's",
    )  # fmt: skip


def run(args: argparse.Namespace, error: Callable[[str], Exception]) -> int:
    """Exit 0 with the preview (and, unless --dry-run, what moved); 2 (through `error`) when
    the merge is or would be refused, with the reasons."""
    from models.audit import Actor
    from models.config.setup import is_initialized
    from models.enums import Source
    from models.users.merge import KEEP, OTHER, account_by_primary_id, merge, merge_preview

    if not is_initialized():
        raise error("the database is not initialized: run 'patrondesk init --admin NAME' first")
    actor = Actor(None, Source.CLI)
    keep = account_by_primary_id(args.keep, actor)
    other = account_by_primary_id(args.other, actor)
    choices = {**{f: OTHER for f in args.take}, **{f: KEEP for f in args.keep_value}}
    preview = merge_preview(actor, keep.id, other.id, choices)
    print(printable("\n".join(preview.lines(choices)), multiline=True))
    if not preview.allowed:
        reasons = [*preview.refusals, *(f"{f}: {m}" for f, m in preview.field_errors.items())]
        raise error("the merge is refused: " + "; ".join(reasons))
    if args.dry_run:
        print("Dry run: nothing was changed.")
        return 0
    result = merge(actor, keep.id, other.id, {**preview.defaults(), **choices},
                   preview.keep.version, preview.other.version)  # fmt: skip
    print(printable("\n".join(result.lines()), multiline=True))
    return 0
