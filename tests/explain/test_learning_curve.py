"""The learning curve: head-only points on cached frozen features, and a from-scratch smoke test."""
from __future__ import annotations

import time

import pytest
import torch

from tl_core.explain import learning_curve, stratified_subset, summarize


def test_ants_bees_curve_is_monotone_ish_and_fast_once_cached(hymenoptera, monkeypatch):
    points = learning_curve(hymenoptera)                                 # the one feature pass
    assert len(points) == 4 * 3 and {p["mode"] for p in points} == {"head"}
    assert [p["examples_per_class"] for p in points[::3]] == [12, 30, 61, 122]
    curve = {row["fraction"]: row["mean"] for row in summarize(points)}
    assert curve[1.0] >= curve[0.1] - 0.03, curve                        # measured 0.93 at 10 %, 0.93 at 100 %
    assert min(p["val_accuracy"] for p in points) > 0.8

    import tl_core.tasks

    def no_forward(*args, **kwargs):
        raise AssertionError("the frozen network ran again: features were not cached")

    monkeypatch.setattr(tl_core.tasks, "run_frozen", no_forward)
    started = time.time()
    again = learning_curve(hymenoptera)
    assert time.time() - started < 30                                    # ~8 s on a busy 2-core machine
    assert again == points                                               # same shares, same fits


def test_stratified_subset_keeps_class_shares():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 2)
    rows = stratified_subset(labels, 0.1, seed=0)
    assert torch.bincount(labels[rows]).tolist() == [5, 3, 1]            # at least one of every class
    assert rows.tolist() == sorted(set(rows.tolist()))
    assert torch.equal(rows, stratified_subset(labels, 0.1, seed=0))
    assert not torch.equal(rows, stratified_subset(labels, 0.1, seed=1))
    assert len(stratified_subset(labels, 1.0, seed=3)) == len(labels)


def test_scratch_points_train_through_the_engine_loop(yelp_subset, tmp_path):
    small = tmp_path / "yelp_small.txt"
    small.write_text("\n".join(yelp_subset.read_text().splitlines()[:60]) + "\n")
    seen = []
    points = learning_curve(small, fractions=(0.5,), seeds=(0,), include_scratch=True, scratch_epochs=1,
                            on_point=seen.append)
    assert [p["mode"] for p in points] == ["head", "scratch"] and seen == points
    assert all(0 <= p["val_accuracy"] <= 1 for p in points)


def test_fractions_are_checked(hymenoptera):
    with pytest.raises(ValueError, match="fraction"):
        learning_curve(hymenoptera, fractions=(0.0, 1.0))
