"""The one check of a user record: `check_record(values, context, mode)`, for a new user
(`NEW`: Quick User Management, Register New User, the CLI, setup), the General tab (`EDIT`)
and the General part of an imported record (`IMPORT`).

Every field is checked by the rule of its kind in the field table (`models.users.fields`), in
the table's order, then the rules between fields (a purge date not before the expiration date,
a user group and a job category that apply to the record type, a channel that has an
address), the fields the settings make mandatory, and the values another record holds
(identifiers, username, login email). The modes differ only where the record differs:
- `NEW` checks every field of the record; an empty value of a field with a default (the
  language, the username) means the default; an empty expiration date is the end of the user
  group's registration period from today (`new_account_expiry`); a reused person's data is not
  checked again;
- `EDIT` checks the fields given; a date left as it was stored is not refused for being past;
  the record's own values are not "already used";
- `IMPORT` runs without the database (in worker processes): uniqueness and code tables are
  checked by the importer per chunk. A migration loads what it can: a value its rule refuses
  is left out, cleared or replaced by the default with a warning (the field's `on_import`),
  only a missing or wrong last name or primary identifier refuses the record, past dates are
  loaded as they are and the settings' mandatory fields are not enforced.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from models.access.passwords import password_problems, problems_message
from models.access.permissions import Action, can
from models.audit import Actor
from models.config.codes import not_applying
from models.config.settings import Settings
from models.enums import RecordType, Role
from models.errors import UniquenessError, ValidationError
from models.store.base import fold_key
from models.store.tables import Account, Email, Person
from models.users.contact_types import ENUMS, type_problem
from models.users.derived import group_months, registration_expiry
from models.users.fields import (
    ADDRESS_GIVEN,
    ADDRESS_PRESENCE,
    BOOL,
    BY_NAME,
    CLEAR,
    CODE,
    CONFIRM,
    COUNTRY,
    DATE_BIRTH,
    DATE_KINDS,
    DATE_NOT_PAST,
    DEFAULT,
    EDIT,
    EMAIL,
    ENUM,
    FIELDS,
    IDENTIFIER,
    IMPORT,
    LANGUAGE,
    LIBRARIES,
    LOCAL_CODES,
    MANDATABLE_NOW,
    NEW,
    OTHER_IDENTIFIER,
    PASSWORD,
    PERSON,
    PHONE,
    PIN,
    REFUSE,
    ROLES,
    TEXT,
    URL,
    USERNAME,
    Field,
)
from models.users.libraries import check_libraries
from models.users.lookups import (
    CODE_MODELS,
    UnknownCode,
    code_entry,
    code_named,
    holder_label,
    identifier_holder,
    list_entry,
    login_email_holder,
    names_current,
    person_label,
    username_holder,
    username_look_alike,
)
from models.users.validation import (
    FieldError,
    check_birth_date,
    check_country,
    check_email,
    check_identifier,
    check_language,
    check_local_codes,
    check_not_past,
    check_phone,
    check_pin,
    check_regex,
    check_url,
    check_username,
    clean_text,
    parse_date,
)


@dataclass
class Context:
    """What the check of a record needs besides its values."""

    settings: Settings
    today: dt.date
    actor: Actor | None = None  # None: no database (an import checks uniqueness apart)
    organization_id: int | None = None
    account: Account | None = None  # EDIT: the account changed
    person: Person | None = None  # EDIT: its person; NEW: a person reused (RERO)
    reuse_person_id: int | None = None  # NEW: reuse this person (`person_consent` given?)
    person_consent: bool = False
    pin_hash: str | None = None  # EDIT: what a PIN given is stored as
    stored: Callable[[str], Any] | None = None  # EDIT: the value stored for a field


@dataclass
class Checked:
    """The clean values (codes as their table rows), the errors (field -> message; in imports,
    what refuses the record), the warnings (imports: what was left out or replaced, in order)
    and the accounts that hold a value this record would take."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    taken: list[Account] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def raise_errors(self, actor: Actor) -> None:
        """`UniquenessError` (naming the first holder the actor may see) when a value is
        taken, else `ValidationError`, when anything is wrong."""
        if self.taken:
            visible = [a for a in self.taken if can(actor.account, Action.VIEW_USER, a)]
            raise UniquenessError(self.errors, visible[0].id if visible else None)
        if self.errors:
            raise ValidationError(self.errors)


