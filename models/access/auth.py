"""Logging in, passwords and lockout (domain.md section 3)."""

from __future__ import annotations

import datetime as dt

from models import audit
from models.access.passwords import (
    DUMMY_HASH,
    hash_secret,
    needs_rehash,
    password_problems,
    problems_message,
    verify_secret,
)
from models.access.permissions import Action, authorize, authorize_person
from models.audit import Actor
from models.config.settings import Settings, load_settings
from models.enums import AuditAction, Source, Status
from models.errors import AuthenticationError, PermissionDenied, ValidationError
from models.runtime import runtime
from models.store.base import database, fold_key
from models.store.tables import Account, Organization, Person

WRONG = "Wrong username or password."


class ChooseOrganization(AuthenticationError):
    """The password was right and the person has a usable account in more than one
    organization: the login asks which one (`organizations`: (id, name) pairs) and is tried
    again with it. The service never chooses for the person."""

    def __init__(self, organizations: list[tuple[int, str]]) -> None:
        super().__init__(
            "choose_organization",
            "You have accounts in several organizations: choose the one to work in.",
        )
        self.organizations = organizations


def refused_message(settings: Settings) -> str:
    """The one answer to every refused login: unknown name, wrong password, or locked. It tells
    a locked-out librarian what may have happened, and an attacker nothing about who exists."""
    return (
        f"{WRONG} After {settings.lockout_attempts} failed attempts in a row a login is locked "
        f"for {settings.lockout_minutes} minutes (an administrator can unlock it)."
    )


def find_person(login: str) -> Person | None:
    """By username or login email, case-insensitive. A login name names one person (the
    checks refuse a username that is another's login email, and the reverse); one that two
    people hold (an older database) finds nobody: it logs neither in, and a forgotten
    password by it mails no code."""
    key = fold_key(login)
    if not key:
        return None
    by_name = Person.get_or_none(Person.username_key == key)
    by_mail = Person.get_or_none(Person.email_key == key)
    if by_name is not None and by_mail is not None and by_name.id != by_mail.id:
        return None
    return by_name or by_mail


def _usable(account: Account, today: dt.date) -> bool:
    return account.status == Status.ACTIVE and (
        account.expiry_date is None or account.expiry_date >= today
    )


def _usable_account(
    person: Person, organization: Organization | int | None, today: dt.date
) -> Account:
    """The account to work as. With no organization given, the person's only usable account;
    with several, `ChooseOrganization` (never "the first one")."""
    query = Account.select().where(Account.person == person)
    if organization is not None:
        query = query.where(Account.organization == organization)
    accounts = list(query.order_by(Account.id))
    if not accounts:
        raise AuthenticationError("no_account", "This person has no account here.")
    usable = [a for a in accounts if _usable(a, today)]
    if len(usable) == 1:
        return usable[0]
    if usable:
        names = dict(
            Organization.select(Organization.id, Organization.name)
            .where(Organization.id.in_([a.organization_id for a in usable]))
            .tuples()
        )
        raise ChooseOrganization(sorted(names.items(), key=lambda item: (item[1], item[0])))
    if any(a.status != Status.ACTIVE for a in accounts):
        raise AuthenticationError("inactive", "This account is inactive: ask the library.")
    raise AuthenticationError("expired", "This account has expired: ask the library to renew it.")


def _count_attempt(person_id: int, now: dt.datetime) -> int | None:
    """Count one attempt against the person's login, atomically, before any password is
    checked: the attempt's number since the last success (None: the login is locked). Parallel
    attempts each get their own number, so no more than `lockout_attempts` of them ever reach
    argon2."""
    with database.atomic():  # SQLite: BEGIN IMMEDIATE; PostgreSQL: the UPDATE locks the row
        counted = (
            Person.update(failed_logins=Person.failed_logins + 1)
            .where(
                (Person.id == person_id)
                & (Person.locked_until.is_null() | (Person.locked_until <= now))
            )
            .execute()
        )
        if not counted:
            return None
        return Person.select(Person.failed_logins).where(Person.id == person_id).scalar()


