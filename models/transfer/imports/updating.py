"""The importer's update of an existing account: General fields, local overrides kept, the
file's rows against the stored ones."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from models import audit
from models.enums import (
    AuditAction,
    Channel,
)
from models.store.tables import (
    Account,
    Address,
    Block,
    Email,
    Identifier,
    ImportState,
    LocalOverride,
    Note,
    Person,
    Phone,
    Statistic,
)
from models.transfer.imports.checking import ROW_KINDS
from models.transfer.imports.preview import _slices
from models.transfer.imports.writer import _same, row_values
from models.users.derived import (
    person_derived,
    store_primary_id,
)
from models.users.external import encode
from models.users.rows.contact import ADDRESS_LINES

if TYPE_CHECKING:
    from models.transfer.imports.importer import Importer


class _Updating:
    """Methods of `Importer` (models/transfer/imports/importer.py)."""

    # -- updating an existing account --

    def _update(self, rec: dict) -> bool:
        """Apply the record to its matched account (in the caller's savepoint). Returns whether
        anything changed."""
        from models.users.external import overridden_fields, sis_yielding_fields

        current = self._current
        account = current["accounts"].get(rec["match"]["id"]) or Account.get_by_id(
            rec["match"]["id"]
        )
        person = account.person
        ids = {"account_id": account.id, "person_id": person.id}
        sis = self.opts.external
        if not sis:
            overridden = frozenset()
        elif account.id in current["accounts"]:
            overridden = current["overrides"].get(account.id, frozenset())
        else:
            overridden = overridden_fields(account.id)
        if sis and overridden:
            # Hand changes staff let the next SIS load override (Alma's question on Open for
            # update): this load writes its value, and the field follows the SIS again.
            yielding = (
                current["yielding"].get(account.id, frozenset())
                if account.id in current["accounts"]
                else sis_yielding_fields(account.id)
            )
            if yielding:
                LocalOverride.delete().where(
                    (LocalOverride.account == account.id)
                    & (LocalOverride.field.in_(list(yielding)))
                ).execute()
                overridden = frozenset(overridden) - yielding
        codes = rec["code_ids"]
        changed = False

        # General fields: person and account columns.
        person_new = dict(rec["person"])
        person_new.pop("email", None)
        if rec.get("login_email") and not person.email:
            person_new["email"] = rec["login_email"]
        if "email" in rec["person"] and rec["own"]:
            person_new["email"] = rec.get("login_email")
        # The record type is chosen at creation (as on the screens).
        account_new = {
            k: v for k, v in rec["account"].items() if k not in _BOOKKEEPING and k != "record_type"
        }
        for name in ("user_group", "job_category", "campus"):
            if name in codes:
                account_new[f"{name}_id"] = codes[name]
        if sis and account.owning_system != self.source:
            account_new["owning_system"] = self.source
        if rec["key"] != account.primary_id_key or rec["primary_id"] != account.primary_id:
            # Matched by another identifier (--match): the file's primary id becomes the one.
            account_new["primary_id"] = rec["primary_id"]
        person_cols, account_cols = {}, {}
        for column, value in person_new.items():
            if column in overridden:
                self._keep_original(account, column, value)
                continue
            if getattr(person, column) != value:
                person_cols[column] = value
        for column, value in account_new.items():
            fieldname = column[:-3] if column.endswith("_id") and column[:-3] in codes else column
            if fieldname in overridden:
                self._keep_original(account, fieldname, value)
                continue
            if getattr(account, column) != value:
                account_cols[column] = value
        if person_cols:
            person_cols.update(person_derived(person_cols, person))
            before = audit.snapshot(person)
            Person.update(**person_cols, version=Person.version + 1, updated_at=self.now).where(
                Person.id == person.id
            ).execute()
            person = Person.get_by_id(person.id)
            audit.record_changes(self.actor, person, before, audit.snapshot(person), **ids)
            # The person's other accounts show the same data: their screens must reload.
            Account.update(version=Account.version + 1).where(
                (Account.person == person.id) & (Account.id != account.id)
            ).execute()
            changed = True
        # Rows.
        known = current["rows"].get("emails")
        if known is not None and account.id in current["accounts"]:
            had_emails = bool(known.get(person.id))
        else:
            had_emails = Email.select().where(Email.person == person.id).exists()
        emails_changed = False
        kept: list[tuple[str, tuple, list[str]]] = []  # rows the file says otherwise
        for kind in ROW_KINDS:
            if kind in rec["rows"]:
                synced = self._sync_rows(kind, rec["rows"][kind], account, person, ids, sis, kept)
                changed |= synced
                emails_changed |= synced and kind == "emails"
        for kind, key, fields in kept:
            # Not changed, and said: "unchanged" alone hid a block lifted or a role ended.
            shown = " ".join(k for k in key if isinstance(k, str) and k) or kind
            verb = "differs" if len(fields) == 1 else "differ"
            self._issue(
                rec,
                "warning",
                kind,
                f"{shown}: {', '.join(fields)} {verb} from the file's, left as it is (an "
                "import adds the rows a user has not; a SIS load, --external, replaces them)",
            )
        emails_now = (
            Email.select().where(Email.person == person.id).exists()
            if emails_changed
            else had_emails
        )
        wanted_channel = account_cols.get("comm_channel", account.comm_channel)
        if wanted_channel == Channel.EMAIL.value and not emails_now:
            account_cols["comm_channel"] = Channel.MAIL.value
        elif "comm_channel" not in rec["account"] and emails_now and not had_emails:
            account_cols["comm_channel"] = Channel.EMAIL.value  # the channel follows the email
        if "comm_channel" in account_cols and account_cols["comm_channel"] == account.comm_channel:
            account_cols.pop("comm_channel")
        changed |= self._sync_libraries(rec, account, overridden, ids)
        if account_cols or changed:
            if "primary_id" in account_cols:
                store_primary_id(account, account_cols.pop("primary_id"), self.actor)
            before = audit.snapshot(account)
            Account.update(
                **account_cols,
                version=Account.version + 1,
                updated_by=self.actor.name,
                updated_at=self.now,
            ).where(Account.id == account.id).execute()
            account = Account.get_by_id(account.id)
            audit.record_changes(self.actor, account, before, audit.snapshot(account), **ids)
            changed = True
        ImportState.insert(
            account=account.id,
            source=self.source,
            digest=rec["digest"],
            account_version=account.version,
            loaded_at=self.now,
        ).on_conflict(
            conflict_target=[ImportState.account],
            update={
                ImportState.source: self.source,
                ImportState.digest: rec["digest"],
                ImportState.account_version: account.version,
                ImportState.loaded_at: self.now,
            },
        ).execute()
        return changed

    def _load_current(self, records: list[dict]) -> dict:
        """What the matched accounts of a chunk hold, read with one query per table: the
        accounts with their people, hand-changed fields and the rows of each kind the file
        carries (each record changes only its own account and person)."""
        out: dict[str, Any] = {"accounts": {}, "overrides": {}, "yielding": {}, "rows": {}}
        account_ids = [r["match"]["id"] for r in records]
        if not account_ids:
            return out
        for part in _slices(account_ids):
            for a in Account.select(Account, Person).join(Person).where(Account.id.in_(part)):
                out["accounts"][a.id] = a
        if self.opts.external:
            for part in _slices(account_ids):
                for o in LocalOverride.select(
                    LocalOverride.account, LocalOverride.field, LocalOverride.sis_may_override
                ).where(LocalOverride.account.in_(part)):
                    out["overrides"].setdefault(o.account_id, set()).add(o.field)
                    if o.sis_may_override:
                        out["yielding"].setdefault(o.account_id, set()).add(o.field)
        person_ids = [a.person_id for a in out["accounts"].values()]
        kinds = {k for r in records for k in r["rows"]}
        for kind in kinds:
            spec = _ROW_SPECS[kind]
            model = spec["model"]
            column = model.person if spec["on_person"] else model.account
            owners = person_ids if spec["on_person"] else account_ids
            by_owner: dict[int, list] = {}
            for part in _slices(owners):
                query = model.select().where(column.in_(part))
                if kind == "identifiers":
                    query = query.where(Identifier.is_primary == False)  # noqa: E712
                for row in query.order_by(model.id):
                    by_owner.setdefault(row.__data__[column.name], []).append(row)
            out["rows"][kind] = by_owner
        return out

    def _sync_libraries(
        self, rec: dict, account: Account, overridden: frozenset, ids: dict
    ) -> bool:
        """The record's resource sharing and purchase request libraries (those it names) replace
        the account's, with a History line each; a list staff changed by hand on an external
        account is kept on a SIS load (its SIS value noted for "original value")."""
        from models.store.tables import Library
        from models.users.fields import LIBRARY_FIELDS
        from models.users.libraries import joined, library_codes, set_library_ids

        codes = rec["code_ids"]
        changed = False
        for name in LIBRARY_FIELDS:
            if name not in codes:
                continue
            wanted = list(codes[name] or ())
            by_id = {r.id: r.code for r in Library.select().where(Library.id.in_(wanted or [0]))}
            new = [by_id[i] for i in wanted if i in by_id]
            if name in overridden:
                self._keep_original(account, name, new)
                continue
            old = library_codes(account.id, name)
            if old == new:
                continue
            set_library_ids(account.id, name, wanted)
            audit.record(
                self.actor,
                AuditAction.UPDATE,
                entity="account",
                entity_id=account.id,
                field=name,
                old=joined(old) or None,
                new=joined(new) or None,
                **ids,
            )
            changed = True
        return changed

    def _keep_original(self, account: Account, field: str, value: Any) -> None:
        """A field staff changed by hand keeps their value; the SIS value becomes the one
        "original value" puts back."""
        if field.endswith("_id"):
            field = field[:-3]
        LocalOverride.update(original=encode(value)).where(
            (LocalOverride.account == account.id) & (LocalOverride.field == field)
        ).execute()

    def _sync_rows(
        self,
        kind: str,
        incoming: list[dict],
        account: Account,
        person: Person,
        ids: dict,
        sis: bool,
        kept: list[tuple[str, tuple, list[str]]] | None = None,
    ) -> bool:
        """The rows of `kind` as the file gives them: added when missing; with `sis` the
        matched ones updated and the SIS's own others deleted. Without, a matched row whose
        values differ is left as it is and named in `kept` (kind, key, fields)."""
        spec = _ROW_SPECS[kind]
        model = spec["model"]
        owner_col = "person" if spec["on_person"] else "account"
        owner_id = person.id if spec["on_person"] else account.id
        preloaded = self._current["rows"].get(kind)
        if preloaded is not None and account.id in self._current["accounts"]:
            current = list(preloaded.get(owner_id, []))
        else:
            query = model.select().where(getattr(model, owner_col) == owner_id)
            if kind == "identifiers":
                query = query.where(Identifier.is_primary == False)  # noqa: E712
            current = list(query)
        key = spec["key"]
        flags = [n for n in ("preferred", "preferred_sms") if n in model._meta.fields]
        values = [spec["values"](self, r) for r in incoming]
        # Staff's choice of preferred row (an internal row) wins over the file's.
        taken = {
            n: any(getattr(r, n) and (not r.external or not sis) for r in current) for n in flags
        }
        for v in values:
            for n in flags:
                if taken[n]:
                    v[n] = False
        changed = False
        by_key = {key(v): v for v in values}
        matched: set = set()
        for row in current:
            k = key(row.__data__)
            if k in by_key and k not in matched:
                matched.add(k)
                if not sis:  # an import without --external adds what is missing, no more
                    if kept is not None and (fields := _said_otherwise(row, by_key[k], flags)):
                        kept.append((kind, k, fields))
                    continue
                want = by_key[k]
                # Who added a row and when stay as they are (the creation's own facts).
                diff = {
                    c: v
                    for c, v in want.items()
                    if c not in _ROW_BOOKKEEPING and row.__data__.get(c) != v
                }
                diff["external"] = True  # the SIS sends this value: it is now its own
                if row.external:
                    diff.pop("external")
                if diff:
                    before = audit.snapshot(row)
                    model.update(**diff).where(model.id == row.id).execute()
                    after = model.get_by_id(row.id)
                    audit.record_changes(self.actor, after, before, audit.snapshot(after), **ids)
                    changed = True
            elif sis and row.external:
                before = audit.snapshot(row)
                model.delete().where(model.id == row.id).execute()
                audit.record_changes(self.actor, row, before, None, **ids)
                changed = True
        for v in values:
            if key(v) in matched:
                continue
            if sis:
                v["external"] = True
            v[owner_col] = owner_id
            row = model.create(**v)
            audit.record_changes(self.actor, row, None, audit.snapshot(row), **ids)
            changed = True
        return changed


_BOOKKEEPING = frozenset({"created_at", "created_by", "updated_at", "updated_by"})
# The person's login and contact rows, shared by their accounts in every organization.
_LOGIN = frozenset({"username", "email"})
_CONTACT_KINDS = frozenset({"emails", "phones", "addresses"})
_ROW_BOOKKEEPING = frozenset({"created_at", "created_by"})
_ROW_TYPES = frozenset({"email_type", "phone_type", "address_type"})


def _said_otherwise(row: Any, want: dict, flags: list[str]) -> list[str]:
    """The columns of a stored row the file gives another value for (a row left as it is by
    an import without --external, `_sync_rows`). Only what a file says: a value left empty,
    a flag at its default or a type (most formats have one type, or none, for every row)
    is what a format fills in for what it does not carry, not a word of the file."""
    out = []
    for c, v in want.items():
        if c in _ROW_BOOKKEEPING or c in _ROW_TYPES or c in flags or c == "external":
            continue
        if v is None or v == "" or (v is False and c != "active") or (v is True and c == "active"):
            continue
        if row.__data__.get(c) != v:
            out.append(c)
    return out


def _email_values(imp: Importer, r: dict) -> dict:
    return row_values("email", imp._email_row(r, 0), "person_id")


def _phone_values(imp: Importer, r: dict) -> dict:
    return row_values("phone", imp._phone_row(r, 0), "person_id")


def _address_row(imp: Importer, r: dict) -> dict:
    return row_values("address", imp._address_row(r, 0, _same), "person_id")


def _identifier_values(imp: Importer, r: dict) -> dict:
    return row_values(
        "identifier", imp._identifier_row(r, 0), "account_id", {"id_type_id": "id_type"}
    )


def _note_row(imp: Importer, r: dict) -> dict:
    return row_values(
        "note",
        imp._note_row(r, 0, _same, imp.now),
        "account_id",
        {"note_type_id": "note_type", "owner_id": "owner"},
    )


def _block_row(imp: Importer, r: dict) -> dict:
    v = imp._block_values(r, 0, lambda x: x)
    v.pop("account_id")
    v["definition"] = v.pop("definition_id")
    v["owner"] = v.pop("owner_id")
    return v


def _stat_row(imp: Importer, r: dict) -> dict:
    v = imp._stat_values(r, 0)
    v.pop("account_id")
    v["category"] = v.pop("category_id")
    v["owner"] = v.pop("owner_id")
    return v


def _data(row: dict, *names: str) -> tuple:
    return tuple(row.get(n) for n in names)


# kind -> how rows of the file are compared with the stored ones: the same key is the same row.
_ROW_SPECS: dict[str, dict[str, Any]] = {
    "emails": {
        "model": Email,
        "on_person": True,
        "values": _email_values,
        "key": lambda d: (d.get("address_key"),),
    },
    "phones": {
        "model": Phone,
        "on_person": True,
        "values": _phone_values,
        "key": lambda d: (d.get("number"),),
    },
    "addresses": {
        "model": Address,
        "on_person": True,
        "values": _address_row,
        "key": lambda d: _data(d, "address_type", *ADDRESS_LINES, "city", "postal_code", "country"),
    },
    "identifiers": {
        "model": Identifier,
        "on_person": False,
        "values": _identifier_values,
        "key": lambda d: (d.get("value_key"),),
    },
    "notes": {
        "model": Note,
        "on_person": False,
        "values": _note_row,
        "key": lambda d: (d.get("note_type", d.get("note_type_id")), d.get("text")),
    },
    "blocks": {
        "model": Block,
        "on_person": False,
        "values": _block_row,
        "key": lambda d: (d.get("definition", d.get("definition_id")), d.get("note")),
    },
    "statistics": {
        "model": Statistic,
        "on_person": False,
        "values": _stat_row,
        "key": lambda d: (d.get("category", d.get("category_id")),),
    },
}
