"""Step 3: add examples for each class, then check them (counts, thumbnails, warnings, skipped files)."""
import shutil
import time

import pandas as pd
import streamlit as st

from pages.common import charts, engine, frame
from pages.common import project as projects
from pages.common.frame import esc
from tl_core.data.examples import plural

project = frame.start("data")

if not project:
    st.info("Start a project on the Welcome step first, so TransferLab knows whether you sort pictures or texts.",
            icon=":material/info:")
    frame.link("welcome", "Go to step 1: Welcome")
    st.stop()

kind = project["kind"]
LIMIT_MB = st.get_option("server.maxUploadSize")
LIMIT = f"Up to {LIMIT_MB} MB per file."
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


# ---------------------------------------------------------------- classes with names (photos and typed texts)

def rename(uid: str) -> None:
    """Callback of a class-name box: check the new name, then move the class's photos along with it."""
    cls = next(c for c in project["classes"] if c["uid"] == uid)
    new = " ".join(st.session_state[f"name_{uid}"].split())
    problem = None
    if not new:
        problem = "Every class needs a name; type one."
    elif any(c["name"].casefold() == new.casefold() for c in project["classes"] if c["uid"] != uid):
        problem = f"There is already a class called '{new}'; use a different name."
    if problem:
        st.session_state["class_problem"] = problem
        st.session_state[f"name_{uid}"] = cls["name"]
        return
    old_folder = projects.class_folder(project, cls["name"])
    new_folder = projects.class_folder(project, new)
    moving = old_folder.is_dir() and old_folder != new_folder
    # Names that differ only in characters a folder cannot hold ("a/b", "a_b") would share one folder.
    shared = any(projects.class_folder(project, c["name"]) == new_folder for c in project["classes"] if c["uid"] != uid)
    if shared or (moving and new_folder.exists()):
        st.session_state["class_problem"] = f"The name '{new}' is too close to another class; use a different one."
        st.session_state[f"name_{uid}"] = cls["name"]
        return
    if moving:
        old_folder.rename(new_folder)
    if project["source"] == "typed" and cls["name"] in project.get("typed", {}):
        project["typed"][new] = project["typed"].pop(cls["name"])
    cls["name"] = new
    projects.save(project)
    write_typed()


def remove_class(uid: str) -> None:
    cls = next(c for c in project["classes"] if c["uid"] == uid)
    shutil.rmtree(projects.class_folder(project, cls["name"]), ignore_errors=True)
    project.get("typed", {}).pop(cls["name"], None)
    project["classes"] = [c for c in project["classes"] if c["uid"] != uid]
    projects.save(project)
    write_typed()


def class_header(cls: dict, index: int) -> None:
    key = f"name_{cls['uid']}"
    if key not in st.session_state:
        st.session_state[key] = cls["name"]
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    left.text_input(f"Name of class {index}", key=key, on_change=rename, args=(cls["uid"],), max_chars=80,
                    help="The label the model will learn, e.g. 'ants'. You can change it at any time.")
    with right.popover("Remove class", icon=":material/delete:", width="stretch"):
        st.write("Remove this class and everything added to it?")
        st.button("Yes, remove it", key=f"remove_{cls['uid']}", on_click=remove_class, args=(cls["uid"],),
                  type="primary")


def photo_class(cls: dict, index: int) -> None:
    with st.container(border=True, key=f"class_{cls['uid']}"):
        class_header(cls, index)
        folder = projects.class_folder(project, cls["name"])
        if folder.name != cls["name"]:
            st.caption(f"Saved and trained as '{esc(folder.name)}': a folder name on disk cannot hold every "
                       "character of a class name.")
        files = sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []
        uid = cls["uid"]
        inbox = st.session_state.get(f"inbox_{uid}", 0)  # a new number = a new, empty uploader
        key = f"up_{uid}_{inbox}"
        st.file_uploader(f"Add photos of {esc(cls['name'])}", accept_multiple_files=True, key=key,
                         on_change=take_uploads, args=(cls["uid"], key),
                         help=f"Drag and drop photos here, or click to choose them. {LIMIT}")
        if st.toggle("Take photos with the webcam", key=f"cam_on_{cls['uid']}"):
            key = f"cam_{uid}_{inbox}"
            st.camera_input(f"Webcam photo for {esc(cls['name'])}", key=key, on_change=take_uploads,
                            args=(cls["uid"], key), width=480,
                            help="Each photo you take is added to this class right away.")
        if files:
            info, clear = st.columns([4, 1], vertical_alignment="center")
            usable = projects.photo_counts(project).get(folder.name, 0)
            left_out = len(files) - usable
            info.markdown(f"**{plural(usable, 'photo')}** in this class."
                          + (f" {left_out} {'file was' if left_out == 1 else 'files were'} left out; the report "
                             "below says why." if left_out > 0 else ""))
            clear.button("Remove all photos", key=f"clear_{uid}", icon=":material/delete_sweep:", width="stretch",
                         on_click=lambda: [path.unlink(missing_ok=True) for path in files])
            thumbs = [t for t in (engine.thumbnail(p, 120) for p in files[:12]) if t]
            if thumbs:
                st.image(thumbs, width=72)
            if len(files) > 12:
                st.caption(f"… and {len(files) - 12} more.")
        else:
            st.caption("No photos yet.")


