"""A read-only summary of one user's record (Enter on a result). The tabbed User Details screen
builds on it."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from models.errors import PatronDeskError
from models.money import format_money
from models.profile import Profile, load_profile
from tui.keys import DIALOG, bindings


def _lines(p: Profile) -> list[str]:
    status = p.status + (" (expired)" if p.expired else "")
    rows = [
        ("Primary ID", p.primary_id),
        ("Username", p.username),
        ("Record type", f"{p.record_type} · {p.account_type.replace('_', ' ')}"),
        ("Status", status + (" · login locked" if p.locked else "")),
        ("Expires", p.expiry_date.isoformat() if p.expiry_date else "never"),
        ("User group", p.user_group),
        ("Job category", p.job_category),
        ("Birth date", p.birth_date.isoformat() if p.birth_date else ""),
        ("Language", p.language),
        ("Roles", ", ".join(r.replace("_", " ") for r in p.roles)),
        ("Balance", format_money(p.balance_minor, p.currency)),
        ("Loans", f"{p.open_loans} out, {p.overdue_loans} overdue"),
        ("Blocks", ", ".join(p.active_blocks) or "none"),
        ("Notes", str(p.notes)),
    ]
    out = [f"[dim]{k:<13}[/dim]{escape(v)}" for k, v in rows if v]
    for title, items in (("Identifiers", p.identifiers),):
        out.append(f"[b]{title}[/b]")
        out.extend(f"  {escape(kind):<12}{escape(value)}" for kind, value in items)
    for title, items in (("Emails", p.emails), ("Phones", p.phones), ("Addresses", p.addresses)):
        if items:
            out.append(f"[b]{title}[/b]")
            out.extend(
                f"  {escape(kind):<12}{escape(value)}{' ★' if preferred else ''}"
                for kind, value, preferred in items
            )
    out.append(
        f"[dim]Created by {escape(p.created_by)} {p.created_at:%Y-%m-%d %H:%M} · "
        f"updated by {escape(p.updated_by)} {p.updated_at:%Y-%m-%d %H:%M} (UTC)[/dim]"
    )
    return out


class UserSummaryScreen(ModalScreen[None]):
    BINDINGS = [*bindings(DIALOG), ("enter", "cancel", "Close")]

    def __init__(self, account_id: int) -> None:
        super().__init__()
        self.account_id = account_id

    def compose(self) -> ComposeResult:
        try:
            profile = load_profile(self.account_id, self.app.session.actor)
        except PatronDeskError as exc:
            profile, text = None, escape(exc.message)
        with Vertical(id="summary-box"):
            if profile is None:
                yield Static(text, id="summary-error")
                return
            marks = []
            if profile.active_blocks:
                marks.append("[reverse] BLOCKED [/reverse]")
            if profile.balance_minor > 0:
                marks.append(f"owes {format_money(profile.balance_minor, profile.currency)}")
            yield Static(f"[b]{escape(profile.name)}[/b]  " + "  ".join(marks), id="summary-title")
            for note in profile.popup_notes:
                yield Static(f"⚑ {escape(note)}", classes="popup-note")
            with VerticalScroll(id="summary-body"):
                yield Static("\n".join(_lines(profile)), id="summary-text")
            yield Static("Escape or Enter: close", classes="hint")

    def action_cancel(self) -> None:
        self.dismiss(None)
