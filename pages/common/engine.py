"""Every call into tl_core that a page makes, cached where it is slow and turned into a sentence when it fails.

Pages never see an exception from the engine: `attempt` returns (value, None) or (None, message).
The facts (a run's kind, files and stop, what a model or data is) are the engine's; here they are only
cached for Streamlit's reruns.
"""
from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any, Callable

import streamlit as st

import tl_core

log = logging.getLogger("transferlab.app")

Outcome = tuple[Any, str | None]


def attempt(what: str, fn: Callable, *args, **kwargs) -> Outcome:
    """Run an engine call; a problem the user can fix comes back as its own sentence, a bug as a plain one."""
    try:
        return fn(*args, **kwargs), None
    except (tl_core.DataError, tl_core.ModelUnavailable) as err:
        return None, str(err)
    except FileNotFoundError as err:
        return None, str(err) if str(err).endswith(".") else f"Something needed {what} is missing: {err}."
    except Exception:  # a bug: the log gets the details, the page gets a sentence
        log.exception("engine call failed: %s", what)
        return None, (f"Something went wrong while {what}. Try again; if it keeps happening, "
                      "the details are in the TransferLab server's log.")


# ---------------------------------------------------------------- models

def model_info(name: str, kind: str):
    """The catalogue's card for a project's or run's model, the kind's default when it names none (or one gone)."""
    return (tl_core.find_model(name) if name else None) or tl_core.default_model(kind)


@st.cache_resource(show_spinner="Loading the network's layout…", max_entries=4)
def _built_layout(name: str, kind: str, num_classes: int):
    return tl_core.layout_of(tl_core.load_model(name, kind, num_classes, pretrained=False))


def layout(name: str, kind: str, num_classes: int) -> Outcome:
    """The network's blocks and parameter counts, enough to draw it and count what trains.

    A catalogue model's comes with the catalogue: building the network for it (torch imported into the
    server, the model made) made the first visit to the Train page take 11-25 s on a busy 2-core CPU.
    Any other model is built once without its weights. A text model that is not on this computer is not asked for: even
    without its weights the engine fetches its layout from the hub, retrying for about a minute offline.
    """
    num_classes = max(2, num_classes)
    shipped = tl_core.shipped_layout(name, kind, num_classes)
    if shipped is not None:
        return shipped, None
    info = model_info(name, kind)
    if kind == "text" and not info.available:
        return None, (f"{info.title} is not on this computer yet: it {info.availability}, so its layers cannot be "
                      "shown or trained without an internet connection. Pick a model marked 'available offline' "
                      "on step 2.")
    return attempt("loading the network", _built_layout, name, kind, num_classes)


def plan(layout, unfreeze: int, from_scratch: bool) -> Outcome:
    return attempt("counting parameters", tl_core.plan_for, layout, unfreeze, from_scratch)


# ---------------------------------------------------------------- data

@st.cache_data(show_spinner="Reading your data…", max_entries=16)
def _dataset(path: str, text_column: str | None, label_column: str | None, stamp: tuple):
    return tl_core.load_dataset(path, text_column=text_column, label_column=label_column)


def dataset(path: Path, text_column: str | None, label_column: str | None, stamp: tuple,
            label_names: dict[str, str] | None = None) -> Outcome:
    """The data as training reads it: with `label_names` ("0" -> "negative"), its classes are those names."""
    data, message = attempt("reading your data", _dataset, str(path), text_column, label_column, stamp)
    if message or not label_names:
        return data, message
    return attempt("naming the classes", tl_core.rename_labels, data, label_names)


def report(data, val_split: float, seed: int = 0) -> Outcome:
    return attempt("checking your data", tl_core.make_report, data, val_split, seed)


@st.cache_data(show_spinner=False, max_entries=4)
def _columns(path: str, stamp: tuple) -> list[str]:
    return tl_core.table_columns(Path(path))


def columns(path: Path, stamp: tuple) -> Outcome:
    return attempt("reading the table's columns", _columns, str(path), stamp)


