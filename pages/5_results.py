"""Step 5: how good the model is: accuracy, per-class numbers, confusion matrix, the examples it got wrong."""
from collections import Counter

import pandas as pd
import streamlit as st

import tl_core
from pages.common import charts, engine, frame, runview, understand

project = frame.start("results")


run = runview.pick_run("results")
if run is None:
    wanted = st.query_params.get("run")
    waiting = engine.get_run(wanted)
    if waiting is not None and waiting.active:
        st.info("This run is still training. Its results appear here when it has finished.",
                icon=":material/hourglass_top:")
        frame.link("train", "Watch it on step 4: Train")
    else:
        st.info("No trained model yet. Train one first; its results will appear here.", icon=":material/info:")
        frame.link("train" if project else "welcome", "Go to step 4: Train" if project else "Go to step 1: Welcome")
    st.stop()

metrics = run.metrics()
if not metrics:
    st.info("This run has no results saved.", icon=":material/info:")
    st.stop()

kind = run.kind
classes = metrics.get("classes") or list(metrics.get("per_class", {}))
chosen = runview.chosen_for_you(engine.run_config(run), runview.chosen(run))
if chosen:
    st.markdown(chosen)
a, b, c, d = st.columns(4)
a.metric("Accuracy", f"{metrics['accuracy']:.0%}",
         help="The share of validation examples (never trained on) that the model put in the right class.")
b.metric("Validation examples", metrics.get("examples", 0))
c.metric("Best epoch", metrics.get("best_epoch", "?"), help="The epoch whose model was kept: the one with the best "
                                                             "validation accuracy. Epoch 0 is the new head fitted on "
                                                             "frozen features before any block trained.")
if metrics.get("best_epoch") == 0:
    st.caption(f"Kept: {tl_core.kept_epoch(0)}.")
device = str(metrics.get("device", "?"))
d.metric("Trained on", device.split(",")[0], help=f"The processor that trained this model: {device}.")
runview.how_sure(metrics["accuracy"], metrics)

PER_CLASS = {"precision": "precision", "recall": "recall", "F1 score": "f1"}  # the table's columns, from metrics
# Presenter mode stacks the table over the matrix: side by side, its larger text pushed the examples column out of
# sight.
left, right = (st.container(), st.container()) if frame.presenting() else st.columns([1, 1], gap="large")
with left:
    st.subheader("Per class")
    rows = [{"class": name, **{column: frame.whole_percent(m[key]) for column, key in PER_CLASS.items()},
             "examples": m["support"]} for name, m in metrics.get("per_class", {}).items()]
    percent = st.column_config.NumberColumn(format="%.0f%%")
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="per_class",
                 column_config=dict.fromkeys(PER_CLASS, percent))
    st.caption("**Precision**: when the model says this class, how often it is right. "
               "**Recall**: of the examples of this class, how many it found. "
               "**F1**: both in one number.")
with right:
    st.subheader("What gets confused with what")
    st.plotly_chart(charts.confusion(classes, metrics["confusion"]), key="confusion", config=charts.CONFIG)
    st.caption("Each row is a true class, each column what the model predicted. The diagonal counts the correct "
               "answers; everything else is a mistake.")

st.subheader("How training went")
history = run.events()
st.plotly_chart(charts.curves(history, run.id, runview.earlier_epochs(run)), key=f"history_{run.id}",
                config=charts.CONFIG)
if charts.curves_note(history):
    st.caption(charts.curves_note(history))

st.subheader("Examples the model got wrong")
mistakes = metrics.get("mistakes", [])
if not mistakes:
    st.success("None: the model got every validation example right.", icon=":material/celebration:")
pairs = dict(Counter((m["true"], m["predicted"]) for m in mistakes))
options = [None] + sorted(pairs, key=lambda p: -pairs[p])
shown = None if not mistakes else st.selectbox("Show", options, key="mistake_filter",
                     format_func=lambda p: f"all mistakes ({len(mistakes)})" if p is None
                     else f"{p[0]} taken for {p[1]} ({pairs[p]})")
selected = [m for m in mistakes if shown is None or (m["true"], m["predicted"]) == shown]
total = metrics.get("mistake_count", len(mistakes))
if total > len(mistakes):
    st.caption(f"Showing the {len(mistakes)} most confident of {tl_core.plural(total, 'mistake')}.")


def caption(m: dict) -> str:
    return f"true: {m['true']}\npredicted: {m['predicted']} ({m['confidence']:.0%} sure)"


def mistake_gallery(selected: list[dict], looked: bool) -> None:
    """The wrong pictures (with heat maps when `looked`), found where training read them: a zip's unpacked copy."""
    pictures = engine.run_pictures(run)
    grid = st.columns(5)
    for index, m in enumerate(selected[:40]):
        with grid[index % 5], st.container(border=True):
            path = pictures.get(m["name"])
            there = path is not None and path.is_file()
            heat = understand.heat_map(run, path.read_bytes())[0] if looked and there else None
            thumb = engine.thumbnail(path, 220) if there and heat is None else None
            if heat:  # the class it explains is named above the map
                st.text(caption(m))
                st.image(heat[0], width="stretch")
                continue
            if thumb:
                st.image(thumb, width="stretch")
            else:
                st.text("(picture no longer available)")
            st.text(caption(m))


def right_ones_for_comparison() -> None:
    """Heat maps over a few pictures it got right, and how to read them."""
    right_ones, problem = understand.right_answers(run, 5)
    if problem:
        frame.error(problem)
    elif right_ones:
        st.markdown("**For comparison, pictures it got right:**")
        for column, r in zip(st.columns(5), right_ones):
            heat = understand.heat_map(run, r["picture"])[0]
            if heat and heat[1] == r["true"]:  # an unlisted mistake (beyond the kept ones) is left out
                with column, st.container(border=True):
                    st.text(f"true: {r['true']}\npredicted: {heat[1]}")
                    st.image(heat[0], width="stretch")
    st.html(understand.heat_key())
    st.caption(understand.how_to_read("gradcam"))


# Three lines a row: Streamlit wraps a fixed-width text column's cells when its rows are taller than one line; one
# line cut a long review mid-word, with no sign more followed.
TEXT_ROW_HEIGHT = 90 if frame.presenting() else 72  # presenter mode's larger text needs more to wrap at all
TEXT_ROWS_SHOWN, TABLE_HEADER = 8, 40  # the table's own height showed 5 of 11 mistakes at that row height

if selected and kind == "image":
    looked = st.toggle("Show where the model looked", key="mistake_cams",
                       help="Heat maps over the mistakes and over a few pictures it got right: the lit parts "
                            "made the model give its answer.")
    mistake_gallery(selected, looked)
    if looked:
        right_ones_for_comparison()
elif selected:
    st.dataframe(pd.DataFrame([{"text": m["name"], "true class": m["true"], "predicted": m["predicted"],
                                "how sure": frame.whole_percent(m["confidence"])} for m in selected]),
                 hide_index=True, key="text_mistakes", row_height=TEXT_ROW_HEIGHT,
                 height=TEXT_ROW_HEIGHT * min(len(selected), TEXT_ROWS_SHOWN) + TABLE_HEADER,
                 column_config={"text": st.column_config.TextColumn("text", width="large"),
                                "how sure": st.column_config.NumberColumn(format="%.0f%%")})

frame.next_button("try", "Next: try the model yourself")