def _lock(person: Person, now: dt.datetime, settings: Settings, source: Source) -> None:
    """Lock the login (unless it is locked already: a lock is never extended) and start the
    count again for when it ends."""
    until = now + dt.timedelta(minutes=settings.lockout_minutes)
    with database.atomic():
        locked = (
            Person.update(failed_logins=0, locked_until=until)
            .where(
                (Person.id == person.id)
                & (Person.locked_until.is_null() | (Person.locked_until <= now))
            )
            .execute()
        )
        if locked:
            audit.record(
                Actor(None, source),
                AuditAction.LOCKOUT,
                entity="person",
                entity_id=person.id,
                person_id=person.id,
                account_id=None,
                field="locked_until",
                new=until.isoformat(),
            )


def login(
    login_name: str,
    password: str,
    organization: Organization | int | None = None,
    settings: Settings | None = None,
    source: Source = Source.SCREEN,
) -> Account:
    """Check the credentials and return the account to work as (in `organization`, an
    organization or its id, when the person chose one).

    Every attempt on a known login is counted first, atomically; `lockout_attempts` failures
    in a row lock the login for `lockout_minutes`, and an attempt over the limit is refused
    before its password is looked at. An unknown login, a wrong password and a locked login get
    the same answer (`refused_message`) after the same work (one argon2 check). Only after the
    right password: an inactive or expired account is told so, and a person with accounts in
    several organizations is asked which (`ChooseOrganization`). Every success, failure and
    lockout is audited; the password never is.
    """
    settings = settings or load_settings()
    now = runtime.now()
    refused = AuthenticationError("credentials", refused_message(settings))
    person = find_person(login_name)
    if person is None:
        verify_secret(None, password, settings)  # the same argon2 work as a real check
        raise refused
    attempt = _count_attempt(person.id, now)
    if attempt is None or attempt > settings.lockout_attempts:
        verify_secret(None, password, settings)
        if attempt is not None:  # over the limit before the lock was set (parallel attempts)
            _lock(person, now, settings, source)
        raise refused
    if not verify_secret(person.password_hash, password, settings):
        audit.record(
            Actor(None, source),
            AuditAction.LOGIN_FAILURE,
            entity="person",
            entity_id=person.id,
            field="login",
            new=f"failure {attempt}",
            person_id=person.id,
            account_id=None,
        )
        if attempt >= settings.lockout_attempts:
            _lock(person, now, settings, source)
        raise refused

    # The right password: the failures in a row end here, whatever comes next.
    Person.update(failed_logins=0, locked_until=None).where(Person.id == person.id).execute()
    account = _usable_account(person, organization, now.date())
    new_hash = (
        hash_secret(password, settings) if needs_rehash(person.password_hash, settings) else None
    )
    with database.atomic():
        changes = {"last_login_at": now}
        if new_hash:
            changes["password_hash"] = new_hash
        Person.update(**changes).where(Person.id == person.id).execute()
        if settings.record_last_activity:  # Alma's "Record Last Patron Activity Date"
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


# The dummy hash lives with the hashing (models.access.passwords); the reset codes use it too.
_DUMMY_HASH = DUMMY_HASH


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
    record_force: bool = False,
) -> None:
    """Set a person's password (self-service or staff reset); clears any lockout. With
    `record_force` (a password staff chose, Set password…), History also says whether the user
    must change it, when that changes."""
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

        def changed(field: str, old: str, new: str) -> None:
            audit.record(actor, AuditAction.UPDATE, entity="person", entity_id=person.id,
                         person_id=person.id, account_id=account_id, field=field, old=old,
                         new=new)  # fmt: skip

        changed("password_hash", "(set)", "(changed)")
        if record_force and bool(person.force_password_change) != bool(force_change):
            # History says whether the user must choose their own at the next login (as
            # History shows flags).
            changed(
                "force_password_change",
                "yes" if person.force_password_change else "no",
                "yes" if force_change else "no",
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
