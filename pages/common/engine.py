"""Every call into tl_core that a page makes, cached where it is slow and turned into a sentence when it fails.

Pages never see an exception from the engine: `attempt` returns (value, None) or (None, message).
"""
from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any, Callable

import streamlit as st

log = logging.getLogger("transferlab.app")

Outcome = tuple[Any, str | None]


def attempt(what: str, fn: Callable, *args, **kwargs) -> Outcome:
    """Run an engine call; a problem the user can fix comes back as its own sentence, a bug as a plain one."""
    from tl_core.data import DataError
    from tl_core.models.catalog import ModelUnavailable

    try:
        return fn(*args, **kwargs), None
    except (DataError, ModelUnavailable) as err:
        return None, str(err)
    except FileNotFoundError as err:
        return None, str(err) if str(err).endswith(".") else f"Something needed {what} is missing: {err}."
    except Exception:  # a bug: the log gets the details, the page gets a sentence
        log.exception("engine call failed: %s", what)
        return None, (f"Something went wrong while {what}. Try again; if it keeps happening, "
                      "the details are in the TransferLab server's log.")


# ---------------------------------------------------------------- models

def catalog(kind: str):
    from tl_core.models.catalog import catalog as engine_catalog

    return engine_catalog(kind)


def model_info(name: str, kind: str):
    from tl_core.models.catalog import default_model, find_model

    return (find_model(name) if name else None) or default_model(kind)


@st.cache_resource(show_spinner="Loading the network's layout…", max_entries=4)
def _built_layout(name: str, kind: str, num_classes: int):
    from tl_core.models import load_model
    from tl_core.models.layout import layout_of

    return layout_of(load_model(name, kind, num_classes, pretrained=False))


def layout(name: str, kind: str, num_classes: int) -> Outcome:
    """The network's blocks and parameter counts, enough to draw it and count what trains.

    A catalogue model's comes with the catalogue: building the network for it (torch imported into the
    server, the model made) made the first visit to the Train page take 11-25 s on a busy 2-core CPU.
    Any other model is built once without its weights. A text model that is not on this computer is not asked for: even
    without its weights the engine fetches its layout from the hub, retrying for about a minute offline.
    """
    from tl_core.models.catalog import shipped_layout

    num_classes = max(2, num_classes)
    shipped = shipped_layout(name, kind, num_classes)
    if shipped is not None:
        return shipped, None
    info = model_info(name, kind)
    if kind == "text" and not info.available:
        return None, (f"{info.title} is not on this computer yet: it {info.availability}, so its layers cannot be "
                      "shown or trained without an internet connection. Pick a model marked 'available offline' "
                      "on step 2.")
    return attempt("loading the network", _built_layout, name, kind, num_classes)


def plan(layout, unfreeze: int, from_scratch: bool) -> Outcome:
    from tl_core.freeze import plan_for

    return attempt("counting parameters", plan_for, layout, unfreeze, from_scratch)


# ---------------------------------------------------------------- data

@st.cache_data(show_spinner="Reading your data…", max_entries=16)
def _dataset(path: str, text_column: str | None, label_column: str | None, stamp: tuple):
    from tl_core.data import load_dataset

    return load_dataset(path, text_column=text_column, label_column=label_column)


def dataset(path: Path, text_column: str | None, label_column: str | None, stamp: tuple,
            label_names: dict[str, str] | None = None) -> Outcome:
    """The data as training reads it: with `label_names` ("0" -> "negative"), its classes are those names."""
    from tl_core.data import rename_labels

    data, message = attempt("reading your data", _dataset, str(path), text_column, label_column, stamp)
    if message or not label_names:
        return data, message
    return attempt("naming the classes", rename_labels, data, label_names)


def report(data, val_split: float, seed: int = 0) -> Outcome:
    from tl_core.data import make_report

    return attempt("checking your data", make_report, data, val_split, seed)


@st.cache_data(show_spinner=False, max_entries=4)
def _columns(path: str, stamp: tuple) -> list[str]:
    from tl_core.data import table_columns

    return table_columns(Path(path))


def columns(path: Path, stamp: tuple) -> Outcome:
    return attempt("reading the table's columns", _columns, str(path), stamp)


