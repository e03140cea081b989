"""Forgotten password (domain.md section 3; issue 9): a one-time code by email, then a new
password.

- The code is 8 random digits (`secrets`), stored only as an argon2 hash, valid
  `CODE_MINUTES` minutes, for one use and `CODE_TRIES` wrong tries; asking for a new code
  retires the previous one. At most `CODES_PER_HOUR` codes an hour per person, so nobody can
  flood a mailbox.
- The answer to a request is the same whether or not the login exists and whether or not it
  has an email (`REQUEST_MESSAGE`, which tells people without email to ask the library), and
  the same work (a hash) is done in every case.
- The code goes only to the person's own email (`models.mail.letters.own_email`); the letter kept
  in the outbox and on the Attachments tab has the code masked.
- A right code with a new password that meets the policy sets it (through
  `models.access.auth.set_password`, the person as actor), clears the lockout and the forced change,
  and uses the code up.
"""

from __future__ import annotations

import datetime as dt
import secrets

from models import audit
from models.access.auth import _DUMMY_HASH, find_person, set_password
from models.access.passwords import hash_secret, password_problems, problems_message, verify_secret
from models.audit import Actor
from models.config.settings import Settings, load_settings
from models.enums import AuditAction, LetterKind, Source
from models.errors import ValidationError
from models.mail.letters import LetterRefused, own_email, queue_letter_masked
from models.runtime import runtime
from models.store.base import database
from models.store.tables import Account, Person, ResetCode

CODE_MINUTES = 15
CODE_TRIES = 5
CODES_PER_HOUR = 3
CODE_DIGITS = 8
MASK = "•" * CODE_DIGITS
REQUEST_MESSAGE = (
    f"If this account has an email address, a code is on its way to it; it is valid for "
    f"{CODE_MINUTES} minutes. No email address? Ask the library to reset your password."
)
WRONG_CODE = "is wrong, used or expired: check it, or ask for a new code"


def _account_of(person: Person) -> Account | None:
    return Account.select().where(Account.person == person).order_by(Account.id).first()


def request_reset_code(login: str, settings: Settings | None = None) -> int | None:
    """Ask for a code for `login` (username or email). Returns the id of the letter that
    carries it, or None when no code was sent (unknown login, no email, too many codes): the
    caller says `REQUEST_MESSAGE` either way. The letter is sent at once (the code is kept
    nowhere else); a screen calls this from a worker thread."""
    settings = settings or load_settings()
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    code_hash = hash_secret(code, settings)  # done for every login: the same time for all
    person = find_person(login)
    if person is None:
        return None
    account = _account_of(person)
    if account is None or not own_email(person):
        return None
    now = runtime.now()
    recent = (
        ResetCode.select()
        .where((ResetCode.person == person) & (ResetCode.created_at > now - dt.timedelta(hours=1)))
        .count()
    )
    if recent >= CODES_PER_HOUR:
        return None
    actor = Actor(account, Source.SCREEN)
    with database.atomic():
        ResetCode.update(expires_at=now).where(
            (ResetCode.person == person)
            & ResetCode.used_at.is_null()
            & (ResetCode.expires_at > now)
        ).execute()
        ResetCode.create(
            person=person,
            code_hash=code_hash,
            created_at=now,
            expires_at=now + dt.timedelta(minutes=CODE_MINUTES),
        )
        try:
            letter, body = queue_letter_masked(
                account,
                LetterKind.PASSWORD_RESET,
                {"code": code, "minutes": str(CODE_MINUTES)},
                actor,
                settings=settings,
                mask={"code": MASK},
            )
        except LetterRefused:
            return None
        audit.record(
            actor,
            AuditAction.UPDATE,
            entity="person",
            entity_id=person.id,
            account_id=account.id,
            person_id=person.id,
            field="password_reset",
            new="code requested",
        )
    from models.mail.mailer import deliver

    deliver(letter.id, body=body, settings=settings, actor=actor)
    return letter.id


def reset_password_with_code(
    login: str,
    code: str,
    new_password: str,
    confirm: str | None = None,
    settings: Settings | None = None,
) -> None:
    """Set a new password with the code received by email. Field problems raise
    `ValidationError` keyed `password`, `password_confirm` or `code`; a wrong code counts a
    try (the code is retired after `CODE_TRIES`), and says the same whether or not the login
    exists."""
    settings = settings or load_settings()
    if problems := password_problems(new_password, settings):
        raise ValidationError({"password": problems_message(problems)})
    if confirm is not None and confirm != new_password:
        raise ValidationError({"password_confirm": "does not match the password"})
    code = "".join((code or "").split())
    person = find_person(login)
    now = runtime.now()
    row = None
    if person is not None:
        row = (
            ResetCode.select()
            .where(
                (ResetCode.person == person)
                & ResetCode.used_at.is_null()
                & (ResetCode.expires_at > now)
                & (ResetCode.attempts < CODE_TRIES)
            )
            .order_by(ResetCode.id.desc())
            .first()
        )
    # The try is counted before the code is checked, in one statement that takes it only
    # while tries are left (as a login counts its attempt first): guesses sent in parallel
    # each take one, and the sixth finds none left (12 at once were all checked before).
    counted = (
        row is not None
        and ResetCode.update(attempts=ResetCode.attempts + 1)
        .where((ResetCode.id == row.id) & (ResetCode.attempts < CODE_TRIES))
        .execute()
    )
    if not counted:
        verify_secret(_DUMMY_HASH.get(settings), code, settings)  # the same time as a check
        raise ValidationError({"code": WRONG_CODE})
    # Checked even when empty: an empty code answered at once for a login with a live code,
    # and the time told which logins have one.
    if not verify_secret(row.code_hash, code, settings) or not code:
        raise ValidationError({"code": WRONG_CODE})
    account = _account_of(person)
    with database.atomic():
        used = (
            ResetCode.update(used_at=now)
            .where((ResetCode.id == row.id) & ResetCode.used_at.is_null())
            .execute()
        )
        if not used:  # the same code used at the same moment elsewhere
            raise ValidationError({"code": WRONG_CODE})
        set_password(person.id, new_password, Actor(account, Source.SCREEN), settings=settings)
