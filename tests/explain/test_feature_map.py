"""The feature map: PCA of pooled features, before (pretrained) and after (trained), with a separability number."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tl_core.config import RunConfig
from tl_core.explain import feature_map, feature_map_before, feature_maps_for_run, nearest_centre_accuracy


def test_pretrained_features_already_separate_ants_and_bees(hymenoptera):
    result = feature_map_before(RunConfig(data=str(hymenoptera)))
    assert len(result["x"]) == len(result["y"]) == len(result["labels"]) == len(result["names"]) == 153
    assert set(result["labels"]) == {"ants", "bees"}
    assert all(name.startswith("val/") for name in result["names"])
    assert result["start"] == "pretrained"
    assert result["chance"] == pytest.approx(83 / 153)                  # 83 bees, 70 ants
    assert result["separability"] > 0.85 and result["separability_full"] > 0.85   # measured 0.92 and 0.93
    assert result["verdict"] == "separate" and "already form separate groups" in result["summary"]
    ev = result["explained_variance"]
    assert len(ev) == 2 and ev[0] >= ev[1] > 0 and sum(ev) < 1


def test_before_and_after_for_a_text_run(yelp_run):
    maps = feature_maps_for_run(yelp_run)                                # a Run; ids and folders work too
    assert maps["before"]["start"] == "pretrained" and maps["after"]["start"] == "trained"
    n = len(maps["before"]["x"])
    assert n == 60 and len(maps["after"]["x"]) == n                       # a fifth of 300 reviews
    assert maps["before"]["labels"] == maps["after"]["labels"]
    # The head trained on top of frozen features: the features, and so the map, do not change.
    assert maps["after"]["x"] == pytest.approx(maps["before"]["x"], abs=1e-3)
    assert feature_maps_for_run(yelp_run.id)["after"]["x"] == pytest.approx(maps["after"]["x"])


def test_pca_matches_the_covariance_eigenvectors():
    torch.manual_seed(0)
    feats = torch.randn(40, 6) @ torch.diag(torch.tensor([5.0, 3.0, 1.0, 0.5, 0.2, 0.1]))
    from tl_core.explain._feature_map import _project

    coords, explained = _project(feats, "pca")
    centred = (feats - feats.mean(0)).double().numpy()
    values, vectors = np.linalg.eigh(np.cov(centred.T))
    order = values.argsort()[::-1]
    reference = centred @ vectors[:, order[:2]]
    for axis in range(2):  # the same axes up to sign
        assert abs(np.corrcoef(coords[:, axis].numpy(), reference[:, axis])[0, 1]) == pytest.approx(1.0, abs=1e-5)
    assert explained == pytest.approx((values[order[:2]] / values.sum()).tolist(), abs=1e-6)


def test_nearest_centre_accuracy_matches_a_plain_loop():
    torch.manual_seed(1)
    points = torch.randn(30, 3)
    labels = torch.tensor([0] * 12 + [1] * 10 + [2] * 7 + [3])           # class 3 has a single member
    points[labels == 1] += 1.5

    def reference() -> float:
        right = 0
        for i in range(len(points)):
            best, best_d = None, float("inf")
            for c in range(4):
                members = [j for j in range(len(points)) if labels[j] == c and j != i]
                if not members:
                    continue
                d = float((points[i] - points[members].mean(0)).norm())
                if d < best_d:
                    best, best_d = c, d
            right += best == int(labels[i])
        return right / len(points)

    assert nearest_centre_accuracy(points, labels) == pytest.approx(reference())


def test_feature_map_checks_its_inputs(imagenet_lite0):
    images = torch.zeros((3, 3, 224, 224), dtype=torch.uint8)
    with pytest.raises(ValueError, match="one label per input"):
        feature_map(imagenet_lite0, images, ["a", "b"])
    with pytest.raises(ValueError, match="UMAP|Unknown method"):
        feature_map(imagenet_lite0, images, ["a", "b", "a"], method="tsne")
