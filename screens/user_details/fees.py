"""The Fines/fees tab (accounts with the Patron role): the summary, the fees with a status and an
owner filter, and the actions on them, each a modal form whose refusals show at the field.

The rules and the money are in `models.fees.fees`; this pane only reads and calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Select, Static

from models.config.codes import code_options, library_options
from models.fees.fees import (
    FEE_ACTIONS,
    INSTITUTION,
    PAY_METHODS,
    FeeRow,
    FeeView,
    add_fee,
    dispute_fee,
    fee_transactions,
    fee_view,
    link_item,
    manual_fee_types,
    pay_fee,
    restore_fee,
    waive_all,
    waive_fee,
    waive_fees,
)
from models.fees.money import format_money, to_decimal
from models.text import plural
from screens.user_details.context import RecordContext
from screens.user_details.fields import FormField, RowKind
from screens.user_details.row_form import RowFormScreen
from tui.keys import FEES, bindings
from tui.table import RowTable
from tui.widgets import escape
from tui.worker import run_service

STATUS_CHOICES = [
    ("Active", "active"),
    ("Disputed", "disputed"),
    ("Waived", "waived"),
    ("Transferred", "transferred"),
    ("Closed (paid)", "closed"),
    ("All statuses", "all"),
]
ANY_OWNER = "*"
# (label, key, width; None: shares what is left). The optional columns are added in the order of
# OPTIONAL while they fit; the detail line under the table shows them for the cursor's fee. The
# amounts are never cut: at 60 columns "30.00" showed as "30…".
COLUMNS = (
    ("", "mark", 1),
    ("Created", "created", 10),
    ("Type", "type", None),
    ("Status", "status", 9),
    ("Status date", "status_date", 11),
    ("Comment", "comment", None),
    ("Owner", "owner", 12),
    ("Title", "title", None),
    ("Barcode", "barcode", 12),
    ("Original", "original", 10),
    ("Balance", "balance", 10),
)
OPTIONAL = ("created", "title", "barcode", "status_date", "owner", "comment")
AMOUNTS = ("original", "balance")
FLEX_MIN = {"type": 10, "title": 10, "comment": 12}
TYPE_WIDTH = 14  # the type grows to this first; what is left goes to the title and comment


def layout(width: int, amount_width: int = 10) -> list[tuple[str, str, int]]:
    """The columns that fit `width` cells, as (label, key, width). `amount_width`: the cells
    the longest amount needs (at least 10)."""
    budget = width - 3  # the scroll mark and a margin
    fixed = {key: (amount_width if key in AMOUNTS else w) for _, key, w in COLUMNS if w}
    keep = {key for _, key, _ in COLUMNS if key not in OPTIONAL}

    def need(keys: set[str]) -> int:
        return sum((fixed.get(k) or FLEX_MIN[k]) + 1 for _, k, _ in COLUMNS if k in keys)

    for key in OPTIONAL:
        if need(keep | {key}) <= budget:
            keep.add(key)
    spare = max(budget - need(keep), 0)
    widths = {**fixed, **{k: FLEX_MIN[k] for k in FLEX_MIN if k in keep}}
    grow = min(spare, TYPE_WIDTH - FLEX_MIN["type"])
    widths["type"] += grow
    spare -= grow
    flex = [k for _, k, w in COLUMNS if w is None and k in keep and k != "type"] or ["type"]
    for k in flex:
        widths[k] += spare // len(flex)
    widths[flex[0]] += spare % len(flex)
    return [(label, key, widths[key]) for label, key, _ in COLUMNS if key in keep]


HINTS = (
    ("add", "n add"),
    ("pay", "p pay"),
    ("waive", "w waive (Space marks several)"),
    ("waive_all", "W waive all"),
    ("dispute", "d dispute"),
    ("restore", "r restore"),
    ("link", "l link to an item"),
    ("transactions", "t transactions"),
    ("status_filter", "s status filter"),
    ("owner_filter", "o owner filter"),
)


class FeesTable(RowTable):
    """The fees; its keys act on the fee under the cursor (or the marked ones)."""

    BINDINGS = bindings(FEES)

    def _pane(self) -> FeesPane:
        return next(a for a in self.ancestors if isinstance(a, FeesPane))

    def action_fee(self, name: str) -> None:
        getattr(self._pane(), f"action_{name}")()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A fee action the session may not take on this user is not offered (its key
        hidden, the form never opened): a desk role filled a fee form in, to be refused."""
        if action == "fee" and parameters:
            return self._pane().may(str(parameters[0]))
        return True


