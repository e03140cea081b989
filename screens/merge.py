"""Merging two users (issue 24; `models.users.merge`): the kept account and the merged one,
field by field (those whose values differ) with the value that wins marked ▶, what moves to
the kept account, and every reason the merge would be refused. Space takes the other account's
value of the highlighted field (again: the kept one's); s swaps which account is kept; ctrl+s
merges after a confirmation; Escape cancels. Each change of a choice asks the preview again (a
rolled-back trial of the merge), so a value the checks refuse is said before the merge is
asked for.

Opened with two account ids (the Duplicates screen, a pair), or with the kept one only (Find
Users' "Merge with…"): a box then asks for the other's identifier. Every read and write runs in
`tui.worker.run_service`. Dismisses the kept account's id after a merge, None otherwise."""

from __future__ import annotations

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from models.errors import ConflictError, PatronDeskError, ValidationError
from models.users.merge import (
    KEEP,
    LABELS,
    OTHER,
    FieldChoice,
    MergePreview,
    account_by_identifier,
    merge,
    merge_preview,
)
from screens.after_worker import ClosesAfterWorker
from screens.confirm import ConfirmScreen, CoveredKeys, Dialog
from tui.keys import MERGE, bindings, hint
from tui.table import RowTable
from tui.widgets import LineInput, Message, escape, plain
from tui.worker import run_service

WIN = "▶ "
NOT = "  "
FIELD_WIDTH = 18