@st.cache_data(show_spinner=False, max_entries=4)
def _guess_columns(path: str, stamp: tuple) -> tuple[str, str]:
    return tl_core.guess_columns(Path(path))


def guess_columns(path: Path, columns: list[str], stamp: tuple) -> tuple[str, str]:
    """The (text, label) columns the engine reads when none are chosen; the first and last if it cannot tell."""
    value, _ = attempt("guessing the columns", _guess_columns, str(path), stamp)
    return value or (columns[0], columns[-1])


@st.cache_data(show_spinner=False, max_entries=2000)
def _thumbnail(path: str, mtime: int, size: int) -> bytes:
    image = tl_core.read_image(Path(path), draft_size=size * 2)
    image.thumbnail((size, size))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def thumbnail(path: Path, size: int = 160) -> bytes | None:
    """A small JPEG of a picture, or None when it cannot be read (it is then listed as skipped anyway)."""
    try:
        value, message = attempt("making a thumbnail", _thumbnail, str(path), path.stat().st_mtime_ns, size)
    except OSError:
        return None
    return value


# ---------------------------------------------------------------- runs

def runs_safe() -> list:
    value, _ = attempt("listing runs", tl_core.list_runs)
    return value or []


def get_run(run_id: str | None):
    if not run_id:
        return None
    value, _ = attempt("opening a run", tl_core.get_run, run_id)
    return value


def run_config(run, trained: bool = False):
    """A run's settings as asked for (config.json: "auto" stays "auto"), or with `trained` as it trained (an
    automatic model or block count replaced by its choice, `Run.trained_config`); None when unreadable."""
    value, _ = attempt("reading a run's settings", lambda: run.trained_config if trained else run.config)
    return value


def prepare_ahead(config) -> None:
    """While the person reads the Train page, the warm worker reads the data and runs the frozen network,
    so Start has only the new head left to train. Asked once per data and settings this session."""
    key = tl_core.prepare_key(config)
    asked = st.session_state.setdefault("prepared_ahead", set())
    if key is None or key in asked:
        return
    done, _ = attempt("preparing the data ahead", tl_core.prepare_ahead, config)
    if done:
        asked.add(key)


def model_stamp(run) -> float | None:
    """Changes when the run's model file changes (a better epoch, a retrained run); None while it has none.
    The cache key of everything computed from a run's model."""
    try:
        return run.model_file.stat().st_mtime
    except OSError:
        return None


@st.cache_data(show_spinner="Finding the run's pictures…", max_entries=8)
def _pictures(run_id: str, stamp: float) -> dict[str, str]:
    data = tl_core.open_run_data(tl_core.get_run(run_id).config)
    return {e.name: str(e.path) for e in data.val_examples if e.path is not None}


def run_pictures(run) -> dict[str, Path]:
    """Name (as the run's metrics call a validation example) -> the picture on disk as training read it: a zip's
    from its unpacked copy. Empty when the data is gone or no longer reads; the caller checks each file is there."""
    value, _ = attempt("finding the run's pictures", _pictures, run.id, model_stamp(run))
    return {name: Path(path) for name, path in (value or {}).items()}


@st.cache_resource(show_spinner="Loading the trained model…", max_entries=3)
def _predictor(run_id: str, stamp: float):
    return tl_core.Predictor.load(run_id)


def predictor(run) -> Outcome:
    stamp = model_stamp(run)
    if stamp is None:
        return None, "This run has no trained model yet."
    return attempt("loading the trained model", _predictor, run.id, stamp)


def predict(run, inputs: list, top_k: int = 5) -> Outcome:
    model, message = predictor(run)
    if message:
        return None, message
    return attempt("predicting", model.predict, inputs, top_k)


def export_zip(run) -> bytes:
    """The run's export as zip bytes, made once and kept beside the run. Called when Download is clicked."""
    ready = run.export_folder.with_suffix(".zip")
    if not ready.is_file():
        ready = tl_core.export_run(run, as_zip=True)
    return Path(ready).read_bytes()
