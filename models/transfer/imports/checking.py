"""Checking a candidate without the database: `clean`, `check_batch` (run in a worker process
for a large file) and the record's fingerprint (`digest`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from typing import Any

from models.access.passwords import hash_within_bounds, password_problems, problems_message
from models.config.settings import Settings
from models.enums import (
    AccountType,
    AddressType,
    EmailType,
    PhoneType,
    Role,
)
from models.store.base import fold_key
from models.text import strip_unsafe_all, username_look_alikes
from models.transfer.formats import (
    map_lazy,
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
from models.users.derived import default_username, person_derived
from models.users.fields import ACCOUNT, FIELDS, PERSON, bool_fields, text_limits
from models.users.validation import (
    FieldError,
    check_identifier,
    check_regex,
    clean_text,
    parse_date,
)

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
    out["codes"] = {
        # A library list (resource sharing, purchase request): its (code, name) pairs.
        k: [tuple(p) for p in v if p] if isinstance(v, list) else (tuple(v) if v else None)
        for k, v in (cand.get("codes") or {}).items()
    }
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
    for extra in ("local_overrides", "proxy_for", "attachments", "loans", "fees", "photo"):
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


_ADDRESS_TEXT = (
    ("line1", 200),
    ("line2", 200),
    ("line3", 200),
    ("line4", 200),
    ("line5", 200),
    ("city", 100),
    ("state", 100),
    ("postal_code", 20),
    ("note", 1000),
)
_ADDRESS_PATTERNS = (
    ("line1", "address_line_regex"),
    ("line2", "address_line_regex"),
    ("line3", "address_line_regex"),
    ("line4", "address_line_regex"),
    ("line5", "address_line_regex"),
    ("postal_code", "postal_code_regex"),
)


def _addresses(chk: _Checker, items: list, settings: Settings, own: bool) -> list[dict]:
    out = []
    for i, a in enumerate(items):
        label = f"address {i + 1}" if len(items) > 1 else "address"
        row: dict[str, Any] = {
            "address_type": _enum_value(
                chk, "address_type", AddressType, a.get("address_type"), AddressType.HOME.value
            )
        }
        for name, limit in _ADDRESS_TEXT:
            value = a.get(name)
            if not value:
                row[name] = ""  # (clean_text's answer for nothing, without the call)
                continue
            value = chk.optional(f"{label} {name}", clean_text, str(value), limit)
            row[name] = value or ""
        for name, setting in _ADDRESS_PATTERNS:
            pattern = getattr(settings, setting)
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
            if any(row[n] for n in ("line2", "line3", "line4", "line5", "state")):
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
        if not rec["refused"]:
            _derive(rec)
        out.append(rec)
    return out


def _derive(rec: dict) -> None:
    """What the writer would derive of a checked record by the person's own rules (models/
    users/derived.py, models/text.py), derived here in the worker process instead: a new
    person's derived columns (but the login email's key, which the writer decides) and the
    skeletons of the username's look-alikes (`look_alikes`: for that username)."""
    p = rec["person"]
    username = default_username(p.get("username"), rec["primary_id"])
    names = {n: p.get(n, "") or "" for n in PERSON_TEXT}
    rec["derived"] = person_derived({"username": username, **names})
    rec["look_alikes"] = (username, username_look_alikes(username))


def look_alikes(rec: dict, username: str) -> set[str]:
    """The look-alike skeletons of `username`, as the worker derived them for the record's
    own (`_derive`), else derived now."""
    known = rec.get("look_alikes")
    if known is not None and known[0] == username:
        return known[1]
    return username_look_alikes(username)


def digest(cand: dict, salt: str | Any) -> str:
    """The fingerprint of a candidate under the load's options. `salt`: the options' text, or
    `seeded(text)` (the same fingerprint; a load hashes its options once, not per record)."""
    # repr is stable for the plain values a mapper builds (in a fixed key order), and three
    # times faster than sorted JSON: an unchanged SIS load spends most of its time here.
    hasher = seeded(salt) if isinstance(salt, str) else salt.copy()
    hasher.update(repr(cand).encode("utf-8"))
    return hasher.hexdigest()


def seeded(salt: str) -> Any:
    """The fingerprints' hash with `salt` hashed in (copied for each record, `digest`)."""
    return hashlib.blake2b(salt.encode("utf-8"), digest_size=16)
