"""Contact information (models.users.rows): emails, phones and addresses, kept on the person."""

from __future__ import annotations

from typing import Any

from models import audit
from models.access.permissions import Action
from models.enums import AddressType, Channel, EmailType, PhoneType
from models.store.base import fold_key
from models.store.tables import Account, Address, Email, Phone
from models.users.contact_types import type_problem
from models.users.details import ids_of
from models.users.rows.base import Kind, _bool, _Ctx, _date, _enum, _Spec
from models.users.validation import (
    Problems,
    check_country,
    check_email,
    check_phone,
    check_regex,
    clean_text,
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


_TYPE_NAMES = {"email": "an email type", "phone": "a phone type", "address": "an address type"}


def _typed(p: Problems, ctx: _Ctx, kind: str, enum, value: Any) -> Any:  # noqa: ANN001
    """The row's type: one of the vocabulary, and one the account's record type may use (a
    contact's claim email, no contact's school email)."""
    field = f"{kind}_type"
    checked = _enum(p, field, enum, value, _TYPE_NAMES[kind])
    if checked and (problem := type_problem(kind, checked, ctx.account.record_type)):
        p.add(field, problem)
    return checked


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
            "email_type": _typed(p, ctx, "email", EmailType, data.get("email_type")),
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
            "phone_type": _typed(p, ctx, "phone", PhoneType, data.get("phone_type")),
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


# An address's lines (Alma's Address line 1 to 5), in their order.
ADDRESS_LINES = ("line1", "line2", "line3", "line4", "line5")


class _AddressSpec(_Spec):
    kind, model, label, action = Kind.ADDRESS, Address, "address", Action.EDIT_CONTACT
    fields = (
        "address_type",
        *ADDRESS_LINES,
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
        out["address_type"] = _typed(p, ctx, "address", AddressType, data.get("address_type"))
        for name in ADDRESS_LINES:
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
