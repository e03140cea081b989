"""Pictures made for the photo tests (Pillow): a camera's JPEG with EXIF (GPS, orientation),
a PNG with transparency, and a PNG header claiming a picture of any size (a decompression
bomb: a few bytes that say 30,000 x 30,000)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path


def camera_jpeg(width: int = 1200, height: int = 900, orientation: int = 1) -> bytes:
    """A JPEG as a phone writes it: EXIF with the camera, the place (GPS) and an orientation,
    and a comment. Its left half is red, its right half blue (to check the turn)."""
    from PIL import Image

    image = Image.new("RGB", (width, height), (200, 30, 30))
    image.paste((30, 30, 200), (width // 2, 0, width, height))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 12"  # Model
    exif[0x0112] = orientation  # Orientation
    exif[0x8825] = {1: "N", 2: (47.0, 22.0, 0.0), 3: "E", 4: (8.0, 32.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"taken at the desk", quality=90)
    return out.getvalue()


def transparent_png(width: int = 400, height: int = 500) -> bytes:
    from PIL import Image

    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste((0, 128, 0, 255), (0, 0, width // 2, height))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A PNG whose header claims `width` x `height` pixels (3.6 GB of RGB at 30,000 squared),
    with a few bytes of compressed zeros after it."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 4096, 9))
        + _chunk(b"IEND", b"")
    )


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
