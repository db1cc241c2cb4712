"""File-name rules shared by folders, zips and uploads, so each source ignores and refuses the same things."""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
# Files that operating systems and archivers leave behind; nobody wants them reported as "skipped".
JUNK_NAMES = frozenset({"__macosx", ".ds_store", "thumbs.db", "desktop.ini"})
MAX_NAME_BYTES = 200  # below the common 255-byte file-name limit, leaving room for " (2)" suffixes


def is_ignored(relative_name: str) -> bool:
    """True for OS junk and hidden files anywhere in a relative path (a/__MACOSX/b.jpg, a/.x.jpg)."""
    parts = relative_name.replace("\\", "/").split("/")
    return any(p.lower() in JUNK_NAMES or (p.startswith(".") and p not in (".", "..")) for p in parts if p)


def unsupported_reason(name: str) -> str | None:
    """Why a file name cannot be an image we read, or None when its extension is fine."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return None
    kind = f"a {suffix} file" if suffix else "a file without an extension"
    return f"not a supported picture type ({kind}); use JPEG, PNG, WebP, BMP, GIF or TIFF"


def safe_component(name: str, fallback: str = "unnamed") -> str:
    """One path component safe to create on disk; unicode, emoji and spaces are kept as the user wrote them.

    Separators and control characters become "_", a leading dot is replaced so the file is not hidden
    (hidden files are ignored when reading back), and long names are cut on a character boundary.
    """
    cleaned = "".join("_" if c in "/\\" or unicodedata.category(c) == "Cc" else c for c in name).strip()
    if cleaned.startswith("."):
        cleaned = "_" + cleaned[1:]
    if not cleaned.strip("._ "):
        cleaned = fallback
    path = PurePosixPath(cleaned)
    stem, suffix = path.stem, path.suffix if len(path.suffix.encode()) <= 16 else ""
    if not suffix:
        stem = cleaned
    while len((stem + suffix).encode()) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + suffix
