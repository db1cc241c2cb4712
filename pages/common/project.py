"""A project: what one person is building in one browser tab (kind, model, data, settings), kept on disk.

Each project lives in `$TRANSFERLAB_HOME/projects/<random id>/`: its uploads (where the training
process can read them) and `project.json`. The id is random and travels in the URL, so a refresh
finds the project again while another browser session never sees it; the Welcome step lists the
projects on this computer to reopen.
"""
from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

import streamlit as st

import tl_core

SOURCES = {
    "image": ("photos", "zip"),
    "text": ("table", "typed"),
}
_ID = re.compile(r"^[0-9a-f]{16}$")


def projects_dir() -> Path:
    """Where every project on this computer is kept, in the engine's workspace."""
    return tl_core.home() / "projects"


def folder(project: dict) -> Path:
    path = projects_dir() / project["id"]
    path.mkdir(parents=True, exist_ok=True)
    return path


def new(kind: str) -> dict:
    """A fresh, empty project of one kind, remembered for this tab."""
    created = time.time()
    project = {
        "id": secrets.token_hex(8),
        "kind": kind,
        "name": _default_name(kind, created),
        "created": created,
        "model": tl_core.AUTO_MODEL,  # TransferLab chooses from the data (older projects keep their named model)
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
    stored = load(wanted)
    if stored:
        st.session_state["project"] = stored
        return stored
    return project


def load(project_id: str | None) -> dict | None:
    """The project saved under this id, or None when there is none (or the id is not a project id)."""
    if not project_id or not _ID.match(project_id):
        return None
    try:
        return json.loads((projects_dir() / project_id / "project.json").read_text())
    except (OSError, ValueError):
        return None


def saved_projects() -> list[dict]:
    """Every project on this computer, newest first."""
    found = [load(path.parent.name) for path in projects_dir().glob("*/project.json")]
    return sorted((p for p in found if p), key=lambda p: p.get("created", 0), reverse=True)


def name(project: dict) -> str:
    """The name a person knows the project by: their own, or its kind and when it was started."""
    return project.get("name") or _default_name(project["kind"], project.get("created", 0))


def rename(project: dict, new_name: str) -> None:
    project["name"] = " ".join(new_name.split()) or _default_name(project["kind"], project.get("created", 0))
    save(project)


def _default_name(kind: str, created: float) -> str:
    when = time.localtime(created)
    return f"{'Pictures' if kind == 'image' else 'Texts'} project of {when.tm_mday} {time.strftime('%b %H:%M', when)}"


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


# ---------------------------------------------------------------- the Train step's settings

# Each setting's widget key on the Train step and its value in a new project. "blocks": whether TransferLab
# proposes how many blocks to fine-tune ("auto") or the "unfreeze" slider says ("mine").
SETTINGS = {"from_scratch": False, "blocks": "auto", "unfreeze": 0, "epochs": 0, "augment": "light",
            "val_percent": 20, "lr": 0.0, "batch": 0, "early_stop": 0, "seed": 0, "run_name": ""}
# Settings saved before the automatic choice existed: their slider was the choice.
_BEFORE_AUTO = {"blocks": "mine"}


def use_settings(project: dict) -> None:
    """Put this project's own settings into the Train step's widgets, once per project a session opens.

    The widgets keep their values in session state across steps (`persist_state="session"`); without this
    a new project, or another one reopened, would open with whatever the previous project last had.
    """
    if st.session_state.get("settings_of") == project["id"]:
        return
    saved = project.get("settings") or {}
    st.session_state.update({**SETTINGS, **(_BEFORE_AUTO if saved else {}), **saved})
    st.session_state["settings_of"] = project["id"]


def keep_settings(project: dict) -> None:
    """Save the Train step's current settings in the project, so reopening it (even elsewhere) restores them."""
    chosen = {key: st.session_state.get(key, default) for key, default in SETTINGS.items()}
    if project.get("settings") != chosen:
        project["settings"] = chosen
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
    return photos_dir(project) / tl_core.safe_component(name.strip())


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


def label_names(project: dict) -> dict[str, str]:
    """The names a person gave a table's labels on the Data step (label in the file -> class name to train)."""
    return dict(project.get("label_names") or {}) if project["source"] == "table" else {}


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
    if project.get("model") == tl_core.AUTO_MODEL:
        return "Automatic (chosen from your data)"
    info = tl_core.find_model(project.get("model") or "")
    return info.title if info else (project.get("model") or "default")


def example_counts(project: dict) -> dict[str, int]:
    """Examples per class as training reads them, whatever the source: files or rows it cannot use do not count;
    {} while there is nothing it can read."""
    from collections import Counter

    from . import engine

    path, text_column, label_column = data_source(project)
    if path is None:
        return {}
    data, _ = engine.dataset(path, text_column, label_column, stamp(path), label_names(project))
    return Counter(e.label for e in data.examples) if data else {}


def photo_counts(project: dict) -> dict[str, int]:
    """Photos per class folder as training reads them: the one count the sidebar and each class card show, so they
    never disagree."""
    return example_counts(project) if project["source"] == "photos" else {}


def data_summary(project: dict) -> str:
    """The data in a few words, counted as training reads it, whatever the source: "80 photos in 2 classes",
    "1,200 examples in 4 classes from news.tsv". Before, a table or zip was only named, beside counted photos."""
    source = project["source"]
    named = {"zip": ("zip file", project.get("zip_name")), "table": ("table", project.get("table_file"))}
    what, name = named.get(source, ("", None))
    counts = example_counts(project)
    if counts:
        noun = "photo" if project["kind"] == "image" else "typed example" if source == "typed" else "example"
        said = (f"{tl_core.plural(sum(counts.values()), noun)} in "
                f"{tl_core.plural(sum(1 for n in counts.values() if n), 'class', 'classes')}")
        return f"{said} from {name}" if name else said
    if source in named:
        return f"{what} {name}" if name else f"no {what} yet"
    return "no photos yet" if source == "photos" else "no examples yet"
