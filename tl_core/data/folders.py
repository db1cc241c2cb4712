"""Read a folder of pictures laid out the way people already sort photos: one sub-folder per class."""

from __future__ import annotations

import os
from pathlib import Path

from .examples import DataError, Dataset, Example, Skipped, make_dataset, plural
from .images import ImageError, check_image
from .names import is_ignored, unsupported_reason

# Folder names that mean "the source already chose the split"; test data is used for validation here.
SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "val"}
_MAX_WRAPPERS = 8  # how many single top folders (dataset/, data/, ...) to look through
NOT_IN_CLASS = "not inside a class folder"


def load_image_folder(path: Path) -> Dataset:
    """Examples from path/<class>/..., path/train|val/<class>/..., or either under one wrapping folder.

    Each file gets a cheap check (header, size, verify) so listing stays fast; a file that fails is
    reported in `skipped` with its reason rather than stopping the whole load.
    """
    path = Path(path)
    if not path.is_dir():
        raise DataError(f"'{path}' is not a folder; choose the folder that holds one sub-folder per class.")
    dataset = scan_image_folder(path)
    if not dataset.examples:
        raise DataError(nothing_found(f"'{path.name}'", dataset.skipped))
    return dataset


def scan_image_folder(path: Path) -> Dataset:
    """Like load_image_folder, but an empty result is returned for the caller to explain in its own words."""
    skipped: list[Skipped] = []
    root = _unwrap(path, path, skipped)
    splits = _split_folders(root)
    if splits:
        skipped += [Skipped(_relative(f, path), NOT_IN_CLASS) for f in _visible_entries(root)[1]]
    examples: list[Example] = []
    notes: list[str] = []
    for split, base in splits or [(None, root)]:
        class_dirs, loose = _visible_entries(base)
        skipped += [Skipped(_relative(f, path), NOT_IN_CLASS) for f in loose]
        for class_dir in class_dirs:
            found = _read_class(class_dir, path, split, skipped)
            if not found:
                notes.append(f"Folder '{_relative(class_dir, path)}' has no usable pictures, so it is not a class.")
            examples += found
    return make_dataset("image", examples, skipped, notes)


def _unwrap(root: Path, top: Path, skipped: list[Skipped]) -> Path:
    """Step into a lone wrapping folder (as zips made by "Compress folder" have) until classes show."""
    for _ in range(_MAX_WRAPPERS):
        dirs, files = _visible_entries(root)
        if len(dirs) != 1 or any(unsupported_reason(f.name) is None for f in files):
            break
        inner_dirs, _ = _visible_entries(dirs[0])
        if not inner_dirs:
            break
        skipped += [Skipped(_relative(f, top), NOT_IN_CLASS) for f in files]
        root = dirs[0]
    return root


def _split_folders(root: Path) -> list[tuple[str, Path]] | None:
    """[(split, folder)] when root holds train/ plus validation folders and nothing else, else None."""
    dirs, _ = _visible_entries(root)
    names = {d.name.lower() for d in dirs}
    if "train" not in names or len(names) < 2 or not names <= SPLIT_NAMES.keys():
        return None
    pairs = [(SPLIT_NAMES[d.name.lower()], d) for d in dirs]
    return sorted(pairs, key=lambda pair: pair[0] != "train")  # stable: training examples list first


def _read_class(class_dir: Path, top: Path, split: str | None, skipped: list[Skipped]) -> list[Example]:
    found = []
    for dirpath, dirnames, filenames in os.walk(class_dir):
        dirnames[:] = sorted(d for d in dirnames if not is_ignored(d))
        for filename in sorted(filenames):
            if is_ignored(filename):
                continue
            file = Path(dirpath, filename)
            name = _relative(file, top)
            reason = unsupported_reason(filename)
            if reason is None:
                try:
                    check_image(file)
                except ImageError as error:
                    reason = error.reason
            if reason:
                skipped.append(Skipped(name, reason))
            else:
                found.append(Example(label=class_dir.name, name=name, path=file, split=split))
    return found


def _visible_entries(folder: Path) -> tuple[list[Path], list[Path]]:
    """(sub-folders, files) of folder, sorted, without OS junk and hidden entries."""
    dirs, files = [], []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if is_ignored(entry.name):
            continue
        (dirs if entry.is_dir(follow_symlinks=False) else files).append(Path(entry.path))
    return dirs, files


def _relative(file: Path, top: Path) -> str:
    return file.relative_to(top).as_posix()


def nothing_found(where: str, skipped: list[Skipped]) -> str:
    """The sentence for a source with no usable picture, naming the first problem when there was one."""
    if skipped:
        first = skipped[0]
        return (
            f"No usable pictures were found in {where} ({plural(len(skipped), 'file')} skipped, "
            f"e.g. {first.name}: {first.reason}); put each class's pictures in its own sub-folder."
        )
    return (
        f"No class folders with pictures were found in {where}; put each class's pictures in its own "
        "sub-folder, e.g. cats/1.jpg and dogs/1.jpg."
    )
