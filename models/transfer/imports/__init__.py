"""`patrondesk import`: users from a file, checked by the rules of the screens, written at speed,
and SIS synchronization of external accounts (domain.md section 7).

The pipeline, per chunk of `chunk_size` records:
1. read and map (`models.transfer.formats`): each record becomes a *candidate*;
2. fingerprint: a digest of the candidate and of the load's options. An account whose last load
   had the same digest and that nobody changed since (its version is the one that load left,
   `ImportState`) is skipped without checking or reading anything else: an unchanged nightly SIS
   load costs little;
3. check (`clean`): the General fields by `models.users.check_record` (mode IMPORT: the rules
   of the screens with a migration's differences, below, from the field table), the rows by the
   field rules of `models.users.validation`, without the database;
4. resolve codes (user group, note type, ...): by code or name, through `--map`, else created
   and listed in the report (`--strict` refuses the record instead);
5. uniqueness against the database and the rest of the file (one query per kind per chunk);
6. write, in one transaction per chunk: new users through the driver's bulk insert (every column
   filled, search columns included; ids allocated in the transaction), existing ones updated
   one by one in a savepoint each, with an audit event per changed field.

Transaction policy: one transaction per chunk. A record is never half-written: its rows are in
the same transaction, and an update runs in a savepoint that is rolled back alone if it fails.
If a bulk insert fails (another session took a value between the check and the write), the
chunk is rolled back and written again one record per savepoint, so only the record at fault is
refused. A crash loses at most the chunk being written; a rerun matches the records already
written by primary identifier and updates (or skips) them: no duplicates.

Migration rules (where the screens' rules are stricter):
- a record is refused only when it cannot stand: no last name, no (valid) primary identifier, an
  identifier or username already used by another account or by an earlier record of the file,
  a code that `--strict` will not create, a matched account that this load may not change;
- past expiration and purge dates are loaded as they are (the record is simply expired);
- an optional value that fails its rule (a phone that does not parse, a malformed email, an
  unknown country) is left out with a warning, and the person is loaded;
- a password the policy refuses, a foreign hash, or an argon2 hash whose cost is out of bounds
  (models/access/passwords.py: hash_within_bounds) leaves the person with no usable password (a
  reset is
  required) and a warning; other argon2 hashes are kept as they are; plain passwords are
  hashed in a pool of worker processes (argon2 is slow on purpose);
- mandatory fields of the settings other than last name and primary identifier are not enforced.

SIS semantics (`external=True`): the loaded data is external. A matched external account gets
the SIS values of its General fields, except the fields staff changed by hand (`LocalOverride`:
their SIS value is kept as the "original value"); its external emails, phones, addresses,
identifiers, notes, blocks and statistics are replaced by the file's; internal rows survive. An
internal row whose value the SIS now sends becomes external (Alma). A matched internal account
is refused (toggle it to external first), as is an external account owned by another source.
Without `external`, a matched internal account gets the General fields the file carries and the
rows it does not have yet; nothing is deleted. Roles are given when an account is created.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peewee import IntegrityError

from models import audit
from models.access.passwords import hash_within_bounds, password_problems, problems_message
from models.access.permissions import (
    Action,
    authorize,
    authorize_grant,
    authorize_person,
    grantable_roles,
)
from models.audit import Actor, system_name
from models.config.settings import Settings, load_settings
from models.enums import (
    AccountType,
    AddressType,
    AuditAction,
    Channel,
    EmailType,
    PhoneType,
    RecordType,
    Role,
    Source,
    Status,
)
from models.errors import PatronDeskError, PermissionDenied, StorageError
from models.runtime import runtime
from models.store import bulk
from models.store.base import database, fold_key
from models.store.bulk import BulkWriter, Table, iso_text
from models.store.tables import (
    Account,
    Address,
    Attachment,
    AuditEvent,
    Block,
    BlockDefinition,
    Campus,
    Email,
    Identifier,
    IdentifierType,
    ImportState,
    JobCategory,
    Library,
    LocalOverride,
    Note,
    NoteType,
    Organization,
    Person,
    Phone,
    ProxyFor,
    RoleAssignment,
    RoleRule,
    StatCategory,
    StatCategoryType,
    Statistic,
    UserGroup,
)
from models.text import printable, strip_unsafe_all, username_look_alikes
from models.transfer.formats import (
    CIRCULATION_FORMATS,
    FORMATS,
    FormatError,
    Reader,
    candidates,
    detect,
    envelope_no_home,
    files_of,
    formula_safe,
    map_lazy,
    primary_of,
    source_context,
    unknown_columns,
)
from models.users.check import (
    IMPORT,
    Context,
    cached_country,
    cached_language,
    cached_phone,
    check_record,
    fast_email,
    to_bool,
)
from models.users.derived import (
    default_username,
    person_derived,
    primary_id_columns,
    primary_identifier_row,
    store_primary_id,
)
from models.users.external import encode
from models.users.fields import ACCOUNT, FIELDS, PERSON, bool_fields, text_limits
from models.users.validation import (
    FieldError,
    check_identifier,
    check_regex,
    clean_text,
    parse_date,
)

CHUNK_SIZE = 2_000
PARALLEL_BYTES = 1_000_000  # from this much input, records are checked in a worker process
# A load of at least this many records that at least doubles the people builds its secondary
# indexes after the load (models/store/bulk.py).
BULK_MIN = 20_000
MAX_ISSUES = 100_000  # issues kept in memory for the report (counts stay exact)
MAX_NOT_KEPT = 500  # fields not kept named one by one in a load (the others counted together)
OTHER_FIELDS = "(other fields)"
DEFAULT_SOURCE = "SIS"


class ImportError_(PatronDeskError):  # noqa: N801 - `ImportError` is a builtin
    """The import cannot start (bad options, unreadable map file): nothing was written."""


# --- Options and report -------------------------------------------------------------------------


@dataclass
class Progress:
    rows: int
    position: float  # share of the input read, 0..1
    elapsed: float
    created: int
    updated: int
    unchanged: int
    refused: int

    @property
    def rate(self) -> float:
        return self.rows / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        if self.position <= 0 or self.elapsed <= 0:
            return None
        return self.elapsed * (1 - self.position) / self.position


@dataclass
class ImportOptions:
    format: str | None = None  # None: detected from each file's content
    external: bool = False
    source: str = ""  # the owning system of external accounts (default "SIS")
    dry_run: bool = False
    strict: bool = False
    map_file: Path | None = None
    match: str = ""  # an identifier type code to match by instead of the primary identifier
    chunk_size: int = CHUNK_SIZE
    workers: int | None = None  # password-hashing processes (None: one per core)
    progress: Callable[[Progress], None] | None = None
    preview: int = 0  # keep the first N checked records (the dry-run preview of the screen)
    parallel: bool | None = None  # check in a worker process (None: for large loads)
    # Build secondary indexes after the load instead of row by row (models/store/bulk.py). None: for
    # a SQLite load of at least BULK_MIN records that at least doubles the people.
    defer_indexes: bool | None = None
    encoding: str = ""  # CSV files' encoding ("": UTF-8, else told from the content)
    date_format: str = ""  # CSV files' local dates, as strptime reads them ("%d/%m/%Y")
    force: bool = False  # read every record again, even one whose fingerprint is unchanged


@dataclass
class Issue:
    file: str
    where: str
    primary_id: str
    level: str  # refused | warning | created
    field: str
    message: str


@dataclass
class ImportReport:
    format: str = ""
    files: list[str] = field(default_factory=list)
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    warnings: int = 0
    no_password: int = 0
    hashed: int = 0
    fees: int = 0  # written (models.transfer.circulation)
    loans: int = 0
    dry_run: bool = False
    elapsed: float = 0.0
    issues: list[Issue] = field(default_factory=list)
    created_codes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    preview: list[dict] = field(default_factory=list)
    # What was read and not kept, per (file, field): the records (or values) it had a value in.
    not_kept: dict[tuple[str, str], int] = field(default_factory=dict)
    # The CSV columns the format does not read, per (file, column): the column likely meant.
    unknown_columns: dict[tuple[str, str], str] = field(default_factory=dict)
    # Members of a file around its records (FOLIO's deactivateMissingUsers), per (file, name).
    file_members: set[tuple[str, str]] = field(default_factory=set)

    def count_not_kept(self, file: str, name: str, n: int = 1) -> tuple[str, str]:
        """Count `n` values of a field read and not kept. The name comes from the file: shown
        printable and cut; past MAX_NOT_KEPT names, the others are counted together."""
        key = (file, printable(name)[:100])
        if key not in self.not_kept and len(self.not_kept) >= MAX_NOT_KEPT:
            key = (file, OTHER_FIELDS)
        self.not_kept[key] = self.not_kept.get(key, 0) + n
        return key

    def add(self, issue: Issue) -> None:
        if issue.level == "warning":
            self.warnings += 1
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(issue)

    @property
    def refusals(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "refused"]

    def summary(self) -> str:
        verb = "would be" if self.dry_run else "were"
        parts = [
            f"{self.rows:,} records read ({self.format})",
            f"{self.created:,} created",
            f"{self.updated:,} updated",
            f"{self.unchanged:,} unchanged",
            f"{self.refused:,} refused",
            f"{self.warnings:,} warnings",
        ]
        text = ", ".join(parts)
        if self.dry_run:
            text = "Dry run, nothing written: " + text.replace(" created", " to create")
        text += f" in {self.elapsed:.1f} s."
        if self.fees or self.loans:
            text += f"\n{self.fees:,} fees and {self.loans:,} loans {verb} written."
        for table, codes in self.created_codes.items():
            names = ", ".join(code for code, _ in codes[:10])
            more = f" and {len(codes) - 10} more" if len(codes) > 10 else ""
            text += f"\nNew {table.replace('_', ' ')} codes {verb} created: {names}{more}."
        if self.no_password:
            text += (
                f"\n{self.no_password:,} people have no usable password (a policy refusal or a "
                "foreign hash): a password reset is required."
            )
        columns: dict[str, list] = {}
        fields: dict[str, int] = {}
        for (file, name), count in self.not_kept.items():
            if (file, name) in self.unknown_columns:
                entry = columns.setdefault(name, [0, self.unknown_columns[(file, name)]])
                entry[0] += count
            else:
                fields[name] = fields.get(name, 0) + count
        if columns:
            text += "\nColumns not read (not this format's; see --map columns): " + _first(
                [
                    f"{name} ({count:,} value{'' if count == 1 else 's'}"
                    + (f"; did you mean {likely}?)" if likely else ")")
                    for name, (count, likely) in columns.items()
                ]
            )
        if fields:
            text += "\nNot kept, no home in PatronDesk: " + _first(
                [f"{name} ({count:,})" for name, count in fields.items()]
            )
        return text

    def not_kept_issues(self) -> list[Issue]:
        """One line per field and file for what was read and not kept (the report's 'not kept'
        lines, after the records' own)."""
        out = []
        for (file, name), count in self.not_kept.items():
            if (file, name) in self.unknown_columns:
                likely = self.unknown_columns[(file, name)]
                hint = f" (did you mean {likely}?)" if likely else ""
                message = (
                    f"is not a column of this format{hint}: {count:,} "
                    f"value{'' if count == 1 else 's'} not read"
                )
            elif name == OTHER_FIELDS:
                message = (
                    f"{count:,} values of fields past the first {MAX_NOT_KEPT:,} named: not kept"
                )
            elif (file, name) in self.file_members:
                message = "is an option of the file with no home in PatronDesk: not applied"
            else:
                noun = "record" if count == 1 else "records"
                message = f"has no home in PatronDesk: its value in {count:,} {noun} not kept"
            out.append(Issue(file, "", "", "not kept", name, message))
        return out

    def write_csv(self, path: str | Path, *, overwrite: bool = False) -> None:
        """The report as CSV, a private file (`models.store.files.PrivateFile`: 0600, an existing
        file replaced only with `overwrite`, never a special or a database file)."""
        import csv

        from models.store.files import PrivateFile

        with PrivateFile(path, overwrite=overwrite, newline="") as out:
            w = csv.writer(out.stream)
            w.writerow(["file", "record", "primary_id", "level", "field", "message"])
            for i in self.issues:
                # The values come from the imported file: formula-safe for a spreadsheet.
                cells = (i.file, i.where, i.primary_id, i.level, i.field, i.message)
                w.writerow([formula_safe(c) for c in cells])


def _first(items: list[str], shown: int = 20) -> str:
    more = f" and {len(items) - shown:,} more (see --report)" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more + "."


# --- Checking a candidate (no database) ---------------------------------------------------------

# The General fields of an import, by owner (models/users/fields.py).
PERSON_TEXT = text_limits(PERSON, IMPORT)
ACCOUNT_TEXT = text_limits(ACCOUNT, IMPORT)
OWN_TEXT = {"created_by": 100, "updated_by": 100}
ACCOUNT_TIMES = ("created_at", "updated_at", "last_activity_at")
PERSON_BOOLS = bool_fields(PERSON, IMPORT)
ACCOUNT_BOOLS = bool_fields(ACCOUNT, IMPORT)
_PERSON_FIELDS = frozenset(f.name for f in FIELDS if f.owner == PERSON)
ROW_KINDS = ("emails", "phones", "addresses", "identifiers", "notes", "blocks", "statistics")
_ARGON2 = re.compile(
    r"^\$argon2(id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$"
)
_FOREIGN_HASH = re.compile(
    r"^(\$(2[abxy]?|1|5|6|apr1|pbkdf2[-_a-z0-9]*|scrypt|sha1|md5)\$.+|\{[A-Z0-9-]+\}.+|"
    r"[0-9a-fA-F]{16}|[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}|[0-9a-fA-F]{128}|"
    r"(pbkdf2_sha256|bcrypt|sha1|md5)\$.+)$"
)


_bool = to_bool
_language = cached_language
_country = cached_country
_phone = cached_phone


def _region(addresses: list[dict], settings: Settings) -> str:
    """Phones without +country are read in the settings' default region, else in the country of
    the record's preferred (or first) address."""
    if settings.phone_default_region:
        return settings.phone_default_region
    ordered = sorted(addresses, key=lambda a: not a.get("preferred"))
    for a in ordered:
        if a.get("country"):
            return a["country"]
    return ""


class _Checker:
    """Collects the warnings of one record; `refuse` marks what makes it unable to stand."""

    def __init__(self) -> None:
        self.warnings: list[tuple[str, str]] = []
        self.refused: list[tuple[str, str]] = []

    def warn(self, name: str, message: str) -> None:
        self.warnings.append((name, message))

    def refuse(self, name: str, message: str) -> None:
        self.refused.append((name, message))

    def optional(self, name: str, fn: Callable, *args: Any, what: str = "") -> Any:
        try:
            return fn(*args)
        except FieldError as exc:
            shown = f" ({what})" if what else ""
            self.warn(name, f"{exc}{shown}: left out")
            return None


def _enum_value(chk: _Checker, name: str, enum: type, value: Any, default: str) -> str:
    text = str(value or "").strip().lower().replace(" ", "_")
    if not text:
        return default
    try:
        return enum(text).value
    except ValueError:
        chk.warn(name, f"{value!r} is not {name.replace('_', ' ')} here: {default} used")
        return default


def _date_or_none(chk: _Checker, name: str, value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return chk.optional(name, parse_date, str(value)[:10])


def _time_or_none(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "")).replace(tzinfo=None)
    except ValueError:
        return None


def _secret(
    chk: _Checker, name: str, value: str, settings: Settings, *, plain: bool = False
) -> tuple[str, str] | None:
    """("hash", argon2 hash) | ("plain", text) | None with a warning. `plain`: the format's
    column is plain text (Koha's), whatever it looks like: checked by the policy, hashed."""
    value = value or ""
    if not value.strip():
        return None
    if plain:
        pass
    elif _ARGON2.match(value.strip()):
        if hash_within_bounds(value.strip(), settings):
            return ("hash", value.strip())
        # Its own cost (memory, passes, lanes) is out of bounds: every login would pay it.
        chk.warn(
            name,
            "is an argon2 hash asking for more memory or time than PatronDesk allows at a "
            f"login: no usable {'password' if name == 'password' else 'PIN'}, a reset is "
            "required",
        )
        return None
    if not plain and _FOREIGN_HASH.match(value.strip()):
        chk.warn(
            name,
            "is a foreign password hash (not argon2), which PatronDesk cannot check: no usable "
            f"{'password' if name == 'password' else 'PIN'}, a reset is required",
        )
        return None
    if name == "pin":
        if re.fullmatch(r"[0-9]{4}", value.strip()):
            return ("plain", value.strip())
        chk.warn(name, "must be exactly 4 digits: left out")
        return None
    if problems := password_problems(value, settings):
        chk.warn(
            name,
            f"refused by the password policy (it {problems_message(problems)}): no usable "
            "password, a reset is required",
        )
        return None
    return ("plain", value)


_CONTEXT: list[Context] = []  # the last one: every record of a load has the same


def _context(settings: Settings, today: dt.date) -> Context:
    if not _CONTEXT or _CONTEXT[0].settings is not settings or _CONTEXT[0].today != today:
        _CONTEXT[:] = [Context(settings, today)]
    return _CONTEXT[0]


def clean(cand: dict, settings: Settings, today: dt.date, external: bool) -> dict:
    """Check one candidate. Returns a dict with `refused` and `warnings` lists of (field,
    message) and the cleaned values (see the module doc for the rules)."""
    chk = _Checker()
    # No control, bidi or invisible character is stored (issue 18): removed with a warning, as
    # a migration leaves out what breaks a rule. Secrets are hashed, never shown: kept whole.
    # (The names of fields not kept are shown printable where reported: not values to store.)
    secrets_ = {k: cand[k] for k in ("password", "pin", "no_home") if k in cand}
    cand = strip_unsafe_all({k: v for k, v in cand.items() if k not in secrets_}, chk.warn)
    cand.update(secrets_)
    out: dict[str, Any] = {
        "label": cand.get("label", ""),
        "primary_id": str(cand.get("primary_id") or "").strip(),
        "digest": cand.get("digest", ""),
        "own": bool(cand.get("own")),
        "file": cand.get("file", ""),
    }
    if cand.get("broken"):
        chk.refuse("record", cand["broken"])
        out.update(refused=chk.refused, warnings=chk.warnings)
        return out
    # What the format read but could not express (a CSV cell's attribute the kind does not take).
    chk.warnings.extend((str(w[0]), str(w[1])) for w in cand.get("warnings") or ())
    general = cand.get("general") or {}
    values = dict(general)
    values["primary_id"] = out["primary_id"]
    # Whose the account and its rows are: as the own export says, or an Alma record (its
    # account_type, external_id and segment types: `ownership`) unless this is a SIS load,
    # whose data is its own (below).
    ownership = out["own"] or (bool(cand.get("ownership")) and not external)
    if external or not ownership:
        values.pop("account_type", None)  # a SIS load's (below), else the default
    checked = check_record(values, _context(settings, today), IMPORT)
    chk.refused.extend(checked.errors.items())
    chk.warnings.extend(checked.warnings)
    person: dict[str, Any] = {}
    account: dict[str, Any] = {}
    for name, value in checked.values.items():
        if name == "primary_id":
            if value is not None:  # (a refused one is reported as it was read)
                out["primary_id"] = value
                out["key"] = fold_key(value)
        elif name in _PERSON_FIELDS:
            person[name] = value
        else:
            account[name] = value
    if external:
        account["account_type"] = AccountType.EXTERNAL.value
    if ownership and "owning_system" in general:
        account["owning_system"] = str(general["owning_system"] or "")[:100]
    if out["own"]:
        for name, limit in OWN_TEXT.items():
            if general.get(name):
                account[name] = str(general[name])[:limit]
        for name in ACCOUNT_TIMES:
            if general.get(name):
                account[name] = _time_or_none(general[name])
    out["person"], out["account"] = person, account
    out["codes"] = {k: tuple(v) if v else None for k, v in (cand.get("codes") or {}).items()}
    if "password" in cand:
        out["password"] = _secret(
            chk,
            "password",
            str(cand.get("password") or ""),
            settings,
            plain=bool(cand.get("plain_password")),
        )
        out["no_password"] = out["password"] is None and bool(cand.get("password"))
    if cand.get("pin"):
        out["pin"] = _secret(chk, "pin", str(cand["pin"]), settings)
    own = ownership  # the rows keep the file's external flags
    rows: dict[str, list[dict]] = {}
    if "addresses" in cand:
        rows["addresses"] = _addresses(chk, cand["addresses"], settings, own)
    region = _region(rows.get("addresses", []), settings)
    if "emails" in cand:
        rows["emails"] = _emails(chk, cand["emails"], settings, own)
    if "phones" in cand:
        rows["phones"] = _phones(chk, cand["phones"], settings, region, own)
    if "identifiers" in cand:
        rows["identifiers"] = _identifiers(chk, cand["identifiers"], out.get("key"), own)
    if "notes" in cand:
        rows["notes"] = _notes(chk, cand["notes"], own)
    if "blocks" in cand:
        rows["blocks"] = _blocks(chk, cand["blocks"], own)
    if "statistics" in cand:
        rows["statistics"] = _statistics(chk, cand["statistics"], own)
    out["rows"] = rows
    if "roles" in cand:
        out["roles"] = _roles(chk, cand["roles"])
    for extra in ("local_overrides", "proxy_for", "attachments", "loans", "fees"):
        if extra in cand:
            out[extra] = cand[extra]
    if cand.get("enrolled") and not out["own"]:
        # The registration date is the account's creation time (a new account's only).
        enrolled = _date_or_none(chk, "enrollment date", cand["enrolled"])
        if enrolled is not None and enrolled > today:
            chk.warn("enrollment date", f"{enrolled} is in the future: left out")
        elif enrolled is not None:
            account["created_at"] = dt.datetime.combine(enrolled, dt.time())
    out["no_home"] = list(cand.get("no_home") or ())
    # A record that lists its roles has those (a staff member without Patron is no patron);
    # one that lists none is a patron.
    out["no_patron"] = bool(cand.get("no_patron")) or (
        bool(out.get("roles")) and all(r["role"] != Role.PATRON.value for r in out["roles"])
    )
    out["refused"], out["warnings"] = chk.refused, chk.warnings
    return out


def _external_flag(row: dict, own: bool) -> bool | None:
    """Own JSON (and an Alma record that says whose it is) keeps each row's flag; other formats
    follow the load (None)."""
    return bool(row.get("external")) if own and "external" in row else None


def _prefer_one(rows: list[dict], name: str = "preferred") -> None:
    """At most one preferred row of a kind; the first when the file marks none."""
    seen = False
    for r in rows:
        if r.get(name) and not seen:
            r[name] = True
            seen = True
        else:
            r[name] = False
    if rows and not seen and name == "preferred":
        rows[0][name] = True


def _emails(chk: _Checker, items: list, settings: Settings, own: bool) -> list[dict]:
    out, keys = [], set()
    for i, e in enumerate(items):
        label = f"email {i + 1}" if len(items) > 1 else "email"
        raw = str(e.get("address") or "").strip()
        if not raw:
            continue
        address = chk.optional(label, fast_email, raw, settings.email_regex, what=repr(raw))
        if not address:
            continue
        if fold_key(address) in keys:
            chk.warn(label, f"{raw!r} is already an email of this record: left out")
            continue
        keys.add(fold_key(address))
        out.append(
            {
                "address": address,
                "address_key": fold_key(address),
                "email_type": _enum_value(
                    chk, "email_type", EmailType, e.get("email_type"), EmailType.PERSONAL.value
                ),
                "preferred": _bool(e.get("preferred")),
                "description": (str(e.get("description") or "").strip())[:200],
                "external": _external_flag(e, own),
            }
        )
    _prefer_one(out)
    return out


def _phones(chk: _Checker, items: list, settings: Settings, region: str, own: bool) -> list[dict]:
    out, seen = [], set()
    for i, p in enumerate(items):
        label = f"phone {i + 1}" if len(items) > 1 else "phone"
        raw = str(p.get("number") or "").strip()
        if not raw:
            continue
        ok, value = _phone(raw, region, settings.phone_regex)
        if not ok:
            chk.warn(label, f"{raw!r} {value}: left out")
            continue
        if value in seen:
            chk.warn(label, f"{raw!r} is already a phone of this record ({value}): left out")
            continue
        seen.add(value)
        out.append(
            {
                "number": value,
                "phone_type": _enum_value(
                    chk, "phone_type", PhoneType, p.get("phone_type"), PhoneType.MOBILE.value
                ),
                "preferred": _bool(p.get("preferred")),
                "preferred_sms": _bool(p.get("preferred_sms")),
                "external": _external_flag(p, own),
            }
        )
    _prefer_one(out)
    _prefer_one(out, "preferred_sms")
    return out


def _addresses(chk: _Checker, items: list, settings: Settings, own: bool) -> list[dict]:
    out = []
    for i, a in enumerate(items):
        label = f"address {i + 1}" if len(items) > 1 else "address"
        row: dict[str, Any] = {
            "address_type": _enum_value(
                chk, "address_type", AddressType, a.get("address_type"), AddressType.HOME.value
            )
        }
        for name, limit in (
            ("line1", 200),
            ("line2", 200),
            ("line3", 200),
            ("city", 100),
            ("state", 100),
            ("postal_code", 20),
            ("note", 1000),
        ):
            value = chk.optional(f"{label} {name}", clean_text, str(a.get(name) or ""), limit)
            row[name] = value or ""
        for name, pattern in (
            ("line1", settings.address_line_regex),
            ("line2", settings.address_line_regex),
            ("postal_code", settings.postal_code_regex),
        ):
            if (
                row[name]
                and pattern
                and chk.optional(f"{label} {name}", check_regex, row[name], pattern) is None
            ):
                row[name] = ""
        country = str(a.get("country") or "").strip()
        row["country"] = (
            chk.optional(f"{label} country", _country, country, what=repr(country)) or ""
            if country
            else ""
        )
        row["start_date"] = _date_or_none(chk, f"{label} start_date", a.get("start_date"))
        row["end_date"] = _date_or_none(chk, f"{label} end_date", a.get("end_date"))
        if row["start_date"] and row["end_date"] and row["end_date"] < row["start_date"]:
            chk.warn(f"{label} end_date", "is before the start date: left out")
            row["end_date"] = None
        if not any(row[n] for n in ("line1", "city", "postal_code", "country")):
            if any(row[n] for n in ("line2", "line3", "state")):
                chk.warn(label, "has no address line, city, postal code or country: left out")
            continue
        row["preferred"] = _bool(a.get("preferred"))
        row["external"] = _external_flag(a, own)
        out.append(row)
    _prefer_one(out)
    return out


def _code_pair(value: Any) -> tuple[str, str] | None:
    if not value:
        return None
    if isinstance(value, (list, tuple)):
        code = str(value[0] or "").strip()
        name = str(value[1] or "").strip() if len(value) > 1 else ""
        return (code, name) if code else None
    text = str(value).strip()
    return (text, "") if text else None


def _identifiers(chk: _Checker, items: list, primary_key: str | None, own: bool) -> list[dict]:
    out, keys = [], {primary_key}
    for i, r in enumerate(items):
        if own and r.get("is_primary"):
            continue  # the primary identifier is the account's primary_id
        label = f"identifier {i + 1}"
        raw = str(r.get("value") or "").strip()
        if not raw:
            continue
        try:
            value = check_identifier(raw)
        except FieldError as exc:
            chk.warn(label, f"{raw!r} {exc}: left out")
            continue
        key = fold_key(value)
        if key in keys:
            continue
        keys.add(key)
        out.append(
            {
                "value": value,
                "value_key": key,
                "id_type": _code_pair(r.get("id_type")),
                "note": str(r.get("note") or "").strip()[:1000],
                "active": _bool(r.get("active", True)),
                "external": _external_flag(r, own),
            }
        )
    return out


def _notes(chk: _Checker, items: list, own: bool) -> list[dict]:
    out = []
    for i, r in enumerate(items):
        text = str(r.get("text") or "").strip()
        if not text:
            continue
        if len(text) > 4000:
            chk.warn(f"note {i + 1}", "is longer than 4,000 characters: cut")
            text = text[:4000]
        out.append(
            {
                "text": text.replace("\x00", ""),
                "note_type": _code_pair(r.get("note_type")),
                "user_viewable": _bool(r.get("user_viewable")),
                "popup": _bool(r.get("popup")),
                "owner": _code_pair(r.get("owner")),
                "external": _external_flag(r, own),
                "created_by": str(r.get("created_by") or "")[:100] if own else "",
                "created_at": _time_or_none(r.get("created_at")) if own else None,
            }
        )
    return out


def _blocks(chk: _Checker, items: list, own: bool) -> list[dict]:
    out = []
    for i, r in enumerate(items):
        definition = _code_pair(r.get("definition"))
        if definition is None:
            chk.warn(f"block {i + 1}", "has no block definition: left out")
            continue
        out.append(
            {
                "definition": definition,
                "expiry_date": _date_or_none(
                    chk, f"block {i + 1} expiry_date", r.get("expiry_date")
                ),
                "note": str(r.get("note") or "").strip()[:1000],
                "owner": _code_pair(r.get("owner")),
                "active": _bool(r.get("active", True)),
                "external": _external_flag(r, own),
                "created_by": str(r.get("created_by") or "")[:100] if own else "",
                "created_at": _time_or_none(r.get("created_at")) if own else None,
            }
        )
    return out


def _statistics(chk: _Checker, items: list, own: bool) -> list[dict]:
    out, seen = [], set()
    for i, r in enumerate(items):
        category = _code_pair(r.get("category"))
        if category is None:
            chk.warn(f"statistic {i + 1}", "has no category: left out")
            continue
        if category[0].lower() in seen:
            continue
        seen.add(category[0].lower())
        out.append(
            {
                "category": category,
                "category_type": _code_pair(r.get("category_type")),
                "note": str(r.get("note") or "").strip()[:1000],
                "owner": _code_pair(r.get("owner")),
                "external": _external_flag(r, own),
            }
        )
    return out


def _roles(chk: _Checker, items: list) -> list[dict]:
    out, seen = [], set()
    for r in items:
        name = str(r.get("role") or "").strip().lower().replace(" ", "_")
        try:
            role = Role(name).value
        except ValueError:
            chk.warn("roles", f"{r.get('role')!r} is not a PatronDesk role: left out")
            continue
        scope = _code_pair(r.get("scope"))
        if (role, scope) in seen:
            continue
        seen.add((role, scope))
        status = str(r.get("status") or "active").strip().lower()
        out.append(
            {
                "role": role,
                "scope": scope,
                "status": status if status in ("active", "inactive") else "active",
                "expiry_date": _date_or_none(chk, "roles", r.get("expiry_date")),
            }
        )
    return out


def check_batch(cands: list[dict], settings: Settings, today: dt.date, external: bool) -> list:
    """Map (lazy items) and check a chunk: what the worker process runs."""
    out = []
    for cand in cands:
        if "lazy" in cand:
            quick = cand["primary_id"]
            cand = {**map_lazy(cand["lazy"]), "file": cand["file"], "digest": cand["digest"]}
            mismatch = fold_key(str(cand.get("primary_id") or "")) != fold_key(quick)
        else:
            mismatch = False
        rec = clean(cand, settings, today, external)
        if mismatch:
            rec["quick"] = quick
        out.append(rec)
    return out


def digest(cand: dict, salt: str) -> str:
    """The fingerprint of a candidate under the load's options."""
    # repr is stable for the plain values a mapper builds (in a fixed key order), and three
    # times faster than sorted JSON: an unchanged SIS load spends most of its time here.
    return hashlib.blake2b((salt + repr(cand)).encode("utf-8"), digest_size=16).hexdigest()


# --- Code tables --------------------------------------------------------------------------------

CODE_MODELS: dict[str, type] = {
    "user_group": UserGroup,
    "job_category": JobCategory,
    "campus": Campus,
    "identifier_type": IdentifierType,
    "note_type": NoteType,
    "block_definition": BlockDefinition,
    "stat_category_type": StatCategoryType,
    "stat_category": StatCategory,
    "library": Library,
}
IMPORTED_STAT_TYPE = ("IMPORTED", "Imported categories")


class _Unknown(Exception):
    pass


class Codes:
    """Code-table look-ups of one organization, cached; unknown codes created (or refused)."""

    def __init__(
        self, organization: Organization, mapping: dict[str, dict[str, str]], strict: bool
    ) -> None:
        self.org = organization
        self.mapping = {t: {k.lower(): v for k, v in m.items()} for t, m in mapping.items()}
        self.strict = strict
        self.by_code: dict[str, dict[str, int]] = {}
        self.by_name: dict[str, dict[str, int]] = {}
        self.inactive: dict[str, set[int]] = {}
        self.created: list[tuple[str, str, str]] = []  # (table, code, name) this chunk
        for table in CODE_MODELS:
            self._load(table)

    def _load(self, table: str) -> None:
        model = CODE_MODELS[table]
        codes: dict[str, int] = {}
        names: dict[str, int] = {}
        inactive: set[int] = set()
        for row in model.select().where(model.organization == self.org.id).order_by(model.id):
            codes.setdefault(row.code.lower(), row.id)
            names.setdefault(row.name.lower(), row.id)
            if not row.active:
                inactive.add(row.id)
        self.by_code[table], self.by_name[table], self.inactive[table] = codes, names, inactive

    def reload(self) -> None:
        for table in CODE_MODELS:
            self._load(table)

    def check_mapping(self) -> None:
        for table, pairs in self.mapping.items():
            if table not in CODE_MODELS:
                raise ImportError_(
                    f"--map: {table!r} is not a code table ({', '.join(CODE_MODELS)})"
                )
            for source, target in pairs.items():
                if str(target).lower() not in self.by_code[table]:
                    raise ImportError_(
                        f"--map: {table} {source!r} maps to {target!r}, which is not a known "
                        f"{table.replace('_', ' ')} code"
                    )

    def find(self, table: str, pair: tuple[str, str]) -> int | None:
        code, name = pair
        low = code.lower()
        mapped = self.mapping.get(table, {}).get(low)
        if mapped is not None:
            return self.by_code[table][str(mapped).lower()]
        found = self.by_code[table].get(low) or self.by_name[table].get(low)
        if found is None and name:
            found = self.by_name[table].get(name.lower())
        return found

    def resolve(self, table: str, pair: tuple[str, str] | None, parent: int | None = None) -> int:
        """The id of a code value; an unknown one is created (`_Unknown` under --strict)."""
        if pair is None:
            raise _Unknown(f"no {table.replace('_', ' ')} given")
        found = self.find(table, pair)
        if found is not None:
            if found in self.inactive[table]:
                raise _Unknown(f"{pair[0]!r} is an inactive {table.replace('_', ' ')}")
            return found
        if self.strict:
            raise _Unknown(
                f"{pair[0]!r} is not a known {table.replace('_', ' ')} (--strict: not created)"
            )
        return self._create(table, pair, parent)

    def _create(self, table: str, pair: tuple[str, str], parent: int | None) -> int:
        model = CODE_MODELS[table]
        code = pair[0][:50]
        name = (pair[1] or pair[0])[:200]
        values: dict[str, Any] = {"organization": self.org.id, "code": code, "name": name}
        if table == "stat_category":
            values["category_type"] = parent or self.resolve(
                "stat_category_type", IMPORTED_STAT_TYPE
            )
        if table != "library":
            values["description"] = "created by an import"
        row = model.create(**values)
        self.by_code[table][code.lower()] = row.id
        self.by_name[table].setdefault(name.lower(), row.id)
        self.created.append((table, code, name))
        return row.id


# The settings a record's check depends on: a rerun after one of them changed reads every record
# again (a record's fingerprint includes them). Others (ID generation, SMTP...) do not count.
IMPORT_SETTINGS = (
    "password_min_length",
    "password_max_length",
    "password_require_lower",
    "password_require_upper",
    "password_require_digit",
    "password_refuse_common",
    "argon2_time_cost",
    "argon2_memory_kib",
    "argon2_parallelism",
    "primary_identifier_regex",
    "email_regex",
    "phone_regex",
    "postal_code_regex",
    "address_line_regex",
    "phone_default_region",
    "currency",
)


def _settings_fingerprint(settings: Settings) -> list:
    return [[name, getattr(settings, name)] for name in IMPORT_SETTINGS]


def _check_text_options(opts: ImportOptions) -> None:
    """--encoding and --date-format, checked before anything is read."""
    import codecs

    if opts.encoding:
        try:
            codecs.lookup(opts.encoding)
        except LookupError:
            raise ImportError_(
                f"--encoding: {opts.encoding!r} is not an encoding (cp1252, latin-1, utf-8, ...)"
            ) from None
    if opts.date_format:
        sample = dt.date(1999, 12, 31)
        try:
            back = dt.datetime.strptime(sample.strftime(opts.date_format), opts.date_format)
        except ValueError:
            back = None
        if back is None or back.date() != sample:
            raise ImportError_(
                f"--date-format: {opts.date_format!r} does not read a day, a month and a year "
                "(e.g. %d/%m/%Y for 31/12/1999)"
            )


def load_map_file(path: Path | None) -> dict[str, dict[str, str]]:
    """`--map FILE`: JSON {"user_group": {"value in the file": "our code"}, "note_type": ...}."""
    if path is None:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ImportError_(f"--map: cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ImportError_(f"--map: {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not all(
        isinstance(v, dict) and all(isinstance(t, str) for t in v.values()) for v in data.values()
    ):
        raise ImportError_(
            '--map: the file must be a JSON object such as {"user_group": {"27": "STAFF"}}'
        )
    return {str(k): {str(a): b for a, b in v.items()} for k, v in data.items()}


# --- Password hashing in worker processes -------------------------------------------------------


def watch_parent(parent: int) -> None:
    """In a worker process: exit when the import that started it is gone (killed with
    SIGKILL, its workers would otherwise wait forever on their queue, which they hold both
    ends of, and keep its output pipe open)."""
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _hash_many(params: dict, secrets_: list[str]) -> list[str]:
    from argon2 import PasswordHasher, Type

    hasher = PasswordHasher(
        time_cost=params["time_cost"],
        memory_cost=params["memory_cost"],
        parallelism=params["parallelism"],
        hash_len=params["hash_len"],
        salt_len=params["salt_len"],
        type=Type[params["type"]],
    )
    return [hasher.hash(s) for s in secrets_]


class _Hasher:
    """argon2 hashes of many secrets, spread over a pool of processes (started on first use)."""

    def __init__(self, settings: Settings, workers: int | None) -> None:
        from models.access.passwords import hasher

        h = hasher(settings)
        self.params = {
            "time_cost": h.time_cost,
            "memory_cost": h.memory_cost,
            "parallelism": h.parallelism,
            "hash_len": h.hash_len,
            "salt_len": h.salt_len,
            "type": h.type.name,
        }
        self.workers = workers
        self.pool = None

    def hash(self, secrets_: list[str]) -> list[str]:
        if not secrets_:
            return []
        if len(secrets_) < 8 or self.workers == 1:
            return _hash_many(self.params, secrets_)
        if self.pool is None:
            import multiprocessing
            import os
            from concurrent.futures import ProcessPoolExecutor

            n = self.workers or os.cpu_count() or 1
            self.pool = ProcessPoolExecutor(
                n,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=watch_parent,
                initargs=(os.getpid(),),
            )
        n = self.pool._max_workers  # noqa: SLF001
        size = max(1, -(-len(secrets_) // n))
        parts = [secrets_[i : i + size] for i in range(0, len(secrets_), size)]
        out: list[str] = []
        for hashed in self.pool.map(_hash_many, [self.params] * len(parts), parts):
            out.extend(hashed)
        return out

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None


# --- Bulk rows ----------------------------------------------------------------------------------


class _Tables:
    def __init__(self) -> None:
        self.person = Table(Person, explicit_id=True)
        self.account = Table(Account, explicit_id=True)
        self.identifier = Table(Identifier, explicit_id=False)
        self.email = Table(Email, explicit_id=False)
        self.address = Table(Address, explicit_id=False)
        self.phone = Table(Phone, explicit_id=False)
        self.role = Table(RoleAssignment, explicit_id=False)
        self.note = Table(Note, explicit_id=False)
        self.block = Table(Block, explicit_id=False)
        self.statistic = Table(Statistic, explicit_id=False)
        self.audit = Table(AuditEvent, explicit_id=False)
        self.state = Table(ImportState, explicit_id=False)
        self.order = (
            self.person,
            self.account,
            self.identifier,
            self.email,
            self.address,
            self.phone,
            self.role,
            self.note,
            self.block,
            self.statistic,
            self.audit,
            self.state,
        )


_TABLES: _Tables | None = None


def _tables() -> _Tables:
    global _TABLES
    if _TABLES is None:
        _TABLES = _Tables()
    return _TABLES


# --- Write failures -----------------------------------------------------------------------------

# What a failed rollback says when the database already rolled the transaction back by itself.
_ROLLED_BACK = ("no transaction is active", "no such savepoint")


@contextlib.contextmanager
def _atomic() -> Iterator[None]:
    """`database.atomic()` whose rollback never hides the error that caused it. When a write
    fails for want of space or on an I/O error, SQLite may roll the whole transaction back by
    itself; peewee's rollback then fails ("cannot rollback - no transaction is active", "no
    such savepoint") and that error replaced the first one. The first one is raised."""
    try:
        with database.atomic():
            yield
    except Exception as exc:
        first = exc
        while first.__context__ is not None and any(t in str(first) for t in _ROLLED_BACK):
            first = first.__context__  # type: ignore[assignment]
        if first is exc or not isinstance(first, Exception):
            raise
        raise first from first.__cause__


def _write_errors() -> tuple[type[BaseException], ...]:
    """What a database raises when it refuses a write (a full disk, an I/O error, a lost
    server): peewee's errors, and the drivers' own from the bulk insert's cursor."""
    import sqlite3

    from peewee import DatabaseError, InterfaceError

    errors: list[type[BaseException]] = [StorageError, DatabaseError, InterfaceError, sqlite3.Error]
    with contextlib.suppress(ImportError):
        import psycopg2

        errors.append(psycopg2.Error)
    return tuple(errors)


# --- The importer -------------------------------------------------------------------------------


class ImportActor(Actor):
    """The system acting through an import: its name in History and `updated_by`."""

    def __init__(self, label: str, account: Account | None = None) -> None:
        object.__setattr__(self, "account", account)
        object.__setattr__(self, "source", Source.IMPORT)
        object.__setattr__(self, "_label", label)

    @property
    def name(self) -> str:
        if self.account is not None:
            return self.account.person.username
        return system_name(self._label)  # with the command line's user@host


class _DryRunRollback(Exception):
    pass


class Importer:
    def __init__(
        self,
        path: str | Path,
        options: ImportOptions | None = None,
        *,
        organization: Organization | None = None,
        actor_account: Account | None = None,
        settings: Settings | None = None,
        rero_only: frozenset[str] | None = None,
    ) -> None:
        from models.config.setup import default_organization

        self.path = Path(path)
        self.rero_only = rero_only  # the RERO organisations of this pass (import_file)
        self.opts = options or ImportOptions()
        if self.opts.format and self.opts.format not in FORMATS:
            raise ImportError_(f"unknown format {self.opts.format!r} (one of {', '.join(FORMATS)})")
        if self.opts.match and not self.opts.match.strip():
            self.opts.match = ""
        if actor_account is not None:
            # Staff import into their own organization, always: never "the first one".
            authorize(actor_account, Action.RUN_JOBS)
            own = Organization.get_by_id(actor_account.organization_id)
            if organization is not None and organization.id != own.id:
                raise PermissionDenied(
                    Action.RUN_JOBS.value,
                    "You may import users into your own organization only.",
                )
            self.org = own
        else:
            # The system (the command line): the organization it names, else the first one.
            self.org = organization or default_organization()
        if self.org is None:
            raise ImportError_("the database is not initialized: run 'patrondesk init' first")
        self.settings = settings or load_settings()
        self.source = (self.opts.source or (DEFAULT_SOURCE if self.opts.external else ""))[:100]
        label = f"import:{self.source}" if self.source else "import"
        self.actor = ImportActor(label, actor_account)
        whole_map = load_map_file(self.opts.map_file)
        self.columns = whole_map.get("columns", {})  # CSV columns renamed (models.transfer.formats)
        self.mapping = {k: v for k, v in whole_map.items() if k != "columns"}
        _check_text_options(self.opts)
        self.report = ImportReport(dry_run=self.opts.dry_run)
        self.writer = BulkWriter("imports need", ImportError_)
        self.today = runtime.today()
        self.now = runtime.now()
        self.salt = json.dumps(
            [
                2,  # bump when the meaning of a digest changes (2: more fields read, item 7)
                _settings_fingerprint(self.settings),
                self.opts.external,
                self.source,
                self.opts.match,
                self.mapping,
                self.opts.strict,
                self.columns,
                self.opts.encoding,
                self.opts.date_format,
            ],
            sort_keys=True,
        )
        # Keys taken by earlier records of this file: value_key/username_key/email_key -> where.
        self.seen_ids: dict[str, str] = {}
        self.seen_usernames: dict[str, str] = {}
        self.seen_emails: dict[str, str] = {}
        self.hasher = _Hasher(self.settings, self.opts.workers)
        self.started = 0.0
        self.unit = "file"
        self._pool = None  # the worker process checking records (large loads)
        self._current: dict[str, Any] = {"accounts": {}, "overrides": {}, "rows": {}}
        self._pending: tuple | None = None  # (future, matched accounts) of the chunk in it
        self._match_type: int | None = None
        self._bulk: bool | None = None  # None: not decided yet; True: indexes deferred
        self._may_create: dict[str, str | None] = {}  # record type -> why not (this chunk)
        self._may_grant: frozenset[str] = frozenset()  # the roles the actor may give
        self._circulation: list[tuple[Path, str, str]] = []  # Alma fee and loan files, read last

    # -- running --

    def run(self) -> ImportReport:
        self.started = time.perf_counter()
        files = files_of(self.path)
        if not files:
            raise FormatError(f"{self.path} holds no file to import")
        with database.atomic():
            self.codes = Codes(self.org, self.mapping, self.opts.strict)
            self.codes.check_mapping()
            self.role_rules = self._role_rules()
            if self.opts.match:
                row = IdentifierType.get_or_none(
                    (IdentifierType.organization == self.org.id)
                    & (IdentifierType.code == self.opts.match)
                )
                if row is None:
                    raise ImportError_(f"--match: {self.opts.match!r} is not an identifier type")
                self._match_type = row.id
        self.files = files
        self.file_index = 0
        self.reader: Reader | None = None
        formats: list[str] = []
        failed = True
        try:
            if not self.opts.dry_run:
                bulk.recover_abandoned()  # a load killed earlier left its indexes unbuilt
            chunk: list[dict] = []
            for cand in self._candidates(files, formats):  # lazy items
                self.report.rows += 1
                chunk.append(cand)
                if len(chunk) >= self.opts.chunk_size:
                    self._chunk(chunk)
                    chunk = []
            if chunk:
                self._chunk(chunk)
            self._flush()
            if self.unit == "folder" and not self.report.rows and not self._circulation:
                self._nothing_read()
            if self._circulation:
                from models.transfer.circulation import load_files

                load_files(self, self._circulation)
            self._progress(final=True)
            failed = False
        except _write_errors() as exc:
            raise self._stopped(exc) from exc
        finally:
            self.hasher.close()
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
                self._pool = None
            if self._bulk:
                self._bulk = False
                if not failed:
                    bulk.restore_indexes()
                else:  # the error in flight is the one to say; the next import rebuilds them
                    with contextlib.suppress(Exception):
                        bulk.restore_indexes()
        self.report.format = ", ".join(dict.fromkeys(formats)) or "none"
        self.report.elapsed = time.perf_counter() - self.started
        # What was read and not kept, one line per field, after the records' own (never cut).
        self.report.issues.extend(self.report.not_kept_issues())
        if self.unit == "file" and len(self.files) == 1:
            for issue in self.report.issues:  # the report's file column, for one file too
                issue.file = issue.file or self.files[0].name
        return self.report

    def _nothing_read(self) -> None:
        """A folder none of whose files held a user: nothing to do, and each file's reason."""
        reasons = [
            f"{i.file}: "
            + i.message.removeprefix(i.file).lstrip(": ").removesuffix(": nothing imported")
            for i in self.report.issues
            if i.level == "skipped"
        ]
        raise FormatError(
            f"{self.path} holds no users"
            + (f" ({'; '.join(reasons[:5])}" + (" ..." if len(reasons) > 5 else "") + ")")
            * bool(reasons)
            + ": nothing imported"
        )

    def _stopped(self, exc: BaseException) -> ImportError_:
        """One line for a write the database refused during the import (a full disk, an I/O
        error, a lost server): what happened, what was kept, what to do."""
        root = exc.__cause__ if isinstance(exc, StorageError) and exc.__cause__ else exc
        detail = (str(root).strip().splitlines() or [type(root).__name__])[0][:200]
        r = self.report
        if self.opts.dry_run or not (r.created or r.updated):
            kept = "nothing was written"
        else:
            kept = (
                f"the records before it were written ({r.created:,} created, {r.updated:,} updated)"
            )
        return ImportError_(
            f"the import stopped: the database refused a write ({detail}); {kept}. Free some "
            "space or repair the database, then run the same import again: what was written is "
            "matched, not written twice."
        )

    def _candidates(self, files: list[Path], formats: list[str]) -> Iterator[dict]:
        """The candidates of every file, in order, labelled with their file in a folder."""
        folder = len(files) > 1 or self.path.is_dir()
        self.unit = "folder" if folder else "file"
        for i, path in enumerate(files):
            self.file_index = i
            label = path.name if folder else ""
            try:
                fmt = self.opts.format or detect(path)
            except FormatError as exc:
                if not folder:
                    raise
                self.report.add(Issue(label, "", "", "skipped", "file", exc.message))
                continue
            formats.append(fmt)
            self.report.files.append(str(path))
            if fmt in CIRCULATION_FORMATS:  # no users: read after the users of the load
                self._circulation.append((path, fmt, label))
                continue
            self.reader = Reader(path, fmt, encoding=self.opts.encoding, columns=self.columns)
            ctx = source_context(path, fmt)
            ctx.date_format = self.opts.date_format
            if fmt == "rero-json":
                ctx.rero_only = self.rero_only
            try:
                for cand in candidates(self.reader, fmt, ctx, lazy=True):
                    cand["file"] = label
                    yield cand
            except FormatError as exc:
                if not folder:
                    raise
                self.report.add(Issue(label, "", "", "skipped", "file", exc.message))
            self._file_read(path.name, fmt)

    def _file_read(self, name: str, fmt: str) -> None:
        """What a file read held around its records that is not kept: the CSV columns its
        format does not read (reported even when empty), the members around its records."""
        r = self.report
        reader = self.reader
        if reader is None:
            return
        if reader.encoding_note:
            r.add(Issue(name, "", "", "warning", "encoding", reader.encoding_note))
        for column, likely in unknown_columns(fmt, reader.header).items():
            key = r.count_not_kept(name, column, 0)
            if key[1] != OTHER_FIELDS:
                r.unknown_columns[key] = likely
        for member in [] if reader.single_record else envelope_no_home(fmt, reader.members):
            key = r.count_not_kept(name, member, 1)
            if key[1] != OTHER_FIELDS:
                r.file_members.add(key)

    def _progress(self, final: bool = False) -> None:
        if self.opts.progress is None:
            return
        r = self.report
        self.opts.progress(
            Progress(
                rows=r.rows,
                position=1.0 if final else self._position(),
                elapsed=time.perf_counter() - self.started,
                created=r.created,
                updated=r.updated,
                unchanged=r.unchanged,
                refused=r.refused,
            )
        )

    def _position(self) -> float:
        if self.reader is None:
            return 0.0
        within = min(1.0, self.reader.position() / self.reader.size)
        return min(1.0, (self.file_index + within) / max(1, len(self.files)))

    def _issue(self, rec: dict, level: str, name: str, message: str) -> None:
        self.report.add(
            Issue(
                rec.get("file", ""),
                rec.get("label", ""),
                rec.get("primary_id", ""),
                level,
                name,
                message,
            )
        )

    def _refuse(self, rec: dict, problems: list[tuple[str, str]]) -> None:
        self.report.refused += 1
        rec["outcome"] = "refused"  # the preview's mark (preview_mark)
        for name, message in problems:
            self._issue(rec, "refused", name, message)

    # -- one chunk --

    def _chunk(self, items: list[dict]) -> None:
        cands = []
        for item in items:
            if "raw" not in item:
                cands.append(item)  # a record the reader could not read
                continue
            if self._match_type is not None:
                cand = map_lazy(item)
                cand["file"] = item["file"]
            else:
                # The fingerprint and the key come from the raw record: an unchanged one is
                # never mapped.
                cand = {
                    "lazy": item,
                    "file": item["file"],
                    "label": item["label"],
                    "primary_id": primary_of(item["fmt"], item["raw"]),
                }
            cand["digest"] = digest(
                item["raw"], self.salt + item["fmt"] + item["ctx"].fingerprint()
            )
            cands.append(cand)
        existing, states = self._existing(cands)
        records: list[tuple[dict, Any]] = []
        for cand in cands:
            acct = existing.get(self._match_key(cand))
            if acct is not None:
                state = states.get(acct["id"])
                if (
                    state is not None
                    and not self.opts.force
                    and state[0] == cand["digest"]
                    and state[1] == acct["version"]
                    and acct["organization"] == self.org.id  # another's: refused, not skipped
                    and not cand.get("broken")
                ):
                    self.report.unchanged += 1
                    self._mark_unchanged(cand, acct)
                    if len(self.report.preview) < self.opts.preview:
                        self.report.preview.append(_unchanged_preview(cand))
                    continue
            records.append((cand, acct))
        if not records:
            pass  # all unchanged: no worker process to start for them
        elif self._parallel():
            # Map and check this chunk in the worker while the previous one is written.
            future = self._pool.submit(
                check_batch, [c for c, _ in records], self.settings, self.today, self.opts.external
            )
            self._flush()
            self._pending = (future, [a for _, a in records])
        else:
            cands = [c for c, _ in records]
            self._finish(
                check_batch(cands, self.settings, self.today, self.opts.external),
                [a for _, a in records],
            )
        self._progress()

    def _large_load(self) -> bool:
        """Whether this load is worth building indexes after (see models/store/bulk.py)."""
        wanted = self.opts.defer_indexes
        if wanted is not None:
            return wanted
        if not bulk.is_sqlite():
            return False
        done = self._position()
        if done <= 0:
            return False
        expected = self.report.rows / done
        if expected < BULK_MIN:
            return False
        people = database.execute_sql("SELECT count(*) FROM person").fetchone()[0]
        return expected >= people

    def _parallel(self) -> bool:
        """Whether to check records in a worker process: for a large load (the worker takes a
        second to start), unless told otherwise."""
        wanted = self.opts.parallel
        if wanted is None:
            reader = self.reader
            wanted = (
                self.opts.workers != 1
                and reader is not None
                and reader.size * max(1, len(self.files)) >= PARALLEL_BYTES
            )
        if not wanted:
            return False
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=watch_parent,
                initargs=(os.getpid(),),
            )
        return True

    def _flush(self) -> None:
        if self._pending is not None:
            future, accounts = self._pending
            self._pending = None
            self._finish(future.result(), accounts)

    def _finish(self, checked: list[dict], accounts: list) -> None:
        records = []
        for rec, acct in zip(checked, accounts, strict=True):
            for name in rec.get("no_home") or ():
                self.report.count_not_kept(rec.get("file") or self._file_name(), name)
            if rec.pop("quick", None) is not None and "key" in rec:
                # The mapped primary id differs from the one read raw (rare): match again.
                acct = self._existing([rec])[0].get(self._match_key(rec))
            rec["match"] = acct
            if len(self.report.preview) < self.opts.preview:
                self.report.preview.append(rec)
            records.append(rec)
        if records:
            self._write(records)

    def _file_name(self) -> str:
        return self.reader.path.name if self.reader is not None else self.path.name

    def _match_key(self, cand: dict) -> str | None:
        if self._match_type is None:
            return fold_key(str(cand.get("primary_id") or "")) or None
        wanted = self.opts.match.lower()
        for r in cand.get("identifiers") or []:
            t = r.get("id_type")
            code = (t[0] if isinstance(t, (list, tuple)) else str(t or "")).lower()
            if code == wanted and str(r.get("value") or "").strip():
                return fold_key(str(r["value"]))
        return None

    def _existing(self, cands: list[dict]) -> tuple[dict, dict]:
        """Accounts the candidates match (key -> account facts) and their import states."""
        keys = [k for k in (self._match_key(c) for c in cands) if k]
        found: dict[str, dict] = {}
        columns = ("id", "person", "account_type", "owning_system", "version", "organization")
        if self._match_type is None:
            rows = _lookup(
                "account",
                "primary_id_key",
                "id, person_id, account_type, owning_system, version, organization_id",
                keys,
            )
        else:
            rows = (
                (key, *rest)
                for key, type_id, *rest in _lookup(
                    "identifier JOIN account ON account.id = identifier.account_id",
                    "value_key",
                    "id_type_id, account.id, person_id, account_type, owning_system, version, "
                    "organization_id",
                    keys,
                )
                if type_id == self._match_type
            )
        for key, *values in rows:
            found[key] = {"key": key, **dict(zip(columns, values, strict=True))}
        states: dict[int, tuple[str, int]] = {
            account_id: (digest_, version)
            for account_id, digest_, version in _lookup(
                "import_state",
                "account_id",
                "digest, account_version",
                [a["id"] for a in found.values()],
            )
        }
        return found, states

    def _mark_unchanged(self, cand: dict, acct: dict) -> None:
        """The keys of an unchanged record still belong to it for the rest of the file."""
        where = _here(cand)
        key = fold_key(str(cand.get("primary_id") or ""))
        if key:
            self.seen_ids.setdefault(key, where)

    # -- checks against the database and the file --

    def _taken(self, records: list[dict]) -> tuple[dict, dict, dict]:
        id_keys, usernames, emails = set(), set(), set()
        for rec in records:
            if rec["refused"]:
                continue
            id_keys.add(rec["key"])
            id_keys.update(r["value_key"] for r in rec["rows"].get("identifiers", []))
            usernames.add(fold_key(rec["person"].get("username") or rec["primary_id"]))
            login = self._login_email(rec)
            if login:
                emails.add(fold_key(login))
        holders = dict(_lookup("identifier", "value_key", "account_id", id_keys))
        names = dict(_lookup("person", "username_key", "id", usernames))
        mails = dict(_lookup("person", "email_key", "id", emails))
        # Usernames that look like these (issue 18), by skeleton: ("look", skeleton) -> people.
        looks = {
            skeleton
            for rec in records
            if not rec["refused"]
            for skeleton in username_look_alikes(rec["person"].get("username") or rec["primary_id"])
        }
        for skeleton, person_id in _lookup("person", "username_skeleton", "id", looks):
            names.setdefault(("look", skeleton), set()).add(person_id)
        return holders, names, mails

    def _look_alike(self, rec: dict, names: dict) -> tuple[str, str] | None:
        """A username that looks like another person's ("аdmin" with a Cyrillic a for
        "admin") is refused as a taken one would be. A username the person already has is
        left alone, as is one already said taken."""
        acct = rec["match"]
        username = rec["person"].get("username") or ("" if acct else rec["primary_id"])
        if not username or names.get(fold_key(username)) is not None:
            return None
        own = acct["person"] if acct else None
        for skeleton in sorted(username_look_alikes(username)):
            other = next((p for p in sorted(names.get(("look", skeleton), ())) if p != own), None)
            if other is not None:
                return (
                    "username",
                    f"{username!r} looks too much like the username of another person "
                    f"({_who_person(other, self.org.id)})",
                )
        return None

    def _login_email(self, rec: dict) -> str | None:
        if "email" in rec["person"]:
            return rec["person"]["email"]
        emails = rec["rows"].get("emails") or []
        preferred = next((e for e in emails if e["preferred"]), None)
        return preferred["address"] if preferred else None

    def _check(self, rec: dict, holders: dict, names: dict, mails: dict) -> list[tuple[str, str]]:
        """Problems that refuse the record, given what the database and the file hold."""
        acct = rec["match"]
        problems: list[tuple[str, str]] = []
        if acct is not None:
            if acct["organization"] != self.org.id:
                return [("primary_id", "belongs to an account of another organization")]
            external = acct["account_type"] == AccountType.EXTERNAL.value
            owner = acct["owning_system"] or ""
            if self.opts.external and not external:
                return [
                    (
                        "primary_id",
                        "matches an internal account, which a SIS load does not change: toggle "
                        "it to external first (User Details, Toggle account type)",
                    )
                ]
            if self.opts.external and owner not in ("", "SIS_temp", self.source):
                return [("primary_id", f"matches an external account managed by {owner!r}")]
            if not self.opts.external and external and not rec["own"]:
                return [
                    (
                        "primary_id",
                        f"matches an external account (managed by {owner or 'a SIS'}): load it "
                        "with --external --source",
                    )
                ]
        own_id = acct["id"] if acct else None
        where = _here(rec)
        for value_key, label in [(rec["key"], "primary_id")] + [
            (r["value_key"], f"identifier {r['value']}") for r in rec["rows"].get("identifiers", [])
        ]:
            earlier = self.seen_ids.get(value_key)
            if earlier is not None and earlier != where:
                problems.append((label, f"is already used by {earlier} of this {self.unit}"))
                if label == "primary_id":
                    return problems  # the same record twice: one message says it
                continue
            holder = holders.get(value_key)
            if holder is not None and holder != own_id:
                problems.append((label, f"is already used by {_who(holder, self.org.id)}"))
        if acct is not None and rec["person"].get("username"):
            username = rec["person"]["username"]
            holder = names.get(fold_key(username))
            if holder is not None and holder != acct["person"]:
                problems.append(
                    (
                        "username",
                        f"{username!r} is already used by another person "
                        f"({_who_person(holder, self.org.id)})",
                    )
                )
        if acct is None:
            username = rec["person"].get("username") or rec["primary_id"]
            key = fold_key(username)
            earlier = self.seen_usernames.get(key)
            if earlier is not None and earlier != where:
                problems.append(
                    ("username", f"{username!r} is already used by {earlier} of this {self.unit}")
                )
            elif key in names:
                reuse = self._reusable(rec, names[key])
                if isinstance(reuse, int):
                    rec["reuse_person"] = reuse
                else:
                    problems.append(
                        (
                            "username",
                            reuse
                            or f"{username!r} is already used by another person "
                            f"({_who_person(names[key], self.org.id)})",
                        )
                    )
        if not problems and (look := self._look_alike(rec, names)):
            problems.append(look)
        if not problems and self.actor.account is not None and (no := self._refusal(rec)):
            problems.append(no)
        return problems

    def _reusable(self, rec: dict, person_id: int) -> int | str | None:
        """One person, an account per organization (RERO ILS): a new account whose username is
        a person's who has no account in this organization, with the same first and last names
        and birth date, is that person's account here (the person's id). A message when it may
        not be (a staff member's import: reusing a person takes their consent, given in Quick
        User Management); None when it is another person (the username is taken)."""
        person = Person.get_or_none(Person.id == person_id)
        if person is None or (
            Account.select()
            .where((Account.person == person_id) & (Account.organization == self.org.id))
            .exists()
        ):
            return None
        p = rec["person"]
        same = (
            fold_key(p.get("first_name") or "") == fold_key(person.first_name or "")
            and fold_key(p.get("last_name") or "") == fold_key(person.last_name or "")
            and p.get("birth_date") == person.birth_date
        )
        if not same:
            return None
        if self.actor.account is not None:
            return (
                f"{person.username!r} is the username of a person with an account in another "
                "organization: give them an account here from Quick User Management (F3, with "
                "their consent)"
            )
        return person_id

    def _refusal(self, rec: dict) -> tuple[str, str] | None:
        """Why the staff member importing may not write this record, by the screens' rules
        (issue 18): a new user of its record type; any role it gives (from the file, or by a
        role rule of its user group or job category) that is above their own; a change to an
        account holding a role above their own, or to the login or contacts of a person who is
        staff of another organization. None: allowed. Checked before anything is written."""
        actor = self.actor.account
        acct = rec["match"]
        try:
            if acct is None:
                kind = rec["account"].get("record_type", RecordType.PUBLIC.value)
                if kind not in self._may_create:
                    try:
                        authorize(actor, Action.CREATE_USER, record_type=kind)
                        self._may_create[kind] = None
                    except PermissionDenied as exc:
                        self._may_create[kind] = exc.message
                if self._may_create[kind]:
                    return ("record_type", self._may_create[kind])
            else:
                authorize(actor, Action.EDIT_USER, Account.get_by_id(acct["id"]))
                if _LOGIN.intersection(rec["person"]) or _CONTACT_KINDS.intersection(rec["rows"]):
                    authorize_person(actor, acct["person"], Action.EDIT_CONTACT)
        except PermissionDenied as exc:
            return ("primary_id", exc.message)
        if acct is not None:
            return None  # roles are given when an account is created, never by an update
        ids = {n: self._known_code(n, rec["codes"].get(n)) for n in ("user_group", "job_category")}
        given = {role for role, *_ in self._roles_of(rec, ids)}
        try:
            if given - {Role.PATRON.value}:
                authorize(actor, Action.MANAGE_ROLES)
            # The roles above the actor's first: the message names the one at fault.
            for role in sorted(given, key=lambda r: (r in self._may_grant, r)):
                authorize_grant(actor, role)
        except PermissionDenied as exc:
            return ("roles", exc.message)
        return None

    def _known_code(self, table: str, pair: tuple[str, str] | None) -> int | None:
        """The id `Codes.resolve` will give an existing, active code (a code this load creates
        has no role rule yet): read only, before anything is written."""
        if not pair:
            return None
        found = self.codes.find(table, pair)
        return None if found is None or found in self.codes.inactive[table] else found

    def _accept(self, rec: dict, mails: dict) -> None:
        where = _here(rec)
        self.seen_ids.setdefault(rec["key"], where)
        for r in rec["rows"].get("identifiers", []):
            self.seen_ids.setdefault(r["value_key"], where)
        if rec["match"] is None:
            self.seen_usernames.setdefault(
                fold_key(rec["person"].get("username") or rec["primary_id"]), where
            )
        login = self._login_email(rec)
        rec["login_email"] = None
        if login:
            key = fold_key(login)
            earlier = self.seen_emails.get(key)
            holder = mails.get(key)
            person_id = rec["match"]["person"] if rec["match"] else rec.get("reuse_person")
            if earlier is not None and earlier != where:
                self._issue(
                    rec,
                    "warning",
                    "email",
                    f"{login} is the login email of {earlier} of this file: not a login email here",
                )
            elif holder is not None and holder != person_id:
                self._issue(
                    rec,
                    "warning",
                    "email",
                    f"{login} is already the login email of another person: not a login email here",
                )
            else:
                rec["login_email"] = login
                self.seen_emails.setdefault(key, where)

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
                self._bulk = self._large_load() and bulk.defer_indexes()
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
            for kind, key, table in (
                ("identifiers", "id_type", "identifier_type"),
                ("notes", "note_type", "note_type"),
                ("blocks", "definition", "block_definition"),
            ):
                for r in rec["rows"].get(kind, []):
                    r[f"{key}_id"] = self._row_code(rec, table, r.get(key), problems, kind)
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

    def _external(self, row: dict) -> bool:
        flag = row.get("external")
        return self.opts.external if flag is None else bool(flag)

    def _insert(self, records: list[dict]) -> None:
        """New people and accounts with every row, through the bulk insert."""
        if not records:
            return
        t = _tables()
        w = self.writer
        sqlite = not w.pg
        conv = iso_text if sqlite else (lambda v: v)
        person_ids = w.ids(Person, len(records))
        account_ids = w.ids(Account, len(records))
        now = self.now
        rows: dict[str, list[tuple]] = {tb.name: [] for tb in t.order}
        extras = []
        for rec, pid, aid in zip(records, person_ids, account_ids, strict=True):
            p = rec["person"]
            a = rec["account"]
            names = {n: p.get(n, "") or "" for n in PERSON_TEXT}
            login = {
                "username": default_username(p.get("username"), rec["primary_id"]),
                "email": rec.get("login_email"),
            }
            derived = person_derived({**login, **names})
            password = rec.get("password")
            pin = rec.get("pin")
            emails = rec["rows"].get("emails", [])
            contacts = rec["rows"]
            if rec.get("reuse_person"):
                # The person's account in another organization: only the account is new, and
                # the contact rows the person does not have yet (models.users.reuse).
                pid = rec["reuse_person"]
                contacts, derived["sort_name"] = self._reused_person(rec, pid)
            person = {
                "id": pid,
                **login,
                "password_hash": password[1] if password and password[0] == "hash" else None,
                **names,
                **derived,
                "birth_date": conv(p.get("birth_date")),
                "preferred_language": p.get("preferred_language") or "en",
                "keep_history": p.get("keep_history", False),
                # (own JSON keeps the flag as it was, a password or not)
                "force_password_change": bool(
                    p.get("force_password_change") and (password or rec["own"])
                ),
                "failed_logins": 0,
                "created_at": conv(a.get("created_at") or now),
                "updated_at": conv(now),
                "version": 1,
            }
            if not rec.get("reuse_person"):
                rows[t.person.name].append(t.person.row(**person))
            codes = rec["code_ids"]
            external_account = a.get("account_type") == AccountType.EXTERNAL.value
            channel = a.get("comm_channel") or (Channel.EMAIL if emails else Channel.MAIL).value
            if channel == Channel.EMAIL.value and not emails:
                channel = Channel.MAIL.value
            account = {
                "id": aid,
                "organization_id": self.org.id,
                "person_id": pid,
                **primary_id_columns(rec["primary_id"], rec["key"]),
                "account_type": a.get("account_type", AccountType.INTERNAL.value),
                "record_type": a.get("record_type", RecordType.PUBLIC.value),
                "user_group_id": codes.get("user_group"),
                "job_category_id": codes.get("job_category"),
                "job_description": a.get("job_description", ""),
                "campus_id": codes.get("campus"),
                "status": a.get("status", Status.ACTIVE.value),
                # The file's, empty included (own JSON, Alma's <status_date/>); else today.
                "status_date": conv(a.get("status_date", self.today)),
                "expiry_date": conv(a.get("expiry_date")),
                "purge_date": conv(a.get("purge_date")),
                "comm_channel": channel,
                "comm_language": a.get("comm_language") or p.get("preferred_language") or "en",
                "additional_email": a.get("additional_email", ""),
                "pin_hash": pin[1] if pin and pin[0] == "hash" else None,
                "owning_system": a.get("owning_system", self.source if external_account else ""),
                "letters_opt_in": a.get("letters_opt_in", True),
                "resource_sharing_library_id": codes.get("resource_sharing_library"),
                "purchase_request_library_id": codes.get("purchase_request_library"),
                "cataloger_level": a.get("cataloger_level", ""),
                "local_codes": a.get("local_codes", ""),
                "researcher": a.get("researcher", False),
                "sort_name": derived["sort_name"],
                "last_activity_at": conv(a.get("last_activity_at")),
                "created_by": a.get("created_by") or self.actor.name,
                "created_at": conv(a.get("created_at") or now),
                "updated_by": a.get("updated_by") or self.actor.name,
                "updated_at": conv(a.get("updated_at") or now),
                "version": 1,
            }
            rows[t.account.name].append(t.account.row(**account))
            rows[t.identifier.name].append(
                t.identifier.row(
                    account_id=aid,
                    **primary_identifier_row(rec["primary_id"], rec["key"]),
                    note="",
                    active=True,
                    external=external_account,
                )
            )
            for r in rec["rows"].get("identifiers", []):
                rows[t.identifier.name].append(
                    t.identifier.row(
                        account_id=aid,
                        id_type_id=r.get("id_type_id"),
                        value=r["value"],
                        value_key=r["value_key"],
                        is_primary=False,
                        note=r["note"],
                        active=r["active"],
                        external=self._external(r),
                    )
                )
            for r in contacts.get("emails", []):
                rows[t.email.name].append(
                    t.email.row(
                        person_id=pid,
                        address=r["address"],
                        address_key=r["address_key"],
                        email_type=r["email_type"],
                        preferred=r["preferred"],
                        description=r["description"],
                        external=self._external(r),
                    )
                )
            for r in contacts.get("addresses", []):
                rows[t.address.name].append(t.address.row(**self._address_values(r, pid, conv)))
            for r in contacts.get("phones", []):
                rows[t.phone.name].append(
                    t.phone.row(
                        person_id=pid,
                        number=r["number"],
                        phone_type=r["phone_type"],
                        preferred=r["preferred"],
                        preferred_sms=r["preferred_sms"],
                        external=self._external(r),
                    )
                )
            for r in rec["rows"].get("notes", []):
                rows[t.note.name].append(t.note.row(**self._note_values(r, aid, conv)))
            for r in rec["rows"].get("blocks", []):
                rows[t.block.name].append(t.block.row(**self._block_values(r, aid, conv)))
            for r in rec["rows"].get("statistics", []):
                rows[t.statistic.name].append(t.statistic.row(**self._stat_values(r, aid)))
            for role, scope, status, expiry in self._roles_of(rec, codes):
                rows[t.role.name].append(
                    t.role.row(
                        account_id=aid,
                        role=role,
                        scope_id=scope,
                        status=status,
                        expiry_date=conv(expiry),
                    )
                )
            rows[t.audit.name].append(
                t.audit.row(
                    account_id=aid,
                    person_id=pid,
                    entity="account",
                    entity_id=aid,
                    action=AuditAction.CREATE.value,
                    field="account",
                    new_value=f"{rec['primary_id']} ({self._where(rec)})",
                    actor_id=self.actor.account_id,
                    actor=self.actor.name,
                    source=Source.IMPORT.value,
                    at=conv(now),
                )
            )
            rows[t.state.name].append(
                t.state.row(
                    account_id=aid,
                    source=self.source,
                    digest=rec["digest"],
                    account_version=1,
                    loaded_at=conv(now),
                )
            )
            if rec["own"] and any(
                rec.get(k) for k in ("local_overrides", "proxy_for", "attachments", "loans", "fees")
            ):
                extras.append((rec, aid))
        w.write(t.order, rows, people_by_key=True)
        for rec, aid in extras:
            self._own_extras(rec, aid)

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
        roles: list[tuple] = [
            (r["role"], r.get("scope_id"), r["status"], r.get("expiry_date"))
            for r in rec.get("roles") or []
        ]
        have = {(r[0], r[1]) for r in roles}
        # Every new account is a patron, unless the file says it is not (RERO's staff only).
        extra = [] if rec.get("no_patron") else [Role.PATRON.value]
        if codes.get("user_group"):
            extra += self.role_rules.get(("g", codes["user_group"]), [])
        if codes.get("job_category"):
            extra += self.role_rules.get(("c", codes["job_category"]), [])
        for role in extra:
            if not any(r == role for r, _ in have):
                roles.append((role, None, Status.ACTIVE.value, None))
                have.add((role, None))
        return roles

    def _address_values(self, r: dict, pid: int, conv: Callable) -> dict:
        return {
            "person_id": pid,
            "address_type": r["address_type"],
            "line1": r["line1"],
            "line2": r["line2"],
            "line3": r["line3"],
            "city": r["city"],
            "state": r["state"],
            "postal_code": r["postal_code"],
            "country": r["country"],
            "note": r["note"],
            "start_date": conv(r["start_date"]),
            "end_date": conv(r["end_date"]),
            "preferred": r["preferred"],
            "external": self._external(r),
        }

    def _note_values(self, r: dict, aid: int, conv: Callable) -> dict:
        return {
            "account_id": aid,
            "note_type_id": r.get("note_type_id"),
            "text": r["text"],
            "user_viewable": r["user_viewable"],
            "popup": r["popup"],
            "owner_id": r.get("owner_id"),
            "external": self._external(r),
            "created_by": r.get("created_by") or self.actor.name,
            "created_at": conv(r.get("created_at") or self.now),
        }

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
        if rec.get("loans") or rec.get("fees"):
            from models.transfer.circulation import write_own

            write_own(self, rec, aid)

    # -- updating an existing account --

    def _update(self, rec: dict) -> bool:
        """Apply the record to its matched account (in the caller's savepoint). Returns whether
        anything changed."""
        from models.users.external import overridden_fields

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
        for kind in ROW_KINDS:
            if kind in rec["rows"]:
                synced = self._sync_rows(kind, rec["rows"][kind], account, person, ids, sis)
                changed |= synced
                emails_changed |= synced and kind == "emails"
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
        out: dict[str, Any] = {"accounts": {}, "overrides": {}, "rows": {}}
        account_ids = [r["match"]["id"] for r in records]
        if not account_ids:
            return out
        for part in _slices(account_ids):
            for a in Account.select(Account, Person).join(Person).where(Account.id.in_(part)):
                out["accounts"][a.id] = a
        if self.opts.external:
            for part in _slices(account_ids):
                for o in LocalOverride.select(LocalOverride.account, LocalOverride.field).where(
                    LocalOverride.account.in_(part)
                ):
                    out["overrides"].setdefault(o.account_id, set()).add(o.field)
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
    ) -> bool:
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
                if not sis:
                    continue  # an import without --external adds what is missing, no more
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


def _email_values(imp: Importer, r: dict) -> dict:
    return {
        "address": r["address"],
        "address_key": r["address_key"],
        "email_type": r["email_type"],
        "preferred": r["preferred"],
        "description": r["description"],
        "external": imp._external(r),
    }


def _phone_values(imp: Importer, r: dict) -> dict:
    return {
        "number": r["number"],
        "phone_type": r["phone_type"],
        "preferred": r["preferred"],
        "preferred_sms": r["preferred_sms"],
        "external": imp._external(r),
    }


def _address_row(imp: Importer, r: dict) -> dict:
    values = imp._address_values(r, 0, lambda v: v)
    values.pop("person_id")
    return values


def _identifier_values(imp: Importer, r: dict) -> dict:
    return {
        "id_type": r.get("id_type_id"),
        "value": r["value"],
        "value_key": r["value_key"],
        "is_primary": False,
        "note": r["note"],
        "active": r["active"],
        "external": imp._external(r),
    }


def _note_row(imp: Importer, r: dict) -> dict:
    v = imp._note_values(r, 0, lambda x: x)
    v.pop("account_id")
    v["note_type"] = v.pop("note_type_id")
    v["owner"] = v.pop("owner_id")
    return v


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
        "key": lambda d: _data(
            d, "address_type", "line1", "line2", "line3", "city", "postal_code", "country"
        ),
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


def preview_mark(rec: dict) -> str:
    """What the import does (a dry run: would do) with a record of `ImportReport.preview`:
    create, update, unchanged or refused, as counted in the report's summary. The mark is set
    where the record is counted (a record the file's own checks let through may still be
    refused by the database's, and a matched one may change nothing)."""
    return rec.get("outcome") or ("refused" if rec.get("refused") else "unchecked")


def _unchanged_preview(cand: dict) -> dict:
    """The preview row of a record skipped as unchanged (its fingerprint): mapped for its
    name and group only."""
    shown = map_lazy(cand["lazy"]) if "lazy" in cand else cand
    general = shown.get("general") or {}
    return {
        "label": cand.get("label") or shown.get("label", ""),
        "file": cand.get("file", ""),
        "primary_id": str(cand.get("primary_id") or shown.get("primary_id") or ""),
        "person": {k: str(general.get(k) or "") for k in ("first_name", "last_name")},
        "codes": shown.get("codes") or {},
        "outcome": "unchanged",
    }


def _here(rec: dict) -> str:
    """Where a record is: its label, after its file's name in a folder."""
    return f"{rec.get('file', '')} {rec.get('label', '')}".strip()


def _who(account_id: int, org_id: int) -> str:
    """Which account (of organization `org_id`) holds a value; another organization's account
    is not named: its primary identifier is not this organization's to learn."""
    row = Account.get_or_none(Account.id == account_id)
    if row is None:
        return f"another account ({account_id})"
    if row.organization_id != org_id:
        return "an account of another organization"
    return f"another account (primary identifier {row.primary_id})"


def _who_person(person_id: int, org_id: int) -> str:
    """An account of the person in organization `org_id`, named; else only where they are."""
    row = (
        Account.select()
        .where((Account.person == person_id) & (Account.organization == org_id))
        .first()
    )
    if row is not None:
        return f"account {row.primary_id}"
    if Account.select().where(Account.person == person_id).exists():
        return "an account of another organization"
    return "a person with no account here"


def _integrity_message(exc: IntegrityError) -> str:
    text = str(exc).splitlines()[0] if str(exc) else "a value is already used"
    return f"could not be written: {text}"


def _lookup(table: str, key: str, columns: str, keys: Any) -> Iterator[tuple]:
    """Rows (key, *columns) of `table` whose `key` is one of `keys`, in raw SQL: a peewee
    query builds a node per value, which costs more than the lookup itself."""
    mark = database.obj.param
    for part in _slices(sorted(keys), 900):
        marks = ", ".join([mark] * len(part))
        sql = f"SELECT {key}, {columns} FROM {table} WHERE {key} IN ({marks})"
        yield from database.execute_sql(sql, part).fetchall()


def _slices(values: list, size: int = 500) -> Iterator[list]:
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i : i + size]


def import_file(
    path: str | Path, options: ImportOptions | None = None, **kwargs: Any
) -> ImportReport:
    """Import `path` (a file, or a folder of files). With `actor_account`: into the actor's
    organization, by the actor's rights. Without (the system, the command line): into
    `organization`, else the first organization. A RERO ILS file of several organisations is
    imported one organisation at a time (models.transfer.organizations)."""
    from models.transfer.organizations import import_by_organization, organisations_of

    options = options or ImportOptions()
    plan = organisations_of(Path(path), options)
    if plan is not None:
        return import_by_organization(Path(path), options, plan, kwargs)
    return Importer(path, options, **kwargs).run()


__all__ = [
    "CODE_MODELS",
    "Codes",
    "ImportError_",
    "ImportOptions",
    "ImportReport",
    "Importer",
    "Issue",
    "Progress",
    "clean",
    "digest",
    "fast_email",
    "import_file",
]
