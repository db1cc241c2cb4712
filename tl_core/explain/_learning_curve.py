"""The learning curve: validation accuracy against how many labelled examples the model trained on.

It answers "would more photos help?". A pretrained network with a new head often gets most of its
accuracy from a handful of examples per class, and the curve shows where it flattens.

Each point trains only a new head on a stratified share of the training examples (every class
keeps its proportion), a few times with different random shares, always measured on the same
validation examples. The frozen network runs once, through the engine's own cached-feature path
(`tasks.build_task`, head only, no augmentation: each point measures the data, not augmented
copies); every point after that is a logistic regression on cached features (`probe.linear_probe`),
a fraction of a second each. From-scratch points (`include_scratch=True`) train the whole network
with the engine's loop on the same shares, within a short budget.

That quick head is not the run's own recipe (AdamW over epochs, augmented copies, the best epoch kept
as measured on the validation examples), so the curve's last point and the run's accuracy can differ:
issue #12 saw "with all 24, 60 %" next to a run at 67 % on 24 plant photos per class. `curve_summary`
names the run's own number beside the curve and says why. On a few dozen validation examples each
point is also uncertain by many points (30 examples at 60 %: 42 % to 75 %, the 95 % Wilson interval),
so the curve is only called flat when the last step's change is within that spread and the accuracy
is already high; otherwise it says it cannot tell yet.
"""
from __future__ import annotations

import contextlib
import dataclasses
import random
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from .. import events
from ..config import ALL, RunConfig
from ..device import pick_runtime
from ..freeze import apply_plan
from ..models import load_model
from ..certainty import interval
from ..probe import linear_probe
from ..rundata import open_run_data
from ..tasks import build_task

FRACTIONS = (0.1, 0.25, 0.5, 1.0)
SEEDS = (0, 1, 2)
HIGH = 0.9   # an accuracy at which "more examples would add little" may be said (when the curve is flat)
# ... and a last step no bigger than this: 83 % to 94 % on 18 validation examples is within the noise, yet it was
# called flat ("changed it by 11 points ... would add little") beside a curve that had climbed all along.
FLAT = 0.03
BALANCED = 0.8  # the smallest class holds at least this share of the average: "N examples per class" is true


def learning_curve(data_path: str | Path, fractions: tuple[float, ...] = FRACTIONS, seeds: tuple[int, ...] = SEEDS,
                   model: str = "", *, val_split: float = 0.2, split_seed: int = 0, include_scratch: bool = False,
                   scratch_epochs: int = 3, scratch_seconds: float = 120.0, device: str = "auto",
                   text_column: str | None = None, label_column: str | None = None,
                   label_names: dict[str, str] | None = None,
                   on_point: Callable[[dict], None] | None = None) -> list[dict]:
    """[{fraction, examples_per_class, fewest_per_class, train_examples, val_examples, seed, val_accuracy, mode}] per
    share and seed; examples_per_class is the average, fewest_per_class the smallest class's count.

    mode is "head" (pretrained network, new head) or, with `include_scratch`, "scratch" (random weights,
    everything trains for `scratch_epochs` or `scratch_seconds` per point, whichever ends first).
    `on_point` receives each point as soon as it is measured, for a live chart. A table is read with the run's
    own columns and class names (`text_column`, `label_column`, `label_names`), as its training read it.
    """
    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise ValueError("Each fraction must be above 0 and at most 1, e.g. (0.1, 0.25, 0.5, 1.0).")
    config = RunConfig(data=str(data_path), model=model, augment="none", val_split=val_split, seed=split_seed,
                       device=device, text_column=text_column, label_column=label_column,
                       label_names=dict(label_names or {}))
    data = open_run_data(config)                                                    # as training reads it
    dataset, train_idx, val_idx = data.dataset, data.train_idx, data.val_idx
    runtime = pick_runtime(device)
    backbone = load_model(model, dataset.kind, len(dataset.classes), pretrained=True)
    task = build_task(config, dataset, train_idx, val_idx, backbone, apply_plan(backbone, 0), runtime, events.ignore)
    feats, labels = task.train_inputs[0].float(), task.train_labels                 # (N, D), (N,)
    val_feats, val_labels = task.val_inputs[0].float(), task.val_labels
    points: list[dict] = []

    def add(point: dict) -> None:
        points.append(point)
        if on_point is not None:
            on_point(point)

    with _one_thread():
        for fraction in fractions:
            for seed in seeds:
                rows = stratified_subset(labels, fraction, seed)
                torch.manual_seed(seed)
                head = nn.Linear(feats.shape[1], len(dataset.classes))
                linear_probe(head, feats[rows], labels[rows])
                with torch.no_grad():
                    accuracy = float((head(val_feats).argmax(1) == val_labels).float().mean())
                add(_point(fraction, labels[rows], len(dataset.classes), len(val_labels), seed, accuracy, "head"))
    if include_scratch:
        kept = _kept_train(dataset, train_idx, backbone)
        for fraction in fractions:
            for seed in seeds:
                rows = stratified_subset(labels, fraction, seed)
                accuracy = _scratch_point(config, dataset, [kept[r] for r in rows.tolist()], val_idx, runtime,
                                          seed, scratch_epochs, scratch_seconds)
                add(_point(fraction, labels[rows], len(dataset.classes), len(val_labels), seed, accuracy, "scratch"))
    return points