@dataclass
class Prepared:
    """The half of an EDIT check that reads nothing of the record changed, worked out once
    for a set of values (`check_values`): what each code value names (`code_named`), and the
    code-table entries records hold, read once each. `check_record(..., prepared=)` then does
    per record only what depends on it (its own entry kept though inactive, a date left as
    stored, the rules between fields, the record type, uniqueness). A bulk job prepares its
    values once and checks each member with them; editing one user does both halves."""

    organization_id: int | None
    named: dict[str, tuple[Any, bool, Any]] = field(default_factory=dict)  # (entry, unknown, raw)
    entries: dict[tuple[str, int], Any] = field(default_factory=dict)

    def code(self, name: str, raw: Any) -> Any:
        """The active entry `raw` names for the code field `name` (`UnknownCode`)."""
        if name not in self.named or self.named[name][2:] != (raw,):
            try:
                self.named[name] = (code_named(name, raw, self.organization_id), False, raw)
            except UnknownCode:
                self.named[name] = (None, True, raw)
        row, unknown, _ = self.named[name]
        if unknown:
            raise UnknownCode
        return row

    def entry(self, name: str, entry_id: int | None) -> Any:
        """The entry of code field `name` with this id (a record's current one), read once."""
        if entry_id is None:
            return None
        key = (name, entry_id)
        if key not in self.entries:
            model = CODE_MODELS[name]
            self.entries[key] = model.get_or_none(model.id == entry_id)
        return self.entries[key]


def check_values(values: Mapping[str, Any], context: Context) -> Prepared:
    """The record-independent half of an EDIT check of `values` (see `Prepared`)."""
    prepared = Prepared(context.organization_id)
    for name, raw in values.items():
        f = BY_NAME.get(name)
        if f is not None and f.kind == CODE and not _blank(raw):
            with contextlib.suppress(UnknownCode):  # said per record: it may name its own entry
                prepared.code(name, raw)
    return prepared


# --- Rules with a fast path (the import checks every record with them) ---------------------------


@functools.lru_cache(maxsize=1024)
def cached_language(value: str) -> str:
    return check_language(value)


@functools.lru_cache(maxsize=1024)
def cached_country(value: str) -> str:
    return check_country(value)


@functools.lru_cache(maxsize=8192)
def cached_phone(value: str, region: str, pattern: str) -> tuple[bool, str]:
    """(True, E.164 number) or (False, the message)."""
    try:
        return True, check_phone(value, region, pattern)
    except FieldError as exc:
        return False, str(exc)


def _special_domains() -> tuple[str, ...]:
    try:
        from email_validator import SPECIAL_USE_DOMAIN_NAMES

        return tuple(SPECIAL_USE_DOMAIN_NAMES)
    except ImportError:  # pragma: no cover
        return ("arpa", "invalid", "local", "localhost", "onion", "test")


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN_EMAIL = re.compile(rf"^({_ATEXT}(?:\.{_ATEXT})*)@((?:{_LABEL}\.)+[a-z]{{2,63}})$")
_SPECIAL = _special_domains()


def fast_email(value: str, pattern: str = "") -> str:
    """`check_email` with a fast path: a plain ASCII address with a lower-case domain, which
    email-validator accepts unchanged, is accepted without it (measured: 1 us instead of 45).
    Anything else goes through `check_email`. A test checks that both agree."""
    value = (value or "").strip()
    m = _PLAIN_EMAIL.match(value)
    if (
        m is not None
        and len(m.group(1)) <= 64
        and len(value) <= 254
        and not any(m.group(2) == d or m.group(2).endswith("." + d) for d in _SPECIAL)
    ):
        return check_regex(value, pattern)
    return check_email(value, pattern)


def to_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y", "on", "t"}
    return bool(value)


# --- The check ----------------------------------------------------------------------------------

_BY_MODE = {mode: tuple(f for f in FIELDS if mode in f.modes) for mode in (NEW, EDIT, IMPORT)}
_POSITIONS = {mode: {f.name: (i, f) for i, f in enumerate(_BY_MODE[mode])} for mode in _BY_MODE}
_PURGE_AT = {mode: _POSITIONS[mode]["purge_date"][0] for mode in _BY_MODE}
_REQUIRED = tuple(f for f in FIELDS if f.required)


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _left_as_stored(value: Any, stored: Any) -> bool:
    """An EDIT's date given as the record holds it: an old date stays (not refused as past)."""
    return value == stored