def take_uploads(uid: str, key: str) -> None:
    """Callback of a class's uploader or webcam: save what arrived, then give the class an empty uploader.

    Saving in the callback (not in the script body followed by st.rerun) never loses files that a person
    drops on another class while the page is still redrawing.
    """
    value = st.session_state.get(key)
    files = value if isinstance(value, list) else [value] if value is not None else []
    # A slow redraw can deliver the same uploader's files twice; each upload is saved once.
    saved = st.session_state.setdefault("saved_uploads", set())
    files = [f for f in files if f.file_id not in saved]
    cls = next((c for c in project["classes"] if c["uid"] == uid), None)
    if cls is None or not files:
        return
    saved.update(f.file_id for f in files)
    from tl_core.data import save_uploads

    named = [(f"webcam {time.strftime('%Y-%m-%d %H.%M.%S')}.jpg" if key.startswith("cam_") else f.name, f.getvalue())
             for f in files]
    folder = projects.class_folder(project, cls["name"])
    before = set(folder.iterdir()) if folder.is_dir() else set()
    _, message = engine.attempt("saving your photos", save_uploads, {cls["name"]: named},
                                projects.photos_dir(project))
    if message:
        st.session_state["class_problem"] = message
    added = [p for p in folder.iterdir() if p not in before] if folder.is_dir() else []
    broken, _ = engine.attempt("checking your photos", engine.undecodable_pictures, added)
    for path, _reason in broken or []:
        path.unlink(missing_ok=True)
    if broken:
        one = len(broken) == 1
        listed = "; ".join(f"{path.name} ({reason})" for path, reason in broken)
        st.session_state["class_note"] = (f"{len(broken)} {'file was' if one else 'files were'} not added to "
                                          f"'{cls['name']}' because {'it' if one else 'they'} cannot be read: "
                                          f"{listed}.")
    st.session_state[f"inbox_{uid}"] = st.session_state.get(f"inbox_{uid}", 0) + 1


def typed_class(cls: dict, index: int) -> None:
    with st.container(border=True, key=f"class_{cls['uid']}"):
        class_header(cls, index)
        key = f"typed_{cls['uid']}"
        if key not in st.session_state:
            st.session_state[key] = project.get("typed", {}).get(cls["name"], "")
        text = st.text_area(f"Examples of {esc(cls['name'])}, one per line", key=key, height=150,
                            placeholder="One example per line", on_change=take_typed, args=(cls["uid"], key))
        lines = [t for t in text.splitlines() if t.strip()]
        st.caption(f"{len(lines)} {'example' if len(lines) == 1 else 'examples'}.")


def take_typed(uid: str, key: str) -> None:
    """Callback of a class's text box: keep the texts in the project and rewrite the table training reads."""
    cls = next((c for c in project["classes"] if c["uid"] == uid), None)
    if cls is not None:
        project.setdefault("typed", {})[cls["name"]] = st.session_state[key]
        projects.save(project)
        write_typed()


def write_typed() -> None:
    if project["source"] != "typed":
        return
    from tl_core.data import save_texts

    texts = {c["name"]: project.get("typed", {}).get(c["name"], "").splitlines() for c in project["classes"]}
    if not any(t.strip() for lines in texts.values() for t in lines):
        projects.typed_path(project).unlink(missing_ok=True)
        return
    _, message = engine.attempt("saving your examples", save_texts, texts, projects.typed_path(project))
    if message:
        st.session_state["class_problem"] = message


