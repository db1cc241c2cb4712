"""The layer views: what each block of the network responds to, how far it moved while fine-tuning, and how much
it already knows about the person's classes.

Drawn on the Train page under the network's drawing (before any run from the pretrained network, after one from
the run's own model) and in the Understand step's Layers section. Tiles and numbers come from `tl_core.explain`
(`block_patches`, `block_changes`, `layer_attention`); here they are cached per run or per settings, as
pages/common/understand.py caches the other views, and drawn.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

import tl_core

from . import charts, engine, frame
from . import project as projects
from . import ranking as rankings
from .frame import esc
from .understand import how_to_read
from .word_weights import words_html, words_key

# ---------------------------------------------------------------- engine calls, cached

@st.cache_data(show_spinner="Finding what each block responds to in your pictures…", max_entries=8)
def _patches_before(config: tl_core.RunConfig, stamp: tuple) -> dict:
    from tl_core.explain import block_patches

    return block_patches(config)


@st.cache_data(show_spinner="Finding what each block responds to in your pictures…", max_entries=8)
def _patches_after(run_id: str, stamp: float) -> dict:
    from tl_core.explain import block_patches

    return block_patches(engine.get_run(run_id))


@st.cache_data(show_spinner="Comparing each block before and after training…", max_entries=8)
def _changes(run_id: str, stamp: float) -> dict:
    from tl_core.explain import block_changes

    return block_changes(engine.get_run(run_id))


@st.cache_data(show_spinner="Reading which words each layer attends to…", max_entries=8)
def _attention(run_id: str, stamp: float) -> dict:
    from tl_core.explain import layer_attention

    return layer_attention(engine.get_run(run_id))


def config_of(project: dict) -> tl_core.RunConfig:
    """The project's data and model as a run would read them: what the pretrained views look at before a run."""
    path, text_column, label_column = projects.data_source(project)
    model = project["model"]
    if model == tl_core.AUTO_MODEL:  # the model the ranking recommends once it has; the default until then
        found, _ = rankings.current(project, start_if_missing=False)
        model = found.recommended.model if getattr(found, "recommended", None) else ""
    return tl_core.RunConfig(data=str(path), model=model, text_column=text_column,
                             label_column=label_column, label_names=projects.label_names(project))


def changes(run) -> engine.Outcome:
    return engine.attempt("comparing the blocks before and after training", _changes, run.id, engine.model_stamp(run))


def finished(run) -> bool:
    return run is not None and run.has_model and not run.active


# ---------------------------------------------------------------- drawing

def tiles(index: dict, block: int, presenting: bool = False) -> None:
    """The block's channels, one row of tiles each, with the class of the picture each tile comes from."""
    found = next((b for b in index["blocks"] if b["index"] == block), None)
    if found is None:
        return
    folder = Path(index["folder"])
    st.markdown(f"**{esc(found['name'])}** sees {found['field']}×{found['field']} pixels of each "
                f"{index['input_size'][-1]}-pixel picture.")
    for channel in found["channels"]:
        patches = [p for p in channel["patches"] if (folder / p["file"]).is_file()]
        st.image([str(folder / p["file"]) for p in patches], width=84 if presenting else 56,
                 caption=[p["label"] for p in patches])
    st.caption(how_to_read("layer_patches") + f" From {index['pictures']} of your pictures.")


def change_chart(found: dict, presenting: bool, key: str) -> None:
    moved = [n for n, c, t in zip(found["titles"], found["change"], found["trained"]) if t]
    if not moved and not found["from_scratch"]:  # no bar to draw: an empty chart on a stretched axis said nothing
        why = (f"Blocks were set to fine-tune, but the run kept {tl_core.kept_epoch(0)}"
               if found.get("kept_fitted_head") else "Only the new head trained in this run")
        st.info(f"{why}, so no block changed: every block's output is the same as before training.",
                icon=":material/info:")
        return
    st.plotly_chart(charts.layer_change(found, presenting), key=key, config=charts.CONFIG)
    if found["from_scratch"]:
        st.caption(how_to_read("layer_change") + " This run started from random numbers, so every block learned "
                   "from nothing.")
    else:
        st.caption(how_to_read("layer_change") + f" Fine-tuned here: {', '.join(moved)}. Measured on "
                   f"{found['examples']} examples." + stretched(max(found["change"])))


def knowledge(project: dict, kind: str, smallest: int) -> None:
    """The per-block scores of the background model ranking (for the model it chose), once they are there; with
    few examples per class, also why training leaves the blocks frozen whatever the scores (`tl_core.few_examples`),
    so the caption never contradicts the proposal beside the drawing."""
    found, _ = rankings.current(project, start_if_missing=False)
    layers = getattr(found, "layers", None)
    if layers is None:
        return
    st.markdown(f"**How much each block of {esc(engine.model_info(layers.model, kind).title)} already knows**")
    st.plotly_chart(charts.layer_knowledge(tl_core.plain_names(layers.blocks, kind), layers.scores),
                    key="layer_knowledge", config=charts.CONFIG)
    st.caption(f"{how_to_read('layer_knowledge')} {esc(knowledge_words(layers, smallest))}")


