"""Train/validation split: the source's own split when it has one, else stratified and seeded."""

from __future__ import annotations

import random

from .examples import DataError, Dataset


def split(dataset: Dataset, val_fraction: float = 0.2, seed: int = 0) -> tuple[list[int], list[int]]:
    """(train indices, val indices) into dataset.examples, both sorted.

    When any example carries a split (train/ and val/ folders), that split is used as given and
    examples without one train. Otherwise every class with at least two examples gives
    max(1, round(n * val_fraction)) to validation and keeps at least one for training, so each
    class is measured and learnt; a class of one trains only.
    """
    if not 0 < val_fraction <= 0.9:
        raise DataError(f"The validation share must be above 0 and at most 0.9 (got {val_fraction}); pick e.g. 0.2.")
    examples = dataset.examples
    if any(e.split for e in examples):
        val = [i for i, e in enumerate(examples) if e.split == "val"]
        train = [i for i, e in enumerate(examples) if e.split != "val"]
    else:
        train, val = _stratified(dataset, val_fraction, random.Random(seed))
    if not val:
        raise DataError(
            "No examples left for validation; add at least 2 examples to a class, or add a val/ folder."
        )
    return sorted(train), sorted(val)


def _stratified(dataset: Dataset, val_fraction: float, rng: random.Random) -> tuple[list[int], list[int]]:
    by_label: dict[str, list[int]] = {}
    for index, example in enumerate(dataset.examples):
        by_label.setdefault(example.label, []).append(index)
    train: list[int] = []
    val: list[int] = []
    for label in sorted(by_label):  # a fixed order, so one seed always gives one split
        indices = by_label[label]
        rng.shuffle(indices)
        take = min(len(indices) - 1, max(1, round(len(indices) * val_fraction)))
        val += indices[:take]
        train += indices[take:]
    return train, val
