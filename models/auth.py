"""Logging in, passwords and lockout (domain.md section 3)."""

from __future__ import annotations

import datetime as dt
import math

from models import audit
from models.audit import Actor
from models.base import database, fold_key
from models.enums import AuditAction, Source, Status
from models.errors import AuthenticationError, PermissionDenied, ValidationError
from models.passwords import (
    hash_secret,
    needs_rehash,
    password_problems,
    problems_message,
    verify_secret,
)
from models.permissions import Action, authorize, authorize_person
from models.runtime import runtime
from models.settings import Settings, load_settings
from models.tables import Account, Organization, Person

WRONG = "Wrong username or password."


def find_person(login: str) -> Person | None:
    """By username or login email, case-insensitive."""
    key = fold_key(login)
    if not key:
        return None
    return Person.get_or_none(Person.username_key == key) or Person.get_or_none(
        Person.email_key == key
    )


def _minutes_left(until: dt.datetime, now: dt.datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds() / 60))


def _usable_account(person: Person, organization: Organization | None, today: dt.date) -> Account:
    accounts = list(
        Account.select().where(Account.person == person).order_by(Account.id)
        if organization is None
        else Account.select().where(
            (Account.person == person) & (Account.organization == organization)
        )
    )
    if not accounts:
        raise AuthenticationError("no_account", "This person has no account here.")
    for account in accounts:
        if account.status == Status.ACTIVE and (
            account.expiry_date is None or account.expiry_date >= today
        ):
            return account
    if any(a.status != Status.ACTIVE for a in accounts):
        raise AuthenticationError("inactive", "This account is inactive: ask the library.")
    raise AuthenticationError("expired", "This account has expired: ask the library to renew it.")


def login(
    login_name: str,
    password: str,
    organization: Organization | None = None,
    settings: Settings | None = None,
    source: Source = Source.SCREEN,
) -> Account:
    """Check the credentials and return the account to work as.

    Failures count; `lockout_attempts` in a row lock the login for `lockout_minutes`. A correct
    password on an inactive or expired account is refused with that reason (the profile stays).
    Every success, failure and lockout is audited; the password never is.
    """
    settings = settings or load_settings()
    now = runtime.now()
    person = find_person(login_name)
    if person is None:
        # Spend the same time as a real check so that timing does not reveal who exists.
        verify_secret(_DUMMY_HASH.get(settings), password, settings)
        raise AuthenticationError("credentials", WRONG)
    system = Actor(None, source)
    ids = {"account_id": None, "person_id": person.id}
    if person.locked_until and person.locked_until > now:
        left = _minutes_left(person.locked_until, now)
        raise AuthenticationError(
            "locked",
            f"Too many failed attempts: this login is locked for {left} more minute(s).",
            minutes_left=left,
        )
    if not verify_secret(person.password_hash, password, settings):
        with database.atomic():
            person = Person.get_by_id(person.id)
            failures = person.failed_logins + 1
            locked = failures >= settings.lockout_attempts
            Person.update(
                failed_logins=0 if locked else failures,
                locked_until=now + dt.timedelta(minutes=settings.lockout_minutes)
                if locked
                else person.locked_until,
            ).where(Person.id == person.id).execute()
            audit.record(
                system,
                AuditAction.LOGIN_FAILURE,
                entity="person",
                entity_id=person.id,
                field="login",
                new=f"failure {failures}",
                **ids,
            )
            if locked:
                audit.record(
                    system,
                    AuditAction.LOCKOUT,
                    entity="person",
                    entity_id=person.id,
                    field="locked_until",
                    new=(now + dt.timedelta(minutes=settings.lockout_minutes)).isoformat(),
                    **ids,
                )
        if locked:
            raise AuthenticationError(
                "locked",
                f"Too many failed attempts: this login is locked for "
                f"{settings.lockout_minutes} minutes.",
                minutes_left=settings.lockout_minutes,
            )
        raise AuthenticationError("credentials", WRONG)

    account = _usable_account(person, organization, now.date())
    new_hash = (
        hash_secret(password, settings) if needs_rehash(person.password_hash, settings) else None
    )
    with database.atomic():
        changes = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
        if new_hash:
            changes["password_hash"] = new_hash
        Person.update(**changes).where(Person.id == person.id).execute()
        Account.update(last_activity_at=now).where(Account.id == account.id).execute()
        audit.record(
            Actor(account, source),
            AuditAction.LOGIN_SUCCESS,
            entity="person",
            entity_id=person.id,
            account_id=account.id,
            person_id=person.id,
            field="login",
            new="success",
        )
    return Account.get_by_id(account.id)


