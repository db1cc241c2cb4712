"""What the Understand step (and the small "where did it look" views on Results and Try it) compute and draw.

The computations live in `tl_core.explain`; here they are cached per run (keyed by the run id and
its model file's time, so a retrained model is explained afresh) and turned into pictures: PNG
bytes for the heat maps, Plotly figures for the charts, and our own escaped HTML for highlighted words.
"""
from __future__ import annotations

import html
import io
import logging

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from . import engine
from .charts import BLUE, GREEN, PALETTE
from .frame import plot_text

log = logging.getLogger("transferlab.app")

EXPERIMENT_BLOCKS = 2   # the third arm fine-tunes the last 2 blocks, as the Train step suggests for more data
EXPERIMENT_EPOCHS = 3   # a small shared budget; with the engine's time limit the comparison takes about 2 min on a CPU
GALLERY_SIZE = 4        # validation examples explained on the Understand step
ARM_STYLE = {           # colour and dash per arm, so the lines also differ in greyscale
    "scratch": ("#dc2626", "dot"),
    "head": (GREEN, "solid"),
    "blocks": (BLUE, "dash"),
}


def how_to_read(*views: str) -> str:
    from tl_core.explain import HOW_TO_READ

    return " ".join(HOW_TO_READ[v] for v in views)


def model_stamp(run) -> float | None:
    """Changes when the run's model file changes; None while it has none."""
    try:
        return (run.dir / "model.safetensors").stat().st_mtime
    except OSError:
        return None


