"""Keep training a run: a new run that starts from an earlier run's best model, with its data, split and settings.

    config = continue_run("20261202-101500-ab12", epochs=5)   # the earlier run's settings, 5 more epochs
    start_run(config)                                          # or train(config), or `transferlab train --resume`

The continuation is a run of its own (its own folder, events, model and metrics); `config.resume_from` links
it to the earlier run. Its epochs are numbered on from the earlier run's *best* epoch, the model it starts
from, not from its last: epochs the earlier run trained after its best never reached these weights. So the
one continued curve is the earlier run's epochs up to its best, then the continuation's (`earlier_epochs`).
No torch here: the app's pages call this.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .config import RunConfig
from .data import DataError
from .events import scored_epochs_in
from .runs import Run, get_run

CONTINUED = ", continued"  # what a named run's continuation adds to its name (once, however long the chain)


def continue_run(run_id: str, epochs: int | None = None) -> RunConfig:
    """The RunConfig that keeps training run `run_id` for `epochs` more epochs (None or 0: as many as it was set to).

    Everything else is the earlier run's: data, model and what trains (as chosen, for an automatic run), validation
    share and seed (so the same split: its validation examples stay ones the model never trained on), classes and
    their names, project.
    Refused with a sentence when the run is still training, kept no model, or its data is gone.
    """
    earlier = get_run(run_id)
    check_can_continue(earlier)
    config = earlier.trained_config  # an automatic run's continuation trains the model and blocks it chose
    name = config.name if not config.name or config.name.endswith(CONTINUED) else config.name + CONTINUED
    return dataclasses.replace(config, epochs=epochs or config.epochs, resume_from=earlier.id, name=name)


def check_can_continue(run: Run) -> None:
    """Refuse, saying why and what to do instead, a run that cannot be continued."""
    if run.active:
        raise DataError(f"Run {run.id} is still training. Wait for it to finish (or stop it), then continue it.")
    if not run.has_model():
        raise DataError(f"Run {run.id} kept no model to continue from: it ended before its first epoch did. "
                        "Start a new run instead.")
    data = run.config.data
    if not Path(data).exists():
        raise DataError(f"The data run {run.id} learned from is no longer at {data}, so it cannot be continued "
                        "(its validation examples must stay ones it never trained on). Start a new run instead.")


def earlier_run(config: RunConfig) -> Run | None:
    """The run `config` continues, or None for a run that starts afresh."""
    if not config.resume_from:
        return None
    try:
        return get_run(config.resume_from)
    except FileNotFoundError:
        raise DataError(f"Run {config.resume_from}, which this run continues, is gone. "
                        "Start a new run instead.") from None


def best_epoch(run: Run, scored: list[dict] | None = None) -> int:
    """The epoch whose model a run kept: its metrics say so; a run killed before writing them, its scored epochs do
    as the training loop keeps them: the first epoch with the highest validation accuracy, or the fitted head
    (epoch 0) when it scored above every epoch. `scored`: the run's `scored_epochs`, when the caller has read them."""
    metrics = run.metrics() or {}
    if "best_epoch" in metrics:
        return int(metrics["best_epoch"])
    best = max(scored_epochs(run) if scored is None else scored, key=lambda e: (e["val_accuracy"], not e.get("head_fit")), default={"epoch": 0})
    return int(best["epoch"])


def scored_epochs(run: Run) -> list[dict]:
    """A run's `epoch` events, after its linear probe as the epoch before its first (the `started` event's
    `head_fit`) when it fitted one: the training loop scores the fitted head like an epoch and keeps it when no
    fine-tuning epoch matches or beats it."""
    return scored_epochs_in(run.events())


def first_epoch(config: RunConfig) -> int:
    """The number of a run's first epoch: 1, or for a continuation the epoch after the earlier run's best."""
    earlier = earlier_run(config)
    return 1 if earlier is None else best_epoch(earlier) + 1


def earlier_epochs(run: Run) -> list[dict]:
    """The `epoch` events of the runs `run` continues (a chain, oldest first), each up to the epoch the next one
    starts from: followed by the run's own, one continued curve. [] for a run that started afresh or whose
    earlier run is gone."""
    try:
        earlier = earlier_run(run.config)
    except (DataError, OSError, ValueError, TypeError):
        return []
    if earlier is None:
        return []
    scored = scored_epochs(earlier)  # the earlier run's events, read once
    upto = best_epoch(earlier, scored)
    return earlier_epochs(earlier) + [e for e in scored if e["epoch"] <= upto]
