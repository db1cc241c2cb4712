"""A project: what one person is building in one browser tab (kind, model, data), kept on disk.

Each project lives in `$TRANSFERLAB_HOME/projects/<random id>/`: its uploads (where the training
process can read them) and `project.json`. The id is random and travels in the URL, so a refresh
finds the project again while another browser session never sees it.
"""
from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

import streamlit as st

SOURCES = {
    "image": ("photos", "zip"),
    "text": ("table", "typed"),
}
_ID = re.compile(r"^[0-9a-f]{16}$")


def home() -> Path:
    from tl_core.workspace import home as workspace_home

    return workspace_home()


def folder(project: dict) -> Path:
    path = home() / "projects" / project["id"]
    path.mkdir(parents=True, exist_ok=True)
    return path


def new(kind: str) -> dict:
    """A fresh, empty project of one kind, remembered for this tab."""
    from tl_core.models.catalog import default_model

    project = {
        "id": secrets.token_hex(8),
        "kind": kind,
        "created": time.time(),
        "model": default_model(kind).name,
        "source": SOURCES[kind][0],
        "classes": [_new_class(1), _new_class(2)],
        "typed": {},
        "table_file": None,
        "text_column": None,
        "label_column": None,
    }
    save(project)
    st.session_state["project"] = project
    st.session_state.pop("run_id", None)
    st.query_params.clear()
    st.query_params["project"] = project["id"]
    return project


def current() -> dict | None:
    """This tab's project: from session state, else from the URL (after a refresh or in a new tab)."""
    project = st.session_state.get("project")
    wanted = st.query_params.get("project")
    if project and (not wanted or wanted == project["id"]):
        return project
    if wanted and _ID.match(wanted):
        try:
            project = json.loads((home() / "projects" / wanted / "project.json").read_text())
        except (OSError, ValueError):
            return project
        st.session_state["project"] = project
        return project
    return project


def save(project: dict) -> None:
    path = folder(project) / "project.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(project, indent=2))
    tmp.replace(path)
    st.session_state["project"] = project


def _new_class(number: int) -> dict:
    return {"uid": secrets.token_hex(4), "name": f"Class {number}"}


def add_class(project: dict) -> None:
    taken = {c["name"].casefold() for c in project["classes"]}
    number = len(project["classes"]) + 1
    while f"class {number}" in taken:
        number += 1
    project["classes"].append(_new_class(number))
    save(project)


# ---------------------------------------------------------------- where the data is

def photos_dir(project: dict) -> Path:
    return folder(project) / "photos"


def zip_dir(project: dict) -> Path:
    return folder(project) / "zip"


def table_path(project: dict) -> Path | None:
    name = project.get("table_file")
    return folder(project) / "table" / name if name else None


def typed_path(project: dict) -> Path:
    return folder(project) / "typed.tsv"


def class_folder(project: dict, name: str) -> Path:
    from tl_core.data.names import safe_component

    return photos_dir(project) / safe_component(name.strip())


def data_source(project: dict) -> tuple[Path | None, str | None, str | None]:
    """(path the engine reads, text column, label column); path is None while there is nothing to read."""
    source = project["source"]
    if source == "photos":
        path = photos_dir(project)
        return (path if _has_files(path) else None), None, None
    if source == "zip":
        path = zip_dir(project)
        return (path if _has_files(path) else None), None, None
    if source == "table":
        path = table_path(project)
        if path and path.is_file():
            return path, project.get("text_column"), project.get("label_column")
        return None, None, None
    path = typed_path(project)
    return (path if path.is_file() else None), "text", "label"


def _has_files(path: Path) -> bool:
    return path.is_dir() and any(p.is_file() for p in path.rglob("*"))


def stamp(path: Path | None) -> tuple:
    """Changes whenever the data changes, so cached reports are recomputed exactly then."""
    if path is None:
        return ()
    if path.is_file():
        info = path.stat()
        return (str(path), info.st_size, info.st_mtime_ns)
    paths = sorted(p for p in path.rglob("*") if p.is_file())
    files = [p.stat() for p in paths]
    names = hash(tuple(str(p.relative_to(path)) for p in paths))  # renaming a class changes no size or time
    return (str(path), len(files), sum(f.st_size for f in files), max((f.st_mtime_ns for f in files), default=0),
            names)


# ---------------------------------------------------------------- short descriptions for the sidebar

def model_title(project: dict) -> str:
    from tl_core.models.catalog import find_model

    info = find_model(project.get("model") or "")
    return info.title if info else (project.get("model") or "default")


def data_summary(project: dict) -> str:
    source = project["source"]
    if source == "photos":
        counts = [sum(1 for p in class_folder(project, c["name"]).glob("*") if p.is_file())
                  for c in project["classes"] if c["name"].strip()]
        total = sum(counts)
        classes = sum(1 for n in counts if n)
        return f"{total} {'photo' if total == 1 else 'photos'} in {classes} {'class' if classes == 1 else 'classes'}" \
            if total else "no photos yet"
    if source == "zip":
        return f"zip file {project.get('zip_name')}" if project.get("zip_name") else "no zip file yet"
    if source == "table":
        return f"table {project['table_file']}" if project.get("table_file") else "no table yet"
    lines = sum(len([t for t in text.splitlines() if t.strip()]) for text in project.get("typed", {}).values())
    return f"{lines} typed examples" if lines else "no examples yet"
