"""The configuration as a TOML file (`patrondesk config export|import FILE`), so a library can
keep its configuration under version control and carry it to another database.

    export_config(organization_id)                 -> the TOML text
    import_config(text, organization_id, actor)    -> ImportReport (ConfigFileError: nothing
                                                       changed)

The file holds the settings and one organization's code tables, libraries and role-assignment
rules (layout below, `format = 1`). Import rules:
- Everything is checked before anything is kept: the changes run in one transaction that is
  rolled back when any line of the file is wrong, and the error lists every problem found
  (with the table and code of the entry), not only the first.
- Entries are matched by code, whatever the case (role-assignment rules by source and role);
  a new code is added, a known one is changed field by field (fields left out keep their
  values). Entries missing from the file are left as they are: set `active = false` to retire
  one (a code in use cannot be deleted, so an import never deletes).
- The SMTP password is never exported; an import sets it only when the file holds one.
- `id_next` never moves back: an older file would make Register New User walk past every
  identifier handed out since.
- The [organization] table's name is applied to the organization imported into when its code
  is the same; a file of another organization (copying a configuration) leaves it alone.

The file is written here rather than with a TOML library: it holds only strings, whole
numbers, booleans and lists of strings, and this way it carries comments that say how to use
it. Python's `tomllib` reads it (a test round-trips awkward strings through both).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from models.audit import Actor
from models.config.config_settings import SETTING_KEYS, update_settings
from models.config.configuration import TABLES, add_entry, entry_values, list_entries, update_entry
from models.config.settings import SECRET_SETTINGS, load_settings
from models.enums import Source
from models.errors import PatronDeskError, ValidationError
from models.runtime import runtime
from models.store.base import database
from models.store.tables import Organization

FORMAT = 1
# Order of the file and of the import: an entry refers only to entries of earlier tables.
TABLE_ORDER = (
    "libraries",
    "user_groups",
    "job_categories",
    "campuses",
    "identifier_types",
    "titles",
    "note_types",
    "block_definitions",
    "fee_types",
    "waive_reasons",
    "stat_category_types",
    "stat_categories",
    "role_rules",
)


class ConfigFileError(PatronDeskError):
    """The file cannot be imported; `problems` lists each one. Nothing was changed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"nothing imported: {shown}{more}")


@dataclass
class ImportReport:
    added: dict[str, int] = field(default_factory=dict)  # table -> entries added
    changed: dict[str, int] = field(default_factory=dict)  # table -> entries changed
    unchanged: int = 0
    settings_changed: list[str] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"settings changed: {', '.join(self.settings_changed) or 'none'}"]
        for key in TABLE_ORDER:
            a, c = self.added.get(key, 0), self.changed.get(key, 0)
            if a or c:
                out.append(f"{key}: {a} added, {c} changed")
        out.append(f"entries unchanged: {self.unchanged}")
        return out + self.remarks


# --- Writing TOML -------------------------------------------------------------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b",
            "\f": "\\f"}  # fmt: skip


def toml_string(text: str) -> str:
    """A TOML string: a literal one ('...') for a regex with backslashes, else a basic one."""
    plain = all(ch >= " " and ch not in "'\x7f" for ch in text)
    if plain and "\\" in text:
        return f"'{text}'"
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch < " " or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to the configuration file")


def _pairs(values: dict[str, Any]) -> list[str]:
    return [f"{k} = {toml_value(v)}" for k, v in values.items() if not isinstance(v, dict)]


def export_config(organization_id: int, *, generator: str = "patrondesk") -> str:
    """The settings and the organization's configuration as TOML text. `generator` names the
    program in the header (the command line adds its version)."""
    org = Organization.get_by_id(organization_id)
    system = Actor(None, Source.CLI)
    settings = load_settings()
    values = {k: getattr(settings, k) for k in SETTING_KEYS if k not in SECRET_SETTINGS}
    now = runtime.now().replace(microsecond=0).isoformat()
    lines = [
        f"# PatronDesk configuration of organization {org.code} ({org.name}).",
        f"# Exported {now} by {generator}; import: patrondesk config import FILE",
        "# Entries match by code (role rules by source and role); entries missing here are left",
        "# as they are: set active = false to retire one. The SMTP password is never exported.",
        "",
        f"format = {FORMAT}",
        "",
        "[organization]",
        *_pairs({"code": org.code, "name": org.name}),
        "",
        "[settings]",
        *_pairs(values),
    ]
    for key, value in values.items():
        if isinstance(value, dict):
            lines += ["", f"[settings.{key}]", *_pairs(value)]
    for key in TABLE_ORDER:
        t = TABLES[key]
        lines += ["", f"# {t.title}"]
        for entry in list_entries(key, organization_id, system):
            lines += ["", f"[[{key}]]", *_pairs(entry.values)]
    return "\n".join(lines) + "\n"


