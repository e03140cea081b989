"""A person's photo (issue 25, item 2; Alma's user picture on User Details, Esploro's on the
user card): staff at a desk recognise people by face.

- One photo per person, shared by their accounts in every organization, as their name is
  (`models.store.tables.PersonPhoto`). Who may add or remove it: whoever may edit the user
  (`Action.EDIT_USER` on the account in reach: organization, library scope, no role above
  their own, their own standing), and never the photo of a person who is staff of another
  organization (`authorize_person`: a desk in A must not put another face on B's staff).
  Checked before the file is even read, and again in the save's transaction.
- The file is read as a file to attach is (`models.store.files.read_user_file`: a regular
  document of the user running PatronDesk, not a link, FIFO, device, system, hidden or
  database file), at most `FILE_MAX_BYTES`.
- Pillow decides what it is: a JPEG or a PNG (whatever its name says), of at most
  `MAX_PIXELS` pixels (read from its header before anything is decoded: a small file that
  claims a huge picture, a "decompression bomb", is refused unread), decoded whole (a file
  that only starts like a picture is refused), turned upright by its EXIF orientation, fitted
  into `BOX` and encoded again as a JPEG. The stored photo has no metadata: no EXIF (camera,
  place, time), no comment, no colour profile. It is made once, when it is added; showing it
  never decodes the original again.
- History: "photo" added, replaced or removed (its size and dimensions, never its bytes), in
  the same transaction as the change, which bumps the account's version (two staff changing
  the record at once: the second is refused, as for any save).

No Textual here: the screens call these through `tui.worker.run_service`.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from models import audit
from models.access.permissions import Action, authorize, authorize_person
from models.audit import Actor
from models.enums import AuditAction
from models.errors import ValidationError
from models.runtime import runtime
from models.store.base import database
from models.store.files import FileRefused, FileTooLarge, read_user_file
from models.store.tables import Account, PersonPhoto
from models.users.details import check_version, ids_of, load_account, touch

FILE_MAX_BYTES = 10 * 1024 * 1024  # the file read: a phone's photo is 2 to 6 MB
MAX_PIXELS = 50_000_000  # 8,000 x 6,000 and more: no portrait needs it
BOX = (240, 300)  # the stored photo fits in it (Alma advises 160 x 190 for patron cards)
QUALITY = 85
FORMATS = {"JPEG": "JPEG", "PNG": "PNG"}  # Pillow's names of the formats taken
MIME_TYPE = "image/jpeg"
WHAT = "their photo"  # what `authorize_person` names


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo as it is stored: JPEG bytes without metadata, and its size in pixels."""

    data: bytes
    width: int
    height: int
    mime_type: str = MIME_TYPE

    @property
    def summary(self) -> str:
        """What History says of it: "JPEG 240x300, 14.2 KB"."""
        return f"JPEG {self.width}x{self.height}, {_size(len(self.data))}"


@dataclass(frozen=True)
class Photo(PreparedPhoto):
    """A stored photo, with who added it and when."""

    created_by: str = ""
    created_at: dt.datetime | None = None


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} bytes"


def _refused(message: str) -> ValidationError:
    return ValidationError({"path": message})


