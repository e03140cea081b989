"""User Details (issue 5): the General tab and the header actions, as services.

Each service authorizes through `models.access.permissions`, runs in one transaction with its audit
events (every event carries the account id and the person id, so the account's History finds
it) and raises typed errors: `ValidationError` naming fields, `ConflictError` naming who saved
the record since it was read, `NotFound`, `PermissionDenied`.

Optimistic locking: every save on a user record (General tab, each table row of the other tabs,
toggling the account type, "original value") carries the `Account.version` the screen read, and
bumps it. A change to the person's data (names, login, contact rows) also bumps `Person.version`
and the version of the person's accounts in other organizations, which show the same data. The
services return the new version (the account, or `Saved.version` in `models.users.rows`), which the
screen keeps for its next save.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from peewee import IntegrityError

from models import audit
from models.access.auth import set_password, unlock
from models.access.passwords import (
    generate_password,
    hash_secret,
    password_problems,
    problems_message,
)
from models.access.permissions import Action, authorize, authorize_person, can
from models.audit import Actor
from models.config.settings import Settings, load_settings
from models.enums import AccountType
from models.errors import (
    ConflictError,
    NotFound,
    PatronDeskError,
    PermissionDenied,
    UniquenessError,
    ValidationError,
)
from models.runtime import runtime
from models.store.base import database
from models.store.reading import read_once
from models.store.tables import (
    Account,
    Address,
    Block,
    Email,
    Identifier,
    LocalOverride,
    Note,
    Person,
    Phone,
    Statistic,
)
from models.text import printable
from models.users.accounts import save_versioned
from models.users.check import (
    EDIT,
    Context,
    Prepared,
    account_reading,
    check_record,
    check_values,
)
from models.users.derived import (
    group_months,
    person_derived,
    renewed_expiry,
    store_primary_id,
)
from models.users.external import (
    ACCOUNT_FIELDS,
    CODE_FIELDS,
    COLUMNS,
    EXTERNAL_FIXED,
    GENERAL_FIELDS,
    LIBRARY_FIELDS,
    PERSON_FIELDS,
    decode,
    drop_overrides,
    editable_fields,
    is_external,
    note_hand_change,
    overridden_fields,
    set_sis_choices,
    stored_value,
)
from models.users.fields import SHOWN_ON_GENERAL
from models.users.libraries import joined, store_libraries
from models.users.validation import check_pin

# Fields not on the General tab, with where they are changed instead.
ELSEWHERE = {
    "password": "is changed with Reset password",
    "account_type": "is changed with Toggle account type",
    "status": "is changed with Activate / Deactivate",
    "record_type": "cannot be changed here",
    "status_date": "is the date of the last status change (Activate / Deactivate)",
    "last_activity_at": "is kept by the user's own activity (a login), while tracked",
    "owning_system": "is the system an external account comes from (its loads set it)",
}
SIS_TEMP = "SIS_temp"  # Alma's owner mark for an account toggled to external: the next load


@dataclass(frozen=True)
class GeneralForm:
    """What the General tab shows. `values` is in `update_user`'s input format: giving them
    back unchanged changes nothing (dates as `date` or None, codes as their code or "", the PIN
    always "")."""

    account_id: int
    version: int
    values: dict[str, Any]
    editable: frozenset[str]
    overridden: frozenset[str]
    external: bool
    created_by: str
    created_at: dt.datetime
    updated_by: str
    updated_at: dt.datetime
    # Read only, as text to show (`fields.SHOWN_ON_GENERAL`): status date, last patron
    # activity, owning system; "" when the record has none.
    shown: dict[str, str] = dc_field(default_factory=dict)


def load_account(account_id: int) -> Account:
    account = read_once(
        ("account", account_id), lambda: Account.get_or_none(Account.id == account_id)
    )
    if account is None:
        raise NotFound("This user no longer exists: another staff user may have deleted it.")
    return account


def ids_of(account: Account) -> dict[str, int]:
    """The audit keys of an account: its History finds events by them."""
    return {"account_id": account.id, "person_id": account.person_id}


def touch(
    account: Account,
    expected_version: int,
    actor: Actor,
    changes: dict | None = None,
    *,
    person_changes: dict | None = None,
) -> int:
    """Check that nobody saved the account since `expected_version` was read (else
    `ConflictError`), write `changes` and bump the version. `person_changes` (even empty) also
    writes the person and bumps its version and that of the person's other accounts, which show
    the same personal data. Returns the account's new version. Call inside a transaction."""
    save_versioned(account, expected_version, changes or {}, actor)
    if person_changes is not None:
        now = runtime.now()
        Person.update(**person_changes, version=Person.version + 1, updated_at=now).where(
            Person.id == account.person_id
        ).execute()
        Account.update(version=Account.version + 1, updated_by=actor.name, updated_at=now).where(
            (Account.person == account.person_id) & (Account.id != account.id)
        ).execute()
    return expected_version + 1


