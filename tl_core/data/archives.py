"""Unpack a user's zip of class folders without letting it write elsewhere, explode, or smuggle links."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from .examples import DataError, Dataset, Skipped, make_dataset, plural
from .folders import nothing_found, scan_image_folder
from .names import is_ignored

MAX_ZIP_BYTES = 2_000_000_000  # total unpacked size
MAX_ZIP_FILES = 50_000
_CHUNK = 1 << 20
# What zipfile raises on damaged or hostile archives; all mean "this zip cannot be read".
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
               RuntimeError, struct.error, zlib.error, KeyError, IndexError)


def load_image_zip(source: Path | bytes, extract_to: Path) -> Dataset:
    """Unpack a zip of class folders (at its root, under one top folder, or in train/ and val/) and read it.

    The limits are checked on the central directory before anything is written, and again on the bytes
    actually written, since a hostile zip can lie about sizes. The returned examples point into
    `extract_to`, so the caller owns that folder and decides when it goes (see `sources.unpacked_zip`).
    """
    with _open_archive(source) as archive:
        members = [m for m in archive.infolist() if not m.is_dir() and not is_ignored(m.filename)]
        if not members:
            raise DataError("The zip file is empty; put one folder of pictures per class in it and zip it again.")
        _check_declared_size(members)
        target = Path(extract_to)
        target.mkdir(parents=True, exist_ok=True)
        skipped, notes = _extract(archive, members, target)
    found = scan_image_folder(target)
    skipped += found.skipped
    if not found.examples:
        raise DataError(nothing_found("the zip", skipped))
    return make_dataset("image", found.examples, skipped, notes + found.notes)


def _open_archive(source: Path | bytes) -> zipfile.ZipFile:
    if isinstance(source, (bytes, bytearray, memoryview)):
        file: Path | io.BytesIO = io.BytesIO(source)
    elif Path(source).is_file():
        file = Path(source)
    else:
        raise DataError(f"The zip file '{source}' was not found; check the path.")
    try:
        return zipfile.ZipFile(file)
    except _ZIP_ERRORS:
        raise DataError(
            "This file is not a readable zip archive (it may be damaged or incomplete); zip the folder again."
        ) from None


def _check_declared_size(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_ZIP_FILES:
        raise DataError(
            f"The zip holds {len(members):,} files; the limit is {MAX_ZIP_FILES:,}, so split it into smaller zips."
        )
    if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
        raise DataError(_too_big())


def _extract(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], target: Path) -> tuple[list[Skipped], list[str]]:
    """Write the safe members under target; return what was skipped and notes about it."""
    root = target.resolve()
    skipped: list[Skipped] = []
    nested: list[str] = []
    created: list[Path] = []
    written = 0
    for member in members:
        reason = _refusal(member, root)
        if reason is None and PurePosixPath(member.filename).suffix.lower() == ".zip":
            nested.append(member.filename)
            reason = "a zip inside the zip is not opened"
        if reason:
            skipped.append(Skipped(member.filename, reason))
            continue
        destination = root / _clean(member.filename)
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, open(destination, "xb") as sink:
                created.append(destination)
                while chunk := source.read(_CHUNK):
                    written += len(chunk)
                    if written > MAX_ZIP_BYTES:
                        for path in created:
                            path.unlink(missing_ok=True)
                        raise DataError(_too_big())
                    sink.write(chunk)
        except FileExistsError:
            skipped.append(Skipped(member.filename, "the same name appears twice in the zip"))
        except DataError:
            raise
        except _ZIP_ERRORS:
            skipped.append(Skipped(member.filename, "could not be unpacked (damaged in the zip, or an unusable name)"))
            destination.unlink(missing_ok=True)
    notes = [
        f"The zip contains {plural(len(nested), 'other zip file')} ({nested[0]}); unzip "
        f"{'it' if len(nested) == 1 else 'them'} and add the pictures directly."
    ] if nested else []
    return skipped, notes


def _refusal(member: zipfile.ZipInfo, root: Path) -> str | None:
    """Why this member is not written, or None when it lands safely inside root."""
    if stat.S_ISLNK(member.external_attr >> 16):
        return "a symbolic link (links are not followed)"
    if member.flag_bits & 0x1:
        return "password-protected in the zip"
    name = member.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (parts and parts[0].endswith(":")) or ".." in parts:
        return "unsafe path in the zip (it points outside the folder)"
    destination = (root / _clean(name)).resolve()
    if not destination.is_relative_to(root) or destination == root:
        return "unsafe path in the zip (it points outside the folder)"
    return None


def _clean(name: str) -> PurePosixPath:
    """The member's relative path with Windows separators and "." parts normalised away."""
    return PurePosixPath(*[p for p in name.replace("\\", "/").split("/") if p not in ("", ".")])


def _too_big() -> str:
    return f"The zip unpacks to more than {MAX_ZIP_BYTES / 1e9:g} GB; split it into smaller zips."