def _purge_before_expiry(expiry: dt.date | None, purge: dt.date | None) -> bool:
    """The rule between the two dates: a purge date before the expiration date is wrong."""
    return bool(expiry and purge and purge < expiry)


def new_account_expiry(
    group: Any, organization_id: int, settings: Settings, today: dt.date
) -> dt.date:
    """The expiration date of a new account left without one: the end of its user group's
    registration period from today, else of the `default_expiry_days` setting
    (`models.users.derived.registration_expiry`). `group`: the group as a form gives it (id,
    code or name; a value that names no active group counts as none, the check says why)."""
    try:
        row = code_entry("user_group", group, organization_id)
    except UnknownCode:
        row = None
    return registration_expiry(group_months(row), settings.default_expiry_days, today)


class _Check:
    def __init__(
        self, values: Mapping[str, Any], ctx: Context, mode: str, prepared: Prepared | None = None
    ) -> None:
        self.values, self.ctx, self.mode = values, ctx, mode
        self.prepared = prepared
        self.result = Checked({}, {}, [], [])
        self.out = self.result.values
        self.db = self.reuse = False
        self.record_type = ""
        self.mandatory: frozenset[str] = frozenset()
        if mode == IMPORT:
            return  # (the import checks every record: nothing more to set up)
        self.db = ctx.actor is not None
        if mode == NEW:
            try:
                self.record_type = RecordType(values.get("record_type")).value
            except ValueError:
                self.record_type = RecordType.PUBLIC.value
            self.reuse = ctx.reuse_person_id is not None
            expiry = values.get("expiry_date")
            if (_blank(expiry) or (isinstance(expiry, str) and not expiry.strip())) and (
                ctx.organization_id is not None
            ):
                expiry = new_account_expiry(
                    values.get("user_group"), ctx.organization_id, ctx.settings, ctx.today
                )
                self.values = {**values, "expiry_date": expiry}
        else:
            self.record_type = ctx.account.record_type
        names = set(ctx.settings.mandatory_fields.get(self.record_type, []))
        if "address" in names:
            names.add("address_line1")
        allowed = MANDATABLE_NOW if mode == EDIT else None
        self.mandatory = frozenset(
            n
            for n in names
            if n in BY_NAME
            and BY_NAME[n].mandatable
            and (allowed is None or BY_NAME[n].mandatable == allowed)
        )

    # -- the loop --

    def run(self) -> Checked:
        values, mode = self.values, self.mode
        positions = _POSITIONS[mode]
        # The fields given, and the required ones missing from an import, in the table's order.
        todo = [positions[name] for name in values if name in positions]
        if mode == IMPORT:
            todo += [positions[f.name] for f in _REQUIRED if f.name not in values]
        todo.sort()
        if self.reuse:
            self._reused_person()
        purge_at = _PURGE_AT[mode]
        for position, f in todo:
            if purge_at is not None and position > purge_at:
                self._purge_after_expiry()
                purge_at = None
            name = f.name
            if name not in values:  # required, and missing from an import
                self._fail(f, FieldError("is required"))
            elif not (self.reuse and f.owner == PERSON and f.kind != PASSWORD):
                if not f.needs or self._given(f.needs):
                    self._field(f, values[name])
                if name in self.mandatory and name not in self.result.errors:
                    self._mandatory(f)
        if purge_at is not None:
            self._purge_after_expiry()
        if mode != IMPORT:
            self._applies()
        return self.result

    def _given(self, needs: str) -> bool:
        if needs == "address":
            return any(self.values.get(n) for n in ADDRESS_PRESENCE)
        return bool(self.values.get(needs))

    def _mandatory(self, f: Field) -> None:
        if f.name == "address_line1":
            missing = not any(self.values.get(n) for n in ADDRESS_GIVEN)
        elif self.mode == EDIT and f.name not in self.out:
            return  # not changed ("" for the PIN leaves it)
        else:
            missing = _blank(self.out.get(f.name))
        if missing:
            self.result.add(f.name, "is required")

    def _fail(self, f: Field, exc: FieldError, raw: Any = None) -> None:
        """A value its rule refuses: an error, or in an import what the field's `on_import`
        says (a migration loads what it can)."""
        if self.mode != IMPORT or f.on_import == REFUSE:
            self.result.add(f.name, str(exc))
            return
        if f.on_import == DEFAULT:
            label = f.name.replace("_", " ")
            self.result.warnings.append((f.name, f"{raw!r} is not {label} here: {f.default} used"))
            self.out[f.name] = f.default
            return
        self.result.warnings.append((f.name, f"{exc}: {f.import_note}"))
        if f.on_import == CLEAR:
            self.out[f.name] = f.empty
        else:
            self.out.pop(f.name, None)

    # -- one field --

    def _field(self, f: Field, raw: Any) -> None:  # noqa: C901, PLR0912 - one branch per kind
        mode, out, ctx, settings = self.mode, self.out, self.ctx, self.ctx.settings
        name, kind = f.name, f.kind
        if mode != EDIT and f.default is not None and kind != ENUM and _blank(raw):
            if mode == NEW and name == "username":
                # The username defaults to the primary identifier, checked as a username.
                raw = self.values.get(f.default)
                if _blank(raw):
                    out[name] = None
                    return
            else:
                return  # the writer puts the default
        try:
            if kind == TEXT:
                text = raw if mode != IMPORT else ("" if raw is None else str(raw))
                out[name] = f.empty
                value = clean_text(text, f.limit)
                if value and f.pattern:
                    check_regex(value, getattr(settings, f.pattern))
                if value and f.listed and mode != IMPORT:
                    value = self._listed(f, value)
                out[name] = value
                if f.required and not value:
                    raise FieldError("is required")
            elif kind == URL:
                out[name] = f.empty
                out[name] = check_url(raw if mode != IMPORT else str(raw or ""), f.limit)
            elif kind == LOCAL_CODES:
                out[name] = f.empty
                out[name] = check_local_codes(raw if mode != IMPORT else raw or "", f.limit)
            elif kind == LIBRARIES:
                # Several library codes of the organization (models/users/libraries.py).
                out[name] = None
                kept = ctx.stored(name) if mode == EDIT and ctx.stored is not None else ()
                out[name] = check_libraries(raw, ctx.organization_id, kept)
            elif kind in DATE_KINDS:
                out[name] = None
                if mode == IMPORT:
                    value = None
                    if not _blank(raw):
                        value = raw if isinstance(raw, dt.date) else parse_date(str(raw)[:10])
                else:
                    value = parse_date(raw)
                if kind == DATE_BIRTH:
                    out[name] = value
                    value = check_birth_date(value, ctx.today)
                elif (
                    kind == DATE_NOT_PAST
                    and mode != IMPORT
                    and not (mode == EDIT and _left_as_stored(value, ctx.stored(name)))
                ):
                    check_not_past(value, ctx.today)
                out[name] = value
            elif kind == ENUM:
                if mode == IMPORT:
                    text = str(raw or "").strip().lower().replace(" ", "_")
                    out[name] = f.default
                    if text:
                        out[name] = f.enum(text).value
                else:
                    try:
                        out[name] = f.enum(raw).value
                    except ValueError:
                        out[name] = f.default
                        raise FieldError(f.message) from None
                    kind_of = name.removesuffix("_type")
                    if kind_of in ENUMS and (
                        problem := type_problem(kind_of, out[name], self.record_type)
                    ):
                        raise FieldError(problem)
            elif kind == BOOL:
                out[name] = to_bool(raw)
            elif kind == USERNAME:
                out[name] = None
                if mode == IMPORT and not str(raw or "").strip():
                    out.pop(name)
                    return
                out[name] = check_username(raw if mode != IMPORT else str(raw))
                if self.db and f.unique:
                    self._unique_username(out[name])
            elif kind == IDENTIFIER:
                out[name] = None
                value = check_identifier(
                    raw if mode != IMPORT else str(raw), getattr(settings, f.pattern)
                )
                out[name] = value
                if self.db and f.unique:
                    self._unique_primary_id(value)
            elif kind == LANGUAGE:
                if mode == IMPORT:
                    out[name] = cached_language(str(raw).strip())
                else:
                    out[name] = None
                    out[name] = cached_language("" if raw is None else str(raw))
            elif kind == EMAIL:
                out[name] = f.empty
                if _blank(raw) or (mode == IMPORT and f.empty == "" and not str(raw).strip()):
                    return  # (an import reads a CC address of spaces as none)
                text = str(raw) if mode == IMPORT else raw
                out[name] = fast_email(text, getattr(settings, f.pattern)) or f.empty
                if self.db and f.unique:
                    self._unique_email(out[name])
            elif kind == CODE:
                self._code(f, raw)
            elif kind == PIN:
                if mode == EDIT and raw == "":
                    return  # "" leaves the PIN as it is
                out[name] = None
                if not _blank(raw):
                    value = check_pin(raw)
                    out[name] = ctx.pin_hash if mode == EDIT else value
            elif kind == PASSWORD:
                self._password(raw)
            elif kind == CONFIRM:
                pass  # compared with the password there
            elif kind == OTHER_IDENTIFIER:
                if _blank(raw):
                    return
                out[name] = None
                out[name] = value = check_identifier(raw)
                if value and fold_key(value) == fold_key(out.get("primary_id") or ""):
                    self.result.add(name, "is the same as the primary identifier")
                elif value and self.db and f.unique and (holder := identifier_holder(value)):
                    self.result.add(name, f"is already used by {holder_label(holder, ctx.actor)}")
                    self.result.taken.append(holder)
            elif kind == PHONE:
                if _blank(raw):
                    return
                out[name] = None
                out[name] = check_phone(
                    raw, settings.phone_default_region, getattr(settings, f.pattern)
                )
            elif kind == COUNTRY:
                out[name] = f.empty
                if not _blank(raw):
                    out[name] = None
                    out[name] = check_country(raw)
            elif kind == ROLES:
                roles = []
                for r in raw or ():
                    try:
                        roles.append(Role(r))
                    except ValueError:
                        self.result.add(name, f"{r!r} is not a role")
                out[name] = roles
        except FieldError as exc:
            self._fail(f, exc, raw)
        except ValueError:  # an import's enum value it does not know
            self._fail(f, FieldError(f.message), raw)
        if name == "comm_channel" and self.db and name not in self.result.errors:
            self._channel_has_address()

    # -- rules between fields --

    def _purge_after_expiry(self) -> None:
        out, stored = self.out, self.ctx.stored
        if "expiry_date" not in out and "purge_date" not in out:
            return
        errors = self.result.errors

        def when(name: str) -> dt.date | None:
            if name in errors:
                return None
            if name in out:
                return out[name]
            return stored(name) if stored is not None else None

        expiry, purge = when("expiry_date"), when("purge_date")
        if not _purge_before_expiry(expiry, purge):
            return
        if self.mode == IMPORT:
            self.result.warnings.append(("purge_date", "is before the expiration date: left out"))
            out["purge_date"] = None
        else:
            self.result.add("purge_date", "must not be before the expiration date")

    def _applies(self) -> None:
        """The user group and the job category apply to the record type (Alma: "The user
        groups available depend on the record type selected", and so do the job categories;
        Quick User's identifier type too: `models.config.codes.applies_to`, the rule the forms'
        choices follow)."""
        record_type = self.out.get("record_type", self.record_type)
        for name in ("user_group", "job_category", "identifier_type"):
            if name not in self.result.errors and (
                problem := not_applying(self.out.get(name), record_type)
            ):
                self.result.add(name, problem)

    def _channel_has_address(self) -> None:
        if self.out.get("comm_channel") == "email" and not (
            Email.select().where(Email.person == self.ctx.person).exists()
        ):
            self.result.add(
                "comm_channel", "needs an email address: add one on the Contact information tab"
            )

    # -- the database --

    def _code(self, f: Field, raw: Any) -> None:
        try:
            if self.prepared is None:
                current = getattr(self.ctx.account, f.name, None) if self.mode == EDIT else None
                row = code_entry(f.name, raw, self.ctx.organization_id, current)
            else:  # `code_entry` in its two halves: the record's own entry, the value's
                held = getattr(self.ctx.account, f"{f.name}_id", None)
                current = self.prepared.entry(f.name, held)
                if _blank(raw):
                    row = None
                elif names_current(raw, current):
                    row = current
                else:
                    row = self.prepared.code(f.name, raw)
        except UnknownCode:
            row = None
            if not f.message:
                self.result.add(f.name, f"is not a known {f.name.replace('_', ' ')}")
        if row is None and f.message:
            self.result.add(f.name, f.message)
        self.out[f.name] = row

    def _listed(self, f: Field, value: str) -> str:
        """A text field with a list (`Field.listed`; Title): when the organization's list has
        active entries, the value is one of them (by name or code, stored as its name); the
        value the record holds already is kept, listed or not (a title from before the list,
        or imported). Without entries, any text."""
        if self.ctx.organization_id is None:
            return value
        if self.mode == EDIT and self.ctx.stored is not None and value == self.ctx.stored(f.name):
            return value
        has_list, entry = list_entry(f.listed, value, self.ctx.organization_id)
        if not has_list:
            return value
        if entry is None:
            raise FieldError(f"choose a {f.label.lower()} from the list")
        return entry.name

    def _unique_primary_id(self, value: str) -> None:
        holder = identifier_holder(value)
        own = self.ctx.account
        if holder is None:
            return
        if own is None or holder.id != own.id:
            self.result.add(
                "primary_id", f"is already used by {holder_label(holder, self.ctx.actor)}"
            )
            self.result.taken.append(holder)
        elif fold_key(value) != own.primary_id_key:
            self.result.add("primary_id", "is already one of this user's other identifiers")

    def _own_person_id(self) -> int | None:
        return self.ctx.person.id if self.mode == EDIT else None

    def _unique_username(self, username: str) -> None:
        own = self._own_person_id()
        if other := username_holder(username, own):
            who, account = person_label(other, self.ctx.actor)
            self.result.add("username", f"is already used by {who}")
            self.result.taken.extend([account] if account else [])
        elif other := login_email_holder(username, own):
            # A login name names one person: typed at the login (or a forgotten password),
            # it would reach this one instead of the person who logs in with that email.
            who, account = person_label(other, self.ctx.actor)
            self.result.add("username", f"is the login email of {who}: choose another")
            self.result.taken.extend([account] if account else [])
        elif (own is None or fold_key(username) != self.ctx.person.username_key) and (
            other := username_look_alike(username, own)  # a name kept as it was stays
        ):
            who, _ = person_label(other, self.ctx.actor)
            self.result.add(
                "username", f"looks too much like the username of {who}: choose another"
            )

    def _unique_email(self, address: str | None) -> None:
        if address and (other := login_email_holder(address, self._own_person_id())):
            who, account = person_label(other, self.ctx.actor)
            self.result.add("email", f"is already the login email of {who}")
            self.result.taken.extend([account] if account else [])
        elif address and (other := username_holder(address, self._own_person_id())):
            who, account = person_label(other, self.ctx.actor)  # (one login name, one person)
            self.result.add("email", f"is the username of {who}: it cannot be a login email")
            self.result.taken.extend([account] if account else [])

    def _reused_person(self) -> None:
        ctx = self.ctx
        person = Person.get_or_none(Person.id == ctx.reuse_person_id)
        if person is None:
            self.result.add("person_id", "this person no longer exists")
        elif Account.get_or_none(
            (Account.person == person) & (Account.organization == ctx.organization_id)
        ):
            self.result.add("person_id", "this person already has an account in this organization")
        elif ctx.actor.account is not None and not ctx.person_consent:
            self.result.add(
                "person_id", "confirm that the person agrees to share their personal data"
            )
        self.out["person"] = person

    def _password(self, raw: Any) -> None:
        if _blank(raw):
            return
        confirm = self.values.get("password_confirm")
        if self.reuse:
            self.result.add("password", "this person already has a password: it is kept")
        elif problems := password_problems(raw, self.ctx.settings):
            self.result.add("password", problems_message(problems))
        elif confirm is not None and confirm != raw:
            self.result.add("password_confirm", "does not match the password")
        self.out["password"] = raw


