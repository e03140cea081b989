"""The table tabs of User Details (issue 5; domain.md section 6): contact rows (emails, phones,
addresses, kept on the person), identifiers, notes, blocks, statistics, attachments, proxies and
roles, behind one set of services keyed by `Kind`:

    list_rows(kind, account_id, actor)                              -> list of rows
    row_values(kind, account_id, row_id, actor)                     -> dict for an edit form
    add_row(kind, account_id, expected_version, data, actor)        -> Saved(row, version)
    update_row(kind, account_id, row_id, expected_version, data, actor) -> Saved
    duplicate_row(kind, account_id, row_id, expected_version, actor, changes=None) -> Saved
    delete_row(kind, account_id, row_id, expected_version, actor)   -> new version
    set_row_active(kind, account_id, row_id, expected_version, active, actor) -> Saved
        (identifiers, blocks and roles)

Every change is one transaction with its audit events, checks and bumps the account's version
(`models.users.details.touch`: a stale version raises `ConflictError`), so a General-tab save made
on
an older read is refused too. Field problems raise `ValidationError` keyed by the names below;
refused actions (a read-only external row, the primary identifier, the last email, the last
role, the last administrator) raise `Refused`.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from peewee import IntegrityError

from models import audit
from models.access.permissions import (
    Action,
    active_roles,
    authorize,
    authorize_grant,
    authorize_person,
    can,
)
from models.access.scope import scope_of
from models.audit import Actor
from models.config.codes import find_code
from models.config.settings import Settings, load_settings
from models.enums import AddressType, AuditAction, Channel, EmailType, PhoneType, Role, Status
from models.errors import NotFound, PatronDeskError, ValidationError
from models.runtime import runtime
from models.store.base import database, fold_key
from models.store.files import FileRefused, FileTooLarge, PrivateFile, TargetExists, read_user_file
from models.store.tables import (
    Account,
    Address,
    Attachment,
    Block,
    BlockDefinition,
    CodeTable,
    Email,
    Identifier,
    IdentifierType,
    Library,
    Note,
    NoteType,
    Phone,
    ProxyFor,
    RoleAssignment,
    StatCategory,
    Statistic,
)
from models.users.accounts import holder_label, identifier_holder
from models.users.details import check_version, ids_of, load_account, touch
from models.users.external import is_external
from models.users.validation import (
    FieldError,
    Problems,
    check_country,
    check_email,
    check_identifier,
    check_not_past,
    check_phone,
    check_regex,
    clean_text,
    parse_date,
)


class Kind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    ADDRESS = "address"
    IDENTIFIER = "identifier"
    NOTE = "note"
    BLOCK = "block"
    STATISTIC = "statistic"
    ATTACHMENT = "attachment"
    PROXY = "proxy"
    ROLE = "role"


class Refused(PatronDeskError):
    """The action is not allowed on this row; the message says why and what to do instead."""


@dataclass(frozen=True)
class Saved:
    row: Any  # the row as stored
    version: int  # the account's new version: send it with the next save


@dataclass
class _Ctx:
    account: Account
    actor: Actor
    settings: Settings

    @property
    def ids(self) -> dict[str, int]:
        return ids_of(self.account)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y", "on"}
    return bool(value)


def _enum(p: Problems, field: str, enum: type[StrEnum], value: Any, what: str) -> str | None:
    try:
        return enum(value).value
    except ValueError:
        p.add(field, f"is not {what} ({', '.join(e.value for e in enum)})")
        return None


def _code(
    p: Problems,
    field: str,
    model: type[CodeTable],
    value: Any,
    account: Account,
    *,
    required: bool,
    current_id: int | None = None,
) -> int | None:
    """A code-table entry of the account's organization by id, code or name."""
    if value in (None, ""):
        if required:
            p.add(field, "is required")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        row = model.get_or_none((model.id == value) & (model.organization == account.organization))
        if row is not None and (row.active or row.id == current_id):
            return row.id
    else:
        row = find_code(model, account.organization_id, str(value))
        if row is not None:
            return row.id
        if current_id is not None:
            current = model.get_by_id(current_id)
            if str(value).strip().lower() in {current.code.lower(), current.name.lower()}:
                return current.id
    p.add(field, f"is not a known {model._meta.table_name.replace('_', ' ')}")
    return None


def _library(p: Problems, field: str, value: Any, account: Account) -> int | None:
    """An owner library by id or code; empty is the institution (every library)."""
    if value in (None, ""):
        return None
    query = Library.select().where(Library.organization == account.organization)
    if isinstance(value, int) and not isinstance(value, bool):
        row = query.where(Library.id == value).first()
    else:
        text = str(value).strip().lower()
        row = next(
            (lib for lib in query if text in {lib.code.lower(), lib.name.lower()}),
            None,
        )
    if row is None:
        p.add(field, "is not a library of this organization")
        return None
    return row.id


def _date(p: Problems, field: str, value: Any, *, not_past: bool, current=None):  # noqa: ANN001, ANN202
    when = p.check(field, parse_date, value)
    if not_past and when is not None and when != current:
        p.check(field, check_not_past, when, runtime.today())
    return when


