"""Letters in the app (issue 9): a user's letters (read, resend, write a message, send the
personal-information letter) from User Details, and the outbox for administrators.

A letter is queued at once and delivered by a worker thread, so a slow SMTP server never holds
the screen; what the server said comes back as a notification, and a failed letter waits in the
outbox for `patrondesk letters send` or the outbox's own keys."""

from __future__ import annotations

from textual import on
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Header, Input, Static, TextArea

from models.errors import PatronDeskError, ValidationError
from models.letters import (
    kind_label,
    letter_text,
    letters_of,
    outbox,
    queue_general_message,
    queue_personal_information,
    resend_letter,
    retry_letter,
)
from tui.keys import FORM, LETTERS, OUTBOX, bindings
from tui.screen import KeepStyles
from tui.table import RowTable
from tui.widgets import Field, KeyBar, Message, escape


def deliver_in_background(app: App, letter_id: int, done=None) -> None:  # noqa: ANN001
    """Send one letter from a worker thread; say the outcome; then call `done()` on the UI."""

    def work() -> None:
        from models.mailer import deliver
        from models.tables import Letter

        ok = deliver(letter_id, actor=app.session.actor if app.session else None)
        error = "" if ok else Letter.get_by_id(letter_id).error
        app.call_from_thread(_said, app, ok, error, done)

    app.run_worker(work, thread=True, group="letters", name=f"letter {letter_id}")


def _said(app: App, ok: bool, error: str, done) -> None:  # noqa: ANN001
    if ok:
        app.notify("Letter sent.")
    else:
        app.notify(f"Letter kept in the outbox: {error}", severity="warning", timeout=10)
    if done is not None:
        done()


class ComposeLetterScreen(ModalScreen[int | None]):
    """Write a general message (Alma's "General mail"); dismisses with the queued letter's id."""

    BINDINGS = bindings(FORM)
    AUTO_FOCUS = "#letter-subject"

    def __init__(self, account_id: int, name: str) -> None:
        super().__init__()
        self.account_id, self.user_name = account_id, name

    def compose(self) -> ComposeResult:
        with Vertical(id="letter-form"):
            yield Static(f"[b]Message to {escape(self.user_name)}[/b]")
            yield Field("Subject", Input(id="letter-subject"), required=True)
            yield Field("Message", TextArea(id="letter-message", soft_wrap=True), required=True)
            yield Message(id="letter-form-message")
            with Horizontal(classes="form-buttons"):
                yield Button("Send (ctrl+s)", id="letter-send", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="letter-cancel", compact=True)

    @on(Input.Submitted, "#letter-subject")
    def _next(self) -> None:
        self.query_one("#letter-message", TextArea).focus()

    @on(Button.Pressed, "#letter-send")
    def action_save(self) -> None:
        subject = self.query_one("#letter-subject", Input).value
        text = self.query_one("#letter-message", TextArea).text
        try:
            letter = queue_general_message(self.account_id, subject, text, self.app.session.actor)
        except ValidationError as exc:
            for name in ("subject", "message"):
                self.query_one(f"#field-letter-{name}", Field).set_error(exc.errors.get(name))
            target = "#letter-subject" if "subject" in exc.errors else "#letter-message"
            self.query_one(target).focus()
            return
        except PatronDeskError as exc:
            self.query_one("#letter-form-message", Message).show(exc.message)
            return
        self.dismiss(letter.id)

    @on(Button.Pressed, "#letter-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


COLUMNS = [("Date", 16), ("Letter", 19), ("Status", 6), ("Subject", 20), ("To", 40)]


class UserLettersScreen(ModalScreen[None]):
    """Every letter written to one user, newest first."""

    BINDINGS = bindings(LETTERS)

    def __init__(self, account_id: int, name: str) -> None:
        super().__init__()
        self.account_id, self.user_name = account_id, name
        self.ids: list[int] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="letters-box"):
            yield Static(f"[b]Letters to {escape(self.user_name)}[/b]")
            yield Static(
                "Enter read · m message · i personal information · r resend · Esc close",
                classes="hint",
            )
            yield RowTable(id="letters-table")

    def on_mount(self) -> None:
        table = self.query_one(RowTable)
        table.set_columns(COLUMNS)
        self.reload()
        table.focus()

    def reload(self) -> None:
        try:
            lines = letters_of(self.account_id, self.app.session.actor)
        except PatronDeskError as exc:
            self.notify(exc.message, severity="error")
            return
        self.ids = [line.letter_id for line in lines]
        self.query_one(RowTable).set_rows(
            [
                (
                    f"{line.created_at:%Y-%m-%d %H:%M}",
                    kind_label(line.kind),
                    line.status,
                    line.subject,
                    line.recipients,
                )
                for line in lines
            ],
            self.query_one(RowTable).cursor,
        )

    def _selected(self) -> int | None:
        if not self.ids:
            self.notify("No letter yet.", severity="warning")
            return None
        return self.ids[self.query_one(RowTable).cursor]

    @on(RowTable.Selected)
    def action_read(self) -> None:
        from screens.confirm import InfoScreen

        letter_id = self._selected()
        if letter_id is not None:
            text = letter_text(letter_id, self.app.session.actor)
            self.app.push_screen(InfoScreen("Letter", text))

    def _queued(self, letter_id: int | None) -> None:
        if letter_id is None:
            return
        self.reload()
        deliver_in_background(self.app, letter_id, self._delivered)

    def _delivered(self) -> None:
        if self.is_attached:
            self.reload()

    def action_message(self) -> None:
        self.app.push_screen(ComposeLetterScreen(self.account_id, self.user_name), self._queued)

    def action_personal(self) -> None:
        from screens.confirm import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self._act(lambda: queue_personal_information(self.account_id, self.actor))

        self.app.push_screen(
            ConfirmScreen(
                "Send the user everything held about them (JSON and XML attached)?", yes="Send"
            ),
            answer,
        )

    def action_resend(self) -> None:
        letter_id = self._selected()
        if letter_id is not None:
            self._act(lambda: resend_letter(letter_id, self.actor))

    def _act(self, queue) -> None:  # noqa: ANN001
        try:
            letter = queue()
        except PatronDeskError as exc:
            self.notify(exc.message, severity="error", timeout=8)
            return
        self._queued(letter.id)

    @property
    def actor(self):  # noqa: ANN201
        return self.app.session.actor

    def action_close(self) -> None:
        self.dismiss(None)


