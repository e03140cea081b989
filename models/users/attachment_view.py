"""Opening an attachment of a user's record to read it (issue 22, item 3; Alma's and Esploro's
Attachments tab: a file is opened from the list). The screen shows what `open_attachment`
returns and never the stored bytes themselves.

- Who: staff who see the attachment on the Attachments tab (the right to view the user, and
  the attachment's library in their scope: library independence), as `list_rows` lists it.
  Saving it to a file is `models.users.rows.save_attachment` (the right to manage
  attachments, audited; `models.store.files` decides which files may be written).
- Text (text/..., message/..., JSON, XML, CSV, or bytes that read as UTF-8 / Latin-1 text):
  decoded as UTF-8, else Latin-1, then every control, bidi and invisible character is shown as
  a visible mark (`models.text.printable`: ESC as ␛): nothing in the file can drive the
  terminal, reorder a line or hide itself. Only the first `TEXT_BYTES` are shown, said so.
- PDF: its text, page by page, with pypdf (pure Python), at most `PDF_PAGES` pages and
  `TEXT_BYTES` characters, made printable the same way. A PDF pypdf cannot read (damaged,
  protected by a password) is described and may be saved.
- Pictures: their type, size and dimensions (read from the header: PNG, GIF, JPEG, BMP,
  WebP); the picture itself is not drawn in the terminal.
- Anything else: its type and size; it may be saved.

No Textual here: the screen runs `open_attachment` in a worker (`tui.worker.run_service`).
"""

from __future__ import annotations

import codecs
import io
import struct
from dataclasses import dataclass, field

from models.access.permissions import Action, authorize
from models.access.scope import scope_of
from models.audit import Actor
from models.errors import NotFound
from models.store.tables import Attachment
from models.text import normalize_lines, printable
from models.users.details import load_account

# The text shown: the first 256 KB of a file, or 256 K characters of a PDF's text. Drawing it
# is on the UI thread (the read-only TextArea wraps every line when it is loaded): 256 KB is
# about 0.1 s on a quiet machine, 1 MB was 0.35 s to 1.3 s, a frozen screen. Save for the rest.
TEXT_BYTES = 256 * 1024
PDF_PAGES = 50  # the pages of a PDF whose text is read

# Types read as text whatever their bytes look like (besides text/* and message/*).
_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/csv",
        "application/x-yaml",
        "application/yaml",
        "application/javascript",
        "application/x-sh",
        "application/sql",
        "application/x-tex",
        "application/rtf",
    }
)

# pypdf reports what it skips in a damaged file through `logging`. The app adds no handler
# (tests/domain/test_secrets.py): with none, Python's last resort writes warnings to
# sys.stderr, which Textual captures while the app runs (nothing is drawn over the screen).


@dataclass(frozen=True)
class AttachmentView:
    """What the viewer shows of an attachment. Every string is safe to draw (printable)."""

    attachment_id: int
    name: str
    mime_type: str
    size: int
    kind: str  # "text", "pdf", "image" or "other"
    facts: tuple[tuple[str, str], ...] = field(default=())  # (label, value), e.g. Pages
    text: str = ""  # the text shown (text files and PDFs)
    notice: str = ""  # a sentence: what was cut, why there is no text, what to do