def stratified_subset(labels: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """Sorted row indices: `fraction` of each class (at least one), drawn at random with `seed`."""
    rng = random.Random(seed)
    rows: list[int] = []
    for c in sorted(set(labels.tolist())):
        members = torch.nonzero(labels == c).flatten().tolist()
        rng.shuffle(members)
        rows += members[:max(1, round(fraction * len(members)))]
    return torch.tensor(sorted(rows))


def summarize(points: list[dict]) -> list[dict]:
    """Per (mode, fraction): mean, min and max accuracy over seeds, and the spread for error bars.

    low and high enclose both the seeds' range and the 95 % interval of the mean for the number of
    validation examples it was measured on (`interval`): with a few dozen of them, that dominates.
    """
    groups: dict[tuple[str, float], list[dict]] = {}
    for p in points:
        groups.setdefault((p["mode"], p["fraction"]), []).append(p)
    out = []
    for (mode, fraction), ps in sorted(groups.items()):
        accs = [p["val_accuracy"] for p in ps]
        mean = sum(accs) / len(accs)
        low, high = interval(mean, ps[0]["val_examples"])
        out.append({"mode": mode, "fraction": fraction, "examples_per_class": ps[0]["examples_per_class"],
                    "fewest_per_class": ps[0].get("fewest_per_class", ps[0]["examples_per_class"]),
                    "train_examples": ps[0].get("train_examples"), "mean": mean, "min": min(accs), "max": max(accs),
                    "runs": len(accs),
                    "val_examples": ps[0]["val_examples"], "low": min(low, min(accs)), "high": max(high, max(accs))})
    return out


def curve_verdict(points: list[dict]) -> dict | None:
    """Whether the head-only curve still rises, has flattened, or cannot tell, from its last step and its spread.

    {verdict: "rising" | "flat" | "unclear", first, before, last (summaries), gain, spread}; None with
    fewer than two shares. The spread is half the last point's error bar. "flat" needs a change within it and
    within FLAT, and an accuracy of at least HIGH: a flat line at 60 % on 30 examples is noise, not a ceiling.
    """
    means = [s for s in summarize(points) if s["mode"] == "head"]
    if len(means) < 2:
        return None
    before, last = means[-2], means[-1]
    gain, spread = last["mean"] - before["mean"], (last["high"] - last["low"]) / 2
    flat = abs(gain) <= min(spread, FLAT) and last["mean"] >= HIGH
    verdict = "rising" if gain > spread else "flat" if flat else "unclear"
    return {"verdict": verdict, "first": means[0], "before": before, "last": last, "gain": gain, "spread": spread}


def curve_summary(points: list[dict], run_accuracy: float | None = None, config: RunConfig | None = None) -> str:
    """What the curve says, for a person: its first and last share, its spread, its conclusion and, given the
    run's own accuracy (and settings), that number beside it with why the two differ."""
    found = curve_verdict(points)
    if found is None:
        return ""
    first, before, last = found["first"], found["before"], found["last"]
    n, gain, spread = last["val_examples"], 100 * found["gain"], 100 * found["spread"]  # spread: half the bar
    # The bar's own ends, not "give or take" its half: at 100 % the bar runs from 80 to 100, not 10 either way.
    said = (f"With {_how_many(first)} the new head gets {first['mean']:.0%} right on average; with all "
            f"{_how_many(last)}, {last['mean']:.0%} (likely between {last['low']:.0%} and {last['high']:.0%}: "
            f"{_examples(n)} cannot pin it down more closely).")
    step = (f"from {before['examples_per_class']} to {last['examples_per_class']} per class" if _balanced(last) else
            f"from {before['train_examples']} to {last['train_examples']} examples")
    if found["verdict"] == "rising":
        said += (f" Going {step} added {_points(gain)}, more than half that range: the curve is still rising, so more "
                 "examples would probably help.")
    elif found["verdict"] == "flat":
        said += (f" Going {step} changed it by {_points(abs(gain))}, within half that range, and it is already high: "
                 "more examples of the same kind would add little.")
    elif gain < -spread:
        said += (f" Going {step} lost {_points(-gain)}, more than half that range, as a few unlucky draws can; "
                 "the curve cannot tell yet whether more examples would help.")
    else:
        moved = (f"added {_points(gain)}" if round(gain) > 0 else f"lost {_points(-gain)}" if round(gain) < 0
                 else "changed it by under a point")
        low = f", and at {last['mean']:.0%} it is not high yet" if last["mean"] < HIGH else ""
        said += (f" Going {step} {moved}, within half that range{low}, so the curve cannot tell whether more "
                 "examples would help; more validation examples would make it clearer.")
    if run_accuracy is not None:
        said += " " + _run_note(run_accuracy, n, config)
    return said


def _run_note(run_accuracy: float, examples: int, config: RunConfig | None) -> str:
    """Why the run's own accuracy is not the curve's last point."""
    if config is not None and config.from_scratch:
        recipe = "started from random weights and trained the whole network"
    elif config is not None and config.unfreeze:
        blocks = ("every block" if config.unfreeze == ALL else "its last block" if config.unfreeze == 1
                  else f"its last {config.unfreeze} blocks")
        recipe = f"also fine-tuned {blocks}"
    else:
        recipe = "trained its head step by step over epochs"
    return (f"Your run itself got {run_accuracy:.0%} on the same {_examples(examples)}: it {recipe} and kept its "
            "best epoch as measured on these examples. The curve fits every share the same quick way instead (one "
            "regression on the pretrained features), so that the shares compare with each other.")


def curve_axis(points: list[dict]) -> tuple[str, str]:
    """The points' field the chart's x axis reads, and its title: examples per class, or with classes of unequal
    size the examples in all, as the summary counts them (the axis read "per class" up to 120 beside "all 240
    examples (36 of the smallest class)")."""
    means = [s for s in summarize(points) if s["mode"] == "head"]
    if not means or _balanced(means[-1]):
        return "examples_per_class", "training examples per class"
    return "train_examples", "training examples"


def _balanced(summary: dict) -> bool:
    return summary["fewest_per_class"] >= BALANCED * summary["examples_per_class"] or not summary["train_examples"]


def _how_many(summary: dict) -> str:
    """'24 examples per class', or with classes of unequal size '70 examples (12 of the smallest class)': spam
    texts, 35 among 240, were said to be 'all 120 per class'."""
    if _balanced(summary):
        each = summary["examples_per_class"]
        return f"{each} example per class" if each == 1 else f"{each} examples per class"
    return f"{summary['train_examples']} examples ({summary['fewest_per_class']} of the smallest class)"


def _points(value: float) -> str:
    return "1 point" if round(value) == 1 else f"{value:.0f} points"


def _examples(n: int) -> str:
    return "1 validation example" if n == 1 else f"{n} validation examples"


# ---------------------------------------------------------------- internals

@contextlib.contextmanager
def _one_thread():
    """Fits on a few hundred feature vectors are too small to share out: on a busy 2-core machine one
    L-BFGS fit took 1.2 s with 2 threads and 0.05 s with one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _point(fraction: float, labels: torch.Tensor, num_classes: int, val_examples: int, seed: int, accuracy: float,
           mode: str) -> dict:
    return {"fraction": fraction, "examples_per_class": round(len(labels) / num_classes),
            "fewest_per_class": int(torch.bincount(labels, minlength=num_classes).min()),
            "train_examples": len(labels), "val_examples": val_examples, "seed": seed, "val_accuracy": accuracy,
            "mode": mode}


def _kept_train(dataset, train_idx: list[int], backbone) -> list[int]:
    """Training examples in the order of the cached features (pictures that failed to decode are left out)."""
    if dataset.kind == "text":
        return list(train_idx)
    from ..inputs import decode_images

    failed = decode_images(dataset.examples, backbone.preprocess).failed  # read back from the engine's cache
    return [i for i in train_idx if i not in failed]


def _scratch_point(config: RunConfig, dataset, train_idx: list[int], val_idx: list[int], runtime, seed: int,
                   epochs: int, seconds: float) -> float:
    """Best validation accuracy of a from-scratch run on these examples, through the engine's own loop."""
    from ..trainer import TrainingLoop

    scratch = dataclasses.replace(config, from_scratch=True, epochs=epochs, augment="light", seed=seed)
    torch.manual_seed(seed)
    backbone = load_model(config.model, dataset.kind, len(dataset.classes), pretrained=False)
    plan = apply_plan(backbone, scratch.unfreeze, scratch.from_scratch)  # RunConfig made it all blocks
    task = build_task(scratch, dataset, train_idx, val_idx, backbone, plan, runtime, events.ignore)
    started = time.time()
    result = TrainingLoop(scratch, task, runtime, events.ignore, lambda: time.time() - started > seconds, None,
                   started).run()
    return result.best_val_accuracy