def prepare_photo(content: bytes, name: str = "the file") -> PreparedPhoto:
    """The photo to store made from `content` (the bytes of a JPEG or PNG), or
    `ValidationError` on "path" saying in words why it cannot be a photo."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(content) > FILE_MAX_BYTES:
        raise _refused(f"{name} is too large: a photo file may be at most {_size(FILE_MAX_BYTES)}")
    not_a_picture = f"{name} is not a JPEG or PNG picture"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content), formats=list(FORMATS))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise _refused(
                    f"{name} is {width}x{height} pixels: a photo may have at most "
                    f"{MAX_PIXELS // 1_000_000} million pixels"
                )
            if image.format == "JPEG":
                image.draft("RGB", (BOX[0] * 2, BOX[1] * 2))  # decoded at a smaller scale
            image.load()  # the whole picture: a damaged or cut file is refused here
            image = ImageOps.exif_transpose(image)
            image = _rgb(image)
            image.thumbnail(BOX, Image.Resampling.LANCZOS)
            # Pillow carries a JPEG's comment (and may carry more) from `info` into the new
            # file: nothing of the original goes with its pixels.
            image.info = {}
            out = io.BytesIO()
            image.save(out, "JPEG", quality=QUALITY, optimize=True)
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refused(
            f"{name} claims a picture too large to open: a photo may have at most "
            f"{MAX_PIXELS // 1_000_000} million pixels"
        ) from None
    except UnidentifiedImageError:
        raise _refused(not_a_picture) from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, TypeError, IndexError):
        # Pillow's words for a file that starts like a picture and is not one (truncated,
        # damaged, a mode it cannot convert).
        raise _refused(f"{name} is a damaged or unreadable picture") from None
    return PreparedPhoto(out.getvalue(), image.width, image.height)


def _rgb(image):  # noqa: ANN001, ANN202 - PIL.Image.Image, imported lazily
    """The picture in RGB (or grey), transparency laid on white."""
    from PIL import Image

    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def read_photo_file(path: str | Path) -> PreparedPhoto:
    """The photo made from the file at `path`, read as a file to attach is
    (`read_user_file`), or `ValidationError` on "path" saying why it cannot be used."""
    if not str(path or "").strip():
        raise _refused("is required: give the path of a JPEG or PNG file")
    try:
        name, content = read_user_file(path, FILE_MAX_BYTES)
    except FileTooLarge as exc:
        size = f" ({_size(exc.size)})" if exc.size is not None else ""
        raise _refused(
            f"{exc.path.name} is too large{size}: a photo file may be at most "
            f"{_size(FILE_MAX_BYTES)}"
        ) from None
    except FileRefused as exc:
        raise _refused(exc.message) from None
    return prepare_photo(content, name)


def stored_photo(person_id: int) -> Photo | None:
    """The photo of a person (None: none); the caller has checked who may see it."""
    row = PersonPhoto.get_or_none(PersonPhoto.person == person_id)
    if row is None:
        return None
    return Photo(
        bytes(row.data), row.width, row.height, row.mime_type, row.created_by, row.created_at
    )


def photo_of(account_id: int, actor: Actor) -> Photo | None:
    """The photo of the account's person (None: none), for whoever may view the user."""
    account = load_account(account_id)
    authorize(actor.account, Action.VIEW_USER, account)
    return stored_photo(account.person_id)


def _check_may_edit(account: Account, actor: Actor) -> None:
    authorize(actor.account, Action.EDIT_USER, account)
    authorize_person(actor.account, account.person_id, Action.EDIT_USER, WHAT)


def may_change_photo(account_id: int, actor: Actor) -> None:
    """Refuse (`PermissionDenied`) unless `actor` may add or remove this user's photo: asked
    before a form is shown or a file is read."""
    _check_may_edit(load_account(account_id), actor)


def set_photo(account_id: int, expected_version: int, path: str | Path, actor: Actor) -> int:
    """Add (or replace) the photo of the account's person from the file at `path`. Refused
    before the file is read when `actor` may not; the file is made into the photo outside the
    transaction, which writes it with its History event. Returns the account's new version."""
    may_change_photo(account_id, actor)
    photo = read_photo_file(path)
    return store_photo(account_id, expected_version, photo, actor)


def store_photo(account_id: int, expected_version: int, photo: PreparedPhoto, actor: Actor) -> int:
    """Write a photo made by `prepare_photo` (one transaction, authorized and versioned)."""
    with database.atomic():
        account = load_account(account_id)
        _check_may_edit(account, actor)
        check_version(account, expected_version)
        before = stored_photo(account.person_id)
        version = touch(account, expected_version, actor, person_changes={})
        values = {
            "mime_type": photo.mime_type,
            "width": photo.width,
            "height": photo.height,
            "data": photo.data,
            "created_by": actor.name,
            "created_at": runtime.now(),
        }
        if before is None:
            PersonPhoto.create(person=account.person_id, **values)
        else:
            PersonPhoto.update(**values).where(PersonPhoto.person == account.person_id).execute()
        audit.record(
            actor,
            AuditAction.UPDATE if before else AuditAction.CREATE,
            entity="person_photo",
            entity_id=account.person_id,
            field="photo",
            old=before.summary if before else None,
            new=photo.summary,
            **ids_of(account),
        )
    return version


def remove_photo(account_id: int, expected_version: int, actor: Actor) -> int:
    """Remove the photo of the account's person. Returns the account's new version (the
    version as it was when there was no photo to remove)."""
    with database.atomic():
        account = load_account(account_id)
        _check_may_edit(account, actor)
        check_version(account, expected_version)
        before = stored_photo(account.person_id)
        if before is None:
            return expected_version
        version = touch(account, expected_version, actor, person_changes={})
        PersonPhoto.delete().where(PersonPhoto.person == account.person_id).execute()
        audit.record(
            actor,
            AuditAction.DELETE,
            entity="person_photo",
            entity_id=account.person_id,
            field="photo",
            old=before.summary,
            **ids_of(account),
        )
    return version


def photos_of(person_ids: list[int]) -> dict[int, Photo]:
    """The photos of these people (person id -> photo), with one query: for exports."""
    if not person_ids:
        return {}
    return {
        row.person_id: Photo(
            bytes(row.data), row.width, row.height, row.mime_type, row.created_by, row.created_at
        )
        for row in PersonPhoto.select().where(PersonPhoto.person.in_(person_ids))
    }