def _mandatory(settings: Settings, account: Account, name: str) -> bool:
    """Whether `name` is mandatory for any account of the person (contact rows are shared)."""
    return any(
        name in settings.mandatory_fields.get(a.record_type, [])
        for a in Account.select().where(Account.person == account.person_id)
    )


class _Spec:
    kind: Kind
    model: type
    label: str  # "email address": for messages
    action: Action
    fields: tuple[str, ...]
    on_person = False  # contact rows belong to the person, the rest to the account
    owned = False  # has an owner library (library independence)
    external_flag = True
    unique_field = ""  # the field a unique index guards, for a race lost to another save

    def query(self, account: Account):  # noqa: ANN201
        if self.on_person:
            return self.model.select().where(self.model.person == account.person_id)
        return self.model.select().where(self.model.account == account.id)

    def belongs(self, row, account: Account) -> bool:  # noqa: ANN001
        if self.on_person:
            return row.person_id == account.person_id
        return row.account_id == account.id

    def values(self, row) -> dict[str, Any]:  # noqa: ANN001
        """The row in the input format of `add_row` (codes as codes, library as code)."""
        return {f: row.__data__.get(f) for f in self.fields}

    def copy(self, row) -> dict[str, Any]:  # noqa: ANN001
        """What "duplicate" starts from: the values, internal and not preferred."""
        data = self.values(row)
        for name in ("preferred", "preferred_sms", "external", "is_primary"):
            if name in data:
                data[name] = False
        return data

    def prepare(self, data: dict, row, settings: Settings) -> dict:  # noqa: ANN001
        """Work done before the transaction (reading a file)."""
        return data

    def clean(self, data: dict, ctx: _Ctx, row) -> dict[str, Any]:  # noqa: ANN001
        raise NotImplementedError

    def check_writable(self, row, data: dict, ctx: _Ctx) -> None:  # noqa: ANN001
        if self.external_flag and row.external:
            raise Refused(
                f"This {self.label} comes from the student information system (external data): "
                "it is read-only here and replaced by the next load."
            )

    def check_deletable(self, row, ctx: _Ctx) -> None:  # noqa: ANN001
        self.check_writable(row, {}, ctx)

    def after_save(self, row, ctx: _Ctx, created: bool, before: dict) -> None:  # noqa: ANN001
        pass

    def after_delete(self, row, ctx: _Ctx) -> None:  # noqa: ANN001
        pass

    def active_data(self, active: bool) -> dict[str, Any]:
        raise Refused(f"A {self.label} cannot be activated or deactivated.")

    def visible(self, row, actor: Actor, account: Account) -> bool:  # noqa: ANN001
        if not self.owned:
            return True
        return scope_of(actor.account, account).sees(row.owner_id)

    # shared pieces

    def external(self, p: Problems, data: dict, ctx: _Ctx, row) -> bool:  # noqa: ANN001
        wanted = _bool(data.get("external", False))
        if row is not None:
            if wanted and not row.external:
                p.add(
                    "external",
                    "internal data cannot be turned into external: delete it and add it again",
                )
            return bool(row.external)
        if wanted and not is_external(ctx.account):
            p.add("external", "only an external account has external data")
        return wanted

    def preferred(self, field: str, data: dict, ctx: _Ctx, row, *, keep_one: bool = False) -> bool:  # noqa: ANN001
        """The row's preferred flag: the first of its kind is preferred unless told otherwise.
        With `keep_one` one row of the kind is always preferred (emails: letters go there)."""
        others = self.query(ctx.account).where(
            (getattr(self.model, field) == True)  # noqa: E712
            & (self.model.id != (row.id if row is not None else 0))
        )
        value = data.get(field)
        if value is None or value == "":
            return bool(getattr(row, field)) if row is not None else not others.exists()
        value = _bool(value)
        if keep_one and not value and not others.exists():
            if row is not None and getattr(row, field):
                raise ValidationError(
                    {field: f"one {self.label} must be preferred: make another one preferred"}
                )
            return True
        return value

    def clear_others(self, row, field: str, ctx: _Ctx) -> None:  # noqa: ANN001
        """ "Preferred" stays unique per kind: setting it on one row clears the others."""
        if not getattr(row, field):
            return
        others = self.query(ctx.account).where(
            (getattr(self.model, field) == True) & (self.model.id != row.id)  # noqa: E712
        )
        for other in others:
            before = audit.snapshot(other)
            self.model.update({field: False}).where(self.model.id == other.id).execute()
            setattr(other, field, False)
            audit.record_changes(ctx.actor, other, before, audit.snapshot(other), **ctx.ids)

    def check_last(self, name: str, ctx: _Ctx) -> None:
        """At least one row stays when the settings make this kind mandatory for the person's
        record types (by default: an email for staff and public users)."""
        if self.query(ctx.account).count() <= 1 and _mandatory(ctx.settings, ctx.account, name):
            raise Refused(
                f"This is the user's last {self.label}, and their record type requires one: "
                f"add another {self.label} first."
            )


# --- Contact information ------------------------------------------------------------------------


def _set_channel(ctx: _Ctx, channel: Channel) -> None:
    """The communication channel follows email presence, on each of the person's accounts."""
    for account in Account.select().where(
        (Account.person == ctx.account.person_id) & (Account.comm_channel != channel.value)
    ):
        before = audit.snapshot(account)
        Account.update(comm_channel=channel.value).where(Account.id == account.id).execute()
        account.comm_channel = channel.value
        audit.record_changes(ctx.actor, account, before, audit.snapshot(account), **ids_of(account))


