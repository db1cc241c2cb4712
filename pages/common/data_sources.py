"""The Data step's other sources: a zip of class folders, and a table of texts with its columns and class names.

Uploads are checked and kept in widget callbacks, before the page redraws; a file that cannot be used is
refused with the engine's sentence and the one in use stays. Each callback gets the project dict first.
"""
from __future__ import annotations

import shutil

import streamlit as st

import tl_core

from . import engine, frame
from . import project as projects
from .class_cards import upload_limit
from .frame import esc


def take_zip(project: dict) -> None:
    """Callback of the zip uploader: unpack it safely into the project, or keep the sentence saying why not."""
    upload = st.session_state.get("zip_up")
    target = projects.zip_dir(project)
    if upload is None:  # the person removed it
        st.session_state.pop("zip_problem", None)
        return
    staging = target.with_name("zip-new")  # unpacked beside the zip in use, which stays until this one works
    shutil.rmtree(staging, ignore_errors=True)
    unpacked, message = engine.attempt("unpacking the zip file", tl_core.load_image_zip, upload.getvalue(),
                                       extract_to=staging)
    if message:
        shutil.rmtree(staging, ignore_errors=True)
        st.session_state["zip_problem"] = f"{upload.name} was not used: {message}"
        return
    # Members refused while unpacking (unsafe paths, links, nested zips) are not on disk, so the report
    # made from the folder cannot list them: keep them to say so.
    on_disk = {str(p.relative_to(staging)) for p in staging.rglob("*")}
    project["zip_left_out"] = [[s.name, s.reason] for s in unpacked.skipped if s.name not in on_disk]
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    project["zip_name"] = upload.name
    st.session_state.pop("zip_problem", None)
    projects.save(project)


def zip_source(project: dict) -> None:
    st.write("Zip a folder that holds **one sub-folder per class** (for example `ants/` and `bees/`), "
             "optionally split into `train/` and `val/`.")
    st.file_uploader("Your .zip file", type=["zip"], key="zip_up", help=upload_limit(), on_change=take_zip,
                     args=(project,))
    st.caption(upload_limit())
    problem = st.session_state.get("zip_problem")
    if problem:
        frame.error(problem)
    if project.get("zip_name"):
        st.success(f"Using {esc(project['zip_name'])}.", icon=":material/folder_zip:")
        left_out = project.get("zip_left_out") or []
        if left_out:
            listed = "; ".join(f"{name} ({reason})" for name, reason in left_out[:5])
            more = f"; and {len(left_out) - 5} more" if len(left_out) > 5 else ""
            frame.warning(f"{len(left_out)} {'file' if len(left_out) == 1 else 'files'} in the zip "
                          f"{'was' if len(left_out) == 1 else 'were'} not unpacked: {listed}{more}.")


# ---------------------------------------------------------------- a table of texts

def take_table(project: dict) -> None:
    """Callback of the table uploader: keep the file in the project; the columns are chosen afresh."""
    upload = st.session_state.get("table_up")
    if upload is None:
        st.session_state.pop("table_problem", None)
        return
    _, message = engine.attempt("reading the table", tl_core.table_columns, upload.getvalue())
    if message:
        st.session_state["table_problem"] = f"{upload.name} was not used: {message}"
        return
    st.session_state.pop("table_problem", None)
    folder = projects.folder(project) / "table"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    name = tl_core.safe_component(upload.name, fallback="table.csv")
    (folder / name).write_bytes(upload.getvalue())
    project.update(table_file=name, text_column=None, label_column=None, label_names={})
    for key in ("text_column_pick", "label_column_pick"):
        st.session_state.pop(key, None)
    projects.save(project)


def pick_column(project: dict, field: str) -> None:
    project[field] = st.session_state[f"{field}_pick"]
    if field == "label_column":  # other labels: the names given to the old ones no longer apply
        project["label_names"] = {}
    projects.save(project)


def table_source(project: dict) -> None:
    st.write("A table with **one row per example**: one column holds the text, another its class "
             "(for example `Great food!` and `positive`). A header row is optional.")
    st.file_uploader("Your table file", type=["csv", "tsv", "txt"], key="table_up", help=upload_limit(),
                     on_change=take_table, args=(project,))
    st.caption(upload_limit())
    problem = st.session_state.get("table_problem")
    if problem:
        frame.error(problem)
    path = projects.table_path(project)
    if not path or not path.is_file():
        return
    stamp = projects.stamp(path)
    columns, message = engine.columns(path, stamp)
    if message:
        frame.error(message)
        return
    if len(columns) < 2:
        frame.error("The table needs two columns, one with the text and one with its class; add a class column.")
        return
    if project.get("text_column") not in columns or project.get("label_column") not in columns:
        text_col, label_col = engine.guess_columns(path, columns, stamp)
        project.update(text_column=text_col, label_column=label_col)
        projects.save(project)
    st.success(f"Using {esc(project['table_file'])}.", icon=":material/table:")
    left, right = st.columns(2)
    for box, field, label, help in (
        (left, "text_column", "Which column holds the text?", "The sentences or documents the model reads."),
        (right, "label_column", "Which column holds the class?", "The label each text should get, e.g. positive."),
    ):
        key = f"{field}_pick"
        if st.session_state.get(key) not in columns:
            st.session_state[key] = project[field]
        box.selectbox(label, columns, key=key, help=help, on_change=pick_column, args=(project, field))


MAX_NAMED = 50  # more labels than this are not classes to name one by one


def class_names_editor(project: dict, data) -> None:
    """Rename a table's labels ("0" -> "negative"): training then learns the names, so every later step shows them."""
    names = projects.label_names(project)
    in_file = {name: label for label, name in names.items()}
    labels = sorted(in_file.get(c, c) for c in data.classes)  # the file's order, whatever the names sort as
    if len(labels) > MAX_NAMED:  # the wrong column, most likely: the report below says so
        return
    with st.expander(f"Class names ({len(labels)})", expanded=bool(names) or all(c.isdigit() for c in labels)):
        st.caption("Each class as the table labels it, and the name the model learns and shows in Results and "
                   "Try it. Leave a name as it is to keep the label.")
        problem = st.session_state.pop("label_problem", None)
        if problem:
            frame.error(problem)
        for index, label in enumerate(labels):
            key = f"label_name_{index}"
            st.session_state[key] = names.get(label, label)  # the project is the truth; a refused name goes back
            st.text_input(f"Name for the label '{esc(label)}'", key=key, max_chars=80, on_change=name_label,
                          args=(project, label, key, labels))


def name_label(project: dict, label: str, key: str, labels: list[str]) -> None:
    """Callback of a class-name box: keep the name unless two classes would share it."""
    new = " ".join(st.session_state[key].split())
    names = projects.label_names(project)
    if new and new != label:
        names[label] = new
    else:
        names.pop(label, None)
    shown = new or label
    if sum(1 for other in labels if names.get(other, other).casefold() == shown.casefold()) > 1:
        st.session_state["label_problem"] = f"Another class is already called '{shown}'; give each class its own name."
        return
    project["label_names"] = names
    projects.save(project)
