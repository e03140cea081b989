"""Configuration (issue 6): the organization's code tables, libraries and role-assignment
rules, and the settings, for User Administrators. The settings apply to the whole database:
the administrators of another organization than the one hosting the system see them read
only, with the reason (`models.config.config_settings.settings_refusal`).

Sections on the left, the highlighted section's entries on the right. Every change goes
through `models.config.configuration` / `models.config.config_settings` (rules, refusals, audit);
this screen
only shows and asks. Forms are the modal row form of User Details.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from models.audit import Actor
from models.config.config_settings import (
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
from models.config.configuration import (
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
from models.config.settings import MANDATABLE_FIELDS, Settings, load_settings
from models.enums import RecordType, Role
from models.errors import PatronDeskError, ValidationError
from models.fees.money import to_decimal
from screens.confirm import CoveredKeys
from screens.user_details.fields import FormField
from screens.user_details.row_form import RowFormScreen
from tui.keys import CONFIGURATION, bindings
from tui.screen import KeepStyles
from tui.table import RowTable
from tui.widgets import KeyBar
from tui.worker import run_service

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


SectionView = tuple[str, str, list[tuple[str, int]], list[tuple[str, ...]], list[Any]]
FormData = tuple[Settings, dict[str, Any]]


def read_section(section: str, org: int, actor: Actor) -> SectionView:
    """The title, hint, columns, rows and row ids of a section (database calls: run in a
    worker, as the screen does)."""
    if section in TABLES:
        t = TABLES[section]
        entries = list_entries(section, org, actor)
        rows = [tuple(_cell(f, e.values.get(f)) for _, f, _ in t.columns) for e in entries]
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
        return (f"[b]{title}[/b] (settings of the whole database)", _settings_hint(actor),
                [("Setting", 31), ("Value", 24)], rows, list(keys))  # fmt: skip
    if section == MANDATORY:
        types = [r.value for r in RecordType]
        rows = [(rt, ", ".join(settings.mandatory_fields.get(rt, []))) for rt in types]
        return ("[b]Mandatory fields[/b] per record type", _settings_hint(actor),
                [("Record type", 12), ("Mandatory fields", 60)], rows, types)  # fmt: skip
    events = config_history(org, actor)
    rows = [(f"{e.at:%m-%d %H:%M}", e.actor, f"{e.action} {e.entity}.{e.field}",
             e.old or "", e.new or "") for e in events]  # fmt: skip
    columns = [("When", 11), ("Who", 7), ("Change", 24), ("Was", 10), ("Now", 10)]
    return "[b]History of changes[/b]", "newest first", columns, rows, [None] * len(rows)


def _settings_hint(actor: Actor) -> str:
    if settings_refusal(actor) is None:
        return "e/Enter edit"
    host = hosting_organization()
    by = f"{host.code}'s administrators" if host is not None else "the command line"
    return f"read only: changed by {by} (e/Enter: why)"


def read_form_data(section: str, selected: Any, org: int, actor: Actor) -> FormData | str:
    """What the form of an entry of `section` needs (database calls: run in a worker): the
    settings and the entry's values (`selected` None: a new entry), or why the settings
    may not be changed."""
    if section not in TABLES and (refusal := settings_refusal(actor)) is not None:
        return refusal
    settings = load_settings()
    if section in TABLES and selected is not None:
        return settings, _to_form(entry_values(section, org, selected, actor))
    return settings, {}


def _cell(field: str, value: Any) -> str:
    if field == "library" and not value:
        return "all"  # a fee type of every library
    if field == "role" and value in {r.value for r in Role}:
        return Role(value).label
    return cell(value)


def table_form(t: Table, currency: str) -> FormSpec:
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


def _to_form(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    if "record_types" in out:
        chosen = out.pop("record_types")
        for r in RecordType:
            out[f"rt_{r.value}"] = r.value in chosen
    return out


def _from_form(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if not k.startswith("rt_")}
    if any(k.startswith("rt_") for k in data):
        out["record_types"] = [r.value for r in RecordType if data.get(f"rt_{r.value}")]
    return out


class ConfigTable(RowTable):
    """The entries of the section; Enter edits."""


class ConfigurationScreen(KeepStyles, CoveredKeys, Screen[None]):
    BINDINGS = bindings(CONFIGURATION)
    AUTO_FOCUS = "#config-sections"

    def __init__(self) -> None:
        super().__init__()
        self.section = "organization"
        self.ids: list[Any] = []  # per table row: entry id, setting key or record type
        self.select_after: Any = None  # an entry just added: the cursor goes to it
        self.reading = 0  # a section is being read (`show_section`)

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

    @property
    def accepting_keys(self) -> bool:
        """Keys typed while a section is read wait for it (`App._ready_for_keys`): they act on
        the entries of the section highlighted, never on the last one's."""
        return self.reading == 0

    def show_section(self, section: str, cursor: int | None = None) -> None:
        """Read the section's entries in a worker (the newest reading wins), then show them."""
        self.section = section
        self.reading += 1

        def shown(answer: SectionView) -> None:
            self.reading = 0
            self._show(answer, cursor)

        def refused(exc: PatronDeskError) -> None:
            self.reading = 0
            self.notify(exc.message, severity="error", timeout=8)

        run_service(
            self,
            read_section,
            section,
            self.organization.id,
            self.actor,
            on_ok=shown,
            on_error=refused,
            group="config-section",
            exclusive=True,
        )

    def _show(self, answer: SectionView, cursor: int | None) -> None:
        title, hint, columns, rows, ids = answer
        table = self.query_one(ConfigTable)
        keep = table.cursor if cursor is None else cursor
        self.ids = ids
        self.query_one("#config-title", Static).update(title)
        self.query_one("#config-hint", Static).update(hint)
        width = max(table.size.width, 30) if table.size.width else 52
        table.set_columns(fit_columns(columns, width))
        if self.select_after in ids:
            keep = ids.index(self.select_after)
        self.select_after = None
        table.set_rows(rows, keep if rows and keep < len(rows) else 0)

    def _selected_id(self) -> Any:
        table = self.query_one(ConfigTable)
        if not self.ids:
            self.notify("Nothing is selected.", severity="warning")
            return None
        return self.ids[table.cursor]

    def _failed(self, exc: PatronDeskError) -> None:
        self.notify(exc.message, severity="error", timeout=8)

    # --- forms --------------------------------------------------------------------------------

    def _open_form(
        self,
        title: str,
        spec: FormSpec,
        values: dict[str, Any],
        save: Callable[[dict[str, Any]], Any],
        saved: Callable[[Any], None],
    ) -> None:
        """The form: `save(values)` runs in its worker (services only); `saved(answer)` on
        the UI thread, before the section is read again."""

        def done(ok: bool | None) -> None:
            if ok:
                self.show_section(self.section)

        form = RowFormScreen(spec, title, values, self.organization.id, save, saved=saved)  # type: ignore[arg-type]
        self.app.push_screen(form, done)

    def _entry_form(self, t: Table, entry_id: int | None, answer: FormData) -> None:
        settings, values = answer
        org, actor = self.organization.id, self.actor
        if entry_id is None:
            values, title = {}, f"Add: {t.singular}"
        else:
            title = f"Edit: {t.singular} {values.get('code', '')}".rstrip()

        def save(data: dict[str, Any]) -> int | None:
            data = _from_form(data)
            try:
                if entry_id is None:
                    return add_entry(t.key, org, data, actor).id
                update_entry(t.key, org, entry_id, data, actor)
            except ValidationError as exc:
                if "record_types" in exc.errors:
                    errors = dict(exc.errors)
                    errors[f"rt_{RecordType.STAFF.value}"] = errors.pop("record_types")
                    raise ValidationError(errors) from None
                raise
            return None

        def saved(added: int | None) -> None:
            if added is not None:
                self.select_after = added  # the cursor goes to it
            self.notify(f"{t.singular.capitalize()} saved.")

        self._open_form(title, table_form(t, settings.currency), values, save, saved)

    def _settings_form(self, group: str, settings: Settings) -> None:
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
        actor = self.actor

        def save(data: dict[str, Any]) -> list[str]:
            changes, errors = {}, {}
            for key, text in data.items():
                try:
                    changes[key] = parse_setting(key, text, settings.currency)
                except ValidationError as exc:
                    errors.update(exc.errors)
            if errors:
                raise ValidationError(errors)
            return list(update_settings(changes, actor))

        def saved(changed: list[str]) -> None:
            names = ", ".join(info(k).label.lower() for k in changed)
            self.notify(f"Saved: {names}." if changed else "Nothing changed.")

        self._open_form(title, FormSpec(tuple(fields)), values, save, saved)

    def _mandatory_form(self, record_type: str, settings: Settings) -> None:
        current = settings.mandatory_fields.get(record_type, [])
        fields = tuple(
            FormField(name, _label(name) + (" (always)" if name in ALWAYS_MANDATORY else ""),
                      "bool") for name in MANDATABLE_FIELDS
        )  # fmt: skip
        values = {name: name in current for name in MANDATABLE_FIELDS}
        actor = self.actor

        def save(data: dict[str, Any]) -> bool:
            chosen = [name for name in MANDATABLE_FIELDS if data.get(name)]
            mandatory = {**load_settings().mandatory_fields, record_type: chosen}
            return bool(update_settings({"mandatory_fields": mandatory}, actor))

        def saved(changed: bool) -> None:
            self.notify("Mandatory fields saved." if changed else "Nothing changed.")

        title = f"Mandatory fields: {record_type} records"
        self._open_form(title, FormSpec(fields), values, save, saved)

    # --- actions ------------------------------------------------------------------------------

    def action_add(self) -> None:
        t = self.table
        if t is None or t.key == "organization":
            self.notify("Nothing to add here: choose a table on the left.", severity="warning")
            return
        self._read_form(None)

    def action_edit(self) -> None:
        selected = self._selected_id()
        if selected is not None:
            self._read_form(selected)

    def _read_form(self, selected: Any) -> None:
        """What the form of the section's entry `selected` (None: a new entry) needs, read
        in a worker; then the form."""
        section, t = self.section, self.table

        def opened(answer: FormData | str) -> None:
            if section != self.section:
                return  # another section was chosen meanwhile
            if isinstance(answer, str):
                self.notify(answer, severity="warning", timeout=10, markup=False)
            elif t is not None:
                self._entry_form(t, selected, answer)
            elif section.startswith(SETTINGS_PREFIX):
                self._settings_form(section.removeprefix(SETTINGS_PREFIX), answer[0])
            elif section == MANDATORY:
                self._mandatory_form(selected, answer[0])

        run_service(
            self,
            read_form_data,
            section,
            selected,
            self.organization.id,
            self.actor,
            on_ok=opened,
            on_error=self._failed,
            group="config-form",
            exclusive=True,
        )

    def action_toggle_active(self) -> None:
        t = self.table
        selected = self._selected_id() if t is not None else None
        if t is None or selected is None:
            return
        org, actor = self.organization.id, self.actor

        def toggle() -> bool | None:
            active = entry_values(t.key, org, selected, actor).get("active")
            if active is not None:
                set_entry_active(t.key, org, selected, not active, actor)
            return active

        def done(active: bool | None) -> None:
            if active is None:
                self.notify(f"A {t.singular} cannot be deactivated.", severity="warning")
                return
            self.notify(f"{t.singular.capitalize()} {'deactivated' if active else 'activated'}.")
            self.show_section(self.section)

        run_service(self, toggle, on_ok=done, on_error=self._failed, group="config-change")

    def action_delete(self) -> None:
        t = self.table
        selected = self._selected_id() if t is not None else None
        if t is None or selected is None:
            return
        org, actor = self.organization.id, self.actor
        run_service(
            self,
            entry_values,
            t.key,
            org,
            selected,
            actor,
            on_ok=lambda values: self._confirm_delete(t, selected, values),
            on_error=self._failed,
            group="config-change",
        )

    def _confirm_delete(self, t: Table, selected: Any, values: dict[str, Any]) -> None:
        from screens.confirm import ConfirmScreen, InfoScreen

        org, actor = self.organization.id, self.actor
        what = values.get("code") or f"{values.get('role', '')}".replace("_", " ")

        def deleted(_: None) -> None:
            self.notify(f"{t.singular.capitalize()} {what} deleted.")
            self.show_section(self.section)

        def refused(exc: PatronDeskError) -> None:
            if isinstance(exc, InUse):
                self.app.push_screen(InfoScreen(f"{what} cannot be deleted", exc.message))
            else:
                self._failed(exc)

        def answer(yes: bool | None) -> None:
            if yes:
                run_service(
                    self,
                    delete_entry,
                    t.key,
                    org,
                    selected,
                    actor,
                    on_ok=deleted,
                    on_error=refused,
                    group="config-change",
                )

        self.app.push_screen(ConfirmScreen(f"Delete {t.singular} {what}?", yes="Delete"), answer)

    def action_back(self) -> None:
        self.dismiss(None)
