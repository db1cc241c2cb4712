"""One entry point that reads whatever the user pointed at: a folder, a zip or a text table."""

from __future__ import annotations

from pathlib import Path

from .archives import load_image_zip
from .examples import DataError, Dataset
from .folders import load_image_folder
from .tables import load_text_table

TABLE_SUFFIXES = (".csv", ".tsv", ".txt")


def load_dataset(
    source: str | Path, *, text_column: str | int | None = None, label_column: str | int | None = None
) -> Dataset:
    """Read a folder of class folders, a .zip of one, or a .csv/.tsv/.txt table of texts and labels.

    A zip is unpacked into a new temporary folder that is kept, since the examples point into it.
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
        return load_image_zip(path)
    raise DataError(
        f"'{path.name}' is not a dataset TransferLab can read; use a folder with one sub-folder per class, "
        "a .zip of such a folder, or a .csv/.tsv/.txt table of texts and labels."
    )