# The kinds of field whose EDIT check reads of the record only what `edit_reading` keys it by (its
# stored value, its code entry): a value another record may hold (uniqueness), a library list
# (read from its own table), a password or the communication channel (checked against the
# person's emails) read more, and a record changing one of them is checked alone.
_READ_BY_KEY = frozenset(
    {TEXT, URL, LOCAL_CODES, *DATE_KINDS, ENUM, BOOL, LANGUAGE, CODE, PIN, PHONE, COUNTRY}
)
_KEYED = frozenset(
    f.name for f in FIELDS if f.kind in _READ_BY_KEY and not f.unique and f.name != "comm_channel"
)
_COMPARED = ("expiry_date", "purge_date")  # read by `_purge_after_expiry` whenever either is given


@functools.lru_cache(maxsize=256)
def _reading_plan(
    names: tuple[str, ...],
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], bool] | None:
    """For `edit_reading` of these fields: the code entries' attributes, the dates, the
    listed texts, whether the two compared dates are read; None: checked alone."""
    if not all(name in _KEYED for name in names):
        return None
    kinds = [BY_NAME[name] for name in names]
    return (
        tuple(f"{f.name}_id" for f in kinds if f.kind == CODE),
        tuple(f.name for f in kinds if f.kind in DATE_KINDS),
        tuple(f.name for f in kinds if f.kind not in DATE_KINDS and f.kind != CODE and f.listed),
        any(name in _COMPARED for name in names),
    )


