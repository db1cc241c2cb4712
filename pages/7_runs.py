"""Step 7: every run kept on this computer, compared side by side, each model one click from download."""
import functools
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from pages.common import charts, engine, frame

project = frame.start("runs")
st.title("All runs")

runs = engine.runs_safe()
if not runs:
    st.info("No runs yet. Start a project and train a model; every run is listed here, even after a restart.",
            icon=":material/info:")
    if st.button("Start with step 1", type="primary", key="empty_start"):
        frame.go("welcome")
    st.stop()

STATES = {"queued": "waiting", "running": "training", "finished": "finished", "failed": "failed",
          "cancelled": "stopped", "interrupted": "interrupted"}


def data_name(config) -> str:
    """The data's name as a person knows it: an uploaded file's name, else the folder's."""
    path = Path(config.data)
    if "projects" in path.parts:
        return {"photos": "uploaded photos", "zip": "uploaded zip", "typed.tsv": "typed examples"}.get(
            path.name, path.name)
    return path.name


rows, by_id = [], {}
for run in runs:
    config = engine.run_config(run)
    if config is None:
        continue
    status = run.status() or {}
    metrics = run.metrics() or {}
    info = engine.model_info(config.model, engine.run_kind(run))
    by_id[run.id] = run
    rows.append({
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(status.get("created", 0))),
        "name": config.name,
        "status": STATES.get(status.get("state"), status.get("state", "?")),
        "accuracy": 100 * metrics["accuracy"] if "accuracy" in metrics else None,
        "model": info.title,
        "fine-tuned": engine.what_trained(config),
        "epochs": config.epochs or "auto",
        "learning rate": config.lr or "auto",
        "batch size": config.batch_size,
        "augmentation": config.augment,
        "data": data_name(config),
        "run": run.id,
    })

unreadable = len(runs) - len(rows)
if unreadable:  # their config.json is damaged; the folders are left as they are
    frame.warning(f"{unreadable} {'run is' if unreadable == 1 else 'runs are'} left out of this list because "
                  f"{'its' if unreadable == 1 else 'their'} settings file cannot be read (in {runs[0].dir.parent}).")
if not rows:
    st.stop()
table = pd.DataFrame(rows)
if not table["name"].astype(bool).any():
    table = table.drop(columns="name")
st.dataframe(table, hide_index=True, key="runs_table",
             column_config={"accuracy": st.column_config.ProgressColumn("accuracy", format="%.0f%%",
                                                                      min_value=0, max_value=100)})

st.subheader("Compare runs")
with_curves = [r["run"] for r in rows if any(e["event"] == "epoch" for e in by_id[r["run"]].events())]
names = {run_id: engine.run_label(run) for run_id, run in by_id.items()}
if not with_curves:
    st.caption("Runs appear here once they have finished at least one epoch.")
else:
    picked = st.multiselect("Runs to overlay", with_curves, default=with_curves[:3], format_func=names.get,
                            key="compare_runs", placeholder="Choose runs to compare")
    series = {names[i]: [(e["epoch"], e["val_accuracy"]) for e in by_id[i].events() if e["event"] == "epoch"]
              for i in picked}
    if series:
        st.plotly_chart(charts.compare(series), key="compare_chart", config=charts.CONFIG)

st.subheader("Download a model")
ready = [r["run"] for r in rows if by_id[r["run"]].has_model()]
if not ready:
    st.caption("Models can be downloaded once a run has finished.")
else:
    wanted = st.query_params.get("run")
    choice = st.selectbox("Which run?", ready, index=ready.index(wanted) if wanted in ready else 0,
                          format_func=names.get, key="download_pick")
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
