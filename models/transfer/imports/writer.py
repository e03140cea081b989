"""The importer's writing: codes resolved, new users inserted in bulk, their rows and roles."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any

from peewee import IntegrityError

from models.access.permissions import (
    grantable_roles,
)
from models.enums import (
    AccountType,
    AuditAction,
    Channel,
    Role,
    Source,
    Status,
)
from models.store.base import fold_key
from models.store.bulk import iso_text
from models.store.tables import (
    Account,
    Address,
    Attachment,
    Email,
    LocalOverride,
    Person,
    PersonPhoto,
    Phone,
    ProxyFor,
    RoleRule,
    UserGroup,
)
from models.transfer.imports.checking import PERSON_TEXT, _time_or_none
from models.transfer.imports.codes import _Unknown
from models.transfer.imports.options import Issue
from models.transfer.imports.preview import _integrity_message
from models.transfer.imports.tables import _atomic, _DryRunRollback, _tables
from models.users.derived import (
    default_username,
    person_derived,
    registration_expiry,
)
from models.users.fields import (
    ACCOUNT,
    DATE_KINDS,
    FIELDS,
    IDENTIFIER,
    IMPORT,
    LANGUAGE,
    LIBRARY_FIELDS,
)
from models.users.libraries import KINDS

# The account's fields an import enters and writes as the record gives them (models/users/
# fields.py: texts, flags, choices, ...), with what a record that says nothing of one gets: its
# column's default. `_insert` writes the primary identifier, the dates, the letters' language and
# the communication channel by their own rules.
_ACCOUNT_AS_GIVEN: tuple[tuple[str, Any], ...] = tuple(
    (f.name, Account._meta.columns[f.name].default)
    for f in FIELDS
    if f.owner == ACCOUNT
    and IMPORT in f.modes
    and f.kind not in (*DATE_KINDS, IDENTIFIER, LANGUAGE)
    and f.name != "comm_channel"
)


# The coded columns of a record's rows `_resolve_all` resolves: (rows, code, its id, table).
_ROW_CODES = (
    ("identifiers", "id_type", "id_type_id", "identifier_type"),
    ("notes", "note_type", "note_type_id", "note_type"),
    ("blocks", "definition", "definition_id", "block_definition"),
)


# The columns `_Writing._rows_of` builds its tuples in, by table: checked against the bulk
# tables (models/transfer/imports/tables.py) when first used, so that a column added to a
# table cannot be filled out of place silently.
_LAYOUT = {
    "person": (
        "id",
        "username",
        "username_key",
        "username_skeleton",
        "email",
        "email_key",
        "password_hash",
        "first_name",
        "middle_name",
        "last_name",
        "preferred_first_name",
        "preferred_middle_name",
        "preferred_last_name",
        "sort_name",
        "search_text",
        "name_sound_key",
        "title",
        "birth_date",
        "gender",
        "website",
        "preferred_language",
        "keep_history",
        "force_password_change",
        "failed_logins",
        "locked_until",
        "last_login_at",
        "created_at",
        "updated_at",
        "version",
    ),
    "account": (
        "id",
        "organization_id",
        "person_id",
        "primary_id",
        "primary_id_key",
        "account_type",
        "record_type",
        "user_group_id",
        "job_category_id",
        "job_description",
        "campus_id",
        "status",
        "status_date",
        "expiry_date",
        "purge_date",
        "comm_channel",
        "comm_language",
        "additional_email",
        "pin_hash",
        "owning_system",
        "letters_opt_in",
        "letter_general",
        "letter_expiry_reminder",
        "resource_sharing_library_id",
        "purchase_request_library_id",
        "cataloger_level",
        "local_codes",
        "researcher",
        "sort_name",
        "last_activity_at",
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
        "version",
    ),
    "identifier": (
        "account_id",
        "id_type_id",
        "value",
        "value_key",
        "is_primary",
        "note",
        "active",
        "external",
    ),
    "email": (
        "person_id",
        "address",
        "address_key",
        "email_type",
        "preferred",
        "description",
        "external",
    ),
    "address": (
        "person_id",
        "address_type",
        "line1",
        "line2",
        "line3",
        "line4",
        "line5",
        "city",
        "state",
        "postal_code",
        "country",
        "note",
        "start_date",
        "end_date",
        "preferred",
        "external",
    ),
    "phone": ("person_id", "number", "phone_type", "preferred", "preferred_sms", "external"),
    "note": (
        "account_id",
        "note_type_id",
        "text",
        "user_viewable",
        "popup",
        "owner_id",
        "external",
        "created_by",
        "created_at",
    ),
    "account_library": ("account_id", "kind", "library_id"),
    "role_assignment": ("account_id", "role", "scope_id", "status", "expiry_date"),
    "audit_event": (
        "account_id",
        "person_id",
        "entity",
        "entity_id",
        "action",
        "field",
        "old_value",
        "new_value",
        "actor_id",
        "actor",
        "source",
        "at",
        "job_id",
    ),
    "import_state": ("account_id", "source", "digest", "account_version", "loaded_at"),
}
_ACCOUNT_DEFAULTS = dict(_ACCOUNT_AS_GIVEN)
_LAYOUT_CHECKED: list[bool] = []


def _check_layout(t: Any) -> None:
    if _LAYOUT_CHECKED:
        return
    for table in t.order:
        expected = _LAYOUT.get(table.name)
        if expected is not None and table.columns != expected:
            raise RuntimeError(f"the import's rows of {table.name} differ from its columns")
    # Every account field written as given (models/users/fields.py) has its place in the
    # account's row (`_rows_of` names each): a field added there with no place is refused here.
    if not set(_ACCOUNT_DEFAULTS) <= set(_LAYOUT["account"]):
        raise RuntimeError("the import's account fields written as given have changed")
    _LAYOUT_CHECKED.append(True)


def row_values(table: str, row: tuple, owner: str, rename: dict[str, str] | None = None) -> dict:
    """A row built for the bulk insert (`_Writing._email_row`, ...) as values by field, for an
    update of the user's rows: without its `owner` column, columns `rename`d to the model's
    field names."""
    rename = rename or {}
    return {rename.get(c, c): v for c, v in zip(_LAYOUT[table], row, strict=True) if c != owner}


def _same(value: Any) -> Any:
    return value


class _Writing:
    """Methods of `Importer` (models/transfer/imports/importer.py)."""

    # -- writing --

    def _write(self, records: list[dict]) -> None:
        if self.actor.account is not None:
            # The actor's rights, read again for each chunk: a role taken away (or the account
            # deactivated) during a long load counts from the next chunk on.
            self._may_create = {}
            self._may_grant = frozenset(r.value for r in grantable_roles(self.actor.account))
        holders, names, mails = self._taken(records)
        ready = []
        for rec in records:
            for name, message in rec["warnings"]:
                self._issue(rec, "warning", name, message)
            if rec["refused"]:
                self._refuse(rec, rec["refused"])
                continue
            problems = self._check(rec, holders, names, mails)
            if problems:
                self._refuse(rec, problems)
                continue
            self._accept(rec, mails)
            if rec.get("no_password"):
                self.report.no_password += 1
            ready.append(rec)
        if not ready:
            return
        if not self.opts.dry_run:
            self._hash_secrets(ready)
            if self._bulk is None:
                self._bulk = self._large_load() and self._defer()
        try:
            self._transaction(ready, bulk=True)
        except _DryRunRollback:
            pass
        except IntegrityError:
            # Another session took a value between the check and the write: write the chunk
            # again one record per savepoint, so that only the record at fault is refused.
            self.codes.reload()
            with contextlib.suppress(_DryRunRollback):
                self._transaction(ready, bulk=False)
        if self.opts.dry_run:
            self.codes.reload()

    def _hash_secrets(self, records: list[dict]) -> None:
        plain = []
        for rec in records:
            if rec["match"] is not None:
                continue  # a password in the file is set when the account is created
            for name in ("password", "pin"):
                secret = rec.get(name)
                if secret and secret[0] == "plain":
                    plain.append((rec, name, secret[1]))
        hashed = self.hasher.hash([s for _, _, s in plain])
        for (rec, name, _), h in zip(plain, hashed, strict=True):
            rec[name] = ("hash", h)
        self.report.hashed += len(hashed)

    def _transaction(self, records: list[dict], *, bulk: bool) -> None:
        created, updated = 0, 0
        with _atomic():
            self.codes.created = []
            new = [r for r in records if r["match"] is None]
            if bulk:
                self._resolve_all(new)
                good = [r for r in new if not r.get("code_problems")]
                self._insert(good)
                created += len(good)
                for rec in good:
                    rec["outcome"] = "create"
            else:
                for rec in new:
                    try:
                        with _atomic():
                            self._resolve_all([rec])
                            if not rec.get("code_problems"):
                                self._insert([rec])
                                created += 1
                                rec["outcome"] = "create"
                    except IntegrityError as exc:
                        self.codes.reload()
                        self._refuse(rec, [("record", _integrity_message(exc))])
            for rec in new:
                if rec.get("code_problems"):
                    self._refuse(rec, rec["code_problems"])
            self._current = self._load_current([r for r in records if r["match"] is not None])
            for rec in records:
                if rec["match"] is None:
                    continue
                try:
                    with _atomic():
                        self._resolve_all([rec])
                        if rec.get("code_problems"):
                            self._refuse(rec, rec["code_problems"])
                            continue
                        if self._update(rec):
                            updated += 1
                            rec["outcome"] = "update"
                        else:
                            self.report.unchanged += 1
                            rec["outcome"] = "unchanged"
                except IntegrityError as exc:
                    self.codes.reload()
                    self._refuse(rec, [("record", _integrity_message(exc))])
            self._list_created_codes()
            if self.opts.dry_run:
                self.report.created += created
                self.report.updated += updated
                raise _DryRunRollback
        self.report.created += created
        self.report.updated += updated

    def _list_created_codes(self) -> None:
        for table, code, name in self.codes.created:
            listed = self.report.created_codes.setdefault(table, [])
            if all(c != code for c, _ in listed):
                listed.append((code, name))
                verb = "would be created" if self.opts.dry_run else "created"
                self.report.add(Issue("", "", "", "created", table, f"{code} ({name}) {verb}"))

    def _resolve_all(self, records: list[dict]) -> None:
        """Turn every code pair of the records into an id (creating unknown codes)."""
        for rec in records:
            problems: list[tuple[str, str]] = []
            ids: dict[str, int | None] = {}
            for name, pair in rec["codes"].items():
                if isinstance(pair, list):  # a library list: the libraries found, in order
                    ids[name] = self._library_list(rec, name, pair, problems)
                    continue
                table = "library" if name.endswith("_library") else name
                if pair is None:
                    ids[name] = None
                    continue
                try:
                    ids[name] = self.codes.resolve(table, pair)
                except _Unknown as exc:
                    if self.opts.strict and "--strict" in str(exc):
                        problems.append((name, str(exc)))
                    else:
                        self._issue(rec, "warning", name, f"{exc}: left out")
                        ids[name] = None
            rec["code_ids"] = ids
            rows = rec["rows"]
            for kind, key, id_key, table in _ROW_CODES:
                for r in rows.get(kind) or ():
                    pair = r.get(key)
                    r[id_key] = self._row_code(rec, table, pair, problems, kind) if pair else None
            for r in rec["rows"].get("statistics", []):
                parent = None
                if r.get("category_type"):
                    parent = self._row_code(
                        rec, "stat_category_type", r["category_type"], problems, "statistics"
                    )
                r["category_id"] = self._row_code(
                    rec, "stat_category", r["category"], problems, "statistics", parent
                )
            for kind in ("notes", "blocks", "statistics"):
                for r in rec["rows"].get(kind, []):
                    r["owner_id"] = (
                        self._row_code(rec, "library", r["owner"], problems, kind)
                        if r.get("owner")
                        else None
                    )
            if rec.get("roles"):
                rec["roles"] = self._scoped_roles(rec, problems)
            rec["rows"]["blocks"] = [
                b for b in rec["rows"].get("blocks", []) if b.get("definition_id")
            ]
            rec["rows"]["statistics"] = [
                s for s in rec["rows"].get("statistics", []) if s.get("category_id")
            ]
            rec["code_problems"] = problems

    def _library_list(
        self, rec: dict, name: str, pairs: list, problems: list[tuple[str, str]]
    ) -> list[int]:
        """The ids of a record's resource sharing or purchase request libraries (each once);
        one it cannot take is left out with a warning, or refuses the record under --strict."""
        found: list[int] = []
        for pair in pairs:
            try:
                found.append(self.codes.resolve("library", pair))
            except _Unknown as exc:
                if self.opts.strict and "--strict" in str(exc):
                    problems.append((name, str(exc)))
                else:
                    self._issue(rec, "warning", name, f"{exc}: left out")
        return list(dict.fromkeys(found))

    def _scoped_roles(self, rec: dict, problems: list) -> list[dict]:
        """The record's roles with their library's id (`scope_id`; None: every library). A role
        whose library cannot be resolved (inactive; unknown under --strict, which refuses the
        record) is not given, with a warning: it is never widened to every library."""
        out = []
        for r in rec["roles"]:
            r["scope_id"] = None
            if r.get("scope"):
                try:
                    r["scope_id"] = self.codes.resolve("library", tuple(r["scope"]))
                except _Unknown as exc:
                    what = f"{r['role']}@{r['scope'][0]}: {exc}"
                    if self.opts.strict and "--strict" in str(exc):
                        problems.append(("roles", what))
                    else:
                        self._issue(
                            rec,
                            "warning",
                            "roles",
                            f"{what}: the role is not given (never widened to every library)",
                        )
                    continue
            out.append(r)
        return out

    def _row_code(
        self,
        rec: dict,
        table: str,
        pair: Any,
        problems: list,
        kind: str,
        parent: int | None = None,
    ) -> int | None:
        if not pair:
            return None
        try:
            return self.codes.resolve(table, tuple(pair), parent)
        except _Unknown as exc:
            if self.opts.strict and "--strict" in str(exc):
                problems.append((kind, str(exc)))
            else:
                self._issue(rec, "warning", kind, f"{exc}: left out")
            return None

    def _role_rules(self) -> dict[tuple[str, int], list[str]]:
        rules: dict[tuple[str, int], list[str]] = {}
        for rule in RoleRule.select().where(
            (RoleRule.organization == self.org.id) & (RoleRule.active == True)  # noqa: E712
        ):
            if rule.user_group_id:
                rules.setdefault(("g", rule.user_group_id), []).append(rule.role)
            if rule.job_category_id:
                rules.setdefault(("c", rule.job_category_id), []).append(rule.role)
        return rules

    _periods: dict[int, int | None] | None = None

    def _registration_expiry(self, group_id: int | None) -> Any:
        """The expiration date of a new account whose record gives none (not even an empty
        one): its user group's registration period from today, else the default expiry
        setting (models.users.derived.registration_expiry, as Quick User Management)."""
        if self._periods is None:
            self._periods = dict(
                UserGroup.select(UserGroup.id, UserGroup.registration_months)
                .where(UserGroup.organization == self.org.id)
                .tuples()
            )
        months = self._periods.get(group_id) if group_id else None
        return registration_expiry(months, self.settings.default_expiry_days, self.today)

    def _external(self, row: dict) -> bool:
        flag = row.get("external")
        return self.opts.external if flag is None else bool(flag)

    def _insert(self, records: list[dict]) -> None:
        """New people and accounts with every row, through the bulk insert."""
        if not records:
            return
        t = _tables()
        w = self.writer
        person_ids = w.ids(Person, len(records))
        account_ids = w.ids(Account, len(records))
        rows, extras = self._rows_of(records, person_ids, account_ids)
        w.write(t.order, rows, people_by_key=True)
        for rec, aid in extras:
            self._own_extras(rec, aid)

    def _rows_of(
        self, records: list[dict], person_ids: list[int], account_ids: list[int]
    ) -> tuple[dict[str, list[tuple]], list[tuple[dict, int]]]:
        """The rows of new people and accounts, as tuples per table, and the records with
        extras to write after them (own JSON): the Python half of `_insert`, no insert (the
        import benchmark's Python floor times it alone).

        Every tuple is built in its table's column order (`_LAYOUT`, checked against the
        tables when first used), with what is the same for the whole chunk worked out once:
        about a third of the cost of building a dict of each row and binding it by name."""
        t = _tables()
        _check_layout(t)
        pg = self.writer.pg
        conv = iso_text if not pg else _same
        now = conv(self.now)
        today = conv(self.today)
        actor, actor_id, source, org_id = (
            self.actor.name,
            self.actor.account_id,
            self.source,
            self.org.id,
        )
        where = self.reader.path.name if self.reader is not None else ""
        rows: dict[str, list[tuple]] = {tb.name: [] for tb in t.order}
        person_rows, account_rows = rows[t.person.name], rows[t.account.name]
        identifier_rows, email_rows = rows[t.identifier.name], rows[t.email.name]
        address_rows, phone_rows = rows[t.address.name], rows[t.phone.name]
        note_rows, block_rows = rows[t.note.name], rows[t.block.name]
        stat_rows, library_rows = rows[t.statistic.name], rows[t.library.name]
        role_rows, audit_rows, state_rows = (
            rows[t.role.name],
            rows[t.audit.name],
            rows[t.state.name],
        )
        create, email_channel, mail_channel = (
            AuditAction.CREATE.value,
            Channel.EMAIL.value,
            Channel.MAIL.value,
        )
        external_type, import_source = AccountType.EXTERNAL.value, Source.IMPORT.value
        given = _ACCOUNT_DEFAULTS
        identifier_row, email_row, phone_row = (
            self._identifier_row,
            self._email_row,
            self._phone_row,
        )
        address_row, note_row = self._address_row, self._note_row
        extras = []
        for rec, pid, aid in zip(records, person_ids, account_ids, strict=True):
            p = rec["person"]
            a = rec["account"]
            username = default_username(p.get("username"), rec["primary_id"])
            login = rec.get("login_email")
            derived = rec.get("derived")
            if derived is None:
                names = {n: p.get(n, "") or "" for n in PERSON_TEXT}
                derived = person_derived({"username": username, "email": login, **names})
            password = rec.get("password")
            pin = rec.get("pin")
            recrows = rec["rows"]
            contacts = recrows
            sort_name = derived["sort_name"]
            if rec.get("reuse_person"):
                # The person's account in another organization: only the account is new, and
                # the contact rows the person does not have yet (models.users.reuse).
                pid = rec["reuse_person"]
                contacts, sort_name = self._reused_person(rec, pid)
            created_at = conv(a["created_at"]) if a.get("created_at") else now
            if not rec.get("reuse_person"):
                person_rows.append(
                    (
                        pid,
                        username,
                        derived["username_key"],
                        derived["username_skeleton"],
                        login,
                        fold_key(login),
                        password[1] if password and password[0] == "hash" else None,
                        p.get("first_name") or "",
                        p.get("middle_name") or "",
                        p.get("last_name") or "",
                        p.get("preferred_first_name") or "",
                        p.get("preferred_middle_name") or "",
                        p.get("preferred_last_name") or "",
                        sort_name,
                        derived["search_text"],
                        derived["name_sound_key"],
                        p.get("title") or "",
                        conv(p.get("birth_date")),
                        p.get("gender") or "",
                        p.get("website") or "",
                        p.get("preferred_language") or "en",
                        p.get("keep_history", False),
                        # (own JSON keeps the flag as it was, a password or not)
                        bool(p.get("force_password_change") and (password or rec["own"])),
                        0,
                        None,
                        None,
                        created_at,
                        now,
                        1,
                    )
                )
            codes = rec["code_ids"]
            group = codes.get("user_group")
            external_account = a.get("account_type") == external_type
            emails = recrows.get("emails") or ()
            channel = a.get("comm_channel") or (email_channel if emails else mail_channel)
            if channel == email_channel and not emails:
                channel = mail_channel
            get = a.get
            account_rows.append(
                (
                    aid,
                    org_id,
                    pid,
                    rec["primary_id"],
                    rec["key"],
                    get("account_type", given["account_type"]),
                    get("record_type", given["record_type"]),
                    group,
                    codes.get("job_category"),
                    get("job_description", given["job_description"]),
                    codes.get("campus"),
                    get("status", given["status"]),
                    # The file's, empty included (own JSON, Alma's <status_date/>); else today.
                    conv(a["status_date"]) if "status_date" in a else today,
                    # The file's, empty included; a record that says nothing of it: the
                    # group's registration period from today.
                    conv(
                        a["expiry_date"] if "expiry_date" in a else self._registration_expiry(group)
                    ),
                    conv(get("purge_date")),
                    channel,
                    get("comm_language") or p.get("preferred_language") or "en",
                    get("additional_email", given["additional_email"]),
                    pin[1] if pin and pin[0] == "hash" else None,
                    get("owning_system", source if external_account else ""),
                    get("letters_opt_in", given["letters_opt_in"]),
                    get("letter_general", given["letter_general"]),
                    get("letter_expiry_reminder", given["letter_expiry_reminder"]),
                    None,
                    None,
                    get("cataloger_level", given["cataloger_level"]),
                    get("local_codes", given["local_codes"]),
                    get("researcher", given["researcher"]),
                    sort_name,
                    conv(get("last_activity_at")),
                    get("created_by") or actor,
                    created_at,
                    get("updated_by") or actor,
                    conv(a["updated_at"]) if get("updated_at") else now,
                    1,
                )
            )
            identifier_rows.append(
                (aid, None, rec["primary_id"], rec["key"], True, "", True, external_account)
            )
            for r in recrows.get("identifiers") or ():
                identifier_rows.append(identifier_row(r, aid))
            for r in contacts.get("emails") or ():
                email_rows.append(email_row(r, pid))
            for r in contacts.get("addresses") or ():
                address_rows.append(address_row(r, pid, conv))
            for r in contacts.get("phones") or ():
                phone_rows.append(phone_row(r, pid))
            for r in recrows.get("notes") or ():
                note_rows.append(note_row(r, aid, conv, now))
            for r in recrows.get("blocks") or ():
                block_rows.append(t.block.row(**self._block_values(r, aid, conv)))
            for r in recrows.get("statistics") or ():
                stat_rows.append(t.statistic.row(**self._stat_values(r, aid)))
            for name in LIBRARY_FIELDS:  # resource sharing, purchase request: rows each
                for library_id in codes.get(name) or ():
                    library_rows.append((aid, KINDS[name], library_id))
            for role, scope, status, expiry in self._roles_of(rec, codes):
                role_rows.append((aid, role, scope, status, conv(expiry)))
            label = f"{rec.get('file') or where} {rec['label']}".strip()  # _where
            audit_rows.append(
                (
                    aid,
                    pid,
                    "account",
                    aid,
                    create,
                    "account",
                    None,
                    f"{rec['primary_id']} ({label})",
                    actor_id,
                    actor,
                    import_source,
                    now,
                    None,
                )
            )
            state_rows.append((aid, source, rec["digest"], 1, now))
            if rec["own"] and any(
                rec.get(k)
                for k in ("local_overrides", "proxy_for", "attachments", "loans", "fees", "photo")
            ):
                extras.append((rec, aid))
        return rows, extras

    def _reused_person(self, rec: dict, pid: int) -> tuple[dict, str]:
        """A reused person's contact rows this record adds (those the person has not: never
        preferred, the person's own stay so) and the person's sort name. What of the record
        differs from the person's personal data is not applied: said with a warning."""
        person = Person.get_by_id(pid)
        have = {
            "emails": {fold_key(e.address) for e in Email.select().where(Email.person == pid)},
            "phones": {
                re.sub(r"\D", "", x.number) for x in Phone.select().where(Phone.person == pid)
            },
            "addresses": {
                (fold_key(x.line1) or "", fold_key(x.city) or "")
                for x in Address.select().where(Address.person == pid)
            },
        }
        keys = {
            "emails": lambda r: fold_key(r["address"]),
            "phones": lambda r: re.sub(r"\D", "", r["number"]),
            "addresses": lambda r: (fold_key(r.get("line1")) or "", fold_key(r.get("city")) or ""),
        }
        contacts = {}
        for kind, key in keys.items():
            contacts[kind] = [
                {**r, "preferred": False, **({"preferred_sms": False} if kind == "phones" else {})}
                for r in rec["rows"].get(kind, [])
                if key(r) not in have[kind]
            ]
        differ = sorted(
            name
            for name, value in rec["person"].items()
            if name not in ("username", "email")
            and hasattr(person, name)
            and value not in (None, "")
            and value != getattr(person, name)
        )
        if differ:
            self._issue(
                rec,
                "warning",
                "person",
                f"{', '.join(differ)}: the person's own (their account in another organization "
                "shares them) kept, the file's not applied",
            )
        return contacts, person.sort_name

    def _where(self, rec: dict) -> str:
        name = rec.get("file") or (self.reader.path.name if self.reader is not None else "")
        return f"{name} {rec['label']}".strip()

    def _roles_of(self, rec: dict, codes: dict) -> list[tuple]:
        if not rec.get("roles"):  # most records: the same roles for the same group and category
            key = (bool(rec.get("no_patron")), codes.get("user_group"), codes.get("job_category"))
            known = self._plain_roles.get(key)
            if known is None:
                known = self._plain_roles[key] = self._roles_by_rule([], *key)
            return known
        roles: list[tuple] = [
            (r["role"], r.get("scope_id"), r["status"], r.get("expiry_date")) for r in rec["roles"]
        ]
        return self._roles_by_rule(
            roles, bool(rec.get("no_patron")), codes.get("user_group"), codes.get("job_category")
        )

    def _roles_by_rule(
        self, roles: list[tuple], no_patron: bool, group: int | None, category: int | None
    ) -> list[tuple]:
        """`roles` with those every new account gets: patron (unless the file says it is not:
        RERO's staff only) and its user group's and job category's role rules."""
        have = {(r[0], r[1]) for r in roles}
        extra = [] if no_patron else [Role.PATRON.value]
        if group:
            extra += self.role_rules.get(("g", group), [])
        if category:
            extra += self.role_rules.get(("c", category), [])
        for role in extra:
            if not any(r == role for r, _ in have):
                roles.append((role, None, Status.ACTIVE.value, None))
                have.add((role, None))
        return roles

    # A checked record's rows, one home each, in their table's column order (`_LAYOUT`): the
    # bulk insert of new users takes the tuples, an update of a user's rows (updating.py) the
    # same values by column (`row_values`).

    def _identifier_row(self, r: dict, aid: int) -> tuple:
        return (
            aid,
            r.get("id_type_id"),
            r["value"],
            r["value_key"],
            False,
            r["note"],
            r["active"],
            self._external(r),
        )

    def _email_row(self, r: dict, pid: int) -> tuple:
        return (
            pid,
            r["address"],
            r["address_key"],
            r["email_type"],
            r["preferred"],
            r["description"],
            self._external(r),
        )

    def _phone_row(self, r: dict, pid: int) -> tuple:
        return (
            pid,
            r["number"],
            r["phone_type"],
            r["preferred"],
            r["preferred_sms"],
            self._external(r),
        )

    def _address_row(self, r: dict, pid: int, conv: Callable) -> tuple:
        return (
            pid,
            r["address_type"],
            r["line1"],
            r["line2"],
            r["line3"],
            r["line4"],
            r["line5"],
            r["city"],
            r["state"],
            r["postal_code"],
            r["country"],
            r["note"],
            conv(r["start_date"]),
            conv(r["end_date"]),
            r["preferred"],
            self._external(r),
        )

    def _note_row(self, r: dict, aid: int, conv: Callable, now: Any) -> tuple:
        """`now`: the time of a note the record gives none, as `conv` makes it."""
        return (
            aid,
            r.get("note_type_id"),
            r["text"],
            r["user_viewable"],
            r["popup"],
            r.get("owner_id"),
            self._external(r),
            r.get("created_by") or self.actor.name,
            conv(r["created_at"]) if r.get("created_at") else now,
        )

    def _block_values(self, r: dict, aid: int, conv: Callable) -> dict:
        return {
            "account_id": aid,
            "definition_id": r["definition_id"],
            "expiry_date": conv(r["expiry_date"]),
            "note": r["note"],
            "owner_id": r.get("owner_id"),
            "active": r["active"],
            "external": self._external(r),
            "created_by": r.get("created_by") or self.actor.name,
            "created_at": conv(r.get("created_at") or self.now),
        }

    def _stat_values(self, r: dict, aid: int) -> dict:
        return {
            "account_id": aid,
            "category_id": r["category_id"],
            "note": r["note"],
            "owner_id": r.get("owner_id"),
            "external": self._external(r),
        }

    def _own_photo(self, rec: dict, aid: int) -> None:
        """The person's photo from PatronDesk's JSON: its bytes are a picture like any other
        (`prepare_photo`: decoded, checked, made again without metadata); a person who has a
        photo already keeps it."""
        import base64

        from models.errors import ValidationError
        from models.users.photos import prepare_photo

        photo = rec["photo"]
        try:
            content = base64.b64decode(str(photo.get("data") or ""), validate=True)
            made = prepare_photo(content, "the photo")
        except ValueError:
            self._issue(rec, "warning", "photo", "has unreadable content: left out")
            return
        except ValidationError as exc:
            self._issue(rec, "warning", "photo", f"{exc.errors['path']}: left out")
            return
        person_id = Account.get_by_id(aid).person_id
        PersonPhoto.insert(
            person=person_id,
            mime_type=made.mime_type,
            width=made.width,
            height=made.height,
            data=made.data,
            created_by=str(photo.get("created_by") or self.actor.name)[:100],
            created_at=_time_or_none(photo.get("created_at")) or self.now,
        ).on_conflict_ignore().execute()

    def _own_extras(self, rec: dict, aid: int) -> None:
        """PatronDesk JSON only: hand changes, proxies (to accounts already here) and files."""
        import base64

        for o in rec.get("local_overrides") or []:
            if isinstance(o, dict) and o.get("field"):
                LocalOverride.insert(
                    account=aid,
                    field=str(o["field"])[:60],
                    original=o.get("original"),
                    changed_by=str(o.get("changed_by") or "")[:100],
                    changed_at=_time_or_none(o.get("changed_at")) or self.now,
                ).on_conflict_ignore().execute()
        for p in rec.get("proxy_for") or []:
            if not isinstance(p, dict):
                continue
            target = Account.get_or_none(
                (Account.primary_id_key == fold_key(str((p or {}).get("target") or "")))
                & (Account.organization == self.org.id)  # never another organization's
            )
            if target is not None and target.id != aid:
                ProxyFor.insert(
                    account=aid, target=target.id, note=str(p.get("note") or "")
                ).on_conflict_ignore().execute()
            elif target is None:
                self._issue(
                    rec,
                    "warning",
                    "proxy_for",
                    f"{p.get('target')!r} is not an account here: left out",
                )
        for f in rec.get("attachments") or []:
            if not isinstance(f, dict) or not f.get("name"):
                continue
            try:
                data = base64.b64decode(str(f.get("data") or ""), validate=True)
            except ValueError:
                self._issue(
                    rec,
                    "warning",
                    "attachments",
                    f"{f.get('name')!r} has unreadable content: left out",
                )
                continue
            owner = None
            if f.get("owner"):
                owner = self.codes.find("library", (str(f["owner"]), ""))
            Attachment.create(
                account=aid,
                name=str(f["name"])[:255],
                size=len(data),
                mime_type=str(f.get("mime_type") or "application/octet-stream")[:100],
                note=str(f.get("note") or ""),
                data=data,
                owner=owner,
                created_by=str(f.get("created_by") or self.actor.name)[:100],
                created_at=_time_or_none(f.get("created_at")) or self.now,
            )
        if isinstance(rec.get("photo"), dict):
            self._own_photo(rec, aid)
        if rec.get("loans") or rec.get("fees"):
            from models.transfer.circulation import write_own

            write_own(self, rec, aid)
