"""Opening and saving an attachment (issue 22, item 3; models.users.attachment_view and
models.users.rows.save_attachment), on both back ends: a text file's text with every control,
bidi and invisible character neutralised, a PDF's text (capped), a picture's dimensions, the
type and size of anything else; who may open it; the save's refusals and its 0600 file."""

from __future__ import annotations

import os
import re
import stat
import struct
from pathlib import Path

import pytest

from models.enums import Role
from models.errors import NotFound, PermissionDenied, ValidationError
from models.store.tables import Account, Attachment, Library
from models.users.attachment_view import (
    TEXT_BYTES,
    describe,
    image_info,
    open_attachment,
    pdf_text,
)
from models.users.rows import Kind, SaveTargetExists, add_row, save_attachment
from tests.helpers.details import admin, as_staff, user
from tests.security.test_sec_files import in_thread

# What must never reach the terminal: C0 and C1 controls (ESC first), DEL, bidi controls,
# zero-width and other invisible characters. Tabs and line feeds are text.
HOSTILE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
ATTACK = (
    "Consent given.\n"
    "\x1b]52;c;cm0gLXJmIH4=\x07"  # OSC 52: write the clipboard
    "\x1b[2J\x1b[31mred\x1b[0m\r\n"  # clear the screen, colours
    "invoice\u202egnp.exe \u2066iso\u2069 zero\u200bwidth \x9b31m \x00 end\n"
)


def tiny_pdf(*pages: str) -> bytes:
    """A valid PDF with one line of text on each page (Helvetica), offsets computed."""
    count = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(count))
    font = 3 + 2 * count
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode()]  # fmt: skip
    for i, text in enumerate(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Resources "
            f"<< /Font << /F1 {font} 0 R >> >> /Contents {4 + 2 * i} 0 R >>".encode()
        )
        quoted = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 20 100 Td ({quoted}) Tj ET".encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def png(width: int, height: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(
        ">IIBBBBB", width, height, 8, 2, 0, 0, 0
    ) + b"\x00" * 16  # fmt: skip


def stored(account: Account, name: str, data: bytes, mime: str, owner=None) -> Attachment:  # noqa: ANN001
    return Attachment.create(
        account=account, name=name, size=len(data), mime_type=mime, data=data, owner=owner
    )


# --- Text ---------------------------------------------------------------------------------------


def test_a_text_file_is_shown_with_no_control_or_bidi_character(db) -> None:
    patron = user(db)
    row = stored(patron, "note\u202etxt.exe", ATTACK.encode(), "text/plain")
    view = open_attachment(patron.id, row.id, admin(db))
    assert view.kind == "text" and ("Encoding", "UTF-8") in view.facts
    for shown in (view.text, view.name, view.notice, *(v for _, v in view.facts)):
        assert not HOSTILE.search(shown), repr(shown)
    # Each one is a visible mark instead: ESC as ␛, BEL as ␇, bidi and invisible as �.
    assert "␛]52;c;cm0gLXJmIH4=␇" in view.text and "␛[2J␛[31mred" in view.text
    assert "invoice\ufffdgnp.exe" in view.text and "zero\ufffdwidth" in view.text
    assert view.text.count("\n") == 3  # CR LF became LF
    assert view.name == "note\ufffdtxt.exe"


def test_latin1_text_and_an_undeclared_text_file_are_read(db) -> None:
    patron = user(db)
    latin = stored(patron, "old.txt", "Müller, café\n".encode("latin-1"), "text/plain")
    view = open_attachment(patron.id, latin.id, admin(db))
    assert view.text == "Müller, café\n" and ("Encoding", "Latin-1") in view.facts
    # Stored as octet-stream (e.g. imported), but its bytes are UTF-8 text.
    plain = stored(patron, "readme", "Grüße\n".encode(), "application/octet-stream")
    assert open_attachment(patron.id, plain.id, admin(db)).text == "Grüße\n"


def test_a_big_text_file_is_cut_and_says_so() -> None:
    data = ("é" * 1000).encode()  # 2 bytes each: the cut falls inside a character
    view = describe(1, "big.txt", "text/plain", data, max_bytes=1001)
    assert view.kind == "text" and view.text == "é" * 500
    assert "Only the first" in view.notice and "cut" in view.notice
    assert describe(1, "small.txt", "text/plain", b"abc", max_bytes=1001).notice == ""
    # The default: 256 KB shown, the viewer draws no more on the UI thread.
    view = describe(1, "log.txt", "text/plain", b"0123456789abcde\n" * 20_000)
    assert len(view.text) == TEXT_BYTES == 256 * 1024
    assert "Only the first 256.0 KB of 312.5 KB is shown (cut)" in view.notice


# --- PDF ----------------------------------------------------------------------------------------


def test_a_pdf_is_shown_as_its_text_page_by_page(db) -> None:
    patron = user(db)
    data = tiny_pdf("Consent form signed", "Second page \x1b[31m(red)")
    row = stored(patron, "consent.pdf", data, "application/pdf")
    view = open_attachment(patron.id, row.id, admin(db))
    assert view.kind == "pdf" and ("Pages", "2") in view.facts
    assert "Page 1" in view.text and "Consent form signed" in view.text
    assert "Second page ␛[31m(red)" in view.text and not HOSTILE.search(view.text)
    assert "cut" not in view.notice


