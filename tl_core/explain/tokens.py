"""Which words a text model leaned on: gradient x input on the input embeddings (Shrikumar et al. 2016).

For each word piece, the class score's gradient with respect to its embedding, multiplied by the
embedding and summed, estimates how much the score would move without that piece. The embedding
layer's output is swapped for a leaf tensor by a forward hook, so the model's own forward (its
pooling, its head) runs unchanged. Pieces of one word ("un", "##friendly") are added back into the word.
"""
from __future__ import annotations

import torch

from ..inputs import tokenize
from ._source import Source, subject


def token_importance(source: Source, text: str, target_class: int | str | None = None) -> list[tuple[str, float]]:
    """[(word, score)] in text order; scores in [0, 1], 1 = the word that mattered most for the class.

    The class defaults to the predicted one. Special tokens ([CLS], [SEP]) are left out; a text longer
    than the model reads is cut where training cut it.
    """
    s = subject(source)
    if s.kind != "text":
        raise ValueError("Token importance explains texts; for a picture model use gradcam.")
    model, tokenizer = s.backbone.model.eval(), s.backbone.tokenizer
    tokens = tokenize([text], tokenizer, s.backbone.preprocess["max_length"])
    ids, mask = tokens.ids.to(s.device), tokens.mask.to(s.device)                  # (1, T) each
    embedding = model.encoder.get_input_embeddings()
    captured: dict[str, torch.Tensor] = {}

    def hook(module, inputs, output):
        captured["e"] = output.detach().requires_grad_()
        return captured["e"]

    handle = embedding.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            logits = model(ids, mask)                                               # (1, C)
            index = s.class_index(target_class, int(logits[0].argmax()))
            (grad,) = torch.autograd.grad(logits[0, index], captured["e"])
    finally:
        handle.remove()
    piece_scores = (grad * captured["e"].detach()).sum(-1)[0].abs().float().cpu()  # (T,)
    words = _merge_words(text, tokenizer, ids[0].cpu(), piece_scores)
    top = max((score for _, score in words), default=0.0)
    return [(word, score / top if top > 0 else 0.0) for word, score in words]


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