def classes_editor(draw) -> None:
    problem = st.session_state.pop("class_problem", None)
    if problem:
        frame.error(problem)
    note = st.session_state.pop("class_note", None)
    if note:
        frame.warning(note)
    for index, cls in enumerate(project["classes"], start=1):
        draw(cls, index)
    st.button("Add a class", icon=":material/add:", key="add_class", on_click=projects.add_class, args=(project,))


# ---------------------------------------------------------------- a zip of class folders

def take_zip() -> None:
    """Callback of the zip uploader: unpack it safely into the project, or keep the sentence saying why not."""
    from tl_core.data import load_image_zip

    upload = st.session_state.get("zip_up")
    target = projects.zip_dir(project)
    if upload is None:  # the person removed it
        st.session_state.pop("zip_problem", None)
        return
    staging = target.with_name("zip-new")  # unpacked beside the zip in use, which stays until this one works
    shutil.rmtree(staging, ignore_errors=True)
    unpacked, message = engine.attempt("unpacking the zip file", load_image_zip, upload.getvalue(), extract_to=staging)
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


def zip_source() -> None:
    st.write("Zip a folder that holds **one sub-folder per class** (for example `ants/` and `bees/`), "
             "optionally split into `train/` and `val/`.")
    st.file_uploader("Your .zip file", type=["zip"], key="zip_up", help=LIMIT, on_change=take_zip)
    st.caption(LIMIT)
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

def take_table() -> None:
    """Callback of the table uploader: keep the file in the project; the columns are chosen afresh."""
    from tl_core.data import table_columns
    from tl_core.data.names import safe_component

    upload = st.session_state.get("table_up")
    if upload is None:
        st.session_state.pop("table_problem", None)
        return
    _, message = engine.attempt("reading the table", table_columns, upload.getvalue())
    if message:
        st.session_state["table_problem"] = f"{upload.name} was not used: {message}"
        return
    st.session_state.pop("table_problem", None)
    folder = projects.folder(project) / "table"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    name = safe_component(upload.name, fallback="table.csv")
    (folder / name).write_bytes(upload.getvalue())
    project.update(table_file=name, text_column=None, label_column=None, label_names={})
    for key in ("text_column_pick", "label_column_pick"):
        st.session_state.pop(key, None)
    projects.save(project)


def pick_column(field: str) -> None:
    project[field] = st.session_state[f"{field}_pick"]
    if field == "label_column":  # other labels: the names given to the old ones no longer apply
        project["label_names"] = {}
    projects.save(project)


def table_source() -> None:
    st.write("A table with **one row per example**: one column holds the text, another its class "
             "(for example `Great food!` and `positive`). A header row is optional.")
    st.file_uploader("Your table file", type=["csv", "tsv", "txt"], key="table_up", help=LIMIT, on_change=take_table)
    st.caption(LIMIT)
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
        box.selectbox(label, columns, key=key, help=help, on_change=pick_column, args=(field,))


MAX_NAMED = 50  # more labels than this are not classes to name one by one


def class_names_editor(data) -> None:
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
                          args=(label, key, labels))


def name_label(label: str, key: str, labels: list[str]) -> None:
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


# ---------------------------------------------------------------- the report

def preview(data) -> None:
    thing = "pictures" if kind == "image" else "texts"
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
    thing = "pictures" if kind == "image" else "texts"
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
    st.caption(f"Name each class, then drag and drop its photos (JPEG, PNG, WebP, BMP, GIF or TIFF). {LIMIT}")
    classes_editor(photo_class)
    empty = [c["name"] for c in project["classes"]
             if report and not report.counts.get(projects.class_folder(project, c["name"]).name)]
    for name in empty:
        st.info(f"Class '{esc(name)}' has no usable photos yet: add some, or remove the class.",
                icon=":material/info:")
elif source == "zip":
    zip_source()
elif source == "table":
    table_source()
    if data:
        class_names_editor(data)
else:
    st.caption("Name each class and type or paste examples, one per line.")
    classes_editor(typed_class)

report = show_report(data, report, problem)
frame.next_button("train", "Next: train your model", disabled=not (report and report.ok),
                  help=None if report and report.ok else "Add enough examples for at least two classes first.")
