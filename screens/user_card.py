"""The user-information card (issue 22, item 12; Esploro's hover card, on a key): Find and Manage
Users shows who the highlighted user is without opening the record. Enter opens the record,
Escape closes the card.

The card is read by `models.users.card.user_card` in a worker before this dialog opens (Find
Users calls it through `tui.worker.run_service`); this screen only lays it out. Every stored
text goes through `tui.widgets.plain` (controls, bidi and invisible characters shown as marks,
no markup read). Each line is a label and its value; a long value wraps under itself, so
nothing is cut at 60 columns, and the body scrolls (Up/Down) when the terminal is too low.
The person's photo, when they have one, is beside the name (`tui.photo`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from models.users.card import Stamp, UserCard
from screens.confirm import Dialog
from tui.keys import USER_CARD, bindings, hint, key_label
from tui.photo import PhotoView
from tui.widgets import plain

ACCOUNT_TYPES = {
    "internal": "internal account",
    "external": "external account",
    "internal_external_auth": "internal account, external login",
}
LABEL_WIDTH = 12  # "Identifiers" and a space


def _stamp(stamp: Stamp) -> str:
    through = f" ({stamp.source})" if stamp.source else ""
    return f"{stamp.at:%Y-%m-%d %H:%M} UTC by {stamp.by}{through}"


def _status(card: UserCard) -> str:
    status = card.status.capitalize()
    if card.expiry_date is None:
        return f"{status} · no expiration date"
    verb = "expired" if card.expired else "expires"
    return f"{status} · {verb} {card.expiry_date.isoformat()}"


def _kinds(kind: str, preferred: bool) -> str:
    said = [k for k in (kind, "preferred" if preferred else "") if k]
    return f" ({', '.join(said)})" if said else ""


def card_lines(card: UserCard) -> list[tuple[str, str]]:
    """(label, value) of each line of the card, values as stored (`plain` draws them)."""
    record = card.record_type.capitalize()
    account = ACCOUNT_TYPES.get(card.account_type, card.account_type.replace("_", " "))
    job = " — ".join(v for v in (card.job_category, card.job_description) if v)
    lines = [
        ("Record", f"{record} · {account}"),
        ("Status", _status(card)),
        ("User group", card.user_group or "none"),
    ]
    if card.title:
        lines.append(("Title", card.title))
    lines += [
        ("Job", job or "none"),
        ("Created", _stamp(card.created)),
        ("Updated", _stamp(card.updated)),
        ("Identifiers", "\n".join(f"{value} ({kind})" for kind, value in card.identifiers)),
        ("Emails", "\n".join(f"{a}{_kinds(t, p)}" for t, a, p in card.emails) or "none"),
        ("Phones", "\n".join(f"{n}{_kinds(t, p)}" for t, n, p in card.phones) or "none"),
        ("Address", f"{card.address[1]} ({card.address[0]})" if card.address else "none"),
    ]
    return lines


class UserCardScreen(Dialog[bool]):
    """Dismisses True to open the record (Enter), False to go back to the list (Escape)."""

    BINDINGS = bindings(USER_CARD)

    def __init__(self, card: UserCard) -> None:
        super().__init__()
        self.card = card

    def compose(self) -> ComposeResult:
        card = self.card
        with Vertical(id="card-box"):
            with Horizontal(id="card-top"):
                photo = PhotoView(id="card-photo")
                photo.show(card.photo)
                yield photo
                yield Static(plain(f"{card.name} · {card.primary_id}"), id="card-title")
            with VerticalScroll(id="card-body"):
                for label, value in card_lines(card):
                    with Horizontal(classes="card-line"):
                        yield Static(label, classes="card-label", markup=False)
                        yield Static(plain(value), classes="card-value", markup=False)
            opens, closes = (key_label(hint(self.app, k)).capitalize() for k in ("open", "cancel"))
            yield Static(
                plain(f"{opens}: open the record · {closes}: close"),
                id="card-hint",
                markup=False,
            )

    def on_mount(self) -> None:
        self.query_one("#card-body", VerticalScroll).focus()

    def action_open_record(self) -> None:
        self.dismiss(True)

    def action_close_card(self) -> None:
        self.dismiss(False)
