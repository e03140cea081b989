"""Quick User Management: add a user from the keyboard (domain.md sections 2, 3 and 5).

Each field is checked when the user leaves it and on save, by
`models.users.accounts.validate_new_user`
(the same rules as the CLI and the importer); the message is shown under the field, the first
wrong field takes the focus, and nothing typed is ever cleared by a failed save.
"""

from __future__ import annotations

import asyncio
from dataclasses import fields as dc_fields

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Header, Input, MaskedInput, Select, Static

from models.access.passwords import generate_password, generate_pin, policy_text
from models.config.codes import code_options, title_options
from models.config.settings import load_settings
from models.enums import AccountType, EmailType, PhoneType, RecordType
from models.errors import PatronDeskError, ValidationError
from models.runtime import runtime
from models.users.accounts import NewUser, create_user, find_duplicate_people, validate_new_user
from models.users.check import new_account_expiry
from models.users.fields import GENDERS, LANGUAGES
from models.users.validation import parse_date
from screens.confirm import CoveredKeys
from tui.keys import QUICK_USER, bindings, hint
from tui.screen import KeepStyles
from tui.widgets import (
    Checkbox,
    Field,
    KeyBar,
    LineInput,
    Message,
    plain,
    with_held,
)
from tui.worker import run_service

# The fields the likely existing people are looked up on (models/duplicates/typing.py), and the
# pause after the last key before the look-up runs (a look-up per key would queue behind typing).
LIKELY_FIELDS = (
    "last_name", "first_name", "birth_date", "email", "phone", "identifier_value", "primary_id",
)  # fmt: skip
LIKELY_DELAY = 0.3

TAB_RECORD_TYPE = {"staff": "staff", "public": "public", "contact": "contact"}
DATE = "9999-99-99"

# (section, field, label): the form in reading order. Select fields get their options below.
LAYOUT = (
    ("User information", "first_name", "First name"),
    ("User information", "middle_name", "Middle name"),
    ("User information", "last_name", "Last name"),
    ("User information", "preferred_first_name", "Preferred first name"),
    ("User information", "title", "Title"),
    ("User information", "birth_date", "Birth date (YYYY-MM-DD)"),
    ("User information", "gender", "Gender"),
    ("User information", "website", "Website (https://…)"),
    ("User information", "preferred_language", "Language"),
    ("User information", "primary_id", "Primary identifier"),
    ("User information", "username", "Username (empty: primary identifier)"),
    ("User information", "password", "Password"),
    ("User information", "password_confirm", "Password again"),
    ("User information", "force_password_change", "Password change"),
    ("User information", "pin", "PIN (4 digits)"),
    ("User management", "user_group", "User group"),
    ("User management", "job_category", "Job category"),
    ("User management", "campus", "Campus"),
    ("User management", "account_type", "Account type"),
    ("User management", "expiry_date", "Expiration date"),
    ("User management", "purge_date", "Purge date"),
    ("Identifier", "identifier_type", "Identifier type"),
    ("Identifier", "identifier_value", "Identifier"),
    ("Contact information", "email", "Email"),
    ("Contact information", "email_type", "Email type"),
    ("Contact information", "phone", "Phone"),
    ("Contact information", "phone_type", "Phone type"),
    ("Contact information", "address_line1", "Address"),
    ("Contact information", "address_line2", "Address line 2"),
    ("Contact information", "postal_code", "Postal code"),
    ("Contact information", "city", "City"),
    ("Contact information", "country", "Country (ISO code, e.g. CH)"),
    ("Add as fulfillment proxy", "proxy_for", "Proxy for (sponsor's identifier)"),
)
DATES = {"birth_date", "expiry_date", "purge_date"}
# The selects that always hold a value, and the value a new form starts with.
SELECT_DEFAULTS = {
    "account_type": AccountType.INTERNAL.value,
    "email_type": EmailType.PERSONAL.value,
    "phone_type": PhoneType.MOBILE.value,
    "preferred_language": "en",
}
SECRETS = {"password", "password_confirm"}
# Checkboxes and the value a new form starts with. Force password change is ticked: a password
# staff type or generate is known to them, and the user then chooses their own at the first
# login, as the manual advises (alma-manually-creating-patrons); untick it for a password the
# user chose and typed in themselves.
CHECKBOXES = {"force_password_change": True}
CHECKBOX_LABELS = {"force_password_change": "Force change at next login"}  # fits 80 columns
# Form field -> field of the error the service reports for it.
ERROR_ALIASES = {"address_line1": ("address_line1", "address")}
CODE_FIELDS = ("user_group", "job_category", "campus", "identifier_type")  # code-table names
# The code tables whose entries apply to record types: their options follow the record type
# (alma-managing-users: "The user groups available depend on the record type selected", "The
# job categories available depend on the record type selected"; identifier types: "This list
# may be different for staff and public users"). `models.config.codes.applies_to`.
BY_RECORD_TYPE = ("user_group", "job_category", "identifier_type")


