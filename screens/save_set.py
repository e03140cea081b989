"""Save as set (issue 23), from Find and Manage Users: a name, and whether the set keeps the
search and its filters (a logical set, evaluated again each time it is used) or the users the
search finds now (an itemized set). The services are `models.jobs.sets.create_logical_set` and
`create_itemized_set` (its members read by `models.jobs.views.query_members`), in a worker."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, RadioSet, Static

from models.audit import Actor
from models.errors import PatronDeskError, ValidationError
from models.jobs.sets import ITEMIZED, LOGICAL, SetInfo, create_itemized_set, create_logical_set
from models.jobs.views import query_members
from models.search.engine import UserQuery
from screens.after_worker import ClosesAfterWorker
from screens.confirm import CoveredKeys, ask_to_discard
from tui.keys import FORM, bindings
from tui.widgets import (
    Field,
    LineInput,
    Message,
    RadioButton,
    plain,
)
from tui.worker import run_service

GROUP = "save-set"


def save_set(name: str, kind: str, query: UserQuery, actor: Actor) -> SetInfo:
    """The set saved (database work: in a worker)."""
    if kind == LOGICAL:
        return create_logical_set(name, query, actor)
    return create_itemized_set(name, query_members(query, actor), actor)


def describe(query: UserQuery, group: str = "") -> str:
    """The search in words, for the dialog (`group`: the user group's name, when chosen)."""
    parts = [f"“{query.text.strip()}”" if query.text.strip() else "every user"]
    parts.append(f"tab {query.tab}")
    for label, value in (
        ("status", None if query.status == "any" else query.status),
        ("account type", query.account_type),
        ("role", query.role),
        ("user group", (group or "chosen") if query.user_group_id else None),
    ):
        if value:
            parts.append(f"{label} {value}")
    return ", ".join(parts)


class SaveSetScreen(ClosesAfterWorker, CoveredKeys, ModalScreen[SetInfo | None]):
    """Dismisses with the set saved, or None when cancelled."""

    BINDINGS = bindings(FORM)

    def __init__(self, query: UserQuery, group: str = "") -> None:
        super().__init__()
        self.search, self.group = query, group
        self.saving = False

    @property
    def accepting_keys(self) -> bool:
        return not self.saving

    def compose(self) -> ComposeResult:
        with Vertical(id="set-box", classes="job-dialog"):
            yield Static("[b]Save as set[/b]")
            yield Static(plain("Search: " + describe(self.search, self.group)), classes="hint")
            yield Field("Name of the set", LineInput("", id="set-name"), required=True)
            with RadioSet(id="set-kind"):
                yield RadioButton("Keep the search (re-evaluated when used)", value=True,
                                  id="kind-logical")  # fmt: skip
                yield RadioButton("Keep the users it finds now", id="kind-itemized")
            yield Message(id="set-message")
            with Horizontal(classes="form-buttons"):
                yield Button("Save (ctrl+s)", id="set-save", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="set-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#set-name", Input).focus()

    def unsaved_changes(self) -> str | None:
        if self.query_one("#set-name", Input).value.strip():
            return "A set's name is typed, not saved."
        return None

    @property
    def kind(self) -> str:
        pressed = self.query_one("#set-kind", RadioSet).pressed_button
        return ITEMIZED if pressed is not None and pressed.id == "kind-itemized" else LOGICAL

    @on(Input.Submitted)
    @on(Button.Pressed, "#set-save")
    def action_save(self) -> None:
        if self.saving:
            return
        name = self.query_one("#set-name", Input).value
        self.saving = True
        self.query_one("#set-message", Message).show("Saving…", error=False)
        run_service(
            self,
            save_set,
            name,
            self.kind,
            self.search,
            self.app.session.actor,
            on_ok=self._saved,
            on_error=self._refused,
            group=GROUP,
        )

    def _saved(self, info: SetInfo) -> None:
        self.dismiss_after_worker(GROUP, info)

    def _refused(self, exc: PatronDeskError) -> None:
        self.saving = False
        field = self.query_one("#field-set-name", Field)
        message = self.query_one("#set-message", Message)
        if isinstance(exc, ValidationError) and "name" in exc.errors:
            field.set_error(exc.errors["name"])
            message.clear()
        else:
            field.set_error(None)
            message.show(exc.message)
        self.query_one("#set-name", Input).focus()

    @on(Button.Pressed, "#set-cancel")
    def action_cancel(self) -> None:
        if not self.saving:
            ask_to_discard(self, lambda: self.dismiss(None))