class _EmailSpec(_Spec):
    kind, model, label, action = Kind.EMAIL, Email, "email address", Action.EDIT_CONTACT
    fields = ("address", "email_type", "preferred", "description", "external")
    on_person = True

    def clean(self, data: dict, ctx: _Ctx, row) -> dict[str, Any]:  # noqa: ANN001
        p = Problems()
        address = p.check("address", check_email, data.get("address"), ctx.settings.email_regex)
        if address and (
            self.query(ctx.account)
            .where((Email.address_key == fold_key(address)) & (Email.id != (row.id if row else 0)))
            .exists()
        ):
            p.add("address", "this user already has this email address")
        out = {
            "person": ctx.account.person_id,
            "address": address,
            "address_key": fold_key(address),
            "email_type": _enum(
                p, "email_type", EmailType, data.get("email_type"), "an email type"
            ),
            "description": p.check("description", clean_text, data.get("description"), 200) or "",
            "external": self.external(p, data, ctx, row),
        }
        p.raise_if_any()
        out["preferred"] = self.preferred("preferred", data, ctx, row, keep_one=True)
        return out

    def after_save(self, row, ctx: _Ctx, created: bool, before: dict) -> None:  # noqa: ANN001
        self.clear_others(row, "preferred", ctx)
        if created and self.query(ctx.account).count() == 1:
            _set_channel(ctx, Channel.EMAIL)

    def check_deletable(self, row, ctx: _Ctx) -> None:  # noqa: ANN001
        super().check_deletable(row, ctx)
        self.check_last("email", ctx)

    def after_delete(self, row, ctx: _Ctx) -> None:  # noqa: ANN001
        rest = list(self.query(ctx.account).order_by(Email.id))
        if not rest:
            _set_channel(ctx, Channel.MAIL)
        elif row.preferred and not any(e.preferred for e in rest):
            # Letters go to the preferred email: the oldest one left takes over.
            first = rest[0]
            before = audit.snapshot(first)
            Email.update(preferred=True).where(Email.id == first.id).execute()
            first.preferred = True
            audit.record_changes(ctx.actor, first, before, audit.snapshot(first), **ctx.ids)


class _PhoneSpec(_Spec):
    kind, model, label, action = Kind.PHONE, Phone, "phone number", Action.EDIT_CONTACT
    fields = ("number", "phone_type", "preferred", "preferred_sms", "external")
    on_person = True

    def clean(self, data: dict, ctx: _Ctx, row) -> dict[str, Any]:  # noqa: ANN001
        p = Problems()
        s = ctx.settings
        number = p.check(
            "number", check_phone, data.get("number"), s.phone_default_region, s.phone_regex
        )
        if number and (
            self.query(ctx.account)
            .where((Phone.number == number) & (Phone.id != (row.id if row else 0)))
            .exists()
        ):
            p.add("number", "this user already has this phone number")
        out = {
            "person": ctx.account.person_id,
            "number": number,
            "phone_type": _enum(p, "phone_type", PhoneType, data.get("phone_type"), "a phone type"),
            "external": self.external(p, data, ctx, row),
        }
        p.raise_if_any()
        out["preferred"] = self.preferred("preferred", data, ctx, row)
        out["preferred_sms"] = _bool(data.get("preferred_sms", False))
        return out

    def after_save(self, row, ctx: _Ctx, created: bool, before: dict) -> None:  # noqa: ANN001
        self.clear_others(row, "preferred", ctx)
        self.clear_others(row, "preferred_sms", ctx)

    def check_deletable(self, row, ctx: _Ctx) -> None:  # noqa: ANN001
        super().check_deletable(row, ctx)
        self.check_last("phone", ctx)


class _AddressSpec(_Spec):
    kind, model, label, action = Kind.ADDRESS, Address, "address", Action.EDIT_CONTACT
    fields = (
        "address_type",
        "line1",
        "line2",
        "line3",
        "city",
        "state",
        "postal_code",
        "country",
        "note",
        "start_date",
        "end_date",
        "preferred",
        "external",
    )
    on_person = True

    def clean(self, data: dict, ctx: _Ctx, row) -> dict[str, Any]:  # noqa: ANN001
        p = Problems()
        s = ctx.settings
        out: dict[str, Any] = {"person": ctx.account.person_id}
        out["address_type"] = _enum(
            p, "address_type", AddressType, data.get("address_type"), "an address type"
        )
        for name in ("line1", "line2", "line3"):
            line = p.check(name, clean_text, data.get(name))
            if line:
                p.check(name, check_regex, line, s.address_line_regex)
            out[name] = line or ""
        out["city"] = p.check("city", clean_text, data.get("city"), 100) or ""
        out["state"] = p.check("state", clean_text, data.get("state"), 100) or ""
        postal = p.check("postal_code", clean_text, data.get("postal_code"), 20) or ""
        if postal:
            p.check("postal_code", check_regex, postal, s.postal_code_regex)
        out["postal_code"] = postal
        country = data.get("country")
        out["country"] = p.check("country", check_country, country) if country else ""
        out["note"] = p.check("note", clean_text, data.get("note"), 1000) or ""
        out["start_date"] = _date(p, "start_date", data.get("start_date"), not_past=False)
        out["end_date"] = _date(p, "end_date", data.get("end_date"), not_past=False)
        if out["start_date"] and out["end_date"] and out["end_date"] < out["start_date"]:
            p.add("end_date", "must not be before the start date")
        if not p and not any(out[n] for n in ("line1", "city", "postal_code", "country")):
            p.add("line1", "give at least an address line, a city, a postal code or a country")
        out["external"] = self.external(p, data, ctx, row)
        p.raise_if_any()
        out["preferred"] = self.preferred("preferred", data, ctx, row)
        return out

    def after_save(self, row, ctx: _Ctx, created: bool, before: dict) -> None:  # noqa: ANN001
        self.clear_others(row, "preferred", ctx)

    def check_deletable(self, row, ctx: _Ctx) -> None:  # noqa: ANN001
        super().check_deletable(row, ctx)
        self.check_last("address", ctx)


