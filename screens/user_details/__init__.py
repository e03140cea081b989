"""User Details: the tabbed record of one user (domain.md sections 6 and 7)."""

from __future__ import annotations

from collections.abc import Callable

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Header, Static, TabbedContent, TabPane, Tabs

from models.access.permissions import Action
from models.enums import AccountType, Role, Status
from models.errors import PatronDeskError
from models.fees.money import format_money
from models.store.reading import one_reading
from models.users.accounts import set_status
from models.users.details import (
    open_for_update,
    reset_password,
    toggle_account_type,
    unlock_login,
)
from models.users.profile import Profile, loan_lines
from models.users.rows import absent_kinds
from screens.confirm import CoveredKeys
from screens.user_details.context import RecordContext, load_head
from screens.user_details.fees import FeesPane
from screens.user_details.general import GeneralData, GeneralPane, load_general
from screens.user_details.history import HistoryPane
from screens.user_details.renew import RenewAction
from screens.user_details.rows import RowsPane
from tui.keys import USER_DETAILS, bindings, hint
from tui.photo import PhotoView
from tui.screen import KeepStyles
from tui.table import RowTable
from tui.widgets import KeyBar, Line, escape
from tui.worker import run_service

# (pane id, label, short label, key). The bar shows as much as the width allows: the labels with
# their keys, the short labels with their keys (120 columns), or the short labels closer
# together (80 columns). Narrower still, it scrolls: the active tab is always in view.
TABS = [
    ("general", "General", "General", "f2"),
    ("contact", "Contact", "Contact", "f3"),
    ("identifier", "Identifiers", "IDs", "f4"),
    ("note", "Notes", "Notes", "f5"),
    ("block", "Blocks", "Blocks", "f6"),
    ("fees", "Fines/fees", "Fees", "f7"),
    ("statistic", "Statistics", "Stats", "f8"),
    ("attachment", "Attachments", "Files", "f9"),
    ("proxy", "Proxy for", "Proxy", "f10"),
    ("role", "Roles", "Roles", "f11"),
    ("history", "History", "History", "f12"),
]
# Absent for some users or actors (`_tabs_of`).
OPTIONAL_TABS = ("identifier", "block", "fees", "history")
COVER_AFTER = 0.1  # seconds a kept screen waits for its next record before showing "Loading"
TAB_PADDING = 2  # a tab's label has a space on each side; 1 in the close-together bar


def tab_labels(width: int, present: list[str]) -> tuple[dict[str, str], bool]:
    """The label of each tab present for a bar `width` cells wide, and whether the tabs stand
    close together (one space between them instead of two)."""
    tabs = [t for t in TABS if t[0] in present]
    for labels in (
        {tab: f"{label} {key.upper()}" for tab, label, _, key in tabs},
        {tab: f"{short} {key.upper()}" for tab, _, short, key in tabs},
    ):
        if sum(len(text) + TAB_PADDING for text in labels.values()) <= width:
            return labels, False
    return {tab: short for tab, _, short, _ in tabs}, True


def load_record(account_id: int, actor, organization_id: int) -> tuple[Profile, bool, GeneralData]:
    """Everything User Details needs to draw the record (run in a worker)."""
    with one_reading():
        profile, debt = load_head(account_id, actor)
        return profile, debt, load_general(account_id, actor, organization_id, profile.record_type)


class DetailTabs(TabbedContent):
    """The tabs of the record. Textual switches to the tab of a widget given the focus, when
    its focus message arrives: F3 then F7 typed fast switched back to Contact. A focus
    message that is stale (the focus has moved on since) switches nothing here."""

    def on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        focused = self.screen.focused
        if focused is None or event.tab_pane not in focused.ancestors_with_self:
            event.stop()
            event.prevent_default()


