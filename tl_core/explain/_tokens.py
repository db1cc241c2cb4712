"""Which words a text model leaned on: gradient x input on the input embeddings.

For each word piece, the gradient of the class's log-probability with respect to its word embedding,
times the embedding's difference from a neutral one, estimates how much the prediction would move
without that word (Shrikumar et al. 2016). Three choices make it readable for transformers, each
checked on MiniLM heads trained on 300 and 400 Yelp reviews with 13 test sentences (does a sentiment
word outrank every stop word? 12 of 13 on both models with all three, 6 of 13 with a single gradient):
- the gradient is averaged along the path from a neutral embedding to the real one (integrated
  gradients, Sundararajan et al. 2017; `steps=16` points in one batched forward; `steps=1` is the
  plain single gradient at the input);
- the neutral embedding is the tokenizer's [MASK] word ("a word is here, unknown"), not zeros, which
  scored 6-8 of 13;
- the log-probability is explained rather than the raw class score, so what every class shares cancels.
[CLS]/[SEP] stay as they are along the path. The word-embedding layer's output is replaced by a
forward hook, so the model's own forward (position embeddings, pooling, head) runs unchanged, and
pieces of one word ("un", "##friendly") are added back together.
"""
from __future__ import annotations

import torch

from ..inputs import tokenize
from ._source import Source, subject


def token_importance(source: Source, text: str, target_class: int | str | None = None, steps: int = 16,
                     signed: bool = False) -> list[tuple[str, float]]:
    """[(word, score)] in text order; scores in [0, 1], 1 = the word that mattered most for the class.

    The class defaults to the predicted one. `signed=True` keeps the direction (scores in [-1, 1],
    negative = the word argued against the class). Special tokens ([CLS], [SEP]) are left out; a text
    longer than the model reads is cut where training cut it.
    """
    if steps < 1:
        raise ValueError("steps must be 1 (plain gradient x input) or more (integrated gradients, e.g. 16).")
    s = subject(source)
    if s.kind != "text":
        raise ValueError("Token importance explains texts; for a picture model use gradcam.")
    model, tokenizer = s.backbone.model.eval(), s.backbone.tokenizer
    tokens = tokenize([text], tokenizer, s.backbone.preprocess.max_length)
    ids, mask = tokens.ids.to(s.device), tokens.mask.to(s.device)                  # (1, T) each
    embedding = model.encoder.get_input_embeddings()
    with torch.no_grad():
        index = s.class_index(target_class, int(model(ids, mask)[0].argmax()))
        words_in = embedding(ids)                                                   # (1, T, D)
        special = torch.isin(ids, torch.tensor(tokenizer.all_special_ids, device=ids.device)).unsqueeze(-1)
        neutral_id = _neutral_id(tokenizer)
        neutral = torch.zeros_like(words_in) if neutral_id is None else embedding(torch.full_like(ids, neutral_id))
        neutral = torch.where(special, words_in, neutral)                           # (1, T, D)
    # One batch holds every point on the path from the neutral embeddings to the real ones.
    scales = torch.tensor([1.0] if steps == 1 else [(k + 0.5) / steps for k in range(steps)], device=s.device)
    path = (neutral + (words_in - neutral) * scales.view(-1, 1, 1)).requires_grad_()  # (S, T, D)
    handle = embedding.register_forward_hook(lambda module, inputs, output: path)
    try:
        with torch.enable_grad():
            logits = model(ids.expand(len(scales), -1), mask.expand(len(scales), -1))  # (S, C)
            chosen = logits.float().log_softmax(1)[:, index]                        # (S,)
            (grad,) = torch.autograd.grad(chosen.sum(), path)                       # (S, T, D)
    finally:
        handle.remove()
    piece_scores = (grad.mean(0) * (words_in - neutral)[0]).sum(-1).float().cpu()  # (T,) signed
    words = _merge_words(text, tokenizer, ids[0].cpu(), piece_scores)
    top = max((abs(score) for _, score in words), default=0.0)
    scale = 1 / top if top > 0 else 0.0
    return [(word, score * scale if signed else abs(score) * scale) for word, score in words]


def _neutral_id(tokenizer) -> int | None:
    """[MASK] where the tokenizer has one (BERT-style), else padding; None = a zero embedding."""
    for token_id in (tokenizer.mask_token_id, tokenizer.pad_token_id):
        if token_id is not None:
            return token_id
    return None


def _merge_words(text: str, tokenizer, ids: torch.Tensor, scores: torch.Tensor) -> list[tuple[str, float]]:
    """Add word pieces back into words, spelled as in the original text when the tokenizer gives offsets."""
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(text, truncation=True, max_length=len(ids), return_offsets_mapping=True)
        word_ids, offsets = enc.word_ids(), enc["offset_mapping"]
        if len(word_ids) == len(ids):
            spans: dict[int, list] = {}
            for position, word in enumerate(word_ids):
                if word is None:  # [CLS], [SEP], padding
                    continue
                start, end = offsets[position]
                span = spans.setdefault(word, [start, end, 0.0])
                span[0], span[1] = min(span[0], start), max(span[1], end)
                span[2] += float(scores[position])
            return [(text[a:b], score) for a, b, score in spans.values()]
    # Slow tokenizers: join WordPiece "##" continuations; other schemes keep their pieces.
    special = set(tokenizer.all_special_ids)
    words: list[tuple[str, float]] = []
    for piece_id, score in zip(ids.tolist(), scores.tolist()):
        if piece_id in special:
            continue
        piece = tokenizer.convert_ids_to_tokens(piece_id)
        if piece.startswith("##") and words:
            words[-1] = (words[-1][0] + piece[2:], words[-1][1] + score)
        else:
            words.append((piece, score))
    return words
