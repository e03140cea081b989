"""The end of a command-line job told to the `job_notify_emails` addresses
(`models.mail.job_notice`): what the command printed, sent by email; how that went is said on
the job's own output (sent) or as a warning on stderr (not sent). Loaded by the commands only."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from models.text import printable


def tell(job: str, lines: list[str], *, failed: bool = False) -> None:
    from models.mail.job_notice import notify_job_end

    result = notify_job_end(job, lines, failed=failed)
    if result.error:
        print(f"patrondesk: warning: {printable(result.line())}", file=sys.stderr)
    elif result.sent_to:
        print(printable(result.line()))


@contextmanager
def told_if_failed(job: str, error: Callable[[str], Exception]) -> Iterator[None]:
    """A job that stops on a refusal (`PatronDeskError`) tells the addresses too, then stops as
    it would have."""
    from models.errors import PatronDeskError

    try:
        yield
    except PatronDeskError as exc:
        tell(job, [exc.message], failed=True)
        raise error(exc.message) from None
