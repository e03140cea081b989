"""`patrondesk letters send` and `patrondesk letters expiry --days N`: the letter jobs a library
runs from cron (issue 9). The parsers load no models; the commands do."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from models.text import plural, printable


def add_parsers(sub, parser_class: type[argparse.ArgumentParser]) -> None:  # noqa: ANN001
    p = sub.add_parser("letters", help="deliver the outbox, queue expiry reminders")
    letters = p.add_subparsers(dest="letters_command", metavar="ACTION", parser_class=parser_class)
    letters.add_parser(
        "send", help="deliver every queued letter and retry the failed ones (SMTP settings)"
    )
    p = letters.add_parser(
        "expiry",
        help="queue the expiry reminder for accounts expiring within N days (once per "
        "account and expiry date), then deliver the outbox",
    )
    p.add_argument("--days", type=int, default=30, metavar="N", help="days ahead (default 30)")
    p.add_argument(
        "--queue-only", action="store_true", help="queue the reminders without delivering them"
    )


def _send() -> tuple[int, list[str]]:
    from models.mail.mailer import send_pending

    report = send_pending()
    lines = [f"Sent {plural(report.sent, 'letter')}; {report.failed} failed (kept in the outbox)."]
    lines += [f"  letter {letter_id}: {error}" for letter_id, error in report.errors]
    return report.failed, lines


def run(args: argparse.Namespace, error: Callable[[str], Exception]) -> int:
    """Exit 0 when everything was delivered; 1 when some letters failed (they stay in the
    outbox for the next run); 2 (through `error`) for a wrong command."""
    from models.config.setup import is_initialized

    if args.letters_command is None:
        raise error("say what to do: 'patrondesk letters send' or 'patrondesk letters expiry'")
    if not is_initialized():
        raise error("the database is not initialized: run 'patrondesk init --admin NAME' first")
    lines: list[str] = []
    if args.letters_command == "expiry":
        from models.mail.letters import queue_expiry_reminders

        if args.days < 0:
            raise error("--days must not be negative")
        from tui.job_notify import told_if_failed

        with told_if_failed("expiry", error):
            report = queue_expiry_reminders(args.days)
        lines.append(
            f"Queued {plural(report.queued, 'expiry reminder')} for accounts expiring within "
            f"{args.days} days; {report.already} reminded before; {len(report.skipped)} skipped."
        )
        lines += [f"  skipped {primary_id}: {reason}" for primary_id, reason in report.skipped]
        if args.queue_only:
            print(printable("\n".join(lines), multiline=True))
            _tell(args, lines)
            return 0
    failed, sent = _send()
    # Identifiers and subjects come from the database: no control of theirs reaches the terminal.
    print(printable("\n".join(lines + sent), multiline=True))
    _tell(args, lines + sent)
    return 1 if failed else 0


def _tell(args: argparse.Namespace, lines: list[str]) -> None:
    """The expiry reminders are a job the `job_notify_emails` addresses are told of (issue 22,
    item 7); `letters send` alone is the outbox's delivery, which the outbox shows."""
    if args.letters_command == "expiry":
        from tui.job_notify import tell

        tell("expiry", lines)
