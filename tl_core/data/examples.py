"""The shapes every loader returns, so the UI, CLI and training read one format whatever the source."""

from __future__ import annotations

from dataclasses import dataclass
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


def make_dataset(kind: str, examples: list[Example], skipped: list[Skipped], notes: list[str]) -> Dataset:
    """Build a Dataset whose classes always match its examples."""
    return Dataset(kind, examples, sorted({e.label for e in examples}), skipped, notes)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 text' / '3 texts', with thousands separators, for notes read by people."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"