def build_new_user(raw: dict[str, object]) -> NewUser:
    """The `NewUser` of the form's values (the code tables' selects hold codes)."""
    return NewUser(**raw)


def check_new_user(raw: dict[str, object], organization, actor) -> dict[str, str]:
    """The messages of the form as typed so far (field -> message; empty when all is right)."""
    try:
        validate_new_user(build_new_user(raw), organization, actor)
    except ValidationError as exc:
        return exc.errors
    return {}


def save_new_user(
    raw: dict[str, object], actor, organization, *, register: bool, check_duplicates: bool
) -> tuple[str, object]:
    """Quick User's save, run in a worker: ("duplicates", (count, ids here, first, last,
    birth)) when a person with the same names and birth date exists (and that was not
    accepted yet), else ("saved", (account id, last name, primary id))."""
    data = build_new_user(raw)
    try:
        birth = parse_date(data.birth_date) if data.birth_date else None
    except ValueError:
        birth = None
    if birth and check_duplicates:
        dupes = find_duplicate_people(data.first_name, data.last_name, birth)
        if dupes:
            here = [a.id for p in dupes for a in p.accounts if a.organization_id == organization.id]
            return "duplicates", (len(dupes), here, data.first_name, data.last_name, birth)
    account = create_user(data, actor, organization, via_register=register)
    return "saved", (account.id, account.person.last_name, account.primary_id)


def read_record_type_lists(
    organization_id: int, record_type: str
) -> tuple[set[str], dict[str, list[tuple[str, str]]], list[tuple[str, str]]]:
    """What follows the record type (run in a worker): its mandatory fields, the options of
    the code tables that apply to it (`BY_RECORD_TYPE`), and the titles (Alma's User Titles,
    read again with them: a form kept between users shows the list as it is now)."""
    mandatory = set(load_settings().mandatory_fields.get(record_type, []))
    codes = {
        name: code_options(name, organization_id, record_type=record_type)
        for name in BY_RECORD_TYPE
    }
    return mandatory, codes, title_options(organization_id)


def read_form_lists(organization_id: int, record_type: str) -> tuple[tuple, dict, str]:
    """What the form shows from the database (run in a worker): the record type's lists
    (`read_record_type_lists`), the other code tables' options, the password policy."""
    choices = {
        name: code_options(name, organization_id)
        for name in CODE_FIELDS
        if name not in BY_RECORD_TYPE
    }
    lists = read_record_type_lists(organization_id, record_type)
    return lists, choices, policy_text(load_settings())


def expiry_hint(group: object, organization_id: int):  # noqa: ANN201 - a date
    """The expiration date the account gets when the field is left empty, for the chosen
    group (run in a worker): `models.users.check.new_account_expiry`, as the save does."""
    return new_account_expiry(group, organization_id, load_settings(), runtime.today())


def _enum_choices(enum) -> list[tuple[str, str]]:
    return [(m.value.replace("_", " ").capitalize(), m.value) for m in enum]


# Personal data belongs to the person: locked when an existing person is reused.
PERSONAL = frozenset(
    {
        "first_name", "middle_name", "last_name", "preferred_first_name", "title", "birth_date",
        "gender", "website", "preferred_language", "username", "password", "password_confirm",
        "email", "email_type", "phone", "phone_type", "address_line1", "address_line2",
        "postal_code", "city", "country",
    }
)  # fmt: skip


