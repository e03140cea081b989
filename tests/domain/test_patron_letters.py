"""Issue 22, item 7: Selected patron letters (a switch per letter a patron may decline), the
Italian templates, the PIN letter and the notice of a job's end, on both back ends, delivered
to a real SMTP server on loopback (tests/helpers/smtp.py)."""

from __future__ import annotations

import io
import json
import re
import string
from collections.abc import Iterator

import pytest

from models.audit import Actor
from models.config.config_settings import update_settings
from models.config.settings import load_settings, set_setting
from models.enums import LetterKind, Source
from models.errors import ValidationError
from models.mail.job_notice import notify_addresses, notify_job_end
from models.mail.letters import (
    OPTIONAL_KINDS,
    TEMPLATES,
    LetterRefused,
    queue_expiry_reminders,
    queue_general_message,
    queue_personal_information,
    resend_letter,
    retry_letter,
)
from models.mail.mailer import send_pending
from models.store.tables import Account, Attachment, AuditEvent, Letter
from models.transfer.exports import export_users
from models.users.details import general_form, update_user
from models.users.fields import BY_NAME
from models.users.validation import FieldError
from tests.helpers.smtp import SmtpServer, serve
from tests.helpers.ui import add_user

PIN = "4827"


@pytest.fixture
def smtp(db) -> Iterator[SmtpServer]:  # noqa: ANN001
    with serve() as server:
        yield server


def admin(db) -> Actor:  # noqa: ANN001
    return Actor(db.admin, Source.SCREEN)


def select(account: Account, actor: Actor, **switches: bool) -> Account:
    """Save the General tab's letter switches, as the screen does."""
    version = Account.get_by_id(account.id).version
    return update_user(account.id, version, switches, actor)


# --- Selected patron letters --------------------------------------------------------------------


def test_each_letter_a_patron_may_decline_has_its_switch_on_the_general_tab(db) -> None:
    assert set(OPTIONAL_KINDS.values()) == {"letter_general", "letter_expiry_reminder"}
    for name in OPTIONAL_KINDS.values():
        assert BY_NAME[name].general and BY_NAME[name].kind == "bool"
    account = add_user("Anna", "Müller", "P1")
    form = general_form(account.id, admin(db))
    assert form.values["letter_general"] is True
    assert form.values["letter_expiry_reminder"] is True
    assert {"letter_general", "letter_expiry_reminder"} <= form.editable


def test_a_declined_letter_is_not_written_and_the_others_still_are(db, smtp) -> None:
    actor = admin(db)
    account = add_user("Anna", "Müller", "P1", expiry_days=10)
    saved = select(account, actor, letter_general=False)
    assert (saved.letter_general, saved.letter_expiry_reminder) == (False, True)
    with pytest.raises(LetterRefused, match="does not receive the letter .General message"):
        queue_general_message(account.id, "News", "Text.", actor)
    assert queue_expiry_reminders(30).queued == 1  # the other letter still goes
    # History says which switch changed, by whom.
    event = (
        AuditEvent.select()
        .where((AuditEvent.account_id == account.id) & (AuditEvent.field == "letter_general"))
        .order_by(AuditEvent.id.desc())
        .first()
    )
    assert (event.old_value, event.new_value, event.actor) == ("yes", "no", actor.name)


def test_a_declined_expiry_reminder_is_skipped_with_the_reason(db, smtp) -> None:
    actor = admin(db)
    account = add_user("Anna", "Müller", "P1", expiry_days=10)
    select(account, actor, letter_expiry_reminder=False)
    report = queue_expiry_reminders(30)
    assert report.queued == 0
    assert report.skipped == [("P1", "This user does not receive the letter “Expiry reminder”.")]
    queue_general_message(account.id, "News", "Text.", actor)
    assert send_pending().sent == 1