def _png(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# ---------------------------------------------------------------- which validation examples to explain

def _validation_examples(run) -> list:
    """The run's validation examples, read and split exactly as training did."""
    from tl_core.data import split
    from tl_core.trainer import open_data

    config = run.config
    dataset = open_data(config)
    _, val_idx = split(dataset, config.val_split, config.seed)
    return [dataset.examples[i] for i in val_idx]


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
    return engine.attempt("drawing the heat maps", _image_gallery, run.id, model_stamp(run), count)


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
    return engine.attempt("drawing the heat map", _heat_map, run.id, model_stamp(run), picture)


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
    return engine.attempt("choosing pictures it got right", _right_answers, run.id, model_stamp(run), count)


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
    return engine.attempt("weighing the words", _word_gallery, run.id, model_stamp(run), count)


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
    return engine.attempt("weighing the words", _words_cached, run.id, model_stamp(run), text)


_WORDS_STYLE = """<style>
.tl-words {font-size: 1.15rem; line-height: 2.1;}
.tl-words .tl-w {padding: 2px 3px; border-radius: 4px; color: #111827;}
.tl-key {font-size: 0.85rem; color: #4b5563;}
</style>"""


def _shade(score: float) -> str:
    strength = 0.06 + 0.84 * min(1.0, max(0.0, float(score)))
    return f"rgba(249, 115, 22, {strength:.2f})"


def words_html(text: str, words: list[tuple[str, float]]) -> str:
    """The text as written, each word on an orange background as strong as its weight.

    Every piece of the person's text goes through html.escape; only our own numbers go into attributes.
    """
    out, cursor = [], 0
    for word, score in words:
        found = text.find(word, cursor) if word else -1
        if found < 0:  # a piece not spelled as in the text: show it, without the text in between
            out.append(" ")
            found, word_end = cursor, cursor
        else:
            out.append(html.escape(text[cursor:found]))
            word_end = found + len(word)
        out.append(f'<span class="tl-w" style="background: {_shade(score)}" title="weight {score:.0%}">'
                   f"{html.escape(word)}</span>")
        cursor = max(cursor, word_end)
    out.append(html.escape(text[cursor:]))
    return _WORDS_STYLE + '<div class="tl-words">' + "".join(out) + "</div>"


def words_key() -> str:
    steps = "".join(f'<span class="tl-w" style="background: {_shade(s)}">&nbsp;&nbsp;&nbsp;</span>'
                    for s in (0.0, 0.25, 0.5, 0.75, 1.0))
    return (_WORDS_STYLE + f'<div class="tl-key">hardly counted <span class="tl-words" style="font-size: 0.85rem">'
            f"{steps}</span> counted most</div>")


# ---------------------------------------------------------------- the features already know

@st.cache_data(show_spinner="Placing every validation example on the map…", max_entries=8)
def _feature_maps(run_id: str, stamp: float) -> dict:
    from tl_core.explain import feature_maps_for_run
    from tl_core.trainer import open_data

    run = engine.get_run(run_id)
    maps = feature_maps_for_run(run)
    if engine.run_kind(run) == "text":  # hover shows the sentence, not "row 12"
        texts = {e.name: e.text for e in open_data(run.config).examples}
        for side in filter(None, maps.values()):
            side["names"] = [texts.get(n, n) for n in side["names"] or []]
    return maps


def feature_maps(run) -> engine.Outcome:
    return engine.attempt("drawing the feature maps", _feature_maps, run.id, model_stamp(run))


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def feature_map_figure(maps: dict, presenting: bool = False) -> go.Figure:
    """The "before" map, and beside it the "after" map when the run changed the network (not for head-only runs)."""
    before_title = ("Before: random weights (from scratch)" if maps["before"].get("start") == "random"
                    else "Before: the pretrained network")
    sides = ["before"] + (["after"] if maps.get("after") else [])
    titles = (before_title, "After: your trained model")[:len(sides)]
    fig = make_subplots(rows=1, cols=len(sides), subplot_titles=titles, horizontal_spacing=0.06)
    classes = sorted({label for side in sides for label in maps[side]["labels"]})
    for col, side in enumerate(sides, start=1):
        m = maps[side]
        names = m["names"] or [""] * len(m["x"])
        for index, label in enumerate(classes):
            rows = [i for i, lab in enumerate(m["labels"]) if lab == label]
            fig.add_scatter(x=[m["x"][i] for i in rows], y=[m["y"][i] for i in rows], mode="markers",
                            name=plot_text(label), legendgroup=plot_text(label), showlegend=col == 1,
                            marker=dict(color=PALETTE[index % len(PALETTE)], size=11 if presenting else 9,
                                        opacity=0.8, line=dict(width=0.5, color="white")),
                            customdata=[plot_text(_short(names[i])) for i in rows],
                            hovertemplate=f"%{{customdata}}<br>class: {plot_text(label)}<extra></extra>",
                            row=1, col=col)
    fig.update_xaxes(showticklabels=False, zeroline=False, title_text="")
    fig.update_yaxes(showticklabels=False, zeroline=False, title_text="")
    fig.update_layout(legend_title_text="class")
    return _layout(fig, 430, "feature_map", presenting)


# ---------------------------------------------------------------- how much data do I need

@st.cache_data(show_spinner="Training a new head on smaller and smaller shares of your examples…", max_entries=8)
def _learning_curve(run_id: str, stamp: float) -> list[dict]:
    from tl_core.explain import learning_curve

    config = engine.get_run(run_id).config
    return learning_curve(config.data, model=config.model, val_split=config.val_split, split_seed=config.seed)


def learning_curve(run) -> engine.Outcome:
    return engine.attempt("measuring the learning curve", _learning_curve, run.id, model_stamp(run))


def learning_curve_figure(points: list[dict], run_accuracy: float | None = None,
                          presenting: bool = False) -> go.Figure:
    """Each training as a faint dot, the average with its error bars, and the run's own accuracy as a star."""
    from tl_core.explain import summarize

    means = [s for s in summarize(points) if s["mode"] == "head"]
    heads = [p for p in points if p["mode"] == "head"]
    fig = go.Figure()
    fig.add_scatter(x=[p["examples_per_class"] for p in heads], y=[100 * p["val_accuracy"] for p in heads],
                    mode="markers", name="one training (random share)",
                    marker=dict(color=BLUE, size=12 if presenting else 10, opacity=0.45),
                    customdata=[p["seed"] + 1 for p in heads],
                    hovertemplate="%{x} per class, draw %{customdata}: %{y:.0f}% correct<extra></extra>")
    fig.add_scatter(x=[s["examples_per_class"] for s in means], y=[100 * s["mean"] for s in means],
                    mode="lines+markers", name="average (bars: how far chance can move it)",
                    line=dict(color=GREEN, width=3), marker=dict(size=8),
                    error_y=dict(type="data", symmetric=False, color=GREEN, thickness=1.5, width=6,
                                 array=[100 * (s["high"] - s["mean"]) for s in means],
                                 arrayminus=[100 * (s["mean"] - s["low"]) for s in means]),
                    customdata=[[100 * s["low"], 100 * s["high"]] for s in means],
                    hovertemplate="%{x} per class: %{y:.0f}% correct on average "
                                  "(could be %{customdata[0]:.0f}% to %{customdata[1]:.0f}%)<extra></extra>")
    if run_accuracy is not None and means:
        fig.add_scatter(x=[means[-1]["examples_per_class"]], y=[100 * run_accuracy], mode="markers",
                        name="your run (its own training)",
                        marker=dict(symbol="star", color="#dc2626", size=18 if presenting else 15,
                                    line=dict(width=1, color="white")),
                        hovertemplate="your run: %{y:.0f}% correct<extra></extra>")
    fig.update_layout(xaxis_title="training examples per class", yaxis_title="% correct on validation",
                      yaxis_range=[0, 102], xaxis_rangemode="tozero")
    return _layout(fig, 400, "learning_curve", presenting)


# ---------------------------------------------------------------- does transfer learning help here

def experiment_figure(arms: dict, budget: int, presenting: bool = False, seconds: float = 0) -> go.Figure:
    """Validation accuracy of the three runs, against seconds (left, with the shared time limit) and against
    epochs (right).

    `arms` maps an arm ("head", "blocks", "scratch") to (title, events).
    """
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.05,
                        subplot_titles=("Against time: seconds since each run started", "Against epochs"))
    for arm, (title, evs) in arms.items():
        color, dash = ARM_STYLE.get(arm, (PALETTE[0], "solid"))
        epochs = [e for e in evs if e.get("event") == "epoch" and e.get("val_accuracy") is not None]
        y = [100 * e["val_accuracy"] for e in epochs]
        mode = "lines+markers" if len(epochs) > 1 else "markers"
        style = dict(line=dict(color=color, dash=dash, width=3), marker=dict(color=color, size=9))
        fig.add_scatter(x=[e.get("elapsed_s", 0.0) for e in epochs], y=y, name=title, legendgroup=arm, mode=mode,
                        hovertemplate=f"{title}<br>%{{y:.0f}}% after %{{x:.0f}} s<extra></extra>", row=1, col=1,
                        **style)
        cut = [" (its time ran out during this epoch)" if e.get("partial") else "" for e in epochs]
        fig.add_scatter(x=[e["epoch"] for e in epochs], y=y, name=title, legendgroup=arm, mode=mode, text=cut,
                        showlegend=False, row=1, col=2, **style,
                        hovertemplate=f"{title}<br>%{{y:.0f}}% after epoch %{{x}}%{{text}}<extra></extra>")
    if seconds:
        fig.add_vline(x=seconds, line=dict(color="#6b7280", dash="dot", width=2), row=1, col=1,
                      annotation_text="time limit", annotation_position="top left")
    fig.update_xaxes(title_text="seconds", rangemode="tozero", row=1, col=1)
    fig.update_xaxes(title_text="epoch (one pass over the training examples)", range=[0.5, max(budget, 1) + 0.5],
                     dtick=1 if budget <= 20 else None, row=1, col=2)
    fig.update_yaxes(title_text="% correct on validation", range=[0, 102], row=1, col=1)
    return _layout(fig, 400, "experiment", presenting)


def _layout(fig: go.Figure, height: int, revision: str, presenting: bool) -> go.Figure:
    fig.update_layout(height=int(height * 1.25) if presenting else height, uirevision=revision,
                      margin=dict(l=10, r=10, t=40, b=40), font=dict(size=17 if presenting else 13),
                      legend=dict(orientation="h", yanchor="top", y=-0.2, x=0))
    return fig