@st.cache_data(show_spinner=False, max_entries=4)
def _guess_columns(path: str, columns: tuple[str, ...], stamp: tuple) -> tuple[str, str]:
    """The (text, label) columns the engine picks by itself, found by asking it with each choice."""
    from tl_core.data import DataError, load_dataset

    guess = load_dataset(path)
    first = guess.examples[0]
    for text_col in columns:
        for label_col in columns:
            if text_col == label_col:
                continue
            try:
                trial = load_dataset(path, text_column=text_col, label_column=label_col)
            except DataError:
                continue
            if trial.examples and (trial.examples[0].text, trial.examples[0].label) == (first.text, first.label) \
                    and len(trial.examples) == len(guess.examples):
                return text_col, label_col
    return columns[0], columns[-1]


def guess_columns(path: Path, columns: list[str], stamp: tuple) -> tuple[str, str]:
    if len(columns) < 2:
        return columns[0], columns[0]
    if len(columns) > 6:  # asking the engine for every pair would be slow; the person picks
        return columns[0], columns[-1]
    value, _ = attempt("guessing the columns", _guess_columns, str(path), tuple(columns), stamp)
    return value or (columns[0], columns[-1])


@st.cache_data(show_spinner=False, max_entries=2000)
def _thumbnail(path: str, mtime: int, size: int) -> bytes:
    from tl_core.data import read_image

    image = read_image(Path(path), draft_size=size * 2)
    image.thumbnail((size, size))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def undecodable_pictures(paths: list[Path]) -> list[tuple[Path, str]]:
    """(path, reason) for pictures that pass the quick check a data report makes but cannot be decoded.

    A cut-off JPEG has a valid header, so the report would count it and only training would leave it out.
    Decoding each new upload once (JPEGs at 1/8 scale) finds it while the person can still be told.
    Files the quick check refuses are not returned: the report lists those with their reasons.
    """
    from tl_core.data import read_image
    from tl_core.data.images import ImageError, check_image
    from tl_core.data.names import unsupported_reason

    found = []
    for path in paths:
        if unsupported_reason(path.name):
            continue
        try:
            check_image(path)
        except ImageError:
            continue
        try:
            read_image(path, draft_size=64)
        except ImageError as err:
            found.append((path, err.reason))
    return found


def thumbnail(path: Path, size: int = 160) -> bytes | None:
    """A small JPEG of a picture, or None when it cannot be read (it is then listed as skipped anyway)."""
    try:
        value, message = attempt("making a thumbnail", _thumbnail, str(path), path.stat().st_mtime_ns, size)
    except OSError:
        return None
    return value


# ---------------------------------------------------------------- runs

def runs_safe() -> list:
    from tl_core.runs import list_runs

    value, _ = attempt("listing runs", list_runs)
    return value or []


def get_run(run_id: str | None):
    if not run_id:
        return None
    from tl_core.runs import get_run as engine_get_run

    value, _ = attempt("opening a run", engine_get_run, run_id)
    return value


def keep_worker_warm() -> None:
    """A worker with torch imported waits for the next Start, but never beside a training run.

    Every page asks (through frame.start), not app.py: on a fresh server, a link straight to a step
    runs that page's file without app.py.
    """
    from tl_core.runs import active_runs
    from tl_core.standby import ensure_standby

    if not active_runs():
        ensure_standby()


def prepare_ahead(config) -> None:
    """While the person reads the Train page, the warm worker reads the data and runs the frozen network,
    so Start has only the new head left to train. Asked once per data and settings, never beside a run."""
    from tl_core.runs import active_runs
    from tl_core.standby import request_prepare

    if config.from_scratch:
        return
    key = (config.data, config.model, config.augment, config.seed, config.val_split, config.text_column,
           config.label_column, tuple(sorted(config.label_names.items())))
    asked = st.session_state.setdefault("prepared_ahead", set())
    if key in asked or active_runs():
        return
    _, problem = attempt("preparing the data ahead", request_prepare, config)
    if problem is None:
        asked.add(key)


def run_config(run):
    value, _ = attempt("reading a run's settings", lambda: run.config)
    return value


def what_trained(config) -> str:
    """The fine-tuning choice of a run, in words."""
    from tl_core.config import what_trains

    return "?" if config is None else what_trains(config.unfreeze, config.from_scratch)