def test_a_long_pdf_is_read_up_to_the_page_cap_and_says_so() -> None:
    data = tiny_pdf(*(f"page number {n}" for n in range(1, 8)))
    result = pdf_text(data, max_pages=3)
    assert (result.pages, result.read, result.cut) == (7, 3, True)
    assert "page number 3" in result.text and "page number 4" not in result.text
    view = describe(1, "long.pdf", "application/pdf", data, max_pages=3)
    assert "first 3 of 7 pages" in view.notice
    short = pdf_text(data, max_chars=40)  # the character cap too
    assert short.cut and len(short.text) <= 40


def test_a_damaged_pdf_is_described_not_raised() -> None:
    view = describe(1, "broken.pdf", "application/pdf", b"%PDF-1.4\n" + b"\x00garbage" * 50)
    assert view.kind == "pdf" and view.text == ""
    assert view.notice.startswith("No text can be shown: the PDF cannot be read")
    assert "Save the file" in view.notice and not HOSTILE.search(view.notice)


# --- Pictures and other files -------------------------------------------------------------------


def test_a_picture_shows_its_type_size_and_dimensions(db) -> None:
    patron = user(db)
    row = stored(patron, "photo.png", png(640, 480), "image/png")
    view = open_attachment(patron.id, row.id, admin(db))
    assert view.kind == "image" and view.text == ""
    assert ("Picture", "PNG, 640 × 480 pixels") in view.facts
    assert "not drawn" in view.notice
    gif = b"GIF89a" + struct.pack("<HH", 32, 16) + b"\x00" * 10
    jpeg = (
        b"\xff\xd8\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
        + b"\xff\xc0" + struct.pack(">HBHH", 17, 8, 120, 200) + b"\x00" * 12
    )  # fmt: skip
    assert image_info(gif) == ("GIF", 32, 16)
    assert image_info(jpeg) == ("JPEG", 200, 120)
    assert image_info(b"\xff\xd8\xff\x00 damaged") is None


def test_any_other_file_shows_its_type_and_size_and_offers_a_save(db) -> None:
    patron = user(db)
    row = stored(patron, "form.docx", bytes(range(256)) * 4, "application/msword")
    view = open_attachment(patron.id, row.id, admin(db))
    assert view.kind == "other" and view.text == ""
    assert ("Type", "application/msword") in view.facts and ("Size", "1.0 KB") in view.facts
    assert "save it" in view.notice


# --- Who may open it ----------------------------------------------------------------------------


def test_staff_who_see_the_tab_open_it_others_do_not(db) -> None:
    patron = user(db)
    other = user(db, "P0002")
    row = stored(patron, "letter.txt", b"hello", "text/plain")
    # A view-only role sees the Attachments tab: it may read the attachment.
    viewer = as_staff(db, Role.FULFILLMENT_SERVICES_OPERATOR, "S-VIEW")
    assert open_attachment(patron.id, row.id, viewer).text == "hello"
    # A patron login may not view users.
    with pytest.raises(PermissionDenied):
        open_attachment(patron.id, row.id, as_staff(db, Role.PATRON, "S-PATRON"))
    # Asked through another user's record: not found.
    with pytest.raises(NotFound):
        open_attachment(other.id, row.id, admin(db))
    # Owned by a library outside a scoped staff user's scope: not listed, not opened.
    branch = Library.create(organization=db.organization, code="BRANCH", name="Branch")
    main = Library.get((Library.organization == db.organization) & (Library.code == "MAIN"))
    hidden = stored(patron, "branch.txt", b"branch only", "text/plain", owner=branch)
    scoped = as_staff(db, Role.USER_MANAGER, "S-MAIN")
    from models.store.tables import RoleAssignment

    RoleAssignment.update(scope=main).where(RoleAssignment.account == scoped.account).execute()
    with pytest.raises(NotFound, match="outside your scope"):
        open_attachment(patron.id, hidden.id, scoped)
    assert open_attachment(patron.id, row.id, scoped).text == "hello"


# --- Saving -------------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_save_writes_0600_and_asks_before_replacing(db, tmp_path) -> None:
    patron = user(db)
    source = tmp_path / "consent form.pdf"
    source.write_bytes(tiny_pdf("signed"))
    saved = add_row(Kind.ATTACHMENT, patron.id, patron.version, {"path": str(source)}, admin(db))
    folder = tmp_path / "out"
    folder.mkdir()
    old = os.umask(0o022)
    try:
        written = save_attachment(saved.row.id, folder, admin(db))
    finally:
        os.umask(old)
    assert written == folder / "consent form.pdf" and mode(written) == 0o600
    assert written.read_bytes() == source.read_bytes()
    # The same folder again: the file there is named, for the screen's question.
    with pytest.raises(SaveTargetExists) as err:
        save_attachment(saved.row.id, folder, admin(db))
    assert err.value.path == written and "already exists" in err.value.errors["path"]
    written.write_bytes(b"older")
    assert save_attachment(saved.row.id, err.value.path, admin(db), overwrite=True) == written
    assert written.read_bytes() == source.read_bytes() and mode(written) == 0o600


def test_a_save_refuses_a_fifo_a_link_and_the_databases_files(db, tmp_path) -> None:
    patron = user(db)
    row = stored(patron, "a.txt", b"data", "text/plain")
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "link.txt"
    link.symlink_to(victim)
    targets = [fifo, link]
    if db.backend == "sqlite":
        targets += [Path(db.url), Path(f"{db.url}-wal")]
    for target in targets:
        finished, outcome = in_thread(
            lambda t=target: save_attachment(row.id, t, admin(db), overwrite=True), release=fifo
        )
        assert finished and isinstance(outcome, ValidationError), (target, outcome)
        assert not isinstance(outcome, SaveTargetExists)  # refused, not a question
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and link.is_symlink()
    assert victim.read_text() == "keep me"
