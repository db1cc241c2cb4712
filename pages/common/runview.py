"""How a run is shown on every step: its label in pickers, its name, state, project and data, and the picker.

Only wording: what a run is and how it went comes from `tl_core.Run` (read through `engine`).
"""
from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

import tl_core

from . import engine, frame
from . import project as projects
from .frame import esc

STATES = {"queued": "waiting", "running": "training", "finished": "finished", "failed": "failed",
          "cancelled": "stopped", "interrupted": "interrupted"}


CHOSEN = "chosen for you"


def what_trained(config, chosen: dict | None = None) -> str:
    """The fine-tuning choice of a run, in words; for blocks left to TransferLab, what it chose (`chosen`)."""
    if config is None:
        return "?"
    if config.unfreeze == tl_core.AUTO and not config.from_scratch and chosen and chosen["unfreeze"] is not None:
        return f"{tl_core.what_trains(chosen['unfreeze'])} ({CHOSEN})"
    return tl_core.what_trains(config.unfreeze, config.from_scratch)


def model_title(config, kind: str, chosen: dict | None = None) -> str:
    """The model a run trained, by its title; for one left to TransferLab, the one it chose (or that it will)."""
    if config is None:
        return "?"
    if config.model != tl_core.AUTO_MODEL:
        return engine.model_info(config.model, kind).title
    if chosen is None:
        return "automatic (chosen when training starts)"
    return f"{engine.model_info(chosen['model'], kind).title} ({CHOSEN})"


def chosen(run) -> dict | None:
    """What TransferLab chose for a run that left the model or the blocks to it (`tl_core.Run.chosen`): model,
    unfreeze and reason; None for any other run, or before training started."""
    value, _ = engine.attempt("reading what was chosen for the run", lambda: run.chosen)
    return value


def chosen_for_you(config, choice: dict | None) -> str:
    """"**Chosen for you:** EfficientNet-Lite1, the last 2 blocks — <why>" for a run that left choices to TransferLab
    and has made them; "" for any other run."""
    made = _made(config, choice)
    if not made:
        return ""
    return f"**Chosen for you:** {', '.join(made)}" + (f" — {esc(choice['reason'])}" if choice.get("reason") else "")


def _made(config, choice: dict | None) -> list[str]:
    """The model's title and the blocks in words, each only where TransferLab made that choice."""
    if config is None or choice is None:
        return []
    made = []
    if config.model == tl_core.AUTO_MODEL:
        info = tl_core.find_model(choice["model"])
        made.append(info.title if info else choice["model"])
    if config.unfreeze == tl_core.AUTO and not config.from_scratch and choice["unfreeze"] is not None:
        made.append(tl_core.what_trains(choice["unfreeze"]))
    return made


def run_label(run) -> str:
    """How a run is named in pickers: its name or start time, the model and what trained (and, for choices left to
    TransferLab, what it chose), its accuracy once known, its state unless it finished, and the project (or, for a
    run started from the command line, the data) it learned from. Before, a run whose model the person chose, or
    one still choosing, was labelled without its model."""
    config = engine.run_config(run)
    metrics = run.metrics() or {}
    accuracy = f" · {metrics['accuracy']:.0%} correct" if "accuracy" in metrics else ""
    state = run_state(run)
    unfinished = "" if state == "finished" else f" · {state}"
    project = run_project(config)
    source = projects.name(project) if project else data_name(config)
    made = _made(config, chosen(run))
    trained = what_trained(config) if not made else f"{', '.join(made)} ({CHOSEN})"
    if made and config.unfreeze != tl_core.AUTO:
        trained += f", {what_trained(config)}"
    if config is not None and (config.model != tl_core.AUTO_MODEL or not made):
        trained = f"{model_title(config, run.kind)}, {trained}"
    return f"{run_name(run, config)} · {trained}{accuracy}{unfinished} · {source}"


def run_name(run, config) -> str:
    """The name a person gave the run, else when it started."""
    if config and config.name:
        return config.name
    return time.strftime("Run of %d %b %H:%M:%S", time.localtime(run.created() or 0))


def continues(config) -> str:
    """For a run that keeps training an earlier one, "continues <the earlier run's name>"; "" for any other run."""
    if config is None or not config.resume_from:
        return ""
    earlier = engine.get_run(config.resume_from)
    if earlier is None:
        return f"continues run {config.resume_from} (since deleted)"
    return f"continues {run_name(earlier, engine.run_config(earlier))}"