class QuickUserScreen(KeepStyles, CoveredKeys, Screen[tuple[int, bool] | None]):
    """Dismisses with (new account id, open its details?), or None when cancelled."""

    BINDINGS = bindings(QUICK_USER)

    def __init__(
        self,
        *,
        tab: str = "all",
        identifier: str = "",
        register: bool = False,
        prefill: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        # Register New User adds public users only (the circulation desk path).
        self.fixed_record_type = "public" if register else TAB_RECORD_TYPE.get(tab)
        # The first field at once: focusing the form's scroll container first, then the
        # field, restyled the whole form twice.
        self.AUTO_FOCUS = "#first_name" if self.fixed_record_type else "#record_type"
        self.register = register
        self.initial_identifier = identifier
        self.prefill = prefill or {}
        self.touched: set[str] = set()
        self.saving = False
        self.person_id: int | None = None  # an existing person reused for this account
        self._duplicate_ok = False
        # The options each select following the record type has, as last set.
        self._code_choices: dict[str, list[tuple[str, object]]] = {}

    # --- layout ---------------------------------------------------------------------------------

    @property
    def record_type(self) -> str:
        if self.fixed_record_type:
            return self.fixed_record_type
        value = self.query_one("#record_type", Select).value
        return RecordType.PUBLIC.value if value is Select.NULL else str(value)

    def on_key(self, event: events.Key) -> None:
        """A character typed on the record type's select goes to First name (the select takes
        no text: from the All tab the form opens on it, and a name typed at once after ctrl+n
        went nowhere). The record type stays as it is."""
        focused = self.focused
        if not (isinstance(focused, Select) and focused.id == "record_type"):
            return
        if focused.expanded or not event.is_printable or not event.character:
            return
        first = self.query_one("#first_name", Input)
        if first.disabled:
            return
        event.stop()
        event.prevent_default()
        first.focus()  # deferred by Textual (the app's call_later): the character after it,
        # or the field's focus would select it and the next key replace it
        self.app.call_later(first.post_message, events.Paste(event.character))

    def _choices(self, name: str) -> list[tuple[str, object]] | None:
        """The options a select starts with (None: not a select). A code table's are read
        in a worker once the form is shown (`_read_lists`): empty until then."""
        if name in CODE_FIELDS:
            return []
        return {
            "account_type": lambda: _enum_choices(AccountType),
            "email_type": lambda: _enum_choices(EmailType),
            "phone_type": lambda: _enum_choices(PhoneType),
            "preferred_language": lambda: LANGUAGES,
            "gender": lambda: GENDERS,
        }.get(name, lambda: None)()

    def _widget(self, name: str) -> Widget:
        if name in CHECKBOXES:
            return Checkbox(CHECKBOX_LABELS[name], CHECKBOXES[name], id=name)
        choices = self._choices(name)
        if choices is not None:
            if name in SELECT_DEFAULTS:
                return Select(choices, value=SELECT_DEFAULTS[name], allow_blank=False, id=name)
            return Select(choices, id=name, prompt="—")
        if name in DATES:
            return MaskedInput(template=DATE, id=name, placeholder="YYYY-MM-DD")
        return LineInput(id=name, password=name in SECRETS)

    def compose(self) -> ComposeResult:
        """The form at once; the mandatory marks, the code tables' options and the password
        policy are read in a worker (`_read_lists`) and filled in."""
        yield Header()
        with VerticalScroll(id="form"):
            title = "Register New User" if self.register else "Quick User Management"
            yield Static(title, classes="form-title")
            if self.fixed_record_type:
                yield Static(f"Record type: {self.fixed_record_type}", id="record-type-label")
            else:
                yield Field(
                    "Record type",
                    Select(
                        _enum_choices(RecordType),
                        value=RecordType.PUBLIC.value,
                        allow_blank=False,
                        id="record_type",
                    ),
                    required=True,
                )
            section = None
            grid: Grid | None = None
            for sec, name, label in LAYOUT:
                if sec != section:
                    if grid is not None:
                        yield grid
                    yield Static(sec, classes="form-section")
                    grid = Grid(classes="form-grid")
                    section = sec
                grid.compose_add_child(Field(label, self._widget(name)))
            yield grid
            yield Static("", classes="hint", id="password-policy")

            def key(key_id: str) -> str:
                return hint(self.app, key_id)

            with Horizontal(id="form-buttons"):
                yield Button(f"Generate password ({key('generate_password')})", id="gen-password")
                yield Button(f"Generate PIN ({key('generate_pin')})", id="gen-pin")
                yield Button(f"Reuse a person ({key('quick_user.reuse_person')})", id="reuse")
            yield Message(id="form-message")
            with Horizontal(id="form-buttons-save"):
                yield Button(f"Save ({key('save')})", id="save", variant="primary")
                yield Button(f"Save and open ({key('quick_user.save_and_open')})", id="save-open")
                yield Button("Cancel (Esc)", id="cancel")
        yield Static("", id="likely-people")
        yield KeyBar()

    @property
    def record_type_initial(self) -> str:
        return self.fixed_record_type or RecordType.PUBLIC.value

    @staticmethod
    def kept_as(*, tab: str = "all", register: bool = False, **_options) -> str:
        """The name the app keeps a form of these options under (`App.new_user_form`): one
        per record type offered, Register New User's apart."""
        fixed = "public" if register else TAB_RECORD_TYPE.get(tab)
        return f"kept-quick-user-{fixed or 'any'}{'-register' if register else ''}"

    def on_mount(self) -> None:
        self._fill_given()
        self._read_lists()

    _lists_read = False  # the code tables' options are in the selects (`_read_lists`)

    @property
    def accepting_keys(self) -> bool:
        """Keys typed before the selects have their options wait for them
        (`App._ready_for_keys`)."""
        return self._lists_read

    def _read_lists(self) -> None:
        """The mandatory marks and user groups of the record type, the other code tables'
        options and the password policy, read in a worker, then filled in."""
        record_type, organization_id = self.record_type, self.app.session.organization.id
        run_service(
            self,
            read_form_lists,
            organization_id,
            record_type,
            on_ok=lambda lists: self._show_lists(record_type, *lists),
            group="quick-user-lists",
        )

    async def _show_lists(
        self,
        record_type: str,
        lists: tuple,
        choices: dict[str, list[tuple[str, object]]],
        policy: str,
    ) -> None:
        for name, options in choices.items():
            select = self.query_one(f"#{name}", Select)
            with self.prevent(Select.Changed):
                select.set_options(options)
        self.query_one("#password-policy", Static).update(policy)
        if record_type == self.record_type:  # else the record type's own reading shows them
            await self._show_record_type(*lists)
        self._lists_read = True

    def _fill_given(self) -> None:
        if self.initial_identifier:
            self.query_one("#primary_id", Input).value = self.initial_identifier
        for name, value in self.prefill.items():
            self.query_one(f"#{name}", Input).value = value
        first = "#record_type" if not self.fixed_record_type else "#first_name"
        self.set_focus(self.query_one(first))

    def reset(
        self, *, identifier: str = "", prefill: dict[str, str] | None = None, **_options
    ) -> None:
        """An empty form again, as a new one starts (the app keeps the form between users:
        building its 200 widgets was most of the wait): nothing of the last user is left, not
        a value, a mark, a message, a locked field or a generated password."""
        self.initial_identifier = identifier
        self.prefill = prefill or {}
        self.touched = set()
        self.person_id = None
        self.generated_password = None
        self._duplicate_ok = False
        self.workers.cancel_node(self)
        if self._likely_timer is not None:
            self._likely_timer.stop()
            self._likely_timer = None
        self.likely = []
        self._draw_likely()
        if self.saving:
            self._set_saving(False)
        # The form's own changes are not the user's: no field counts as visited, none is
        # checked (the focus leaving the last field, values set, the record type's select).
        with self.prevent(Input.Blurred, Input.Changed, Select.Changed):
            self.query_one("#form").disabled = False
            for _, name, _ in LAYOUT:
                widget = self.query_one(f"#{name}")
                field = self._field(name)
                if field is not None and field.has_class("-invalid"):
                    field.set_error(None)
                widget.disabled = False
                if isinstance(widget, Select):
                    widget.value = SELECT_DEFAULTS.get(name, Select.NULL)
                elif isinstance(widget, Checkbox):
                    widget.value = CHECKBOXES[name]
                else:
                    widget.value = ""
            if not self.fixed_record_type:
                self.query_one("#record_type", Select).value = RecordType.PUBLIC.value
            self.query_one("#form-message", Message).clear()
            self.query_one("#form", VerticalScroll).scroll_home(animate=False)
            self._fill_given()
            self.query_one("#expiry_date", MaskedInput).placeholder = "YYYY-MM-DD"
        # The marks and user groups of the record type a new form starts with, as they are
        # configured now (they may have changed since the form was built).
        self._record_type_changed()

    def dismiss(self, result=None):  # noqa: ANN001, ANN201 - Screen.dismiss's own signature
        """Leaving: the password and PIN typed are not kept in the form until the next user."""
        for name in ("password", "password_confirm", "pin"):
            self.query_one(f"#{name}", Input).value = ""
        if self._likely_timer is not None:
            self._likely_timer.stop()
            self._likely_timer = None
        return super().dismiss(result)

    # --- reading the form -----------------------------------------------------------------------

    def _value(self, name: str) -> str:
        widget = self.query_one(f"#{name}")
        if isinstance(widget, Checkbox):
            return "yes" if widget.value else ""
        if isinstance(widget, Select):
            return "" if widget.value is Select.NULL else str(widget.value)
        value = widget.value
        if name in DATES and not value.replace("-", "").strip():
            return ""
        return value

    def data(self) -> NewUser:
        return build_new_user(self.raw_data())

    def raw_data(self) -> dict[str, object]:
        """What the form holds, read on the UI thread; `build_new_user` turns it into a
        `NewUser` (looking up the codes of the selects: a database call, fine in a worker)."""
        names = {f.name for f in dc_fields(NewUser)}
        values: dict[str, object] = {
            name: self._value(name) for _, name, _ in LAYOUT if name in names
        }
        return {
            **values,
            "record_type": self.record_type,
            # Ticked or not, it applies to a typed password as to a generated one.
            "force_password_change": self.query_one("#force_password_change", Checkbox).value,
            "person_id": self.person_id,
            # The reuse dialog returns a person only once the consent box is ticked.
            "person_consent": self.person_id is not None,
        }

    generated_password: str | None = None

    # --- validation -----------------------------------------------------------------------------

    def _field(self, name: str) -> Field | None:
        if not self._fields:  # one walk of the form, not one per field per check
            self._fields = {f.id.removeprefix("field-"): f for f in self.query(Field) if f.id}
        return self._fields.get(name)

    _fields: dict[str, Field] = {}

    def show_errors(self, errors: dict[str, str], *, only_touched: bool) -> str | None:
        """Put each message under its field; returns the first wrong field in form order."""
        order = ["record_type", *(name for _, name, _ in LAYOUT)]
        first = None
        leftovers = dict(errors)
        for name in order:
            field = self._field(name)
            if field is None:
                continue
            keys = ERROR_ALIASES.get(name, (name,))
            message = next((errors[k] for k in keys if k in errors), None)
            for k in keys:
                leftovers.pop(k, None)
            if only_touched and name not in self.touched:
                message = None  # not visited yet: no message before the user gets there
            field.set_error(message)
            if message and first is None:
                first = name
        form_message = self.query_one("#form-message", Message)
        if leftovers and not only_touched:
            form_message.show(
                "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in leftovers.items())
            )
        elif not only_touched:
            form_message.clear()
        return first

    def check(self) -> None:
        """Validate what is typed so far (in a worker: the rules read the database; the newest
        check wins) and show the messages of the fields already visited."""
        session = self.app.session
        run_service(
            self,
            check_new_user,
            self.raw_data(),
            session.organization,
            session.actor,
            on_ok=self._checked,
            group="quick-user-check",
            exclusive=True,
        )

    def _checked(self, errors: dict[str, str]) -> None:
        if not self.saving and self.is_current:  # a save's answer shows every message
            self.show_errors(errors, only_touched=True)

    @on(Input.Blurred)
    @on(Select.Changed)
    def _left_field(self, event) -> None:
        widget = event.input if isinstance(event, Input.Blurred) else event.select
        if isinstance(event, Select.Changed) and not widget.has_focus_within:
            return  # set by the form itself (its first value, a reused person), not chosen
        if widget.id and not self.saving:
            self.touched.add(widget.id)
            self.check()

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        """A field whose message shows is checked again as it is typed in: the message goes
        once the value is right, and says what is still wrong while it is not."""
        field = self._field(event.input.id or "")
        if field is not None and field.error and not self.saving:
            self.check()
        if event.input.id in LIKELY_FIELDS and self.person_id is None and not self.saving:
            self._likely_soon()

    # --- likely existing people (issue 24) --------------------------------------------------------

    likely: list = []  # models.duplicates.typing.Candidate, best first
    likely_index = 0
    _likely_timer = None

    def _likely_soon(self) -> None:
        """Look the likely existing people up once typing pauses (`LIKELY_DELAY`)."""
        if self._likely_timer is not None:
            self._likely_timer.stop()
        self._likely_timer = self.set_timer(LIKELY_DELAY, self._look_up_likely)

    def _look_up_likely(self) -> None:
        from models.duplicates.typing import likely_people

        self._likely_timer = None
        if self.saving or not self.is_current or self.person_id is not None:
            return
        typed = {name: self._value(name) for name in LIKELY_FIELDS}
        session = self.app.session
        run_service(
            self,
            likely_people,
            session.organization.id,
            session.account,
            typed,
            on_ok=self._show_likely,
            group="quick-user-likely",
            exclusive=True,
        )

    def _show_likely(self, candidates: list) -> None:
        if self.person_id is not None:
            candidates = []
        self.likely, self.likely_index = candidates, 0
        self._draw_likely()

    def _draw_likely(self) -> None:
        try:
            panel = self.query_one("#likely-people", Static)
        except NoMatches:  # the form was left (saved, cancelled) while the look-up ran
            return
        panel.set_class(bool(self.likely), "shown")
        if not self.likely:
            panel.update("")
            return
        lines = [f"Likely existing people ({len(self.likely)}):"]
        for i, c in enumerate(self.likely):
            mark = "▶" if i == self.likely_index else " "
            born = c.birth_date.isoformat() if c.birth_date else "no birth date"
            where = c.primary_id if c.here else "another organization"
            name = f"{c.last_name}, {c.first_name}" if c.first_name else c.last_name
            lines.append(f"{mark} {c.score:3d}  {name}  {born}  {where}  · {c.why}")
        keys = [
            hint(self.app, k)
            for k in ("quick_user.open_likely", "quick_user.reuse_likely", "quick_user.next_likely")
        ]
        lines.append(f"{keys[0]}: open  ·  {keys[1]}: reuse this person  ·  {keys[2]}: next")
        panel.update(plain("\n".join(lines)))

    def _chosen_likely(self):  # noqa: ANN202 - a Candidate or None
        if not self.likely:
            return None
        return self.likely[self.likely_index % len(self.likely)]

    def action_next_likely(self) -> None:
        if self.likely:
            self.likely_index = (self.likely_index + 1) % len(self.likely)
            self._draw_likely()

    def action_open_likely(self) -> None:
        """The chosen person's card (read-only, in a worker); Enter there opens User
        Details. The form stays as it is, behind."""
        from models.users.card import user_card
        from screens.user_card import UserCardScreen

        chosen = self._chosen_likely()
        if chosen is None:
            return
        message = self.query_one("#form-message", Message)
        if not chosen.here:
            message.show("This person has no account in this organization: reuse them instead.")
            return

        def closed(open_record: bool | None) -> None:
            if open_record:
                self.app.open_user(chosen.account_id)

        run_service(
            self,
            user_card,
            chosen.account_id,
            self.app.session.actor,
            on_ok=lambda card: self.app.push_screen(UserCardScreen(card), closed),
            on_error=lambda exc: message.show(exc.message),
            group="quick-user-likely-card",
            exclusive=True,
        )

    def action_reuse_likely(self) -> None:
        """Reuse the chosen person for this account, by the reuse rules: only a person with no
        account in this organization, and only once they agree to share their personal data."""
        from screens.confirm import ConfirmScreen

        chosen = self._chosen_likely()
        if chosen is None:
            return
        if chosen.here:
            self.query_one("#form-message", Message).show(
                "This person already has an account in this organization: open it instead."
            )
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.likely = []
                self._draw_likely()
                self.use_person(chosen.person_id)

        self.app.push_screen(
            ConfirmScreen(
                "Does the person agree to share their personal data with this organization?",
                yes="They agree",
            ),
            answer,
        )

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    # --- actions --------------------------------------------------------------------------------

    @on(Select.Changed, "#record_type")
    def _record_type_changed(self) -> None:
        """Mandatory marks, user groups, job categories and identifier types follow the
        record type; the titles are read with them (in a worker)."""
        run_service(
            self,
            read_record_type_lists,
            self.app.session.organization.id,
            self.record_type,
            on_ok=lambda answer: self._show_record_type(*answer),
            group="quick-user-record-type",
            exclusive=True,
        )

    async def _show_record_type(
        self,
        mandatory: set[str],
        codes: dict[str, list[tuple[str, object]]],
        titles: list[tuple[str, str]],
    ) -> None:
        for _, name, _ in LAYOUT:
            required = name in mandatory or (name == "address_line1" and "address" in mandatory)
            if field := self._field(name):
                field.set_required(required)
        for name, choices in codes.items():
            select = self.query_one(f"#{name}", Select)
            current = select.value
            if choices != self._code_choices.get(name):
                with self.prevent(Select.Changed):
                    select.set_options(choices)
                self._code_choices[name] = choices
            if current in {value for _, value in choices}:
                select.value = current  # still offered for this record type: kept
        await self._show_titles(titles)
        self._expiry_hint()

    async def _show_titles(self, titles: list[tuple[str, str]]) -> None:
        """Title: a choice of the organization's active titles when it has any (empty
        allowed), else typed freely (Alma: "A user title. These can be configured by an
        administrator"; alma-creating-user-records: "select the patron's title from the
        dropdown list if desired"). What the field holds is kept either way, listed or not
        (a reused person's title). One at a time: two reads of the lists land together on a
        new form (its first show and its record type), and two swaps at once mounted a second
        widget with the id `title` (DuplicateIds ended the app; seen in tmux)."""
        if self._titles_lock is None:
            self._titles_lock = asyncio.Lock()
        async with self._titles_lock:
            await self._show_titles_now(titles)

    _titles_lock: asyncio.Lock | None = None

    async def _show_titles_now(self, titles: list[tuple[str, str]]) -> None:
        widget = self.query_one("#title")
        value = self._value("title")
        if titles:
            options = with_held(titles, value)
            if isinstance(widget, Select):
                if options != self._title_options:
                    with self.prevent(Select.Changed):
                        widget.set_options(options)
                        widget.value = value or Select.NULL
            else:
                new = Select(options, value=value or Select.NULL, id="title", prompt="—")
                new.disabled = widget.disabled
                await self._field("title").swap(new)
            self._title_options = options
        elif isinstance(widget, Select):
            new = LineInput(value, id="title")
            new.disabled = widget.disabled
            await self._field("title").swap(new)
            self._title_options = None

    _title_options: list[tuple[str, str]] | None = None  # Title's, when it is a choice

    @on(Select.Changed, "#user_group")
    def _expiry_hint(self) -> None:
        """A group chosen: the expiration date field shows, as its placeholder, the date an
        empty field gives (the group's registration period from today), read in a worker."""
        value = self.query_one("#user_group", Select).value
        expiry = self.query_one("#expiry_date", MaskedInput)
        if value is Select.NULL or value in (None, ""):
            expiry.placeholder = "YYYY-MM-DD"
            return
        run_service(
            self,
            expiry_hint,
            value,
            self.app.session.organization.id,
            on_ok=lambda day: self._show_expiry_hint(value, day),
            group="quick-user-expiry",
            exclusive=True,
        )

    def _show_expiry_hint(self, group: object, day) -> None:  # noqa: ANN001 - a date
        if self.query_one("#user_group", Select).value == group:  # still the group chosen
            self.query_one("#expiry_date", MaskedInput).placeholder = day.isoformat()

    def action_reuse_person(self) -> None:
        from screens.reuse_person import ReusePersonScreen

        def chosen(person_id: int | None) -> None:
            if person_id is not None:
                self.use_person(person_id)

        self.app.push_screen(ReusePersonScreen(self.app.session.organization.id), chosen)

    def use_person(self, person_id: int) -> None:
        """Fill and lock the personal data of an existing person (read in a worker)."""
        from models.users.reuse import personal_data

        run_service(
            self,
            personal_data,
            person_id,
            on_ok=lambda values: self._use_person(person_id, values),
            group="quick-user-person",
            exclusive=True,
        )

    def _use_person(self, person_id: int, values: dict[str, str]) -> None:
        self.person_id = person_id
        for name in PERSONAL:
            widget = self.query_one(f"#{name}")
            if name in values and isinstance(widget, Input):
                widget.value = values[name]
            elif name == "title" and isinstance(widget, Select):  # theirs, listed or not
                title = values.get("title") or ""
                options = self._title_options or []
                if (held := with_held(options, title)) is not options:  # not listed: added
                    self._title_options = held
                    widget.set_options(held)
                widget.value = title or Select.NULL
            widget.disabled = True
        self.query_one("#force_password_change", Checkbox).disabled = True  # their password
        self.query_one("#form-message", Message).show(
            "Personal data of an existing person: only the account for this organization "
            "will be created.",
            error=False,
        )
        self.query_one("#primary_id", Input).focus()

    def action_generate_password(self) -> None:
        """A password the user is told at the counter: shown once, readable, in a dialog (the
        fields are masked, and a message at the foot of the form is off screen at 80x24)."""
        run_service(
            self,
            lambda: generate_password(load_settings()),  # the policy's length and classes
            on_ok=self._generated,
            group="quick-user-password",
            exclusive=True,
        )

    def _generated(self, password: str) -> None:
        from screens.confirm import InfoScreen

        self.generated_password = password
        for name in ("password", "password_confirm"):
            self.query_one(f"#{name}", Input).value = password
            self.touched.add(name)
        self.query_one("#force_password_change", Checkbox).value = True
        self.check()
        self.query_one("#form-message", Message).show(
            "A generated password is in both password fields, and Force password change is "
            "ticked: the user must choose their own at their first login.",
            error=False,
        )
        self.app.push_screen(
            InfoScreen(
                "Generated password",
                "Read it out to the user or write it down for them: it is shown only this once. "
                "Letters and digits only, none that look alike (no 0, O, 1, I or l). The user "
                "must choose their own password at their first login.",
                extra=password,
            )
        )

    def action_generate_pin(self) -> None:
        pin = generate_pin()
        self.query_one("#pin", Input).value = pin
        self.query_one("#form-message", Message).show(f"Generated PIN: {pin}", error=False)

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        {
            "save": self.action_save,
            "cancel": self.action_cancel,
            "gen-password": self.action_generate_password,
            "gen-pin": self.action_generate_pin,
            "save-open": self.action_save_and_open,
            "reuse": self.action_reuse_person,
        }[event.button.id]()

    def action_save_and_open(self) -> None:
        self.action_save(open_details=True)

    def action_save(self, open_details: bool = False) -> None:
        """Save in a worker: the form is disabled and says "Saving…" until the answer; a
        refusal enables it again with the messages under the fields, nothing typed lost."""
        if self.saving:
            return
        session = self.app.session
        raw = self.raw_data()
        self.workers.cancel_group(self, "quick-user-check")  # the save's answer says it all
        self._set_saving(True)
        self.query_one("#form-message", Message).show("Saving…", error=False)
        run_service(
            self,
            save_new_user,
            raw,
            session.actor,
            session.organization,
            register=self.register,
            check_duplicates=self.person_id is None and not self._duplicate_ok,
            on_ok=lambda answer: self._saved(answer, open_details),
            on_error=self._refused,
            group="quick-user-save",
        )

    def _set_saving(self, saving: bool) -> None:
        form = self.query_one("#form")
        if saving:
            focused = self.focused
            self._focus_after = focused if focused and form in focused.ancestors else None
        self.saving = saving
        form.disabled = saving
        if not saving and self._focus_after is not None and self._focus_after.is_attached:
            self.set_focus(self._focus_after)
            self._focus_after = None

    _focus_after: Widget | None = None

    def _saved(self, answer: tuple[str, object], open_details: bool) -> None:
        kind, detail = answer
        if kind == "duplicates":
            self._set_saving(False)
            self.query_one("#form-message", Message).clear()
            self._warn_duplicate(*detail, open_details=open_details)
            return
        account_id, last_name, primary_id = detail  # the form stays disabled: it closes
        self.app.notify(f"Added {last_name} ({primary_id}).")
        self.dismiss((account_id, open_details))

    def _refused(self, exc: PatronDeskError) -> None:
        self._set_saving(False)
        if isinstance(exc, ValidationError):  # UniquenessError too
            # Every field has been seen now: the next field left keeps the others' messages.
            self.touched.update(name for _, name, _ in LAYOUT)
            self.touched.add("record_type")
            self._focus_first(self.show_errors(exc.errors, only_touched=False))
            return
        self.query_one("#form-message", Message).show(exc.message)

    def _warn_duplicate(
        self, count: int, here: list[int], first: str, last: str, birth, *, open_details: bool
    ) -> None:
        """Same first name, last name and birth date: add anyway, open the existing record,
        or go back to the form (nothing typed is lost either way)."""
        from screens.confirm import ChoiceScreen

        def answer(choice: str | None) -> None:
            if choice == "add":
                self._duplicate_ok = True
                self.action_save(open_details)
            elif choice == "open" and here:
                self.app.open_user(here[0])

        choices = [("a", "Add anyway", "add")]
        if here:
            choices.append(("o", "Open existing", "open"))
        choices.append(("e", "Keep editing", "edit"))
        self.app.push_screen(
            ChoiceScreen(
                ("A person" if count == 1 else f"{count} people")
                + f" named {first} {last}, born {birth.isoformat()}, "
                + ("already exists." if count == 1 else "already exist."),
                choices,
            ),
            answer,
        )

    def _focus_first(self, name: str | None) -> None:
        if name:
            widget = self.query_one(f"#{name}")
            widget.focus()
            widget.scroll_visible()

    def _typed_fields(self) -> list[str]:
        """The fields text is typed in (not the selects and checkboxes, which always hold a
        value)."""
        return [n for _, n, _ in LAYOUT if n not in CHECKBOXES and self._choices(n) is None]

    def unsaved_changes(self) -> str | None:
        """What quitting now would lose (the app asks before ctrl+q quits), or None."""
        try:
            typed = any(self._value(n) for n in self._typed_fields())
        except NoMatches:  # the form is not drawn yet: nothing typed in it
            return None
        return "The new user's form has text typed in it." if typed else None

    def action_cancel(self) -> None:
        from screens.confirm import ask_to_discard

        ask_to_discard(self, lambda: self.dismiss(None))  # (asks only when something is typed)
