"""A trained model on disk and back: safetensors plus model.json rebuild exactly the same network."""
from __future__ import annotations

import json

import pytest
import timm
import torch

from tl_core.checkpoint import ENCODER, TOKENIZER, WEIGHTS, is_trained_model, load_trained, save_model
from tl_core.config import ALL, RunConfig
from tl_core.freeze import plan_for
from tl_core.inputs import tokenize
from tl_core.models.image import wrap_timm
from tl_core.models.text import TextClassifier, wrap_encoder

from .conftest import photos


def test_an_image_model_round_trips(tmp_path):
    torch.manual_seed(0)
    backbone = wrap_timm(timm.create_model("test_resnet", pretrained=False, num_classes=3), "test_resnet")
    save_model(backbone, ["a", "b", "c"], tmp_path, RunConfig(data="x", unfreeze=2))
    assert is_trained_model(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.safetensors"]
    trained = load_trained(tmp_path)
    assert (trained.kind, trained.arch, trained.classes) == ("image", "test_resnet", ["a", "b", "c"])
    assert trained.preprocess == backbone.preprocess
    assert json.loads((tmp_path / "model.json").read_text())["unfreeze"] == 2
    x = torch.randn(2, *backbone.preprocess.input_size)
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


@pytest.mark.parametrize("config", [RunConfig(data="x", unfreeze=ALL), RunConfig(data="x", unfreeze=1000),
                                    RunConfig(data="x", from_scratch=True), RunConfig(data="x", unfreeze=2)],
                         ids=["all", "above the count", "from scratch", "two"])
def test_model_json_stores_the_blocks_that_trained(tmp_path, config):
    backbone = wrap_timm(timm.create_model("test_resnet", pretrained=False, num_classes=2), "test_resnet")
    save_model(backbone, ["a", "b"], tmp_path, config)
    stored = json.loads((tmp_path / "model.json").read_text())
    assert stored["unfreeze"] == plan_for(backbone, config.unfreeze, config.from_scratch).unfreeze
    assert stored["unfreeze"] == (2 if config.unfreeze == 2 else backbone.num_blocks)
    assert stored["from_scratch"] == config.from_scratch


@pytest.mark.parametrize("raw", [{"unfreeze": ALL}, {"unfreeze": 0, "from_scratch": True}, {"unfreeze": None}, {}],
                         ids=["all", "scratch as 0", "no config", "no key"])
def test_a_model_json_written_before_it_stored_the_resolved_count_still_loads(tmp_path, raw):
    backbone = wrap_timm(timm.create_model("test_resnet", pretrained=False, num_classes=2), "test_resnet")
    save_model(backbone, ["a", "b"], tmp_path, RunConfig(data="x"))
    stored = json.loads((tmp_path / "model.json").read_text())
    stored.pop("unfreeze")
    (tmp_path / "model.json").write_text(json.dumps({**stored, **raw}))
    x = torch.randn(1, *backbone.preprocess.input_size)
    with torch.no_grad():
        torch.testing.assert_close(load_trained(tmp_path).model(x), backbone.model.eval()(x), rtol=0, atol=0)


def test_training_and_every_reload_build_the_same_picture_model(tmp_path, warm_workspace):
    """The model training builds (`models.build`), saved and rebuilt by the checkpoint, the predictor and the
    explain views: the same parameters, and the same logits on a real photo."""
    from tl_core.explain._source import subject
    from tl_core.inputs import normalize
    from tl_core.models import build
    from tl_core.predictor import Predictor

    torch.manual_seed(0)
    trained_here = build("", "image", 2)
    save_model(trained_here, ["ants", "bees"], tmp_path, RunConfig(data="x"))
    reloaded = [load_trained(tmp_path).model, Predictor.load(tmp_path).trained.model, subject(tmp_path).backbone.model]
    predictor = Predictor.load(tmp_path)
    x = normalize(predictor.image_batch([photos("val", "bees", 1)[0]]), predictor.trained.preprocess)
    with torch.no_grad():
        expected = trained_here.model.eval()(x)
        for model in reloaded:
            assert list(model.state_dict()) == list(trained_here.model.state_dict())
            torch.testing.assert_close(model(x), expected, rtol=0, atol=0)


def test_training_and_the_reload_build_the_same_text_model(tmp_path, minilm):
    from tl_core.models import build

    save_model(minilm, ["neg", "pos"], tmp_path, RunConfig(data="x"))
    trained = load_trained(tmp_path)
    same = {k: v for k, v in minilm.model.encoder.config.to_dict().items() if k != "_name_or_path"}
    assert same.items() <= trained.model.encoder.config.to_dict().items()
    assert list(trained.model.state_dict()) == list(minilm.model.state_dict())
    rebuilt = build(str(tmp_path / ENCODER), "text", 2, weights=tmp_path / WEIGHTS, tokenizer=tmp_path / TOKENIZER)
    assert [b.param_names for b in rebuilt.blocks] == [b.param_names for b in minilm.blocks]
    tokens = tokenize(["The food was great.", "Cold and slow."], trained.tokenizer, 32)
    with torch.no_grad():
        expected = minilm.model.eval()(tokens.ids, tokens.mask)
        torch.testing.assert_close(trained.model(tokens.ids, tokens.mask), expected, rtol=0, atol=0)