# --- Identifiers, notes, blocks, statistics -----------------------------------------------------


class _IdentifierSpec(_Spec):
    kind, model, label, action = Kind.IDENTIFIER, Identifier, "identifier", Action.EDIT_USER
    fields = ("id_type", "value", "note", "active", "external")
    unique_field = "value"

    def values(self, row) -> dict[str, Any]:  # noqa: ANN001
        data = super().values(row)
        data["id_type"] = row.id_type.code if row.id_type_id else ""
        return data

    def check_writable(self, row, data: dict, ctx: _Ctx) -> None:  # noqa: ANN001
        super().check_writable(row, data, ctx)
        if row.is_primary:
            wrong = [
                f
                for f in ("value", "id_type", "active")
                if f in data and data[f] != self.values(row)[f]
            ]
            if wrong:
                raise ValidationError(
                    {
                        f: "belongs to the primary identifier: change it on the General tab"
                        for f in wrong
                    }
                )

    def check_deletable(self, row, ctx: _Ctx) -> None:  # noqa: ANN001
        if row.is_primary:
            raise Refused("The primary identifier cannot be deleted: every user keeps one.")
        super().check_deletable(row, ctx)

    def clean(self, data: dict, ctx: _Ctx, row) -> dict[str, Any]:  # noqa: ANN001
        p = Problems()
        primary = row is not None and row.is_primary
        value = p.check("value", check_identifier, data.get("value"))
        if value and not primary:
            holder = identifier_holder(value)
            same = row is not None and fold_key(value) == row.value_key
            if holder is not None and holder.id != ctx.account.id:
                p.add("value", f"is already used by {holder_label(holder, ctx.actor)}")
            elif holder is not None and not same:
                p.add("value", "this user already has this identifier")
        out = {
            "account": ctx.account.id,
            "value": value,
            "value_key": fold_key(value),
            "id_type": _code(
                p,
                "id_type",
                IdentifierType,
                data.get("id_type"),
                ctx.account,
                required=not primary,
                current_id=row.id_type_id if row else None,
            ),
            "note": p.check("note", clean_text, data.get("note"), 1000) or "",
            "active": True if primary else _bool(data.get("active", True)),
            "external": self.external(p, data, ctx, row),
        }
        p.raise_if_any()
        return out

    def active_data(self, active: bool) -> dict[str, Any]:
        return {"active": active}


def _owner_value(row) -> str:  # noqa: ANN001
    return row.owner.code if row.owner_id else ""


class _NoteSpec(_Spec):
    kind, model, label, action = Kind.NOTE, Note, "note", Action.MANAGE_NOTES
    fields = ("note_type", "text", "user_viewable", "popup", "owner", "external")
    owned = True

    def values(self, row) -> dict[str, Any]:  # noqa: ANN001
        data = super().values(row)
        data["note_type"] = row.note_type.code if row.note_type_id else ""
        data["owner"] = _owner_value(row)
        return data

    def clean(self, data: dict, ctx: _Ctx, row) -> dict[str, Any]:  # noqa: ANN001
        p = Problems()
        text = p.check("text", clean_text, data.get("text"), 4000)
        if not text and "text" not in p.errors:
            p.add("text", "is required")
        out = {
            "account": ctx.account.id,
            "note_type": _code(
                p,
                "note_type",
                NoteType,
                data.get("note_type"),
                ctx.account,
                required=False,
                current_id=row.note_type_id if row else None,
            ),
            "text": text,
            "user_viewable": _bool(data.get("user_viewable", False)),
            "popup": _bool(data.get("popup", False)),
            "owner": _library(p, "owner", data.get("owner"), ctx.account),
            "external": self.external(p, data, ctx, row),
        }
        if row is None:
            out["created_by"] = ctx.actor.name
            out["created_at"] = runtime.now()
        p.raise_if_any()
        return out


