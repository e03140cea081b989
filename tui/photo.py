"""A user's photo on screen (issue 25, item 2), drawn by textual-image: Kitty's graphics
protocol or Sixel where the terminal has them, Unicode half-blocks (two pixels a cell, in
colour) everywhere else: plain SSH, tmux, TERM=linux, the browser of `patrondesk serve`.

Which one is decided once, before the app takes the terminal (`choose_graphics`, called by
`tui.cli`), never while it runs (a question asked of the terminal then would be answered into
Textual's input):
- PATRONDESK_GRAPHICS=kitty | sixel | halfcell says it outright;
- otherwise Kitty's graphics for Kitty itself (TERM=xterm-kitty or KITTY_WINDOW_ID: the one
  terminal textual-image's Kitty images work in); half-blocks otherwise, and always for
  TERM=linux, dumb or vt100, without a terminal, and in tests (snapshots are the same on every
  machine). Sixel only when PATRONDESK_GRAPHICS=sixel says so: the terminal is never asked
  (its answer to "who are you" comes on the same input as the keys a scanner types right
  after launch, and a terminal that never answers would hold the start for the timeout).

textual-image asks the terminal for Sixel and Kitty support when it is first imported; it is
imported here with no terminal to ask (`_library`), and asked, when at all, by
nobody.
"""

from __future__ import annotations

import io
import os
import sys
from typing import TYPE_CHECKING, Any

from textual.widget import Widget

if TYPE_CHECKING:
    from models.users.photos import Photo

HALFCELL, SIXEL, KITTY = "halfcell", "sixel", "kitty"
GRAPHICS = HALFCELL  # what `choose_graphics` found; half-blocks until then (and in tests)
NO_GRAPHICS_TERMS = ("linux", "dumb", "vt100", "vt102", "vt220", "ansi", "cons25")


def _library() -> Any:
    """textual_image.widget, imported without its questions to the terminal (it asks when its
    standard output is a terminal): the answer is ours to get, at a safe time."""
    if "textual_image.widget" in sys.modules:
        return sys.modules["textual_image.widget"]
    real = sys.__stdout__
    cell = _cell_size()
    sys.__stdout__ = io.StringIO()  # not a terminal: nothing is asked
    try:
        from textual_image import _terminal

        if cell is not None:  # pixels per cell, for Sixel and Kitty images
            _terminal.get_cell_size._result = _terminal.CellSize(*cell)  # type: ignore[attr-defined]
        import textual_image.widget as widget
    finally:
        sys.__stdout__ = real
    return widget


def _cell_size() -> tuple[int, int] | None:
    """The size of a cell in pixels from the terminal's window size (an ioctl: nothing read
    from the terminal's input), or None."""
    try:
        import fcntl
        import struct
        import termios

        out = sys.__stdout__
        if out is None or not out.isatty():
            return None
        rows, cols, width, height = struct.unpack(
            "HHHH", fcntl.ioctl(out.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
        )
    except (OSError, ImportError, ValueError):
        return None
    if not (rows and cols and width and height):
        return None
    return width // cols, height // rows


def choose_graphics(environ: dict[str, str] | None = None) -> str:
    """Decide how photos are drawn (see the module docstring); sets and returns `GRAPHICS`.
    Call before the app takes the terminal."""
    global GRAPHICS
    env = os.environ if environ is None else environ
    wanted = env.get("PATRONDESK_GRAPHICS", "").strip().lower()
    if wanted in (HALFCELL, SIXEL, KITTY):
        _library()
        GRAPHICS = wanted
        return GRAPHICS
    GRAPHICS = HALFCELL
    _library()  # now, not while the app writes to the terminal (`_library` swaps its stdout)
    term = env.get("TERM", "")
    if term in NO_GRAPHICS_TERMS or not _terminal():
        return GRAPHICS
    if term == "xterm-kitty" or env.get("KITTY_WINDOW_ID"):
        GRAPHICS = KITTY
    return GRAPHICS


def _terminal() -> bool:
    try:
        return bool(sys.__stdin__ and sys.__stdout__) and all(
            os.isatty(f.fileno()) for f in (sys.__stdin__, sys.__stdout__)
        )
    except (OSError, ValueError, AttributeError):
        return False


def picture(photo: Photo) -> Any:
    """The photo decoded (a PIL image) for `PhotoView`: the stored JPEG, small (it was fitted
    into its box once, when it was added)."""
    from PIL import Image

    image = Image.open(io.BytesIO(photo.data), formats=["JPEG", "PNG"])
    image.load()
    return image


class PhotoView(Widget):
    """A photo (or nothing): `show(photo)` draws it in the widget's size, fitted, with the
    graphics chosen at start. Hidden while there is none."""

    DEFAULT_CSS = """
    PhotoView { width: 12; height: 6; display: none; }
    PhotoView.-shown { display: block; }
    PhotoView > * { width: 100%; height: 100%; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self.photo: Photo | None = None
        self._image: Any = None

    def compose(self):  # noqa: ANN201 - Textual's ComposeResult
        self._image = _image_class()(None)
        yield self._image

    def show(self, photo: Photo | None) -> None:
        """Draw `photo` (None: hide the widget). The same photo again is not drawn again."""
        self.set_class(photo is not None, "-shown")
        if photo is None or (self.photo is not None and photo.data == self.photo.data):
            return
        self.photo = photo
        if self._image is not None:
            self._image.image = picture(photo)

    def on_mount(self) -> None:
        if self.photo is not None:  # shown before it was composed
            self._image.image = picture(self.photo)


def _image_class() -> type:
    widget = _library()
    return {KITTY: widget.TGPImage, SIXEL: widget.SixelImage}.get(GRAPHICS, widget.HalfcellImage)