class FeesPane(Vertical):
    """Posts `Changed` after every saved action (the header shows the balance)."""

    class Changed(Message):
        pass

    def __init__(self, ctx: RecordContext) -> None:
        super().__init__(id="pane-fees")
        self.ctx = ctx
        self.status = "active"
        self.owner: str | None = None
        self.view: FeeView | None = None
        self.marked: set[int] = set()
        self.columns = layout(80)
        self.libraries: list[tuple[str, str]] | None = None  # the owner filter's, once read

    def compose(self) -> ComposeResult:
        yield Static("Loading the fees…", id="fees-summary")
        with Horizontal(id="fees-filters"):
            yield Select(STATUS_CHOICES, value="active", allow_blank=False, id="fees-status",
                         compact=True)  # fmt: skip
            # The libraries come with the first reading of the fees (`reload`).
            yield Select(self._owners(), value=ANY_OWNER, allow_blank=False, id="fees-owner",
                         compact=True)  # fmt: skip
        # Every key at first; once the fees are read, those the session may use (`_hint`).
        yield Static(self._hint_text(), classes="hint", id="fees-hint")
        yield FeesTable(id="fees-table")
        yield Static("", id="fees-detail")

    def on_mount(self) -> None:
        self.reload()

    def may(self, name: str) -> bool:
        """Whether the fee action `name` is the session's to take (`FeeView.may`): before
        the fees are read, no action is offered."""
        if name not in FEE_ACTIONS:
            return True
        return self.view is not None and name in self.view.may

    def _hint_text(self) -> str:
        """The tab's keys, those the session may use once the fees are read, on two lines."""
        shown = [t for name, t in HINTS if self.view is None or self.may(name)] + ["F1 keys"]
        return "\n".join("  ".join(line) for line in (shown[:6], shown[6:]) if line)

    def _hint(self) -> None:
        self.query_one("#fees-hint", Static).update(self._hint_text())

    def on_resize(self) -> None:
        # The two lines of keys take four under 80 columns, and the fees few: F1 lists them.
        self.query_one("#fees-hint").display = self.size.width >= 80
        self._lay_out()
        self._show_rows(self.query_one(FeesTable).cursor)

    def _lay_out(self) -> None:
        longest = max(
            (len(self._amount(m)) for r in (self.view.rows if self.view else [])
             for m in (r.original_minor, r.balance_minor)),
            default=0,
        )  # fmt: skip
        self.columns = layout(self.size.width or 80, max(10, longest))
        self.query_one(FeesTable).set_columns([(label, w) for label, _, w in self.columns])

    def _amount(self, minor: int) -> str:
        return f"{to_decimal(minor, self.view.currency):,}"

    # --- reading --------------------------------------------------------------------------------

    def _owners(self) -> list[tuple[str, str]]:
        return [("All owners", ANY_OWNER), ("Institution", INSTITUTION), *(self.libraries or [])]

    def reload(self, cursor: int | None = None) -> None:
        """Read the fees in a worker (the newest reading wins) and show them; the cursor stays
        where it is, or goes to `cursor`."""
        ctx, status, owner = self.ctx, self.status, self.owner
        libraries = self.libraries is None

        def read() -> tuple[FeeView, list[tuple[str, str]] | None]:
            view = fee_view(ctx.account_id, ctx.actor, status=status, owner=owner)
            return view, library_options(ctx.organization_id) if libraries else None

        run_service(
            self,
            read,
            on_ok=lambda answer: self._read(*answer, cursor),
            on_error=lambda exc: self.query_one("#fees-summary", Static).update(
                escape(exc.message)
            ),
            group="fees-read",
            exclusive=True,
        )

    def _read(
        self, view: FeeView, libraries: list[tuple[str, str]] | None, cursor: int | None
    ) -> None:
        table = self.query_one(FeesTable)
        keep = table.cursor if cursor is None else cursor
        if libraries is not None and self.libraries is None:
            self.libraries = libraries
            if libraries:
                self.query_one("#fees-owner", Select).set_options(self._owners())
        self.view = view
        self.query_one(FeesTable).refresh_bindings()  # the keys the session may use
        self._hint()
        shown = {r.fee_id for r in self.view.rows}
        self.marked &= shown
        self.query_one("#fees-summary", Static).update(self._summary())
        self._lay_out()
        self._show_rows(keep)

    def _summary(self) -> str:
        v = self.view
        m = v.money
        limit = ""
        if v.debt_limit_reached:
            limit = f"  [reverse] DEBT LIMIT {m(v.debt_limit_minor)} REACHED [/reverse]"
        marked = f" · {len(self.marked)} marked" if self.marked else ""
        return (
            f"Active balance [b]{m(v.active_minor)}[/b] · filtered {m(v.filtered_minor)} · "
            f"disputed {m(v.disputed_minor)}\n"
            f"Filtered disputed {m(v.filtered_disputed_minor)} · "
            f"transferred {m(v.transferred_minor)} · accrued fines {m(v.accrued_minor)}"
            f"{marked}{limit}"
        )

    def _cells(self, row: FeeRow) -> tuple[str, ...]:
        amount = self._amount
        values = {
            "mark": "✓" if row.fee_id in self.marked else "",
            "created": f"{row.created_at:%Y-%m-%d}",
            "type": row.fee_type,
            "status": row.status,
            "status_date": f"{row.status_date:%Y-%m-%d}",
            "comment": row.comment,
            "owner": row.owner,
            "title": row.title,
            "barcode": row.item_barcode,
            "original": amount(row.original_minor),
            "balance": amount(row.balance_minor),
        }
        return tuple(
            values[key].rjust(width) if key in AMOUNTS else values[key]
            for _, key, width in self.columns
        )

    def _show_rows(self, cursor: int = 0) -> None:
        if self.view is None:
            return
        table = self.query_one(FeesTable)
        table.set_rows([self._cells(r) for r in self.view.rows], cursor)
        self._detail()

    def _detail(self) -> None:
        row = self.current(quiet=True)
        text = ""
        if row is not None:
            parts = [f"{row.fee_type}", f"status {row.status} since {row.status_date:%Y-%m-%d}",
                     f"owner {row.owner}"]  # fmt: skip
            if row.item_barcode:
                parts.append(f"item {row.item_barcode}")
            if row.comment:
                parts.append(f"“{row.comment}”")
            text = " · ".join(parts)
        elif self.view is not None:
            text = "No fines or fees."
            if self.status != "all" or self.owner is not None:
                text = "No fees with this filter: s changes the status shown, o the owner."
        self.query_one("#fees-detail", Static).update(escape(text))

    @on(RowTable.Highlighted, "#fees-table")
    def _moved(self) -> None:
        self._detail()

    @on(RowTable.Selected, "#fees-table")
    def _selected(self) -> None:
        self.action_transactions()

    @on(Select.Changed, "#fees-status")
    def _status(self, event: Select.Changed) -> None:
        if event.value != self.status:
            self.status = str(event.value)
            self.reload(0)
        self._back_to_table(event.select)

    @on(Select.Changed, "#fees-owner")
    def _owner(self, event: Select.Changed) -> None:
        owner = None if event.value == ANY_OWNER else str(event.value)
        if owner != self.owner:
            self.owner = owner
            self.reload(0)
        self._back_to_table(event.select)

    def _back_to_table(self, select: Select) -> None:
        """After a choice made in a filter, the table's keys work again. Only then: focusing a
        widget of a hidden tab would switch the tabs."""
        if select.has_focus:
            self.query_one(FeesTable).focus()

    def _open_filter(self, selector: str) -> None:
        select = self.query_one(selector, Select)
        select.focus()
        select.action_show_overlay()

    def action_status_filter(self) -> None:
        self._open_filter("#fees-status")

    def action_owner_filter(self) -> None:
        self._open_filter("#fees-owner")

    def current(self, *, quiet: bool = False) -> FeeRow | None:
        table = self.query_one(FeesTable)
        if self.view is None or not self.view.rows:
            if not quiet:
                self.app.notify("No fee to act on with this filter.", severity="warning")
            return None
        return self.view.rows[min(table.cursor, len(self.view.rows) - 1)]

    def money(self, minor: int) -> str:
        return format_money(minor, self.view.currency if self.view else "EUR")

    # --- forms ----------------------------------------------------------------------------------

    def _form(self, title: str, fields: tuple[FormField, ...], values: dict[str, Any],
              save: Callable[[dict[str, Any]], Any],
              saved: Callable[[Any], None] | None = None) -> None:  # fmt: skip
        """A fee form: `save(values)` runs in the form's worker (services only), `saved(its
        answer)` on the UI thread before the form closes."""
        spec = RowKind("fee", title, (), fields)

        def done(ok: bool | None) -> None:
            if ok:
                self.reload()
                self.post_message(self.Changed())

        form = RowFormScreen(spec, title, values, self.ctx.organization_id, save, saved=saved)
        self.app.push_screen(form, done)

    @staticmethod
    def _reasons(organization_id: int) -> list[tuple[str, str]]:
        return code_options("waive_reason", organization_id)  # the form reads it in its worker

    def action_add(self) -> None:
        currency = self.view.currency if self.view else ""
        fields = (
            FormField("fee_type", "Type", "choice", manual_fee_types),
            FormField("owner", "Owner", "choice",
                      lambda org: [("Institution (every library)", ""), *library_options(org)]),
            FormField("amount", f"Amount ({currency}); a credit is typed positive"),
            FormField("item_barcode", "Item barcode (optional)"),
            FormField("comment", "Comment (required for a credit)"),
        )  # fmt: skip
        ctx = self.ctx

        def save(d: dict[str, Any]) -> None:
            add_fee(ctx.account_id, ctx.actor, fee_type=d["fee_type"], amount=d["amount"],
                    owner=d["owner"] or None, item_barcode=d["item_barcode"],
                    comment=d["comment"])  # fmt: skip

        self._form("Add a fine or fee", fields, {}, save)

    def action_pay(self) -> None:
        row = self.current()
        if row is None:
            return
        fields = (
            FormField("amount", "Amount (empty: the whole balance)"),
            FormField("method", "Method", "choice",
                      lambda _org: [(m.capitalize(), m) for m in PAY_METHODS]),
            FormField("comment", "Comment"),
        )  # fmt: skip
        actor = self.ctx.actor

        def save(d: dict[str, Any]) -> None:
            pay_fee(row.fee_id, actor, amount=d["amount"], method=d["method"],
                    comment=d["comment"])  # fmt: skip

        values = {"amount": self._plain(row.balance_minor), "method": "cash"}
        self._form(f"Pay: {row.fee_type}, balance {self.money(row.balance_minor)}", fields,
                   values, save)  # fmt: skip

    def _plain(self, minor: int) -> str:
        return str(to_decimal(abs(minor), self.view.currency))

    def action_waive(self) -> None:
        actor = self.ctx.actor
        if self.marked:
            ids = [r.fee_id for r in self.view.rows if r.fee_id in self.marked]
            total = sum(r.balance_minor for r in self.view.rows if r.fee_id in self.marked)
            fields = (FormField("reason", "Reason", "choice", self._reasons),
                      FormField("comment", "Comment"))  # fmt: skip

            def save_many(d: dict[str, Any]) -> None:
                waive_fees(ids, actor, reason=d["reason"], comment=d["comment"])

            what = "the marked fee" if len(ids) == 1 else f"{len(ids)} marked fees"
            self._form(f"Waive {what} in full: {self.money(total)}", fields, {},
                       save_many, lambda _: self.marked.clear())  # fmt: skip
            return
        row = self.current()
        if row is None:
            return
        fields = (
            FormField("amount", "Amount (empty: the whole balance)"),
            FormField("reason", "Reason", "choice", self._reasons),
            FormField("comment", "Comment"),
        )

        def save(d: dict[str, Any]) -> None:
            waive_fee(row.fee_id, actor, amount=d["amount"], reason=d["reason"],
                      comment=d["comment"])  # fmt: skip

        self._form(f"Waive: {row.fee_type}, balance {self.money(row.balance_minor)}", fields,
                   {"amount": self._plain(row.balance_minor)}, save)  # fmt: skip

    def action_waive_all(self) -> None:
        ctx = self.ctx
        fields = (FormField("reason", "Reason", "choice", self._reasons),
                  FormField("comment", "Comment"))  # fmt: skip

        def save(d: dict[str, Any]) -> Any:
            return waive_all(ctx.account_id, ctx.actor, reason=d["reason"], comment=d["comment"])

        def saved(result: Any) -> None:
            said = f"Waived {plural(result.waived, 'fee')}: {self.money(result.amount_minor)}."
            if result.left:
                said += f" {result.left} more: waive all again (the limit per action)."
            if result.skipped:
                said += f" {plural(result.skipped, 'fee')} not waivable by you kept."
            self.app.notify(said)

        self._form("Waive all fees in full (up to the waive limit)", fields, {}, save, saved)

    def action_dispute(self) -> None:
        row = self.current()
        if row is None:
            return
        actor = self.ctx.actor
        self._form(
            f"Dispute: {row.fee_type}, balance {self.money(row.balance_minor)}",
            (FormField("comment", "What does the user dispute?"),),
            {},
            lambda d: dispute_fee(row.fee_id, actor, comment=d["comment"]),
        )

    def action_restore(self) -> None:
        row = self.current()
        if row is None:
            return
        actor = self.ctx.actor
        self._form(
            f"Restore: {row.fee_type}, balance {self.money(row.balance_minor)}",
            (FormField("comment", "Comment"),),
            {},
            lambda d: restore_fee(row.fee_id, actor, comment=d["comment"]),
        )

    def action_link(self) -> None:
        row = self.current()
        if row is None:
            return
        actor = self.ctx.actor
        self._form(
            f"Link to an item: {row.fee_type}",
            (FormField("item_barcode", "Item barcode (empty: unlink)"),),
            {"item_barcode": row.item_barcode},
            lambda d: link_item(row.fee_id, actor, item_barcode=d["item_barcode"]),
        )

    def action_mark(self) -> None:
        row = self.current()
        if row is None:
            return
        self.marked ^= {row.fee_id}
        table = self.query_one(FeesTable)
        self.query_one("#fees-summary", Static).update(self._summary())
        self._show_rows(min(table.cursor + 1, len(self.view.rows) - 1))

    def action_transactions(self) -> None:
        row = self.current()
        if row is None:
            return
        run_service(
            self,
            fee_transactions,
            row.fee_id,
            self.ctx.actor,
            on_ok=lambda rows: self._transactions(row, rows),
            on_error=lambda exc: self.app.notify(exc.message, severity="error"),
            group="fees-transactions",
            exclusive=True,
        )

    def _transactions(self, row: FeeRow, rows: list) -> None:
        from screens.confirm import InfoScreen

        lines = []
        for t in rows:
            amount = self.money(abs(t.amount_minor)) if t.amount_minor else ""
            extra = " · ".join(p for p in (t.method, t.reason, t.comment) if p)
            lines.append(f"{t.at:%Y-%m-%d %H:%M}  {t.action:<8} {amount:>14}  {t.actor}  {extra}")
        title = (
            f"{row.fee_type}: {self.money(row.original_minor)}, now {self.money(row.balance_minor)}"
        )
        self.app.push_screen(InfoScreen(title, "\n".join(lines) or "No transactions."))
