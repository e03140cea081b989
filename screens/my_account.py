"""My account (issue 9): the home screen of a person who logs in with only the Patron role.

Their record, the library's notes for them, blocks, fees and balance, loans; their emails,
phones and addresses (the same row form as User Details), communication preferences and
password. Everything goes through `models.users.my_account`, off the UI thread
(`tui.worker.run_service`): the screen shows at once and fills in when the record is read."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    Header,
    Input,
    Select,
    Static,
    TabbedContent,
    TabPane,
)

from models.config.settings import load_settings
from models.errors import PatronDeskError, ValidationError
from models.fees.money import format_money
from models.users.fields import LANGUAGES
from models.users.my_account import (
    MyRecord,
    add_my_contact,
    change_my_password,
    delete_my_contact,
    load_my_record,
    my_contact_values,
    update_my_contact,
    update_my_preferences,
)
from screens.confirm import CoveredKeys, ask_to_discard
from screens.user_details.fields import KINDS, for_record_type
from screens.user_details.row_form import RowFormScreen
from tui.keys import CONTACTS, MY_ACCOUNT, bindings
from tui.screen import KeepStyles
from tui.table import RowTable
from tui.widgets import (
    Checkbox,
    Field,
    KeyBar,
    Message,
    escape,
)
from tui.worker import run_service

TABS = [("record", "My record", "f2"), ("contact", "Contact", "f3"), ("fees", "Fees", "f4"),
        ("preferences", "Letters", "f5"), ("password", "Password", "f6")]  # fmt: skip
CONTACT_COLUMNS = [("Kind", 8), ("Type", 11), ("Email, phone or address", 44), ("Pref.", 5)]
FEE_COLUMNS = [("Date", 10), ("Type", 18), ("Status", 9), ("Title", 18), ("Balance", 12)]
PASSWORD_FIELDS = {"current_password": "#my-current", "password": "#my-new",
                   "password_confirm": "#my-confirm"}  # fmt: skip


def read_my_account(actor) -> tuple[MyRecord, str]:  # noqa: ANN001 - an Actor
    """The record and the currency its amounts are shown in (database calls: in a worker)."""
    return load_my_record(actor), load_settings().currency


class ContactTable(RowTable):
    BINDINGS = bindings(CONTACTS)


class MyAccountScreen(KeepStyles, CoveredKeys, Screen[None]):
    BINDINGS = bindings(MY_ACCOUNT)

    def __init__(self) -> None:
        super().__init__()
        self.record: MyRecord | None = None
        self.currency = ""  # the settings' currency, read with the record
        self.contact_rows: list[tuple[str, int]] = []
        self.saving = False  # the preferences or the password are being saved

    @property
    def accepting_keys(self) -> bool:
        """Keys typed before the record is shown, or while a save runs, wait for it
        (`App._ready_for_keys`)."""
        return self.record is not None and not self.saving

    @property
    def actor(self):  # noqa: ANN201
        return self.app.session.actor

    def _over_another(self) -> bool:
        """A staff member's (opened from the palette over their screen), not a patron's home."""
        session = self.app.session
        return session is not None and not session.is_patron_only

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self._over_another() if action == "back" else True  # a patron's: no Back

    def action_back(self) -> None:
        """Escape: a staff member back to their screen; a patron's home stays (log out)."""
        if self._over_another():
            ask_to_discard(self, lambda: self.dismiss(None))

    def compose(self) -> ComposeResult:
        """The tabs at once; the record fills them once read (`reload`)."""
        yield Header()
        yield Static("Loading your record…", id="my-head")
        with TabbedContent(id="my-tabs", initial="record"):
            with TabPane("My record F2", id="record"), VerticalScroll():
                yield Static("", id="my-record")
            with TabPane("Contact F3", id="contact"):
                yield Static("n add · e/Enter edit · Delete delete", classes="hint")
                yield ContactTable(id="my-contacts")
            with TabPane("Fees F4", id="fees"):
                yield Static("", id="my-fees-summary")
                yield RowTable(id="my-fees")
            with TabPane("Letters F5", id="preferences"), VerticalScroll():
                yield Field("Language of letters", Select(LANGUAGES, id="my-language",
                                                          allow_blank=False))  # fmt: skip
                yield Field(
                    "Letters by",
                    Select([("Email", "email"), ("Post (printed by the library)", "mail")],
                           id="my-channel", allow_blank=False),
                )  # fmt: skip
                yield Checkbox("I want the library's newsletters and reminders", id="my-opt-in",
                               compact=True)  # fmt: skip
                yield Message(id="my-preferences-message")
                with Horizontal(classes="form-buttons"):
                    yield Button("Save (ctrl+s)", id="my-preferences-save", compact=True)
            with TabPane("Password F6", id="password"), VerticalScroll():
                yield Field("Current password", Input(id="my-current", password=True))
                yield Field("New password", Input(id="my-new", password=True))
                yield Field("New password again", Input(id="my-confirm", password=True))
                yield Message(id="my-password-message")
                with Horizontal(classes="form-buttons"):
                    yield Button("Change (ctrl+s)", id="my-password-save", compact=True)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#my-contacts", RowTable).set_columns(CONTACT_COLUMNS)
        self.query_one("#my-fees", RowTable).set_columns(FEE_COLUMNS)
        self.reload()

    # --- showing ---------------------------------------------------------------------------------

    def _money(self, minor: int) -> str:
        return format_money(minor, self.currency)

    def _head(self) -> str:
        r = self.record
        expiry = r.expiry_date.isoformat() if r.expiry_date else "never"
        status = r.status + (" · EXPIRED" if r.expired else "")
        marks = "  [reverse] BLOCKED [/reverse]" if r.blocks else ""
        return (
            f"[b]{escape(r.name)}[/b]  {escape(r.primary_id)} · {status} · expires {expiry}"
            f" · balance {self._money(r.balance_minor)}{marks}"
        )

    def _record_text(self) -> str:
        r = self.record
        lines = [
            f"[b]Username[/b]      {escape(r.username)}",
            *(f"[b]Identifier[/b]    {escape(v)} ({escape(t)})" for t, v in r.identifiers),
            f"[b]User group[/b]    {escape(r.user_group or '-')} ({r.record_type})",
            f"[b]Birth date[/b]    {r.birth_date.isoformat() if r.birth_date else '-'}",
            f"[b]Letters[/b]       {r.comm_language} · by {r.comm_channel}"
            f" · newsletters {'yes' if r.letters_opt_in else 'no'}",
            "",
            "[b]From the library[/b]",
            *(f"  {when:%Y-%m-%d}  {escape(text)}" for when, text in r.notes),
            *(["  (no notes)"] if not r.notes else []),
            "",
            "[b]Blocks[/b]",
            *(
                f"  {escape(what)}" + (f" until {until.isoformat()}" if until else "")
                for what, until in r.blocks
            ),
            *(["  (none)"] if not r.blocks else []),
            "",
            "[b]Loans[/b]",
            *(
                f"  {'OVERDUE ' if late else ''}due {due.isoformat()}  {escape(title or code)}"
                for code, title, due, late in r.loans
            ),
            *(["  (none)"] if not r.loans else []),
            "",
            "[dim]Names and birth date are changed by the library.[/dim]",
        ]
        return "\n".join(lines)

    def _fill(self) -> None:
        r = self.record
        self.query_one("#my-head", Static).update(self._head())
        self.query_one("#my-record", Static).update(self._record_text())
        self.contact_rows = [(c.kind, c.row_id) for c in r.contacts]
        self.query_one("#my-contacts", RowTable).set_rows(
            [
                (
                    c.kind,
                    c.type,
                    c.text + ("  (from the SIS)" if c.external else ""),
                    "✓" if c.preferred else "",
                )  # fmt: skip
                for c in r.contacts
            ],
            self.query_one("#my-contacts", RowTable).cursor,
        )
        owed = sum(f.balance_minor for f in r.fees if f.status in ("active", "disputed"))
        self.query_one("#my-fees-summary", Static).update(
            f"Balance {self._money(r.balance_minor)} · open fees {self._money(owed)}"
        )
        self.query_one("#my-fees", RowTable).set_rows(
            [
                (
                    f"{f.created_at:%Y-%m-%d}",
                    f.fee_type,
                    f.status,
                    f.title,
                    self._money(f.balance_minor),
                )  # fmt: skip
                for f in r.fees
            ]
        )
        language = self.query_one("#my-language", Select)
        if r.comm_language not in {v for _, v in LANGUAGES}:
            language.set_options([*LANGUAGES, (r.comm_language, r.comm_language)])
        language.value = r.comm_language
        self.query_one("#my-channel", Select).value = r.comm_channel
        self.query_one("#my-opt-in", Checkbox).value = r.letters_opt_in

    def reload(self) -> None:
        """Read the record in a worker (the newest reading wins), then show it."""
        run_service(
            self,
            read_my_account,
            self.actor,
            on_ok=self._read,
            on_error=lambda exc: self.notify(exc.message, severity="error"),
            group="my-account-read",
            exclusive=True,
        )

    def _read(self, answer: tuple[MyRecord, str]) -> None:
        self.record, self.currency = answer
        self._fill()

    # --- tabs ------------------------------------------------------------------------------------

    def action_show_tab(self, tab: str) -> None:
        self.query_one("#my-tabs", TabbedContent).active = tab
        self.call_after_refresh(self._focus_tab, tab)

    @on(TabbedContent.TabActivated)
    def _activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane is not None and event.pane.id:
            self.call_after_refresh(self._focus_tab, event.pane.id)

    def _focus_tab(self, tab: str) -> None:
        for widget in self.query_one(f"#{tab}", TabPane).query("RowTable, Input, Select"):
            if widget.focusable:
                widget.focus()
                return

    # --- contact rows ---------------------------------------------------------------------------

    def _selected(self) -> tuple[str, int] | None:
        if not self.contact_rows:
            self.notify("No email, phone or address yet: n adds one.", severity="warning")
            return None
        return self.contact_rows[self.query_one("#my-contacts", RowTable).cursor]

    def _form(self, kind: str, title: str, save, load=None) -> None:  # noqa: ANN001
        """The contact form: `save(values)` and `load()` (the row's values) run in its worker."""

        def done(saved: bool | None) -> None:
            if saved:
                self.reload()

        org = self.app.session.organization.id
        record_type = self.record.record_type if self.record is not None else ""
        spec = for_record_type(KINDS[kind], record_type)  # the types of their record type
        form = RowFormScreen(spec, title, {}, org, save, load=load)
        self.app.push_screen(form, done)

    def action_add_contact(self) -> None:
        from screens.confirm import ChoiceScreen

        def chosen(kind: str | None) -> None:
            if kind is None or self.record is None:
                return

            version, actor = self.record.version, self.actor

            def save(data: dict[str, Any]) -> None:
                add_my_contact(kind, version, data, actor)

            self._form(kind, f"Add: {KINDS[kind].title}", save)

        self.app.push_screen(
            ChoiceScreen(
                "Add what?",
                [
                    ("e", "Email", "email"),
                    ("p", "Phone", "phone"),
                    ("a", "Address", "address"),
                ],  # fmt: skip
            ),
            chosen,
        )

    def action_edit_contact(self) -> None:
        selected = self._selected()
        if selected is None:
            return
        kind, row_id = selected
        version, actor = self.record.version, self.actor

        def save(data: dict[str, Any]) -> None:
            update_my_contact(kind, row_id, version, data, actor)

        self._form(
            kind,
            f"Edit: {KINDS[kind].title}",
            save,
            load=lambda: my_contact_values(kind, row_id, actor),
        )

    def action_delete_contact(self) -> None:
        from screens.confirm import ConfirmScreen

        selected = self._selected()
        if selected is None:
            return
        kind, row_id = selected

        def answer(yes: bool | None) -> None:
            if yes:
                run_service(
                    self,
                    delete_my_contact,
                    kind,
                    row_id,
                    self.record.version,
                    self.actor,
                    on_ok=lambda _: self.reload(),
                    on_error=lambda exc: self.notify(exc.message, severity="error", timeout=8),
                    group="my-account-save",
                )

        self.app.push_screen(ConfirmScreen(f"Delete this {kind}?", yes="Delete"), answer)

    # --- forms -----------------------------------------------------------------------------------

    def unsaved_changes(self) -> str | None:
        """What quitting or logging out now would lose (the app asks first), or None: a
        password typed, letter preferences changed and not saved."""
        lost = []
        if self.record is not None and self._preferences() != (
            self.record.comm_language,
            self.record.comm_channel,
            self.record.letters_opt_in,
        ):
            lost.append("letters")
        if any(self.query_one(s, Input).value for s in PASSWORD_FIELDS.values()):
            lost.append("password")
        if not lost:
            return None
        tabs = " and ".join(lost) + (" tabs have" if len(lost) > 1 else " tab has")
        return f"My account: the {tabs} unsaved changes."

    def _preferences(self) -> tuple[object, object, bool]:
        return (
            self.query_one("#my-language", Select).value,
            self.query_one("#my-channel", Select).value,
            self.query_one("#my-opt-in", Checkbox).value,
        )

    def action_save(self) -> None:
        tab = self.query_one("#my-tabs", TabbedContent).active
        if tab == "preferences":
            self.save_preferences()
        elif tab == "password":
            self.save_password()

    def _set_saving(self, tab: str, message: Message, saving: bool) -> None:
        """A save runs: its tab is disabled and says "Saving…" until the answer."""
        self.saving = saving
        pane = self.query_one(f"#{tab}", TabPane)
        if saving:
            message.show("Saving…", error=False)
        else:
            message.clear()
        pane.disabled = saving
        if not saving:
            self._focus_tab(tab)

    @on(Button.Pressed, "#my-preferences-save")
    def save_preferences(self) -> None:
        if self.saving or self.record is None:
            return
        message = self.query_one("#my-preferences-message", Message)
        language, channel, opt_in = self._preferences()
        changes = {"comm_language": language, "comm_channel": channel, "letters_opt_in": opt_in}

        def saved(_: object) -> None:
            self._set_saving("preferences", message, False)
            message.show("Saved.", error=False)
            self.reload()

        def refused(exc: PatronDeskError) -> None:
            self._set_saving("preferences", message, False)
            if isinstance(exc, ValidationError):
                message.show("; ".join(exc.errors.values()))
            else:
                message.show(exc.message)

        self._set_saving("preferences", message, True)
        run_service(
            self,
            update_my_preferences,
            self.record.version,
            changes,
            self.actor,
            on_ok=saved,
            on_error=refused,
            group="my-account-save",
        )

    @on(Input.Submitted, "#my-current, #my-new")
    def _next(self) -> None:
        self.focus_next()

    @on(Input.Submitted, "#my-confirm")
    @on(Button.Pressed, "#my-password-save")
    def save_password(self) -> None:
        """Change the password in a worker (argon2 takes a while): the tab is disabled and
        says "Saving…" until the answer; a refusal keeps what was typed."""
        if self.saving:
            return
        values = {n: self.query_one(s, Input).value for n, s in PASSWORD_FIELDS.items()}
        for selector in PASSWORD_FIELDS.values():
            self.query_one(f"#field-{selector[1:]}", Field).set_error(None)
        message = self.query_one("#my-password-message", Message)

        def changed(_: object) -> None:
            self._set_saving("password", message, False)
            for selector in PASSWORD_FIELDS.values():
                self.query_one(selector, Input).value = ""
            message.show("Password changed.", error=False)
            self.reload()

        def refused(exc: PatronDeskError) -> None:
            self._set_saving("password", message, False)
            if not isinstance(exc, ValidationError):
                message.show(exc.message)
                return
            first = None
            for name, selector in PASSWORD_FIELDS.items():
                if name in exc.errors:
                    self.query_one(f"#field-{selector[1:]}", Field).set_error(exc.errors[name])
                    first = first or selector
            self.query_one(first or "#my-current", Input).focus()

        self._set_saving("password", message, True)
        run_service(
            self,
            change_my_password,
            self.actor,
            values["current_password"],
            values["password"],
            values["password_confirm"],
            on_ok=changed,
            on_error=refused,
            group="my-account-save",
        )
