"""The shapes every loader returns, so the UI, CLI and training read one format whatever the source."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path


class DataError(ValueError):
    """A problem the user must fix; str() is one plain sentence saying what to do."""


@dataclass(frozen=True)
class Example:
    """One labelled example; exactly one of path, data or text carries its content."""

    label: str
    name: str  # what a person sees: relative path in the folder/zip, upload name, or "row 12"
    path: Path | None = None  # image file on disk
    data: bytes | None = None  # image bytes held in memory (browser upload)
    text: str | None = None  # text example
    split: str | None = None  # "train" / "val" when the source says so (train/ and val/ folders)


@dataclass(frozen=True)
class Skipped:
    """An input left out, with a reason a person can act on."""

    name: str
    reason: str


@dataclass
class Dataset:
    """Everything read from one source: usable examples plus what was left out and why."""

    kind: str  # "image" | "text"
    examples: list[Example]
    classes: list[str]  # sorted unique labels
    skipped: list[Skipped]
    notes: list[str]  # non-fatal remarks shown to the user
    summary: str = ""  # how the source became these examples, e.g. "1,000 lines read, 1,000 examples."


def make_dataset(kind: str, examples: list[Example], skipped: list[Skipped], notes: list[str],
                 summary: str = "") -> Dataset:
    """Build a Dataset whose classes always match its examples."""
    return Dataset(kind, examples, sorted({e.label for e in examples}), skipped, notes, summary)


def rename_labels(dataset: Dataset, names: dict[str, str]) -> Dataset:
    """The same examples with their labels renamed (`{"0": "negative"}`), so a model trains and shows readable classes.

    Labels not named keep their own; a name that is blank, names a label the data lacks, or would give two
    classes one name is refused with a sentence, since training on it would silently merge or lose classes.
    """
    names = {str(label): " ".join(str(name).split()) for label, name in names.items()}
    unknown = sorted(label for label in names if label not in dataset.classes)
    if unknown:
        raise DataError(f"The data has no class {_quoted(unknown)} to rename; its classes are "
                        f"{_quoted(dataset.classes)}. Rename only those.")
    blank = sorted(label for label, name in names.items() if not name)
    if blank:
        raise DataError(f"The new name for class {_quoted(blank)} is empty; type a name, or keep the label as it is.")
    final = [names.get(label, label) for label in dataset.classes]
    twice = sorted({name for name in final if final.count(name) > 1})
    if twice:
        raise DataError(f"Two classes would both be called {_quoted(twice)}; give each class its own name.")
    if not names:
        return dataset
    examples = [replace(e, label=names.get(e.label, e.label)) for e in dataset.examples]
    return make_dataset(dataset.kind, examples, dataset.skipped, dataset.notes, dataset.summary)


def _quoted(labels: list[str]) -> str:
    return ", ".join(f"'{label}'" for label in labels)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 text' / '3 texts', with thousands separators, for notes read by people."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


def seen_ways(views: int) -> str:
    """How training sees each picture in `views` views, as a person says it: "as they are and mirrored"."""
    return {1: "as they are", 2: "as they are and mirrored"}.get(
        views, f"as they are, mirrored and in {plural(views - 2, 'augmented copy', 'augmented copies')}")


def things(kind: str) -> str:
    """What a dataset of this kind holds, as a person says it: 'pictures' or 'texts'."""
    return "pictures" if kind == "image" else "texts"


def duration(seconds: float) -> str:
    """'under a second', '8 s', '4 min 30 s', '11 min', '1 h 5 min': how long, as a person says it. A head-only
    run on features prepared ahead trains in under half a second, which whole seconds would call '0 s'."""
    if seconds < 1:
        return "under a second"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min" + (f" {rest} s" if rest and minutes < 10 else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" + (f" {minutes} min" if minutes else "")
