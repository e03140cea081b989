"""Letters (issue 9): recipients, language, files, the outbox and its retries, expiry
reminders, opt-out and resend, delivered to a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.audit import Actor
from models.config.settings import set_setting
from models.enums import Channel, LetterStatus, Role, Source
from models.errors import PermissionDenied, ValidationError
from models.mail import mailer
from models.mail.letters import (
    LETTER_COPY_MIME,
    LetterRefused,
    letter_of_attachment,
    letters_of,
    outbox,
    queue_deletion_notice,
    queue_expiry_reminders,
    queue_general_message,
    queue_personal_information,
    resend_letter,
    retry_letter,
)
from models.mail.mailer import deliver, send_pending
from models.runtime import runtime
from models.store.tables import (
    Account,
    Address,
    Attachment,
    Fee,
    FeeType,
    Letter,
    Library,
    RoleAssignment,
)
from models.users.rows import Kind, add_row
from tests.helpers.smtp import SmtpServer, certificate, serve, start
from tests.helpers.ui import add_user


@pytest.fixture
def smtp(db) -> Iterator[SmtpServer]:  # noqa: ANN001
    """A plain SMTP server on loopback, and the settings pointing at it."""
    with serve() as server:
        yield server


def admin(db) -> Actor:  # noqa: ANN001
    return Actor(db.admin, Source.SCREEN)


def patron(primary_id: str = "P100", **extra) -> Account:
    email = "anna@example.org" if primary_id == "P100" else f"{primary_id.lower()}@example.org"
    return add_user("Anna", "Müller", primary_id, email=email, **extra)


def add_email(account: Account, address: str, email_type: str, actor: Actor) -> None:
    version = Account.get_by_id(account.id).version
    add_row(Kind.EMAIL, account.id, version, {"address": address, "email_type": email_type}, actor)


def sent_copy(letter: Letter) -> Attachment:
    return Attachment.get(
        (Attachment.letter == letter.id) & (Attachment.mime_type == LETTER_COPY_MIME)
    )


def test_a_general_message_goes_to_the_preferred_email_every_cc_and_the_additional_one(
    db, smtp: SmtpServer
) -> None:
    actor = admin(db)
    account = patron()
    add_email(account, "mum@example.org", "cc", actor)
    add_email(account, "dad@example.org", "cc", actor)
    add_email(account, "work@example.org", "work", actor)  # not a CC: gets nothing
    Account.update(additional_email="copy@example.org").where(Account.id == account.id).execute()

    letter = queue_general_message(account.id, "Your card", "Your new card is ready.", actor)
    assert deliver(letter.id)

    (got,) = smtp.received
    assert sorted(got.recipients) == sorted(
        ["anna@example.org", "copy@example.org", "mum@example.org", "dad@example.org"]
    )
    assert got.message["To"] == "anna@example.org, copy@example.org"
    assert got.message["Cc"] == "mum@example.org, dad@example.org"
    assert got.message["Subject"] == "Your card"
    assert got.sender == "library@example.org"
    assert "Dear Anna Müller," in got.text and "Your new card is ready." in got.text
    letter = Letter.get_by_id(letter.id)
    assert letter.status == LetterStatus.SENT and letter.attempts == 1 and letter.sent_at
    copy = sent_copy(letter)
    assert copy.account_id == account.id and copy.name.endswith(".eml")
    assert b"Your new card is ready." in bytes(copy.data)


@pytest.mark.parametrize(
    ("language", "greeting", "subject"),
    [
        ("fr", "Bonjour Anna Müller,", "Votre compte de bibliothèque expire le 2030-01-31"),
        ("de", "Guten Tag Anna Müller", "Ihr Bibliothekskonto läuft am 2030-01-31 ab"),
        ("it", "Buongiorno Anna Müller,", "Il suo conto della biblioteca scade il 2030-01-31"),
        ("es", "Dear Anna Müller,", "Your library account expires on 2030-01-31"),  # no Spanish
    ],
)
def test_a_letter_is_written_in_the_account_language_else_english(
    db, smtp: SmtpServer, language: str, greeting: str, subject: str
) -> None:
    account = patron()
    Account.update(comm_language=language, expiry_date=dt.date(2030, 1, 31)).where(
        Account.id == account.id
    ).execute()
    runtime.clock = lambda: dt.datetime(2030, 1, 20, 8, 0)
    report = queue_expiry_reminders(30)
    assert report.queued == 1
    send_pending()
    (got,) = smtp.received
    assert got.message["Subject"] == subject
    assert got.text.startswith(greeting)
    assert "2030-01-31" in got.text and "11" in got.text
    assert Letter.get().language == (language if language != "es" else "en")


def test_a_library_template_file_overrides_the_shipped_one(
    db, smtp: SmtpServer, tmp_path: Path
) -> None:
    folder = tmp_path / "letters" / "en"
    folder.mkdir(parents=True)
    (folder / "general.txt").write_text(
        "Subject: [Town library] $subject\n\nHello $name!\n$message\n", encoding="utf-8"
    )
    set_setting("letter_templates_dir", str(tmp_path / "letters"))
    account = patron()
    deliver(queue_general_message(account.id, "News", "We open on Sundays.", admin(db)).id)
    (got,) = smtp.received
    assert got.message["Subject"] == "[Town library] News"
    assert got.text.startswith("Hello Anna Müller!\nWe open on Sundays.")


def test_a_letter_by_post_goes_to_the_library_email_with_the_postal_address(
    db, smtp: SmtpServer
) -> None:
    actor = admin(db)
    account = patron()
    add_email(account, "guardian@example.org", "cc", actor)
    Address.create(person=account.person, address_type="home", line1="Rue du Lac 4",
                   postal_code="1003", city="Lausanne", country="CH", preferred=True)  # fmt: skip
    Account.update(comm_channel=Channel.MAIL.value).where(Account.id == account.id).execute()
    with pytest.raises(LetterRefused, match="no library has an email"):
        queue_general_message(account.id, "Notice", "Please call us.", actor)
    Library.update(email="print@example.org").execute()
    letter = queue_general_message(account.id, "Notice", "Please call us.", actor)
    assert letter.recipients == "print@example.org, cc:guardian@example.org"
    deliver(letter.id)
    got = smtp.received[-1]
    assert got.message["To"] == "print@example.org"
    assert got.message["Cc"] == "guardian@example.org"  # a CC still gets its copy
    assert got.text.startswith("[To be printed and posted to:]\nAnna Müller\nRue du Lac 4\n")
    assert "1003 Lausanne" in got.text


def test_the_personal_information_letter_carries_the_record_as_json_and_xml(
    db, smtp: SmtpServer
) -> None:
    account = patron(identifier="BC-1")
    letter = queue_personal_information(account.id, admin(db))
    assert deliver(letter.id)
    (got,) = smtp.received
    files = got.files
    (json_name,) = [n for n in files if n.endswith(".json")]
    (xml_name,) = [n for n in files if n.endswith(".xml")]
    record = json.loads(files[json_name])
    assert record["account"]["primary_id"] == "P100"
    assert record["person"]["last_name"] == "Müller"
    assert [e["address"] for e in record["emails"]] == ["anna@example.org"]
    assert {i["value"] for i in record["identifiers"]} == {"P100", "BC-1"}
    assert "password_hash" not in record["person"] and "pin_hash" not in record["account"]
    root = ET.fromstring(files[xml_name])
    assert root.tag == "user_record"
    assert root.findtext("account/primary_id") == "P100"
    assert root.findtext("emails/email/address") == "anna@example.org"
    # The files stay on the Attachments tab with the letter sent.
    names = {a.name for a in Attachment.select().where(Attachment.account == account.id)}
    assert {json_name, xml_name} <= names and any(n.endswith(".eml") for n in names)


def test_a_refused_delivery_stays_in_the_outbox_and_the_retry_sends_it(
    db, smtp: SmtpServer
) -> None:
    actor = admin(db)
    account = patron()
    smtp.handler.refuse = 1
    letter = queue_general_message(account.id, "Hello", "Text.", actor)
    assert not deliver(letter.id)
    letter = Letter.get_by_id(letter.id)
    assert letter.status == LetterStatus.FAILED and letter.attempts == 1
    assert "451" in letter.error and "try again later" in letter.error
    assert [line.letter_id for line in outbox(actor)] == [letter.id]
    assert not smtp.received

    report = send_pending()
    assert (report.sent, report.failed) == (1, 0)
    letter = Letter.get_by_id(letter.id)
    assert letter.status == LetterStatus.SENT and letter.attempts == 2 and letter.error == ""
    assert len(smtp.received) == 1
    assert outbox(actor) == []
    assert send_pending().sent == 0, "a sent letter is not sent again"


def test_an_unreachable_server_is_said_in_words_and_the_letter_waits(db, smtp) -> None:
    set_setting("smtp_port", 1)  # nothing listens there
    letter = queue_general_message(patron().id, "Hello", "Text.", admin(db))
    report = send_pending()
    assert (report.sent, report.failed) == (0, 1)
    assert "cannot reach the SMTP server 127.0.0.1:1" in Letter.get_by_id(letter.id).error


def test_without_smtp_settings_the_letter_waits_with_the_reason(db) -> None:
    letter = queue_general_message(patron().id, "Hello", "Text.", admin(db))
    assert not deliver(letter.id)
    assert "SMTP is not configured" in Letter.get_by_id(letter.id).error


def test_opting_out_stops_optional_letters_but_not_service_letters(db, smtp) -> None:
    actor = admin(db)
    account = patron(expiry_days=10)
    Account.update(letters_opt_in=False).where(Account.id == account.id).execute()
    with pytest.raises(LetterRefused, match="opted out"):
        queue_general_message(account.id, "News", "Text.", actor)
    report = queue_expiry_reminders(30)
    assert report.queued == 0 and report.skipped == [("P100", report.skipped[0][1])]
    assert "opted out" in report.skipped[0][1]
    queue_personal_information(account.id, actor)
    queue_deletion_notice(account.id, actor, ["a balance of EUR 12.50 is due"])
    assert send_pending().sent == 2


def test_the_expiry_reminder_goes_once_per_account_and_expiry_date(db, smtp) -> None:
    soon = patron("P1", expiry_days=5)
    patron("P2", expiry_days=60)  # not within 30 days
    inactive = patron("P3", expiry_days=5)
    Account.update(status="inactive").where(Account.id == inactive.id).execute()
    first = queue_expiry_reminders(30)
    assert first.queued == 1
    again = queue_expiry_reminders(30)
    assert (again.queued, again.already) == (0, 1)
    # Renewed, then close to the new date: reminded again.
    new_date = runtime.today() + dt.timedelta(days=20)
    Account.update(expiry_date=new_date).where(Account.id == soon.id).execute()
    assert queue_expiry_reminders(30).queued == 1
    assert send_pending().sent == 2
    assert {r.recipients[0] for r in smtp.received} == {"p1@example.org"}


def test_staff_remind_their_own_organization_and_the_system_every_one(db) -> None:
    from tests.domain.test_accounts import second_organization

    ours = patron("P1", expiry_days=5)
    _org2, admin2 = second_organization()
    theirs = Account.get_by_id(admin2.id)
    Account.update(expiry_date=runtime.today() + dt.timedelta(days=5)).where(
        Account.id == theirs.id
    ).execute()
    assert queue_expiry_reminders(30, Actor(admin2, Source.SCREEN)).queued == 1
    assert [x.account_id for x in Letter.select()] == [theirs.id]
    assert queue_expiry_reminders(30, admin(db)).queued == 1
    assert {x.account_id for x in Letter.select()} == {theirs.id, ours.id}
    assert queue_expiry_reminders(30).already == 2  # the system: both organizations


def test_a_sent_letter_is_resent_to_todays_addresses_with_its_files(db, smtp) -> None:
    actor = admin(db)
    account = patron()
    original = queue_personal_information(account.id, actor)
    deliver(original.id)
    add_email(account, "mum@example.org", "cc", actor)
    copy = sent_copy(original)
    again = resend_letter(letter_of_attachment(copy.id, actor), actor)
    assert again.resend_of_id == original.id
    deliver(again.id)
    first, second = smtp.received
    assert second.message["Subject"] == first.message["Subject"]
    assert second.files.keys() == first.files.keys()
    assert second.message["Cc"] == "mum@example.org"
    assert [line.letter_id for line in letters_of(account.id, actor)] == [again.id, original.id]
    with pytest.raises(LetterRefused, match="not a letter"):
        Attachment.create(account=account, name="scan.pdf", data=b"%PDF")
        letter_of_attachment(Attachment.get(Attachment.name == "scan.pdf").id, actor)


def test_the_deletion_notice_lists_what_keeps_the_account_open(db, smtp) -> None:
    account = patron()
    fee_type = FeeType.select().first()
    Fee.create(account=account, fee_type=fee_type, original_minor=1250, balance_minor=1250)
    letter = queue_deletion_notice(account.id, admin(db))
    deliver(letter.id)
    (got,) = smtp.received
    assert "P100" in got.message["Subject"]
    assert "- a balance of" in got.text and "12.50" in got.text


def test_staff_without_the_right_cannot_write_letters_nor_see_the_outbox(db, smtp) -> None:
    account = patron()
    viewer = add_user("Vic", "Viewer", "S1", record_type="staff", group="STAFF")
    RoleAssignment.create(account=viewer, role=Role.FULFILLMENT_SERVICES_OPERATOR.value)
    desk = add_user("Dee", "Desk", "S2", record_type="staff", group="STAFF")
    RoleAssignment.create(account=desk, role=Role.CIRCULATION_DESK_OPERATOR.value)
    with pytest.raises(PermissionDenied):
        queue_general_message(account.id, "Hi", "Text.", Actor(viewer, Source.SCREEN))
    letter = queue_general_message(account.id, "Hi", "Text.", Actor(desk, Source.SCREEN))
    with pytest.raises(PermissionDenied):
        outbox(Actor(desk, Source.SCREEN))
    with pytest.raises(PermissionDenied):
        retry_letter(letter.id, Actor(desk, Source.SCREEN))
    assert [line.letter_id for line in outbox(admin(db))] == [letter.id]


def test_a_message_needs_a_subject_and_a_text(db) -> None:
    with pytest.raises(ValidationError) as caught:
        queue_general_message(patron().id, " ", "", admin(db))
    assert caught.value.errors == {"subject": "is required", "message": "is required"}


def test_a_letter_is_audited_on_the_users_history(db, smtp) -> None:
    from models.users.history import history

    account = patron()
    deliver(queue_general_message(account.id, "Hi", "Text.", admin(db)).id)
    rows = history(account.id, admin(db), "all")
    letters = [r for r in rows if r.entity == "letter"]
    assert [r.new.split(" ")[0] for r in letters] == ["sent", "General"]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_delivery_over_tls_with_a_login(db, monkeypatch, security) -> None:
    import ssl

    cert, _key = certificate()
    monkeypatch.setattr(mailer, "tls_context", lambda: ssl.create_default_context(cafile=cert))
    controller, server = start(security=security, login=True, certificate=certificate())
    try:
        server.configure()
        letter = queue_general_message(patron().id, "Secure", "Over TLS.", admin(db))
        assert deliver(letter.id), Letter.get_by_id(letter.id).error
        assert len(server.received) == 1
        set_setting("smtp_password", "wrong")
        letter = queue_general_message(Account.get(Account.primary_id == "P100").id,
                                       "Again", "Text.", admin(db))  # fmt: skip
        assert not deliver(letter.id)
        assert "refused the login" in Letter.get_by_id(letter.id).error
    finally:
        controller.stop()


def test_a_user_without_any_email_gets_letters_through_the_library(db, smtp) -> None:
    """Even when the channel still says email: with no address, the post is the way."""
    from models.store.tables import Email, Person

    Library.update(email="print@example.org").execute()
    account = patron("P200")
    Email.delete().execute()
    Person.update(email=None, email_key=None).where(Person.id == account.person_id).execute()
    assert Account.get_by_id(account.id).comm_channel == Channel.EMAIL
    deliver(queue_general_message(account.id, "Hi", "Text.", admin(db)).id)
    assert smtp.received[0].recipients == ["print@example.org"]
