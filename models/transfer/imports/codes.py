"""Code tables of an import (user group, note type, ...): resolved by code or name, through
`--map`, else created and listed; the settings a record's check depends on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from models.config.settings import Settings
from models.store.tables import (
    BlockDefinition,
    Campus,
    IdentifierType,
    JobCategory,
    Library,
    NoteType,
    Organization,
    StatCategory,
    StatCategoryType,
    UserGroup,
)
from models.transfer import jsonstream
from models.transfer.imports.options import ImportError_, ImportOptions

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
        data = jsonstream.loads(Path(path).read_text(encoding="utf-8-sig"))
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