def test_the_old_switch_still_declines_every_letter_and_gives_them_back(db, smtp) -> None:
    """Migration 0016 keeps `letters_opt_in` with its meaning: off, no optional letter goes
    whatever each switch says; on again, each switch decides (nothing was lost)."""
    actor = admin(db)
    account = add_user("Anna", "Müller", "P1", expiry_days=10)
    select(account, actor, letters_opt_in=False)
    with pytest.raises(LetterRefused, match="opted out"):
        queue_general_message(account.id, "News", "Text.", actor)
    assert queue_expiry_reminders(30).queued == 0
    queue_personal_information(account.id, actor)  # a service letter always goes
    select(account, actor, letters_opt_in=True, letter_expiry_reminder=False)
    queue_general_message(account.id, "News", "Text.", actor)
    assert queue_expiry_reminders(30).queued == 0


def test_a_declined_letter_is_not_resent(db, smtp) -> None:
    actor = admin(db)
    account = add_user("Anna", "Müller", "P1")
    letter = queue_general_message(account.id, "News", "Text.", actor)
    select(account, actor, letter_general=False)
    with pytest.raises(LetterRefused, match="does not receive"):
        resend_letter(letter.id, actor)


def test_the_switches_are_exported_and_imported_back(db, tmp_path) -> None:
    from models.transfer.imports import ImportOptions, import_file

    actor = admin(db)
    account = add_user("Anna", "Müller", "P1")
    select(account, actor, letter_expiry_reminder=False)
    out = io.StringIO()
    export_users(out, "json")
    records = json.loads(out.getvalue())
    rec = next(r for r in records["users"] if r["primary_id"] == "P1")
    assert (rec["letter_general"], rec["letter_expiry_reminder"]) == (True, False)
    rec["letter_general"], rec["letter_expiry_reminder"] = False, True
    path = tmp_path / "users.json"
    path.write_text(json.dumps({**records, "users": [rec]}))
    report = import_file(str(path), ImportOptions(format="json"))
    assert report.updated == 1, report.summary()
    saved = Account.get_by_id(account.id)
    assert (saved.letter_general, saved.letter_expiry_reminder) == (False, True)


# --- Templates ----------------------------------------------------------------------------------


def _placeholders(text: str) -> set[str]:
    return {
        m.group("named") or m.group("braced")
        for m in string.Template.pattern.finditer(text)
        if m.group("named") or m.group("braced")
    }


@pytest.mark.parametrize("kind", [k.value for k in LetterKind])
def test_every_letter_ships_in_italian_with_the_placeholders_of_the_english(kind: str) -> None:
    english = (TEMPLATES / "en" / f"{kind}.txt").read_text(encoding="utf-8")
    for language in ("fr", "de", "it"):
        text = (TEMPLATES / language / f"{kind}.txt").read_text(encoding="utf-8")
        assert text.startswith("Subject: "), (language, kind)
        assert _placeholders(text) == _placeholders(english), (language, kind)


def test_an_italian_patron_gets_the_italian_letter(db, smtp) -> None:
    account = add_user("Giulia", "Rossi", "P1", expiry_days=10)
    select(account, admin(db), comm_language="it")
    assert queue_expiry_reminders(30).queued == 1
    letter = Letter.get()
    assert letter.language == "it"
    assert letter.subject.startswith("Il suo conto della biblioteca scade il")
    assert "Buongiorno Giulia Rossi" in letter.body


# --- The PIN letter -----------------------------------------------------------------------------


def _secret_anywhere(pin: str) -> list[str]:
    """Where the PIN would be kept: letters, their copies, History."""
    found = [f"letter {r.id}" for r in Letter.select() if pin in r.body or pin in r.subject]
    found += [f"attachment {a.name}" for a in Attachment.select() if pin.encode() in bytes(a.data)]
    found += [
        f"event {e.field}"
        for e in AuditEvent.select()
        if pin in (e.new_value or "") or pin in (e.old_value or "")
    ]
    return found


def test_a_pin_given_at_creation_is_sent_in_the_pin_letter_and_kept_nowhere(db, smtp) -> None:
    account = add_user("Giulia", "Rossi", "P1", pin=PIN, preferred_language="it")
    (received,) = smtp.received
    assert received.recipients == ["p1@example.org"]
    assert received.message["Subject"] == "Il suo PIN della biblioteca"
    assert f"    {PIN}\n" in received.text  # Alma: the PIN is sent in the letter
    letter = Letter.get(Letter.account == account.id)
    assert (letter.kind, letter.status) == ("pin", "sent")
    assert "********" in letter.body
    assert _secret_anywhere(PIN) == []


