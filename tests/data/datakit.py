"""Builders for test inputs: tiny pictures in memory, hostile PNGs, folder trees. Imported by the data tests."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO / ".." / "shared" / "datasets"


def encode(fmt: str = "PNG", mode: str = "RGB", size: tuple[int, int] = (8, 8), color=(200, 30, 30), **save) -> bytes:
    """A solid picture encoded in memory."""
    stream = io.BytesIO()
    Image.new(mode, size, color).save(stream, fmt, **save)
    return stream.getvalue()


def noise_jpeg(size: tuple[int, int] = (256, 256)) -> bytes:
    """A JPEG with enough detail that cutting it loses real image data."""
    stream = io.BytesIO()
    Image.effect_noise(size, 64).convert("RGB").save(stream, "JPEG")
    return stream.getvalue()


def png(width: int, height: int, bit_depth: int, colour_type: int, pixels: bytes) -> bytes:
    """A PNG written by hand, so its header can claim any size whatever the data holds."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def png_bomb(side: int = 30000) -> bytes:
    """A real decompression bomb: a ~100 kB 1-bit PNG that decodes to side x side pixels."""
    compressor = zlib.compressobj(6)
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    block = 1000
    parts = [compressor.compress(row * min(block, side - start)) for start in range(0, side, block)]
    return png(side, side, 1, 0, b"".join(parts) + compressor.flush())


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    """Write {relative path: bytes} under root and return root."""
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def stray_quotes(lines: list[str]) -> list[str]:
    """`sentence<TAB>label` lines with every 20th sentence quoted as people type it: opened and never
    closed, closed only, around the first words, or around it all (5% of the lines, as in the 1,000-line
    review table of issue #12)."""
    shapes = [lambda s: f'"{s}', lambda s: f'{s}"', lambda s: '"{}" {}'.format(*s.split(" ", 1)),
              lambda s: f'"{s}"']
    result = []
    for index, line in enumerate(lines):
        sentence, label = line.split("\t")
        if index % 20 == 7 and " " in sentence:
            sentence = shapes[index // 20 % len(shapes)](sentence)
        result.append(f"{sentence}\t{label}")
    return result
