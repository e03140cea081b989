"""The services of models.users.rows, one set for every kind: list, read, add, update,
duplicate, delete, activate, plus the popup notes and saving an attachment to a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from peewee import IntegrityError

from models import audit
from models.access.permissions import Action, authorize, authorize_person
from models.access.scope import scope_of
from models.audit import Actor
from models.config.settings import Settings, load_settings
from models.enums import AuditAction
from models.errors import NotFound, ValidationError
from models.store.base import database
from models.store.files import FileRefused, PrivateFile, TargetExists
from models.store.tables import Account, Attachment, Note
from models.users.details import check_version, load_account, touch
from models.users.rows.base import Kind, Refused, Saved, _Ctx, _Spec
from models.users.rows.specs import SPECS, absent_kinds

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


def _check_present(spec: _Spec, account: Account) -> None:
    """A record type without this kind's tab (a contact's identifiers and blocks) gets none."""
    if spec.kind in absent_kinds(account.record_type):
        raise Refused(
            f"{account.record_type.capitalize()} records have no {spec.label}s "
            f"(no such tab): the {spec.label} was not added."
        )


def _checked_new(spec: _Spec, ctx: _Ctx, data: dict) -> dict[str, Any]:
    """The values a new row would store, checked (its fields, then the right over its owner
    library); reads only."""
    values = spec.clean(data, ctx, None)
    _authorize(spec, ctx.actor, ctx.account, values.get("owner"))
    return values


def _checked_deletable(spec: _Spec, ctx: _Ctx, row) -> None:  # noqa: ANN001
    _authorize(spec, ctx.actor, ctx.account, getattr(row, "owner_id", None))
    spec.check_deletable(row, ctx)


def check_add(
    kind: Kind | str,
    account: Account,
    data: dict[str, Any],
    actor: Actor,
    *,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """What `add_row` checks before it writes, reading only (a bulk job's preview and plan,
    `models.jobs.rows`): the values the row would have; raises the refusal `add_row` would."""
    spec = _spec(kind)
    settings = settings or load_settings()
    _check_keys(spec, data)
    _authorize(spec, actor, account)
    _check_present(spec, account)
    data = spec.prepare(dict(data), None, settings)
    return _checked_new(spec, _Ctx(account, actor, settings), data)


def check_delete(
    kind: Kind | str, account: Account, row, actor: Actor, *, settings: Settings | None = None
) -> None:  # noqa: ANN001
    """What `delete_row` checks before it deletes `row` of `account`, reading only; raises
    the refusal `delete_row` would."""
    spec = _spec(kind)
    if not spec.belongs(row, account):
        raise NotFound(f"This {spec.label} is not the user's.")
    _checked_deletable(spec, _Ctx(account, actor, settings or load_settings()), row)


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
    account = load_account(account_id)
    _authorize(spec, actor, account)
    _check_present(spec, account)
    data = spec.prepare(dict(data), None, settings)
    try:
        with database.atomic():
            account = load_account(account_id)
            _authorize(spec, actor, account)
            check_version(account, expected_version)
            ctx = _Ctx(account, actor, settings)
            values = _checked_new(spec, ctx, data)
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
        _checked_deletable(spec, ctx, row)
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


class SaveTargetExists(ValidationError):
    """`save_attachment` found a file where it would write: replaced only when the user
    confirms (`overwrite`). `path` is that file (a folder given: the attachment's name in it)."""

    def __init__(self, path: Path) -> None:
        super().__init__({"path": f"{path} already exists: choose another name"})
        self.path = path


def save_attachment(
    attachment_id: int, path: str | Path, actor: Actor, *, overwrite: bool = False
) -> Path:
    """Write an attachment back out to `path` (a folder: under the attachment's name).
    Returns the file written (mode 0600). Taking a file out of the database onto the server's
    disk needs the right to manage attachments (for the attachment's library), as adding one
    does; every save is audited (an export event in the user's History: which attachment,
    where). Refuses to overwrite a file unless `overwrite` (the user confirmed), and never
    writes over a special file, a symbolic link or the database's own files
    (`models.store.files.PrivateFile`). An existing file: `SaveTargetExists` (a
    `ValidationError` of the field `path`), which a screen turns into a question."""
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
        raise SaveTargetExists(exc.path) from None
    except FileRefused as exc:
        raise ValidationError({"path": exc.message}) from None
    except OSError as exc:
        raise ValidationError(
            {"path": f"{target} cannot be written: {exc.strerror or exc}"}
        ) from None
    return out.target
