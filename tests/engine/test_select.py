"""Which model and how many layers: LogME where the answer is known, per-layer scores on real pictures, the
sentences, and `transferlab rank --json`."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import multivariate_normal

from tl_core.auto import suggest_unfreeze
from tl_core.config import ALL
from tl_core.select import layer_scores, relatedness_sentence, sample_data
from tl_core.transferability import logme, reduce_dims, stratified_sample

from .conftest import HYMENOPTERA, link_photos


def _clusters(informative: float, n: int = 200, d: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two classes whose features differ by `informative` along one direction, plus unit noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    feats = rng.normal(size=(n, d))
    feats[:, 0] += informative * (2 * labels - 1)
    return feats, labels


def test_separable_labels_score_higher_than_random_labels():
    feats, labels = _clusters(informative=3.0)
    shuffled = np.random.default_rng(1).permutation(labels)
    assert logme(feats, labels) > logme(feats, shuffled) + 0.3


def test_more_informative_features_score_higher():
    scores = [logme(*_clusters(informative)) for informative in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert scores == sorted(scores), scores


def test_logme_is_the_maximised_evidence_of_the_bayesian_linear_model():
    """The fixed-point iteration against the plain reference: the Gaussian marginal likelihood
    y ~ N(0, I / beta + F F^T / alpha) maximised over alpha and beta by a general optimiser."""
    feats, labels = _clusters(informative=1.0, n=60, d=5)
    target = labels - labels.mean()  # two classes: both one-vs-rest targets give the same evidence

    def minus_evidence(log_ab: np.ndarray) -> float:
        alpha, beta = np.exp(log_ab)
        cov = np.eye(len(target)) / beta + feats @ feats.T / alpha
        return -multivariate_normal(np.zeros(len(target)), cov).logpdf(target) / len(target)

    best = minimize(minus_evidence, x0=np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9})
    assert logme(feats, labels) == pytest.approx(-best.fun, abs=1e-3)


def test_reduced_features_are_fewer_than_the_examples_and_keep_the_ranking():
    feats, labels = _clusters(informative=2.0, n=40, d=300)
    assert reduce_dims(feats).shape == (40, 10)  # at most a quarter of the examples
    noise = np.random.default_rng(2).normal(size=feats.shape)
    assert logme(reduce_dims(feats), labels) > logme(reduce_dims(noise), labels)


def test_stratified_sample_keeps_each_class_share():
    labels = ["a"] * 900 + ["b"] * 100 + ["c"] * 2
    chosen = stratified_sample(labels, 100)
    picked = [labels[i] for i in chosen]
    assert (picked.count("a"), picked.count("b"), picked.count("c")) == (89, 9, 1)
    assert chosen == sorted(chosen) and stratified_sample(labels[:50], 100) == list(range(50))


def test_unfreeze_follows_the_curve():
    titles = ["Stem", "Block 1", "Block 2", "Block 3"]
    n, reason = suggest_unfreeze(titles, [-0.6, -0.5, -0.3, -0.2])
    assert n == 0 and "only the new head" in reason
    n, reason = suggest_unfreeze(titles, [-0.6, -0.2, -0.3, -0.4])
    assert n == 3 and "peaks at Block 1" in reason and "the last 2 blocks learned" in reason  # at least ADAPT_BLOCKS
    assert "fine-tune the last 3 blocks (unfreeze 3): once blocks need to adapt, 3 did at least as well" in reason
    assert suggest_unfreeze(titles, [-0.6, -0.2, -0.3, -0.205])[0] == 0  # within the tolerance of the peak
    assert suggest_unfreeze(titles[:3], [-0.2, -0.3, -0.4])[0] == 2  # no more blocks than the model has
    eight = ["Stem"] + [f"Block {i}" for i in range(1, 8)]
    n, reason = suggest_unfreeze(eight, [-0.9, -0.8, -0.7, -0.2, -0.5, -0.4, -0.3, -0.3])
    assert n == 4 and reason.endswith("the last 4 blocks learned things specific to what the model was trained on, "
                                      "so fine-tune the last 4 blocks (unfreeze 4).")


def test_a_text_model_fine_tunes_every_block_whatever_its_curve():
    """yelp's curve climbed to the last layer on the ranking sample, yet the head alone scored 90.0 % against
    every layer's 95.0 (docs/quality.md): the curve is said, and every block trains."""
    layers = ["Embeddings"] + [f"Layer {i}" for i in range(1, 7)]
    n, reason = suggest_unfreeze(layers, [-0.6, -0.56, -0.5, -0.41, -0.39, -0.39, -0.39], "text")
    assert n == ALL and reason.startswith("The score climbs to the last layer (Layer 6), which alone would say the "
                                          "new head will do; yet fine-tuning every layer")
    assert reason.endswith("so fine-tune all blocks (unfreeze all).")
    n, reason = suggest_unfreeze(layers, [0.05, 0.1, 0.13, 0.13, 0.09, 0.08, -0.2], "text")
    assert n == ALL and reason.startswith("The score peaks at Layer 2 and falls after it, so the later layers need "
                                          "to adapt; and fine-tuning every")


