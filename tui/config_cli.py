"""`patrondesk config export|import FILE` and `patrondesk organization add` (the command-line
side of models/config/config_file.py and models/config/configuration/). Nothing from `models` is
imported
until a command runs: the app starts fast."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from models.text import printable


def add_parsers(sub, parser_class) -> None:  # noqa: ANN001 - argparse's private types
    p = sub.add_parser(
        "config",
        help="export or import the configuration as a TOML file",
        description="The settings and one organization's libraries, code tables and "
        "role-assignment rules as a TOML file a library can keep under version control.",
    )
    actions = p.add_subparsers(dest="config_command", metavar="ACTION", parser_class=parser_class)
    e = actions.add_parser("export", help="write the configuration to FILE ('-': standard output)")
    e.add_argument("file", metavar="FILE")
    e.add_argument("--organization", metavar="CODE", help="default: the first organization")
    e.add_argument(
        "--force",
        action="store_true",
        help="replace an existing FILE (never a device, a pipe or the database's own files)",
    )
    i = actions.add_parser(
        "import",
        help="check FILE entirely, then apply it; on any error nothing is changed",
    )
    i.add_argument("file", metavar="FILE")
    i.add_argument(
        "--organization",
        metavar="CODE",
        help="default: the organization the file names, else the first one",
    )

    p = sub.add_parser("organization", help="add an organization (a consortium member)")
    actions = p.add_subparsers(
        dest="organization_command", metavar="ACTION", parser_class=parser_class
    )
    a = actions.add_parser(
        "add", help="a new organization with its main library, code tables and administrator"
    )
    a.add_argument("code", metavar="CODE")
    a.add_argument("name", metavar="NAME")
    a.add_argument("--library", default="Main library", metavar="NAME", help="main library name")
    a.add_argument("--library-code", default="MAIN", metavar="CODE")
    a.add_argument("--admin", required=True, metavar="USERNAME", help="its first administrator")
    a.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the administrator's password from standard input instead of prompting",
    )


def run_config(args: argparse.Namespace, error: type[Exception]) -> int:
    from models.config.config_file import export_config, import_config, parse_config
    from models.config.configuration import organization_by_code

    if args.config_command is None:
        raise error("say what to do: 'patrondesk config export FILE' or 'config import FILE'")
    if args.config_command == "export":
        from tui import __version__

        org = organization_by_code(args.organization)
        text = export_config(org.id, generator=f"patrondesk {__version__}")
        if args.file == "-":
            sys.stdout.write(text)
            return 0
        from models.store.files import write_private

        try:  # private (0600), never over a special file or the database (models.store.files)
            write_private(args.file, text, overwrite=args.force, document=False)
        except OSError as exc:
            raise error(f"cannot write {printable(args.file)}: {exc.strerror or exc}") from None
        print(f"Exported the configuration of {org.code} to {printable(args.file)}.")
        return 0
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise error(f"cannot read {printable(args.file)}: {reason}") from None
    from models.errors import NotFound

    named = args.organization or str(parse_config(text).get("organization", {}).get("code", ""))
    try:
        org = organization_by_code(named or None)
    except NotFound:
        if args.organization:
            raise
        raise error(
            f"the file is the configuration of organization {named!r}, which this database does "
            "not have: name the organization to import it into with --organization CODE"
        ) from None
    report = import_config(text, org.id)
    print(f"Imported {printable(args.file)} into {org.code}:")
    for line in report.lines():
        print(f"  {printable(line)}")  # codes and names from the file
    return 0


def run_organization(args: argparse.Namespace, error: type[Exception], read_password) -> int:  # noqa: ANN001
    from models.config.configuration import add_organization
    from models.errors import ValidationError

    if args.organization_command is None:
        raise error("say what to do: 'patrondesk organization add CODE NAME --admin USERNAME'")
    password = read_password(args.password_stdin)
    try:
        org = add_organization(
            args.code,
            args.name,
            library_code=args.library_code,
            library_name=args.library,
            admin_username=args.admin,
            admin_password=password,
        )
    except ValidationError as exc:
        raise error(
            "; ".join(f"{k.replace('_', ' ')} {v}" for k, v in exc.errors.items())
        ) from None
    print(f"Added organization {org.code!r} ({org.name}), administrator {args.admin!r}.")
    return 0