def size_text(size: int) -> str:
    """A size with its unit: "1 byte", "512 bytes", "2.5 KB", "1.2 MB"."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return "1 byte" if size == 1 else f"{size} bytes"


# --- Text ---------------------------------------------------------------------------------------


def _decodes_as_utf8(data: bytes, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=final)
    except UnicodeDecodeError:
        return False
    return True


def _mostly_latin1_text(sample: bytes) -> bool:
    """Bytes that read as Latin-1 text: no NUL, and nearly all of them printable ASCII,
    whitespace or Latin-1 letters (a binary file has many control bytes)."""
    if not sample or b"\x00" in sample:
        return False
    good = sum(1 for b in sample if 0x20 <= b < 0x7F or b in b"\t\n\r\f" or b >= 0xA0)
    return good >= 0.95 * len(sample)


def is_text(mime_type: str, data: bytes) -> bool:
    """Whether the attachment is text: said by its type, or its first 8 KB read as text."""
    mime = (mime_type or "").lower()
    if mime.startswith(("text/", "message/")) or mime in _TEXT_TYPES:
        return True
    if mime.endswith(("+xml", "+json")):
        return True
    sample = data[:8192]
    if not sample or b"\x00" in sample:
        return False
    return _decodes_as_utf8(sample, final=len(data) <= len(sample)) or _mostly_latin1_text(sample)


def decode_text(data: bytes, limit: int = TEXT_BYTES) -> tuple[str, str, bool]:
    """(text safe to draw, the encoding read, whether the text was cut at `limit` bytes).
    UTF-8 (a byte-order mark dropped) when the bytes are UTF-8, else Latin-1, which reads any
    byte; line ends become LF; each control, bidi or invisible character becomes a visible
    mark, tabs and line feeds excepted."""
    cut = len(data) > limit
    head = data[:limit]
    try:
        # Not final when cut: a character split at the limit is dropped, not an error.
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=not cut)
        encoding = "UTF-8"
    except UnicodeDecodeError:
        text, encoding = head.decode("latin-1"), "Latin-1"
    return printable(normalize_lines(text), multiline=True), encoding, cut


# --- PDF ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PdfText:
    text: str  # safe to draw
    pages: int  # pages in the file (0 when it could not be read)
    read: int  # pages whose text was read
    cut: bool  # stopped at the page or character limit
    problem: str = ""  # why no text could be read
    empty: bool = False  # the pages read hold no text (a scan)


def pdf_text(data: bytes, *, max_pages: int = PDF_PAGES, max_chars: int = TEXT_BYTES) -> PdfText:
    """The text of a PDF's first `max_pages` pages (at most `max_chars` characters), made
    safe to draw. A file pypdf cannot read gives `problem` in words, never an exception."""
    try:
        from pypdf import PdfReader
    except ImportError:  # pragma: no cover - pypdf is a dependency; a trimmed install
        return PdfText("", 0, 0, False, "PDF text needs the pypdf package, not installed here")
    # A damaged or hostile file may fail anywhere inside pypdf, with any exception: that is
    # an answer about the file ("cannot be read"), not a fault of PatronDesk.
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # many PDFs are "encrypted" with no password
            except Exception:  # noqa: BLE001 - see above
                opened = 0
            if not opened:
                return PdfText("", 0, 0, False, "the PDF is protected by a password")
        total = len(reader.pages)
    except Exception as exc:  # noqa: BLE001 - see above
        return PdfText("", 0, 0, False, f"the PDF cannot be read ({_reason(exc)})")
    parts: list[str] = []
    length, read, cut, empty = 0, 0, total > max_pages, True
    for number in range(min(total, max_pages)):
        try:
            page = reader.pages[number].extract_text() or ""
        except Exception as exc:  # noqa: BLE001 - see above
            page = f"[the text of this page cannot be read: {_reason(exc)}]"
        read += 1
        empty = empty and not page.strip()
        block = f"— Page {number + 1} —\n{page.strip()}\n\n"
        if length + len(block) > max_chars:
            parts.append(block[: max(0, max_chars - length)])
            cut = True
            break
        parts.append(block)
        length += len(block)
    text = printable(normalize_lines("".join(parts)), multiline=True)
    return PdfText(text, total, read, cut, empty=empty)


def _reason(exc: BaseException) -> str:
    return printable(str(exc) or type(exc).__name__)[:200]


# --- Pictures -----------------------------------------------------------------------------------


def image_info(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) read from a picture's header, or None when it is not one of
    PNG, GIF, JPEG, BMP or WebP (or its header is damaged). Reads a few bytes, never decodes
    the picture."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return "PNG", width, height
        if data[:6] in (b"GIF87a", b"GIF89a"):
            width, height = struct.unpack("<HH", data[6:10])
            return "GIF", width, height
        if data.startswith(b"BM") and len(data) >= 26:
            width, height = struct.unpack("<ii", data[18:26])
            return "BMP", abs(width), abs(height)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp(data)
        if data.startswith(b"\xff\xd8"):
            return _jpeg(data)
    except struct.error:
        return None
    return None


def _webp(data: bytes) -> tuple[str, int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return "WebP", width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20:21] == b"\x2f":
        bits = int.from_bytes(data[21:25], "little")
        return "WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return "WebP", width, height
    return None


_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start of frame, not DHT/JPG/DAC


def _jpeg(data: bytes) -> tuple[str, int, int] | None:
    i = 2
    end = min(len(data), 1024 * 1024)  # the frame header comes early; a bad file is not walked
    while i + 4 <= end:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return "JPEG", width, height
        if length < 2:
            return None
        i += 2 + length
    return None


# --- The service --------------------------------------------------------------------------------


def describe(
    attachment_id: int,
    name: str,
    mime_type: str,
    data: bytes,
    *,
    max_bytes: int = TEXT_BYTES,
    max_pages: int = PDF_PAGES,
) -> AttachmentView:
    """What the viewer shows of these bytes (no database: `open_attachment` reads them)."""
    mime = printable(mime_type or "application/octet-stream")
    base = {
        "attachment_id": attachment_id,
        "name": printable(name),
        "mime_type": mime,
        "size": len(data),
    }
    facts: list[tuple[str, str]] = [("Type", mime), ("Size", size_text(len(data)))]
    if data.startswith(b"%PDF-") or (mime == "application/pdf" and b"%PDF-" in data[:1024]):
        pdf = pdf_text(data, max_pages=max_pages, max_chars=max_bytes)
        if pdf.problem:
            notice = f"No text can be shown: {pdf.problem}. Save the file to open it elsewhere."
            return AttachmentView(**base, kind="pdf", facts=tuple(facts), notice=notice)
        facts.append(("Pages", f"{pdf.pages:,}"))
        if pdf.cut:
            notice = (
                f"Only the text of the first {pdf.read:,} of {pdf.pages:,} pages is shown "
                "(cut): save the file to read the rest."
            )
        elif pdf.empty:
            notice = "This PDF holds no text (a scan?): save the file to look at it."
        else:
            notice = "The PDF's text, page by page (its layout and pictures are not shown)."
        return AttachmentView(**base, kind="pdf", facts=tuple(facts), text=pdf.text, notice=notice)
    picture = image_info(data)
    if picture is not None or mime.startswith("image/"):
        if picture is not None:
            kind_name, width, height = picture
            facts.append(("Picture", f"{kind_name}, {width:,} × {height:,} pixels"))
        notice = "Pictures are not drawn in the terminal: save the file to look at it."
        return AttachmentView(**base, kind="image", facts=tuple(facts), notice=notice)
    if is_text(mime, data):
        text, encoding, cut = decode_text(data, max_bytes)
        facts.append(("Encoding", encoding))
        notice = (
            f"Only the first {size_text(max_bytes)} of {size_text(len(data))} is shown (cut): "
            "save the file to read the rest."
            if cut
            else ("The file is empty." if not data else "")
        )
        return AttachmentView(**base, kind="text", facts=tuple(facts), text=text, notice=notice)
    notice = "This type of file cannot be shown here: save it to open it elsewhere."
    return AttachmentView(**base, kind="other", facts=tuple(facts), notice=notice)


def open_attachment(
    account_id: int,
    attachment_id: int,
    actor: Actor,
    *,
    max_bytes: int = TEXT_BYTES,
    max_pages: int = PDF_PAGES,
) -> AttachmentView:
    """An attachment of the user `account_id`, to read in the viewer (see the module's doc).
    Permission first: the right to view the user, and the attachment's library in the staff
    user's scope (else `NotFound`, as the tab does not list it)."""
    account = load_account(account_id)
    authorize(actor.account, Action.VIEW_USER, account)
    row = Attachment.get_or_none(
        (Attachment.id == attachment_id) & (Attachment.account == account.id)
    )
    if row is None:
        raise NotFound("This attachment no longer exists: another staff user may have deleted it.")
    if not scope_of(actor.account, account).sees(row.owner_id):
        raise NotFound("This attachment is owned by a library outside your scope.")
    return describe(
        row.id,
        row.name,
        row.mime_type,
        bytes(row.data),
        max_bytes=max_bytes,
        max_pages=max_pages,
    )


__all__ = [
    "PDF_PAGES",
    "TEXT_BYTES",
    "AttachmentView",
    "PdfText",
    "decode_text",
    "describe",
    "image_info",
    "is_text",
    "open_attachment",
    "pdf_text",
    "size_text",
]
