"""What the Understand step (and the small "where did it look" views on Results and Try it) compute.

The computations live in `tl_core.explain`; here they are cached per run (keyed by the run id and
its model file's time, so a retrained model is explained afresh) and turned into what a page shows:
PNG bytes for the heat maps, dicts for the charts (drawn by `understand_charts`) and for the weighted
words (drawn by `word_weights`).
"""
from __future__ import annotations

import io
import logging

import streamlit as st

import tl_core

from . import engine

log = logging.getLogger("transferlab.app")

EXPERIMENT_BLOCKS = 2   # the third arm fine-tunes the last 2 blocks, as the Train step suggests for more data
EXPERIMENT_EPOCHS = 3   # a small shared budget; with the engine's time limit the comparison takes about 2 min on a CPU
GALLERY_SIZE = 4        # validation examples explained on the Understand step


def how_to_read(*views: str) -> str:
    from tl_core.explain import HOW_TO_READ

    return " ".join(HOW_TO_READ[v] for v in views)


def _png(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# ---------------------------------------------------------------- which validation examples to explain

def _validation_examples(run) -> list:
    """The run's validation examples, read and split exactly as training did."""
    return tl_core.open_run_data(run.config).val_examples


def pick_examples(examples: list, mistakes: list[dict], count: int, key) -> list:
    """Up to `count` examples: the model's most confident mistakes first (at most half, one per class), then
    the others taking turns by class, those not among the mistakes first, so right answers are shown next to
    wrong ones and every class is shown. `key(example)` matches a mistake's name."""
    by_key = {key(e): e for e in examples}
    wrong = {m["name"] for m in mistakes}
    picked = []
    for m in mistakes:
        e = by_key.get(m["name"])
        if e is not None and len(picked) < max(1, count // 2) and all(p.label != e.label for p in picked):
            picked.append(e)
    labels = sorted({e.label for e in examples})
    queues = {label: sorted((e for e in examples if e.label == label and e not in picked),
                            key=lambda e: key(e) in wrong) for label in labels}  # stable: right answers first
    while len(picked) < count and any(queues.values()):  # the class shown least so far goes next
        label = min((lab for lab in labels if queues[lab]), key=lambda lab: sum(p.label == lab for p in picked))
        picked.append(queues[label].pop(0))
    return picked


# ---------------------------------------------------------------- where the model looks: pictures

@st.cache_data(show_spinner="Working out where the model looks…", max_entries=8)
def _image_gallery(run_id: str, stamp: float, count: int) -> list[dict]:
    from tl_core.explain import explain_image

    run = engine.get_run(run_id)
    model, message = engine.predictor(run)
    if message:
        raise ValueError(message)
    examples = [e for e in _validation_examples(run) if e.path is not None or e.data is not None]
    cards = []
    for example in pick_examples(examples, (run.metrics() or {}).get("mistakes", []), count, key=lambda e: e.name):
        try:
            explained = explain_image(model, example.path or example.data, true_class=example.label)
        except Exception:  # one unreadable picture: leave it out, explain the others
            log.exception("Grad-CAM failed for %s", example.name)
            continue
        overlays = explained.overlays()
        cards.append({
            "name": example.name, "true": explained.true, "predicted": explained.predicted,
            "confidence": float(explained.probs.max()), "correct": bool(explained.correct),
            "picture": _png(_as_pil(explained.image)),
            "predicted_map": _png(overlays["predicted"]), "true_map": _png(overlays["true"]),
        })
    return cards


def image_gallery(run, count: int = GALLERY_SIZE) -> engine.Outcome:
    return engine.attempt("drawing the heat maps", _image_gallery, run.id, engine.model_stamp(run), count)


def _as_pil(image_chw):
    from PIL import Image

    return Image.fromarray(image_chw.permute(1, 2, 0).cpu().numpy())


@st.cache_data(show_spinner=False, max_entries=200)
def _heat_map(run_id: str, stamp: float, picture: bytes) -> tuple[bytes, str]:
    """(the picture as the model saw it with the heat map for its prediction, the predicted class)."""
    from tl_core.explain import gradcam, overlay

    model, message = engine.predictor(engine.get_run(run_id))
    if message:
        raise ValueError(message)
    cam = gradcam(model, picture)
    seen = model.image_batch([picture])[0]
    return _png(overlay(seen, cam.heatmap)), model.classes[cam.predicted]


def heat_map(run, picture: bytes) -> engine.Outcome:
    """Grad-CAM for one picture (bytes) and the class it explains: for Try it and the mistakes on Results."""
    return engine.attempt("drawing the heat map", _heat_map, run.id, engine.model_stamp(run), picture)


@st.cache_data(show_spinner=False, max_entries=8)
def _right_answers(run_id: str, stamp: float, count: int) -> list[dict]:
    run = engine.get_run(run_id)
    wrong = {m["name"] for m in (run.metrics() or {}).get("mistakes", [])}
    examples = [e for e in _validation_examples(run)
                if (e.path is not None or e.data is not None) and e.name not in wrong]
    return [{"name": e.name, "true": e.label, "picture": e.path.read_bytes() if e.path else e.data}
            for e in pick_examples(examples, [], count, key=lambda e: e.name)]


def right_answers(run, count: int) -> engine.Outcome:
    """Up to `count` validation pictures not among the run's mistakes (by class, in turn), to show next to them.

    A run keeps only its most confident mistakes, so when it made more an unlisted picture may still be
    wrong: the caller compares each with the class its heat map explains."""
    return engine.attempt("choosing pictures it got right", _right_answers, run.id, engine.model_stamp(run), count)


def heat_key() -> str:
    """The heat maps' colour scale, read off the engine's own overlay over a light-grey strip."""
    import numpy as np
    from tl_core.explain import overlay

    strip = np.asarray(overlay(np.full((3, 1, 11), 170, dtype=np.uint8), np.linspace(0, 1, 11)[None]))[0]
    stops = ", ".join(f"rgb({r}, {g}, {b})" for r, g, b in strip.tolist())
    return ('<div class="tl-key" style="display: flex; align-items: center; gap: 0.5rem; font-size: 0.85rem; '
            'color: #4b5563;">where the model looked: <span>ignored</span>'
            f'<span style="display: inline-block; width: 12rem; height: 0.9rem; border-radius: 3px; '
            f'background: linear-gradient(to right, {stops});"></span><span>strongest evidence</span></div>')


# ---------------------------------------------------------------- where the model looks: words

@st.cache_data(show_spinner="Working out which words counted…", max_entries=8)
def _word_gallery(run_id: str, stamp: float, count: int) -> list[dict]:
    run = engine.get_run(run_id)
    examples = [e for e in _validation_examples(run) if e.text]
    picked = pick_examples(examples, (run.metrics() or {}).get("mistakes", []), count, key=lambda e: e.text)
    return [{**_words_for(run, e.text), "true": e.label} for e in picked]


def word_gallery(run, count: int = GALLERY_SIZE) -> engine.Outcome:
    return engine.attempt("weighing the words", _word_gallery, run.id, engine.model_stamp(run), count)


def _words_for(run, text: str) -> dict:
    from tl_core.explain import token_importance

    model, message = engine.predictor(run)
    if message:
        raise ValueError(message)
    (top,) = model.predict([text], top_k=1)
    return {"text": text, "predicted": top[0][0], "confidence": top[0][1], "words": token_importance(model, text)}


@st.cache_data(show_spinner="Weighing the words…", max_entries=100)
def _words_cached(run_id: str, stamp: float, text: str) -> dict:
    return _words_for(engine.get_run(run_id), text)


def words(run, text: str) -> engine.Outcome:
    return engine.attempt("weighing the words", _words_cached, run.id, engine.model_stamp(run), text)


# ---------------------------------------------------------------- the features already know

@st.cache_data(show_spinner="Placing every validation example on the map…", max_entries=8)
def _feature_maps(run_id: str, stamp: float) -> dict:
    from tl_core.explain import feature_maps_for_run

    run = engine.get_run(run_id)
    maps = feature_maps_for_run(run)
    if run.kind == "text":  # hover shows the sentence, not "row 12"
        texts = {e.name: e.text for e in tl_core.open_run_data(run.config).dataset.examples}
        for side in filter(None, maps.values()):
            side["names"] = [texts.get(n, n) for n in side["names"] or []]
    return maps


def feature_maps(run) -> engine.Outcome:
    return engine.attempt("drawing the feature maps", _feature_maps, run.id, engine.model_stamp(run))


# ---------------------------------------------------------------- how much data do I need

@st.cache_data(show_spinner="Training a new head on smaller and smaller shares of your examples…", max_entries=8)
def _learning_curve(run_id: str, stamp: float) -> list[dict]:
    from tl_core.explain import learning_curve

    config = engine.get_run(run_id).trained_config  # an automatic run: the model it chose
    return learning_curve(config.data, model=config.model, val_split=config.val_split, split_seed=config.seed,
                          text_column=config.text_column, label_column=config.label_column,
                          label_names=config.label_names)


def learning_curve(run) -> engine.Outcome:
    return engine.attempt("measuring the learning curve", _learning_curve, run.id, engine.model_stamp(run))


def after_words(maps: dict) -> str:
    """The feature map's "after training" sentence; when fine-tuning moved the features too little to change it, that
    (word for word the same sentence twice, 92 % and 92 %, read as a mistake)."""
    after = maps["after"]["summary"]
    return "the same: fine-tuning moved the features too little to change this." \
        if after == maps["before"]["summary"] else after