@pytest.mark.parametrize("gap, words", [(0.8, "a lot like"), (0.45, "somewhat like"), (0.1, "quite unlike")])
def test_relatedness_in_words(gap, words):
    """In between, no number of layers is promised: a sentence model fine-tunes all of them (it said "a few later
    layers may help more" above a Train step proposing every block)."""
    assert "a few" not in relatedness_sentence(gap, "text")
    assert words in relatedness_sentence(gap, "image") and "pictures" in relatedness_sentence(gap, "image")
    assert "texts" in relatedness_sentence(gap, "text")
    # texts: a random twin's pooled word embeddings separate many text classes, so a low gap is not "unlike"
    if gap < 0.2:  # and far pictures need more layers only with enough of them: few train only the head (step 4)
        assert relatedness_sentence(gap, "image").endswith("with enough pictures of each class, fine-tuning more "
                                                           "of its layers will matter.")
        assert "quite unlike" not in relatedness_sentence(gap, "text") and "random weights" in \
            relatedness_sentence(gap, "text")


@pytest.fixture(scope="module")
def ten_and_ten(tmp_path_factory):
    return link_photos(tmp_path_factory.mktemp("rank"), {"train": {"ants": 10, "bees": 10}})


def test_per_layer_scores_on_real_pictures(warm_workspace, tmp_path):
    data = link_photos(tmp_path / "photos", {"train": {"ants": 20, "bees": 20}})
    layers = layer_scores(sample_data(str(data)))
    assert layers.blocks == ["Stem"] + [f"Block {i}" for i in range(1, 8)]  # EfficientNet-Lite0's blocks
    assert len(layers.scores) == 8 and all(np.isfinite(layers.scores))
    assert 0 <= layers.unfreeze < 8 and layers.reason


def test_rank_lists_each_available_model_then_the_recommendation_in_json_and_in_words(warm_workspace, ten_and_ten, capsys):
    from tl_core import catalog
    from tl_core.auto import CLOSE_SCORES
    from tl_core.cli import main

    assert main(["rank", str(ten_and_ten), "--json", "--sample", "8"]) == 0  # 4 + 4: every model is built and run
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    *models, recommendation = lines
    assert {m["model"] for m in models} == {m.name for m in catalog("image") if m.available}
    assert [m["score"] for m in models] == sorted((m["score"] for m in models), reverse=True)
    assert all(set(m) == {"model", "score", "seconds"} and m["seconds"] >= 0 for m in models)
    chosen = next(m for m in models if m["model"] == recommendation["recommended"])  # on a CPU: the smallest
    assert chosen["score"] >= models[0]["score"] - CLOSE_SCORES and recommendation["reason"]  # within it of the best
    assert set(recommendation) == {"recommended", "unfreeze", "gap", "reason"}

    assert main(["rank", str(ten_and_ten), "--sample", "8"]) == 0  # in words: how much of the data was scored
    said = capsys.readouterr().out.splitlines()
    assert said[0] == "Scoring 8 of 20 pictures, every class keeping its share." and said[-1].startswith("Recommended:")


def test_rank_refuses_missing_data_in_words(tmp_path, capsys):
    from tl_core.cli import main

    assert main(["rank", str(tmp_path / "missing")]) == 2
    assert "Cannot rank:" in capsys.readouterr().err


