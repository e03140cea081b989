"""Issue 22, item 7: the addresses of `job_notify_emails` are told by email when the purge, the
expiry reminders or an import / SIS load ends (or stops on an error), with the job's summary;
run in-process against a real SMTP server on loopback (tests/helpers/smtp.py)."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator

import pytest

from models.audit import Actor
from models.config.settings import set_setting
from models.enums import Source
from models.fees.fees import add_fee
from models.runtime import runtime
from models.store.tables import Account
from models.transfer.exports import export_users
from tests.helpers.smtp import Received, SmtpServer, serve
from tests.helpers.ui import add_user
from tui.cli import main

OPS = "ops@example.org"


@pytest.fixture
def smtp(db) -> Iterator[SmtpServer]:  # noqa: ANN001
    with serve() as server:
        set_setting("job_notify_emails", f"{OPS}, head@example.org")
        yield server


def notices(smtp: SmtpServer) -> list[Received]:
    return [r for r in smtp.received if r.message["Subject"].startswith("PatronDesk: ")]


def test_the_purge_tells_the_addresses_what_it_purged_and_skipped(db, smtp, capsys) -> None:
    past = runtime.today() - dt.timedelta(days=1)
    gone = add_user("Paul", "Purgeable", "P700")
    owes = add_user("Olga", "Owing", "P701")
    add_fee(owes.id, Actor(None, Source.CLI), fee_type="CARD", amount="5.00")
    Account.update(purge_date=past).where(Account.id.in_([gone.id, owes.id])).execute()
    assert main(["--db", db.url, "purge"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == f"Notification sent to {OPS}, head@example.org."
    (notice,) = notices(smtp)
    assert notice.recipients == [OPS, "head@example.org"]
    assert notice.message["Subject"].startswith("PatronDesk: Purge ended ")
    assert "Purged 1 account whose purge date has passed; skipped 1." in notice.text
    assert "skipped  P701  a balance of 5.00 EUR is due" in notice.text
    assert "Olga" not in notice.text  # identifiers only, as the job's own report


def test_the_expiry_reminders_tell_what_was_queued_and_sent(db, smtp, capsys) -> None:
    add_user("Anna", "Müller", "P1", expiry_days=10)
    assert main(["--db", db.url, "letters", "expiry", "--days", "30"]) == 0
    assert "Notification sent to" in capsys.readouterr().out
    (notice,) = notices(smtp)
    assert notice.message["Subject"].startswith("PatronDesk: Expiry reminders ended ")
    assert "Queued 1 expiry reminder " in notice.text
    assert "Sent 1 letter; 0 failed" in notice.text
    # Delivering the outbox alone is no job the addresses are told of.
    assert main(["--db", db.url, "letters", "send"]) == 0
    assert len(notices(smtp)) == 1


def _users_file(tmp_path, db) -> str:  # noqa: ANN001
    """A load of two records: one new user, one refused (no last name)."""
    add_user("Anna", "Müller", "P1")
    out = io.StringIO()
    export_users(out, "json")
    document = json.loads(out.getvalue())
    record = next(u for u in document["users"] if u["primary_id"] == "P1")
    new = {**record, "primary_id": "S900", "username": "s900", "email": "s900@example.org"}
    new["emails"] = [{**e, "address": "s900@example.org"} for e in record.get("emails", [])]
    new["identifiers"] = []
    bad = {**new, "primary_id": "S901", "username": "s901", "email": "s901@example.org"}
    bad["emails"], bad["last_name"] = [], ""
    path = tmp_path / "sis.json"
    path.write_text(json.dumps({**document, "users": [new, bad]}))
    return str(path)


def test_a_sis_load_tells_its_counts_and_refusals(db, smtp, capsys, tmp_path) -> None:
    path = _users_file(tmp_path, db)
    code = main(["--db", db.url, "import", path, "--external", "--source", "SIS"])
    out = capsys.readouterr().out
    assert code == 1, out
    (notice,) = notices(smtp)
    assert notice.message["Subject"].startswith("PatronDesk: SIS load ended ")
    assert f"File: {path}" in notice.text
    assert "1 created" in notice.text and "1 refused" in notice.text
    assert "refused: " in notice.text and "(S901)" in notice.text


def test_an_import_that_stops_on_an_error_is_told_as_failed(db, smtp, capsys, tmp_path) -> None:
    missing = tmp_path / "nothing.json"
    assert main(["--db", db.url, "import", str(missing)]) == 2
    assert "patrondesk: error:" in capsys.readouterr().err
    (notice,) = notices(smtp)
    assert notice.message["Subject"].startswith("PatronDesk: Import failed ")
    assert str(missing) in notice.text


def test_a_notice_that_cannot_be_sent_is_a_warning_and_the_job_result_stays(
    db, smtp, capsys
) -> None:
    smtp.handler.refuse = 1
    assert main(["--db", db.url, "purge"]) == 0
    captured = capsys.readouterr()
    assert "Purged 0 accounts" in captured.out
    assert captured.err.startswith("patrondesk: warning: Notification not sent: 451")
    assert notices(smtp) == []


def test_without_addresses_nobody_is_told(db, smtp, capsys) -> None:
    set_setting("job_notify_emails", "")
    assert main(["--db", db.url, "purge"]) == 0
    assert "Notification" not in capsys.readouterr().out
    assert smtp.received == []
