"""The Data step's class cards: a named class with its photos (uploads, webcam) or its typed examples.

Every change is saved in a widget's callback, before the page redraws, so nothing a person adds is lost
to a rerun. The project dict is the truth; each callback gets it as its first argument.
"""
from __future__ import annotations

import shutil
import time

import streamlit as st

import tl_core

from . import engine, frame
from . import project as projects
from .frame import esc


def upload_limit() -> str:
    """The server's upload limit in words, for every uploader's help."""
    return f"Up to {st.get_option('server.maxUploadSize')} MB per file."


def rename(project: dict, uid: str) -> None:
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
    write_typed(project)


def remove_class(project: dict, uid: str) -> None:
    cls = next(c for c in project["classes"] if c["uid"] == uid)
    shutil.rmtree(projects.class_folder(project, cls["name"]), ignore_errors=True)
    project.get("typed", {}).pop(cls["name"], None)
    project["classes"] = [c for c in project["classes"] if c["uid"] != uid]
    projects.save(project)
    write_typed(project)


def class_header(project: dict, cls: dict, index: int) -> None:
    key = f"name_{cls['uid']}"
    if key not in st.session_state:
        st.session_state[key] = cls["name"]
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    left.text_input(f"Name of class {index}", key=key, on_change=rename, args=(project, cls["uid"]), max_chars=80,
                    help="The label the model will learn, e.g. 'ants'. You can change it at any time.")
    with right.popover("Remove class", icon=":material/delete:", width="stretch"):
        st.write("Remove this class and everything added to it?")
        st.button("Yes, remove it", key=f"remove_{cls['uid']}", on_click=remove_class, args=(project, cls["uid"]),
                  type="primary")


def photo_class(project: dict, cls: dict, index: int) -> None:
    with st.container(border=True, key=f"class_{cls['uid']}"):
        class_header(project, cls, index)
        folder = projects.class_folder(project, cls["name"])
        if folder.name != cls["name"]:
            st.caption(f"Saved and trained as '{esc(folder.name)}': a folder name on disk cannot hold every "
                       "character of a class name.")
        files = sorted(p for p in folder.glob("*") if p.is_file()) if folder.is_dir() else []
        uid = cls["uid"]
        inbox = st.session_state.get(f"inbox_{uid}", 0)  # a new number = a new, empty uploader
        key = f"up_{uid}_{inbox}"
        st.file_uploader(f"Add photos of {esc(cls['name'])}", accept_multiple_files=True, key=key,
                         on_change=take_uploads, args=(project, cls["uid"], key),
                         help=f"Drag and drop photos here, or click to choose them. {upload_limit()}")
        if st.toggle("Take photos with the webcam", key=f"cam_on_{cls['uid']}"):
            key = f"cam_{uid}_{inbox}"
            st.camera_input(f"Webcam photo for {esc(cls['name'])}", key=key, on_change=take_uploads,
                            args=(project, cls["uid"], key), width=480,
                            help="Each photo you take is added to this class right away.")
        if files:
            info, clear = st.columns([4, 1], vertical_alignment="center")
            usable = projects.photo_counts(project).get(folder.name, 0)
            left_out = len(files) - usable
            info.markdown(f"**{tl_core.plural(usable, 'photo')}** in this class."
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


def take_uploads(project: dict, uid: str, key: str) -> None:
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
    named = [(f"webcam {time.strftime('%Y-%m-%d %H.%M.%S')}.jpg" if key.startswith("cam_") else f.name, f.getvalue())
             for f in files]
    folder = projects.class_folder(project, cls["name"])
    before = set(folder.iterdir()) if folder.is_dir() else set()
    _, message = engine.attempt("saving your photos", tl_core.save_uploads, {cls["name"]: named},
                                projects.photos_dir(project))
    if message:
        st.session_state["class_problem"] = message
    added = [p for p in folder.iterdir() if p not in before] if folder.is_dir() else []
    broken, _ = engine.attempt("checking your photos", tl_core.undecodable_pictures, added)
    for path, _reason in broken or []:
        path.unlink(missing_ok=True)
    if broken:
        one = len(broken) == 1
        listed = "; ".join(f"{path.name} ({reason})" for path, reason in broken)
        st.session_state["class_note"] = (f"{len(broken)} {'file was' if one else 'files were'} not added to "
                                          f"'{cls['name']}' because {'it' if one else 'they'} cannot be read: "
                                          f"{listed}.")
    st.session_state[f"inbox_{uid}"] = st.session_state.get(f"inbox_{uid}", 0) + 1


def typed_class(project: dict, cls: dict, index: int) -> None:
    with st.container(border=True, key=f"class_{cls['uid']}"):
        class_header(project, cls, index)
        key = f"typed_{cls['uid']}"
        if key not in st.session_state:
            st.session_state[key] = project.get("typed", {}).get(cls["name"], "")
        text = st.text_area(f"Examples of {esc(cls['name'])}, one per line", key=key, height=150,
                            placeholder="One example per line", on_change=take_typed, args=(project, cls["uid"], key))
        lines = [t for t in text.splitlines() if t.strip()]
        st.caption(f"{len(lines)} {'example' if len(lines) == 1 else 'examples'}.")


def take_typed(project: dict, uid: str, key: str) -> None:
    """Callback of a class's text box: keep the texts in the project and rewrite the table training reads."""
    cls = next((c for c in project["classes"] if c["uid"] == uid), None)
    if cls is not None:
        project.setdefault("typed", {})[cls["name"]] = st.session_state[key]
        projects.save(project)
        write_typed(project)


def write_typed(project: dict) -> None:
    if project["source"] != "typed":
        return
    texts = {c["name"]: project.get("typed", {}).get(c["name"], "").splitlines() for c in project["classes"]}
    if not any(t.strip() for lines in texts.values() for t in lines):
        projects.typed_path(project).unlink(missing_ok=True)
        return
    _, message = engine.attempt("saving your examples", tl_core.save_texts, texts, projects.typed_path(project))
    if message:
        st.session_state["class_problem"] = message


def classes_editor(project: dict, draw) -> None:
    problem = st.session_state.pop("class_problem", None)
    if problem:
        frame.error(problem)
    note = st.session_state.pop("class_note", None)
    if note:
        frame.warning(note)
    for index, cls in enumerate(project["classes"], start=1):
        draw(project, cls, index)
    st.button("Add a class", icon=":material/add:", key="add_class", on_click=projects.add_class, args=(project,))