class MergeScreen(ClosesAfterWorker, CoveredKeys, Dialog[int | None]):
    BINDINGS = bindings(MERGE)

    def __init__(self, keep_id: int, other_id: int | None = None) -> None:
        super().__init__()
        self.keep_id, self.other_id = keep_id, other_id
        self.preview: MergePreview | None = None
        self.choices: dict[str, str] = {}
        self.rows: list[FieldChoice] = []
        self.busy = False  # the merge is being saved

    def _on_key(self, event: events.Key) -> None:
        if self.typed_too_early(event):
            Dialog._on_key(self, event)
        else:
            CoveredKeys._on_key(self, event)

    def compose(self) -> ComposeResult:
        with Vertical(id="merge-box"):
            yield Static("[b]Merge users[/b]", id="merge-title")
            yield LineInput(
                placeholder="the other user's identifier, then Enter",
                id="merge-with",
            )
            yield Static(self._hint(), id="merge-hint", classes="hint")
            yield RowTable(id="merge-table")
            yield Static("", id="merge-detail", markup=False)
            yield Static("", id="merge-moving", markup=False)
            yield Message(id="merge-message")

    def _hint(self) -> str:
        return (
            f"▶ wins · space take other/keep · {hint(self.app, 'merge.swap')} swap · "
            f"{hint(self.app, 'save')} merge · esc cancel"
        )

    def on_mount(self) -> None:
        table = self.query_one(RowTable)
        self._columns()
        box = self.query_one("#merge-with", Input)
        box.display = self.other_id is None
        if self.other_id is None:
            box.focus()
            self.query_one("#merge-detail", Static).update(
                "Type the identifier of the user to merge into this one; that user goes."
            )
        else:
            table.focus()
        self._load()

    def on_resize(self) -> None:
        self._columns()

    def _columns(self) -> None:
        table = self.query_one(RowTable)
        width = max(self.query_one("#merge-box").content_size.width, 40)
        value = max((width - FIELD_WIDTH - 3) // 2, 8)  # a gap after each column
        table.set_columns([("Field", FIELD_WIDTH), ("Kept", value), ("Merged", value)])
        if self.rows:
            self._fill()

    # --- reading ----------------------------------------------------------------------------------

    @on(Input.Submitted, "#merge-with")
    def _other_given(self, event: Input.Submitted) -> None:
        event.stop()
        actor = self.app.session.actor

        def found(account_id: int) -> None:
            if account_id == self.keep_id:
                self._say("That is the user being kept: give the other user's identifier.")
                return
            self.other_id = account_id
            self.query_one("#merge-with", Input).display = False
            self.query_one(RowTable).focus()
            self._load()

        run_service(self, account_by_identifier, event.value, actor, on_ok=found,
                    on_error=lambda exc: self._say(exc.message), group="merge-find",
                    exclusive=True)  # fmt: skip

    def _load(self) -> None:
        if self.other_id is None:
            return
        actor, keep, other, choices = (
            self.app.session.actor,
            self.keep_id,
            self.other_id,
            dict(self.choices),
        )
        self.query_one("#merge-moving", Static).update("Reading both users…")
        run_service(
            self,
            merge_preview,
            actor,
            keep,
            other,
            choices,
            on_ok=self._show,
            on_error=self._failed,
            group="merge-preview",
            exclusive=True,
        )

    def _failed(self, exc: PatronDeskError) -> None:
        self.preview = None
        self.query_one("#merge-moving", Static).update("")
        self._say(exc.message)

    def _show(self, preview: MergePreview) -> None:
        self.preview = preview
        if not self.choices:
            self.choices = preview.defaults()
        keep, other = preview.keep, preview.other
        self.query_one("#merge-title", Static).update(
            f"[b]Keep {escape(keep.primary_id)} {escape(keep.name)}[/b] · merge "
            f"{escape(other.primary_id)} {escape(other.name)} into it (it goes)"
        )
        # The fields whose values differ: the same value on both sides needs no choice.
        self.rows = [f for f in preview.fields if f.differs]
        self._fill()
        moving = ", ".join(f"{n} {LABELS[k]}" for k, n in preview.moving.items() if n)
        person = "" if preview.person_goes else " Their person stays (an account elsewhere)."
        self.query_one("#merge-moving", Static).update(
            f"Moves to the kept account: {moving or 'nothing'}.{person}"
        )
        problems = [*preview.refusals]
        labels = {f.name: f.label for f in preview.fields}
        problems += [f"{labels.get(n, n)} {m}" for n, m in preview.field_errors.items()]
        if problems:
            self._say("Cannot merge: " + "; ".join(problems))
        else:
            self.query_one("#merge-message", Message).show(
                f"Ready: {hint(self.app, 'save')} merges.", error=False
            )
        self._detail(self.query_one(RowTable).cursor)

    def _fill(self) -> None:
        table = self.query_one(RowTable)
        lines = []
        for f in self.rows:
            other_wins = self.choices.get(f.name) == OTHER
            lines.append(
                (
                    f.label,
                    (NOT if other_wins else WIN) + (f.keep or "—"),
                    (WIN if other_wins else NOT)
                    + (f.other or "—")
                    + (" (fixed)" if f.fixed else ""),
                )
            )
        table.set_rows(lines, min(table.cursor, max(len(lines) - 1, 0)))

    @on(RowTable.Highlighted, "#merge-table")
    def _highlighted(self, event: RowTable.Highlighted) -> None:
        self._detail(event.row)

    def _detail(self, row: int) -> None:
        detail = self.query_one("#merge-detail", Static)
        if not self.rows:
            if self.preview is not None:
                detail.update("Every field has the same value in both accounts.")
            return
        f = self.rows[min(row, len(self.rows) - 1)]
        side = "merged" if self.choices.get(f.name) == OTHER else "kept"
        text = f"{f.label}: kept “{f.keep}”, merged “{f.other}” · the {side} value wins"
        if f.fixed:
            text += f" · the merged value {f.fixed}"
        detail.update(plain(text))

    def _say(self, text: str) -> None:
        self.query_one("#merge-message", Message).show(text)

    # --- choosing ---------------------------------------------------------------------------------

    def action_toggle_winner(self) -> None:
        if self.busy or not self.rows:
            return
        f = self.rows[self.query_one(RowTable).cursor]
        if f.fixed:
            self._say(f"{f.label}: the merged value {f.fixed}.")
            return
        self.choices[f.name] = KEEP if self.choices.get(f.name) == OTHER else OTHER
        self._fill()
        self._load()  # the checks and the counts for the new choice

    def action_swap(self) -> None:
        if self.busy or self.other_id is None:
            return
        self.keep_id, self.other_id = self.other_id, self.keep_id
        self.choices = {}
        self.rows = []
        self._load()

    # --- merging ----------------------------------------------------------------------------------

    def action_merge(self) -> None:
        preview = self.preview
        if self.busy or preview is None:
            return
        if not preview.allowed:
            self._say("Cannot merge yet: see the reasons above.")
            return
        question = (
            f"Merge {preview.other.primary_id} ({preview.other.name}) into "
            f"{preview.keep.primary_id} ({preview.keep.name})? {preview.other.primary_id} "
            "goes; everything of it moves. This cannot be undone."
        )

        def answer(yes: bool | None) -> None:
            if yes:
                self._merge(preview)

        self.app.push_screen(ConfirmScreen(question, yes="Merge"), answer)

    def _merge(self, preview: MergePreview) -> None:
        self.busy = True
        self.query_one("#merge-message", Message).show("Merging…", error=False)
        actor, choices = self.app.session.actor, dict(self.choices)

        def done(result) -> None:  # noqa: ANN001 - a models.users.merge.MergeResult
            self.notify(
                f"Merged {result.other_primary_id} into {result.keep_primary_id}.", timeout=8
            )
            self.dismiss_after_worker("merge-save", result.keep_id)

        def refused(exc: PatronDeskError) -> None:
            self.busy = False
            text = exc.message
            if isinstance(exc, ValidationError):
                labels = {f.name: f.label for f in preview.fields}
                text = "; ".join(f"{labels.get(n, n)} {m}" for n, m in exc.errors.items())
            elif isinstance(exc, ConflictError):
                text += " The preview was read again: check it and merge again."
                self._load()
            self._say(f"Not merged: {text}")

        run_service(self, merge, actor, preview.keep.account_id, preview.other.account_id,
                    choices, preview.keep.version, preview.other.version, on_ok=done,
                    on_error=refused, group="merge-save")  # fmt: skip

    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(None)
