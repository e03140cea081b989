"""What every kind of row shares (models.users.rows): `Kind`, `Refused`, `Saved`, the
checking helpers and `_Spec`, the description of one kind that the services run.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from models import audit
from models.access.permissions import Action
from models.access.scope import scope_of
from models.audit import Actor
from models.config.codes import find_code
from models.config.settings import Settings
from models.errors import PatronDeskError, ValidationError
from models.runtime import runtime
from models.store.tables import Account, CodeTable, Library
from models.users.details import ids_of
from models.users.external import is_external
from models.users.validation import Problems, check_not_past, parse_date


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