class UserDetailsScreen(RenewAction, KeepStyles, CoveredKeys, Screen[None]):
    BINDINGS = bindings(USER_DETAILS)

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id
        self.ctx: RecordContext | None = None
        self.profile: Profile | None = None
        self.debt_limit = False
        self.general: GeneralData | None = None
        self.error: str | None = None
        self._pending_tab: str | None = None  # a tab key typed while the record loads
        self._present: list[str] = []  # the tabs this user has (no Fines/fees without Patron)
        self._stale: set[str] = set()  # tabs built for an earlier user: rebuilt when shown
        self._reading = 0  # which `show_user` the record being read is for
        self._ready: Callable[[], None] | None = None  # pushes this screen (`show_user`)
        self._cover_timer: Timer | None = None
        self._tabs: DetailTabs | None = None  # once the record is drawn (a DOM walk costs)

    @property
    def reusable(self) -> bool:
        """Whether `show_user` can show another user here (the record was drawn, no error)."""
        return self.error is None and self._tabs is not None

    def show_user(self, account_id: int, ready: Callable[[], None] | None = None) -> None:
        """Show another user in this screen, kept by the app between users (`App.open_user`).

        The record is read first, then filled in, the General form in place (the other tabs
        are rebuilt when shown), and only then is `ready()` called, which pushes the screen:
        the screen is drawn once, with the new user, and nothing of the earlier one is ever
        on it. A record slow to come (over COVER_AFTER) pushes the screen at once, saying
        "Loading the record…". With no `ready` (Reload, on this screen), that at once."""
        self.account_id = account_id
        self.ctx = None
        self.profile = None
        self._pending_tab = None
        tabs = self.query_one("#details-tabs", DetailTabs)
        self._stale = {tab for tab, *_ in TABS if tab != "general" and tabs.get_pane(tab).children}
        self._ready = ready
        self._reading += 1
        if ready is None:
            self._cover()
        else:
            self._cover_timer = self.set_timer(COVER_AFTER, self._cover)
        self._load()

    def _cover(self) -> None:
        """The earlier user's record hidden, "Loading the record…" in its place, shown."""
        self.query_one("#details-tabs", DetailTabs).display = False
        self.query_one("#details-head", Line).set("Loading the record…")
        self.query_one("#details-photo", PhotoView).show(None)
        self._shown()

    def _shown(self) -> None:
        """The screen goes on the stack now (once) if it waited for its record."""
        if self._cover_timer is not None:
            self._cover_timer.stop()
            self._cover_timer = None
        ready, self._ready = self._ready, None
        if ready is not None:
            ready()

    def compose(self) -> ComposeResult:
        """At once a "Loading…" line (the record is read in a worker, `on_mount`), then, once
        read, the head and the tabs in its place (`_show_body`). The header and the footer
        stay: rebuilding the header raced its own title update (a Textual watcher found its
        children gone)."""
        yield Header()
        with Vertical(id="details-body"):
            yield from self._body()
        yield KeyBar()

    def _body(self) -> list[Widget]:
        if self.error is not None:
            return [Static(escape(self.error), id="details-error")]
        if self.profile is None:
            return [Static("Loading the record…", id="details-loading")]
        self._present = self._tabs_of(self.profile)
        labels, close = tab_labels(self.app.size.width, self._labelled())
        initial = self._pending_tab if self._pending_tab in self._present else "general"
        panes = [  # all: the screen is kept for other users
            TabPane(
                labels.get(tab, label),
                *(self._pane(tab) if tab in ("general", initial) else ()),  # others when shown
                id=tab,
            )
            for tab, label, *_ in TABS
        ]
        tabs = DetailTabs(id="details-tabs", initial=initial, classes="-close" if close else "")
        for pane in panes:  # what `with DetailTabs(...)` does in a compose
            tabs.compose_add_child(pane)
        photo = PhotoView(id="details-photo")
        photo.show(self.profile.photo)
        head = Horizontal(photo, Line(self._head(), id="details-head"), id="details-head-row")
        return [head, tabs]

    async def _show_body(self) -> None:
        body = self.query_one("#details-body", Vertical)
        await body.remove_children()
        await body.mount_all(self._body())

    @staticmethod
    def _tabs_of(profile: Profile) -> list[str]:
        """The tabs this user's record has for this actor: no Fines/fees without the Patron
        role, no History for roles the configuration keeps it from (`may_see_history`), no
        Identifiers or Blocks for a contact (`absent_kinds`)."""
        absent = {kind.value for kind in absent_kinds(profile.record_type)}
        if Role.PATRON.value not in profile.roles:
            absent.add("fees")
        if not profile.history_visible:
            absent.add("history")
        return [t for t, *_ in TABS if t not in absent]

    def on_mount(self) -> None:
        self._load()

    def _load(self) -> None:
        session, reading = self.app.session, self._reading
        run_service(
            self,
            load_record,
            self.account_id,
            session.actor,
            session.organization.id,
            on_ok=lambda record: self._loaded(record, reading, session),
            on_error=lambda exc: self._not_loaded(exc, reading, session),
            group="details-load",
            exclusive=True,
        )

    def _gone(self, reading: int, session) -> bool:  # noqa: ANN001 - a StaffSession
        """The record read is not wanted any more: another user was asked for since, the
        session that asked has ended, or the screen was left (Escape, or popped) before the
        record came."""
        return (
            reading != self._reading
            or session is not self.app.session
            or (self._ready is None and self not in self.app.screen_stack)
        )

    async def _loaded(
        self, record: tuple[Profile, bool, GeneralData], reading: int, session
    ) -> None:  # noqa: ANN001 - a StaffSession
        if self._gone(reading, session):
            return
        self.profile, self.debt_limit, self.general = record
        session = self.app.session
        self.ctx = RecordContext(
            self.account_id,
            session.actor,
            session.organization.id,
            self.profile.version,
            record_type=self.profile.record_type,
            show_head=self._head_loaded,
        )
        if self._tabs is not None and self.query_one(GeneralPane).fits(self.general):
            # kept from an earlier user: filled in place
            # Pushed and filled in the same turn: nothing is drawn in between (the earlier
            # user never shows), and the screen is laid out and drawn once, not twice.
            self._shown()
            self._refill()
        else:  # the first record, or one the kept General form cannot show (`fits`)
            if self._cover_timer is not None:  # the body is replaced: nothing left to cover
                self._cover_timer.stop()
                self._cover_timer = None
            await self._show_body()
            self._tabs = self.query_one(DetailTabs)
            self._mark_absent(self._tabs)
            self._shown()
        self.general = None  # the pane holds it now; a reload reads it again
        if self._pending_tab:  # its pane takes the focus once drawn
            self.call_after_refresh(self.action_show_tab, self._pending_tab)
        elif self.focused is None:
            self.focus_next()
        if self.profile.popup_notes:
            from screens.confirm import InfoScreen

            self.app.push_screen(
                InfoScreen("Notes for this user", "\n\n".join(self.profile.popup_notes))
            )

    def _mark_absent(self, tabs: DetailTabs) -> None:
        """The tabs this user's record has not (`_present`), marked. A tab this staff user may
        see (`_labelled`) stays in the bar, dimmed and passed over by the arrow keys: the bar
        reads the same for every user, its tabs where the eye and the function keys expect
        them, and a contact's record (no Identifiers, no Blocks) or a staff member's without
        Fines/fees is shown without laying the screen out again (hiding a tab did: a whole
        layout of User Details). A tab this staff user may not see (History, by the
        configuration) is hidden."""
        labelled = self._labelled()
        for tab in OPTIONAL_TABS:
            present = tab in self._present
            content_tab = tabs.get_tab(tab)
            if tab not in labelled:
                if content_tab.display:
                    tabs.hide_tab(tab)
                continue
            if not content_tab.display:
                tabs.show_tab(tab)
            if content_tab.disabled == present:
                (tabs.enable_tab if present else tabs.disable_tab)(tab)

    def _refill(self) -> None:
        """The record of `self.profile` in the tabs built for an earlier user."""
        # Every class change restyles its widget once, at the end (`restyled_once`).
        with self.app.restyled_once():
            tabs = self.query_one("#details-tabs", DetailTabs)
            present = self._tabs_of(self.profile)
            if present != self._present:
                self._present = present
                self._mark_absent(tabs)
            self.query_one("#details-head", Line).set(self._head(), markup=True)
            self.query_one("#details-photo", PhotoView).show(self.profile.photo)
            self.query_one(GeneralPane).load(self.ctx, self.general)
            tabs.active = "general"
            if not tabs.display:  # covered while it was read
                tabs.display = True
            # The focus where a new record starts it: on the tab bar (a focus that moves restyles
            # what it leaves and what it enters: not done when it is there already).
            bar = tabs.query_one(Tabs)
            if self.focused is not bar:
                self.set_focus(bar if bar.focusable else None)
        # Every widget's refresh handed to the screen now, not when each widget next idles:
        # the screen's first update then lays out and draws the new record in one pass.
        # Left to the widgets, that update came before their layout requests and drew the
        # earlier layout, and a second update one frame later (16 ms) laid out and drew again.
        for widget in self.walk_children():
            widget._check_refresh()

    async def _not_loaded(self, exc: PatronDeskError, reading: int, session) -> None:  # noqa: ANN001
        if self._gone(reading, session):
            return
        self.error = exc.message
        self._tabs = None  # shown without them: not reusable
        # The message in place first, then the screen pushed (as a record is): pushed first,
        # the kept screen's focus went back to a widget of the earlier record that the
        # message then replaced, and every key went to it (the app no longer answered, log
        # out included).
        await self._show_body()
        self._shown()

    def on_resize(self, event: events.Resize) -> None:
        self._relabel(event.size.width)

    def _labelled(self) -> list[str]:
        """The tabs the labels are made to fit: every tab this staff user may see, whether
        this user's record has it or not. The labels then read the same for every user (a
        patron's Fines/fees tab no longer turns the others' labels short, and back for the
        next user), and a user whose tabs differ costs no relabelling: the labels changing
        size laid the screen out a second time on opening such a user."""
        visible = self.profile is None or self.profile.history_visible
        return [tab for tab, *_ in TABS if tab != "history" or visible]

    def _relabel(self, width: int) -> None:
        """The tab labels follow the width (see `tab_labels`)."""
        tabs = self.query(DetailTabs)
        if not tabs:
            return
        tabbed = tabs.first()
        labels, close = tab_labels(width, self._labelled())
        tabbed.set_class(close, "-close")
        for tab, text in labels.items():
            try:
                content_tab = tabbed.get_tab(tab)
            except NoMatches:
                # The bar mounted but its tabs not composed yet (a resize that came while a
                # record's tabs were being put in place: the app stopped on it, issue 19's
                # "no crash"): labelled again once they are there.
                self.call_after_refresh(self._relabel_now)
                return
            if content_tab.label_text != text:
                content_tab.label = text

    def _relabel_now(self) -> None:
        if self.is_attached:
            self._relabel(self.size.width)

    def _pane(self, tab: str):
        if tab == "general":
            yield GeneralPane(self.ctx, self.general)
        elif tab == "contact":
            yield VerticalScroll(
                Static("[b]Emails[/b]"),
                RowsPane("email", self.ctx),
                Static("[b]Phones[/b]"),
                RowsPane("phone", self.ctx),
                Static("[b]Addresses[/b]"),
                RowsPane("address", self.ctx),
                id="contact-panes",
            )
        elif tab == "fees":
            yield FeesPane(self.ctx)
        elif tab == "history":
            yield HistoryPane(self.ctx)
        else:
            yield RowsPane(tab, self.ctx)

    def _head(self) -> str:
        p = self.profile
        status = p.status + (" · EXPIRED" if p.expired else "")
        marks = []
        if p.active_blocks:
            marks.append("[reverse] BLOCKED [/reverse]")
        if self.debt_limit:
            marks.append("[reverse] DEBT LIMIT [/reverse]")
        if p.locked:
            marks.append("[reverse] LOGIN LOCKED [/reverse]")
        if p.overdue_loans:
            marks.append(f"{p.overdue_loans} overdue")
        expiry = p.expiry_date.isoformat() if p.expiry_date else "never"
        return (
            f"[b]{escape(p.name)}[/b]  {escape(p.primary_id)} · {p.account_type.replace('_', ' ')}"
            f" · {p.record_type} · {status} · expires {expiry} · balance "
            f"{format_money(p.balance_minor, p.currency)}  " + "  ".join(marks)
        )

    def refresh_head(self) -> None:
        """The head (and History) again after a change, read in a worker."""
        run_service(
            self,
            load_head,
            self.account_id,
            self.app.session.actor,
            on_ok=self._head_loaded,
            group="details-head",
            exclusive=True,
        )

    def _head_loaded(self, head: tuple[Profile, bool]) -> None:
        self.profile, self.debt_limit = head
        self.query_one("#details-head", Line).set(self._head(), markup=True)
        self.query_one("#details-photo", PhotoView).show(self.profile.photo)
        if self.query("#pane-history"):
            self.query_one(HistoryPane).reload()

    @on(RowsPane.Changed)
    @on(FeesPane.Changed)
    def _changed(self) -> None:
        self.refresh_head()

    # --- actions --------------------------------------------------------------------------------

    async def _fill(self, tab: str) -> None:
        """A tab's content is built when it is first shown (drawing all eleven tabs made
        opening a user slow); the keys typed meanwhile wait for it."""
        pane = self.query_one(f"#{tab}", TabPane)
        if tab in self._stale:  # built for an earlier user
            self._stale.discard(tab)
            await pane.remove_children()
        if not pane.children:
            await pane.mount_all(list(self._pane(tab)))

    async def action_show_tab(self, tab: str) -> None:
        if self.ctx is None:  # still loading: the tab opens once the record is there
            self._pending_tab = tab
            return
        tabs = self.query_one("#details-tabs", TabbedContent)
        if tab in self._present:
            await self._fill(tab)
            tabs.active = tab
            self._focus_pane(tab)
        elif tab == "fees":
            self.notify("This user has no Fines/fees tab (no Patron role).", severity="warning")
        elif tab in ("identifier", "block"):
            name = "Identifiers" if tab == "identifier" else "Blocks"
            self.notify(f"A contact record has no {name} tab.", severity="warning")
        else:
            self.notify(
                "Your roles may not see users' History (Configuration: History visible to roles).",
                severity="warning",
            )

    def _focus_pane(self, tab: str) -> None:
        """The keys of a tab work at once: focus its table, or the first field of a form. At
        once (`set_focus`, not `focus()`, which waits behind the keys already typed): the next
        key typed acts in this tab, and the footer shows this tab's keys, not the last one's."""
        pane = self.query_one(f"#{tab}", TabPane)
        # A table before its filters (the period list of History, the fee filters): its keys
        # are what the tab is for.
        # Not scrolled to it: a tab just shown may not be laid out yet, and scrolling to where
        # the old layout put the widget scrolled the Contact tab past its "Emails" title (seen
        # in a full test run: the f3 snapshot two lines down). The first table or field is at
        # the top of its pane.
        for widget in [*pane.query(RowTable), *pane.query("Input, Select, Checkbox")]:
            if widget.focusable:
                self.set_focus(widget, scroll_visible=False)
                return

    @on(TabbedContent.TabActivated)
    async def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """A tab chosen with the mouse or the arrows of the tab bar: its pane gets the focus,
        unless the bar has it (its arrows go on choosing)."""
        pane = event.pane
        if pane is None or not pane.id:
            return
        await self._fill(pane.id)
        focused = self.focused
        if isinstance(focused, Tabs) or (focused is not None and pane in focused.ancestors):
            return
        self._focus_pane(pane.id)

    def action_save(self) -> None:
        if self.ctx is None:
            return
        self.query_one("#details-tabs", TabbedContent).active = "general"
        self.query_one(GeneralPane).save()

    def unsaved_changes(self) -> str | None:
        """What quitting now would lose (the app asks before ctrl+q quits), or None."""
        general = self.query(GeneralPane)
        if general and general.first().dirty:
            return "The General tab has unsaved changes."
        return None

    def action_back(self) -> None:
        general = self.query(GeneralPane)
        if general and general.first().dirty:
            from screens.confirm import ChoiceScreen

            def answer(choice: str | None) -> None:
                if choice == "save":  # leaves once saved; a refused save stays, with its messages
                    self.query_one(GeneralPane).save(then=lambda: self.dismiss(None))
                elif choice == "discard":
                    self.dismiss(None)

            self.app.push_screen(
                ChoiceScreen(
                    "The General tab has unsaved changes.",
                    [
                        ("s", "Save", "save"),
                        ("d", "Discard", "discard"),
                        ("e", "Keep editing", "edit"),
                    ],
                ),
                answer,
            )
            return
        self.dismiss(None)

    def action_original_values(self) -> None:
        """Original values of an external account (`screens.original_values`): the fields
        changed by hand and their SIS values. A restore changes the record under the General
        tab, which is read again after it: refused while something typed there is unsaved."""
        if self.ctx is None:
            return
        if self.profile.account_type != AccountType.EXTERNAL:
            self.notify(
                "An internal account has no original values: no SIS loads its fields.",
                severity="warning",
            )
            return
        general = self.query_one(GeneralPane)
        if general.dirty:
            self.notify(
                "The General tab has unsaved changes: save them "
                f"({hint(self.app, 'save')}) before Original values.",
                severity="warning",
            )
            return
        from screens.original_values import OriginalValuesScreen

        ctx = self.ctx

        def closed(version: int | None) -> None:
            if version is not None and self.ctx is ctx:  # still this user's record
                ctx.version = version
                self.query_one(GeneralPane).reload()
                self.refresh_head()

        screen = OriginalValuesScreen(
            self.account_id, ctx.version, self.profile.name, self.app.session.actor
        )
        self.app.push_screen(screen, closed)

    def action_photo(self) -> None:
        """The person's photo (`screens.photo`): asked first, in a worker, whether this session
        may change it (the right to edit the user, and no staff of another organization);
        once changed, the head shows it and the record's version follows."""
        if self.ctx is None:
            return
        from models.users.photos import may_change_photo
        from screens.photo import PhotoScreen

        ctx, profile, actor = self.ctx, self.profile, self.app.session.actor

        def closed(version: int | None) -> None:
            if version is not None and self.ctx is ctx:  # still this user's record
                ctx.version = version
                self.refresh_head()

        def allowed(_: None) -> None:
            if self.ctx is ctx:
                screen = PhotoScreen(self.account_id, ctx.version, profile.name, profile.photo,
                                     actor)  # fmt: skip
                self.app.push_screen(screen, closed)

        def refused(exc: PatronDeskError) -> None:
            self.notify(exc.message, severity="error", timeout=10)

        run_service(self, may_change_photo, self.account_id, actor, on_ok=allowed,
                    on_error=refused, group="details-photo")  # fmt: skip

    _asking = False  # the session's rights for ctrl+a are being read (`action_actions`)

    @property
    def accepting_keys(self) -> bool:
        """Keys typed after ctrl+a wait for its dialog (`App._ready_for_keys`): the session's
        rights are read in a worker first."""
        return not self._asking

    def action_actions(self) -> None:
        """The actions this session may run on this user (its rights read in a worker)."""
        from screens.confirm import ChoiceScreen

        if self.ctx is None or self._asking:
            return
        p, session, ctx = self.profile, self.app.session, self.ctx

        def read() -> list[tuple[str, str, str]]:
            choices = []
            if session.can(Action.CHANGE_STATUS, p.record_type):
                label = "Deactivate" if p.status == Status.ACTIVE else "Activate"
                choices.append(("s", label, "status"))
            if p.locked and session.can(Action.UNLOCK_LOGIN):
                choices.append(("u", "Unlock login", "unlock"))
            if session.can(Action.RESET_PASSWORD, p.record_type):
                choices.append(("p", "Reset password", "password"))
                choices.append(("c", "Set password…", "set_password"))
            if session.can(Action.TOGGLE_ACCOUNT_TYPE, p.record_type):
                choices.append(("t", "Toggle account type", "toggle"))
            if p.account_type == "external":
                choices.append(("o", "Open for update", "open"))
                originals = f"Original values ({hint(self.app, 'details.original_values')})"
                choices.append(("v", originals, "originals"))
            if session.can(Action.EDIT_USER, p.record_type):
                renew = f"Renew registration ({hint(self.app, 'details.renew')})"
                choices.append(("e", renew, "renew"))
                choices.append(("h", f"Photo… ({hint(self.app, 'details.photo')})", "photo"))
            if session.can(Action.MANAGE_ATTACHMENTS, p.record_type):
                choices.append(("w", "Letters", "letters"))
            choices.append(("l", "Loans", "loans"))
            choices.append(("r", "Reload", "reload"))
            return choices

        def ask(choices: list[tuple[str, str, str]]) -> None:
            self._asking = False
            if self.ctx is ctx:  # still this user's record
                self.app.push_screen(ChoiceScreen(f"Actions for {p.name}", choices), self._act)

        def failed(exc: PatronDeskError) -> None:
            self._asking = False
            self.notify(exc.message, severity="error", timeout=10)

        self._asking = True
        run_service(self, read, on_ok=ask, on_error=failed, group="details-rights")

    _acting = False  # an action of ctrl+a runs in its worker (`_act`)

    def _set_password(self) -> None:
        """Set password… (ctrl+a): a password staff chose, in its own form; once set, the
        head (a lockout lifted) and History are read again."""
        from screens.set_password import SetPasswordScreen

        ctx = self.ctx

        def closed(done: bool | None) -> None:
            if done and self.ctx is ctx:  # still this user's record
                self.refresh_head()

        screen = SetPasswordScreen(self.account_id, self.profile.name, self.app.session.actor)
        self.app.push_screen(screen, closed)

    def _act(self, choice: str | None) -> None:
        """The action chosen: its service runs in a worker (the password's argon2 too, and
        behind another writer), its answer is shown here, then the head is read again."""
        from screens.confirm import InfoScreen

        if choice is None:
            return
        if choice == "letters":
            from screens.letters import UserLettersScreen

            def closed(_: None) -> None:  # sent letters are kept on the Attachments tab
                for pane in self.query("#pane-attachment"):
                    pane.reload()

            self.app.push_screen(UserLettersScreen(self.account_id, self.profile.name), closed)
            return
        if choice == "originals":
            self.action_original_values()
            return
        if choice == "reload":
            self.show_user(self.account_id)
            return
        if choice == "renew":
            self.action_renew()
            return
        if choice == "photo":
            self.action_photo()
            return
        if choice == "set_password":
            self._set_password()
            return
        if self._acting:
            self.notify("The last action is still running.", severity="warning")
            return
        ctx, actor, account_id = self.ctx, self.app.session.actor, self.account_id
        new = Status.INACTIVE if self.profile.status == Status.ACTIVE else Status.ACTIVE
        service = {
            "status": lambda: set_status(account_id, new.value, ctx.version, actor).version,
            "unlock": lambda: unlock_login(account_id, actor),
            "password": lambda: reset_password(account_id, actor),
            "toggle": lambda: toggle_account_type(account_id, ctx.version, actor).version,
            "open": lambda: open_for_update(account_id, actor),
            "loans": lambda: loan_lines(account_id, actor),
        }[choice]
        slow = self.set_timer(0.3, lambda: self.notify("Working…", timeout=3))

        def answered(answer) -> None:  # noqa: ANN001 - each service's own
            self._acting = False
            slow.stop()
            if choice in ("status", "toggle"):
                ctx.version = answer
            if self.ctx is not ctx:  # another user is shown since
                return
            if choice == "status":
                self.notify(f"Status: {new.value}.")
            elif choice == "unlock":
                self.notify("Login unlocked.")
            elif choice == "password":
                self.app.push_screen(
                    InfoScreen(
                        "One-time password",
                        "Tell the user this password: it is shown only this once. Letters and "
                        "digits only, none that look alike (no 0, O, 1, I or l). They must "
                        "choose their own at their next login.",
                        extra=answer,
                    )
                )
            elif choice == "toggle":
                self.notify("Account type changed.")
            elif choice == "open":
                self.query_one(GeneralPane).unlock_all(answer)
                self.notify(
                    "Open for update: SIS fields can be edited; changes are kept as made by hand."
                )
            elif choice == "loans":
                text = (
                    "\n".join(
                        f"{'OVERDUE ' if overdue else ''}{due.isoformat()}  {barcode}  {title}"
                        for barcode, title, due, overdue in answer
                    )
                    or "No outstanding loans."
                )
                self.app.push_screen(InfoScreen("Outstanding loans", text))
            self.refresh_head()

        def refused(exc: PatronDeskError) -> None:
            self._acting = False
            slow.stop()
            self.notify(exc.message, severity="error", timeout=10)

        self._acting = True
        run_service(self, service, on_ok=answered, on_error=refused, group="details-action")