def knowledge_words(layers, smallest: int) -> str:
    """What the per-block scores propose and, when the smallest class is too small to fine-tune blocks, why
    training will not follow them: said as such, so the chart's caption and the proposal beside it agree."""
    few = tl_core.few_examples(smallest)
    if few and layers.unfreeze:
        return f"On the scores alone, {_lower(layers.reason)} However, {_lower(few)}"
    return " ".join(s for s in (layers.reason, few) if s)


def _lower(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:]


def pick_block(names: list[str], key: str, label: str = "Look inside a block") -> int | None:
    """A block of the drawing, output side first as drawn. A drop-down rather than pills: eight long names do not
    fit the drawing's column side by side (the pills scrolled sideways, cut off, in the browser test)."""
    return st.selectbox(label, list(range(len(names)))[::-1], index=None, format_func=lambda i: names[i], key=key,
                        placeholder="Pick a block",  # "… to see what it responds to" was cut in presenter mode
                        help="What the block responds to in your pictures (a few seconds the first time).")


def stretched(largest: float) -> str:
    """What the change axis shows when it is stretched to small moves: the caption says 0 to 1 and the bars filled
    an axis that ended at 0.0005, as if the last block had changed completely."""
    if largest >= 0.1:
        return ""
    return (f" The axis is stretched so that small changes show: the largest here is {amount(largest)}, "
            "a small move on that scale.")


def amount(change: float) -> str:
    """A change as a person reads it: a fine-tuned block that moved very little is not "0.000"."""
    return "none" if change == 0 else "less than 0.001" if change < 0.001 else f"{change:.3f}"


def train_panel(project: dict, names: list[str], kind: str, smallest: int, run) -> None:
    """Under the Train page's drawing: pick a block to see what it sees and, after a run, how far it moved;
    and how much each block already knows, once the background ranking has measured it."""
    knowledge(project, kind, smallest)
    if kind != "image":
        return
    block = pick_block(names, "train_layer_block")
    if block is None:
        return
    after = finished(run)
    index, message = (engine.attempt("finding what each block sees", _patches_after, run.id, engine.model_stamp(run))
                      if after else engine.attempt("finding what each block sees", _patches_before, config_of(project),
                                                   projects.stamp(projects.data_source(project)[0])))
    if message:
        frame.error(message)
        return
    tiles(index, block)
    if after:
        found, message = changes(run)
        if found:
            moved = found["change"][block]
            st.metric(f"How much it changed in run {run.id}", amount(moved),
                      help=how_to_read("layer_change"), border=True,
                      delta="fine-tuned" if found["trained"][block] else "frozen",
                      delta_color="normal" if found["trained"][block] else "off")


def understand_section(run, presenting: bool, revealed) -> None:
    """The Understand step's Layers section: how far each block moved, and what it sees (or attends to)."""
    st.header("What each layer learned", divider="gray")
    thing = "pictures" if run.kind == "image" else "sentences"
    st.markdown(f"Early layers of a pretrained network learn general things, later ones specific things. See it on "
                f"your own {thing}: what each layer responds to, and how far training moved it.")
    found = revealed("layers", "Show what each layer learned", ":material/layers:",
                     "Compares every block before and after training on your validation examples (a few seconds).",
                     lambda: changes(run))
    if found is None:
        return
    left, right = st.columns([1, 2] if presenting else [2, 3], gap="large")  # six large tiles fit a row
    with left:
        change_chart(found, presenting, key=f"layer_change_{run.id}")
    with right:
        if run.kind == "image":
            index, message = engine.attempt("finding what each block sees", _patches_after, run.id,
                                            engine.model_stamp(run))
            block = pick_block(found["names"], f"understand_layer_block_{run.id}")
            if message:
                frame.error(message)
            elif block is not None:
                tiles(index, block, presenting)
        else:
            attention(run, presenting)


def attention(run, presenting: bool) -> None:
    found, message = engine.attempt("reading what each layer attends to", _attention, run.id, engine.model_stamp(run))
    if message:
        frame.error(message)
        return
    layer = pick_block(found["names"], f"understand_layer_words_{run.id}", "Pick a layer")
    if layer is None:
        return
    for sentence in found["sentences"]:
        st.html(words_html(sentence["text"], sentence["layers"][layer]))
    st.html(words_key().replace("hardly counted", "little attention").replace("counted most", "most attention"))
    st.caption(how_to_read("layer_attention"))
