"""split(): the source's split when given, else stratified, seeded, and never an empty validation set."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings, strategies as st

from tl_core.data import DataError, Dataset, Example, load_image_folder, split


def dataset_of(counts: dict[str, int]) -> Dataset:
    examples = [Example(label=label, name=f"{label} {i}", text=f"{label} {i}")
                for label, n in counts.items() for i in range(n)]
    return Dataset("text", examples, sorted(counts), [], [])


def test_same_seed_same_split_other_seed_other_split():
    data = dataset_of({"a": 30, "b": 30})
    assert split(data, 0.2, seed=1) == split(data, 0.2, seed=1)
    assert split(data, 0.2, seed=1) != split(data, 0.2, seed=2)


def test_stratified_counts():
    data = dataset_of({"a": 50, "b": 7, "c": 2, "d": 1})
    train, val = split(data, 0.2)
    val_counts = Counter(data.examples[i].label for i in val)
    assert val_counts == {"a": 10, "b": 1, "c": 1}  # round(7 * 0.2) = 1; c keeps one to train on; d trains only
    assert sorted(train + val) == list(range(len(data.examples)))


@settings(max_examples=50, deadline=None, database=None)
@given(st.dictionaries(st.sampled_from("abcde"), st.integers(1, 40), min_size=1),
       st.floats(0.01, 0.9), st.integers(0, 99))
def test_every_class_of_two_is_in_both_splits(counts, fraction, seed):
    data = dataset_of(counts)
    if max(counts.values()) < 2:
        with pytest.raises(DataError, match="No examples left for validation"):
            split(data, fraction, seed)
        return
    train, val = split(data, fraction, seed)
    assert set(train).isdisjoint(val) and len(train) + len(val) == len(data.examples)
    train_labels = Counter(data.examples[i].label for i in train)
    val_labels = Counter(data.examples[i].label for i in val)
    for label, n in counts.items():
        assert train_labels[label] >= 1
        assert val_labels[label] == (min(n - 1, max(1, round(n * fraction))) if n >= 2 else 0)


def test_the_folders_split_is_kept(hymenoptera):
    data = load_image_folder(hymenoptera)
    train, val = split(data, 0.5, seed=3)
    assert (len(train), len(val)) == (245, 153)
    assert all(data.examples[i].split == "val" for i in val)


def test_given_split_without_val_examples_is_an_error():
    data = Dataset("image", [Example("a", "x", split="train"), Example("b", "y")], ["a", "b"], [], [])
    with pytest.raises(DataError, match="No examples left for validation"):
        split(data)


@pytest.mark.parametrize("fraction", [0, -0.1, 0.95, 1.0])
def test_fraction_must_be_sensible(fraction):
    with pytest.raises(DataError, match="validation share"):
        split(dataset_of({"a": 5, "b": 5}), fraction)
