"""Photos travel (issue 25, item 2): in PatronDesk's JSON export and its import (restored, made
again by Pillow: a hostile picture in a file is left out with a warning), in the
personal-information export and letter; an Alma record with a picture URL is imported with a
note that the picture was not fetched (PatronDesk reaches no network)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

from models.store.tables import Account, Person, PersonPhoto
from models.transfer.exports import export_users, user_document
from models.transfer.imports import import_file
from models.users.personal_data import record_document
from models.users.photos import set_photo
from tests.domain.test_interchange_csv import _empty_database, opts
from tests.helpers.details import admin, user
from tests.helpers.pictures import bomb_png, camera_jpeg, write


def _with_photo(db, tmp_path: Path) -> Account:
    patron = user(db)
    set_photo(patron.id, patron.version, write(tmp_path / "a.jpg", camera_jpeg()), admin(db))
    user(db, "P0002", first_name="Ben")  # no photo
    return patron


def _exported() -> dict[str, dict]:
    out = io.StringIO()
    export_users(out, "json")
    return {u["primary_id"]: u for u in json.loads(out.getvalue())["users"]}


def test_the_json_export_carries_the_photo_and_its_import_restores_it(
    db, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    patron = _with_photo(db, tmp_path)
    stored = bytes(PersonPhoto.get(PersonPhoto.person == patron.person_id).data)
    users = _exported()
    photo = users["P0001"]["photo"]
    assert base64.b64decode(photo["data"]) == stored
    assert (photo["mime_type"], photo["width"], photo["height"]) == ("image/jpeg", 240, 180)
    assert users["P0002"]["photo"] is None
    source = tmp_path / "users.json"
    out = io.StringIO()
    export_users(out, "json")
    source.write_text(out.getvalue(), encoding="utf-8")

    _empty_database(db, tmp_path, request)
    report = import_file(source, opts())
    assert report.created == 2, report.issues
    person = Person.get(Person.first_name == "Anna")
    restored = PersonPhoto.get(PersonPhoto.person == person.id)
    assert (restored.width, restored.height, restored.created_by) == (240, 180, "admin")
    assert PersonPhoto.select().count() == 1


def test_a_hostile_photo_in_a_json_file_is_left_out_with_a_warning(db, tmp_path: Path) -> None:
    users = []
    for n, data in enumerate(
        [b"#!/bin/sh\necho not a picture\n", bomb_png(30_000, 30_000), b"not base64 at all!"]
    ):
        encoded = base64.b64encode(data).decode() if n < 2 else data.decode()
        users.append(
            {
                "primary_id": f"H{n}",
                "record_type": "public",
                "last_name": f"Hostile{n}",
                "user_group": "PUBLIC",
                "photo": {"mime_type": "image/jpeg", "data": encoded},
            }
        )
    source = tmp_path / "hostile.json"
    source.write_text(json.dumps({"format": "patrondesk", "version": 1, "users": users}))
    report = import_file(source, opts())
    assert report.created == 3, report.issues
    said = {i.primary_id: i.message for i in report.issues if i.field == "photo"}
    assert "not a JPEG or PNG picture" in said["H0"]
    assert "million pixels" in said["H1"]
    assert "unreadable" in said["H2"]
    assert PersonPhoto.select().count() == 0


def test_the_personal_information_exports_carry_the_photo(db, tmp_path: Path) -> None:
    patron = _with_photo(db, tmp_path)
    stored = bytes(PersonPhoto.get(PersonPhoto.person == patron.person_id).data)
    document = user_document("P0001")
    assert base64.b64decode(document["user"]["photo"]["data"]) == stored
    assert user_document("P0002")["user"]["photo"] is None
    letter = record_document(Account.get_by_id(patron.id), patron.created_at)
    assert base64.b64decode(letter["photo"]["data"]) == stored
    assert letter["photo"]["width"] == 240
    other = Account.get(Account.primary_id == "P0002")
    assert record_document(other, other.created_at)["photo"] is None


def test_an_alma_picture_url_is_noted_not_fetched(db, tmp_path: Path, monkeypatch) -> None:
    import socket

    def no_network(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("the import tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    source = tmp_path / "alma.xml"
    source.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<users>
  <user>
    <record_type desc="Public">PUBLIC</record_type>
    <primary_id>ALMA-1</primary_id>
    <first_name>Rita</first_name>
    <last_name>Researcher</last_name>
    <user_group>PUBLIC</user_group>
    <researcher><photo_url>https://photos.example.edu/ALMA-1.png</photo_url></researcher>
  </user>
</users>
""",
        encoding="utf-8",
    )
    report = import_file(source, opts())
    assert report.created == 1, report.issues
    notes = [i for i in report.issues if i.field == "photo_url"]
    assert len(notes) == 1 and notes[0].level == "warning"
    assert "https://photos.example.edu/ALMA-1.png" in notes[0].message
    assert "not fetched" in notes[0].message
    assert PersonPhoto.select().count() == 0
