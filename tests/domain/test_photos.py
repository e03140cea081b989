"""User photos (issue 25, item 2): a photo per person, made once from a JPEG or PNG (turned
upright, fitted into its box, without metadata), added, replaced and removed by whoever may
edit the user, in History, and refused on a record changed since it was read."""

from __future__ import annotations

import io

import pytest

from models.enums import Role
from models.errors import ConflictError, PermissionDenied, ValidationError
from models.store.tables import Account, AuditEvent, Person, PersonPhoto
from models.users.photos import BOX, photo_of, prepare_photo, remove_photo, set_photo
from tests.domain.test_accounts import second_organization
from tests.helpers.details import admin, as_staff, fresh, staff, user
from tests.helpers.pictures import camera_jpeg, transparent_png, write


def _opened(data: bytes):
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_photo_is_stored_once_fitted_upright_and_without_metadata(db, tmp_path) -> None:
    patron = user(db)
    # Orientation 6: the camera was turned; the picture is shown turned 90 degrees clockwise.
    source = write(tmp_path / "anna.jpg", camera_jpeg(1200, 900, orientation=6))
    version = set_photo(patron.id, fresh(patron).version, source, admin(db))

    assert version == fresh(patron).version == patron.version + 1
    row = PersonPhoto.get(PersonPhoto.person == patron.person_id)
    image = _opened(bytes(row.data))
    assert image.format == "JPEG" and (row.width, row.height) == image.size
    assert image.width <= BOX[0] and image.height <= BOX[1]
    assert image.height > image.width, "the camera's orientation was not applied"
    # Turned clockwise, the red left half is on top.
    assert image.getpixel((image.width // 2, 5))[0] > 150
    assert not image.getexif(), "EXIF (camera, GPS) was kept"
    assert "comment" not in image.info and "icc_profile" not in image.info
    assert b"Exif" not in bytes(row.data) and b"PhoneMaker" not in bytes(row.data)
    photo = photo_of(patron.id, admin(db))
    assert photo is not None and photo.data == bytes(row.data)
    assert photo.created_by == "admin"


def test_a_transparent_png_is_laid_on_white(db) -> None:
    photo = prepare_photo(transparent_png())
    image = _opened(photo.data)
    assert image.format == "JPEG" and image.mode == "RGB"
    assert image.size == (photo.width, photo.height) == (240, 300)
    right = image.getpixel((image.width - 5, image.height // 2))
    assert min(right) > 240, right  # transparent: white, not black


def test_adding_replacing_and_removing_are_in_history(db, tmp_path) -> None:
    patron = user(db)
    me = admin(db)
    first = write(tmp_path / "a.png", transparent_png())
    second = write(tmp_path / "b.jpg", camera_jpeg())
    set_photo(patron.id, fresh(patron).version, first, me)
    set_photo(patron.id, fresh(patron).version, second, me)
    assert PersonPhoto.select().count() == 1  # one per person
    remove_photo(patron.id, fresh(patron).version, me)
    assert PersonPhoto.select().count() == 0
    events = list(
        AuditEvent.select()
        .where((AuditEvent.account_id == patron.id) & (AuditEvent.field == "photo"))
        .order_by(AuditEvent.id)
    )
    assert [e.action for e in events] == ["create", "update", "delete"]
    assert events[0].new_value == events[1].old_value
    assert events[0].new_value.startswith("JPEG 240x300, ")
    assert events[1].new_value.startswith("JPEG 240x180, ")
    assert events[2].new_value is None
    version = fresh(patron).version
    assert remove_photo(patron.id, version, me) == version  # nothing to remove: no change


def test_the_photo_is_the_persons_shown_on_each_of_their_accounts(db, tmp_path) -> None:
    patron = user(db)
    set_photo(patron.id, patron.version, write(tmp_path / "a.jpg", camera_jpeg()), admin(db))
    org, admin2 = second_organization()
    other = Account.create(
        organization=org, person=patron.person_id, primary_id="P0001-B", primary_id_key="p0001-b"
    )
    from models.audit import Actor
    from models.enums import Source

    assert photo_of(other.id, Actor(admin2, Source.SCREEN)) is not None
    assert (
        photo_of(patron.id, admin(db)).data == photo_of(other.id, Actor(admin2, Source.SCREEN)).data
    )
    Person.delete().where(Person.id == patron.person_id).execute()
    assert PersonPhoto.select().count() == 0  # the person's photo goes with them


def test_a_stale_version_is_refused_and_nothing_is_stored(db, tmp_path) -> None:
    patron = user(db)
    source = write(tmp_path / "a.jpg", camera_jpeg())
    stale = fresh(patron).version
    set_photo(patron.id, stale, source, admin(db))
    with pytest.raises(ConflictError):
        set_photo(patron.id, stale, write(tmp_path / "b.png", transparent_png()), admin(db))
    with pytest.raises(ConflictError):
        remove_photo(patron.id, stale, admin(db))
    assert PersonPhoto.get().width == 240 and PersonPhoto.get().height == 180


@pytest.mark.parametrize(
    "role",
    [Role.FULFILLMENT_SERVICES_OPERATOR, Role.CIRCULATION_DESK_OPERATOR],
)
def test_staff_who_may_not_edit_the_user_may_not_change_the_photo(db, tmp_path, role) -> None:
    patron = user(db)
    source = write(tmp_path / "a.jpg", camera_jpeg())
    actor = as_staff(db, role)
    with pytest.raises(PermissionDenied):
        set_photo(patron.id, patron.version, source, actor)
    set_photo(patron.id, patron.version, source, admin(db))
    with pytest.raises(PermissionDenied):
        remove_photo(patron.id, fresh(patron).version, actor)
    assert PersonPhoto.select().count() == 1
    assert photo_of(patron.id, actor) is not None  # viewing the user shows it


def test_a_desk_manager_may_not_change_a_staff_members_photo(db, tmp_path) -> None:
    colleague = staff(db, Role.USER_MANAGER, "S-COLL")
    desk = as_staff(db, Role.CIRCULATION_DESK_MANAGER, "S-DESK")
    with pytest.raises(PermissionDenied):
        set_photo(colleague.id, colleague.version, write(tmp_path / "a.jpg", camera_jpeg()), desk)
    patron = user(db)  # a public user is the desk's
    set_photo(patron.id, patron.version, write(tmp_path / "b.jpg", camera_jpeg()), desk)
    assert PersonPhoto.select().count() == 1


def test_another_organizations_staff_keep_their_face_out_of_reach(db, tmp_path) -> None:
    """A person who is staff of another organization: this organization's administrator may
    not put another face on them through their public account here."""
    org, admin2 = second_organization()
    patron = user(db)
    from models.store.tables import RoleAssignment

    theirs = Account.create(
        organization=org, person=patron.person_id, primary_id="B-STAFF", primary_id_key="b-staff"
    )
    RoleAssignment.create(account=theirs, role=Role.USER_MANAGER.value)
    with pytest.raises(PermissionDenied) as refused:
        set_photo(patron.id, patron.version, write(tmp_path / "a.jpg", camera_jpeg()), admin(db))
    assert "their photo" in refused.value.message
    assert PersonPhoto.select().count() == 0


def test_another_organization_cannot_see_or_change_the_photo(db, tmp_path) -> None:
    from models.audit import Actor
    from models.enums import Source

    patron = user(db)
    _, admin2 = second_organization()
    other = Actor(admin2, Source.SCREEN)
    with pytest.raises(PermissionDenied):
        photo_of(patron.id, other)
    with pytest.raises(PermissionDenied):
        set_photo(patron.id, patron.version, write(tmp_path / "a.jpg", camera_jpeg()), other)


def test_a_missing_path_is_said_at_the_field(db) -> None:
    patron = user(db)
    with pytest.raises(ValidationError) as refused:
        set_photo(patron.id, patron.version, "  ", admin(db))
    assert "required" in refused.value.errors["path"]