def edit_reading(values: Mapping[str, Any], context: Context) -> tuple | None:
    """Everything the EDIT check of `values` reads of the record in `context` (besides the
    settings, the actor and the day, the same for the records of one bulk job): its
    organization and record type, the code entry it holds for each code field given, the
    PIN's hash, a listed text's stored value, and of the stored dates what the rules compare:
    whether a date given is the one stored (`_left_as_stored`: an old date stays), whether the
    purge date would be before the expiration date (`_purge_before_expiry`). Two records with
    the same reading get the same answer from `check_record(values, ..., EDIT, prepared)`
    (the same settings, actor, day and `prepared`): a bulk job checks each distinct reading
    once (`models.users.details.GeneralChecks`). None when the check reads more (see
    `_KEYED`), or a value is not hashable: that record is checked alone."""
    account, stored = context.account, context.stored
    if stored is None or account is None:
        return None
    return account_reading(values, account, stored, context.organization_id, context.pin_hash)


def account_reading(
    values: Mapping[str, Any],
    account: Account,
    stored: Callable[[str], Any],
    organization_id: int | None,
    pin_hash: str | None = None,
) -> tuple | None:
    """`edit_reading` of the EDIT check of `values` on `account` (`stored`: the value it
    holds for a field; `organization_id` and `pin_hash` as the check's `Context` has them),
    without a `Context` made for it: a bulk job asks it of each member, and makes the
    `Context` only for the readings not checked yet."""
    plan = _reading_plan(tuple(values))
    if plan is None:
        return None
    codes, dated, listed, compared = plan
    facts: list[Any] = [getattr(account, attribute, None) for attribute in codes]
    dates: dict[str, Any] = {}
    for name in dated:
        try:
            dates[name] = value = parse_date(values[name])
        except (FieldError, TypeError, ValueError):
            dates[name] = None  # refused whatever the record: nothing compared
            facts.append(None)
            continue
        facts.append(_left_as_stored(value, stored(name)))
    facts += [stored(name) for name in listed]
    if compared:
        expiry, purge = (dates[n] if n in dates else stored(n) for n in _COMPARED)
        facts.append(_purge_before_expiry(expiry, purge))
    key = (tuple(values.items()), organization_id, account.record_type, pin_hash, tuple(facts))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def check_record(
    values: Mapping[str, Any], context: Context, mode: str, prepared: Prepared | None = None
) -> Checked:
    """Check a user record's `values` (field -> value as typed or read) in `mode` (`NEW`,
    `EDIT`, `IMPORT`; see the module doc). Never raises for a wrong value: the result holds
    every message (`Checked.raise_errors` raises them). EDIT runs in two halves: `check_values`
    (the values alone; `prepared`, when given, was made by it for these values, once for many
    records) and the record's own half."""
    if mode == EDIT:
        prepared = prepared or check_values(values, context)
        return _Check(values, context, mode, prepared).run()
    return _Check(values, context, mode).run()