def check_version(account: Account, expected_version: int) -> None:
    """Refuse a stale version without writing anything."""
    if account.version != expected_version:
        raise ConflictError(account.updated_by, account.updated_at)


# --- General tab --------------------------------------------------------------------------------


def _form_value(field: str, account: Account, person: Person) -> Any:
    if field == "pin":
        return ""
    if field in CODE_FIELDS:
        row = getattr(account, field)
        return row.code if row is not None else ""
    value = stored_value(field, account, person)
    if field in LIBRARY_FIELDS:
        return joined(value)  # typed back as "A, B"
    if field == "email":
        return value or ""
    return value


def _shown_value(name: str, account: Account) -> str:
    value = getattr(account, name)
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    if isinstance(value, dt.date):
        return value.isoformat()
    return printable(value or "")  # an owning system came from a file


def general_form(account_id: int, actor: Actor, *, opened: bool = False) -> GeneralForm:
    account = load_account(account_id)
    authorize(actor.account, Action.VIEW_USER, account)
    person = account.person
    editable = (
        editable_fields(account, opened=opened)
        if can(actor.account, Action.EDIT_USER, account)
        else frozenset()
    )
    return GeneralForm(
        account_id=account.id,
        version=account.version,
        values={f: _form_value(f, account, person) for f in GENERAL_FIELDS},
        editable=editable,
        overridden=overridden_fields(account.id),
        external=is_external(account),
        created_by=account.created_by,
        created_at=account.created_at,
        updated_by=account.updated_by,
        updated_at=account.updated_at,
        shown={name: _shown_value(name, account) for name in SHOWN_ON_GENERAL},
    )


def open_for_update(account_id: int, actor: Actor) -> frozenset[str]:
    """ "Open for update" on an external account: checks the right to edit and returns every
    field that becomes editable. The screen then saves with `update_user(..., opened=True)`.
    Nothing is stored: the account stays external and the next SIS load still applies, except
    to the fields changed by hand (see `models.users.external`)."""
    account = load_account(account_id)
    authorize(actor.account, Action.EDIT_USER, account)
    return editable_fields(account, opened=True)


def _clean_general(
    changes: dict,
    account: Account,
    person: Person,
    actor: Actor,
    settings: Settings,
    pin_hash: str | None,
    prepared: Prepared | None = None,
    context: Context | None = None,
) -> dict[str, Any]:
    """Check every given field as creation does (`models.users.check_record`, mode EDIT);
    returns field -> value to store (code fields as their id). `prepared`: the values' own
    half of the check, done once for many accounts (`prepare_general`); `context`: the
    account's, when the caller made it (`GeneralChecks`)."""
    context = context or Context(
        settings,
        runtime.today(),
        actor,
        account.organization_id,
        account=account,
        person=person,
        pin_hash=pin_hash,
        stored=lambda field: stored_value(field, account, person),
    )
    checked = check_record(changes, context, EDIT, prepared)
    checked.raise_errors(actor)
    out = checked.values
    for field in CODE_FIELDS & out.keys():
        out[field] = out[field].id if out[field] is not None else None
    return out


def _account_fields_only(changes: dict[str, Any]) -> None:
    if bad := [f for f in changes if f not in ACCOUNT_FIELDS]:
        raise ValidationError({f: "is not an account field" for f in bad})


def prepare_general(
    changes: dict[str, Any], organization_id: int, actor: Actor, settings: Settings
) -> Prepared:
    """The half of `check_general` that depends on the values only (what each code names),
    done once for a bulk job's values; pass it to `check_general` for each member."""
    _account_fields_only(changes)
    context = Context(settings, runtime.today(), actor, organization_id)
    return check_values(changes, context)


