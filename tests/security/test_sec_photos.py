"""Issue 25, item 2: a photo file is hostile. It is read under the attachment rules (no FIFO,
no link, no device, nothing hidden, of the system or of the database; the size limit), and
Pillow decides what it is: a file that is no picture, a damaged one, or a few bytes claiming a
picture of a billion pixels (a decompression bomb) are refused with the reason, before
anything is stored. The permission is checked before the file is opened."""

from __future__ import annotations

import io
import os

import pytest

from models.enums import Role
from models.errors import PermissionDenied, ValidationError
from models.store.tables import PersonPhoto
from models.users.photos import FILE_MAX_BYTES, prepare_photo, set_photo
from tests.helpers.details import admin, as_staff, fresh, user
from tests.helpers.pictures import bomb_png, camera_jpeg, write
from tests.security.test_sec_files import in_thread


def _refused(db, path, actor=None) -> str:
    patron = fresh(user(db)) if not PersonPhoto.select().exists() else None
    account = patron or fresh(_patron())
    with pytest.raises(ValidationError) as err:
        set_photo(account.id, account.version, path, actor or admin(db))
    return err.value.errors["path"]


def _patron():
    from models.store.tables import Account

    return Account.get(Account.primary_id == "P0001")


def test_a_file_that_is_no_picture_is_refused_whatever_its_name(db, tmp_path) -> None:
    user(db)
    me = admin(db)
    for name, data in (
        ("photo.jpg", b"#!/bin/sh\nrm -rf ~\n"),
        ("photo.png", b"%PDF-1.4 a form\n" * 50),
        ("photo.gif", b"GIF89a" + b"\x00" * 64),  # a picture, but not JPEG or PNG
        ("empty.jpg", b""),
    ):
        account = fresh(_patron())
        with pytest.raises(ValidationError) as err:
            set_photo(account.id, account.version, write(tmp_path / name, data), me)
        assert "not a JPEG or PNG picture" in err.value.errors["path"], name
    assert PersonPhoto.select().count() == 0


def test_a_damaged_picture_is_refused(db, tmp_path) -> None:
    user(db)
    whole = camera_jpeg()
    cut = write(tmp_path / "cut.jpg", whole[: len(whole) // 3])
    account = fresh(_patron())
    with pytest.raises(ValidationError) as err:
        set_photo(account.id, account.version, cut, admin(db))
    assert "damaged" in err.value.errors["path"]
    assert PersonPhoto.select().count() == 0


def test_a_decompression_bomb_is_refused_before_it_is_decoded(db, tmp_path) -> None:
    user(db)
    bomb = write(tmp_path / "bomb.png", bomb_png(9_000, 9_000))  # 81 million pixels
    assert bomb.stat().st_size < 1000
    account = fresh(_patron())
    with pytest.raises(ValidationError) as err:
        set_photo(account.id, account.version, bomb, admin(db))
    said = err.value.errors["path"]
    assert "9000x9000" in said and "at most 50 million pixels" in said, said
    # Past Pillow's own limits too (it warns past 89 million pixels, refuses past twice that).
    for side in (10_000, 30_000, 100_000):
        with pytest.raises(ValidationError) as err:
            prepare_photo(bomb_png(side, side))
        assert "million pixels" in err.value.errors["path"], side
    assert PersonPhoto.select().count() == 0


def test_a_huge_file_is_refused_without_reading_it(db, tmp_path) -> None:
    user(db)
    huge = tmp_path / "huge.jpg"
    with huge.open("wb") as f:
        f.write(camera_jpeg())
        f.truncate(FILE_MAX_BYTES + 1)  # sparse: nothing more is written to the disk
    account = fresh(_patron())
    with pytest.raises(ValidationError) as err:
        set_photo(account.id, account.version, huge, admin(db))
    assert "too large" in err.value.errors["path"]
    assert PersonPhoto.select().count() == 0


def test_a_symbolic_link_is_not_followed(db, tmp_path) -> None:
    user(db)
    real = write(tmp_path / "real.jpg", camera_jpeg())
    link = tmp_path / "link.jpg"
    link.symlink_to(real)
    account = fresh(_patron())
    with pytest.raises(ValidationError) as err:
        set_photo(account.id, account.version, link, admin(db))
    assert "symbolic link" in err.value.errors["path"]
    assert PersonPhoto.select().count() == 0


def test_a_fifo_is_refused_at_once_not_waited_on(db, tmp_path) -> None:
    user(db)
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    account = fresh(_patron())
    finished, outcome = in_thread(
        lambda: set_photo(account.id, account.version, fifo, admin(db)), release=fifo
    )
    assert finished, "adding a FIFO as a photo hung until something wrote to it"
    assert isinstance(outcome, ValidationError), outcome
    assert "not a regular file" in outcome.errors["path"]
    assert PersonPhoto.select().count() == 0


def test_the_permission_is_checked_before_the_file_is_opened(db, tmp_path) -> None:
    user(db)
    viewer = as_staff(db, Role.FULFILLMENT_SERVICES_OPERATOR)
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    account = fresh(_patron())
    finished, outcome = in_thread(
        lambda: set_photo(account.id, account.version, fifo, viewer), release=fifo
    )
    assert finished, "the file was opened before the permission was checked (a FIFO hung)"
    assert isinstance(outcome, PermissionDenied), outcome


def test_system_hidden_and_device_files_are_refused(db, tmp_path) -> None:
    user(db)
    hidden = tmp_path / ".cache"
    hidden.mkdir()
    secret = write(hidden / "face.jpg", camera_jpeg())
    account = fresh(_patron())
    for path, words in (
        (secret, "hidden"),
        ("/etc/passwd", "system file"),
        ("/dev/zero", "system file"),
        (tmp_path, "folder"),
    ):
        with pytest.raises(ValidationError) as err:
            set_photo(account.id, account.version, path, admin(db))
        assert words in err.value.errors["path"], path
    assert PersonPhoto.select().count() == 0


def test_what_is_stored_is_the_re_encoded_picture_never_the_file(db, tmp_path) -> None:
    """A JPEG carrying a payload after its end (a polyglot: a picture and a script) is stored
    as the picture alone."""
    user(db)
    payload = b"<script>alert(1)</script>\x1b]52;c;aGVsbG8=\x07"
    source = write(tmp_path / "polyglot.jpg", camera_jpeg() + payload)
    account = fresh(_patron())
    set_photo(account.id, account.version, source, admin(db))
    stored = bytes(PersonPhoto.get().data)
    assert payload not in stored and b"script" not in stored
    from PIL import Image

    Image.open(io.BytesIO(stored)).verify()
