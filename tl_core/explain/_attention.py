"""Which words each layer of a text model attends to, for a few of the person's validation sentences.

Per layer, each word's weight is the attention it receives, averaged over the layer's heads and over every
word that looks at it, with word pieces added back into words (as `token_importance` does). [CLS] and [SEP]
are left out: in MiniLM they receive a large share of the attention in most layers (a "no-op" place heads
park their attention, Clark et al. 2019), which would hide what the words get. Weights are scaled per layer so
the most attended word is 1.
"""
from __future__ import annotations

import torch

from ..inputs import tokenize
from ..models.layout import plain_names
from ._tokens import _merge_words

SENTENCES = 3   # validation sentences shown
WORDS = 6       # words a shown sentence has at least, where the data has such sentences


@torch.no_grad()
def sentence_attention(backbone, texts: list[str]) -> list[dict]:
    """For each text: {"text", "layers": [[(word, weight in [0, 1]), ...] per layer, input side first]}.
    Layer k of the list is the k-th transformer layer (the embeddings attend to nothing)."""
    encoder, tokenizer = backbone.model.encoder, backbone.tokenizer
    previous = encoder.config._attn_implementation
    encoder.set_attn_implementation("eager")  # the fused kernels do not return their attention weights
    try:
        result = []
        for text in texts:
            tokens = tokenize([text], tokenizer, backbone.preprocess.max_length)
            ids, mask = tokens.ids[:, :int(tokens.mask.sum())], tokens.mask[:, :int(tokens.mask.sum())]
            attentions = encoder(input_ids=ids, attention_mask=mask, output_attentions=True).attentions
            special = torch.isin(ids[0], torch.tensor(tokenizer.all_special_ids))
            layers = []
            for layer in attentions:                                               # (1, heads, T, T)
                received = layer[0].mean(0)[~special].sum(0)                       # (T,): from every real word
                words = _per_word(text, tokenizer, ids[0], torch.where(special, 0.0, received))
                top = max((w for _, w in words), default=0.0) or 1.0
                layers.append([(word, weight / top) for word, weight in words])
            result.append({"text": text, "layers": layers})
        return result
    finally:
        encoder.set_attn_implementation(previous)


def layer_attention(source, count: int = SENTENCES) -> dict:
    """For a run (its trained model) or a RunConfig (the pretrained model): the layers' titles and names and,
    for `count` validation sentences (one per class in turn), what each layer attends to."""
    from ..rundata import open_run_data
    from ._blocks import pretrained_backbone, trained_backbone
    from ._feature_map import resolve

    config, folder = resolve(source)
    data = open_run_data(config)
    if data.dataset.kind != "text":
        raise ValueError("Attention is shown for texts; for pictures see `block_patches`.")
    backbone = trained_backbone(folder) if folder else pretrained_backbone(
        config, len(data.dataset.classes), "text")
    examples = _one_per_class(data.val_examples, count)
    titles = [b.title for b in backbone.blocks][1:]  # the embeddings have no attention
    return {"titles": titles, "names": plain_names([b.title for b in backbone.blocks], "text")[1:],
            "sentences": [{**s, "label": e.label} for s, e in
                          zip(sentence_attention(backbone, [e.text for e in examples]), examples)],
            "pretrained": folder is None}


def _per_word(text: str, tokenizer, ids: torch.Tensor, received: torch.Tensor) -> list[tuple[str, float]]:
    """Attention per word: the mean of its pieces, so a word split into many pieces does not win by its length."""
    sums = _merge_words(text, tokenizer, ids, received)
    pieces = _merge_words(text, tokenizer, ids, torch.ones_like(received))
    return [(word, total / max(count, 1.0)) for (word, total), (_, count) in zip(sums, pieces)]


def _one_per_class(examples: list, count: int) -> list:
    """The first example of each class in turn, shortest first within a class (so each fits a line or two) but
    of at least `WORDS` words, so a layer has something to choose between."""
    queues = {}
    for e in sorted(examples, key=lambda e: (len(e.text.split()) < WORDS, len(e.text))):
        queues.setdefault(e.label, []).append(e)
    picked = []
    while len(picked) < count and any(queues.values()):
        for label in sorted(queues):
            if queues[label] and len(picked) < count:
                picked.append(queues[label].pop(0))
    return picked