class GeneralChecks:
    """`check_general` of many accounts of one organization by one actor, on one day, with
    the same settings (a bulk job's members: `models.jobs`): the values' own half once
    (`prepare_general`, or `prepared` given), the account's half once per distinct reading of
    an account (`check.edit_reading`: its record type, its code entries, what the rules
    compare of its stored dates), each account with that reading then given that answer. The
    same check as one user's, run fewer times; an account whose check reads more (a value
    checked for uniqueness) is checked alone."""

    KEPT = 10_000  # answers kept (a renewal's dates are the members' own)

    def __init__(
        self,
        organization_id: int,
        actor: Actor,
        settings: Settings,
        prepared: Prepared | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        self.actor, self.settings, self.today = actor, settings, runtime.today()
        if prepared is None:
            prepared = prepare_general(values or {}, organization_id, actor, settings)
        self.prepared = prepared
        self.answers: dict[tuple, dict[str, Any] | PatronDeskError] = {}
        self.fields_seen: set[tuple[str, ...]] = set()

    def check(self, changes: dict[str, Any], account: Account) -> dict[str, Any]:
        """`check_general(changes, account, ...)`: field -> value to store, or the
        `ValidationError` (`UniquenessError`) naming the fields."""
        names = tuple(changes)
        if names not in self.fields_seen:
            _account_fields_only(changes)
            self.fields_seen.add(names)
        stored = lambda field: stored_value(field, account, None)  # noqa: E731
        key = account_reading(changes, account, stored, account.organization_id)
        answer = self.answers.get(key) if key is not None else None
        if answer is None:
            context = self._context(account)
            try:
                answer = _clean_general(
                    changes, account, None, self.actor, self.settings, None, self.prepared,  # type: ignore[arg-type]
                    context,
                )  # fmt: skip
            except (ValidationError, UniquenessError) as exc:
                answer = exc
            if key is not None:
                if len(self.answers) >= self.KEPT:
                    self.answers.clear()
                self.answers[key] = answer
        if isinstance(answer, PatronDeskError):
            raise answer.with_traceback(None)
        return dict(answer)

    def _context(self, account: Account) -> Context:
        return Context(
            self.settings,
            self.today,
            self.actor,
            account.organization_id,
            account=account,
            stored=lambda field: stored_value(field, account, None),
        )


def check_general(
    changes: dict[str, Any],
    account: Account,
    actor: Actor,
    settings: Settings,
    prepared: Prepared | None = None,
) -> dict[str, Any]:
    """The check of `update_user` for account fields only (a bulk job's: `models.jobs`, which
    checks its members with `GeneralChecks`): field -> value to store (codes as their id);
    `ValidationError` naming the fields. Reads nothing of the person. `prepared`
    (`prepare_general` of the same values): the values' own half, done once for every
    member."""
    _account_fields_only(changes)
    checks = GeneralChecks(account.organization_id, actor, settings, prepared, changes)
    return checks.check(changes, account)


def _person_columns(values: dict[str, Any], person: Person) -> dict[str, Any]:
    """Person columns to write for changed General-tab fields, with the derived ones."""
    return {**values, **person_derived(values, person)}


def _account_columns(values: dict[str, Any]) -> dict[str, Any]:
    """Account columns to write for changed General-tab fields (the primary identifier apart:
    `store_primary_id`)."""
    return {COLUMNS.get(f, f): v for f, v in values.items() if f != "primary_id"}


def _write_general(
    account: Account, expected_version: int, changed: dict[str, Any], actor: Actor
) -> Account:
    """Write changed fields (field -> stored value) with their audit events. In a transaction."""
    person = account.person
    old = {f: stored_value(f, account, person) for f in changed}
    person_values = {f: v for f, v in changed.items() if f in PERSON_FIELDS}
    if changed.keys() & CREDENTIAL_FIELDS:
        authorize_person(actor.account, person.id, Action.EDIT_USER)
    account_values = {
        f: v for f, v in changed.items() if f in ACCOUNT_FIELDS and f not in LIBRARY_FIELDS
    }
    before_account, before_person = audit.snapshot(account), audit.snapshot(person)
    touch(
        account,
        expected_version,
        actor,
        _account_columns(account_values),
        person_changes=_person_columns(person_values, person) if person_values else None,
    )
    ids = ids_of(account)
    if "primary_id" in changed:
        store_primary_id(account, changed["primary_id"], actor)
    for field in LIBRARY_FIELDS & changed.keys():  # rows of their own, History's line with them
        store_libraries(account, field, list(changed[field] or ()), old[field], actor, ids)
    for field, value in changed.items():
        note_hand_change(account, field, old[field], value, actor)
    account = Account.get_by_id(account.id)
    audit.record_changes(actor, account, before_account, audit.snapshot(account), **ids)
    if person_values:
        person = Person.get_by_id(person.id)
        audit.record_changes(actor, person, before_person, audit.snapshot(person), **ids)
    return account


# The person's login and secrets, shared by their accounts in every organization.
CREDENTIAL_FIELDS = frozenset({"username", "email", "pin"})


def general_problems(
    account_id: int,
    changes: dict[str, Any],
    actor: Actor,
    *,
    opened: bool = False,
    settings: Settings | None = None,
) -> dict[str, str]:
    """What a save of `changes` on the General tab would refuse, field by field, as
    `update_user` checks them (the PIN, checked only at the save, aside): for the tab's
    messages as each field is left, before the save. Writes nothing."""
    settings = settings or load_settings()
    account = load_account(account_id)
    authorize(actor.account, Action.EDIT_USER, account)
    checked = {k: v for k, v in changes.items() if k != "pin"}
    try:
        _check_editable(account, checked, opened)
        _clean_general(checked, account, account.person, actor, settings, None)
    except ValidationError as exc:
        return dict(exc.errors)
    return {}


def update_user(
    account_id: int,
    expected_version: int,
    changes: dict[str, Any],
    actor: Actor,
    *,
    opened: bool = False,
    settings: Settings | None = None,
    sis_may_override: dict[str, bool] | None = None,
) -> Account:
    """Save the General tab: the fields in `changes` (names as in `GENERAL_FIELDS`), checked
    as at creation, only if the account is still at `expected_version`. One audit event per
    changed field. On an external account only `editable_fields` may change (all but the
    primary identifier with `opened=True`, after "Open for update"), and each field changed is
    kept on the next SIS load until `restore_original`. Returns the saved account (its
    `version` is the one to send next time). Values: text as typed; dates as YYYY-MM-DD or
    `date` ("" or None clears); codes as code, name or id ("" clears); the PIN as 4 digits
    ("" leaves it, None removes it). `sis_may_override`: the answers to Alma's question for the
    fields of `external.SIS_ASKED` changed on an external account (field -> the next SIS load
    may override the value; not given: kept), stored in the same transaction."""
    settings = settings or load_settings()
    problems = {f: "is not a field of the General tab" for f in changes if f not in GENERAL_FIELDS}
    problems.update({f: msg for f, msg in ELSEWHERE.items() if f in changes})
    if problems:
        raise ValidationError(problems)
    pin = changes.get("pin")
    pin_hash = None
    if isinstance(pin, str) and pin.strip():
        try:
            pin_hash = hash_secret(check_pin(pin), settings)  # outside the transaction
        except ValueError:
            pin_hash = None  # the check below names the problem
    try:
        with database.atomic():
            account = load_account(account_id)
            authorize(actor.account, Action.EDIT_USER, account)
            check_version(account, expected_version)
            person = account.person
            _check_editable(account, changes, opened)
            clean = _clean_general(changes, account, person, actor, settings, pin_hash)
            changed = {
                f: v
                for f, v in clean.items()
                if f == "pin" or v != stored_value(f, account, person)
            }
            if not changed:
                return account
            saved = _write_general(account, expected_version, changed, actor)
            if sis_may_override:
                set_sis_choices(saved, {f: v for f, v in sis_may_override.items() if f in changed})
    except IntegrityError:
        # A value was taken between our check and our write: say which, as the check would.
        with database.atomic():
            account = load_account(account_id)
            _clean_general(changes, account, account.person, actor, settings, pin_hash)
        raise
    if "pin" in changed and changed["pin"]:
        # Alma: "The PIN number is sent in the PIN Number Generation Letter" (after the save).
        from models.mail.letters import send_pin_letter

        send_pin_letter(saved.id, check_pin(pin), actor)
    return saved


def write_general(
    account: Account,
    expected_version: int,
    changes: dict[str, Any],
    actor: Actor,
    settings: Settings,
) -> Account:
    """`update_user`'s check and write of General-tab fields (no PIN) inside the caller's
    transaction, for a service that changes more than the General tab at once (a merge,
    `models.users.merge`): the caller has authorized. The SIS fields of an external account are
    refused as on the tab (not opened); `ValidationError` names the fields. Returns the account
    (its version bumped, also when nothing changed)."""
    _check_editable(account, changes, False)
    person = account.person
    clean = _clean_general(changes, account, person, actor, settings, None)
    changed = {f: v for f, v in clean.items() if v != stored_value(f, account, person)}
    if not changed:
        touch(account, expected_version, actor)
        return Account.get_by_id(account.id)
    return _write_general(account, expected_version, changed, actor)


def check_editable(account: Account, changes: dict, opened: bool = False) -> None:
    """Refuse (`ValidationError`) the fields of `changes` an external account's SIS owns."""
    _check_editable(account, changes, opened)


def _check_editable(account: Account, changes: dict, opened: bool) -> None:
    if not is_external(account):
        return
    allowed = editable_fields(account, opened=opened)
    refused = {}
    for field in changes:
        if field in allowed:
            continue
        if field in EXTERNAL_FIXED:
            refused[field] = (
                "comes from the student information system, which matches its next load by "
                "it: it cannot be changed on an external account"
            )
        else:
            refused[field] = (
                "comes from the student information system: choose Open for update to change it"
            )
    if refused:
        raise ValidationError(refused)


def restore_original(account_id: int, expected_version: int, field: str, actor: Actor) -> Account:
    """ "Original value": put back the value the SIS supplied for a field staff changed by hand,
    and let the next SIS load update it again."""
    with database.atomic():
        account = load_account(account_id)
        authorize(actor.account, Action.EDIT_USER, account)
        check_version(account, expected_version)
        row = LocalOverride.get_or_none(
            (LocalOverride.account == account.id) & (LocalOverride.field == field)
        )
        if row is None:
            raise ValidationError({field: "was not changed by hand: it already follows the SIS"})
        value = decode(field, row.original)
        try:
            with database.atomic():
                account = _write_general(account, expected_version, {field: value}, actor)
        except IntegrityError:
            raise ValidationError(
                {field: "the original value is now used by another record: change that first"}
            ) from None
        LocalOverride.delete().where(
            (LocalOverride.account == account.id) & (LocalOverride.field == field)
        ).execute()
        return account


# --- Header actions -----------------------------------------------------------------------------


def _set_external(rows, value: bool, actor: Actor, ids: dict) -> None:  # noqa: ANN001
    for row in rows:
        if row.external == value:
            continue
        before = audit.snapshot(row)
        type(row).update(external=value).where(type(row).id == row.id).execute()
        row.external = value
        audit.record_changes(actor, row, before, audit.snapshot(row), **ids)


def toggle_account_type(account_id: int, expected_version: int, actor: Actor) -> Account:
    """Internal (or internal with external authentication) becomes external, and back. Only
    User Manager / Administrator. To external: every identifier becomes external and the owning
    system is marked SIS_temp (as Alma does) until the next load sets it. Back to internal: the
    SIS no longer manages the account, so nothing of it stays read-only: identifiers, notes,
    blocks and statistics become internal (contact rows too, unless the person has another
    external account) and the hand-change flags go."""
    with database.atomic():
        account = load_account(account_id)
        authorize(actor.account, Action.TOGGLE_ACCOUNT_TYPE, account)
        check_version(account, expected_version)
        before = audit.snapshot(account)
        to_external = not is_external(account)
        if to_external:
            changes = {
                "account_type": AccountType.EXTERNAL.value,
                "owning_system": account.owning_system or SIS_TEMP,
            }
        else:
            changes = {"account_type": AccountType.INTERNAL.value, "owning_system": ""}
        touch(account, expected_version, actor, changes)
        ids = ids_of(account)
        _set_external(
            Identifier.select().where(Identifier.account == account), to_external, actor, ids
        )
        if not to_external:
            for model in (Note, Block, Statistic):
                _set_external(model.select().where(model.account == account), False, actor, ids)
            other_external = (
                Account.select()
                .where(
                    (Account.person == account.person_id)
                    & (Account.id != account.id)
                    & (Account.account_type == AccountType.EXTERNAL.value)
                )
                .exists()
            )
            if not other_external:
                for model in (Email, Phone, Address):
                    rows = model.select().where(model.person == account.person_id)
                    _set_external(rows, False, actor, ids)
            drop_overrides(account.id)
        account = Account.get_by_id(account.id)
        audit.record_changes(actor, account, before, audit.snapshot(account), **ids)
        return account


def renewal_date(
    account_id: int, actor: Actor, *, opened: bool = False, settings: Settings | None = None
) -> dt.date:
    """The expiration date Renew would give this account now (`renew_registration`), for the
    question asked before it; refused as Renew would be (a purge date before it included: the
    question is not asked to be refused after). Writes nothing."""
    settings = settings or load_settings()
    account = load_account(account_id)
    authorize(actor.account, Action.EDIT_USER, account)
    _check_editable(account, {"expiry_date": None}, opened)
    return _renewed(account, settings)


def _renewed(account: Account, settings: Settings) -> dt.date:
    """The expiry Renew gives `account`, or `ValidationError` when its purge date comes
    before it (refused, not moved)."""
    new = renewed_expiry(
        account.expiry_date,
        group_months(account.user_group),
        settings.default_expiry_days,
        runtime.today(),
    )
    if account.purge_date is not None and account.purge_date < new:
        raise ValidationError(
            {
                "purge_date": f"is {account.purge_date.isoformat()}, before the renewed "
                f"expiration date {new.isoformat()}: change the purge date first"
            }
        )
    return new


def renew_registration(
    account_id: int,
    expected_version: int,
    actor: Actor,
    *,
    opened: bool = False,
    settings: Settings | None = None,
) -> Account:
    """Renew (Alma's user renewal): the expiration date moves one registration period of the
    user's group (else the `default_expiry_days` setting) past the later of today and the
    current expiry (`models.users.derived.renewed_expiry`). Needs the right to edit the user,
    as the expiration date on the General tab; on an external account the SIS owns the date,
    so only after Open for update (`opened`), and the date is then kept as changed by hand. A
    purge date the new expiry would pass is refused, not moved. One audit event (History:
    expiry_date old -> new); the account at `expected_version` only."""
    settings = settings or load_settings()
    with database.atomic():
        account = load_account(account_id)
        authorize(actor.account, Action.EDIT_USER, account)
        check_version(account, expected_version)
        _check_editable(account, {"expiry_date": None}, opened)
        new = _renewed(account, settings)
        return _write_general(account, expected_version, {"expiry_date": new}, actor)


def reset_password(account_id: int, actor: Actor, settings: Settings | None = None) -> str:
    """Give the user a generated one-time password that meets the policy; they must change it
    at their next login. Clears a lockout. Audited (masked) on this account. Returns the
    password, to be told to the user once and never stored in the clear."""
    settings = settings or load_settings()
    account = load_account(account_id)
    authorize(actor.account, Action.RESET_PASSWORD, account)
    password = generate_password(settings)
    set_password(account.person_id, password, actor, force_change=True, settings=settings)
    return password


def set_chosen_password(
    account_id: int,
    password: str,
    confirm: str,
    actor: Actor,
    *,
    force_change: bool = True,
    settings: Settings | None = None,
) -> None:
    """Staff set a password they chose (typed twice) on this user: the right to reset
    passwords on this account (no account holding a role above the actor's) and on the person
    (`authorize_person`: not the login of another organization's staff), checked before any
    work; then the password policy, and the two entries must match (`ValidationError` on
    `password` / `password_confirm`). With `force_change` the user must choose their own at
    the next login. Clears a lockout; History gets the change masked (and the force flag when
    it changes). One's own password is changed in My account, where the current one is asked."""
    settings = settings or load_settings()
    account = load_account(account_id)
    authorize(actor.account, Action.RESET_PASSWORD, account)
    authorize_person(actor.account, account.person_id, Action.RESET_PASSWORD)
    if actor.account is not None and actor.account.person_id == account.person_id:
        raise PermissionDenied(
            Action.RESET_PASSWORD.value,
            "Your own password is changed in My account, where your current one is asked.",
        )
    if problems := password_problems(password, settings):
        raise ValidationError({"password": problems_message(problems)})
    if confirm != password:
        raise ValidationError({"password_confirm": "does not match the password"})
    set_password(
        account.person_id,
        password,
        actor,
        force_change=bool(force_change),
        confirm=confirm,
        settings=settings,
        record_force=True,
    )


def unlock_login(account_id: int, actor: Actor) -> None:
    """An administrator lifts the lockout of this user's login (audited on this account)."""
    account = load_account(account_id)
    authorize(actor.account, Action.UNLOCK_LOGIN, account)
    unlock(account.person_id, actor)


__all__ = [
    "GENERAL_FIELDS",
    "GeneralForm",
    "check_editable",
    "check_general",
    "check_version",
    "general_form",
    "general_problems",
    "ids_of",
    "load_account",
    "open_for_update",
    "overridden_fields",
    "prepare_general",
    "renew_registration",
    "renewal_date",
    "reset_password",
    "restore_original",
    "set_chosen_password",
    "toggle_account_type",
    "touch",
    "unlock_login",
    "update_user",
]