def test_a_large_set_is_scored_on_the_ranking_sample_every_class_keeping_its_share(capsys):
    """398 ants and bees are ranked on RANK_SAMPLE["image"] of them (what the ranking's time rests on; a class's
    share rounds down, so one fewer here), each class in its share of the whole, and `transferlab rank --help`
    states that default."""
    from tl_core.cli import main
    from tl_core.config import RANK_SAMPLE

    whole, sample = sample_data(str(HYMENOPTERA), at_most=10**9), sample_data(str(HYMENOPTERA))
    assert len(whole.examples) == 398 and RANK_SAMPLE["image"] - 2 < len(sample.examples) <= RANK_SAMPLE["image"]
    share = {c: sum(e.label == c for e in whole.examples) / len(whole.examples) for c in whole.classes}
    for c in whole.classes:
        assert abs(sum(e.label == c for e in sample.examples) - share[c] * len(sample.examples)) <= 1
    with pytest.raises(SystemExit):
        main(["rank", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert f"default {RANK_SAMPLE['image']} pictures or {RANK_SAMPLE['text']} texts" in said


def test_one_frozen_pass_gives_the_head_input_and_every_block(workspace, ten_and_ten, monkeypatch):
    """The ranking's ONNX pass (every block pooled, the last one the head's input) against the plain references in
    float32 torch: the network's own features, and the chain of its blocks pooled one by one."""
    import torch

    from tl_core import select
    from tl_core.features import FeatureExtractor
    from tl_core.inputs import decode_images, normalize

    monkeypatch.setattr(select, "ONNX_FROM", 16)  # 20 pictures through the exported graph, as 500 would go
    sample = sample_data(str(ten_and_ten))
    blocks, labels = select.pooled_blocks("efficientnet_lite0", sample)
    backbone = select._backbone("efficientnet_lite0", sample, select.PRETRAINED)
    x = normalize(decode_images(sample.examples, backbone.preprocess).images, backbone.preprocess)
    with torch.no_grad():
        features = FeatureExtractor(backbone)(x).numpy()
        by_block, stages = [], backbone.stages
        for i, (block, module) in enumerate(stages):
            x = module(x)
            if i + 1 == len(stages) or stages[i + 1][0] != block:
                by_block.append(x.mean((2, 3)).numpy())
    assert len(blocks) == len(by_block) == len(backbone.blocks) == 8 and list(labels) == list(sample.labels)
    assert np.allclose(blocks[-1], features, atol=1e-4)
    assert all(np.allclose(ours, plain, atol=1e-4) for ours, plain in zip(blocks, by_block))


def test_a_recommendation_runs_one_pass_per_model_and_one_random_twin(warm_workspace, tmp_path, monkeypatch):
    """Ranking three models and recommending one (its per-block scores, its relatedness) computes four frozen
    outputs: the per-block scores come from the ranking's own pass."""
    from tl_core import catalog, select

    computed = []
    cached_tensor = select.cached_tensor
    monkeypatch.setattr(select, "cached_tensor", lambda key, compute: cached_tensor(
        key, lambda: computed.append(key) or compute()))
    sample = sample_data(str(link_photos(tmp_path / "photos", {"train": {"ants": 3, "bees": 3}})))
    best = select.recommend(sample, select.rank_models(sample), on_cpu=True)
    models = [m.name for m in catalog("image") if m.available]
    assert len(computed) == len(models) + 1 and best.layers.model == best.model


def test_the_random_twin_sees_part_of_the_sample_and_the_gap_compares_the_same_pictures(workspace, tmp_path,
                                                                                       monkeypatch):
    """The twin runs on TWIN of the sample's pictures and the pretrained side is read from the ranking's pass over
    those same ones, a picture that does not decode left out of both."""
    from tl_core import select
    from tl_core.data import Example

    monkeypatch.setattr(select, "TWIN", 4)
    photos = sample_data(str(link_photos(tmp_path / "photos", {"train": {"ants": 4, "bees": 4}})))
    broken = tmp_path / "broken.jpg"  # a file that changed after it was listed
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    sample = select.Sample("image", photos.classes, [Example("ants", "broken.jpg", path=broken)] + photos.examples)
    feats, labels = select.pooled_features("efficientnet_lite0", sample)
    assert len(feats) == len(photos.examples) == 8
    part = stratified_sample(list(labels), 4)
    twin = select.Sample("image", sample.classes, [photos.examples[i] for i in part])
    random_feats, random_labels = select.pooled_features("efficientnet_lite0", twin, pretrained=False)
    expected = logme(reduce_dims(feats[part]), labels[part]) - logme(reduce_dims(random_feats), random_labels)
    assert select.relatedness(sample, "efficientnet_lite0").gap == pytest.approx(expected)
