"""What a person should know about a dataset before training: blocking errors, warnings, counts per split."""

from __future__ import annotations

import hashlib
import os
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Hashable

from .examples import DataError, Dataset, Example, Skipped, plural
from .split import split

MIN_PER_CLASS = 2  # one to learn from, one to check on
RECOMMENDED_PER_CLASS = 5
IMBALANCE_RATIO = 3  # from this ratio on, a model visibly favours the larger class


@dataclass
class Report:
    """A dataset's health: `errors` block training, `warnings` only inform."""

    kind: str
    counts: dict[str, int]  # per class, all examples
    train_counts: dict[str, int]  # per class after the split; empty when the split failed
    val_counts: dict[str, int]
    errors: list[str]
    warnings: list[str]
    skipped: list[Skipped]
    duplicates: list[tuple[str, str]]  # names of identical pairs: across classes first, then across splits
    summary: str = ""  # how the source became these examples: for a table, its lines and what became of each
    # The split the counts were made on (indices into dataset.examples, sorted); empty when it failed. The
    # report owns it, so what a person checked and what trains can never be two different splits.
    train_idx: list[int] = field(default_factory=list, repr=False)
    val_idx: list[int] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        """Plain JSON types, for the run record and the UI."""
        data = asdict(self)
        del data["train_idx"], data["val_idx"]  # thousands of numbers no person or UI reads
        data["duplicates"] = [list(pair) for pair in self.duplicates]
        data["ok"] = self.ok
        return data


def make_report(dataset: Dataset, val_fraction: float = 0.2, seed: int = 0) -> Report:
    """Check a dataset with the same split training will use, so the numbers shown are the ones trained on.

    This is the one place that splits: training reads the split back from the report (`tl_core.open_run_data`).
    """
    examples = dataset.examples
    counts = Counter(e.label for e in examples)
    counts = {label: counts[label] for label in dataset.classes}
    errors, warnings = _count_problems(counts)
    train_counts: dict[str, int] = {}
    val_counts: dict[str, int] = {}
    train: list[int] = []
    val: list[int] = []
    try:
        train, val = split(dataset, val_fraction, seed)
    except DataError as error:
        errors.append(str(error))
    else:
        train_counts = _count(examples, train, dataset.classes)
        val_counts = _count(examples, val, dataset.classes)
        if any(e.split for e in examples):
            errors += [f"Class '{c}' has no training examples; move some of its pictures into the train folder."
                       for c, n in train_counts.items() if n == 0]
            warnings += [f"Class '{c}' has no validation examples, so its accuracy cannot be measured; "
                         "add some to the validation folder." for c, n in val_counts.items() if n == 0]
    duplicates, duplicate_warnings = _duplicates(examples, set(val))
    warnings += duplicate_warnings
    if dataset.skipped:
        thing = "row" if dataset.kind == "text" else "file"
        verb = "was" if len(dataset.skipped) == 1 else "were"
        warnings.append(f"{plural(len(dataset.skipped), thing)} {verb} skipped; the list says why for each.")
    warnings += dataset.notes
    return Report(dataset.kind, counts, train_counts, val_counts, errors, warnings,
                  list(dataset.skipped), duplicates, dataset.summary, train, val)


def _count_problems(counts: dict[str, int]) -> tuple[list[str], list[str]]:
    errors = [] if len(counts) >= 2 else ["Add at least two classes."]
    warnings = []
    for label, n in counts.items():
        if n < MIN_PER_CLASS:
            errors.append(f"Class '{label}' has only {plural(n, 'example')}; each class needs at least "
                          f"{MIN_PER_CLASS} ({RECOMMENDED_PER_CLASS} or more recommended).")
        elif n < RECOMMENDED_PER_CLASS:
            warnings.append(f"Class '{label}' has only {n} examples; {RECOMMENDED_PER_CLASS} or more per class "
                            "give more reliable results.")
    if len(counts) >= 2:
        largest = max(counts, key=lambda c: counts[c])
        smallest = min(counts, key=lambda c: counts[c])
        ratio = counts[largest] / counts[smallest]
        if ratio >= IMBALANCE_RATIO:
            warnings.append(f"'{largest}' has {ratio:.0f}× more examples than '{smallest}'; the model may favour "
                            f"'{largest}', so add more '{smallest}' examples if you can.")
    return errors, warnings


def _count(examples: list[Example], indices: list[int], classes: list[str]) -> dict[str, int]:
    counts = Counter(examples[i].label for i in indices)
    return {label: counts[label] for label in classes}


def _duplicates(examples: list[Example], in_val: set[int]) -> tuple[list[tuple[str, str]], list[str]]:
    """Identical pairs, worst first: a copy under two labels teaches a contradiction, and a copy in both
    splits makes validation accuracy look better than it is."""
    kinds: dict[str, list[tuple[str, str]]] = {"class": [], "split": [], "same": []}
    for group in _identical_groups(examples):
        first = group[0]
        for other in group[1:]:
            pair = (examples[first].name, examples[other].name)
            if examples[first].label != examples[other].label:
                kinds["class"].append(pair)
            elif (first in in_val) != (other in in_val):
                kinds["split"].append(pair)
            else:
                kinds["same"].append(pair)
    warnings = []
    if pairs := kinds["class"]:
        warnings.append(f"Found {_pairs(pairs)} with different labels (e.g. '{pairs[0][0]}' and '{pairs[0][1]}'); "
                        "keep each in its right class only.")
    if pairs := kinds["split"]:
        warnings.append(f"Found {_pairs(pairs)} split across training and validation (e.g. '{pairs[0][0]}' and "
                        f"'{pairs[0][1]}'), which makes validation look better than it is; remove the copies.")
    if pairs := kinds["same"]:
        warnings.append(f"Found {_pairs(pairs)} within one class (e.g. '{pairs[0][0]}' and '{pairs[0][1]}'); "
                        "copies add nothing to learn from.")
    return kinds["class"] + kinds["split"] + kinds["same"], warnings


def _pairs(pairs: list[tuple[str, str]]) -> str:
    return plural(len(pairs), "identical pair")


def _identical_groups(examples: list[Example]) -> list[list[int]]:
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for index, key in enumerate(_fingerprints(examples)):
        if key is not None:
            groups[key].append(index)
    return [g for g in groups.values() if len(g) > 1]


def _fingerprints(examples: list[Example]) -> list[Hashable | None]:
    """Same key for same content: normalised text, or a hash of the bytes. A file is hashed only when
    another file has the same size, so a large folder is mostly just stat()ed."""
    sizes = [_size(e) for e in examples]
    repeated = {size for size, n in Counter(sizes).items() if size is not None and n > 1}
    keys: list[Hashable | None] = []
    for example, size in zip(examples, sizes):
        if example.text is not None:
            keys.append(" ".join(example.text.casefold().split()))
        elif example.data is not None:
            keys.append(hashlib.blake2b(example.data).digest())
        elif size in repeated:
            keys.append(_file_digest(example.path))
        else:
            keys.append(None)
    return keys


def _size(example: Example) -> int | None:
    if example.path is None or example.data is not None or example.text is not None:
        return None
    try:
        return os.stat(example.path).st_size
    except OSError:
        return None


def _file_digest(path: os.PathLike) -> bytes | None:
    digest = hashlib.blake2b()
    try:
        with open(path, "rb") as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None
    return digest.digest()
