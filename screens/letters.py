"""Letters in the app (issue 9): a user's letters (read, resend, write a message, send the
personal-information letter) from User Details, and the outbox for administrators.

A letter is queued at once and delivered by a worker thread, so a slow SMTP server never holds
the screen; what the server said comes back as a notification, and a failed letter waits in the
outbox for `patrondesk letters send` or the outbox's own keys. Every read and every letter
queued runs off the UI thread too (`tui.worker.run_service`)."""

from __future__ import annotations

from textual import on
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Header, Input, Static, TextArea

from models.errors import PatronDeskError, ValidationError
from models.mail.letters import (
    kind_label,
    letter_text,
    letters_of,
    outbox,
    queue_general_message,
    queue_personal_information,
    resend_letter,
    retry_letter,
)
from models.text import plural
from screens.after_worker import ClosesAfterWorker
from screens.confirm import CoveredKeys, ask_to_discard
from tui.keys import FORM, LETTERS, OUTBOX, bindings
from tui.screen import KeepStyles
from tui.table import RowTable
from tui.widgets import Field, KeyBar, Message, escape
from tui.worker import run_service


def deliver_in_background(app: App, letter_id: int, done=None) -> None:  # noqa: ANN001
    """Send one letter from a worker thread; say the outcome; then call `done()` on the UI."""
    actor = app.session.actor if app.session else None

    from models.mail.mailer import deliver_now

    run_service(
        app,
        deliver_now,
        letter_id,
        actor,
        on_ok=lambda answer: _said(app, *answer, done),
        group="letters",
    )


def _said(app: App, ok: bool, error: str, done) -> None:  # noqa: ANN001
    if ok:
        app.notify("Letter sent.")
    else:
        app.notify(f"Letter kept in the outbox: {error}", severity="warning", timeout=10)
    if done is not None:
        done()


class ComposeLetterScreen(ClosesAfterWorker, CoveredKeys, ModalScreen[int | None]):
    """Write a general message (Alma's "General mail"); dismisses with the queued letter's id.
    What was typed is not dropped unasked (Escape, ctrl+q, ctrl+l: `unsaved_changes`)."""

    BINDINGS = bindings(FORM)
    AUTO_FOCUS = "#letter-subject"

    def __init__(self, account_id: int, name: str) -> None:
        super().__init__()
        self.account_id, self.user_name = account_id, name
        self.saving = False
        self.queued = False  # the letter is queued: nothing left to lose

    @property
    def accepting_keys(self) -> bool:
        return not self.saving  # keys typed while the letter is queued wait for the answer

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
        """Queue the letter in a worker: the form is disabled and says "Saving…" meanwhile;
        a refusal keeps what was typed, with the messages under the fields."""
        if self.saving:
            return
        subject = self.query_one("#letter-subject", Input).value
        text = self.query_one("#letter-message", TextArea).text
        self._set_saving(True)
        run_service(
            self,
            queue_general_message,
            self.account_id,
            subject,
            text,
            self.app.session.actor,
            on_ok=self._letter_queued,
            on_error=self._refused,
            group="letter-save",
        )

    def _letter_queued(self, letter) -> None:  # noqa: ANN001 - a Letter
        self.queued = True
        self.dismiss_after_worker("letter-save", letter.id)

    def _set_saving(self, saving: bool) -> None:
        self.saving = saving
        message = self.query_one("#letter-form-message", Message)
        if saving:
            message.show("Saving…", error=False)
        else:
            message.clear()
        self.query_one("#letter-form").disabled = saving

    def _refused(self, exc: PatronDeskError) -> None:
        self._set_saving(False)
        if isinstance(exc, ValidationError):
            for name in ("subject", "message"):
                self.query_one(f"#field-letter-{name}", Field).set_error(exc.errors.get(name))
            target = "#letter-subject" if "subject" in exc.errors else "#letter-message"
            self.query_one(target).focus()
            return
        self.query_one("#letter-form-message", Message).show(exc.message)
        self.query_one("#letter-subject").focus()

    def unsaved_changes(self) -> str | None:
        """What quitting or logging out now would lose (the app asks first), or None."""
        if self.queued:
            return None
        subject = self.query_one("#letter-subject", Input).value
        text = self.query_one("#letter-message", TextArea).text
        if not subject.strip() and not text.strip():
            return None
        return f"The message to {self.user_name} is written but not sent."

    @on(Button.Pressed, "#letter-cancel")
    def action_cancel(self) -> None:
        if not self.saving:  # the answer of the letter being queued closes the form
            ask_to_discard(self, lambda: self.dismiss(None))


