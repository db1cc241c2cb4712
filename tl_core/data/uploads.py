"""Examples typed or uploaded in the browser, and writing them to disk for the training process to read."""

from __future__ import annotations

import csv
from pathlib import Path, PurePosixPath

from .examples import DataError, Dataset, Example, Skipped, make_dataset
from .images import ImageError, check_image
from .names import is_ignored, safe_component, unsupported_reason
from .tables import MAX_TEXT_CHARS, cut_note


def texts_from_lists(texts_by_label: dict[str, list[str]]) -> Dataset:
    """Typed or pasted texts per class; blank entries are dropped, long ones cut like table rows."""
    examples: list[Example] = []
    cut: list[str] = []
    for label, texts in texts_by_label.items():
        label = _class_name(label)
        kept = [t.strip() for t in texts if t.strip()]
        for number, text in enumerate(kept, start=1):
            name = f"{label} #{number}"
            if len(text) > MAX_TEXT_CHARS:
                cut.append(name)
            examples.append(Example(label=label, name=name, text=text[:MAX_TEXT_CHARS]))
    return make_dataset("text", examples, [], [cut_note(cut)] if cut else [])


def images_from_uploads(files_by_label: dict[str, list[tuple[str, bytes]]]) -> Dataset:
    """Uploaded pictures per class, held in memory, each given the same cheap check as files on disk."""
    examples: list[Example] = []
    skipped: list[Skipped] = []
    for label, files in files_by_label.items():
        label = _class_name(label)
        for filename, data in files:
            if is_ignored(filename):
                continue
            reason = unsupported_reason(filename) or _image_problem(data)
            if reason:
                skipped.append(Skipped(filename, reason))
            else:
                examples.append(Example(label=label, name=filename, data=bytes(data)))
    return make_dataset("image", examples, skipped, [])


def save_uploads(files_by_label: dict[str, list[tuple[str, bytes]]], dest: Path) -> Path:
    """Write uploads as dest/<class>/<file> so a separate training process can `load_dataset(dest)`.

    Names are made safe for the disk (no separators, no "..", no leading dot) but otherwise kept, so
    unicode, emoji and spaces survive; a repeated name gets " (2)". A class name that had to change
    on disk comes back changed when read, since the folder name is the label.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    folders: set[str] = set()
    for label, files in files_by_label.items():
        folder = dest / _unique(safe_component(_class_name(label)), folders)
        folder.mkdir(exist_ok=True)
        taken = {p.name.casefold() for p in folder.iterdir()}
        for filename, data in files:
            if is_ignored(filename):
                continue
            base = safe_component(PurePosixPath(filename.replace("\\", "/")).name)
            with open(folder / _unique(base, taken), "xb") as sink:
                sink.write(data)
    return dest


def save_texts(texts_by_label: dict[str, list[str]], dest: Path) -> Path:
    """Write typed texts as a "text<TAB>label" TSV with a header, readable back by load_dataset."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "w", encoding="utf-8", newline="") as sink:
        writer = csv.writer(sink, delimiter="\t", lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows([e.text, e.label] for e in texts_from_lists(texts_by_label).examples)
    return dest


def _class_name(label: str) -> str:
    name = label.strip()
    if not name:
        raise DataError("Every class needs a name; type one for each class.")
    return name


def _image_problem(data: bytes) -> str | None:
    try:
        check_image(data)
    except ImageError as error:
        return error.reason
    return None


def _unique(name: str, taken: set[str]) -> str:
    """name, or "stem (2).ext", "stem (3).ext" ... so no two files share a name, ignoring case."""
    path = PurePosixPath(name)
    stem, suffix = (path.stem, path.suffix) if path.suffix else (name, "")
    candidate, number = name, 2
    while candidate.casefold() in taken:
        candidate, number = f"{stem} ({number}){suffix}", number + 1
    taken.add(candidate.casefold())
    return candidate