class _BlockSpec(_Spec):
    kind, model, label, action = Kind.BLOCK, Block, "block", Action.MANAGE_BLOCKS
    fields = ("definition", "expiry_date", "note", "owner", "active", "external")
    owned = True

    def values(self, row) -> dict[str, Any]:  # noqa: ANN001
        data = super().values(row)
        data["definition"] = row.definition.code
        data["owner"] = _owner_value(row)
        return data

    def clean(self, data: dict, ctx: _Ctx, row) -> dict[str, Any]:  # noqa: ANN001
        p = Problems()
        out = {
            "account": ctx.account.id,
            "definition": _code(
                p,
                "definition",
                BlockDefinition,
                data.get("definition"),
                ctx.account,
                required=True,
                current_id=row.definition_id if row else None,
            ),
            "expiry_date": _date(
                p,
                "expiry_date",
                data.get("expiry_date"),
                not_past=True,
                current=row.expiry_date if row else None,
            ),
            "note": p.check("note", clean_text, data.get("note"), 1000) or "",
            "owner": _library(p, "owner", data.get("owner"), ctx.account),
            "active": _bool(data.get("active", True)),
            "external": self.external(p, data, ctx, row),
        }
        if row is None:
            out["created_by"] = ctx.actor.name
            out["created_at"] = runtime.now()
        p.raise_if_any()
        return out

    def active_data(self, active: bool) -> dict[str, Any]:
        return {"active": active}


class _StatisticSpec(_Spec):
    kind, model, label, action = Kind.STATISTIC, Statistic, "statistic", Action.MANAGE_STATISTICS
    fields = ("category", "note", "owner", "external")
    owned = True

    def values(self, row) -> dict[str, Any]:  # noqa: ANN001
        data = super().values(row)
        data["category"] = row.category.code
        data["owner"] = _owner_value(row)
        return data

    def clean(self, data: dict, ctx: _Ctx, row) -> dict[str, Any]:  # noqa: ANN001
        p = Problems()
        category = _code(
            p,
            "category",
            StatCategory,
            data.get("category"),
            ctx.account,
            required=True,
            current_id=row.category_id if row else None,
        )
        if category and (
            self.query(ctx.account)
            .where((Statistic.category == category) & (Statistic.id != (row.id if row else 0)))
            .exists()
        ):
            p.add("category", "this user already has this statistical category")
        out = {
            "account": ctx.account.id,
            "category": category,
            "note": p.check("note", clean_text, data.get("note"), 1000) or "",
            "owner": _library(p, "owner", data.get("owner"), ctx.account),
            "external": self.external(p, data, ctx, row),
        }
        p.raise_if_any()
        return out


# --- Attachments, proxies, roles ----------------------------------------------------------------


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} bytes"


def read_attachment_file(path: str | Path, max_bytes: int) -> tuple[str, bytes]:
    """The file's name and content, or `FieldError` saying in words why it cannot be used.
    Only a document of the user running PatronDesk is read (`models.store.files.read_user_file`:
    a regular file, not a link, not a system, hidden or database file), at most `max_bytes`
    + 1 bytes of it."""
    if not str(path or "").strip():
        raise FieldError("is required: give the path of a file")
    try:
        return read_user_file(path, max_bytes)
    except FileTooLarge as exc:
        size = f" ({_size(exc.size)})" if exc.size is not None else ""
        raise FieldError(
            f"{exc.path.name} is too large{size}: attachments may be at most {_size(max_bytes)}"
        ) from None
    except FileRefused as exc:
        raise FieldError(exc.message) from None


class _AttachmentSpec(_Spec):
    kind, model, label, action = (
        Kind.ATTACHMENT,
        Attachment,
        "attachment",
        Action.MANAGE_ATTACHMENTS,
    )
    fields = ("path", "name", "note", "owner")
    owned = True
    external_flag = False

    def values(self, row) -> dict[str, Any]:  # noqa: ANN001
        return {"path": "", "name": row.name, "note": row.note, "owner": _owner_value(row)}

    def copy(self, row) -> dict[str, Any]:  # noqa: ANN001
        data = self.values(row)
        data["_content"] = bytes(row.data)
        data["_mime"] = row.mime_type
        return data

    def prepare(self, data: dict, row, settings: Settings) -> dict:  # noqa: ANN001
        if row is not None:
            if data.get("path"):
                raise ValidationError(
                    {"path": "the file of an attachment cannot be replaced: add it again"}
                )
            return data
        if "_content" in data:  # a duplicate: the content of the row copied
            if len(data["_content"]) > settings.attachment_max_bytes:
                raise ValidationError(
                    {"path": f"is too large: at most {_size(settings.attachment_max_bytes)}"}
                )
            return data
        try:
            name, content = read_attachment_file(
                data.get("path", ""), settings.attachment_max_bytes
            )
        except FieldError as exc:
            raise ValidationError({"path": str(exc)}) from None
        data = dict(data)
        data["_content"] = content
        data["_file_name"] = name
        return data

    def clean(self, data: dict, ctx: _Ctx, row) -> dict[str, Any]:  # noqa: ANN001
        p = Problems()
        name = p.check("name", clean_text, data.get("name") or data.get("_file_name"), 255)
        if not name and "name" not in p.errors:
            p.add("name", "is required")
        out = {
            "account": ctx.account.id,
            "name": name,
            "note": p.check("note", clean_text, data.get("note"), 1000) or "",
            "owner": _library(p, "owner", data.get("owner"), ctx.account),
        }
        if row is None:
            content = data["_content"]
            out["data"] = content
            out["size"] = len(content)
            guessed = mimetypes.guess_type(name or "")[0]
            out["mime_type"] = data.get("_mime") or guessed or "application/octet-stream"
            out["created_by"] = ctx.actor.name
            out["created_at"] = runtime.now()
        p.raise_if_any()
        return out


