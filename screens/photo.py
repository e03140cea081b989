"""The photo of a user (issue 25, item 2; Alma's user picture): User Details, shift+F4 (or
ctrl+a, Photo…). Shows the photo kept, takes the path of a JPEG or PNG on the server's disk to
add or replace it (ctrl+s), and removes it (F8, after a question).

The services are `models.users.photos.set_photo` and `remove_photo`, in a worker: the right to
edit the user first, then the file (read as a file to attach is, made into the photo by
Pillow), then the save, versioned, with its History event. A file refused is said under the
field, in words. Dismisses the account's new version, or None when nothing changed."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from models.audit import Actor
from models.errors import PatronDeskError, ValidationError
from models.users.photos import FILE_MAX_BYTES, Photo, remove_photo, set_photo
from screens.after_worker import ClosesAfterWorker
from screens.confirm import CoveredKeys, Dialog, ask_to_discard
from tui.keys import FORM, PHOTO, bindings, hint, key_label
from tui.photo import PhotoView
from tui.widgets import Field, LineInput, Message, plain
from tui.worker import run_service

GROUP = "photo-save"


class PhotoScreen(ClosesAfterWorker, CoveredKeys, Dialog[int | None]):
    BINDINGS = bindings(FORM, PHOTO)
    AUTO_FOCUS = "#photo-path"

    def __init__(
        self, account_id: int, version: int, name: str, photo: Photo | None, actor: Actor
    ) -> None:
        super().__init__()
        self.account_id, self.version, self.user_name = account_id, version, name
        self.photo, self.actor = photo, actor
        self.saving = False

    @property
    def accepting_keys(self) -> bool:
        """Keys typed during a save wait for its answer (`App._ready_for_keys`)."""
        return not self.saving

    def compose(self) -> ComposeResult:
        limit = FILE_MAX_BYTES // (1024 * 1024)
        with Vertical(id="photo-box", classes="card"):
            yield Static(plain(f"Photo of {self.user_name}"), classes="card-title")
            with Horizontal(id="photo-row"):
                view = PhotoView(id="photo-view")
                view.show(self.photo)
                yield view
                yield Static(self._said(), id="photo-facts", markup=False)
            yield Field(
                f"Add or replace: a JPEG or PNG file (at most {limit} MB)",
                LineInput(id="photo-path", placeholder="/home/desk/photos/anna.jpg"),
            )
            yield Message(id="photo-message")
            with Horizontal(classes="form-buttons"):
                save, remove = (key_label(hint(self.app, k)) for k in ("save", "photo.remove"))
                yield Button(f"Save ({save})", id="photo-save", variant="primary", compact=True)
                yield Button(f"Remove ({remove})", id="photo-remove", compact=True)
                yield Button("Cancel (Esc)", id="photo-cancel", compact=True)

    def _said(self) -> str:
        photo = self.photo
        if photo is None:
            return "No photo."
        when = f" on {photo.created_at:%Y-%m-%d}" if photo.created_at else ""
        who = f" by {photo.created_by}" if photo.created_by else ""
        return f"{photo.width} x {photo.height} pixels, added{who}{when}."

    @on(Input.Submitted, "#photo-path")
    @on(Button.Pressed, "#photo-save")
    def action_save(self) -> None:
        if self.saving:
            return
        path = self.query_one("#photo-path", Input).value
        self._busy(True)
        run_service(
            self,
            set_photo,
            self.account_id,
            self.version,
            path,
            self.actor,
            on_ok=lambda version: self._done(version, "Photo saved."),
            on_error=self._refused,
            group=GROUP,
        )

    @on(Button.Pressed, "#photo-remove")
    def action_remove_photo(self) -> None:
        if self.saving:
            return
        if self.photo is None:
            self.query_one("#photo-message", Message).show("There is no photo to remove.")
            return
        from screens.confirm import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if not yes:
                return
            self._busy(True)
            run_service(
                self,
                remove_photo,
                self.account_id,
                self.version,
                self.actor,
                on_ok=lambda version: self._done(version, "Photo removed."),
                on_error=self._refused,
                group=GROUP,
            )

        self.app.push_screen(ConfirmScreen(f"Remove the photo of {self.user_name}?"), answer)

    def _busy(self, saving: bool) -> None:
        self.saving = saving
        message = self.query_one("#photo-message", Message)
        if saving:
            message.show("Saving…", error=False)
        else:
            message.clear()
        self.query_one("#photo-box").disabled = saving

    def _done(self, version: int, said: str) -> None:
        self.app.notify(said)
        self.dismiss_after_worker(GROUP, version)

    def _refused(self, exc: PatronDeskError) -> None:
        self._busy(False)
        field = self.query_one("#field-photo-path", Field)
        if isinstance(exc, ValidationError) and "path" in exc.errors:
            field.set_error(exc.errors["path"])
        else:
            field.set_error(None)
            self.query_one("#photo-message", Message).show(exc.message)
        self.query_one("#photo-path", Input).focus()

    def unsaved_changes(self) -> str | None:
        """What closing now would lose (the app asks first), or None."""
        typed = self.query_one("#photo-path", Input).value.strip()
        return "A photo file is named but not saved." if typed else None

    @on(Button.Pressed, "#photo-cancel")
    def action_cancel(self) -> None:
        if not self.saving:
            ask_to_discard(self, lambda: self.dismiss(None))