def earlier_epochs(run) -> list[dict]:
    """The epochs of the runs `run` continues, up to the model it started from; [] for a run that started afresh.

    Cached per run: the runs it continues had ended before it started, so the live panel, redrawn every
    second, need not read their events again."""
    earlier, _ = engine.attempt("reading the earlier run", _earlier_epochs, run.id)
    return earlier or []


@st.cache_data(show_spinner=False, max_entries=64)
def _earlier_epochs(run_id: str) -> list[dict]:
    return tl_core.earlier_epochs(tl_core.get_run(run_id))


def curve(run) -> list[dict]:
    """The epochs to draw for a run: those of the runs it continues, then its own (from its fitted head, epoch 0,
    when it fitted one first), one line."""
    return earlier_epochs(run) + tl_core.scored_epochs(run)


def run_state(run) -> str:
    """The run's state in words; a run whose Stop ended it before it could say so is "stopped" too."""
    state = (run.status() or {}).get("state", "?")
    if state == "interrupted" and run.stop_requested():
        return "stopped"
    return STATES.get(state, state)


def _project_id(config) -> str | None:
    """The id of the project a run (its config) was started from on the Train step; None from the command line."""
    return (config.extra or {}).get("project") if config else None


def run_project(config) -> dict | None:
    """The project a run (its config) was started from on the Train step; None for one from the command line."""
    return projects.load(_project_id(config))


def data_name(config) -> str:
    """The data's name as a person knows it: an uploaded file's name, else the folder's."""
    if config is None:
        return "?"
    path = Path(config.data)
    if "projects" in path.parts:
        return {"photos": "uploaded photos", "zip": "uploaded zip", "typed.tsv": "typed examples"}.get(
            path.name, path.name)
    return path.name


def run_data(config, started: dict | None) -> str:
    """What a run learned from: the data's name and, once training started (its `started` event), its examples
    and classes."""
    if not started:
        return data_name(config)
    examples = started["train_examples"] + started["val_examples"]
    classes = len(started["classes"])
    return f"{data_name(config)}: {tl_core.plural(examples, 'example')}, {tl_core.plural(classes, 'class', 'classes')}"


def trained_first(runs: list, configs: dict) -> list:
    """`runs` (newest first) with the ones the person trained before the Understand step's comparison arms (its
    three short runs, `extra["experiment"]`), each group still newest first: a reopened project opened its Results,
    Try it and download on the comparison's 33 % from-scratch arm, the person's own runs fourth and fifth."""
    return sorted(runs, key=lambda r: bool((getattr(configs.get(r.id), "extra", None) or {}).get("experiment")))


def pick_run(page: str, label: str = "Which run?"):
    """The run in the URL, else the newest one with a trained model of this tab's project (of any, when no project
    is open), the person's own before the comparison's arms; the person can choose another of them. Before, a
    project reopened without runs of its own showed the other project's newest run: a sentence model's results
    under a picture project."""
    wanted = st.query_params.get("run")
    project = projects.current()
    trained = [r for r in engine.runs_safe() if r.has_model()]
    configs = {r.id: engine.run_config(r) for r in trained}
    runs = trained_first([r for r in trained if project is None or r.id == wanted
                          or _project_id(configs[r.id]) == project["id"]], configs)
    if not runs:
        return None
    ids = [r.id for r in runs]
    index = ids.index(wanted) if wanted in ids else 0
    labels = {r.id: run_label(r) for r in runs}
    chosen = st.selectbox(label, ids, index=index, format_func=labels.get, key=f"{page}_run_{wanted}")
    if chosen != wanted:
        st.query_params["run"] = chosen
        st.session_state["run_id"] = chosen
    return next(r for r in runs if r.id == chosen)


def how_sure(accuracy: float, metrics: dict) -> None:
    """The range a run's accuracy likely falls in (`tl_core.how_sure`): a caution below enough validation examples,
    a caption otherwise; and a warning when it is no better than always answering one class (`tl_core.one_answer`).
    The Train step's ending and Results say it alike."""
    examples = metrics.get("examples", 0)
    if not examples:
        return
    if tl_core.few_to_check(examples):
        frame.warning(tl_core.how_sure(accuracy, examples))
    else:
        st.caption(tl_core.how_sure(accuracy, examples))
    unlearned = tl_core.one_answer(metrics.get("confusion") or [], metrics.get("classes") or [])
    if unlearned:
        frame.warning(unlearned)
