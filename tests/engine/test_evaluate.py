"""classification_metrics against numbers worked out by hand."""
from __future__ import annotations

import pytest
import torch

from tl_core.evaluate import classification_metrics


def test_metrics_match_a_hand_count():
    # true:      a    a    a    b    b    c
    # predicted: a    b    a    b    a    c      (confidence of the prediction in brackets)
    probs = torch.tensor([[0.9, 0.05, 0.05], [0.3, 0.6, 0.1], [0.5, 0.4, 0.1],
                          [0.2, 0.7, 0.1], [0.8, 0.1, 0.1], [0.1, 0.1, 0.8]])
    labels = torch.tensor([0, 0, 0, 1, 1, 2])
    m = classification_metrics(probs, labels, ["a", "b", "c"], [f"x{i}" for i in range(6)])
    assert m["accuracy"] == pytest.approx(4 / 6) and m["examples"] == 6
    assert m["confusion"] == [[2, 1, 0], [1, 1, 0], [0, 0, 1]]
    assert m["per_class"]["a"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert m["per_class"]["b"] == pytest.approx({"precision": 1 / 2, "recall": 1 / 2, "f1": 1 / 2, "support": 2})
    assert m["per_class"]["c"] == pytest.approx({"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1})
    assert m["mistake_count"] == 2
    assert [(x["name"], x["true"], x["predicted"]) for x in m["mistakes"]] == [("x4", "b", "a"), ("x1", "a", "b")]
    assert m["mistakes"][0]["confidence"] == pytest.approx(0.8)  # most confident mistake first


def test_a_class_never_predicted_scores_zero_not_nan():
    m = classification_metrics(torch.tensor([[0.9, 0.1], [0.8, 0.2]]), torch.tensor([0, 1]), ["a", "b"], ["p", "q"])
    assert m["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
