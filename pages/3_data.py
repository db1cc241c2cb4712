"""Step 3: add examples for each class, then check them (counts, thumbnails, warnings, skipped files)."""
import pandas as pd
import streamlit as st

import tl_core
from pages.common import charts, engine, frame, ranking
from pages.common import project as projects
from pages.common.class_cards import classes_editor, photo_class, typed_class, upload_limit
from pages.common.data_sources import class_names_editor, table_source, zip_source
from pages.common.frame import esc

project = frame.start("data")

if not project:
    st.info("Start a project on the Welcome step first, so TransferLab knows whether you sort pictures or texts.",
            icon=":material/info:")
    frame.link("welcome", "Go to step 1: Welcome")
    st.stop()

kind = project["kind"]
SOURCE_LABELS = {
    "photos": "Photos for each class",
    "zip": "A .zip file of class folders",
    "table": "A table file (CSV, TSV or TXT)",
    "typed": "Type or paste examples",
}


def choose_source() -> str:
    options = list(projects.SOURCES[kind])
    key = "source_choice"
    if st.session_state.get(key) not in options:
        st.session_state[key] = project["source"]
    picked = st.segmented_control("How do you want to add examples?", options, format_func=SOURCE_LABELS.get,
                                  key=key, required=True)
    if picked and picked != project["source"]:
        project["source"] = picked
        projects.save(project)
    return project["source"]


# ---------------------------------------------------------------- the report

def preview(data) -> None:
    thing = tl_core.things(kind)
    st.subheader("A look at each class")
    by_class: dict[str, list] = {}
    for example in data.examples:
        by_class.setdefault(example.label, []).append(example)
    for label in data.classes:
        examples = by_class.get(label, [])
        st.markdown(f"**{esc(label)}** · {len(examples)} {thing}")
        if kind == "image":
            thumbs = [t for t in (engine.thumbnail(e.path) for e in examples[:10] if e.path) if t]
            if thumbs:
                st.image(thumbs, width=96)
        else:
            st.dataframe(pd.DataFrame({"example": [e.text for e in examples[:3]]}), hide_index=True,
                         key=f"preview_{label}")


def load_current():
    """(dataset, report, problem sentence) for the data as it is on disk now; all None while there is none."""
    path, text_col, label_col = projects.data_source(project)
    if path is None:
        return None, None, None
    data, message = engine.dataset(path, text_col, label_col, projects.stamp(path), projects.label_names(project))
    if message:
        return None, None, message
    report, message = engine.report(data, project.get("val_split", 0.2), project.get("seed", 0))
    return data, report, message


def show_report(data, report, problem):
    st.header("Check your data")
    if problem:
        frame.error(problem)
        return None
    if report is None:
        nothing = {"photos": "Add photos to your classes", "zip": "Upload a .zip file",
                   "table": "Upload a table", "typed": "Type a few examples for each class"}[project["source"]]
        st.info(f"{nothing} to see how many examples each class has.", icon=":material/info:")
        return None
    if report.summary:  # a table: its lines, and what became of each
        st.info(esc(report.summary), icon=":material/table_rows:")
    thing = tl_core.things(kind)
    a, b, c = st.columns(3)
    a.metric("Classes", len(report.counts))
    b.metric(f"{thing.capitalize()} for training", sum(report.train_counts.values()) if report.train_counts else "–")
    c.metric(f"{thing.capitalize()} for checking", sum(report.val_counts.values()) if report.val_counts else "–",
             help="Validation examples: kept aside during training to check how well the model does on "
                  "examples it has never seen.")
    st.plotly_chart(charts.counts(report), key="counts_chart", config=charts.CONFIG)
    for problem in report.errors:
        frame.error(problem)
    for note in report.warnings:
        frame.warning(note)
    if report.skipped:
        with st.expander(f"{len(report.skipped)} {'file' if kind == 'image' else 'row'}"
                         f"{'' if len(report.skipped) == 1 else 's'} left out, and why"):
            st.dataframe(pd.DataFrame([{"name": s.name, "why it was left out": s.reason} for s in report.skipped]),
                         hide_index=True, key="skipped_table")
    if project["source"] != "photos":  # for photos, the class cards above already show them
        preview(data)
    if report.ok:
        st.success("Your data is ready for training.", icon=":material/check_circle:")
    else:
        st.error("Fix the problems above before training.", icon=":material/block:")
    return report


source = choose_source()
data, report, problem = load_current()
if source == "photos":
    st.caption("Name each class, then drag and drop its photos (JPEG, PNG, WebP, BMP, GIF or TIFF). "
               + upload_limit())
    classes_editor(project, photo_class)
    empty = [c["name"] for c in project["classes"]
             if report and not report.counts.get(projects.class_folder(project, c["name"]).name)]
    for name in empty:
        st.info(f"Class '{esc(name)}' has no usable photos yet: add some, or remove the class.",
                icon=":material/info:")
elif source == "zip":
    zip_source(project)
elif source == "table":
    table_source(project)
    if data:
        class_names_editor(project, data)
else:
    st.caption("Name each class and type or paste examples, one per line.")
    classes_editor(project, typed_class)

report = show_report(data, report, problem)
if report and report.ok and ranking.auto(project):
    # The automatic model's ranking starts as soon as the data is ready, as the Model step would start it, so step 4
    # usually finds the model chosen; a failure to start is said on steps 2 and 4, where it matters.
    ranking.current(project, start_if_missing=True)
frame.next_button("train", "Next: train your model", disabled=not (report and report.ok),
                  help=None if report and report.ok else "Add enough examples for at least two classes first.")
