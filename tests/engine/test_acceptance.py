"""What transfer learning buys on the real datasets, through the command a user types.

Figures on this machine (2 CPU cores, seed 0): EfficientNet-Lite0 head only 94.8 % on hymenoptera val/ (153
photos), the same network from scratch in 1 epoch 45.8 % (3 epochs: 46.4 %), MiniLM head only on yelp 90.0 % (200
held out). From scratch trains the whole network on every photo it is given, so the suite gives it 20 + 20 photos
and checks on 20 + 20 (52.5 %; fine-tuning every block of the pretrained network on them: 100 %): the full set took
26 s of a 9-minute suite, the part 35 s against 86 s when the cores were shared. `--junitxml` reports record each
figure as `best_val_accuracy`.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import CLI, HYMENOPTERA, YELP, from_start, link_photos


def cli_train(*args: str, home: Path) -> list[dict]:
    """`transferlab train ... --json`: every stdout line must be one JSON event; the events from `started` on."""
    out = subprocess.run([str(CLI), "train", *args, "--json"], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "TRANSFERLAB_HOME": str(home)})
    assert out.returncode == 0, out.stderr[-3000:]
    return from_start([json.loads(line) for line in out.stdout.splitlines()])


def _check_finished(events: list[dict], home: Path, record_property) -> dict:
    assert events[0]["event"] == "started"
    finished = events[-1]
    assert finished["event"] == "finished", finished
    run = Path(finished["run"])
    assert run.parent == home / "runs" and (run / "model.safetensors").is_file()
    assert json.loads((run / "metrics.json").read_text())["accuracy"] == finished["best_val_accuracy"]
    record_property("best_val_accuracy", finished["best_val_accuracy"])  # the figure, in --junitxml reports
    return finished


@pytest.mark.slow
def test_head_only_on_hymenoptera_reaches_92_percent(workspace, record_property):
    events = cli_train(str(HYMENOPTERA), "--unfreeze", "0", home=workspace)
    assert events[0]["path"] == "cached features" and events[0]["val_examples"] == 153
    assert events[0]["train_examples"] == 245 and events[0]["views_per_example"] == 2  # and its mirror image
    assert _check_finished(events, workspace, record_property)["best_val_accuracy"] >= 0.92


@pytest.mark.slow
def test_from_scratch_stays_far_below(workspace, tmp_path, record_property):
    part = link_photos(tmp_path / "part", {"train": {"ants": 20, "bees": 20}, "val": {"ants": 20, "bees": 20}})
    events = cli_train(str(part), "--from-scratch", "--epochs", "1", home=workspace)  # one: the suite's time
    started = events[0]
    assert started["path"] == "full network" and started["from_scratch"]
    assert started["trainable_params"] == started["total_params"] and started["epochs"] == 1
    assert started["train_examples"] == 40 and started["val_examples"] == 40
    assert _check_finished(events, workspace, record_property)["best_val_accuracy"] < 0.80


@pytest.mark.slow
def test_head_only_on_yelp_reaches_88_percent(workspace, record_property):
    events = cli_train(str(YELP), home=workspace)
    assert events[0]["path"] == "cached features" and events[0]["classes"] == ["0", "1"]
    assert events[0]["val_examples"] == 200
    assert _check_finished(events, workspace, record_property)["best_val_accuracy"] >= 0.88
