"""The feature map: PCA of pooled features, before (pretrained) and after (trained), with a separability number."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tl_core.config import RunConfig
from tl_core.explain import (describe_separation, feature_map, feature_map_before, feature_maps_for_run,
                             nearest_centre_accuracy)


def test_pretrained_features_already_separate_ants_and_bees(hymenoptera):
    result = feature_map_before(RunConfig(data=str(hymenoptera)))
    assert len(result["x"]) == len(result["y"]) == len(result["labels"]) == len(result["names"]) == 153
    assert set(result["labels"]) == {"ants", "bees"}
    assert all(name.startswith("val/") for name in result["names"])
    assert result["start"] == "pretrained"
    assert result["chance"] == pytest.approx(83 / 153)                  # 83 bees, 70 ants
    assert result["separability"] > 0.85 and result["separability_full"] > 0.85   # measured 0.92 and 0.93
    assert result["verdict"] == "separate" and result["summary"].startswith("The classes form separate groups")
    assert result["headline"] == "Yes: the pretrained features already tell the classes apart"
    assert result["dimensions"] == 1280
    ev = result["explained_variance"]
    assert len(ev) == 2 and ev[0] >= ev[1] > 0 and sum(ev) < 1


def test_a_head_only_run_has_no_after_map(yelp_run):
    """Only the head trained, so the network (and its map) did not change: no second, identical picture."""
    maps = feature_maps_for_run(yelp_run)                                # a Run; ids and folders work too
    assert maps["before"]["start"] == "pretrained" and maps["after"] is None
    assert len(maps["before"]["x"]) == 60                                # a fifth of 300 reviews
    assert feature_maps_for_run(yelp_run.id)["before"]["x"] == pytest.approx(maps["before"]["x"])


def test_a_fine_tuned_run_maps_its_own_features_after(yelp_subset, tmp_path):
    from tl_core.runs import create_run
    from tl_core.worker import run_worker

    small = tmp_path / "yelp100.txt"
    small.write_text("\n".join(yelp_subset.read_text().splitlines()[:100]) + "\n")
    run = create_run(RunConfig(data=str(small), unfreeze=1, epochs=2, name="yelp last block"))
    assert run_worker(run.dir) == 0, (run.dir / "events.jsonl").read_text()
    maps = feature_maps_for_run(run)
    assert maps["before"]["start"] == "pretrained" and maps["after"]["start"] == "trained"
    assert maps["before"]["labels"] == maps["after"]["labels"] and len(maps["after"]["x"]) == 20
    assert maps["after"]["headline"].startswith(("Yes: your trained", "Partly: your trained", "Not yet: your trained"))
    moved = max(abs(a - b) for a, b in zip(maps["before"]["x"], maps["after"]["x"]))
    assert moved > 1e-2 * max(abs(a) for a in maps["before"]["x"])     # the fine-tuned block changed the features


def test_the_words_follow_the_numbers():
    """Headline and sentence come from the measured separability against chance, never a fixed title."""
    low = describe_separation(0.4, 0.38, 0.5, 1280, "pretrained")        # below guessing
    assert low["verdict"] == "mixed"
    assert low["headline"] == "Not yet: the pretrained features do not tell the classes apart"
    assert low["summary"] == ("The classes are mixed together, no better than guessing: sorting each example by the "
                              "nearest class centre gets 40% right in the 1280 numbers the head reads (guessing would "
                              "get 50%), and 38% in this picture.")
    high = describe_separation(0.95, 0.9, 0.5, 1280, "pretrained")
    assert high["verdict"] == "separate" and "already tell the classes apart" in high["headline"]
    assert high["summary"].startswith("The classes form separate groups: ") and "95% right" in high["summary"]
    middle = describe_separation(0.64, 0.32, 0.25, 1280, "pretrained")  # measured on 148 tomato-leaf photos
    assert middle["verdict"] == "partly" and middle["headline"].startswith("Partly:")
    assert "only 2 of those 1280 directions and gets 32%, so the clouds overlap here more" in middle["summary"]
    assert describe_separation(0.9, 0.9, 0.5, 384, "random")["headline"].startswith("Yes: random weights' features")


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
