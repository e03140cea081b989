"""The `patrondesk` command line. Errors: one clear line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sys
import time
from collections.abc import Callable, Sequence

from models.text import plural, printable
from tui import __version__

EXIT_ERROR = 2
# Milliseconds an ESC waits for the rest of a key sequence (tui/driver.py): Escape then a key
# typed 25 ms later is two keys, not Alt+key. tmux waits 10 ms, vim's ttimeoutlen is often 50.
ESCAPE_DELAY_MS = "25"


class CliError(Exception):
    """Said to the user as one line, exit 2."""


def _one_line(text: str) -> str:
    """Control characters and line breaks a user typed are shown escaped: one line stays one
    (`models.text.one_line`, loaded only when there is something to say)."""
    from models.text import one_line

    return one_line(text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One line, not argparse's usage block: a script reading stderr gets the reason.
        raise CliError(f"{message} (see 'patrondesk --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="patrondesk",
        description="Library user (patron and staff) management in the terminal.",
    )
    parser.add_argument("--version", action="version", version=f"patrondesk {__version__}")
    parser.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help="SQLite file path, sqlite:///PATH or postgresql://HOST/NAME "
        "(default: $PATRONDESK_DB, else patrondesk.db in the user data folder)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "init", help="create the schema, code tables, organization and administrator"
    )
    p.add_argument(
        "--admin", required=True, metavar="USERNAME", help="the administrator's username"
    )
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the administrator's password from standard input instead of prompting",
    )
    p.add_argument("--organization", default="Main organization", help="organization name")
    p.add_argument("--library", default="Main library", help="main library name")

    p = sub.add_parser("demo", help="fill the database with realistic demo users")
    p.add_argument("--users", type=int, required=True, metavar="N", help="how many users")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="same seed, same data")

    p = sub.add_parser("migrate", help="apply pending schema migrations, or list them")
    p.add_argument(
        "--status", action="store_true", help="list migrations and when each was applied"
    )

    p = sub.add_parser("backup", help="copy the SQLite database to a new file, checked")
    p.add_argument("dest", metavar="DEST", help="the new file")
    p = sub.add_parser("restore", help="replace the SQLite database with a checked backup")
    p.add_argument("src", metavar="SRC", help="a file made by 'patrondesk backup'")

    p = sub.add_parser("audit", help="maintain the audit trail (History)")
    audit_sub = p.add_subparsers(dest="audit_command", metavar="ACTION", parser_class=_Parser)
    audit_sub.add_parser(
        "prune", help="delete audit events older than the retention setting (audit_retention_days)"
    )
    from tui.transfer_cli import add_parsers  # import and export (no models loaded here)

    add_parsers(sub, _Parser)
    from tui import duplicates_cli  # the duplicate scan (no models loaded here)

    duplicates_cli.add_parsers(sub, _Parser)
    from tui import purge_cli  # the purge job (no models loaded here)

    purge_cli.add_parsers(sub, _Parser)
    from tui import letters_cli  # the letter jobs (no models loaded here)

    letters_cli.add_parsers(sub, _Parser)
    from tui import config_cli  # configuration file and organizations (no models loaded here)

    config_cli.add_parsers(sub, _Parser)
    from tui import jobs_cli  # sets and bulk jobs (no models loaded here)

    jobs_cli.add_parsers(sub, _Parser)
    from tui import merge_cli  # merging two users (no models loaded here)

    merge_cli.add_parsers(sub, _Parser)
    p = sub.add_parser("serve", help="serve the app in a web browser (textual-serve)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; see the README "
        "before listening elsewhere)",
    )
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use, behind a reverse proxy (https://desk.example.org)",
    )
    return parser


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise CliError("no password on standard input")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for a password: use --password-stdin")
    first = getpass.getpass("Administrator password: ")
    second = getpass.getpass("Repeat the password: ")
    if first != second:
        raise CliError("the two passwords differ")
    return first


def _cmd_init(args: argparse.Namespace) -> int:
    from models.access.passwords import password_problems, problems_message
    from models.config.settings import load_settings
    from models.config.setup import initialize
    from models.errors import ValidationError

    password = _read_password(args.password_stdin)
    # Check the policy before anything is written, so a weak password leaves no trace.
    if problems := password_problems(password, load_settings()):
        raise CliError(f"password refused: it {problems_message(problems)}")
    try:
        admin = initialize(
            args.admin,
            password,
            organization_name=args.organization,
            library_name=args.library,
        )
    except ValidationError as exc:
        fields = "; ".join(f"{k.replace('_', ' ')} {v}" for k, v in exc.errors.items())
        raise CliError(fields) from None
    print(f"Initialized: organization {admin.organization.name!r}, administrator {args.admin!r}.")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from models.config.setup import default_organization, is_initialized
    from models.demo import generate_demo

    if args.users < 1:
        raise CliError("--users must be at least 1")
    if not is_initialized() or default_organization() is None:
        raise CliError("the database is not initialized: run 'patrondesk init --admin NAME' first")
    started = time.perf_counter()
    report = generate_demo(args.users, seed=args.seed, progress=sys.stderr.isatty())
    elapsed = time.perf_counter() - started
    print(f"Added {report.users} demo users ({report.staff} staff) in {elapsed:.1f} s.")
    return 0


def _cmd_migrate(args: argparse.Namespace, db) -> int:  # noqa: ANN001
    from models.store.schema import migrate, status

    if args.status:
        for m in status(db):
            when = m.applied.strftime("%Y-%m-%d %H:%M:%S") if m.applied else "pending"
            print(f"{m.name:40} {when}")
        return 0
    applied = migrate(db)
    print("\n".join(f"applied: {name}" for name in applied) or "The schema is up to date.")
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from models.config.settings import load_settings
    from models.config.setup import is_initialized
    from models.users.history import prune_audit

    if not is_initialized():
        raise CliError("the database is not initialized: run 'patrondesk init --admin NAME' first")
    settings = load_settings()
    deleted = prune_audit(settings)
    days = settings.audit_retention_days
    print(f"Deleted {plural(deleted, 'audit event')} older than {days} days.")
    return 0


def _hold_terminal() -> Callable[[], None]:
    """Until the app takes the terminal, keys typed ahead are neither shown nor changed: a
    password typed while the app loads no longer appears in clear on the screen (and stays
    there after the app ends), an Enter stays an Enter (the terminal turned it into a line
    feed). They wait, unread, for the app. Returns what puts the terminal back as it was
    (called once the app is about to take it, and again, harmlessly, at the end)."""
    try:
        import termios
    except ImportError:  # not a POSIX terminal
        return lambda: None
    try:
        fd = sys.stdin.fileno()
        if not os.isatty(fd):
            return lambda: None
        saved = termios.tcgetattr(fd)
        quiet = [*saved[:6], list(saved[6])]
        quiet[0] &= ~termios.ICRNL  # iflag: Enter stays \r
        quiet[3] &= ~(termios.ECHO | termios.ICANON)  # lflag: not shown, not held as a line
        termios.tcsetattr(fd, termios.TCSANOW, quiet)  # TCSANOW: nothing typed is dropped
    except (termios.error, OSError, ValueError, AttributeError):  # io.UnsupportedOperation too
        return lambda: None

    def restore() -> None:
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(fd, termios.TCSANOW, saved)

    return restore


def _run_app(target: str | None) -> int:
    os.environ.setdefault("ESCDELAY", ESCAPE_DELAY_MS)  # read when Textual is imported
    restore = _hold_terminal()
    try:
        return _start_app(target, restore)
    finally:
        restore()


def _start_app(target: str | None, restore: Callable[[], None]) -> int:
    resolved = target or os.environ.get("PATRONDESK_DB", "")
    if not resolved.startswith("postgres"):
        # peewee imports the PostgreSQL driver when it is installed, a fifth of the app's start
        # on SQLite. This process opens one SQLite database, so the driver is not loaded.
        sys.modules.setdefault("psycopg2", None)
    from models.store.files import exposure_warning  # no database layer: the app starts fast
    from tui.target import existing_sqlite_file, resolve_target

    path = existing_sqlite_file(resolve_target(target))
    if path is not None and (warning := exposure_warning(path)):
        print(f"patrondesk: warning: {_one_line(warning)}", file=sys.stderr)  # the app says it too
    from tui.photo import choose_graphics

    choose_graphics()  # how photos are drawn: asked of the terminal now, or never
    from tui.app import run_app

    return run_app(target, release_terminal=restore)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # a reader that left early shows here, not in Python's exit
        return code
    except CliError as exc:
        print(f"patrondesk: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("patrondesk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `patrondesk export | head`: the reader left; say nothing, as Unix tools do. What is
        # left in the buffer goes nowhere (Python would report it at exit).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if (message := _database_failure(exc)) is None:
            raise  # a bug in the code shows its traceback
        print(f"patrondesk: error: {_one_line(message)}", file=sys.stderr)
        return EXIT_ERROR


def _database_failure(exc: BaseException) -> str | None:
    """One line for a failure of the database itself (damaged file, lost server, disk error),
    the same on SQLite and PostgreSQL; None for anything else. A constraint or a statement
    the code got wrong (IntegrityError, ProgrammingError) is a bug, not the database's
    failure: it keeps its traceback."""
    import sqlite3

    peewee = sys.modules.get("peewee")  # not loaded: no peewee error can have been raised
    failures: tuple[type[BaseException], ...] = (sqlite3.DatabaseError,)
    bugs: tuple[type[BaseException], ...] = (sqlite3.IntegrityError, sqlite3.ProgrammingError)
    if peewee is not None:
        failures += (peewee.DatabaseError,)
        bugs += (peewee.IntegrityError, peewee.ProgrammingError)
    if not isinstance(exc, failures) or isinstance(exc, bugs):
        return None
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if any(words in first.lower() for words in ("malformed", "not a database", "corrupt")):
        return (
            f"the database is damaged ({first}); nothing was written. 'patrondesk backup FILE' "
            "checks a database; 'patrondesk restore FILE' brings back a good backup"
        )
    return f"the database failed: {first}"


def _cmd_backup(args: argparse.Namespace) -> int:
    from tui.backup import BackupError, backup, restore
    from tui.target import resolve_target

    target = resolve_target(args.db)
    try:
        # (the messages name the paths given: made printable)
        if args.command == "backup":
            print(printable(backup(target, args.dest)))
        else:
            print(printable(restore(target, args.src)))
    except BackupError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"{args.command} failed: {exc.strerror or exc}") from None
    return 0


def _cmd_serve(args: argparse.Namespace, target: str) -> int:
    """Serve the app over HTTP until Ctrl+C (the database was opened, checked and migrated
    first; each browser tab's app opens it again in its own process)."""
    from models.store.connection import close_database
    from tui.serve import exposure_warning, make_server

    if not 0 < args.port < 65536:
        raise CliError(f"--port {args.port}: give a port from 1 to 65535")
    if args.public_url and not args.public_url.startswith(("http://", "https://")):
        raise CliError("--public-url: give an http:// or https:// address")
    if warning := exposure_warning(args.host):
        print(f"patrondesk: warning: {_one_line(warning)}", file=sys.stderr)
    close_database()
    if "://" not in target:
        target = os.path.abspath(os.path.expanduser(target))  # the same file from any folder
    try:
        make_server(target, args.host, args.port, args.public_url).serve()
    except OSError as exc:  # the port is taken, the address is not this machine's
        raise CliError(
            f"cannot listen on {args.host} port {args.port}: {exc.strerror or exc}"
        ) from None
    return 0


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        return _run_app(args.db)  # before the database layer is loaded: the app starts faster
    if args.command in ("backup", "restore"):
        return _cmd_backup(args)  # works on the file itself: a damaged database must not be opened
    from models.errors import DatabaseOpenError, PatronDeskError
    from models.runtime import configure
    from models.store.connection import close_database, open_database

    if args.command == "audit" and args.audit_command is None:
        raise CliError("say what to do with the audit trail: 'patrondesk audit prune'")
    from models.audit import command_line_operator

    # The system's audit events name the operating-system user and host that ran the command.
    configure(operator=command_line_operator())
    try:
        # `migrate --status` must show pending migrations, so it opens without upgrading. Only
        # `init` makes a new database: any other command on a missing file (a mistyped --db)
        # is refused and leaves nothing behind.
        from tui.target import resolve_target

        db = open_database(
            resolve_target(args.db),
            create=args.command == "init",
            upgrade=not (args.command == "migrate" and args.status),
        )
    except DatabaseOpenError as exc:
        raise CliError(exc.message) from None
    from models.store.files import exposure_warning

    if warning := exposure_warning():  # the open SQLite file readable by others
        print(f"patrondesk: warning: {_one_line(warning)}", file=sys.stderr)
    try:
        if args.command == "init":
            return _cmd_init(args)
        if args.command == "demo":
            return _cmd_demo(args)
        if args.command == "migrate":
            return _cmd_migrate(args, db)
        if args.command == "audit":
            return _cmd_audit(args)
        if args.command in ("import", "export"):
            from tui import transfer_cli

            run = transfer_cli.run_import if args.command == "import" else transfer_cli.run_export
            return run(args, CliError)
        if args.command == "duplicates":
            from tui import duplicates_cli

            return duplicates_cli.run(args, CliError)
        if args.command == "purge":
            from tui import purge_cli

            return purge_cli.run(args, CliError)
        if args.command == "merge":
            from tui import merge_cli

            return merge_cli.run(args, CliError)
        if args.command == "letters":
            from tui import letters_cli

            return letters_cli.run(args, CliError)
        if args.command in ("set", "job"):
            from tui import jobs_cli

            run = jobs_cli.run_set if args.command == "set" else jobs_cli.run_job
            return run(args, CliError)
        if args.command == "serve":
            return _cmd_serve(args, resolve_target(args.db))
        if args.command in ("config", "organization"):
            from tui import config_cli

            if args.command == "config":
                return config_cli.run_config(args, CliError)
            return config_cli.run_organization(args, CliError, _read_password)
        raise CliError(f"unknown command {args.command!r}")
    except PatronDeskError as exc:
        raise CliError(exc.message) from None
    finally:
        close_database()


if __name__ == "__main__":
    sys.exit(main())
