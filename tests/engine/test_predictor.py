"""Predictor: the model a run saved, reloaded from the run, an export folder or zip, or in a new process."""
from __future__ import annotations

import json
import os
import subprocess

import pytest
import torch

from tl_core import Predictor, predict
from tl_core.data import Example
from tl_core.export import export_run
from tl_core.inputs import decode_images

from .conftest import CLI, photos

REVIEWS = ["The pasta was amazing and the waiter was lovely.", "Terrible service, cold food, never again.",
           "It was okay I guess."]


def _cli_predict(model, inputs, home) -> list[dict]:
    env = {**os.environ, "TRANSFERLAB_HOME": str(home)}
    out = subprocess.run([str(CLI), "predict", str(model), *map(str, inputs), "--json", "--top-k", "2"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return [json.loads(line) for line in out.stdout.splitlines()]


def _as_json(inputs, results) -> list[dict]:
    return [{"input": str(i), "top": [{"label": label, "probability": p} for label, p in top]}
            for i, top in zip(inputs, results)]


def _assert_same(got: list[dict], expected: list[dict]):
    assert [g["input"] for g in got] == [e["input"] for e in expected]
    for g, e in zip(got, expected):
        assert [t["label"] for t in g["top"]] == [t["label"] for t in e["top"]]
        assert [t["probability"] for t in g["top"]] == pytest.approx([t["probability"] for t in e["top"]], abs=1e-5)


def test_an_exported_image_model_predicts_the_same_in_a_new_process(image_run, image_export, warm_workspace,
                                                                     tmp_path):
    images = photos("val", "ants", 3) + photos("val", "bees", 3)
    expected = _as_json(images, Predictor.load(image_run.id).predict(images, top_k=2))
    _assert_same(_cli_predict(image_export, images, tmp_path / "elsewhere"), expected)
    _assert_same(_as_json(images, predict(image_export, images, top_k=2)), expected)


def test_an_exported_text_model_predicts_the_same_in_a_new_process(text_run, warm_workspace, tmp_path):
    expected = _as_json(REVIEWS, Predictor.load(text_run.id).predict(REVIEWS, top_k=2))
    archive = export_run(text_run, tmp_path / "reviews.zip")
    _assert_same(_cli_predict(archive, REVIEWS, tmp_path / "elsewhere"), expected)
    good, bad = (dict((t["label"], t["probability"]) for t in e["top"]) for e in expected[:2])
    assert good["1"] > 0.5 > bad["1"]  # "1" marks a positive review


def test_predictions_reproduce_the_runs_validation_accuracy(image_run, warm_workspace):
    """Prediction decodes and crops exactly as training did, so it scores the best epoch the same."""
    predictor = Predictor.load(image_run.dir)
    files = photos("val", "ants", 15) + photos("val", "bees", 15)
    probs = predictor.probabilities(files)
    truth = torch.tensor([predictor.classes.index(f.parent.name) for f in files])
    accuracy = (probs.argmax(1) == truth).float().mean().item()
    assert accuracy == pytest.approx(image_run.metrics()["accuracy"], abs=1 / 30 + 1e-6)
    decoded = decode_images([Example(f.parent.name, f.name, path=f) for f in files[:4]],
                            predictor.trained.preprocess, use_cache=False)
    assert torch.equal(predictor.image_batch(files[:4]), decoded.images)


def test_images_as_bytes_and_as_paths_predict_alike(image_run, warm_workspace):
    predictor = Predictor.load(image_run.id)
    files = photos("val", "bees", 2)
    torch.testing.assert_close(predictor.probabilities([f.read_bytes() for f in files]),
                               predictor.probabilities(files))


def test_a_zip_that_escapes_its_folder_is_refused(tmp_path):
    import zipfile

    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../outside/model.json", "{}")
    with pytest.raises(ValueError, match="not a TransferLab export"):
        Predictor.load(archive)