class _ProxySpec(_Spec):
    kind, model, label, action = Kind.PROXY, ProxyFor, "proxy", Action.MANAGE_PROXIES
    fields = ("target", "note")
    external_flag = False

    def values(self, row) -> dict[str, Any]:  # noqa: ANN001
        return {"target": row.target.primary_id, "note": row.note}

    def clean(self, data: dict, ctx: _Ctx, row) -> dict[str, Any]:  # noqa: ANN001
        p = Problems()
        account = ctx.account
        target = self._target(p, data.get("target"), ctx)
        if target is not None:
            if target.id == account.id:
                p.add("target", "a user cannot be their own proxy")
            elif target.organization_id != account.organization_id:
                p.add("target", "is in another organization")
            elif not any(r.role == Role.PATRON for r in active_roles(target)):
                p.add("target", "does not have an active Patron role")
            elif (
                self.query(account)
                .where((ProxyFor.target == target.id) & (ProxyFor.id != (row.id if row else 0)))
                .exists()
            ):
                p.add("target", "this user is already a proxy for them")
        out = {
            "account": account.id,
            "target": target.id if target else None,
            "note": p.check("note", clean_text, data.get("note"), 1000) or "",
        }
        p.raise_if_any()
        return out

    def _target(self, p: Problems, value: Any, ctx: _Ctx) -> Account | None:
        if value in (None, ""):
            p.add("target", "is required: give the user's primary identifier")
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            target = Account.get_or_none(Account.id == value)
        else:
            target = identifier_holder(str(value))
        if target is None or not can(ctx.actor.account, Action.VIEW_USER, target):
            p.add("target", "no user of this organization has this identifier")
            return None
        return target


class _RoleSpec(_Spec):
    kind, model, label, action = Kind.ROLE, RoleAssignment, "role", Action.MANAGE_ROLES
    fields = ("role", "scope", "status", "expiry_date")
    external_flag = False

    def values(self, row) -> dict[str, Any]:  # noqa: ANN001
        return {
            "role": row.role,
            "scope": row.scope.code if row.scope_id else "",
            "status": row.status,
            "expiry_date": row.expiry_date,
        }

    def clean(self, data: dict, ctx: _Ctx, row) -> dict[str, Any]:  # noqa: ANN001
        p = Problems()
        role = _enum(p, "role", Role, data.get("role"), "a role")
        scope = _library(p, "scope", data.get("scope"), ctx.account)
        status = _enum(p, "status", Status, data.get("status") or Status.ACTIVE, "a status")
        expiry = _date(
            p,
            "expiry_date",
            data.get("expiry_date"),
            not_past=True,
            current=row.expiry_date if row else None,
        )
        if role and (
            self.query(ctx.account)
            .where(
                (RoleAssignment.role == role)
                & (
                    RoleAssignment.scope.is_null()
                    if scope is None
                    else RoleAssignment.scope == scope
                )
                & (RoleAssignment.id != (row.id if row else 0))
            )
            .exists()
        ):
            p.add("role", "this user already has this role for this library")
        p.raise_if_any()
        administrator = Role.USER_ADMINISTRATOR.value
        # No role climbs above its own: the role given and the role replaced must both be
        # roles the actor may grant (only administrators make or unmake administrators).
        for given in dict.fromkeys((role, row.role if row else None)):
            if given:
                authorize_grant(ctx.actor.account, given)
        if (
            row is not None
            and self._active_admin(row)
            and not (role == administrator and status == Status.ACTIVE and expiry is None)
        ):
            self._keep_an_administrator(row, ctx)
        return {
            "account": ctx.account.id,
            "role": role,
            "scope": scope,
            "status": status,
            "expiry_date": expiry,
        }

    @staticmethod
    def _active_admin(row: RoleAssignment) -> bool:
        today = runtime.today()
        return (
            row.role == Role.USER_ADMINISTRATOR
            and row.status == Status.ACTIVE
            and (row.expiry_date is None or row.expiry_date >= today)
        )

    def _keep_an_administrator(self, row: RoleAssignment, ctx: _Ctx) -> None:
        others = (
            RoleAssignment.select()
            .join(Account)
            .where(
                (Account.organization == ctx.account.organization_id)
                & (Account.status == Status.ACTIVE.value)
                & (RoleAssignment.id != row.id)
            )
        )
        if not any(self._active_admin(r) for r in others):
            raise Refused(
                "This is the organization's last active User Administrator role: give the role "
                "to someone else first."
            )

    def check_deletable(self, row, ctx: _Ctx) -> None:  # noqa: ANN001
        if self.query(ctx.account).count() <= 1:
            raise Refused("Every user keeps at least one role: add another role first.")
        authorize_grant(ctx.actor.account, row.role)
        if self._active_admin(row):
            self._keep_an_administrator(row, ctx)

    def active_data(self, active: bool) -> dict[str, Any]:
        return {"status": (Status.ACTIVE if active else Status.INACTIVE).value}


