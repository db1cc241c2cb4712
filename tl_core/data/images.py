"""Open one picture safely: refuse non-images and decompression bombs before decoding, then give plain RGB.

Every image a user hands us passes through here, so the checks sit in one place: a cheap one
(`check_image`) while listing a dataset, and a full decode (`read_image`) when training reads it.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from PIL import Image, ImageOps

from .examples import DataError
from .names import unsupported_reason

log = logging.getLogger(__name__)

MAX_PIXELS = 80_000_000  # camera photos are 12-50 MP; 80 MP of RGB still decodes in ~240 MB
MAX_SHORT_SIDE = 1024  # models look at 224-518 px; keeping more only costs memory and time
PIL_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")  # the only decoders untrusted bytes reach
_MAGIC = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
    b"II+\x00",  # BigTIFF
    b"MM\x00+",
)
_HEAD_BYTES = 32
# Photos from phones that people often try first; saying what they are beats "unknown format".
_FTYP_BRANDS = {b"heic": "HEIC photo", b"heix": "HEIC photo", b"mif1": "HEIF photo", b"avif": "AVIF picture"}


class ImageError(DataError):
    """A picture that cannot be used; `reason` is the short phrase shown next to its file name."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"This picture cannot be used: {reason}; replace or remove it.")
        self.reason = reason


def check_image(source: Path | bytes) -> None:
    """Cheap validity check for listing a dataset: header, declared size and `verify()`, no decoding."""
    with _opened(source) as im:
        try:
            im.verify()
        except Exception as error:  # Pillow's plugins raise many types on malformed data
            raise ImageError(_damaged(error)) from None


def undecodable_pictures(paths: list[Path]) -> list[tuple[Path, str]]:
    """(path, reason) for pictures that pass the quick check a data report makes but cannot be decoded.

    A cut-off JPEG has a valid header, so the report would count it and only training would leave it out.
    Decoding each new upload once (JPEGs at 1/8 scale) finds it while the person can still be told.
    Files the quick check refuses are not returned: the report lists those with their reasons.
    """
    found = []
    for path in paths:
        if unsupported_reason(path.name):
            continue
        try:
            check_image(path)
        except ImageError:
            continue
        try:
            read_image(path, draft_size=64)
        except ImageError as err:
            found.append((path, err.reason))
    return found


def read_image(source: Path | bytes, *, draft_size: int | None = None) -> Image.Image:
    """Fully decode one picture to upright RGB, at most MAX_SHORT_SIDE on its short side.

    draft_size lets JPEG decode at a reduced scale (1/2, 1/4, 1/8) while keeping both sides >= draft_size,
    which makes reading a 24 MP photo for a 224-px model several times faster.
    """
    with _opened(source) as im:
        if draft_size and im.format == "JPEG":
            im.draft("RGB", (draft_size, draft_size))
        try:
            im.load()
        except Exception as error:  # truncated data surfaces as OSError, SyntaxError, EOFError, ...
            raise ImageError(_damaged(error)) from None
        try:
            ImageOps.exif_transpose(im, in_place=True)
        except Exception as error:  # a broken EXIF block should not cost the user the picture itself
            log.warning("A picture's EXIF orientation could not be read (%s: %s); it is used as stored.",
                        type(error).__name__, error)
        try:
            rgb = _to_rgb(im)
        except (ValueError, OSError):
            raise ImageError(f"its colour format ({im.mode}) is not supported") from None
    limit = max(MAX_SHORT_SIDE, draft_size or 0)
    width, height = rgb.size
    if min(width, height) > limit:
        scale = limit / min(width, height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = rgb.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)
    return rgb


@contextmanager
def _opened(source: Path | bytes) -> Iterator[Image.Image]:
    """Identify the picture and check its declared size; the pixels are not decoded yet."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        with io.BytesIO(source) as stream:
            yield _open_stream(stream)
        return
    try:
        stream = open(source, "rb")
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except OSError as error:
        raise ImageError(f"the file cannot be opened ({error.strerror or error})") from None
    with stream:
        yield _open_stream(stream)


def _open_stream(stream: IO[bytes]) -> Image.Image:
    head = stream.read(_HEAD_BYTES)
    if not head:
        raise ImageError("file is empty")
    if not (head.startswith(_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")):
        raise ImageError(_describe_non_image(head))
    try:
        with warnings.catch_warnings():
            # Between Pillow's warning and error thresholds we decide ourselves, just below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(stream, formats=PIL_FORMATS)
    except Image.DecompressionBombError as error:
        pixels = re.search(r"\((\d+) pixels\)", str(error))
        size = f"{int(pixels.group(1)) / 1e6:,.0f} megapixels" if pixels else "too many pixels"
        raise ImageError(f"picture too large ({size}; the limit is {MAX_PIXELS // 1_000_000} megapixels)") from None
    except Exception as error:  # Pillow's plugins raise many types on malformed headers
        raise ImageError(_damaged(error)) from None
    width, height = im.size
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"picture too large ({width:,}×{height:,} px; the limit is {MAX_PIXELS // 1_000_000} megapixels)"
        )
    if width < 1 or height < 1:
        raise ImageError("image is damaged (it has no pixels)")
    return im


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any mode to RGB the way a person would expect to see it (transparency shown on white)."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", im.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if mode.startswith("I") or mode == "F":
        return _high_depth_to_rgb(im)
    return im.convert("RGB")


def _high_depth_to_rgb(im: Image.Image) -> Image.Image:
    """16-bit and float greyscale to 8 bits; a plain convert() would clip most values to white."""
    wide = im if im.mode in ("I", "F") else im.convert("I")
    low, high = wide.getextrema()
    if high > 255:
        factor = 255 / 65535 if high <= 65535 else 255 / high
        wide = wide.point(lambda value: value * factor)
    elif wide.mode == "F" and high <= 1.0:
        wide = wide.point(lambda value: value * 255)
    return wide.convert("L").convert("RGB")


def _damaged(error: BaseException) -> str:
    if isinstance(error, EOFError) or "truncated" in str(error).lower():
        return "image is damaged (truncated)"
    return "image is damaged (its data cannot be decoded)"


def _describe_non_image(head: bytes) -> str:
    """Name what the file probably is, so the user knows which file went wrong and why."""
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if head.startswith(b"%PDF"):
        return "not an image (looks like a PDF)"
    if head.startswith(b"PK\x03\x04"):
        return "not an image (looks like a zip archive or Office document)"
    if start.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "not an image (looks like a web page, HTML)"
    if start.startswith((b"<svg", b"<?xml")):
        return "not a supported picture type (an SVG/XML drawing)"
    if head[4:8] == b"ftyp":
        kind = _FTYP_BRANDS.get(head[8:12], "video")
        return f"not a supported picture type (a {kind})" if kind != "video" else "not an image (looks like a video)"
    if all(byte >= 32 or byte in b"\t\n\r" for byte in head):
        return "not an image (looks like text)"
    return "not an image (unknown file format)"
