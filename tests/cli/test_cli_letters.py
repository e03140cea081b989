"""`patrondesk letters send` and `patrondesk letters expiry --days N` (issue 9), run in-process
against a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from models.store.tables import Letter
from tests.helpers.smtp import SmtpServer, serve
from tests.helpers.ui import add_user
from tui.cli import main


@pytest.fixture
def smtp(db) -> Iterator[SmtpServer]:  # noqa: ANN001
    with serve() as server:
        yield server


def test_expiry_reminders_are_queued_once_and_delivered(db, smtp, capsys) -> None:
    add_user("Anna", "Müller", "P1", expiry_days=10)
    add_user("Ben", "Later", "P2", expiry_days=90)
    assert main(["--db", db.url, "letters", "expiry", "--days", "30"]) == 0
    out = capsys.readouterr().out
    assert "Queued 1 expiry reminder " in out and "Sent 1 letter; 0 failed" in out
    assert [r.recipients for r in smtp.received] == [["p1@example.org"]]
    assert main(["--db", db.url, "letters", "expiry", "--days", "30"]) == 0
    assert "Queued 0 expiry reminders" in capsys.readouterr().out
    assert len(smtp.received) == 1


def test_letters_send_retries_what_failed_and_says_so(db, smtp, capsys) -> None:
    add_user("Anna", "Müller", "P1", expiry_days=10)
    assert main(["--db", db.url, "letters", "expiry", "--queue-only"]) == 0
    smtp.handler.refuse = 1
    assert main(["--db", db.url, "letters", "send"]) == 1
    out = capsys.readouterr().out
    assert "Sent 0 letters; 1 failed" in out and "451" in out
    assert main(["--db", db.url, "letters", "send"]) == 0
    assert "Sent 1 letter; 0 failed" in capsys.readouterr().out
    assert Letter.get().status == "sent"


def test_letters_without_an_action_is_one_line_and_exit_2(db, capsys) -> None:
    assert main(["--db", db.url, "letters"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("patrondesk: error: say what to do") and err.count("\n") == 1
