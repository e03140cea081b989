"""Configuration (issue 6): the organization's code tables, libraries and role-assignment
rules, and the settings, for User Administrators. The settings apply to the whole database:
the administrators of another organization than the one hosting the system see them read
only, with the reason (`models.config_settings.settings_refusal`).

Sections on the left, the highlighted section's entries on the right. Every change goes
through `models.configuration` / `models.config_settings` (rules, refusals, audit); this screen
only shows and asks. Forms are the modal row form of User Details.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

import styles
from models.config_settings import (
    ALWAYS_MANDATORY,
    format_bytes,
    format_setting,
    hosting_organization,
    info,
    parse_setting,
    setting_groups,
    settings_refusal,
    update_settings,
)
from models.configuration import (
    TABLES,
    TYPE_OPTIONS,
    InUse,
    Table,
    add_entry,
    config_history,
    delete_entry,
    entry_values,
    list_entries,
    set_entry_active,
    update_entry,
)
from models.enums import RecordType, Role
from models.errors import PatronDeskError, ValidationError
from models.money import to_decimal
from models.settings import MANDATABLE_FIELDS, load_settings
from screens.user_details.fields import FormField
from screens.user_details.row_form import RowFormScreen
from tui.keys import CONFIGURATION, bindings
from tui.screen import KeepStyles
from tui.table import RowTable
from tui.widgets import KeyBar

GAP = 1
SETTINGS_PREFIX = "settings:"
MANDATORY = "mandatory"
HISTORY = "history"
# Section names that fit the list at 80 columns.
SHORT = {"stat_category_types": "Stat. category types", "stat_categories": "Stat. categories"}


@dataclass(frozen=True)
class FormSpec:
    """What RowFormScreen needs: the fields of the form."""

    form: tuple[FormField, ...]


def fit_columns(columns: list[tuple[str, int]], width: int) -> list[tuple[str, int]]:
    """Columns narrowed to `width` cells (gaps and the scrollbar included): the widest one
    gives a cell at a time, none below 4."""
    widths = [w for _, w in columns]
    room = width - GAP * len(columns) - 1
    while sum(widths) > room and max(widths) > 4:
        widths[widths.index(max(widths))] -= 1
    return [(label, w) for (label, _), w in zip(columns, widths, strict=True)]


def cell(value: Any) -> str:
    if value is True:
        return "✓"
    if value in (False, None):
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "all"
    return str(value)


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


class ConfigTable(RowTable):
    """The entries of the section; Enter edits."""


class ConfigurationScreen(KeepStyles, Screen[None]):
    BINDINGS = bindings(CONFIGURATION)
    CSS_PATH = [Path(styles.__file__).resolve().parent / "configuration.tcss"]
    AUTO_FOCUS = "#config-sections"

    def __init__(self) -> None:
        super().__init__()
        self.section = "organization"
        self.ids: list[Any] = []  # per table row: entry id, setting key or record type
        self.select_after: Any = None  # an entry just added: the cursor goes to it

    # --- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        options: list[Option | None] = [
            Option(SHORT.get(key, t.title), id=key) for key, t in TABLES.items()
        ]
        options.append(None)
        for key, title, _ in setting_groups():
            options.append(Option(title, id=f"{SETTINGS_PREFIX}{key}"))
            if key == "formats":
                options.append(Option("Mandatory fields", id=MANDATORY))
        options += [None, Option("History of changes", id=HISTORY)]
        yield Header()
        with Horizontal(id="config-body"):
            yield OptionList(*options, id="config-sections", compact=True)
            with Vertical(id="config-main"):
                yield Static("", id="config-title")
                yield Static("", id="config-hint", classes="hint")
                yield ConfigTable(id="config-table", gap=GAP)
        yield KeyBar()

    def on_mount(self) -> None:
        self.sub_title = f"Configuration · {self.organization.name}"
        self.show_section("organization")

    @property
    def organization(self):  # noqa: ANN201
        return self.app.session.organization

    @property
    def actor(self):  # noqa: ANN201
        return self.app.session.actor

    @property
    def table(self) -> Table | None:
        return TABLES.get(self.section)

    @on(OptionList.OptionHighlighted, "#config-sections")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.section:
            self.show_section(event.option.id)

    @on(OptionList.OptionSelected, "#config-sections")
    def _selected(self) -> None:
        self.query_one(ConfigTable).focus()

    @on(RowTable.Selected, "#config-table")
    def _row_selected(self) -> None:
        self.action_edit()

    def on_resize(self) -> None:
        if self.is_mounted:
            self.show_section(self.section)

    # --- showing a section --------------------------------------------------------------------

    def show_section(self, section: str, cursor: int | None = None) -> None:
        self.section = section
        table = self.query_one(ConfigTable)
        keep = table.cursor if cursor is None else cursor
        try:
            title, hint, columns, rows, ids = self._section(section)
        except PatronDeskError as exc:
            self.notify(exc.message, severity="error", timeout=8)
            return
        self.ids = ids
        self.query_one("#config-title", Static).update(title)
        self.query_one("#config-hint", Static).update(hint)
        width = max(table.size.width, 30) if table.size.width else 52
        table.set_columns(fit_columns(columns, width))
        if self.select_after in ids:
            keep = ids.index(self.select_after)
        self.select_after = None
        table.set_rows(rows, keep if rows and keep < len(rows) else 0)

    def _section(self, section: str):  # noqa: ANN202
        org = self.organization.id
        if section in TABLES:
            t = TABLES[section]
            entries = list_entries(section, org, self.actor)
            rows = [tuple(self._cell(f, e.values.get(f)) for _, f, _ in t.columns) for e in entries]
            keys = "e/Enter edit"
            if section != "organization":
                keys = "n add · e/Enter edit · Space on/off · Del delete"
            title = f"[b]{t.title}[/b] · {len(entries)}"
            columns = [(label, width) for label, _, width in t.columns]
            return title, keys, columns, rows, [e.id for e in entries]
        settings = load_settings()
        if section.startswith(SETTINGS_PREFIX):
            group = section.removeprefix(SETTINGS_PREFIX)
            title, keys = next((t, k) for g, t, k in setting_groups() if g == group)
            rows = [(info(k).label, format_setting(k, getattr(settings, k), settings.currency))
                    for k in keys]  # fmt: skip
            return (f"[b]{title}[/b] (settings of the whole database)", self._settings_hint(),
                    [("Setting", 31), ("Value", 24)], rows, list(keys))  # fmt: skip
        if section == MANDATORY:
            types = [r.value for r in RecordType]
            rows = [(rt, ", ".join(settings.mandatory_fields.get(rt, []))) for rt in types]
            return ("[b]Mandatory fields[/b] per record type", self._settings_hint(),
                    [("Record type", 12), ("Mandatory fields", 60)], rows, types)  # fmt: skip
        events = config_history(org, self.actor)
        rows = [(f"{e.at:%m-%d %H:%M}", e.actor, f"{e.action} {e.entity}.{e.field}",
                 e.old or "", e.new or "") for e in events]  # fmt: skip
        columns = [("When", 11), ("Who", 7), ("Change", 24), ("Was", 10), ("Now", 10)]
        return "[b]History of changes[/b]", "newest first", columns, rows, [None] * len(rows)

    def _settings_hint(self) -> str:
        if settings_refusal(self.actor) is None:
            return "e/Enter edit"
        host = hosting_organization()
        by = f"{host.code}'s administrators" if host is not None else "the command line"
        return f"read only: changed by {by} (e/Enter: why)"

    @staticmethod
    def _cell(field: str, value: Any) -> str:
        if field == "library" and not value:
            return "all"  # a fee type of every library
        if field == "role" and value in {r.value for r in Role}:
            return Role(value).label
        return cell(value)

    def _selected_id(self) -> Any:
        table = self.query_one(ConfigTable)
        if not self.ids:
            self.notify("Nothing is selected.", severity="warning")
            return None
        return self.ids[table.cursor]

    # --- forms --------------------------------------------------------------------------------

    def _table_form(self, t: Table) -> FormSpec:
        currency = load_settings().currency
        fields: list[FormField] = []
        for f in t.fields:
            if f.kind == "record_types":
                fields += [FormField(f"rt_{value}", f"Applies to {label.lower()} records", "bool")
                           for label, value in TYPE_OPTIONS(0)]  # fmt: skip
            elif f.kind == "bool":
                fields.append(FormField(f.name, f.label, "bool", default=f.default))
            elif f.kind == "choice":
                fields.append(FormField(f.name, f.label, "choice", f.options, f.default))
            elif f.kind == "money":
                fields.append(FormField(f.name, f"{f.label} ({currency})", default=f.default))
            else:
                fields.append(FormField(f.name, f.label, default=f.default))
        return FormSpec(tuple(fields))

    @staticmethod
    def _to_form(values: dict[str, Any]) -> dict[str, Any]:
        out = dict(values)
        if "record_types" in out:
            chosen = out.pop("record_types")
            for r in RecordType:
                out[f"rt_{r.value}"] = r.value in chosen
        return out

    @staticmethod
    def _from_form(data: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in data.items() if not k.startswith("rt_")}
        if any(k.startswith("rt_") for k in data):
            out["record_types"] = [r.value for r in RecordType if data.get(f"rt_{r.value}")]
        return out

    def _open_form(self, title: str, spec: FormSpec, values: dict[str, Any], save) -> None:  # noqa: ANN001
        def done(saved: bool | None) -> None:
            if saved:
                self.show_section(self.section)

        form = RowFormScreen(spec, title, values, self.organization.id, save)  # type: ignore[arg-type]
        self.app.push_screen(form, done)

    def _entry_form(self, t: Table, entry_id: int | None) -> None:
        org = self.organization.id
        if entry_id is None:
            values: dict[str, Any] = {}
            title = f"Add: {t.singular}"
        else:
            values = self._to_form(entry_values(t.key, org, entry_id, self.actor))
            title = f"Edit: {t.singular} {values.get('code', '')}".rstrip()

        def save(data: dict[str, Any]) -> None:
            data = self._from_form(data)
            try:
                if entry_id is None:
                    self.select_after = add_entry(t.key, org, data, self.actor).id
                else:
                    update_entry(t.key, org, entry_id, data, self.actor)
            except ValidationError as exc:
                if "record_types" in exc.errors:
                    errors = dict(exc.errors)
                    errors[f"rt_{RecordType.STAFF.value}"] = errors.pop("record_types")
                    raise ValidationError(errors) from None
                raise
            self.notify(f"{t.singular.capitalize()} saved.")

        self._open_form(title, self._table_form(t), values, save)

    def _settings_form(self, group: str) -> None:
        settings = load_settings()
        title, keys = next((t, k) for g, t, k in setting_groups() if g == group)
        fields, values = [], {}
        for key in keys:
            i = info(key)
            label = f"{i.label} ({i.help})" if i.help and len(i.help) < 40 else i.label
            value = getattr(settings, key)
            if i.kind == "bool":
                fields.append(FormField(key, label, "bool"))
                values[key] = value
                continue
            if i.kind == "choice":
                choices = [(c, c) for c in i.choices]
                fields.append(FormField(key, label, "choice", lambda _org, c=choices: c))
            elif i.kind == "money":
                fields.append(FormField(key, f"{i.label} ({settings.currency}; 0: none)"))
            elif i.kind == "secret":
                fields.append(FormField(key, label, "secret"))
                value = ""
            else:
                fields.append(FormField(key, label))
            if i.kind == "bytes":
                value = format_bytes(value)
            elif i.kind == "money":
                value = str(to_decimal(value, settings.currency))
            values[key] = value

        def save(data: dict[str, Any]) -> None:
            changes, errors = {}, {}
            for key, text in data.items():
                try:
                    changes[key] = parse_setting(key, text, settings.currency)
                except ValidationError as exc:
                    errors.update(exc.errors)
            if errors:
                raise ValidationError(errors)
            changed = update_settings(changes, self.actor)
            names = ", ".join(info(k).label.lower() for k in changed)
            self.notify(f"Saved: {names}." if changed else "Nothing changed.")

        self._open_form(title, FormSpec(tuple(fields)), values, save)

    def _mandatory_form(self, record_type: str) -> None:
        settings = load_settings()
        current = settings.mandatory_fields.get(record_type, [])
        fields = tuple(
            FormField(name, _label(name) + (" (always)" if name in ALWAYS_MANDATORY else ""),
                      "bool") for name in MANDATABLE_FIELDS
        )  # fmt: skip
        values = {name: name in current for name in MANDATABLE_FIELDS}

        def save(data: dict[str, Any]) -> None:
            chosen = [name for name in MANDATABLE_FIELDS if data.get(name)]
            mandatory = {**load_settings().mandatory_fields, record_type: chosen}
            changed = update_settings({"mandatory_fields": mandatory}, self.actor)
            self.notify("Mandatory fields saved." if changed else "Nothing changed.")

        self._open_form(f"Mandatory fields: {record_type} records", FormSpec(fields), values, save)

    # --- actions ------------------------------------------------------------------------------

    def action_add(self) -> None:
        t = self.table
        if t is None or t.key == "organization":
            self.notify("Nothing to add here: choose a table on the left.", severity="warning")
            return
        self._entry_form(t, None)

    def action_edit(self) -> None:
        selected = self._selected_id()
        if selected is None:
            return
        on_settings = self.section.startswith(SETTINGS_PREFIX) or self.section == MANDATORY
        if on_settings and (refusal := settings_refusal(self.actor)) is not None:
            self.notify(refusal, severity="warning", timeout=10, markup=False)
            return
        try:
            if self.table is not None:
                self._entry_form(self.table, selected)
            elif self.section.startswith(SETTINGS_PREFIX):
                self._settings_form(self.section.removeprefix(SETTINGS_PREFIX))
            elif self.section == MANDATORY:
                self._mandatory_form(selected)
        except PatronDeskError as exc:
            self.notify(exc.message, severity="error", timeout=8)

    def action_toggle_active(self) -> None:
        t = self.table
        selected = self._selected_id() if t is not None else None
        if t is None or selected is None:
            return
        org = self.organization.id
        try:
            active = entry_values(t.key, org, selected, self.actor).get("active")
            if active is None:
                self.notify(f"A {t.singular} cannot be deactivated.", severity="warning")
                return
            set_entry_active(t.key, org, selected, not active, self.actor)
        except PatronDeskError as exc:
            self.notify(exc.message, severity="error", timeout=8)
            return
        self.notify(f"{t.singular.capitalize()} {'deactivated' if active else 'activated'}.")
        self.show_section(self.section)

    def action_delete(self) -> None:
        from screens.confirm import ConfirmScreen, InfoScreen

        t = self.table
        selected = self._selected_id() if t is not None else None
        if t is None or selected is None:
            return
        org = self.organization.id
        values = entry_values(t.key, org, selected, self.actor)
        what = values.get("code") or f"{values.get('role', '')}".replace("_", " ")

        def answer(yes: bool | None) -> None:
            if not yes:
                return
            try:
                delete_entry(t.key, org, selected, self.actor)
            except InUse as exc:
                self.app.push_screen(InfoScreen(f"{what} cannot be deleted", exc.message))
                return
            except PatronDeskError as exc:
                self.notify(exc.message, severity="error", timeout=8)
                return
            self.notify(f"{t.singular.capitalize()} {what} deleted.")
            self.show_section(self.section)

        self.app.push_screen(ConfirmScreen(f"Delete {t.singular} {what}?", yes="Delete"), answer)

    def action_back(self) -> None:
        self.dismiss(None)
