"""The comparison of three starting points on the Understand step: its chart and the line about each run.

The runs themselves are started and read by `tl_core.explain` (`start_experiment`, `experiment_runs`).
"""
from __future__ import annotations

import time

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tl_core import scored_epochs_in

from .charts import BLUE, EPOCH_AXIS, GREEN, PALETTE, head_fit_band
from .understand_charts import sized

ARM_STYLE = {           # colour and dash per arm, so the lines also differ in greyscale
    "scratch": ("#dc2626", "dot"),
    "head": (GREEN, "solid"),
    "blocks": (BLUE, "dash"),
}
ARM_STATES = {"queued": "waiting for its turn", "cancelled": "stopped", "interrupted": "interrupted"}


def arm_state(status: dict, evs: list[dict], budget: int, seconds: float) -> str:
    """One run's line above the chart, e.g. "training, epoch 2 of 3, 40 s of its 60 s"."""
    from tl_core.explain import time_ran_out

    state = status.get("state", "queued")
    if state == "running":
        done = sum(1 for e in evs if e.get("event") == "epoch")
        started = any(e.get("event") == "started" for e in evs)
        spent = time.time() - (status.get("started") or time.time())
        clock = f", {spent:.0f} s of its {seconds:.0f} s" if seconds else ""
        if seconds and spent > seconds:  # it read "63 s of its 60 s": the limit stops training, then scores it
            clock = f", its {seconds:.0f} s are up: checking the epoch it got to"
        return f"training, epoch {min(done + 1, budget)} of {budget}{clock}" if started else "getting ready"
    if state == "finished":
        best = max((e["val_accuracy"] for e in scored_epochs_in(evs)), default=0)  # epoch 0 too: it may be kept
        ran_out = time_ran_out(evs)
        return f"finished, best {best:.0%}" + (f" (its time ran out {ran_out})" if ran_out else "")
    if state == "failed":
        return "failed: " + str(status.get("message") or "see the All runs step")
    return ARM_STATES.get(state, state)


def head_note(evs: list[dict]) -> str:
    """Why the head-only points may sit on top of each other against time."""
    times = [e.get("elapsed_s", 0.0) for e in evs if e.get("event") == "epoch"]
    if len(times) < 2 or times[-1] - times[0] > 1:
        return ""
    return (" Against time, the head-only epochs sit on top of each other: once the frozen network has seen "
            "every example, an epoch that trains only the head takes a fraction of a second.")


def experiment_figure(arms: dict, budget: int, presenting: bool = False, seconds: float = 0) -> go.Figure:
    """Validation accuracy of the three runs, against seconds (left, with the shared time limit) and against
    epochs (right).

    `arms` maps an arm ("head", "blocks", "scratch") to (title, events). A fine-tuning arm starts at epoch 0, its
    new head fitted before any block trained, which it keeps when no epoch scores above it.
    """
    first, fitted = 0.5, False
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.05,
                        subplot_titles=("Against time: seconds since each run started", "Against epochs"))
    for arm, (title, evs) in arms.items():
        color, dash = ARM_STYLE.get(arm, (PALETTE[0], "solid"))
        epochs = [e for e in scored_epochs_in(evs) if e.get("val_accuracy") is not None]
        first = min([first] + [e["epoch"] - 0.5 for e in epochs])
        fitted = fitted or any(e.get("head_fit") for e in epochs)
        y = [100 * e["val_accuracy"] for e in epochs]
        mode = "lines+markers" if len(epochs) > 1 else "markers"
        style = dict(line=dict(color=color, dash=dash, width=3), marker=dict(color=color, size=9))
        fig.add_scatter(x=[e.get("elapsed_s", 0.0) for e in epochs], y=y, name=title, legendgroup=arm, mode=mode,
                        hovertemplate=f"{title}<br>%{{y:.0f}}% after %{{x:.0f}} s<extra></extra>", row=1, col=1,
                        **style)
        cut = [" (its time ran out during this epoch)" if e.get("partial") else
               ": the new head, fitted before any block trained" if e.get("head_fit") else "" for e in epochs]
        fig.add_scatter(x=[e["epoch"] for e in epochs], y=y, name=title, legendgroup=arm, mode=mode, text=cut,
                        showlegend=False, row=1, col=2, **style,
                        hovertemplate=f"{title}<br>%{{y:.0f}}% after epoch %{{x}}%{{text}}<extra></extra>")
    if fitted:  # as on the Train step
        head_fit_band(fig, 2)
    if seconds:
        fig.add_vline(x=seconds, line=dict(color="#6b7280", dash="dot", width=2), row=1, col=1,
                      annotation_text="time limit", annotation_position="top left")
    fig.update_xaxes(title_text="seconds", rangemode="tozero", row=1, col=1)
    fig.update_xaxes(title_text=EPOCH_AXIS, range=[first, max(budget, 1) + 0.5],
                     dtick=1 if budget <= 20 else None, row=1, col=2)
    fig.update_yaxes(title_text="% correct on validation", range=[0, 102], row=1, col=1)
    return sized(fig, 400, "experiment", presenting)