class _DummyHash:
    """A hash of nothing, made once per parameter set, for timing-safe unknown-user checks."""

    def __init__(self) -> None:
        self._cache: dict[tuple, str] = {}

    def get(self, settings: Settings) -> str:
        from models.passwords import hasher

        h = hasher(settings)
        key = (h.time_cost, h.memory_cost, h.parallelism)
        if key not in self._cache:
            self._cache[key] = h.hash("not a password")
        return self._cache[key]


_DUMMY_HASH = _DummyHash()


def _account_in_reach(person: Person, actor: Actor) -> Account | None:
    """The person's account in the acting staff user's organization (None for the system)."""
    if actor.account is None:
        return None
    account = (
        Account.select()
        .where((Account.person == person) & (Account.organization == actor.account.organization_id))
        .first()
    )
    if account is None:
        raise PermissionDenied("view_user", "This person has no account in your organization.")
    return account


def set_password(
    person_id: int,
    new_password: str,
    actor: Actor,
    *,
    force_change: bool = False,
    confirm: str | None = None,
    settings: Settings | None = None,
) -> None:
    """Set a person's password (self-service or staff reset); clears any lockout."""
    settings = settings or load_settings()
    if problems := password_problems(new_password, settings):
        raise ValidationError({"password": problems_message(problems)})
    if confirm is not None and confirm != new_password:
        raise ValidationError({"password_confirm": "does not match the password"})
    person = Person.get_by_id(person_id)
    own = actor.account is not None and actor.account.person_id == person.id
    if own:
        account_id = actor.account_id
    else:
        in_reach = _account_in_reach(person, actor)
        authorize(actor.account, Action.RESET_PASSWORD, in_reach)
        authorize_person(actor.account, person, Action.RESET_PASSWORD)
        # The account in the staff user's organization: its History shows the reset.
        account_id = in_reach.id if in_reach is not None else None
    new_hash = hash_secret(new_password, settings)
    with database.atomic():
        Person.update(
            password_hash=new_hash,
            force_password_change=force_change,
            failed_logins=0,
            locked_until=None,
            updated_at=runtime.now(),
            version=Person.version + 1,
        ).where(Person.id == person.id).execute()
        audit.record(
            actor,
            AuditAction.UPDATE,
            entity="person",
            entity_id=person.id,
            person_id=person.id,
            account_id=account_id,
            field="password_hash",
            old="(set)",
            new="(changed)",
        )


def unlock(person_id: int, actor: Actor) -> None:
    """An administrator lifts a lockout."""
    person = Person.get_by_id(person_id)
    in_reach = _account_in_reach(person, actor)
    authorize(actor.account, Action.UNLOCK_LOGIN, in_reach)
    authorize_person(actor.account, person, Action.UNLOCK_LOGIN)
    with database.atomic():
        Person.update(failed_logins=0, locked_until=None).where(Person.id == person.id).execute()
        audit.record(
            actor,
            AuditAction.UPDATE,
            entity="person",
            entity_id=person.id,
            person_id=person.id,
            account_id=in_reach.id if in_reach is not None else None,
            field="locked_until",
            old=person.locked_until.isoformat() if person.locked_until else None,
            new=None,
        )
