"""Token importance on a real MiniLM head trained on Yelp reviews."""
from __future__ import annotations

import pytest
import torch

from tl_core.checkpoint import load_trained
from tl_core.explain import token_importance
from tl_core.explain._tokens import _merge_words, _neutral_id
from tl_core.inputs import tokenize

# Each review with the words that carry its sentiment.
REVIEWS = {
    "The food was absolutely delicious and the staff were great.": {"delicious", "great"},
    "This is the worst service I have ever had.": {"worst"},
    "The pasta was bland and the waiter was rude.": {"bland", "rude"},
    "We loved this place, the burgers are amazing!": {"loved", "amazing"},
    "I would not recommend it to anyone.": {"not"},
    "Terrible experience, the room was dirty.": {"terrible", "dirty"},
    "What a wonderful evening with friendly people.": {"wonderful", "friendly"},
    "The steak was overcooked and cold.": {"overcooked", "cold"},
    "The service was excellent.": {"excellent"},
    "It was a horrible meal.": {"horrible"},
    "The fries were awful.": {"awful"},
    "Great place, I will come back.": {"great"},
    "The staff was very friendly.": {"friendly"},
}
STOP_WORDS = {"the", "was", "and", "a", "is", "it", "this", "i", "were", "are", "to", "with", "."}


@pytest.fixture(scope="module")
def trained(yelp_run):
    return load_trained(yelp_run.dir)


def test_sentiment_words_outrank_stop_words(trained):
    wins = []
    for review, sentiment in REVIEWS.items():
        scores = token_importance(trained, review)
        best_sentiment = max(s for w, s in scores if w.lower() in sentiment)
        best_stop = max(s for w, s in scores if w.lower() in STOP_WORDS)
        wins.append(best_sentiment > best_stop)
    # Measured 12 of 13 on this model (and on one trained on 400 reviews); a single gradient gets 6.
    assert sum(wins) >= 11, [r for r, won in zip(REVIEWS, wins) if not won]
    top_word = max(token_importance(trained, "The fries were awful."), key=lambda pair: pair[1])[0]
    assert top_word == "awful"


def test_words_come_back_whole_and_scaled(trained):
    text = "I loved the unfriendliness of it."
    scores = token_importance(trained, text)
    assert [w for w, _ in scores] == ["I", "loved", "the", "unfriendliness", "of", "it", "."]
    assert all(0 <= s <= 1 for _, s in scores) and max(s for _, s in scores) == pytest.approx(1.0)
    signed = token_importance(trained, text, signed=True)
    assert [w for w, _ in signed] == [w for w, _ in scores]
    assert [abs(s) for _, s in signed] == pytest.approx([s for _, s in scores])
    assert min(s for _, s in signed) >= -1
    assert token_importance(trained, text, target_class=1) == token_importance(trained, text, target_class="1")


def test_single_step_matches_plain_gradient_times_input(trained):
    """steps=1 through the embedding hook equals gradient x input computed by hand with inputs_embeds."""
    text = "The service was slow and the food cold."       # every word is one word piece
    model, tokenizer = trained.model, trained.tokenizer
    tokens = tokenize([text], tokenizer, 128)
    embedding = model.encoder.get_input_embeddings()
    real = embedding(tokens.ids).detach()
    neutral = embedding(torch.full_like(tokens.ids, _neutral_id(tokenizer))).detach()
    special = torch.isin(tokens.ids, torch.tensor(tokenizer.all_special_ids)).unsqueeze(-1)
    neutral = torch.where(special, real, neutral)
    x = real.clone().requires_grad_()
    hidden = model.encoder(inputs_embeds=x, attention_mask=tokens.mask).last_hidden_state     # (1, T, H)
    mask = tokens.mask.unsqueeze(-1).float()
    logits = model.classifier((hidden * mask).sum(1) / mask.sum(1))
    target = int(logits.argmax())
    (grad,) = torch.autograd.grad(logits.log_softmax(1)[0, target], x)
    expected = (grad * (real - neutral)).sum(-1)[0, 1:-1].abs()                                # drop [CLS], [SEP]
    expected = (expected / expected.max()).tolist()
    got = [s for _, s in token_importance(trained, text, steps=1)]
    assert got == pytest.approx(expected, abs=1e-4)


def test_slow_tokenizers_join_word_pieces(yelp_run):
    from transformers import BertTokenizer

    slow = BertTokenizer.from_pretrained(yelp_run.dir / "tokenizer")
    ids = torch.tensor(slow("unfriendliness rocks")["input_ids"])
    pieces = slow.convert_ids_to_tokens(ids.tolist())
    assert any(p.startswith("##") for p in pieces)
    words = _merge_words("unfriendliness rocks", slow, ids, torch.ones(len(ids)))
    assert [w for w, _ in words] == ["unfriendliness", "rocks"]
    assert sum(s for _, s in words) == len(ids) - 2                     # every piece but [CLS] and [SEP] counted once


def test_picture_models_are_pointed_to_gradcam(imagenet_lite0):
    with pytest.raises(ValueError, match="gradcam"):
        token_importance(imagenet_lite0, "a text")