SPECS: dict[Kind, _Spec] = {
    spec.kind: spec
    for spec in (
        _EmailSpec(),
        _PhoneSpec(),
        _AddressSpec(),
        _IdentifierSpec(),
        _NoteSpec(),
        _BlockSpec(),
        _StatisticSpec(),
        _AttachmentSpec(),
        _ProxySpec(),
        _RoleSpec(),
    )
}
# The kinds with activate / deactivate.
ACTIVATABLE = frozenset({Kind.IDENTIFIER, Kind.BLOCK, Kind.ROLE})


# --- The services -------------------------------------------------------------------------------


def _spec(kind: Kind | str) -> _Spec:
    try:
        return SPECS[Kind(kind)]
    except ValueError:
        raise ValueError(f"unknown kind of row: {kind!r}") from None


def _check_keys(spec: _Spec, data: dict) -> None:
    article = "an" if spec.label[0] in "aeiou" else "a"
    unknown = {k: f"is not a field of {article} {spec.label}" for k in data if k not in spec.fields}
    unknown = {k: v for k, v in unknown.items() if not k.startswith("_")}
    if unknown:
        raise ValidationError(unknown)


def _row(spec: _Spec, account: Account, row_id: int):  # noqa: ANN202
    row = spec.model.get_or_none(spec.model.id == row_id)
    if row is None or not spec.belongs(row, account):
        raise NotFound(
            f"This {spec.label} no longer exists: another staff user may have deleted it."
        )
    return row


def _authorize(spec: _Spec, actor: Actor, account: Account, *owners: int | None) -> None:
    authorize(actor.account, spec.action, account)
    if spec.on_person:
        # Contact rows are the person's, shared by their accounts in every organization.
        authorize_person(actor.account, account.person_id, spec.action)
    if spec.owned:
        for owner in dict.fromkeys(owners):
            if owner is not None:
                authorize(actor.account, spec.action, account, library_id=owner)


def _touch(spec: _Spec, ctx: _Ctx, expected_version: int) -> int:
    return touch(
        ctx.account,
        expected_version,
        ctx.actor,
        person_changes={} if spec.on_person else None,
    )


def _race(spec: _Spec, exc: IntegrityError) -> ValidationError:
    if spec.unique_field:
        return ValidationError(
            {spec.unique_field: "was just taken by another save: check the value and try again"}
        )
    raise exc


def list_rows(kind: Kind | str, account_id: int, actor: Actor) -> list:
    """The rows of a tab, oldest first; rows owned by a library outside the staff user's
    scope are left out (library independence)."""
    spec = _spec(kind)
    account = load_account(account_id)
    authorize(actor.account, Action.VIEW_USER, account)
    rows = spec.query(account).order_by(spec.model.id)
    if spec.owned:
        rows = rows.where(scope_of(actor.account, account).condition(spec.model.owner))
    return list(rows)


def row_values(kind: Kind | str, account_id: int, row_id: int, actor: Actor) -> dict[str, Any]:
    """A row in `add_row`'s input format, to fill an edit form."""
    spec = _spec(kind)
    account = load_account(account_id)
    authorize(actor.account, Action.VIEW_USER, account)
    row = _row(spec, account, row_id)
    if not spec.visible(row, actor, account):
        raise NotFound(f"This {spec.label} is owned by a library outside your scope.")
    return spec.values(row)


def add_row(
    kind: Kind | str,
    account_id: int,
    expected_version: int,
    data: dict[str, Any],
    actor: Actor,
    *,
    settings: Settings | None = None,
) -> Saved:
    """Add a row to the user's record. See each kind's `fields` for the keys of `data`."""
    spec = _spec(kind)
    settings = settings or load_settings()
    _check_keys(spec, data)
    # The permission before any work: an attachment's file is opened only for who may add it.
    _authorize(spec, actor, load_account(account_id))
    data = spec.prepare(dict(data), None, settings)
    try:
        with database.atomic():
            account = load_account(account_id)
            _authorize(spec, actor, account)
            check_version(account, expected_version)
            ctx = _Ctx(account, actor, settings)
            values = spec.clean(data, ctx, None)
            _authorize(spec, actor, account, values.get("owner"))
            version = _touch(spec, ctx, expected_version)
            row = spec.model.create(**values)
            audit.record_changes(actor, row, None, audit.snapshot(row), **ctx.ids)
            spec.after_save(row, ctx, True, {})
            return Saved(spec.model.get_by_id(row.id), version)
    except IntegrityError as exc:
        raise _race(spec, exc) from None


def update_row(
    kind: Kind | str,
    account_id: int,
    row_id: int,
    expected_version: int,
    data: dict[str, Any],
    actor: Actor,
    *,
    settings: Settings | None = None,
) -> Saved:
    """Change the fields of `data` (the others keep their values). A row from the SIS
    (external) is read-only: `Refused`."""
    spec = _spec(kind)
    settings = settings or load_settings()
    _check_keys(spec, data)
    try:
        with database.atomic():
            account = load_account(account_id)
            row = _row(spec, account, row_id)
            _authorize(spec, actor, account, getattr(row, "owner_id", None))
            check_version(account, expected_version)
            ctx = _Ctx(account, actor, settings)
            spec.check_writable(row, data, ctx)
            merged = spec.prepare({**spec.values(row), **data}, row, settings)
            values = spec.clean(merged, ctx, row)
            _authorize(spec, actor, account, values.get("owner"))
            changed = {k: v for k, v in values.items() if row.__data__.get(k) != v}
            if not changed:
                return Saved(row, account.version)
            version = _touch(spec, ctx, expected_version)
            before = audit.snapshot(row)
            spec.model.update(**changed).where(spec.model.id == row.id).execute()
            row = spec.model.get_by_id(row.id)
            audit.record_changes(actor, row, before, audit.snapshot(row), **ctx.ids)
            spec.after_save(row, ctx, False, before)
            return Saved(spec.model.get_by_id(row.id), version)
    except IntegrityError as exc:
        raise _race(spec, exc) from None


