"""How sure a model says it is (`tl_core.calibration`): temperature scaling fitted on the validation examples and
folded into the head, on constructed probabilities where the answer is known and on a real run."""
from __future__ import annotations

import pytest
import torch

from tl_core.calibration import HIGHEST, LOWEST, calibrate, fit_temperature


def _probs(right: list[bool], sure: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Two classes; every answer given with probability `sure`, right where `right` says."""
    labels = torch.zeros(len(right), dtype=torch.long)
    probs = torch.tensor([[sure, 1 - sure] if r else [1 - sure, sure] for r in right])
    return probs, labels


def test_a_model_right_far_more_often_than_it_says_grows_surer():
    probs, labels = _probs([True] * 95 + [False] * 5, 0.6)  # says 60 %, right 95 % of the time
    temperature, calibrated = calibrate(torch.nn.Linear(3, 2), probs, labels)
    assert temperature < 0.5 and calibrated[0, 0] > 0.8
    assert torch.equal(calibrated.argmax(1), probs.argmax(1))  # the answers, so the accuracy, stay


def test_a_model_surer_than_it_is_right_grows_less_sure():
    probs, labels = _probs([True] * 7 + [False] * 3, 0.99)  # says 99 %, right 70 % of the time
    assert fit_temperature(probs.repeat(10, 1), labels.repeat(10)) > 2


def test_a_few_right_answers_do_not_make_it_certain():
    """Four validation examples, all right: the likelihood alone would sharpen without end."""
    probs, labels = _probs([True] * 4, 0.7)
    temperature = fit_temperature(probs, labels)
    assert LOWEST < temperature < 1 and calibrate(torch.nn.Linear(3, 2), probs, labels)[1][0, 0] < 0.97
    assert fit_temperature(*_probs([], 0.7)) == 1.0 and LOWEST < HIGHEST


def test_the_folded_head_gives_the_calibrated_probabilities():
    torch.manual_seed(0)
    head, features = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(8, 3)), torch.randn(50, 8)
    head.eval()
    with torch.no_grad():
        logits = head(features)
    labels = logits.argmax(1)  # right every time
    temperature, calibrated = calibrate(head, logits.softmax(1), labels)
    with torch.no_grad():
        assert torch.allclose(head(features).softmax(1), calibrated, atol=1e-5) and temperature < 1


def test_a_runs_saved_model_is_calibrated_on_its_validation_pictures(image_run, warm_workspace):
    """The saved model's probabilities on the validation pictures are the calibrated ones: undoing the temperature
    the run records gives back probabilities on which the fit finds that same temperature."""
    from tl_core import Predictor

    from .conftest import photos

    predictor = Predictor.load(image_run.dir)
    files = photos("val", "ants", 15) + photos("val", "bees", 15)
    truth = torch.tensor([predictor.classes.index(f.parent.name) for f in files])
    recorded = image_run.metrics()["temperature"]
    uncalibrated = (predictor.probabilities(files).clamp_min(1e-12).log() * recorded).softmax(1)
    assert LOWEST <= recorded <= HIGHEST and recorded != 1.0
    assert fit_temperature(uncalibrated, truth) == pytest.approx(recorded, rel=0.1)
