"""One registry of the keys: bindings, the footer, the command palette and F1 help read it.

Every key of every screen is a `KeyAction` here, with an id. The id names the action, not the
screen: Save is `save` and `ctrl+s` on every form, Escape is `cancel` everywhere (it goes back,
closes or cancels), so one key means one thing across the app. `DEFAULT_KEYS` is the only
place a key is written; a user's key map (`[keys] save = "ctrl+k"`, see `tui.keymap`) rebinds
an id everywhere at once through `App.set_keymap`.

Two kinds of ids:
- a plain id (`save`, `new_user`, `cancel`) is an action found on several screens: it has the
  same key on all of them, and no other id may use a ctrl key it holds;
- a dotted id (`details.tab_fees`, `fees.pay`) belongs to one screen: its function keys and
  letters are that screen's own (F2 is the Staff tab of Find Users and the General tab of
  User Details), but never a ctrl key another id holds.

`needs` says what the session must be allowed to do for the command palette to offer the action
(`commands` in `tui.palette`): an `Action` of models.access.permissions, or one of `SESSION` (anyone
logged in), `STAFF` (a staff login), `PATRON` (a patron-only login).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from models.access.permissions import Action

SESSION, STAFF, PATRON = "session", "staff", "patron"

# id -> default keys (comma-separated Textual key names). The one place a key is written.
DEFAULT_KEYS: dict[str, str] = {
    # Everywhere
    "quit": "ctrl+q",
    "keys_help": "f1",
    "command_palette": "ctrl+p",
    "logout": "ctrl+l",
    "configuration": "ctrl+o",
    # Shared by screens and dialogs
    "save": "ctrl+s",
    "cancel": "escape",
    "confirm": "y",
    "no": "n",
    "open": "enter",
    "add": "n,insert",
    "edit": "e",
    "delete": "delete",
    "toggle_row": "space",
    "search": "ctrl+f",
    "new_user": "ctrl+n",
    "register_user": "ctrl+b",
    "toggle_active": "ctrl+t",
    "reset_filters": "ctrl+r",
    "actions": "ctrl+a",
    "generate_password": "ctrl+g",
    "generate_pin": "ctrl+y",
    "preview": "ctrl+d",
    # Every text field (tui/widgets.py SafeInput)
    "select_all": "ctrl+e",
    "clear_field": "ctrl+u",
    # Lists (tui/table.py)
    "table.up": "up",
    "table.down": "down",
    "table.page_up": "pageup",
    "table.page_down": "pagedown",
    "table.first": "home",
    "table.last": "end",
    # Login
    "login.forgot_password": "f2",
    # Find and Manage Users
    "find_users.tab_staff": "f2",
    "find_users.tab_public": "f3",
    "find_users.tab_contact": "f4",
    "find_users.tab_all": "f5",
    "find_users.filter_account_type": "f6",
    "find_users.filter_role": "f7",
    "find_users.filter_status": "f8",
    "find_users.filter_group": "f9",
    "find_users.purge": "f10",
    "find_users.sort_name": "f11",
    "find_users.sort_expiry": "f12",
    "find_users.to_results": "down",
    "find_users.count": "ctrl+k",
    # The user card (a ctrl key: a letter typed in the results goes to the search box)
    "find_users.card": "ctrl+x",
    # Merge with… (issue 24): every ctrl key and F2 to F12 are taken on Find Users, and a
    # letter typed in the results goes to the search box; shift+F10 (beside F10, the purge),
    # which most terminals send as F22.
    "find_users.merge": "shift+f10,f22",
    # Every ctrl key is taken and F2 to F12 are the tabs and filters: shift+F8 (F20). Not
    # shift+F3: xterm sends it as CSI 1;2R, which is also the cursor position report, and the
    # key is lost in tmux with TERM=xterm (tried).
    "find_users.duplicates": "shift+f8,f20",
    "duplicates.not_duplicate": "x",
    "duplicates.open_other": "o",
    "duplicates.merge": "m",
    # Sets (issue 23): every ctrl key is taken and F2 to F12 are Find Users' own; shift+F6 and
    # shift+F7 (F18, F19 to most terminals), each shift+F key meaning one thing on every screen.
    "find_users.save_set": "shift+f6,f18",
    "find_users.sets": "shift+f7,f19",
    # The dashboard (issue 25): F2 to F12 and every free ctrl key are taken; shift+F5, beside
    # "All F5" (the charts count all users). Terminals send shift+F5 as F17, as shift+F2 (F14).
    "find_users.dashboard": "shift+f5,f17",
    # The dashboard: charts by Left/Right (Up/Down move in the bars), refresh F5
    "dashboard.previous": "left",
    "dashboard.next": "right",
    "dashboard.refresh": "f5",
    # Register New User
    "register.to_matches": "down",
    "register.up": "up",
    # Quick User Management
    "quick_user.save_and_open": "f2",
    "quick_user.reuse_person": "f3",
    "quick_user.open_likely": "f4",
    "quick_user.reuse_likely": "f5",
    "quick_user.next_likely": "f6",
    # User Details
    "details.tab_general": "f2",
    "details.tab_contact": "f3",
    "details.tab_identifier": "f4",
    "details.tab_note": "f5",
    "details.tab_block": "f6",
    "details.tab_fees": "f7",
    "details.tab_statistic": "f8",
    "details.tab_attachment": "f9",
    "details.tab_proxy": "f10",
    "details.tab_role": "f11",
    "details.tab_history": "f12",
    # Renew (issue 22 asked ctrl+o: Configuration holds it everywhere, and a ctrl key means
    # one thing; ctrl+z is held by nothing, and no text field of User Details uses it)
    "details.renew": "ctrl+z",
    # Original values of an external account (issue 22, item 4): every ctrl key is taken (by
    # an id, or by the text fields' own keys: ctrl+v, ctrl+w) and F2 to F12 are the tabs, so
    # shift+F2, beside the General tab whose fields it lists. Most terminals send shift+F2 as
    # F14 (xterm's CSI 1;2Q, the Linux console's CSI 26~), which Textual names f14: both.
    "details.original_values": "shift+f2,f14",
    "original_values.restore": "r",
    # The person's photo (issue 25): shift+F4, near Original values' shift+F2, for the same
    # reason (every ctrl key is taken, F2 to F12 are the tabs); F16 is what terminals send.
    "details.photo": "shift+f4,f16",
    # In the photo form, whose path field takes every letter and ctrl+d: a function key.
    "photo.remove": "f8",
    "rows.duplicate": "c",
    # Attachments tab and its viewer
    "attachments.view": "v",
    "attachments.save": "x",
    # Fines/fees tab
    "fees.pay": "p",
    "fees.waive": "w",
    "fees.waive_all": "W",
    "fees.dispute": "d",
    "fees.restore": "r",
    "fees.link": "l",
    "fees.mark": "space",
    "fees.transactions": "t",
    "fees.status_filter": "s",
    "fees.owner_filter": "o",
    # My account
    "my_account.tab_record": "f2",
    "my_account.tab_contact": "f3",
    "my_account.tab_fees": "f4",
    "my_account.tab_preferences": "f5",
    "my_account.tab_password": "f6",
    # Dialogs
    "delete_user.view": "v",
    "delete_user.waive": "w",
    "delete_user.notify": "n",
    "purge.run": "p",
    # Merging two users (screens/merge.py)
    "merge.swap": "s",
    # Letters and the outbox
    "letters.message": "m",
    "letters.personal": "i",
    "letters.resend": "r",
    "outbox.send_all": "s",
    "outbox.retry": "r",
    "outbox.all": "a",
    # Sets and jobs (issue 23): lists with no text field, so letters are safe
    "sets.rename": "r",
    "sets.run_job": "j",
    "sets.jobs": "h",
    "jobs.save_report": "x",
    "jobs.undo": "u",
    "jobs.resume": "c",
}


@dataclass(frozen=True)
class KeyAction:
    id: str  # the binding id (DEFAULT_KEYS, and a user's key map)
    action: str  # the Textual action, e.g. "focus_search" or "app.quit"
    description: str
    show: bool = True  # in the footer
    priority: bool = False  # wins over the focused widget's own keys
    palette: bool = True  # offered in the command palette
    needs: Action | str | None = None  # see the module docstring

    @property
    def keys(self) -> str:
        """The default keys; "" for a command of the palette only."""
        return DEFAULT_KEYS.get(self.id, "")

    def binding(self) -> Binding:
        return Binding(
            self.keys,
            self.action,
            self.description,
            show=self.show,
            priority=self.priority,
            id=self.id,
        )

    @property
    def key_label(self) -> str:
        return key_label(self.keys)


def shown_key(key: str) -> str:
    """A key as staff press it: f13 to f24 are what terminals send for shift+F1 to shift+F12."""
    if key.startswith("f") and key[1:].isdigit() and 13 <= int(key[1:]) <= 24:
        return f"shift+f{int(key[1:]) - 12}"
    return key


def key_label(keys: str) -> str:
    labels: list[str] = []
    for key in keys.split(","):
        label = shown_key(key).replace("ctrl+", "^").replace("escape", "esc") if key else ""
        if label and label not in labels:
            labels.append(label)
    return ", ".join(labels)


@dataclass(frozen=True)
class KeyGroup:
    """The keys of one screen, or of one part of it (a table, a box): `screen` names the screen
    group whose keys are active together (with "Everywhere"), `title` heads the group in F1."""

    screen: str
    title: str
    actions: tuple[KeyAction, ...]

    def bindings(self) -> list[Binding]:
        return [a.binding() for a in self.actions if a.keys]

    def __iter__(self):
        return iter(self.actions)


def K(  # noqa: N802 - reads as a table row
    id: str,  # noqa: A002
    action: str,
    description: str,
    **options,
) -> KeyAction:
    return KeyAction(id, action, description, **options)


EVERYWHERE = "Everywhere"

APP = KeyGroup(
    EVERYWHERE,
    EVERYWHERE,
    (
        K("quit", "app.quit", "Quit", priority=True),
        K("keys_help", "app.keys_help", "Keys", priority=True),
        K("command_palette", "app.command_palette", "Commands", show=False, palette=False),
        # Priority: a modal dialog hides the app's other keys, and logging out works from any
        # depth.
        K("logout", "app.logout", "Log out", show=False, priority=True, needs=SESSION),
        K("configuration", "app.configuration", "Configuration", show=False,
          needs=Action.CONFIGURE),
    ),
)  # fmt: skip

# Commands of the palette only (no key unless a user's key map gives one... they have no
# binding, so a key map cannot): the app's own screens.
APP_COMMANDS = KeyGroup(
    EVERYWHERE,
    EVERYWHERE,
    (
        K("home", "app.home", "Find and Manage Users", needs=STAFF),
        K("sets", "app.sets", "Sets of users", needs=STAFF),
        K("jobs", "app.jobs", "Jobs (bulk changes)", needs=STAFF),
        K("my_account", "app.home", "My account", needs=PATRON),
        # Staff have a record of their own too: their password and their letters.
        K("own_account", "app.my_account", "My account (my password, my letters)", needs=STAFF),
        K("outbox", "app.outbox", "Letters outbox", needs=Action.CONFIGURE),
        K("import", "app.import", "Import users", needs=Action.RUN_JOBS),
        K("export", "app.export", "Export users", needs=Action.RUN_JOBS),
    ),
)

# Keys of every list (tui/table.py RowTable).
TABLE = KeyGroup(
    "Lists",
    "In a list",
    (
        K("table.up", "move(-1)", "Up", show=False, palette=False),
        K("table.down", "move(1)", "Down", show=False, palette=False),
        K("table.page_up", "page(-1)", "Page up", show=False, palette=False),
        K("table.page_down", "page(1)", "Page down", show=False, palette=False),
        K("table.first", "move_to(0)", "First", show=False, palette=False),
        K("table.last", "move_to(-1)", "Last", show=False, palette=False),
        K("open", "select_row", "Open", show=False, palette=False),
    ),
)

# Keys of every text field (tui/widgets.py SafeInput), on top of Textual's Input keys.
FIELD = KeyGroup(
    "Fields",
    "In a text field",
    (
        K("select_all", "select_all", "Select all", show=False, palette=False),
        K("clear_field", "clear_field", "Clear the field", show=False, palette=False),
    ),
)

FU = "Find and Manage Users"
FIND_USERS = KeyGroup(
    FU,
    FU,
    (
        K("search", "focus_search", "Search", priority=True),
        K("new_user", "new_user", "New user", priority=True, needs=Action.CREATE_USER),
        K("register_user", "register_user", "Register new user", priority=True,
          needs=Action.REGISTER_USER),
        K("find_users.tab_staff", "tab('staff')", "Staff"),
        K("find_users.tab_public", "tab('public')", "Public"),
        K("find_users.tab_contact", "tab('contact')", "Contact"),
        K("find_users.tab_all", "tab('all')", "All"),
        K("find_users.filter_account_type", "focus_filter('account-type')",
          "Account type filter", show=False),
        K("find_users.filter_role", "focus_filter('role')", "Role filter", show=False),
        K("find_users.filter_status", "focus_filter('status')", "Status filter", show=False),
        K("find_users.filter_group", "focus_filter('group')", "User group filter", show=False),
        K("reset_filters", "clear_filters", "Reset filters", show=False),
        K("find_users.purge", "purge_users", "Purge users (preview)", show=False,
          needs=Action.RUN_JOBS),
        K("find_users.duplicates", "duplicates", "Duplicates", show=False, priority=True,
          needs=Action.FIND_DUPLICATES),
        K("find_users.sort_name", "sort('name')", "Sort by name (again: reverse)", show=False),
        K("find_users.sort_expiry", "sort('expiry')", "Sort by expiry (again: reverse)",
          show=False),
        K("cancel", "escape", "Clear search", show=False, palette=False),
        # Priority: in the search box too (Textual's Input would delete to the end).
        K("find_users.count", "count_exact", "Count exactly", show=False, priority=True),
        K("find_users.save_set", "save_set", "Save as set", show=False, priority=True,
          needs=Action.VIEW_USER),
        K("find_users.sets", "app.sets", "Sets of users", show=False, priority=True,
          needs=STAFF),
        K("find_users.dashboard", "dashboard", "Dashboard (charts)", show=False,
          needs=Action.VIEW_USER),
    ),
)  # fmt: skip

# Keys of the search box (active while it has the focus).
SEARCH_BOX = KeyGroup(
    FU,
    "Search box",
    (K("find_users.to_results", "screen.to_results", "To the results", show=False,
       palette=False),),
)  # fmt: skip

# Keys of the results table (active while it has the focus). No printable key: a letter typed
# in the list goes to the search box ("maya" typed there deactivated a user: a, then y).
RESULTS = KeyGroup(
    FU,
    "Results list",
    (
        K("open", "screen.open_user", "Open", needs=Action.VIEW_USER),
        # Not in the footer: at 80 columns it pushed "^n New user" off (F1, palette, README).
        K("find_users.card", "screen.user_card", "User card", show=False,
          needs=Action.VIEW_USER),
        K("toggle_active", "screen.toggle_active", "Activate/deactivate",
          needs=Action.CHANGE_STATUS),
        K("delete", "screen.delete_user", "Delete", needs=Action.DELETE_USER),
        K("find_users.merge", "screen.merge_with", "Merge with…", show=False,
          needs=Action.MERGE_USERS),
    ),
)  # fmt: skip

# The dashboard (screens/dashboard.py): a chart and the list of its bars beside it; Enter on
# a bar opens Find and Manage Users filtered to the users it counts.
DASHBOARD = KeyGroup(
    "Dashboard",
    "Dashboard",
    (
        K("dashboard.previous", "chart(-1)", "Previous chart"),
        K("dashboard.next", "chart(1)", "Next chart"),
        K("dashboard.refresh", "refresh_chart", "Refresh"),
        K("cancel", "back", "Back to Find Users", palette=False),
    ),
)
# The list of the bars (on top of a list's keys): the bar under the cursor, not in the palette.
DASHBOARD_BARS = KeyGroup(
    "Dashboard",
    "Bars of the chart",
    (K("open", "screen.open_bar", "Its users", palette=False),),
)

DIALOGS = "Dialogs"
# The user card (screens/user_card.py): Enter opens the record, Escape goes back to the list.
USER_CARD = KeyGroup(
    DIALOGS,
    "User card",
    (
        K("open", "open_record", "Open the record", palette=False),
        K("cancel", "close_card", "Close", palette=False),
    ),
)
DIALOG = KeyGroup(DIALOGS, "Dialog", (K("cancel", "cancel", "Cancel", palette=False),))
CONFIRM = KeyGroup(
    DIALOGS,
    "Question",
    (
        K("confirm", "answer(True)", "Yes", palette=False),
        K("no", "answer(False)", "No", show=False, palette=False),
        K("cancel", "answer(False)", "Cancel", palette=False),
    ),
)
INFO = KeyGroup(DIALOGS, "Message", (K("cancel", "close", "Close", palette=False),))
CHOICE = KeyGroup(DIALOGS, "Choice", (K("cancel", "choose(None)", "Cancel", palette=False),))
HELP = KeyGroup(DIALOGS, "Keys", (K("cancel", "cancel", "Close", palette=False),))
LOCK = KeyGroup(
    DIALOGS, "Screen locked", (K("logout", "log_out", "Log out", priority=True, palette=False),)
)

# Register New User (screens/register_user.py): the scan box keeps the focus after a look-up;
# only Down (or Tab) into the matches, then Enter, opens one.
RU = "Register New User"
REGISTER_USER = KeyGroup(
    RU,
    RU,
    (
        K("new_user", "register_anyway", "Register a new user anyway", priority=True,
          needs=Action.REGISTER_USER),
        K("cancel", "cancel", "Back to Find Users", palette=False),
    ),
)  # fmt: skip
SCAN_BOX = KeyGroup(
    RU,
    "Scan box",
    (K("register.to_matches", "screen.to_matches", "To the matches", show=False,
       palette=False),),
)  # fmt: skip
REGISTER_MATCHES = KeyGroup(
    RU,
    "Matches",
    (K("register.up", "up_or_box", "Up; from the first match, the box", show=False,
       palette=False),),
)  # fmt: skip

CONFIGURATION = KeyGroup(
    "Configuration",
    "Configuration",
    (
        K("add", "add", "Add"),
        K("edit", "edit", "Edit"),
        K("toggle_row", "toggle_active", "Active on/off"),
        K("delete", "delete", "Delete"),
        K("cancel", "back", "Back", palette=False),
    ),
)

# A form in a dialog (a row of User Details, a letter, a password change).
FORM = KeyGroup(
    "Forms",
    "Form",
    (
        K("save", "save", "Save", priority=True),
        K("cancel", "cancel", "Cancel", palette=False),
    ),
)
FIRST_ADMIN = KeyGroup("Forms", "First administrator", FORM.actions[:1])
# The identifier form of User Details (screens/user_details/identifier_form.py), on top of
# FORM: the value from the ID-generation setting (Esploro's Generate). ctrl+g generates here
# as in Quick User Management: one ctrl key is one id, so this is `generate_password`'s id
# with its own action, and a key map moving that id moves both.
IDENTIFIER_FORM = KeyGroup(
    "Forms",
    "Identifier form",
    (K("generate_password", "generate_identifier", "Generate identifier", priority=True),),
)

UD = "User Details"
USER_DETAILS = KeyGroup(
    UD,
    UD,
    (
        K("save", "save", "Save", priority=True),
        K("actions", "actions", "Actions", priority=True),
        K(
            "details.renew",
            "renew",
            "Renew registration",
            show=False,
            priority=True,
            needs=Action.EDIT_USER,
        ),
        K(
            "details.original_values",
            "original_values",
            "Original values",
            show=False,
            needs=Action.VIEW_USER,
        ),
        K(
            "details.photo",
            "photo",
            "Photo (add, replace, remove)",
            show=False,
            needs=Action.EDIT_USER,
        ),
        K("cancel", "back", "Back", palette=False),
        K("details.tab_general", "show_tab('general')", "Tab: General", show=False),
        K("details.tab_contact", "show_tab('contact')", "Tab: Contact", show=False),
        K("details.tab_identifier", "show_tab('identifier')", "Tab: Identifiers", show=False),
        K("details.tab_note", "show_tab('note')", "Tab: Notes", show=False),
        K("details.tab_block", "show_tab('block')", "Tab: Blocks", show=False),
        K("details.tab_fees", "show_tab('fees')", "Tab: Fines/fees", show=False),
        K("details.tab_statistic", "show_tab('statistic')", "Tab: Statistics", show=False),
        K("details.tab_attachment", "show_tab('attachment')", "Tab: Attachments", show=False),
        K("details.tab_proxy", "show_tab('proxy')", "Tab: Proxy for", show=False),
        K("details.tab_role", "show_tab('role')", "Tab: Roles", show=False),
        K("details.tab_history", "show_tab('history')", "Tab: History", show=False),
    ),
)

# The table of a row tab of User Details (screens/user_details/rows.py): the row under the
# cursor, so not in the palette.
ROWS = KeyGroup(
    UD,
    "In a table tab",
    (
        K("add", "add", "Add", palette=False),
        K("edit", "edit", "Edit", palette=False),
        K("rows.duplicate", "duplicate", "Duplicate", palette=False),
        K("delete", "remove", "Delete", palette=False),
        K("toggle_row", "toggle_active", "Active on/off", show=False, palette=False),
        K("open", "edit", "Edit", show=False, palette=False),
    ),
)

# The Attachments table of User Details (screens/user_details/rows.py), on top of ROWS: open
# the attachment under the cursor in the viewer, or save it to a file.
ATTACHMENTS = KeyGroup(
    UD,
    "Attachments tab",
    (
        K("attachments.view", "view", "Open", palette=False),
        K("attachments.save", "save_file", "Save as", palette=False),
    ),
)

# The attachment viewer (screens/attachment_viewer.py); its save form is a FORM.
ATTACHMENT_VIEWER = KeyGroup(
    DIALOGS,
    "Attachment",
    (
        K("attachments.save", "save_attachment", "Save as", palette=False),
        K("cancel", "close", "Close", palette=False),
    ),
)

# The Fines/fees table of User Details (screens/user_details/fees.py): they act on the fee under
# the cursor, so they are not offered in the palette.
FEES = KeyGroup(
    UD,
    "Fines/fees tab",
    (
        K("add", "fee('add')", "Add fee", palette=False),
        K("fees.pay", "fee('pay')", "Pay", palette=False),
        K("fees.waive", "fee('waive')", "Waive", palette=False),
        K("fees.waive_all", "fee('waive_all')", "Waive all (up to the limit)", show=False,
          palette=False),
        K("fees.dispute", "fee('dispute')", "Dispute", palette=False),
        K("fees.restore", "fee('restore')", "Restore a disputed fee", show=False, palette=False),
        K("fees.link", "fee('link')", "Link to an item", show=False, palette=False),
        K("fees.mark", "fee('mark')", "Mark for waive", show=False, palette=False),
        K("fees.transactions", "fee('transactions')", "Transactions", show=False, palette=False),
        K("fees.status_filter", "fee('status_filter')", "Status filter", show=False,
          palette=False),
        K("fees.owner_filter", "fee('owner_filter')", "Owner filter", show=False, palette=False),
    ),
)  # fmt: skip

# Asked before a save of the General tab changes a field a SIS load may override
# (screens/sis_override.py): Enter saves too (a checkbox would take it for space). Not
# priority keys: typed before the question appeared, they are dropped (`Dialog`).
SIS_OVERRIDE = KeyGroup(
    DIALOGS,
    "Next SIS load",
    (
        K("save", "save", "Save", palette=False),
        K("open", "enter", "Save", show=False, palette=False),
        K("cancel", "cancel", "Back to the form", palette=False),
    ),
)
# The photo form of User Details (screens/photo.py), on top of FORM.
PHOTO = KeyGroup(
    DIALOGS,
    "Photo",
    (K("photo.remove", "remove_photo", "Remove the photo", priority=True, palette=False),),
)
# Original values of an external account (screens/original_values.py).
ORIGINAL_VALUES = KeyGroup(
    DIALOGS,
    "Original values",
    (
        K("original_values.restore", "restore", "Restore the SIS value", palette=False),
        K("cancel", "close", "Close", palette=False),
    ),
)

# The deletion dialog (screens/delete_user.py).
DELETE_USER = KeyGroup(
    DIALOGS,
    "Delete a user",
    (
        K("confirm", "delete", "Delete (when nothing stands in the way)", palette=False),
        K("delete_user.view", "view", "View the user", palette=False),
        K("delete_user.waive", "waive", "Waive the fees", palette=False),
        K("delete_user.notify", "notify", "Notify the user (deletion notice)", palette=False),
        K("cancel", "cancel", "Cancel", palette=False),
    ),
)

# The purge preview (screens/purge.py), for staff who may run jobs.
PURGE = KeyGroup(
    DIALOGS,
    "Purge users",
    (
        K("purge.run", "purge", "Purge now", palette=False),
        K("cancel", "cancel", "Close", palette=False),
    ),
)

# Merging two users (screens/merge.py): Space takes the other account's value of the
# highlighted field (again: the kept one's), s swaps which account is kept, ctrl+s merges
# after a confirmation. The box for "Merge with…" is a text field: only ctrl keys act there.
MERGE = KeyGroup(
    DIALOGS,
    "Merge users",
    (
        K("save", "merge", "Merge", priority=True, palette=False),
        K("toggle_row", "toggle_winner", "Take the other value / keep", palette=False),
        K("merge.swap", "swap", "Swap which is kept", palette=False),
        K("cancel", "cancel", "Cancel", palette=False),
    ),
)

# Duplicates (screens/duplicates.py).
DUPLICATES = KeyGroup(
    DIALOGS,
    "Duplicates",
    (
        K("open", "open_first", "Open the first person"),
        K("duplicates.open_other", "open_other", "Open the second person"),
        K("duplicates.not_duplicate", "not_duplicate", "Not a duplicate"),
        K("duplicates.merge", "merge", "Merge the pair (the first is kept)"),
        K("cancel", "cancel", "Close", palette=False),
    ),
)

# Login (screens/login.py) and the forgotten-password screen (screens/forgot_password.py).
LOGIN = KeyGroup(
    "Login",
    "Login",
    (K("login.forgot_password", "forgot_password", "Forgotten password", priority=True),),
)
FORGOT_PASSWORD = KeyGroup(
    "Login",
    "Forgotten password",
    (
        K("save", "save", "Send the code / set the password", priority=True),
        K("cancel", "cancel", "Back to login", palette=False),
    ),
)

# My account (screens/my_account.py): the home of a patron-only login.
MA = "My account"
MY_ACCOUNT = KeyGroup(
    MA,
    MA,
    (
        K("save", "save", "Save (letters, password)", priority=True),
        K("cancel", "back", "Back", palette=False),  # staff only (`check_action`)
        K("my_account.tab_record", "show_tab('record')", "Tab: My record", show=False),
        K("my_account.tab_contact", "show_tab('contact')", "Tab: Contact", show=False),
        K("my_account.tab_fees", "show_tab('fees')", "Tab: Fines/fees", show=False),
        K("my_account.tab_preferences", "show_tab('preferences')", "Tab: Letters", show=False),
        K("my_account.tab_password", "show_tab('password')", "Tab: Password", show=False),
    ),
)
CONTACTS = KeyGroup(
    MA,
    "Contact tab",
    (
        K("add", "screen.add_contact", "Add", palette=False),
        K("edit", "screen.edit_contact", "Edit", palette=False),
        K("open", "screen.edit_contact", "Edit", show=False, palette=False),
        K("delete", "screen.delete_contact", "Delete", palette=False),
    ),
)

QU = "Quick User Management"
QUICK_USER = KeyGroup(
    QU,
    QU,
    (
        K("save", "save", "Save", priority=True),
        K("quick_user.save_and_open", "save_and_open", "Save and open", priority=True),
        K("quick_user.reuse_person", "reuse_person", "Reuse a person", priority=True),
        K(
            "quick_user.open_likely",
            "open_likely",
            "Open the likely existing person",
            priority=True,
            show=False,
        ),
        K(
            "quick_user.reuse_likely",
            "reuse_likely",
            "Reuse the likely existing person",
            priority=True,
            show=False,
        ),
        K(
            "quick_user.next_likely",
            "next_likely",
            "Next likely existing person",
            priority=True,
            show=False,
        ),
        K("generate_password", "generate_password", "Generate password", priority=True),
        K("generate_pin", "generate_pin", "Generate PIN", priority=True),
        K("cancel", "cancel", "Cancel", palette=False),
    ),
)

# Import and export (screens/transfer.py).
IMPORT = KeyGroup(
    "Import and export",
    "Import users",
    (
        K("preview", "preview", "Preview (dry run)", priority=True),
        K("save", "run", "Import", priority=True),
        K("cancel", "cancel", "Close", palette=False),
    ),
)
EXPORT = KeyGroup(
    "Import and export",
    "Export users",
    (
        K("save", "run", "Export", priority=True),
        K("cancel", "cancel", "Close", palette=False),
    ),
)

# Letters of a user (screens/letters.py) and the outbox.
LETTERS = KeyGroup(
    "Letters",
    "Letters",
    (
        K("open", "read", "Read the letter"),
        K("letters.message", "message", "Write a message"),
        K("letters.personal", "personal", "Send the personal-information letter"),
        K("letters.resend", "resend", "Resend the letter"),
        K("cancel", "close", "Close", palette=False),
    ),
)
OUTBOX = KeyGroup(
    "Letters",
    "Outbox",
    (
        K("outbox.send_all", "send_all", "Send every waiting letter now"),
        K("outbox.retry", "retry", "Retry the letter"),
        K("outbox.all", "toggle_all", "Waiting letters / all letters"),
        K("open", "read", "Read the letter", show=False),
        K("cancel", "back", "Back", palette=False),
    ),
)

# Sets of users (screens/sets.py) and a set's members (screens/set_members.py).
SETS = KeyGroup(
    "Sets",
    "Sets",
    (
        K("open", "screen.open_set", "Members"),
        K("add", "screen.new_from_file", "New set from a file"),
        K("sets.rename", "screen.rename", "Rename"),
        K("delete", "screen.delete", "Delete"),
        K("sets.run_job", "screen.run_job", "Run job…"),
        K("sets.jobs", "app.jobs", "Jobs"),
        K("cancel", "screen.back", "Back", palette=False),
    ),
)
SET_MEMBERS = KeyGroup(
    "Sets",
    "Members of a set",
    (
        K("open", "screen.open_user", "Open", needs=Action.VIEW_USER),
        K("sets.run_job", "screen.run_job", "Run job…"),
        K("cancel", "screen.back", "Back", palette=False),
    ),
)
# The form of an update or notify job (screens/job_update.py, screens/job_notify.py).
JOB_FORM = KeyGroup(
    "Jobs",
    "Job form",
    (
        K("preview", "preview", "Preview (writes nothing)", priority=True),
        K("cancel", "cancel", "Cancel", palette=False),
    ),
)
# A job's preview, run and report (screens/job_run.py).
JOB_RUN = KeyGroup(
    "Jobs",
    "Job",
    (
        K("save", "run", "Run the job", priority=True),
        K("cancel", "close", "Close (a running job goes on)", palette=False),
    ),
)
# Every job of the organization (screens/jobs.py). The keys of these lists are bound on
# the list (the screen's only focusable widget), so Enter is the list's own.
JOBS = KeyGroup(
    "Jobs",
    "Jobs",
    (
        K("open", "screen.show_report", "Report"),
        K("jobs.save_report", "screen.save_report", "Report as CSV"),
        K("jobs.undo", "screen.undo", "Undo"),
        K("jobs.resume", "screen.resume", "Continue a stopped job", show=False),
        K("cancel", "screen.back", "Back", palette=False),
    ),
)

GROUPS: tuple[KeyGroup, ...] = (
    APP, APP_COMMANDS, TABLE, FIELD, FIND_USERS, SEARCH_BOX, RESULTS, DIALOG, CONFIRM, INFO, CHOICE,
    HELP, LOCK, REGISTER_USER, SCAN_BOX, REGISTER_MATCHES, CONFIGURATION, FORM, FIRST_ADMIN,
    IDENTIFIER_FORM,
    USER_DETAILS, ROWS, ATTACHMENTS, ATTACHMENT_VIEWER, FEES, SIS_OVERRIDE, ORIGINAL_VALUES, PHOTO,
    DELETE_USER, PURGE, MERGE, LOGIN,
    FORGOT_PASSWORD, MY_ACCOUNT, CONTACTS, QUICK_USER, IMPORT, EXPORT, LETTERS, OUTBOX, DUPLICATES,
    USER_CARD, SETS, SET_MEMBERS, JOB_FORM, JOB_RUN, JOBS, DASHBOARD, DASHBOARD_BARS,
)  # fmt: skip

# (binding id, action) -> the registry entry and its group: how F1 and the palette read a live
# binding back.
INDEX: dict[tuple[str, str], tuple[KeyAction, KeyGroup]] = {}
for _group in GROUPS:
    for _a in _group.actions:
        INDEX.setdefault((_a.id, _a.action), (_a, _group))


def lookup(binding: Binding) -> tuple[KeyAction, KeyGroup] | None:
    """The registry entry of a live binding (its key may come from a user's key map)."""
    if binding.id is None:
        return None
    return INDEX.get((binding.id, binding.action))


def bindings(*groups: KeyGroup) -> list[Binding]:
    return [b for group in groups for b in group.bindings()]


def screens_of(key_id: str) -> set[str]:
    """The screen groups an id is used on."""
    return {g.screen for g in GROUPS for a in g.actions if a.id == key_id}


def table() -> list[tuple[str, str, str]]:
    """(screen group, keys, description) of every keyed action: the README's table."""
    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for group in GROUPS:
        for a in group.actions:
            if a.keys and (group.screen, a.id) not in seen:
                seen.add((group.screen, a.id))
                rows.append((group.screen, a.keys, a.description))
    return rows


def hint(app: object, key_id: str) -> str:
    """The key of `key_id` as text for a hint or a button label ("ctrl+g"): the user's key map
    first (`PatronDeskApp.user_keymap`), then the registry's default; its first key only."""
    keys = getattr(app, "user_keymap", {}).get(key_id) or DEFAULT_KEYS[key_id]
    return shown_key(keys.split(",")[0])
