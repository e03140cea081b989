"""The General tab: the user's personal and management data, in edit mode, saved explicitly
(ctrl+s) in one transaction. A save over someone else's newer save is refused (the version
check in `models.users.details.update_user`); the form keeps what was typed. On an external
account a save changing a field the next SIS load may override asks first, per field, whether
it may (`screens.sis_override`, Alma's question); the answers are saved with the fields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Select, Static

from models.config.codes import code_options, title_options
from models.errors import ConflictError, PatronDeskError, ValidationError
from models.users.details import GeneralForm, general_form, general_problems, update_user
from models.users.external import DATE_FIELDS, asked_fields
from models.users.fields import BOOL, CODE, FIELDS, GENDERS, LANGUAGE, LANGUAGES, LIBRARIES
from models.users.profile import Profile
from screens.user_details.context import RecordContext, load_head
from tui.keys import hint
from tui.widgets import (
    Checkbox,
    DateInput,
    Field,
    FormSelect,
    Line,
    LineInput,
    Message,
    SizedByLayout,
    plain,
    with_held,
)
from tui.worker import run_service

# Each field's label from the field table (models/users/fields.py), but where the tab says more.
LABELS = {
    **{f.name: f.label for f in FIELDS if f.general or f.shown},
    "pin": "New PIN",  # typed to replace the PIN; never shown
    "local_codes": "Local codes (comma-separated)",
}
BOOLS = frozenset(f.name for f in FIELDS if f.general and f.kind == BOOL)
NONE_SHOWN = "—"  # a read-only field the record has no value for
# What an empty input of several library codes waits for (issue 22, item 6d;
# models/users/libraries.py): the label stays short enough for a column at 80x24.
PLACEHOLDERS = {f.name: "library codes, comma-separated" for f in FIELDS if f.kind == LIBRARIES}


def _options(f) -> Callable[[int, str], list[tuple[str, Any]]] | None:  # noqa: ANN001
    """What a field's select offers for (organization id, the user's record type), from its
    kind in the field table (None: not a select). A code table's entries of the user's record
    type only (alma-managing-users: "The job categories available depend on the record type
    selected"; `models.config.codes.applies_to`); the titles of the organization's list
    (none: Title is typed freely)."""
    if f.kind == CODE:
        return lambda org, rt: code_options(f.name, org, record_type=rt)
    if f.kind == LANGUAGE:
        return lambda org, _rt: LANGUAGES
    if f.enum is not None:
        return lambda org, _rt: [(m.value.capitalize(), m.value) for m in f.enum]
    if f.name == "gender":
        return lambda org, _rt: GENDERS
    if f.name == "title":
        return lambda org, _rt: title_options(org)
    return None


CHOICES = {f.name: options for f in FIELDS if f.general and (options := _options(f))}
# Choices only when their list has entries, typed freely otherwise.
TYPED_WHEN_EMPTY = frozenset({"title"})


@dataclass
class GeneralData:
    """What the General tab shows, read in the worker that opens the record."""

    form: GeneralForm
    choices: dict[str, list[tuple[str, str]]]


def load_general(
    account_id: int, actor, organization_id: int, record_type: str = "", *, opened: bool = False
) -> GeneralData:
    """The General tab's form and the options of its selects, those of the user's
    `record_type` (database calls: run it in a worker, as `UserDetailsScreen` does). `opened`:
    after "Open for update"."""
    form = general_form(account_id, actor, opened=opened)
    choices = {
        name: CHOICES[name](organization_id, record_type) for name in form.values if name in CHOICES
    }
    return GeneralData(form, choices)


def _is_choice(name: str, choices: dict[str, list[tuple[str, str]]]) -> bool:
    return name in CHOICES and (name not in TYPED_WHEN_EMPTY or bool(choices.get(name)))


DISABLE_AFTER = 0.15  # seconds a save runs before its form is disabled


class GeneralPane(SizedByLayout, VerticalScroll):
    # Not a stop of its own for Tab while a field can take the focus: the first Tab from the
    # tabs went to the pane, which showed no focus (a desk took it for a lost key); its fields
    # scroll it into view. A form with no field to edit (a view-only role) is scrolled by
    # the pane itself, which then takes the focus (`_focusable`).
    can_focus = False

    def _focusable(self) -> None:
        self.can_focus = not self.form.editable

    def __init__(self, ctx: RecordContext, loaded: GeneralData | None = None) -> None:
        super().__init__(id="pane-general")
        self.ctx = ctx
        self.opened = False  # "Open for update" on an external account
        self.saving = False
        self._focus_after: Widget | None = None
        self._disable_timer: Timer | None = None
        self._fields: dict[str, Field] = {}
        self._options: dict[str, list[tuple[str, str]]] = {}  # each Select's, as last set
        loaded = loaded or load_general(
            ctx.account_id, ctx.actor, ctx.organization_id, ctx.record_type
        )
        self.form: GeneralForm = loaded.form
        self.choices = loaded.choices

    # --- building -------------------------------------------------------------------------------

    def _widget(self, name: str, value: Any):
        wid = f"g-{name}"
        if name in BOOLS:
            return Checkbox(LABELS[name], bool(value), id=wid)
        if _is_choice(name, self.choices):
            options = self._options[name] = with_held(self.choices[name], value)
            current = "" if value is None else str(value)
            return FormSelect(options, value=current or Select.NULL, id=wid, prompt="—")
        if name in DATE_FIELDS:
            text = value.isoformat() if hasattr(value, "isoformat") else (value or "")
            return DateInput("9999-99-99", value=text or None, id=wid, placeholder="YYYY-MM-DD")
        return LineInput(
            "" if value is None else str(value),
            id=wid,
            password=name == "pin",
            placeholder=PLACEHOLDERS.get(name, ""),
        )

    def _label(self, name: str) -> str:
        return LABELS.get(name, name) + (
            " (changed by hand)" if name in self.form.overridden else ""
        )

    def compose(self) -> ComposeResult:
        f = self.form
        self._focusable()
        yield Line(plain(self._info()), id="general-info", classes="hint")
        yield Message(id="general-message", reserve=True)
        with Grid(classes="form-grid"):
            for name, value in f.values.items():
                widget = self._widget(name, value)
                widget.disabled = name not in f.editable
                if isinstance(widget, Checkbox):
                    yield widget
                else:
                    yield Field(self._label(name), widget)
            for name, text in f.shown.items():
                widget = LineInput(text or NONE_SHOWN, id=f"g-{name}")
                widget.disabled = True  # kept by the record: nobody types them
                yield Field(LABELS[name], widget)
        yield Static("ctrl+s: save the General tab", classes="hint")

    def fits(self, loaded: GeneralData) -> bool:
        """Whether `load` can show `loaded` in the widgets built for an earlier user: not when
        Title is to be a choice and is typed here, or the other way round (the list of titles
        was filled or emptied since): the pane is then built again."""
        return all(
            isinstance(self.query_one(f"#g-{name}"), Select) == _is_choice(name, loaded.choices)
            for name in TYPED_WHEN_EMPTY
            if name in loaded.form.values
        )

    def load(self, ctx: RecordContext, loaded: GeneralData) -> None:
        """Show another user's record in this form, built for an earlier one (User Details is
        kept between users: building its widgets was most of the time of opening a user).
        Every field, label, message and mark of the earlier user is replaced."""
        self.ctx = ctx
        self.opened = False
        self._left = frozenset()
        self.form = loaded.form
        self._focusable()
        self.choices = loaded.choices
        self._field_widgets()
        inputs = self._inputs()
        # Nothing listens to a field's change here (what changed is read at the save): the
        # thirty messages of a refill, each bubbling up to the app, are not sent.
        with self.prevent(Input.Changed, Select.Changed, Checkbox.Changed):
            for name, value in self.form.values.items():
                self._set(name, value, inputs[f"g-{name}"])
            self._show_read_only(inputs)
        self.query_one("#general-info", Line).set(self._info())
        self.query_one("#general-message", Message).clear()
        self.scroll_home(animate=False)

    def _inputs(self) -> dict[str, Widget]:
        """The form's inputs by id, read in one walk of the form (a query per field walked
        it thirty times)."""
        return {
            w.id: w for w in self.query("Input, Select, Checkbox") if w.id and w.id.startswith("g-")
        }

    def _set(self, name: str, value: Any, widget: Widget) -> None:
        """One field of the record in the form (`load`)."""
        if isinstance(widget, Checkbox):
            widget.value = bool(value)
        elif isinstance(widget, Select):
            options = with_held(self.choices[name], value)
            if options != self._options.get(name):  # rebuilding a list costs: only if new
                widget.set_options(options)
                self._options[name] = options
            widget.value = ("" if value is None else str(value)) or Select.NULL
        elif name in DATE_FIELDS:
            text = value.isoformat() if hasattr(value, "isoformat") else (value or "")
            if isinstance(widget, DateInput):
                widget.put(text)
            else:
                widget.value = text
        else:
            widget.value = "" if value is None else str(value)
        widget.disabled = name not in self.form.editable
        field = self._fields.get(name)
        if field is not None:
            field.set_label(self._label(name))
            if field.has_class("-invalid"):
                field.set_error(None)

    def _show_read_only(self, inputs: dict[str, Widget] | None = None) -> None:
        inputs = inputs or self._inputs()
        for name, text in self.form.shown.items():
            inputs[f"g-{name}"].value = text or NONE_SHOWN

    def _info(self) -> str:
        f = self.form
        text = (
            f"Created by {f.created_by} {f.created_at:%Y-%m-%d %H:%M} · "
            f"updated by {f.updated_by} {f.updated_at:%Y-%m-%d %H:%M} (UTC)"
        )
        if f.external and self.opened:
            text += " · external account: opened for update (your changes are kept as yours)"
        elif f.external:
            actions = hint(self.app, "actions")
            text += f" · external account: SIS fields are locked (Open for update in {actions})"
        return text

    # --- reading and saving ---------------------------------------------------------------------

    def current(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in self.form.values:
            widget = self.query_one(f"#g-{name}")
            if isinstance(widget, Checkbox):
                values[name] = widget.value
            elif isinstance(widget, Select):
                values[name] = "" if widget.value is Select.NULL else widget.value
            else:
                text = widget.value
                values[name] = "" if name in DATE_FIELDS and not text.strip("-_ ") else text
        return values

    def changes(self) -> dict[str, Any]:
        before = self.form.values
        out = {}
        for name, value in self.current().items():
            old = before.get(name)
            old = old.isoformat() if hasattr(old, "isoformat") else old
            if name == "pin" and not value:
                continue
            if (old if old is not None else "") != value:
                out[name] = value
        return out

    @property
    def dirty(self) -> bool:
        return bool(self.changes())

    def save(
        self,
        then: Callable[[], None] | None = None,
        *,
        answers: dict[str, bool] | None = None,
    ) -> bool:
        """Save what changed, in a worker (the terminal answers meanwhile). The form is disabled
        and says "Saving…" until the answer; on an error it is enabled again with the messages,
        nothing typed lost. `then` runs after a successful save (or when nothing changed).
        On an external account, changes to fields a SIS load may override are saved only once
        the question is answered (`answers`: field -> the next SIS load may override it).
        False when no save started (nothing to save, or one is already running)."""
        message = self.query_one("#general-message", Message)
        if self.saving:
            return False
        changes = self.changes()
        if not changes:
            message.show("Nothing to save.", error=False)
            if then is not None:
                then()
            return False
        asked = asked_fields(self.form.external, changes)
        if asked and answers is None:
            self._ask(asked, then)
            return True
        ctx, opened = self.ctx, self.opened

        def work() -> tuple[int, GeneralForm, tuple[Profile, bool]]:
            account = update_user(
                ctx.account_id,
                ctx.version,
                changes,
                ctx.actor,
                opened=opened,
                sis_may_override=answers,
            )
            form = general_form(ctx.account_id, ctx.actor, opened=opened)
            return account.version, form, load_head(ctx.account_id, ctx.actor)

        self._saving(True)
        run_service(
            self,
            work,
            on_ok=lambda result: self._saved(changes, *result, then=then),
            on_error=self._refused,
            group="general-save",
        )
        return True

    def _ask(self, asked: tuple[str, ...], then: Callable[[], None] | None) -> None:
        """Alma's question for the fields in `asked`; the save goes on once it is answered.
        Escape comes back to the form, everything typed still in it."""
        from screens.sis_override import SisOverrideScreen

        def answered(answers: dict[str, bool] | None) -> None:
            if not self.is_attached:
                return
            if answers is None:
                self.query_one("#general-message", Message).show(
                    f"Not saved: your changes are still here ({hint(self.app, 'save')} saves).",
                    error=False,
                )
                return
            self.save(then, answers=answers)

        self.app.push_screen(SisOverrideScreen(asked), answered)

    def _saving(self, saving: bool) -> None:
        """Disable the form and say "Saving…" while a save runs, once it has run for
        DISABLE_AFTER (restyling the whole form twice, and a message line that comes and
        goes, cost more than a quick save: a quick save never pays it, and never flickers; a
        save held up by another writer shows a disabled form). The focus goes back after."""
        self.saving = saving
        if saving:
            focused = self.screen.focused
            self._focus_after = focused if focused and self in focused.ancestors else None
            self._disable_timer = self.set_timer(DISABLE_AFTER, self._disable)
            return
        if self._disable_timer is not None:
            self._disable_timer.stop()
            self._disable_timer = None
        if self.disabled:
            self.disabled = False
            if self._focus_after is not None and self._focus_after.is_attached:
                self._focus_after.focus()
        self._focus_after = None

    def _disable(self) -> None:
        if self.saving:
            self.query_one("#general-message", Message).show("Saving…", error=False)
            self.disabled = True

    def _saved(
        self,
        changes: dict[str, Any],
        version: int,
        form: GeneralForm,
        head: tuple[Profile, bool],
        then: Callable[[], None] | None = None,
    ) -> None:
        self._saving(False)
        self.ctx.version = version
        self.form = form
        self._left = frozenset()
        self._errors({})
        self.query_one("#g-pin", Input).value = ""
        for name in changes.keys() - {"pin"} - DATE_FIELDS:  # as stored ("a,b" is "a, b")
            widget = self.query_one(f"#g-{name}")
            value = form.values.get(name)
            if isinstance(widget, Input) and widget.value != (
                text := "" if value is None else str(value)
            ):
                widget.value = text
        self._show_read_only()
        self.query_one("#general-info", Line).set(self._info())
        message = self.query_one("#general-message", Message)
        message.show(f"Saved: {', '.join(LABELS.get(n, n) for n in changes)}.", error=False)
        if self.ctx.show_head is not None:  # the head line too, drawn with the form
            self.ctx.show_head(head)
        if then is not None:
            then()

    def _refused(self, exc: PatronDeskError) -> None:
        self._saving(False)
        message = self.query_one("#general-message", Message)
        if isinstance(exc, ConflictError):
            message.show(
                exc.message
                + f" Reload ({hint(self.app, 'actions')}, R) to see their changes;"
                + " yours are kept here."
            )
        elif isinstance(exc, ValidationError):
            self._errors(exc.errors)
            message.show("Not saved: correct the fields marked below.")
        else:
            message.show(exc.message)

    def _field_widgets(self) -> dict[str, Field]:
        """The form's fields by name, found once (one walk of the form, not one per field)."""
        if not self._fields:
            self._fields = {f.id.removeprefix("field-g-"): f for f in self.query(Field) if f.id}
        return self._fields

    _left: frozenset[str] = frozenset()  # the fields left since the last save or user

    @on(Input.Blurred)
    def _left_field(self, event: Input.Blurred) -> None:
        """A field left is checked as a save would check it (in a worker), and its message
        shown at once, as in Quick User Management: a wrong date was said only at ctrl+s."""
        name = (event.input.id or "").removeprefix("g-")
        if self.saving or name not in self.form.values or name == "pin":
            return  # (the PIN is checked at the save only: its message stays until then)
        self._left = self._left | {name}
        changes = self.changes()
        ctx, opened, left = self.ctx, self.opened, self._left
        run_service(
            self,
            general_problems,
            ctx.account_id,
            changes,
            ctx.actor,
            opened=opened,
            on_ok=lambda errors: self._left_checked(errors, left),
            on_error=lambda _exc: None,  # the save says it (the rights, a record gone)
            group="general-check",
            exclusive=True,
        )

    def _left_checked(self, errors: dict[str, str], left: frozenset[str]) -> None:
        """The messages of the fields left; a message of another field stays until its fix
        or the save (no message before the user gets to a field)."""
        if self.saving or not self.is_attached:
            return
        self._field_widgets()
        for name in left:
            field = self._fields.get(name)
            if field is not None and (errors.get(name) or field.has_class("-invalid")):
                field.set_error(errors.get(name))

    def _errors(self, errors: dict[str, str]) -> None:
        self._field_widgets()
        first = None
        for name in self.form.values:
            field = self._fields.get(name)
            # Only the fields whose message changes are redrawn.
            if field is not None and (errors.get(name) or field.has_class("-invalid")):
                field.set_error(errors.get(name))
            if name in errors and first is None:
                first = name
        if first:
            widget = self.query_one(f"#g-{first}")
            widget.focus()
            widget.scroll_visible()

    def renewed(self, version: int, form: GeneralForm) -> None:
        """Renew saved a new expiration date (asked only with nothing unsaved here): the form
        shows the record as it now is."""
        self.ctx.version = version
        self.form = form
        self.query_one("#g-expiry_date", Input).value = form.values["expiry_date"].isoformat()
        self.query_one("#general-info", Line).set(self._info())
        self.query_one("#general-message", Message).show(
            f"Renewed: expires {form.values['expiry_date'].isoformat()}.", error=False
        )

    def reload(self) -> None:
        """Read the record again into this form (after Original values restored a field),
        keeping Open for update. Only when nothing is typed unsaved (the caller checks)."""
        ctx, opened = self.ctx, self.opened

        def loaded(data: GeneralData) -> None:
            ctx.version = data.form.version
            self.load(ctx, data)
            if opened:
                self.unlock_all(data.form.editable)

        run_service(
            self,
            load_general,
            ctx.account_id,
            ctx.actor,
            ctx.organization_id,
            ctx.record_type,
            opened=opened,
            on_ok=loaded,
            group="general-reload",
            exclusive=True,
        )

    def unlock_all(self, editable: frozenset[str]) -> None:
        self.opened = True
        self.can_focus = False  # fields to edit now take the focus
        for name in editable:
            self.query_one(f"#g-{name}").disabled = False
        self.query_one("#general-info", Line).set(self._info())  # no longer "locked"
