"""The training events, named once. Each is a plain dict so it can go straight to JSON lines.

Order for a run: any number of `preparing` (and `note`), then started, then per step `progress` and per epoch `epoch`, then exactly one of
finished / failed / cancelled.
"""
from __future__ import annotations

import time
from typing import Callable

PREPARING = "preparing"    # text, and done, total, unit when counted: ranking the models (not counted), reading
                           # pictures, or the frozen network running once over them; shown only until training starts
STARTED = "started"        # the plan: device, precision, trainable/total params, steps, examples; head_fit (train_loss,
                           # val_loss, val_accuracy, elapsed_s) when the head was first fitted on frozen features,
                           # before step 1;
                           # first_epoch (1, or on from the earlier run's best) and continues (its id) for a continuation
PROGRESS = "progress"      # step, steps, epoch, loss, samples_per_s, eta_s
EPOCH = "epoch"            # epoch, train_loss, val_loss, val_accuracy, lr, elapsed_s, partial (cut short by the time limit)
FINISHED = "finished"      # best_epoch (0: the fitted head, see kept_epoch), best_val_accuracy, metrics, elapsed_s, run;
                           # ended (EARLY_STOP with patience, or TIME_LIMIT) when it stopped before its last epoch
FAILED = "failed"          # reason: a sentence a person understands
CANCELLED = "cancelled"    # best_epoch, best_val_accuracy so far
NOTE = "note"              # text: something the user should know (e.g. a smaller batch after running out of memory)

ENDINGS = (FINISHED, FAILED, CANCELLED)
EARLY_STOP, TIME_LIMIT = "early stop", "time limit"  # why a finished run ended before its last epoch

EventSink = Callable[[dict], None]


def make(kind: str, **fields) -> dict:
    return {"event": kind, "time": time.time(), **fields}


def kept_epoch(best_epoch: int) -> str:
    """The epoch whose model a run kept, in words. Epoch 0 is the new head fitted on frozen features before fine-tuning
    (the training loop scores it like an epoch and keeps it when every fine-tuning epoch scores below it)."""
    if best_epoch:
        return f"epoch {best_epoch}"
    return "epoch 0: the new head fitted before any block trained, as every fine-tuning epoch scored below it"


def scored_epochs_in(evs: list[dict]) -> list[dict]:
    """The epochs a run keeps its model from, as `epoch` events: the new head fitted before fine-tuning as the epoch
    before the first (the `started` event's `head_fit`, see `kept_epoch`) when it fitted one, then each `epoch`."""
    started = next((e for e in evs if e.get("event") == STARTED), {})
    probe = started.get("head_fit")
    fitted = [{"event": EPOCH, "epoch": started.get("first_epoch", 1) - 1, "head_fit": True, **probe}] if probe else []
    return fitted + [e for e in evs if e.get("event") == EPOCH]


def why_it_ended(evs: list[dict]) -> str:
    """Why a finished run stopped before its last epoch, in a sentence; "" when it ran them all (or has not ended)."""
    from .data.examples import plural

    ending = next((e for e in reversed(evs) if e.get("event") == FINISHED), {})
    started = next((e for e in evs if e.get("event") == STARTED), {})
    done = [e["epoch"] for e in evs if e.get("event") == EPOCH]
    if not ending.get("ended") or not done or "epochs" not in started:
        return ""
    after = f"after epoch {done[-1]} of {started.get('first_epoch', 1) + started['epochs'] - 1}"
    if ending["ended"] == EARLY_STOP:
        return (f"It stopped early, {after}: the validation accuracy had not improved for "
                f"{plural(ending.get('patience', 1), 'epoch')} in a row, so more would likely not help.")
    return f"It stopped at its time limit, {after}."


def ignore(event: dict) -> None:
    """The default sink: training does not need anyone listening."""
