"""Identifiers, notes, blocks and statistics (models.users.rows)."""

from __future__ import annotations

from typing import Any

from models.access.permissions import Action
from models.config.codes import not_applying
from models.errors import ValidationError
from models.runtime import runtime
from models.store.base import fold_key
from models.store.tables import (
    Block,
    BlockDefinition,
    Identifier,
    IdentifierType,
    Note,
    NoteType,
    StatCategory,
    Statistic,
)
from models.users.accounts import holder_label, identifier_holder
from models.users.rows.base import Kind, Refused, _bool, _code, _Ctx, _date, _library, _Spec
from models.users.validation import Problems, check_identifier, clean_text

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
        current_type = row.id_type_id if row else None
        id_type = _code(
            p,
            "id_type",
            IdentifierType,
            data.get("id_type"),
            ctx.account,
            required=not primary,
            current_id=current_type,
        )
        # The types of the user's record type only (Alma: "This list may be different for
        # staff and public users"); the type a row has already stays.
        if (
            id_type is not None
            and id_type != current_type
            and (
                problem := not_applying(IdentifierType.get_by_id(id_type), ctx.account.record_type)
            )
        ):
            p.add("id_type", problem)
        out = {
            "account": ctx.account.id,
            "value": value,
            "value_key": fold_key(value),
            "id_type": id_type,
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