OUTBOX_COLUMNS = [("Created", 16), ("User", 22), ("Letter", 14), ("Status", 7), ("Tries", 5),
                  ("Error", 40)]  # fmt: skip


class OutboxScreen(KeepStyles, Screen[None]):
    """The letters waiting for delivery (or every letter), for administrators."""

    BINDINGS = bindings(OUTBOX)

    def __init__(self) -> None:
        super().__init__()
        self.pending_only = True
        self.ids: list[int] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="outbox-title")
        yield RowTable(id="outbox-table")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(RowTable).set_columns(OUTBOX_COLUMNS)
        self.reload()
        self.query_one(RowTable).focus()

    def reload(self) -> None:
        try:
            lines = outbox(self.app.session.actor, pending_only=self.pending_only)
        except PatronDeskError as exc:
            self.notify(exc.message, severity="error")
            return
        self.ids = [line.letter_id for line in lines]
        what = "waiting for delivery" if self.pending_only else "latest first"
        self.query_one("#outbox-title", Static).update(
            f"[b]Outbox[/b] · {len(lines)} letter(s) {what} · s send now · r retry · a all"
        )
        self.query_one(RowTable).set_rows(
            [
                (
                    f"{line.created_at:%Y-%m-%d %H:%M}",
                    line.user,
                    kind_label(line.kind),
                    line.status,
                    str(line.attempts),
                    line.error,
                )  # fmt: skip
                for line in lines
            ],
            self.query_one(RowTable).cursor,
        )

    def action_toggle_all(self) -> None:
        self.pending_only = not self.pending_only
        self.reload()

    @on(RowTable.Selected)
    def action_read(self) -> None:
        from screens.confirm import InfoScreen

        if self.ids:
            letter_id = self.ids[self.query_one(RowTable).cursor]
            self.app.push_screen(InfoScreen("Letter", letter_text(letter_id, self.actor)))

    @property
    def actor(self):  # noqa: ANN201
        return self.app.session.actor

    def action_retry(self) -> None:
        if not self.ids:
            return
        letter_id = self.ids[self.query_one(RowTable).cursor]
        try:
            retry_letter(letter_id, self.actor)
        except PatronDeskError as exc:
            self.notify(exc.message, severity="error", timeout=8)
            return
        deliver_in_background(self.app, letter_id, self._after)

    def action_send_all(self) -> None:
        app = self.app

        def work() -> None:
            from models.mailer import send_pending

            report = send_pending()
            app.call_from_thread(self._sent, report.sent, report.failed)

        self.notify("Sending…")
        app.run_worker(work, thread=True, group="letters", name="outbox")

    def _sent(self, sent: int, failed: int) -> None:
        severity = "warning" if failed else "information"
        self.notify(f"Sent {sent} letter(s); {failed} failed.", severity=severity)
        self._after()

    def _after(self) -> None:
        if self.is_attached:
            self.reload()

    def action_back(self) -> None:
        self.dismiss(None)
