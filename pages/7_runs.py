"""Step 7: every run kept on this computer, compared side by side, each model one click from download.

Picture runs and text runs are never listed or drawn together (their accuracies answer different
questions); the kind shown first is the current project's, and its runs are the ones overlaid.
"""
import functools

import pandas as pd
import streamlit as st

from pages.common import charts, engine, frame, runview
from pages.common import project as projects

project = frame.start("runs")

runs = engine.runs_safe()
if not runs:
    st.info("No runs yet. Start a project and train a model; every run is listed here, even after a restart.",
            icon=":material/info:")
    if st.button("Start with step 1", type="primary", key="empty_start"):
        frame.go("welcome")
    st.stop()

KINDS = {"image": "Picture runs", "text": "Text runs"}
MOST_OVERLAID = 5  # more lines than this are hard to tell apart


def setting(chosen, used) -> str:
    """A number the person set, or "auto" with the number the run then used (from its `started` event)."""
    if chosen:
        return f"{chosen:g}"
    return f"auto ({used:g})" if used else "auto"


def row(run, config) -> dict:
    """The run as one row of text and numbers; every column holds one type, as Arrow needs."""
    started = run.started
    metrics = run.metrics() or {}
    owner = runview.run_project(config)
    choice = runview.chosen(run)
    return {
        "name": runview.run_name(run, config),
        "continues": runview.continues(config).removeprefix("continues "),
        "project": projects.name(owner) if owner else "none (command line)",
        "data": runview.run_data(config, started or None),
        "status": runview.run_state(run),
        "accuracy": frame.whole_percent(metrics["accuracy"]) if "accuracy" in metrics else None,
        "fine-tuned": runview.what_trained(config, choice),
        "model": runview.model_title(config, run.kind, choice),
        "epochs": setting(config.epochs, started.get("epochs")),
        "batch size": setting(config.batch_size, started.get("batch_size")),
        "learning rate": setting(config.lr, None),
        "augmentation": config.augment,
        "run": run.id,  # kept out of sight: the command line's name for it, which `transferlab runs` lists
    }


# Columns worth a place only when they tell the listed runs apart; otherwise one caption says their value (a project
# and data shared by every run, shown as columns, were cut off in the browser, and so was what each run fine-tuned).
SECONDARY = ("project", "data", "model", "epochs", "batch size", "learning rate", "augmentation")
SAID = {"data": "trained on"}  # a column's name in that caption, where its own would not read as a sentence
# Pixels: the columns every run has fit beside the sidebar on a 1400-pixel-wide window, with two of the others.
WIDTHS = {"name": 160, "continues": 140, "project": 150, "data": 170, "status": 90, "fine-tuned": 200, "model": 130,
          "epochs": 65, "batch size": 80, "learning rate": 90, "augmentation": 95}

# Presenter mode's larger text cut every cell ("Run of 04 Dec 18:07:2", "none (command lin"): rows of three lines
# let Streamlit wrap them within their widths (two lines' height did not wrap at all; seen in Chromium).
PRESENTER_ROW_HEIGHT = 90

configs = {run.id: engine.run_config(run) for run in runs}
readable = [run for run in runs if configs[run.id] is not None]
unreadable = len(runs) - len(readable)
if unreadable:  # their config.json is damaged; the folders are left as they are
    frame.warning(f"{unreadable} {'run is' if unreadable == 1 else 'runs are'} left out of this list because "
                  f"{'its' if unreadable == 1 else 'their'} settings file cannot be read (in {runs[0].dir.parent}).")
if not readable:
    st.stop()

kinds = {run.id: run.kind for run in readable}
present = [k for k in KINDS if k in kinds.values()]
wanted = st.query_params.get("run")
preferred = project["kind"] if project else kinds.get(wanted, kinds[readable[0].id])
if len(present) > 1:
    kind = st.segmented_control("Show", present, default=preferred if preferred in present else present[0],
                                format_func=KINDS.get, required=True, key=f"runs_kind_{preferred}",
                                help="Picture and text runs are never compared in one chart.")
else:
    kind = present[0]
shown = [run for run in readable if kinds[run.id] == kind]
by_id = {run.id: run for run in shown}

table = pd.DataFrame([row(run, configs[run.id]) for run in shown])
if kind == "text":  # augmentation applies to pictures only
    table = table.drop(columns="augmentation")
if not table["continues"].any():  # no run here keeps training another
    table = table.drop(columns="continues")
same = [c for c in SECONDARY if c in table and table[c].nunique() == 1]
st.dataframe(table.drop(columns=same), hide_index=True, key=f"runs_table_{kind}", width="stretch",
             row_height=PRESENTER_ROW_HEIGHT if frame.presenting() else None,
             column_config={"accuracy": st.column_config.ProgressColumn("accuracy", format="%.0f%%", min_value=0,
                                                                        max_value=100, width=95),
                            "run": None,
                            **{c: st.column_config.TextColumn(c, width=w) for c, w in WIDTHS.items()}})
if same:
    st.caption(f"{'This run' if len(table) == 1 else 'Every run here'}: "
               + " · ".join(f"{SAID.get(c, c)} {table[c].iloc[0]}" for c in same) + ".")

st.subheader("Compare runs")
with_curves = [run.id for run in shown if any(e["event"] == "epoch" for e in run.events())]
names = {run.id: runview.run_label(run) for run in shown}
if not with_curves:
    st.caption("Runs appear here once they have finished at least one epoch.")
else:
    own = [r.id for r in runview.trained_first(shown, configs) if r.id in with_curves and project
           and (configs[r.id].extra or {}).get("project") == project["id"]]
    picked = st.multiselect("Runs to overlay", with_curves, default=(own or with_curves)[:MOST_OVERLAID],
                            format_func=names.get, key=f"compare_runs_{kind}", placeholder="Choose runs to compare",
                            help="Your current project's runs are chosen first.")
    # A run that keeps training another is drawn from epoch 1: the earlier run's epochs up to its model, then its own.
    series = {names[i]: [(e["epoch"], e["val_accuracy"]) for e in runview.curve(by_id[i])] for i in picked}
    if series:
        st.plotly_chart(charts.compare(series), key=f"compare_chart_{kind}", config=charts.CONFIG)

st.subheader("Download a model")
ready = [run.id for run in runview.trained_first(shown, configs) if run.has_model()]
if not ready:
    st.caption("Models can be downloaded once a run has finished.")
else:
    choice = st.selectbox("Which run?", ready, index=ready.index(wanted) if wanted in ready else 0,
                          format_func=names.get, key=f"download_pick_{kind}")
    st.download_button("Download the model (.zip)", data=functools.partial(engine.export_zip, by_id[choice]),
                       file_name=f"transferlab-{choice}.zip", mime="application/zip", type="primary",
                       icon=":material/download:", key="download_model", on_click="ignore")
    st.caption("The zip holds the weights, the class names, the preprocessing and a README explaining how to use "
               "it. Picture models also include an ONNX copy. Preparing it can take a few seconds.")
    with st.container(horizontal=True):
        if st.button("See its results", key="runs_results", icon=":material/insights:"):
            frame.go("results", run=choice)
        if st.button("Try it", key="runs_try", icon=":material/science:"):
            frame.go("try", run=choice)