def run_label(run) -> str:
    """How a run is named in pickers: its name or start time, what trained, its accuracy once known, its state
    unless it finished, and the project (or, for a run started from the command line, the data) it learned from."""
    from . import project as projects

    config = run_config(run)
    metrics = run.metrics() or {}
    accuracy = f" · {metrics['accuracy']:.0%} correct" if "accuracy" in metrics else ""
    state = run_state(run)
    unfinished = "" if state == "finished" else f" · {state}"
    project = run_project(run)
    source = projects.name(project) if project else data_name(config)
    return f"{run_name(run, config)} · {what_trained(config)}{accuracy}{unfinished} · {source}"


def run_name(run, config) -> str:
    """The name a person gave the run, else when it started."""
    import time

    if config and config.name:
        return config.name
    return time.strftime("Run of %d %b %H:%M:%S", time.localtime(run.created() or 0))


STATES = {"queued": "waiting", "running": "training", "finished": "finished", "failed": "failed",
          "cancelled": "stopped", "interrupted": "interrupted"}


def run_state(run) -> str:
    """The run's state in words; a run whose Stop ended it before it could say so is "stopped" too."""
    state = (run.status() or {}).get("state", "?")
    if state == "interrupted" and run.stop_requested():
        return "stopped"
    return STATES.get(state, state)


def run_project(run) -> dict | None:
    """The project a run was started from on the Train step; None for a run started from the command line."""
    from . import project as projects

    config = run_config(run)
    return projects.load((config.extra or {}).get("project")) if config else None


def data_name(config) -> str:
    """The data's name as a person knows it: an uploaded file's name, else the folder's."""
    if config is None:
        return "?"
    path = Path(config.data)
    if "projects" in path.parts:
        return {"photos": "uploaded photos", "zip": "uploaded zip", "typed.tsv": "typed examples"}.get(
            path.name, path.name)
    return path.name


def run_data(run) -> str:
    """What a run learned from: the data's name and, once training started, its examples and classes."""
    config = run_config(run)
    started = next((e for e in run.events() if e["event"] == "started"), None)
    if not started:
        return data_name(config)
    examples = started["train_examples"] + started["val_examples"]
    classes = len(started["classes"])
    from tl_core.data.examples import plural

    return f"{data_name(config)}: {plural(examples, 'example')}, {plural(classes, 'class', 'classes')}"


def run_kind(run) -> str:
    """'image' or 'text': from the trained model, else the project's kind, else the data's file name."""
    from tl_core.workspace import read_json

    described = read_json(run.dir / "model.json") or {}
    if described.get("kind"):
        return described["kind"]
    config = run_config(run)
    if config and (config.extra or {}).get("kind") in ("image", "text"):
        return config.extra["kind"]
    data = (config.data if config else "").lower()
    return "text" if data.endswith((".csv", ".tsv", ".txt")) else "image"


@st.cache_resource(show_spinner="Loading the trained model…", max_entries=3)
def _predictor(run_id: str, stamp: float):
    from tl_core.predictor import Predictor

    return Predictor.load(run_id)


def predictor(run) -> Outcome:
    try:
        stamp = (run.dir / "model.safetensors").stat().st_mtime
    except OSError:
        return None, "This run has no trained model yet."
    return attempt("loading the trained model", _predictor, run.id, stamp)


def predict(run, inputs: list, top_k: int = 5) -> Outcome:
    model, message = predictor(run)
    if message:
        return None, message
    return attempt("predicting", model.predict, inputs, top_k)


def export_zip(run) -> bytes:
    """The run's export as zip bytes, made once and kept beside the run. Called when Download is clicked."""
    from tl_core.export import export_run

    ready = run.dir / "export" / f"transferlab-{run.id}.zip"
    if not ready.is_file():
        ready = export_run(run, as_zip=True)
    return Path(ready).read_bytes()


def pick_run(page: str):
    """The run in the URL, else the newest one with a trained model; the person can choose another."""
    runs = [r for r in runs_safe() if r.has_model()]
    if not runs:
        return None
    wanted = st.query_params.get("run")
    ids = [r.id for r in runs]
    index = ids.index(wanted) if wanted in ids else 0
    labels = {r.id: run_label(r) for r in runs}
    chosen = st.selectbox("Which run?", ids, index=index, format_func=labels.get, key=f"{page}_run_{wanted}")
    if chosen != wanted:
        st.query_params["run"] = chosen
        st.session_state["run_id"] = chosen
    return next(r for r in runs if r.id == chosen)
