"""One entry point that reads whatever the user pointed at: a folder, a zip or a text table."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from ..workspace import cache_dir, digest
from .archives import load_image_zip
from .examples import DataError, Dataset
from .folders import load_image_folder
from .tables import load_text_table

TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
_UNPACKED = ".unpacked"  # marks a finished unpacking; dot-files are not read as examples


def load_dataset(
    source: str | Path, *, text_column: str | int | None = None, label_column: str | int | None = None
) -> Dataset:
    """Read a folder of class folders, a .zip of one, or a .csv/.tsv/.txt table of texts and labels.

    A zip is unpacked once into the workspace's cache (see `unpacked_zip`), since the examples point into it.
    """
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"'{path}' does not exist; check the path.")
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES and path.is_file():
        return load_text_table(path, text_column=text_column, label_column=label_column)
    if text_column is not None or label_column is not None:
        raise DataError("Text and label columns apply only to tables (.csv, .tsv, .txt); leave them out for pictures.")
    if path.is_dir():
        return load_image_folder(path)
    if suffix == ".zip":
        return unpacked_zip(path)
    raise DataError(
        f"'{path.name}' is not a dataset TransferLab can read; use a folder with one sub-folder per class, "
        "a .zip of such a folder, or a .csv/.tsv/.txt table of texts and labels."
    )


def unpacked_zip(path: Path) -> Dataset:
    """The examples of a zip file, unpacked once per version of the file into the workspace's cache.

    Later runs on the same zip read the unpacked folder, so they skip the unpacking and hit the decoded
    and feature caches, which key on file paths. It is unpacked beside its place and renamed into it when
    complete, so a crash or a second process unpacking the same zip never leaves half a folder behind.
    """
    stat = path.stat()
    target = cache_dir("unzipped") / digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if (target / _UNPACKED).exists():
        return load_image_folder(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        dataset = load_image_zip(path, extract_to=staging)
        (staging / _UNPACKED).touch()
        if target.exists() and not (target / _UNPACKED).exists():  # half unpacked before the marker existed
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.rename(staging, target)
        except OSError:  # another process finished first: read its copy
            return load_image_folder(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    moved = [replace(e, path=target / e.path.relative_to(staging)) for e in dataset.examples]
    return replace(dataset, examples=moved)
