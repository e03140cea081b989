"""Forgotten password (issue 9): a one-time code by email, end to end against a real SMTP
server on loopback: delivery, reset, expiry, reuse, tries, and the same answer for everyone."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest

from models.access.auth import login
from models.access.password_reset import (
    CODE_TRIES,
    CODES_PER_HOUR,
    request_reset_code,
    reset_password_with_code,
)
from models.enums import LetterKind, LetterStatus
from models.errors import AuthenticationError, ValidationError
from models.runtime import runtime
from models.store.tables import Attachment, AuditEvent, Email, Letter, Person, ResetCode
from tests.helpers.smtp import SmtpServer, serve
from tests.helpers.ui import add_user

NEW = "Fresh-Start-2026"
START = dt.datetime(2026, 3, 2, 10, 0)


@pytest.fixture
def smtp(db) -> Iterator[SmtpServer]:  # noqa: ANN001
    """A plain SMTP server on loopback, and the settings pointing at it."""
    with serve() as server:
        yield server


@pytest.fixture
def clock():
    """A clock the test moves by hand."""
    now = [START]
    runtime.clock = lambda: now[0]
    return now


def code_in(smtp: SmtpServer) -> str:
    return re.search(r"^\s+(\d{8})\s*$", smtp.received[-1].text, re.M).group(1)


def test_a_code_arrives_by_email_and_resets_the_password(db, smtp, clock) -> None:
    account = add_user("Anna", "Müller", "P100", email="anna@example.org")
    for _ in range(5):  # locked out first: the reset clears it
        with pytest.raises(AuthenticationError):
            login("P100", "Wrong-Pass-1")
    assert Person.get_by_id(account.person_id).locked_until is not None

    letter_id = request_reset_code("anna@example.org")
    (got,) = smtp.received
    assert got.recipients == ["anna@example.org"]
    assert got.message["Subject"] == "Your password reset code"
    code = code_in(smtp)

    reset_password_with_code("P100", code, NEW, NEW)
    person = Person.get_by_id(account.person_id)
    assert person.locked_until is None and person.failed_logins == 0
    assert login("P100", NEW).id == account.id

    # The code is kept nowhere in the clear: the letter and its copy have it masked.
    letter = Letter.get_by_id(letter_id)
    assert letter.kind == LetterKind.PASSWORD_RESET and letter.status == LetterStatus.SENT
    assert code not in letter.body and "••••••••" in letter.body
    copy = Attachment.get(Attachment.letter == letter_id)
    assert code.encode() not in bytes(copy.data)
    assert (
        not AuditEvent.select()
        .where(AuditEvent.new_value.contains(code) | AuditEvent.old_value.contains(code))
        .exists()
    )
    assert ResetCode.get().code_hash.startswith("$argon2")


def test_a_used_code_cannot_be_used_again(db, smtp, clock) -> None:
    add_user("Anna", "Müller", "P100", email="anna@example.org")
    request_reset_code("P100")
    code = code_in(smtp)
    reset_password_with_code("P100", code, NEW)
    with pytest.raises(ValidationError) as caught:
        reset_password_with_code("P100", code, "Another-Pass-77")
    assert "code" in caught.value.errors


def test_a_code_expires_after_15_minutes(db, smtp, clock) -> None:
    add_user("Anna", "Müller", "P100", email="anna@example.org")
    request_reset_code("P100")
    code = code_in(smtp)
    clock[0] = START + dt.timedelta(minutes=15, seconds=1)
    with pytest.raises(ValidationError, match="wrong, used or expired"):
        reset_password_with_code("P100", code, NEW)


def test_a_few_wrong_tries_retire_the_code(db, smtp, clock) -> None:
    add_user("Anna", "Müller", "P100", email="anna@example.org")
    request_reset_code("P100")
    code = code_in(smtp)
    wrong = "00000000" if code != "00000000" else "11111111"
    for _ in range(CODE_TRIES):
        with pytest.raises(ValidationError):
            reset_password_with_code("P100", wrong, NEW)
    with pytest.raises(ValidationError, match="wrong, used or expired"):
        reset_password_with_code("P100", code, NEW)


def test_a_weak_password_is_refused_without_spending_a_try(db, smtp, clock) -> None:
    add_user("Anna", "Müller", "P100", email="anna@example.org")
    request_reset_code("P100")
    code = code_in(smtp)
    with pytest.raises(ValidationError) as caught:
        reset_password_with_code("P100", code, "short")
    assert "at least 8 characters" in caught.value.errors["password"]
    with pytest.raises(ValidationError) as caught:
        reset_password_with_code("P100", code, NEW, "Fresh-Start-2027")
    assert caught.value.errors == {"password_confirm": "does not match the password"}
    assert ResetCode.get().attempts == 0
    reset_password_with_code("P100", code, NEW, NEW)


def test_a_new_code_retires_the_previous_one(db, smtp, clock) -> None:
    add_user("Anna", "Müller", "P100", email="anna@example.org")
    request_reset_code("P100")
    first = code_in(smtp)
    request_reset_code("P100")
    second = code_in(smtp)
    if first != second:
        with pytest.raises(ValidationError):
            reset_password_with_code("P100", first, NEW)
    reset_password_with_code("P100", second, NEW)


def test_unknown_logins_and_users_without_email_get_no_code_and_the_same_answer(
    db, smtp, clock
) -> None:
    account = add_user("Anna", "Müller", "P100", email="anna@example.org")
    assert request_reset_code("nobody@example.org") is None
    Email.delete().execute()
    Person.update(email=None, email_key=None).where(Person.id == account.person_id).execute()
    assert request_reset_code("P100") is None
    assert smtp.received == [] and not ResetCode.select().exists()
    with pytest.raises(ValidationError) as unknown:
        reset_password_with_code("nobody", "12345678", NEW)
    with pytest.raises(ValidationError) as known:
        reset_password_with_code("P100", "12345678", NEW)
    assert unknown.value.errors == known.value.errors


def test_codes_are_limited_per_hour(db, smtp, clock) -> None:
    add_user("Anna", "Müller", "P100", email="anna@example.org")
    for _ in range(CODES_PER_HOUR):
        assert request_reset_code("P100") is not None
    assert request_reset_code("P100") is None
    clock[0] = START + dt.timedelta(hours=1, minutes=1)
    assert request_reset_code("P100") is not None
    assert len(smtp.received) == CODES_PER_HOUR + 1


def test_a_reset_letter_that_failed_is_not_retried(db, smtp, clock) -> None:
    from models.mail.mailer import send_pending

    add_user("Anna", "Müller", "P100", email="anna@example.org")
    smtp.handler.refuse = 1
    letter_id = request_reset_code("P100")
    letter = Letter.get_by_id(letter_id)
    assert letter.status == LetterStatus.FAILED and "asks for a new code" in letter.error
    assert send_pending().sent == 0 and smtp.received == []


def test_the_code_goes_only_to_the_persons_own_email(db, smtp, clock) -> None:
    from models.audit import Actor
    from models.enums import Source
    from models.store.tables import Account
    from models.users.rows import Kind, add_row

    account = add_user("Anna", "Müller", "P100", email="anna@example.org")
    cc = {"address": "mum@example.org", "email_type": "cc"}
    add_row(Kind.EMAIL, account.id, account.version, cc, Actor(None, Source.CLI))
    Account.update(additional_email="copy@example.org").where(Account.id == account.id).execute()
    request_reset_code("P100")
    assert smtp.received[0].recipients == ["anna@example.org"]


def test_a_try_is_counted_before_the_code_is_checked(db, smtp, clock, monkeypatch) -> None:
    """Found by an attack (2026-12-08): a try was counted after argon2 had checked the code,
    so guesses sent in parallel were all checked (12 at once: 11 wrong, then the right one
    accepted). It is taken first, in one statement that takes it only while tries are left,
    as a login counts its attempt."""
    from models.access import password_reset

    add_user("Anna", "Müller", "P100", email="anna@example.org")
    request_reset_code("P100")
    code = code_in(smtp)
    wrong = "00000000" if code != "00000000" else "11111111"
    real = password_reset.verify_secret
    seen = []

    def verify(stored, typed, settings):  # noqa: ANN001, ANN202
        if stored == ResetCode.get().code_hash:  # the code's own check (not the dummy's)
            seen.append(ResetCode.get().attempts)
        return real(stored, typed, settings)

    monkeypatch.setattr(password_reset, "verify_secret", verify)
    with pytest.raises(ValidationError):
        reset_password_with_code("P100", wrong, NEW)
    assert seen == [1], "the try was taken before the check"
    # Guesses in parallel: the others took the last tries between this one's reading of the
    # code and its taking a try: none is left for it, and the code is not checked.
    real_update = ResetCode.update

    def update(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        real_update(attempts=CODE_TRIES).execute()  # the others, meanwhile
        return real_update(*args, **kwargs)

    seen.clear()
    monkeypatch.setattr(ResetCode, "update", update)
    with pytest.raises(ValidationError, match="wrong, used or expired"):
        reset_password_with_code("P100", code, NEW)
    assert seen == [] and ResetCode.get().attempts == CODE_TRIES


def test_an_empty_code_costs_a_check_too(db, smtp, clock, monkeypatch) -> None:
    """Found by a review (2026-12-08): an empty code was refused at once for a login with a
    live code, while any other answer cost an argon2 check: the time told which logins have
    a pending code. It costs the same check (and a try), and is refused."""
    from models.access import password_reset

    add_user("Anna", "Müller", "P100", email="anna@example.org")
    request_reset_code("P100")
    checks = []
    real = password_reset.verify_secret
    monkeypatch.setattr(password_reset, "verify_secret", lambda *a: checks.append(1) or real(*a))
    with pytest.raises(ValidationError, match="wrong, used or expired"):
        reset_password_with_code("P100", "", NEW)
    assert checks == [1]
