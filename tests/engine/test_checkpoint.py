"""A trained model on disk and back: safetensors plus model.json rebuild exactly the same network."""
from __future__ import annotations

import json

import timm
import torch

from tl_core.checkpoint import is_trained_model, load_trained, save_model
from tl_core.config import RunConfig
from tl_core.inputs import tokenize
from tl_core.models.image import wrap_timm
from tl_core.models.text import TextClassifier, wrap_encoder


def test_an_image_model_round_trips(tmp_path):
    torch.manual_seed(0)
    backbone = wrap_timm(timm.create_model("test_resnet", pretrained=False, num_classes=3), "test_resnet")
    save_model(backbone, ["a", "b", "c"], tmp_path, RunConfig(data="x", unfreeze=2))
    assert is_trained_model(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.safetensors"]
    trained = load_trained(tmp_path)
    assert (trained.kind, trained.arch, trained.classes) == ("image", "test_resnet", ["a", "b", "c"])
    assert trained.preprocess["input_size"] == backbone.preprocess["input_size"]
    assert json.loads((tmp_path / "model.json").read_text())["unfreeze"] == 2
    x = torch.randn(2, *backbone.preprocess["input_size"])
    with torch.no_grad():
        torch.testing.assert_close(trained.model(x), backbone.model.eval()(x), rtol=0, atol=0)


def test_a_text_model_round_trips_with_its_tokenizer(tmp_path, minilm):
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    encoder = BertModel(BertConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                                   vocab_size=minilm.tokenizer.vocab_size))
    backbone = wrap_encoder(TextClassifier(encoder, 2), minilm.tokenizer, "tiny")
    save_model(backbone, ["neg", "pos"], tmp_path)
    trained = load_trained(tmp_path)
    assert trained.kind == "text" and trained.classes == ["neg", "pos"]
    tokens = tokenize(["good food", "bad service and cold food"], trained.tokenizer, 32)
    assert torch.equal(tokens.ids, tokenize(["good food", "bad service and cold food"], minilm.tokenizer, 32).ids)
    with torch.no_grad():
        torch.testing.assert_close(trained.model(tokens.ids, tokens.mask), backbone.model.eval()(tokens.ids, tokens.mask),
                                   rtol=0, atol=0)