# --- Reading ------------------------------------------------------------------------------------


def parse_config(text: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError([f"not a valid TOML file: {exc}"]) from None
    problems = []
    known = {"format", "organization", "settings", *TABLE_ORDER}
    problems += [f"{k}: is not a part of a configuration file" for k in data if k not in known]
    if data.get("format") != FORMAT:
        problems.append(f"format: must be {FORMAT} (this file says {data.get('format')!r})")
    if not isinstance(data.get("settings", {}), dict):
        problems.append("settings: must be a table")
    org = data.get("organization", {})
    if not isinstance(org, dict) or set(org) - {"code", "name"}:
        problems.append("organization: must be a table with code and name")
    for key in TABLE_ORDER:
        rows = data.get(key, [])
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            problems.append(f"{key}: must be a list of tables ([[{key}]])")
    if problems:
        raise ConfigFileError(problems)
    return data


def _label(key: str, index: int, row: dict[str, Any]) -> str:
    if "code" in row:
        return f"{key} {row['code']!r}"
    source = row.get("user_group") or row.get("job_category") or "?"
    return f"{key}[{index + 1}] ({source} -> {row.get('role', '?')})"


def _match_key(key: str, values: dict[str, Any]) -> tuple:
    if key == "role_rules":
        return (
            str(values.get("user_group") or "").lower(),
            str(values.get("job_category") or "").lower(),
            str(values.get("role") or "").lower(),
        )
    return (str(values.get("code") or "").strip().lower(),)


def import_config(text: str, organization_id: int, actor: Actor | None = None) -> ImportReport:
    """Apply a configuration file to the settings and to the organization; all or nothing."""
    actor = actor or Actor(None, Source.CLI)
    data = parse_config(text)
    report = ImportReport()
    problems: list[str] = []

    class _Abort(Exception):
        pass

    try:
        with database.atomic():
            _import_settings(data.get("settings", {}), actor, report, problems)
            _import_organization(data.get("organization", {}), organization_id, actor, report)
            for key in TABLE_ORDER:
                _import_table(key, data.get(key, []), organization_id, actor, report, problems)
            if problems:
                raise _Abort
    except _Abort:
        raise ConfigFileError(problems) from None
    return report


def _problem_lines(where: str, exc: PatronDeskError) -> list[str]:
    if isinstance(exc, ValidationError):
        return [f"{where}: {k.replace('_', ' ')} {v}" for k, v in exc.errors.items()]
    return [f"{where}: {exc.message}"]


def _import_settings(
    values: dict[str, Any], actor: Actor, report: ImportReport, problems: list[str]
) -> None:
    changes = dict(values)
    current = load_settings()
    if isinstance(changes.get("id_next"), int) and changes["id_next"] < current.id_next:
        report.remarks.append(
            f"id_next kept at {current.id_next} (the file's {changes['id_next']} is lower: "
            "identifiers handed out since are not walked past again)"
        )
        changes.pop("id_next")
    try:
        report.settings_changed = update_settings(changes, actor)
    except ValidationError as exc:
        problems += _problem_lines("settings", exc)


def _import_organization(
    values: dict[str, Any], organization_id: int, actor: Actor, report: ImportReport
) -> None:
    org = Organization.get_by_id(organization_id)
    code = str(values.get("code") or "")
    if not code or code.lower() != org.code.lower():
        if code:
            report.remarks.append(f"organization: the file is {code}'s; {org.code} keeps its name")
        return
    if values.get("name") and values["name"] != org.name:
        update_entry("organization", organization_id, org.id, {"name": values["name"]}, actor)
        report.changed["organization"] = 1


def _import_table(
    key: str,
    rows: list[dict[str, Any]],
    organization_id: int,
    actor: Actor,
    report: ImportReport,
    problems: list[str],
) -> None:
    existing = {_match_key(key, e.values): e for e in list_entries(key, organization_id, actor)}
    seen: set[tuple] = set()
    for index, row in enumerate(rows):
        where = _label(key, index, row)
        match = _match_key(key, row)
        if match in seen:
            problems.append(f"{where}: appears twice in the file")
            continue
        seen.add(match)
        entry = existing.get(match)
        try:
            if entry is None:
                add_entry(key, organization_id, row, actor)
                report.added[key] = report.added.get(key, 0) + 1
            else:
                if "code" in row:
                    row = {**row, "code": entry.values["code"]}  # the same code, as stored
                update_entry(key, organization_id, entry.id, row, actor)
                if entry_values(key, organization_id, entry.id, actor) != entry.values:
                    report.changed[key] = report.changed.get(key, 0) + 1
                else:
                    report.unchanged += 1
        except PatronDeskError as exc:
            problems += _problem_lines(where, exc)