def test_a_new_pin_on_the_general_tab_sends_the_letter(db, smtp) -> None:
    actor = admin(db)
    account = add_user("Anna", "Müller", "P1")
    assert smtp.received == []  # no PIN, no letter
    select(account, actor, comm_language="fr")
    update_user(account.id, Account.get_by_id(account.id).version, {"pin": "9301"}, actor)
    (received,) = smtp.received
    assert received.message["Subject"] == "Votre NIP de bibliothèque" and "9301" in received.text
    assert _secret_anywhere("9301") == []
    # Removing the PIN (None) sends nothing.
    update_user(account.id, Account.get_by_id(account.id).version, {"pin": None}, actor)
    assert len(smtp.received) == 1


def test_a_pin_letter_that_failed_is_neither_retried_nor_resent(db) -> None:
    actor = admin(db)
    account = add_user("Anna", "Müller", "P1", pin=PIN)  # no SMTP settings: it fails
    letter = Letter.get(Letter.account == account.id)
    assert letter.status == "failed" and "set a new PIN" in letter.error
    assert send_pending().sent == 0
    with pytest.raises(LetterRefused, match="not kept"):
        retry_letter(letter.id, actor)
    with pytest.raises(LetterRefused, match="not resent"):
        resend_letter(letter.id, actor)
    assert _secret_anywhere(PIN) == []


def test_the_pin_letter_is_a_service_letter(db, smtp) -> None:
    account = add_user("Anna", "Müller", "P1")
    select(account, admin(db), letters_opt_in=False, letter_general=False)
    update_user(account.id, Account.get_by_id(account.id).version, {"pin": "5555"}, admin(db))
    assert len(smtp.received) == 1


# --- Job notifications --------------------------------------------------------------------------


def test_the_notify_setting_takes_email_addresses_only(db) -> None:
    assert notify_addresses(" ops@example.org; Head@Example.org ,ops@example.org") == [
        "ops@example.org",
        "Head@example.org",
    ]
    with pytest.raises(FieldError, match="'not-an-address' is not a valid email"):
        notify_addresses("ops@example.org, not-an-address")
    with pytest.raises(ValidationError) as refused:
        update_settings({"job_notify_emails": "ops@example.org, nobody@"}, admin(db))
    assert "job_notify_emails" in refused.value.errors
    assert load_settings().job_notify_emails == ""
    update_settings({"job_notify_emails": "ops@example.org"}, admin(db))
    assert load_settings().job_notify_emails == "ops@example.org"


def test_a_job_notice_goes_to_the_addresses_with_the_summary(db, smtp) -> None:
    set_setting("job_notify_emails", "ops@example.org, head@example.org")
    result = notify_job_end("purge", ["Purged 2 account(s); skipped 1.", "  skipped P9: due"])
    assert result.sent_to == ("ops@example.org", "head@example.org") and not result.error
    (received,) = smtp.received
    assert received.recipients == ["ops@example.org", "head@example.org"]
    assert re.match(r"PatronDesk: Purge ended \d{4}-\d\d-\d\d", received.message["Subject"])
    assert "Purged 2 account(s); skipped 1.\n  skipped P9: due" in received.text
    event = AuditEvent.get(AuditEvent.entity == "job_notice")
    assert event.new_value == "Purge: sent to ops@example.org, head@example.org"


def test_no_addresses_no_notice_and_a_failed_notice_is_said(db) -> None:
    assert notify_job_end("purge", ["x"]).line() == ""
    set_setting("job_notify_emails", "ops@example.org")  # no SMTP server configured
    result = notify_job_end("import", ["x"])
    assert result.sent_to == () and "set smtp_from in the settings" in result.error
    assert result.line().startswith("Notification not sent: no sender address")