COLUMNS = [("Date", 16), ("Letter", 19), ("Status", 6), ("Subject", 20), ("To", 40)]


class UserLettersScreen(CoveredKeys, ModalScreen[None]):
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
        """Read the letters in a worker (the newest reading wins), then show them."""
        run_service(
            self,
            letters_of,
            self.account_id,
            self.app.session.actor,
            on_ok=self._show,
            on_error=self._failed,
            group="letters-read",
            exclusive=True,
        )

    def _failed(self, exc: PatronDeskError) -> None:
        self.notify(exc.message, severity="error", timeout=8)

    def _show(self, lines: list) -> None:
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
            run_service(
                self,
                letter_text,
                letter_id,
                self.actor,
                on_ok=lambda text: self.app.push_screen(InfoScreen("Letter", text)),
                on_error=self._failed,
                group="letters-letter",
                exclusive=True,
            )

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
                account_id, actor = self.account_id, self.actor
                self._act(lambda: queue_personal_information(account_id, actor))

        self.app.push_screen(
            ConfirmScreen(
                "Send the user everything held about them (JSON and XML attached)?", yes="Send"
            ),
            answer,
        )

    def action_resend(self) -> None:
        letter_id = self._selected()
        if letter_id is not None:
            actor = self.actor
            self._act(lambda: resend_letter(letter_id, actor))

    def _act(self, queue) -> None:  # noqa: ANN001
        """Queue a letter in a worker (`queue()`), then send it (`_queued`)."""
        self.notify("Queueing the letter…", timeout=3)
        run_service(
            self,
            queue,
            on_ok=lambda letter: self._queued(letter.id),
            on_error=self._failed,
            group="letters-queue",
        )

    @property
    def actor(self):  # noqa: ANN201
        return self.app.session.actor

    def action_close(self) -> None:
        self.dismiss(None)


OUTBOX_COLUMNS = [("Created", 16), ("User", 22), ("Letter", 14), ("Status", 7), ("Tries", 5),
                  ("Error", 40)]  # fmt: skip


class OutboxScreen(KeepStyles, CoveredKeys, Screen[None]):
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
        """Read the outbox in a worker (the newest reading wins), then show it."""
        run_service(
            self,
            outbox,
            self.app.session.actor,
            pending_only=self.pending_only,
            on_ok=self._show,
            on_error=self._failed,
            group="outbox-read",
            exclusive=True,
        )

    def _failed(self, exc: PatronDeskError) -> None:
        self.notify(exc.message, severity="error", timeout=8)

    def _show(self, lines: list) -> None:
        self.ids = [line.letter_id for line in lines]
        what = "waiting for delivery" if self.pending_only else "latest first"
        self.query_one("#outbox-title", Static).update(
            f"[b]Outbox[/b] · {plural(len(lines), 'letter')} {what} · s send now · r retry · a all"
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
            run_service(
                self,
                letter_text,
                self.ids[self.query_one(RowTable).cursor],
                self.actor,
                on_ok=lambda text: self.app.push_screen(InfoScreen("Letter", text)),
                on_error=self._failed,
                group="outbox-letter",
                exclusive=True,
            )

    @property
    def actor(self):  # noqa: ANN201
        return self.app.session.actor

    def action_retry(self) -> None:
        if not self.ids:
            return
        letter_id = self.ids[self.query_one(RowTable).cursor]
        run_service(
            self,
            retry_letter,
            letter_id,
            self.actor,
            on_ok=lambda _: deliver_in_background(self.app, letter_id, self._after),
            on_error=self._failed,
            group="outbox-retry",
        )

    def action_send_all(self) -> None:
        from models.mail.mailer import send_pending

        self.notify("Sending…")
        run_service(  # the app's worker: the outbox may be closed before the letters are sent
            self.app,
            send_pending,
            on_ok=lambda report: self._sent(report.sent, report.failed),
            group="letters",
        )

    def _sent(self, sent: int, failed: int) -> None:
        severity = "warning" if failed else "information"
        self.app.notify(f"Sent {plural(sent, 'letter')}; {failed} failed.", severity=severity)
        self._after()

    def _after(self) -> None:
        if self.is_attached:
            self.reload()

    def action_back(self) -> None:
        self.dismiss(None)
