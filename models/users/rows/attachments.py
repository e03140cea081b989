"""Attachments, proxies and roles (models.users.rows)."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from models.access.permissions import Action, authorize_grant
from models.config.settings import Settings, load_settings
from models.enums import Role, Status
from models.errors import ValidationError
from models.runtime import runtime
from models.store.files import FileRefused, FileTooLarge, read_user_file
from models.store.tables import Account, Attachment, ProxyFor, RoleAssignment
from models.users.proxies import sponsor_problem
from models.users.rows.base import Kind, Refused, _Ctx, _date, _enum, _library, _Spec
from models.users.rows.records import _owner_value
from models.users.validation import FieldError, Problems, clean_text

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
        target, problem = sponsor_problem(
            data.get("target"), ctx.actor.account, account.organization_id, proxy_id=account.id
        )
        if problem:
            p.add("target", problem)
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
        if (
            role
            and role != Role.PATRON.value
            and scope is None
            and status == Status.ACTIVE.value
            and "scope" not in p.errors
            and load_settings().staff_role_needs_library
        ):
            # RERO ILS: "Affiliation libraries: required for professional users" (switching
            # off a role kept from before the setting is no grant: allowed).
            p.add(
                "scope",
                "a staff role needs an affiliation library (the setting 'Staff roles need a "
                "library'): choose the library this role is for",
            )
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
