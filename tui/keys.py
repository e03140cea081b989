"""One registry of the keys: bindings, the footer, the command palette and F1 help read it.

Each screen lists its actions here, so a key is defined once and a later key-map file can rebind
keys for power users without touching the screens.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class KeyAction:
    action: str  # the Textual action, e.g. "focus_search" or "app.quit"
    keys: str  # comma-separated Textual key names
    description: str
    show: bool = True  # in the footer
    priority: bool = False  # wins over the focused widget's own keys
    palette: bool = True  # offered in the command palette

    def binding(self) -> Binding:
        return Binding(
            self.keys, self.action, self.description, show=self.show, priority=self.priority
        )

    @property
    def key_label(self) -> str:
        return ", ".join(
            k.replace("ctrl+", "^").replace("escape", "esc") for k in self.keys.split(",")
        )


APP = (
    KeyAction("app.quit", "ctrl+q", "Quit", priority=True),
    KeyAction("app.keys_help", "f1", "Keys", priority=True),
    KeyAction("app.command_palette", "ctrl+p", "Commands", show=False, palette=False),
    # Priority: a modal dialog hides the app's other keys, and logging out works from any depth.
    KeyAction("app.logout", "ctrl+l", "Log out", show=False, priority=True),
)

FIND_USERS = (
    KeyAction("focus_search", "ctrl+f", "Search", priority=True),
    KeyAction("new_user", "ctrl+n", "New user", priority=True),
    KeyAction("register_user", "ctrl+g", "Register new user", priority=True),
    KeyAction("tab('staff')", "f2", "Staff"),
    KeyAction("tab('public')", "f3", "Public"),
    KeyAction("tab('contact')", "f4", "Contact"),
    KeyAction("tab('all')", "f5", "All"),
    KeyAction("focus_filter('account-type')", "f6", "Account type filter", show=False),
    KeyAction("focus_filter('role')", "f7", "Role filter", show=False),
    KeyAction("focus_filter('status')", "f8", "Status filter", show=False),
    KeyAction("focus_filter('group')", "f9", "User group filter", show=False),
    KeyAction("clear_filters", "ctrl+r", "Reset filters", show=False),
    KeyAction("purge_users", "f10", "Purge users (preview)", show=False),
    KeyAction("sort('name')", "f11", "Sort by name (again: reverse)", show=False),
    KeyAction("sort('expiry')", "f12", "Sort by expiry (again: reverse)", show=False),
    # Administrators get it in the command palette from the app (others are told why not).
    KeyAction(
        "app.configuration", "ctrl+o", "Configuration", show=False, priority=True, palette=False
    ),
    KeyAction("escape", "escape", "Clear search", show=False, palette=False),
)

# Keys of the search box (active while it has the focus).
SEARCH_BOX = (KeyAction("screen.to_results", "down", "To the results", show=False, palette=False),)

# Keys of the results table (active while it has the focus). No printable key: a letter typed
# in the list goes to the search box ("maya" typed there deactivated a user: a, then y).
RESULTS = (
    KeyAction("screen.open_user", "enter", "Open"),
    KeyAction("screen.toggle_active", "ctrl+t", "Activate/deactivate"),
    KeyAction("screen.delete_user", "delete", "Delete"),
)

DIALOG = (KeyAction("cancel", "escape", "Cancel", palette=False),)

# Register New User (screens/register_user.py): the scan box keeps the focus after a look-up;
# only Down (or Tab) into the matches, then Enter, opens one.
REGISTER_USER = (
    KeyAction("register_anyway", "ctrl+n", "Register a new user anyway", priority=True),
    KeyAction("cancel", "escape", "Back to Find Users", palette=False),
)
SCAN_BOX = (KeyAction("screen.to_matches", "down", "To the matches", show=False, palette=False),)
REGISTER_MATCHES = (
    KeyAction("up_or_box", "up", "Up; from the first match, the box", show=False, palette=False),
)

CONFIGURATION = (
    KeyAction("add", "n,insert", "Add"),
    KeyAction("edit", "e", "Edit"),
    KeyAction("toggle_active", "space", "Active on/off"),
    KeyAction("delete", "delete", "Delete"),
    KeyAction("back", "escape", "Back", palette=False),
)

FORM = (
    KeyAction("save", "ctrl+s", "Save", priority=True),
    KeyAction("cancel", "escape", "Cancel", palette=False),
)


# The Fines/fees table of User Details (screens/user_details/fees.py): they act on the fee under
# the cursor, so they are not offered in the palette.
FEES = (
    KeyAction("fee('add')", "n,insert", "Add fee", palette=False),
    KeyAction("fee('pay')", "p", "Pay", palette=False),
    KeyAction("fee('waive')", "w", "Waive", palette=False),
    KeyAction("fee('waive_all')", "W", "Waive all (up to the limit)", show=False, palette=False),
    KeyAction("fee('dispute')", "d", "Dispute", palette=False),
    KeyAction("fee('restore')", "r", "Restore a disputed fee", show=False, palette=False),
    KeyAction("fee('link')", "l", "Link to an item", show=False, palette=False),
    KeyAction("fee('mark')", "space", "Mark for waive", show=False, palette=False),
    KeyAction("fee('transactions')", "t", "Transactions", show=False, palette=False),
    KeyAction("fee('status_filter')", "s", "Status filter", show=False, palette=False),
    KeyAction("fee('owner_filter')", "o", "Owner filter", show=False, palette=False),
)

# The deletion dialog (screens/delete_user.py).
DELETE_USER = (
    KeyAction("delete", "y", "Delete (when nothing stands in the way)", palette=False),
    KeyAction("view", "v", "View the user", palette=False),
    KeyAction("waive", "w", "Waive the fees", palette=False),
    KeyAction("notify", "n", "Notify the user (deletion notice)", palette=False),
    KeyAction("cancel", "escape", "Cancel", palette=False),
)


# The purge preview (screens/purge.py), for staff who may run jobs.
PURGE = (
    KeyAction("purge", "p", "Purge now", palette=False),
    KeyAction("cancel", "escape", "Close", palette=False),
)


# Login (screens/login.py) and the forgotten-password screen (screens/forgot_password.py).
LOGIN = (KeyAction("forgot_password", "ctrl+r", "Forgotten password", priority=True),)
FORGOT_PASSWORD = (
    KeyAction("save", "ctrl+s", "Send the code / set the password", priority=True),
    KeyAction("cancel", "escape", "Back to login", palette=False),
)
# My account (screens/my_account.py): the home of a patron-only login.
MY_ACCOUNT = (KeyAction("save", "ctrl+s", "Save (letters, password)", priority=True),)


def bindings(*groups: tuple[KeyAction, ...]) -> list[Binding]:
    return [a.binding() for group in groups for a in group]


QUICK_USER = (
    KeyAction("save", "ctrl+s", "Save", priority=True),
    KeyAction("save_and_open", "ctrl+o", "Save and open", priority=True),
    KeyAction("reuse_person", "ctrl+r", "Reuse a person", priority=True),
    KeyAction("generate_password", "ctrl+g", "Generate password", priority=True),
    KeyAction("generate_pin", "ctrl+t", "Generate PIN", priority=True),
    KeyAction("cancel", "escape", "Cancel", palette=False),
)