def duplicate_row(
    kind: Kind | str,
    account_id: int,
    row_id: int,
    expected_version: int,
    actor: Actor,
    changes: dict[str, Any] | None = None,
    *,
    settings: Settings | None = None,
) -> Saved:
    """Add a copy of a row with `changes` laid over it. The copy is internal and not
    preferred; an identifier or a statistic needs a new value, as uniqueness requires."""
    spec = _spec(kind)
    account = load_account(account_id)
    authorize(actor.account, Action.VIEW_USER, account)
    row = _row(spec, account, row_id)
    if not spec.visible(row, actor, account):
        raise NotFound(f"This {spec.label} is owned by a library outside your scope.")
    data = {**spec.copy(row), **(changes or {})}
    return add_row(kind, account_id, expected_version, data, actor, settings=settings)


def delete_row(
    kind: Kind | str,
    account_id: int,
    row_id: int,
    expected_version: int,
    actor: Actor,
    *,
    settings: Settings | None = None,
) -> int:
    """Delete a row; returns the account's new version."""
    spec = _spec(kind)
    settings = settings or load_settings()
    with database.atomic():
        account = load_account(account_id)
        row = _row(spec, account, row_id)
        _authorize(spec, actor, account, getattr(row, "owner_id", None))
        check_version(account, expected_version)
        ctx = _Ctx(account, actor, settings)
        spec.check_deletable(row, ctx)
        version = _touch(spec, ctx, expected_version)
        audit.record_changes(actor, row, audit.snapshot(row), None, **ctx.ids)
        spec.model.delete().where(spec.model.id == row.id).execute()
        spec.after_delete(row, ctx)
        return version


def set_row_active(
    kind: Kind | str,
    account_id: int,
    row_id: int,
    expected_version: int,
    active: bool,
    actor: Actor,
) -> Saved:
    """Activate or deactivate an identifier, a block or a role."""
    spec = _spec(kind)
    return update_row(
        kind, account_id, row_id, expected_version, spec.active_data(bool(active)), actor
    )


def popup_notes(account_id: int, actor: Actor) -> list[Note]:
    """The pop-up notes to show in a modal when the record is opened at the desk."""
    return [n for n in list_rows(Kind.NOTE, account_id, actor) if n.popup]


def save_attachment(
    attachment_id: int, path: str | Path, actor: Actor, *, overwrite: bool = False
) -> Path:
    """Write an attachment back out to `path` (a folder: under the attachment's name).
    Returns the file written (mode 0600). Taking a file out of the database onto the server's
    disk needs the right to manage attachments (for the attachment's library), as adding one
    does; every save is audited (an export event in the user's History: which attachment,
    where). Refuses to overwrite a file unless `overwrite` (the user confirmed), and never
    writes over a special file, a symbolic link or the database's own files
    (`models.store.files.PrivateFile`)."""
    row = Attachment.get_or_none(Attachment.id == attachment_id)
    if row is None:
        raise NotFound("This attachment no longer exists: another staff user may have deleted it.")
    account = load_account(row.account_id)
    authorize(actor.account, Action.VIEW_USER, account, library_id=row.owner_id)
    authorize(actor.account, Action.MANAGE_ATTACHMENTS, account, library_id=row.owner_id)
    if not str(path or "").strip():
        raise ValidationError({"path": "is required: give a file or folder to save to"})
    target = Path(str(path).strip()).expanduser()
    if target.is_dir() and not target.is_symlink():
        target = target / Path(row.name).name
    try:
        with PrivateFile(target, overwrite=overwrite, binary=True) as out:
            out.write(bytes(row.data))
            with database.atomic():  # the event stands only with the file in place
                audit.record(
                    actor,
                    AuditAction.EXPORT,
                    entity="attachment",
                    entity_id=row.id,
                    account_id=account.id,
                    field="file",
                    new=f"{row.name} to {out.target}",
                )
                out.commit()
    except TargetExists as exc:
        raise ValidationError({"path": f"{exc.path} already exists: choose another name"}) from None
    except FileRefused as exc:
        raise ValidationError({"path": exc.message}) from None
    except OSError as exc:
        raise ValidationError(
            {"path": f"{target} cannot be written: {exc.strerror or exc}"}
        ) from None
    return out.target


__all__ = [
    "ACTIVATABLE",
    "Kind",
    "Refused",
    "Saved",
    "add_row",
    "delete_row",
    "duplicate_row",
    "list_rows",
    "popup_notes",
    "read_attachment_file",
    "row_values",
    "save_attachment",
    "set_row_active",
    "update_row",
]
