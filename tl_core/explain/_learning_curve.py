"""The learning curve: validation accuracy against how many labelled examples the model trained on.

It answers "would more photos help?". A pretrained network with a new head often gets most of its
accuracy from a handful of examples per class, and the curve shows where it flattens.

Each point trains only a new head on a stratified share of the training examples (every class
keeps its proportion), a few times with different random shares, always measured on the same
validation examples. The frozen network runs once, through the engine's own cached-feature path
(`tasks.build_task`, head only, no augmentation: each point measures the data, not augmented
copies); every point after that is a logistic regression on cached features (`tasks.linear_probe`),
a fraction of a second each. From-scratch points (`include_scratch=True`) train the whole network
with the engine's loop on the same shares, within a short budget.
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
from ..data import DataError, make_report, split
from ..device import pick_runtime
from ..freeze import apply_plan
from ..models import load_model
from ..tasks import build_task, linear_probe
from ..trainer import open_data

FRACTIONS = (0.1, 0.25, 0.5, 1.0)
SEEDS = (0, 1, 2)


def learning_curve(data_path: str | Path, fractions: tuple[float, ...] = FRACTIONS, seeds: tuple[int, ...] = SEEDS,
                   model: str = "", *, val_split: float = 0.2, split_seed: int = 0, include_scratch: bool = False,
                   scratch_epochs: int = 3, scratch_seconds: float = 120.0, device: str = "auto",
                   on_point: Callable[[dict], None] | None = None) -> list[dict]:
    """[{fraction, examples_per_class, train_examples, seed, val_accuracy, mode}] for each share and seed.

    mode is "head" (pretrained network, new head) or, with `include_scratch`, "scratch" (random weights,
    everything trains for `scratch_epochs` or `scratch_seconds` per point, whichever ends first).
    `on_point` receives each point as soon as it is measured, for a live chart.
    """
    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise ValueError("Each fraction must be above 0 and at most 1, e.g. (0.1, 0.25, 0.5, 1.0).")
    config = RunConfig(data=str(data_path), model=model, augment="none", val_split=val_split, seed=split_seed,
                       device=device)
    dataset = open_data(config)                                                     # as training reads it
    report = make_report(dataset, val_split, split_seed)
    if not report.ok:
        raise DataError(" ".join(report.errors))
    train_idx, val_idx = split(dataset, val_split, split_seed)
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
                add(_point(fraction, rows, len(dataset.classes), seed, accuracy, "head"))
    if include_scratch:
        kept = _kept_train(dataset, train_idx, backbone)
        for fraction in fractions:
            for seed in seeds:
                rows = stratified_subset(labels, fraction, seed)
                accuracy = _scratch_point(config, dataset, [kept[r] for r in rows.tolist()], val_idx, runtime,
                                          seed, scratch_epochs, scratch_seconds)
                add(_point(fraction, rows, len(dataset.classes), seed, accuracy, "scratch"))
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
    """Per (mode, fraction): mean, min and max accuracy over seeds, for a line with a band."""
    groups: dict[tuple[str, float], list[dict]] = {}
    for p in points:
        groups.setdefault((p["mode"], p["fraction"]), []).append(p)
    out = []
    for (mode, fraction), ps in sorted(groups.items()):
        accs = [p["val_accuracy"] for p in ps]
        out.append({"mode": mode, "fraction": fraction, "examples_per_class": ps[0]["examples_per_class"],
                    "mean": sum(accs) / len(accs), "min": min(accs), "max": max(accs), "runs": len(accs)})
    return out


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


def _point(fraction: float, rows: torch.Tensor, num_classes: int, seed: int, accuracy: float, mode: str) -> dict:
    return {"fraction": fraction, "examples_per_class": round(len(rows) / num_classes), "train_examples": len(rows),
            "seed": seed, "val_accuracy": accuracy, "mode": mode}


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

    scratch = dataclasses.replace(config, from_scratch=True, unfreeze=ALL, epochs=epochs, augment="light", seed=seed)
    torch.manual_seed(seed)
    backbone = load_model(config.model, dataset.kind, len(dataset.classes), pretrained=False)
    plan = apply_plan(backbone, ALL, from_scratch=True)
    task = build_task(scratch, dataset, train_idx, val_idx, backbone, plan, runtime, events.ignore)
    started = time.time()
    result = TrainingLoop(scratch, task, runtime, events.ignore, lambda: time.time() - started > seconds, None,
                   started).run()
    return result.best_val_accuracy
