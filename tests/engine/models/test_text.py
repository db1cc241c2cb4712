"""Text backbones: MiniLM's blocks, mean pooling over real tokens, and the block contract on other encoders."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tl_core.inputs import tokenize
from tl_core.models.text import TextClassifier, wrap_encoder

SENTENCES = ["The food was wonderful and the staff were kind.", "Cold fries.", "I would never come back here, ever."]


def _assert_contract(backbone, num_layers: int):
    model = backbone.model
    assert [b.title for b in backbone.blocks] == ["Embeddings"] + [f"Layer {i}" for i in range(1, num_layers + 1)]
    in_blocks = [n for b in backbone.blocks for n in b.param_names]
    assert len(in_blocks) == len(set(in_blocks))
    encoder = {f"encoder.{n}" for n, _ in model.encoder.named_parameters()}
    assert set(in_blocks) == encoder
    assert backbone.head is model.classifier
    assert backbone.head_names() == ["classifier.weight", "classifier.bias"]
    assert all(n.startswith("encoder.embeddings.") for n in backbone.blocks[0].param_names)
    for i, block in enumerate(backbone.blocks[1:]):
        assert block.param_names[0].startswith(f"encoder.{block.detail}."), block.detail
        assert block.detail.endswith(f".{i}")


def test_minilm_blocks_are_embeddings_and_six_layers(minilm):
    assert minilm.kind == "text" and minilm.arch == "bert"
    _assert_contract(minilm, 6)
    assert minilm.blocks[-1].param_names[-2:] == ["encoder.pooler.dense.weight", "encoder.pooler.dense.bias"]
    assert minilm.preprocess.to_dict() == {"max_length": 128}


def test_features_then_head_is_the_model(minilm):
    tokens = tokenize(SENTENCES, minilm.tokenizer, 128)
    with torch.no_grad():
        feats = minilm.features(tokens.ids, tokens.mask)
        assert feats.shape == (3, 384)
        torch.testing.assert_close(minilm.head(feats), minilm.model(tokens.ids, tokens.mask))


def test_mean_pooling_ignores_padding(minilm):
    alone = tokenize(SENTENCES[1:2], minilm.tokenizer, 128)
    padded = tokenize(SENTENCES, minilm.tokenizer, 128)
    assert padded.ids.shape[1] > alone.ids.shape[1]
    with torch.no_grad():
        torch.testing.assert_close(minilm.features(alone.ids, alone.mask)[0],
                                   minilm.features(padded.ids, padded.mask)[1], atol=1e-5, rtol=1e-4)


def test_minilm_weights_know_what_sentences_mean(minilm):
    tokens = tokenize(["The meal was delicious.", "The food tasted great.", "My car broke down on the highway."],
                      minilm.tokenizer, 128)
    with torch.no_grad():
        a, b, c = F.normalize(minilm.features(tokens.ids, tokens.mask), dim=1)
    assert float(a @ b) > float(a @ c) + 0.3


def _tiny(kind: str, vocab: int):
    from transformers import (BertConfig, BertModel, DistilBertConfig, DistilBertModel, RobertaConfig,
                              RobertaModel)

    if kind == "bert":
        return BertModel(BertConfig(hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
                                    intermediate_size=32, vocab_size=vocab))
    if kind == "distilbert":
        return DistilBertModel(DistilBertConfig(dim=16, n_layers=3, n_heads=2, hidden_dim=32, vocab_size=vocab))
    return RobertaModel(RobertaConfig(hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
                                      intermediate_size=32, vocab_size=vocab))


@pytest.mark.parametrize("kind", ["bert", "distilbert", "roberta"])
def test_other_encoders_get_one_block_per_layer(kind, minilm):
    backbone = wrap_encoder(TextClassifier(_tiny(kind, minilm.tokenizer.vocab_size), 3), minilm.tokenizer, "tiny")
    _assert_contract(backbone, 3)
    tokens = tokenize(SENTENCES, minilm.tokenizer, 32)
    with torch.no_grad():
        torch.testing.assert_close(backbone.head(backbone.features(tokens.ids, tokens.mask)),
                                   backbone.model(tokens.ids, tokens.mask))
