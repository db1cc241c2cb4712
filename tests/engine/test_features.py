"""Frozen outputs cached on disk: one key scheme for pictures and texts, and what changes a key.

(That a second run reads them back instead of running the network is checked in test_trainer.py:
prepare, then a run with the frozen pass forbidden.)
"""
from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import torch
from torch import nn

from tl_core import features
from tl_core.device import Runtime
from tl_core.inputs import Tokens, Views
from tl_core.models.preprocessing import Preprocessing

FLOAT32_CPU = Runtime(torch.device("cpu"), None)
BFLOAT16_CPU = Runtime(torch.device("cpu"), torch.bfloat16)
PICTURES = Preprocessing(input_size=(3, 8, 8), interpolation="bicubic", mean=(0.5,) * 3, std=(0.5,) * 3,
                         crop_pct=0.875, crop_mode="center")
TEXTS = Preprocessing(max_length=128)


def _backbone(name: str, preprocess: Preprocessing) -> SimpleNamespace:
    """What a key reads of a Backbone: its name, architecture and preprocessing (catalogue names, no files)."""
    return SimpleNamespace(name=name, arch=name, preprocess=preprocess)


def test_a_feature_key_changes_with_the_model_the_data_the_preprocessing_and_the_precision():
    lite0 = _backbone("efficientnet_lite0", PICTURES)
    key = features.feature_key(lite0, "data-a", FLOAT32_CPU, "features")
    assert key == features.feature_key(_backbone("efficientnet_lite0", PICTURES), "data-a", FLOAT32_CPU, "features")
    changed = [
        features.feature_key(_backbone("resnet18", PICTURES), "data-a", FLOAT32_CPU, "features"),
        features.feature_key(lite0, "data-b", FLOAT32_CPU, "features"),
        features.feature_key(_backbone("efficientnet_lite0", dataclasses.replace(PICTURES, crop_pct=1.0)), "data-a",
                             FLOAT32_CPU, "features"),
        features.feature_key(lite0, "data-a", BFLOAT16_CPU, "features"),
        features.feature_key(lite0, "data-a", FLOAT32_CPU, "prefix", 3),
    ]
    assert len({key, *changed}) == len(changed) + 1


def test_picture_and_text_features_are_named_by_the_one_key_function(monkeypatch):
    real, made, looked_up = features.feature_key, [], []

    def spy(*args):
        made.append(real(*args))
        return made[-1]

    monkeypatch.setattr(features, "feature_key", spy)
    monkeypatch.setattr(features, "cached_tensor", lambda key, compute: looked_up.append(key))
    lite0 = _backbone("efficientnet_lite0", PICTURES)
    lite0.stages = [(0, nn.Identity()), (1, nn.Identity())]
    views = Views(torch.zeros(4, 3, 8, 8, dtype=torch.uint8), [0, 1], [2, 3], "none", 0)
    features.cached_image_features(lite0, views, "views", FLOAT32_CPU, print)
    features.cached_prefix(lite0, 1, views, "views", FLOAT32_CPU, print)
    tokens = Tokens(torch.ones(2, 3, dtype=torch.long), torch.ones(2, 3, dtype=torch.long))
    features.cached_text_features(_backbone("all-MiniLM-L6-v2", TEXTS), ["good", "bad"], tokens, FLOAT32_CPU, print)
    assert looked_up == made and len(set(made)) == 3


def test_preprocessing_round_trips_through_model_json_unchanged():
    """model.json keeps timm's data config as it always did: same keys, same order, lists for tuples."""
    stored = json.loads(json.dumps(PICTURES.to_dict()))
    assert list(stored) == ["input_size", "interpolation", "mean", "std", "crop_pct", "crop_mode"]
    assert Preprocessing.from_dict(stored) == PICTURES
    assert TEXTS.to_dict() == {"max_length": 128} and Preprocessing.from_dict({"max_length": 128}) == TEXTS
    assert PICTURES.draft_size == int(8 / 0.875)
